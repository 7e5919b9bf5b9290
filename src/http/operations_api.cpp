// Operations: GET /healthz, GET /readyz, GET /metrics (Prometheus text).
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "cluster/node_bus.hpp"
#include "http/api_routes.hpp"
#include "routing/routing.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A Prometheus histogram: cumulative buckets in seconds, then _sum and _count. `labels` (e.g.
// kind="write") goes on every line; HELP and TYPE are written when `help` is given (the first
// series of a family).
void AddHistogram(std::string& out, std::string_view name, std::string_view help,
                  const Histogram::Snapshot& h, std::string_view labels = "") {
  if (!help.empty()) out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::string sep = labels.empty() ? "" : fmt::format("{},", labels);
  std::string own = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBoundsUs.size(); ++i) {
    cumulative += h.counts[i];
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, sep,
                       static_cast<double>(Histogram::kBoundsUs[i]) / 1e6, cumulative);
  }
  cumulative += h.counts.back();
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, sep, cumulative);
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, own, static_cast<double>(h.sum_us) / 1e6,
                     name, own, cumulative);
}

// Prometheus label value escaping: backslash, double quote and newline.
std::string LabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Metric families in the order they first appear, each with HELP and TYPE once and its samples
// together (the text format wants a family's lines in one group).
class MetricsText {
 public:
  template <class V>
  void Add(std::string_view name, std::string_view type, std::string_view help,
           std::string_view labels, V value) {
    std::string& lines = Family(name, type, help);
    if (labels.empty())
      lines += fmt::format("{} {}\n", name, value);
    else
      lines += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  // A family with no samples still says what it is (a dashboard then shows "no data", not an
  // unknown metric).
  void Header(std::string_view name, std::string_view type, std::string_view help) {
    Family(name, type, help);
  }
  // A family rendered elsewhere (histograms), header included.
  void Raw(std::string_view name, std::string text) {
    order_.emplace_back(name);
    families_[std::string(name)] = std::move(text);
  }
  std::string Render() const {
    std::string out;
    for (const auto& name : order_) out += families_.at(name);
    return out;
  }

 private:
  std::string& Family(std::string_view name, std::string_view type, std::string_view help) {
    auto [it, fresh] = families_.try_emplace(std::string(name));
    if (fresh) {
      order_.emplace_back(name);
      it->second = fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    return it->second;
  }
  std::vector<std::string> order_;
  std::map<std::string, std::string> families_;
};

void AddWaitHistogram(std::string& out, std::string_view name, std::string_view help,
                      const WaitHistogram::Snapshot& h) {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < WaitHistogram::kBoundsMs.size(); ++i) {
    cumulative += h.counts[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name,
                       static_cast<double>(WaitHistogram::kBoundsMs[i]) / 1e3, cumulative);
  }
  cumulative += h.counts.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, static_cast<double>(h.sum_ms) / 1e3, name,
                     cumulative);
}

// What /metrics reads from the store: the routing views and the undelivered events.
struct StoreFigures {
  std::optional<std::vector<routing::QueueView>> queues;
  std::optional<std::vector<routing::AgentView>> agents;
  // connection ID -> its pending and dead counts
  std::optional<std::vector<std::pair<std::string, std::vector<storage::DeliveryCount>>>>
      deliveries;
  std::optional<int64_t> sessions;
};

asio::awaitable<StoreFigures> ReadStoreFigures(ApiDeps& deps) {
  StoreFigures f;
  auto& routing = deps.conversations.routing();
  auto queues_step = [&routing](storage::Tx& tx, int64_t now) { return routing.Queues(tx, now); };
  if (auto q = co_await deps.conversations.Look<std::vector<routing::QueueView>>(queues_step))
    f.queues = std::move(*q);
  auto agents_step = [&routing](storage::Tx& tx, int64_t) { return routing.Agents(tx); };
  if (auto a = co_await deps.conversations.Look<std::vector<routing::AgentView>>(agents_step))
    f.agents = std::move(*a);
  std::vector<std::string> ids;
  for (const auto& c : deps.directory.All()) ids.push_back(c->id);
  int64_t since = deps.clock.NowMs() - deps.metrics.session_idle_ms;
  using Counts = std::vector<std::pair<std::string, std::vector<storage::DeliveryCount>>>;
  auto count_job = [ids](storage::Tx& tx) -> Result<Counts> {
    Counts out;
    for (const auto& id : ids) {
      auto c = tx.CountDeliveries(id);
      if (!c) return Fail(c.error());
      out.emplace_back(id, std::move(*c));
    }
    return out;
  };
  if (auto d = co_await deps.store.Read<Counts>(count_job)) f.deliveries = std::move(*d);
  auto sessions_job = [since](storage::Tx& tx) { return tx.CountSessions(since); };
  if (auto n = co_await deps.store.Read<int64_t>(sessions_job)) f.sessions = *n;
  co_return f;
}

std::string RenderMetrics(const ApiDeps& deps, const StoreFigures& f) {
  auto d = deps.dispatcher.Stats();
  const auto& m = deps.metrics;
  MetricsText t;
  auto add = [&t](std::string_view name, std::string_view type, std::string_view help,
                  std::string_view labels, auto value) { t.Add(name, type, help, labels, value); };
  add("parley_build_info", "gauge", "The running version (the value is always 1).",
      fmt::format("version=\"{}\"", PARLEY_VERSION), 1);
  add("parley_process_start_time_seconds", "gauge", "When the process started, Unix seconds.", "",
      static_cast<double>(m.started_at_ms) / 1e3);
  add("parley_ready", "gauge", "1 while /readyz answers 200 (store open, not shutting down).", "",
      deps.store.Ready() && !deps.shutting_down() ? 1 : 0);
  add("parley_inbound_total", "counter", "Inbound events by outcome.", "outcome=\"accepted\"",
      m.inbound_accepted.load());
  add("parley_inbound_total", "counter", "", "outcome=\"duplicate\"", m.inbound_duplicate.load());
  add("parley_inbound_total", "counter", "", "outcome=\"refused\"", m.inbound_refused.load());
  add("parley_inbound_total", "counter", "", "outcome=\"rate_limited\"",
      m.inbound_rate_limited.load());
  add("parley_deliveries_total", "counter", "Webhook delivery outcomes.", "outcome=\"delivered\"",
      d.delivered);
  add("parley_deliveries_total", "counter", "", "outcome=\"failed_attempt\"", d.failed_attempts);
  add("parley_deliveries_total", "counter", "", "outcome=\"dead\"", d.dead);
  add("parley_delivery_backlog", "gauge", "Outbound events waiting for delivery.", "", d.backlog);
  // Several nodes on one database: which node this is, and its delivery leases.
  add("parley_node_info", "gauge", "This node's id (the value is always 1).",
      fmt::format("node_id=\"{}\"", LabelValue(deps.dispatcher.NodeId())), 1);
  if (deps.dispatcher.Shared()) {
    add("parley_delivery_leases_held", "gauge",
        "Conversations whose outbound delivery this node holds the lease of.", "", d.leases_held);
    add("parley_delivery_lease_claims_total", "counter",
        "Conversations this node claimed for delivery.", "", d.lease_claims);
    add("parley_delivery_lease_takeovers_total", "counter",
        "Of those, conversations whose lease another node let expire.", "", d.lease_takeovers);
    add("parley_delivery_leases_lost_total", "counter",
        "Leases this node could not renew because another node took them.", "", d.leases_lost);
    add("parley_delivery_leases_released_total", "counter",
        "Leases given up with nothing left to send (or at shutdown).", "", d.leases_released);
  }
  if (deps.bus) {
    auto b = deps.bus->Stats();
    add("parley_node_listening", "gauge",
        "1 while this node hears the other nodes (its LISTEN connection is up).", "",
        b.listening ? 1 : 0);
    add("parley_node_notices_total", "counter", "Announcements heard from other nodes.", "",
        b.notices);
    add("parley_node_events_relayed_total", "counter",
        "Agents' events written on another node and published to this node's streams.", "",
        b.events_relayed);
    add("parley_node_reloads_total", "counter",
        "Reloads (connections, bots, users) announced by other nodes and applied here.", "",
        b.reloads);
  }
  add("parley_connections", "gauge", "Connections known.", "", deps.directory.Size());

  // Deliveries by connection, from the store (pending includes retries; dead waits for a replay).
  t.Header("parley_connection_info", "gauge",
           "A connection's name, to join on connection_id (the value is always 1).");
  t.Header("parley_deliveries", "gauge",
           "Undelivered outbound events by connection and state (pending or dead).");
  t.Header("parley_deliveries_failing", "gauge",
           "Pending outbound events with at least one failed attempt, by connection.");
  t.Header("parley_delivery_oldest_pending_age_seconds", "gauge",
           "Age of the oldest pending outbound event, by connection (0 when none).");
  if (f.deliveries) {
    int64_t now = deps.clock.NowMs();
    for (const auto& [id, counts] : *f.deliveries) {
      std::string conn = fmt::format("connection_id=\"{}\"", LabelValue(id));
      if (auto c = deps.directory.Find(id))
        add("parley_connection_info", "gauge", "",
            fmt::format("{},name=\"{}\"", conn, LabelValue(c->name)), 1);
      for (const auto& c : counts) {
        add("parley_deliveries", "gauge", "", fmt::format("{},state=\"{}\"", conn, c.status),
            c.count);
        if (c.status != "pending") continue;
        add("parley_deliveries_failing", "gauge", "", conn, c.failing);
        double age = c.oldest_at_ms ? static_cast<double>(now - *c.oldest_at_ms) / 1e3 : 0.0;
        add("parley_delivery_oldest_pending_age_seconds", "gauge", "", conn, std::max(0.0, age));
      }
    }
  }

  // Queues and agents, as GET /api/v1/queues and /api/v1/agents show them.
  t.Header("parley_queue_waiting", "gauge", "Customers waiting in the queue now.");
  t.Header("parley_queue_longest_wait_seconds", "gauge",
           "How long the customer who has waited longest in the queue has waited.");
  t.Header("parley_queue_active", "gauge", "Conversations of the queue with an agent now.");
  t.Header("parley_queue_agents_available", "gauge",
           "Agents of the queue available, signed in, with room for one more chat.");
  t.Header("parley_queue_agents_signed_in", "gauge", "Agents of the queue signed in.");
  t.Header("parley_queue_estimated_wait_seconds", "gauge",
           "The wait-time estimate for a customer joining the queue now.");
  t.Header("parley_queue_answered_total", "counter",
           "Conversations taken by an agent from the queue (accept, pull, auto_accept).");
  t.Header("parley_queue_abandoned_total", "counter",
           "Customers who left, or were ended, while waiting in the queue.");
  t.Header("parley_queue_offers_total", "counter", "Offers made to agents for the queue.");
  t.Header("parley_queue_offers_rung_out_total", "counter",
           "Offers of the queue not accepted within offer_timeout_s.");
  t.Header("parley_queue_offers_declined_total", "counter",
           "Offers of the queue an agent let pass (POST .../decline).");
  t.Header("parley_queue_service_level_ratio", "gauge",
           "Today (UTC): answered within service_level_s / (answered + abandoned); absent before "
           "the first.");
  t.Header("parley_queue_service_level_seconds", "gauge", "The queue's service-level threshold.");
  if (f.queues) {
    for (const auto& q : *f.queues) {
      std::string l = fmt::format("queue=\"{}\"", LabelValue(q.queue.name));
      add("parley_queue_waiting", "gauge", "", l, q.waiting);
      add("parley_queue_longest_wait_seconds", "gauge", "", l, q.longest_wait_s);
      add("parley_queue_active", "gauge", "", l, q.active);
      add("parley_queue_agents_available", "gauge", "", l, q.agents_available);
      add("parley_queue_agents_signed_in", "gauge", "", l, q.agents_signed_in);
      add("parley_queue_estimated_wait_seconds", "gauge", "", l, q.estimated_wait_s);
      add("parley_queue_answered_total", "counter", "", l, q.answered_total);
      add("parley_queue_abandoned_total", "counter", "", l, q.abandoned_total);
      add("parley_queue_offers_total", "counter", "", l, q.offers_total);
      add("parley_queue_offers_rung_out_total", "counter", "", l, q.offers_rung_out_total);
      add("parley_queue_offers_declined_total", "counter", "", l, q.offers_declined_total);
      if (q.service_level)
        add("parley_queue_service_level_ratio", "gauge", "", l, *q.service_level);
      add("parley_queue_service_level_seconds", "gauge", "", l, q.queue.service_level_s);
    }
  }
  t.Header("parley_agents", "gauge",
           "Enabled users by presence: available, after_chat (after-chat work), away or offline.");
  if (f.agents) {
    std::map<std::string, int64_t> by_status{
        {"available", 0}, {"after_chat", 0}, {"away", 0}, {"offline", 0}};
    for (const auto& a : *f.agents)
      if (a.user.enabled) ++by_status[a.status];
    for (const auto& [status, n] : by_status)
      add("parley_agents", "gauge", "", fmt::format("status=\"{}\"", LabelValue(status)), n);
  }
  std::string latency;
  AddWaitHistogram(latency, "parley_accept_latency_seconds",
                   "From an offer to the agent's accept (offers taken through the API).",
                   m.accept_latency.Read());
  t.Raw("parley_accept_latency_seconds", std::move(latency));
  std::string answer;
  AddHistogram(answer, "parley_accept_answer_seconds",
               "An accept answered 200: from its request read to its answer ready.",
               m.accept_answer.Read());
  t.Raw("parley_accept_answer_seconds", std::move(answer));
  add("parley_event_streams", "gauge", "Open live-event streams of agents and admins.", "",
      deps.hub.Streams());
  if (f.sessions)
    add("parley_sessions", "gauge", "Signed-in sessions used within session_idle_s.", "",
        *f.sessions);
  add("parley_sign_in_failures_total", "counter", "Refused sign-ins by reason.",
      "reason=\"invalid_credentials\"", m.sign_in_invalid.load());
  add("parley_sign_in_failures_total", "counter", "", "reason=\"too_many_attempts\"",
      m.sign_in_throttled.load());
  add("parley_admin_requests_total", "counter", "Admin API requests.", "", m.admin_requests.load());
  auto st = deps.store.Stats();
  add("parley_store_commits_total", "counter", "Group commits of the store's writer.", "",
      st.commits);
  add("parley_store_committed_jobs_total", "counter", "Write jobs carried by those commits.", "",
      st.jobs);
  add("parley_store_failed_commits_total", "counter", "Group commits that failed.", "",
      st.failed_commits);
  std::string batch, commit;
  AddHistogram(batch, "parley_store_batch_seconds",
               "One group commit from BEGIN to COMMIT done: its jobs and its COMMIT.", st.batch);
  AddHistogram(commit, "parley_store_commit_seconds",
               "The COMMIT of a group commit alone: the WAL write (and its fsync on PostgreSQL, "
               "or on SQLite without the syncer).",
               st.commit);
  t.Raw("parley_store_batch_seconds", std::move(batch));
  t.Raw("parley_store_commit_seconds", std::move(commit));
  if (st.syncs > 0) {  // SQLite's syncer: the fsync that makes commits durable, off the writer
    std::string sync;
    AddHistogram(sync, "parley_store_sync_seconds",
                 "The syncer's fdatasync of the WAL: every batch committed before it started "
                 "is answered once it returns.",
                 st.sync);
    t.Raw("parley_store_sync_seconds", std::move(sync));
    std::string checkpoint;
    AddHistogram(checkpoint, "parley_store_writer_checkpoint_seconds",
                 "A checkpoint the writer runs itself between two batches (the last frames the "
                 "checkpointer left, or all of them when it fell behind): jobs wait meanwhile.",
                 st.writer_checkpoint);
    t.Raw("parley_store_writer_checkpoint_seconds", std::move(checkpoint));
  }
  if (st.pool_max == 0) {  // SQLite: its jobs' waits in the writer's and the reader's queues
    std::string waits;
    AddHistogram(waits, "parley_store_wait_seconds",
                 "A store job's wait in its queue, from submitted to started (kind: write, a "
                 "request's write job, behind the writer's batch; background, the server's own "
                 "writes (delivery outcomes, routing sweeps), behind the requests; read, the "
                 "reader's jobs ahead).",
                 st.write_wait, "kind=\"write\"");
    AddHistogram(waits, "parley_store_wait_seconds", "", st.background_wait, "kind=\"background\"");
    AddHistogram(waits, "parley_store_wait_seconds", "", st.read_wait, "kind=\"read\"");
    t.Raw("parley_store_wait_seconds", std::move(waits));
  }
  add("parley_store_queued_writes", "gauge", "Write jobs waiting for the writer.", "",
      st.queued_writes);
  add("parley_store_wal_frames", "gauge", "The WAL's length in pages after the last commit.", "",
      st.wal_frames);
  add("parley_store_checkpoints_total", "counter", "Checkpoints run.", "", st.checkpoints);
  add("parley_store_dirty_conversations", "gauge",
      "Conversation rows whose counters are waiting to be written.", "", st.dirty_conversations);
  if (st.pool_max > 0) {  // PostgreSQL
    add("parley_store_pool_max", "gauge", "Database connections this node may open.", "",
        st.pool_max);
    add("parley_store_pool_connections", "gauge", "Database connections open now.", "",
        st.pool_connections);
    add("parley_store_pool_in_use", "gauge", "Database connections lent out now.", "",
        st.pool_in_use);
    add("parley_store_pool_waits_total", "counter", "Jobs that waited for a free connection.", "",
        st.pool_waits);
    add("parley_store_pool_timeouts_total", "counter",
        "Jobs refused because no connection was free within the wait timeout.", "",
        st.pool_timeouts);
    add("parley_store_pool_connects_total", "counter",
        "Database connections opened (the first ones and reconnects).", "", st.pool_connects);
    add("parley_store_retried_jobs_total", "counter",
        "Write jobs run again after meeting another node's concurrent work.", "", st.retried_jobs);
  }
  return t.Render();
}

}  // namespace

void AddOperationRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  router.Add("GET", "/healthz", [](Request&) -> asio::awaitable<Response> {
    co_return Json(200, json::object{{"status", "ok"}});
  });
  router.Add("GET", "/readyz", [d](Request&) -> asio::awaitable<Response> {
    if (!d->store.Ready() || d->shutting_down())
      co_return ErrorResponse(Errc::kUnavailable, "not_ready", "The server is not ready to serve.");
    co_return Json(200, json::object{{"status", "ok"}});
  });
  router.Add("GET", "/metrics", [d](Request&) -> asio::awaitable<Response> {
    StoreFigures figures = co_await ReadStoreFigures(*d);
    Response r;
    r.body = RenderMetrics(*d, figures);
    r.content_type = "text/plain; version=0.0.4";
    co_return r;
  });
}

}  // namespace parley::http

// Operations: GET /healthz, GET /readyz, GET /metrics (Prometheus text).
#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "http/api_routes.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A Prometheus histogram: cumulative buckets in seconds, then _sum and _count.
void AddHistogram(std::string& out, std::string_view name, std::string_view help,
                  const Histogram::Snapshot& h) {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBoundsUs.size(); ++i) {
    cumulative += h.counts[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name,
                       static_cast<double>(Histogram::kBoundsUs[i]) / 1e6, cumulative);
  }
  cumulative += h.counts.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, static_cast<double>(h.sum_us) / 1e6, name,
                     cumulative);
}

std::string RenderMetrics(const ApiDeps& deps) {
  auto d = deps.dispatcher.Stats();
  const auto& m = deps.metrics;
  std::string out;
  auto add = [&out](std::string_view name, std::string_view type, std::string_view help,
                    std::string_view labels, uint64_t value) {
    if (!labels.empty() && out.find(fmt::format("# TYPE {} ", name)) != std::string::npos) {
      out += fmt::format("{}{{{}}} {}\n", name, labels, value);
      return;
    }
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    if (labels.empty())
      out += fmt::format("{} {}\n", name, value);
    else
      out += fmt::format("{}{{{}}} {}\n", name, labels, value);
  };
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
  add("parley_connections", "gauge", "Connections known.", "", deps.directory.Size());
  add("parley_event_streams", "gauge", "Open live-event streams of agents and admins.", "",
      deps.hub.Streams());
  add("parley_admin_requests_total", "counter", "Admin API requests.", "", m.admin_requests.load());
  auto st = deps.store.Stats();
  add("parley_store_commits_total", "counter", "Group commits of the store's writer.", "",
      st.commits);
  add("parley_store_committed_jobs_total", "counter", "Write jobs carried by those commits.", "",
      st.jobs);
  add("parley_store_failed_commits_total", "counter", "Group commits that failed.", "",
      st.failed_commits);
  AddHistogram(out, "parley_store_batch_seconds",
               "One group commit from BEGIN to COMMIT done: its jobs and its fsync.", st.batch);
  AddHistogram(out, "parley_store_commit_seconds",
               "The COMMIT of a group commit alone: the WAL write and its fsync.", st.commit);
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
  return out;
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
    Response r;
    r.body = RenderMetrics(*d);
    r.content_type = "text/plain; version=0.0.4";
    co_return r;
  });
}

}  // namespace parley::http

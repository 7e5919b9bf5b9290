#include "http/api.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "channel/auth.hpp"
#include "channel/inbound.hpp"
#include "http/paging.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

bool SameToken(std::string_view a, std::string_view b) {
  // Compare digests so neither the content nor the length leaks through timing.
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return sodium_memcmp(da, db, SHA256_DIGEST_LENGTH) == 0;
}

std::optional<Response> RequireAdmin(const Request& req, const ApiDeps& deps) {
  auto auth = req.Header("authorization");
  std::string_view token;
  if (auth && auth->size() > 7 && auth->substr(6, 1) == " " &&
      std::equal(auth->begin(), auth->begin() + 6, "bearer",
                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
    token = auth->substr(7);
  if (deps.admin_token.empty() || token.empty() || !SameToken(token, deps.admin_token))
    return ErrorResponse(Errc::kUnauthenticated, "unauthenticated",
                         "Send 'Authorization: Bearer <admin token>' (PARLEY_ADMIN_TOKEN).");
  return std::nullopt;
}

// Wraps an admin handler with the admin check.
Handler Admin(ApiDeps& deps, std::function<asio::awaitable<Response>(Request&)> inner) {
  return [&deps, inner = std::move(inner)](Request& req) -> asio::awaitable<Response> {
    ++deps.metrics.admin_requests;
    if (auto refused = RequireAdmin(req, deps)) co_return *refused;
    co_return co_await inner(req);
  };
}

template <class T, class F>
Response Reply(int status, const Result<T>& r, F encode) {
  if (!r) return ErrorResponse(r.error());
  return Json(status, encode(*r));
}

json::object DeliveryJson(const storage::DeliveryRecord& d) {
  const auto& e = d.event;
  json::object o;
  o["event_id"] = e.event_id.value_or("");
  o["conversation_id"] = e.conversation_id;
  o["customer_id"] = d.customer_id;
  o["seq"] = e.seq;
  o["type"] = e.type;
  o["status"] = e.delivery_status.value_or("");
  o["attempts"] = e.attempts;
  o["last_error"] = e.last_error ? json::value(*e.last_error) : json::value(nullptr);
  o["next_attempt_at"] = e.next_attempt_at_ms ? json::value(FormatTimestamp(*e.next_attempt_at_ms))
                                              : json::value(nullptr);
  o["created_at"] = FormatTimestamp(e.created_at_ms);
  o["delivered_at"] =
      e.delivered_at_ms ? json::value(FormatTimestamp(*e.delivered_at_ms)) : json::value(nullptr);
  return o;
}

asio::awaitable<Response> PostMessages(Request& req, ApiDeps& deps) {
  auto refuse = [&](const Error& e) {
    ++deps.metrics.inbound_refused;
    return ErrorResponse(e);
  };
  auto type = req.Header("content-type");
  if (!type || type->substr(0, type->find(';')).find("json") == std::string_view::npos)
    co_return refuse({Errc::kUnsupportedMedia, "unsupported_media_type",
                      "Send the body as JSON with 'Content-Type: application/json'."});
  auto lookup = [&deps](const std::string& id) -> std::optional<channel::Credentials> {
    auto c = deps.directory.Find(id);
    if (!c) return std::nullopt;
    return channel::Credentials{c->id, c->secret, c->previous_secret,
                                c->previous_secret_valid_until_ms.value_or(0), c->enabled};
  };
  auto who = channel::AuthenticateRequest(req.Header("authorization").value_or(""),
                                          req.Header("connection_id"), deps.clock.NowMs(), lookup);
  if (!who) co_return refuse(who.error());
  if (!deps.rate_limiter.Allow(*who, deps.clock.NowMs())) {
    ++deps.metrics.inbound_rate_limited;
    Response r = ErrorResponse(Errc::kRateLimited, "rate_limited",
                               "This connection sends faster than its rate limit; slow down and "
                               "retry after the Retry-After seconds.");
    for (auto& [k, v] : r.headers)
      if (k == "Retry-After") v = std::to_string(deps.rate_limiter.RetryAfterSeconds());
    co_return r;
  }
  if (deps.shutting_down())
    co_return refuse(
        {Errc::kUnavailable, "shutting_down", "The server is shutting down; retry shortly."});
  if (deps.dispatcher.Overloaded())
    co_return refuse({Errc::kUnavailable, "overloaded",
                      "Too many replies are waiting for delivery; retry shortly."});
  auto event = channel::DecodeInbound(req.body);
  if (!event) co_return refuse(event.error());
  auto connection = deps.directory.Find(*who);
  if (!connection)
    co_return refuse(
        {Errc::kUnauthenticated, "invalid_signature", "The token's signature does not verify."});
  auto outcome = co_await deps.conversations.HandleInbound(*connection, std::move(*event));
  if (!outcome) co_return refuse(outcome.error());
  if (outcome->duplicate) {
    ++deps.metrics.inbound_duplicate;
    co_return Json(200, json::object{{"status", "duplicate"}});
  }
  ++deps.metrics.inbound_accepted;
  co_return Json(200, json::object{{"status", "accepted"}});
}

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
  return out;
}

}  // namespace

void AddApiRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;

  router.Add("POST", "/messages", [d](Request& req) { return PostMessages(req, *d); });

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

  // Connections (the Digital Messaging Manager).
  router.Add("POST", "/api/v1/connections",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               auto input = manager::ConnectionService::DecodeNew(*body);
               if (!input) co_return ErrorResponse(input.error());
               auto created = co_await d->connections.Create(std::move(*input));
               co_return Reply(201, created,
                               [d](const auto& c) { return d->connections.ToJson(c, true); });
             }));
  router.Add("GET", "/api/v1/connections", Admin(deps, [d](Request&) -> asio::awaitable<Response> {
               auto all = co_await d->connections.List();
               co_return Reply(200, all, [d](const auto& list) {
                 json::array arr;
                 for (const auto& c : list) arr.push_back(d->connections.ToJson(c, false));
                 return json::object{{"connections", std::move(arr)}};
               });
             }));
  router.Add("GET", "/api/v1/connections/{id}",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               auto c = co_await d->connections.Get(req.Param("id"));
               co_return Reply(200, c,
                               [d](const auto& c) { return d->connections.ToJson(c, true); });
             }));
  router.Add("PATCH", "/api/v1/connections/{id}",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               auto changes = manager::ConnectionService::DecodeChanges(*body);
               if (!changes) co_return ErrorResponse(changes.error());
               auto c = co_await d->connections.Update(req.Param("id"), std::move(*changes));
               co_return Reply(200, c,
                               [d](const auto& c) { return d->connections.ToJson(c, false); });
             }));
  router.Add("DELETE", "/api/v1/connections/{id}",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               auto r = co_await d->connections.Delete(req.Param("id"));
               if (!r) co_return ErrorResponse(r.error());
               co_return Json(200, json::object{{"deleted", true}});
             }));
  router.Add("POST", "/api/v1/connections/{id}/rotate-secret",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               auto c = co_await d->connections.RotateSecret(req.Param("id"));
               co_return Reply(200, c, [](const auto& c) {
                 return json::object{
                     {"jwt_secret", c.secret},
                     {"previous_secret_valid_until",
                      FormatTimestamp(c.previous_secret_valid_until_ms.value_or(0))}};
               });
             }));

  // Deliveries.
  router.Add(
      "GET", "/api/v1/connections/{id}/deliveries",
      Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
        storage::DeliveryFilter filter;
        filter.connection_id = req.Param("id");
        filter.status = req.Query("status");
        if (filter.status && *filter.status != "pending" && *filter.status != "failed" &&
            *filter.status != "dead" && *filter.status != "delivered")
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_status",
                                  "status must be pending, failed, dead or delivered.");
        ListId list_id{ListKind::kDeliveries,
                       filter.connection_id + "\n" + filter.status.value_or("")};
        auto page = ParsePage(req, list_id);
        if (!page) co_return ErrorResponse(page.error());
        filter.limit = page->limit + 1;  // one more tells whether a next page exists
        filter.after = page->after;
        if (!d->directory.Find(filter.connection_id))
          co_return ErrorResponse(Errc::kNotFound, "connection_not_found",
                                  "No connection has this ID.");
        auto job0 = [filter](storage::Tx& tx) { return tx.ListDeliveries(filter); };
        auto list = co_await d->store.Read<std::vector<storage::DeliveryRecord>>(job0);
        co_return Reply(200, list, [&](const auto& all) {
          return Page(
              "deliveries", all, page->limit, list_id, DeliveryJson,
              [](const storage::DeliveryRecord& x) {
                return storage::ListCursor{x.event.created_at_ms, x.event.event_id.value_or("")};
              });
        });
      }));
  router.Add("POST", "/api/v1/deliveries/{event_id}/replay",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               auto r = co_await d->dispatcher.Replay(req.Param("event_id"));
               co_return Reply(202, r, [](const auto& x) { return DeliveryJson(x); });
             }));

  // Conversations.
  router.Add("GET", "/api/v1/conversations",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               storage::ConversationFilter filter;
               filter.state = req.Query("state");
               if (filter.state && *filter.state != "bot" && *filter.state != "queued" &&
                   *filter.state != "active" && *filter.state != "ended")
                 co_return ErrorResponse(Errc::kInvalidArgument, "invalid_state",
                                         "state must be bot, queued, active or ended.");
               filter.connection_id = req.Query("connection_id");
               ListId list_id{ListKind::kConversations,
                              filter.state.value_or("") + "\n" + filter.connection_id.value_or("")};
               auto page = ParsePage(req, list_id);
               if (!page) co_return ErrorResponse(page.error());
               filter.limit = page->limit + 1;  // one more tells whether a next page exists
               filter.after = page->after;
               auto list = co_await d->conversations.List(filter);
               co_return Reply(200, list, [&](const auto& all) {
                 return Page(
                     "conversations", all, page->limit, list_id,
                     [](const storage::ConversationRecord& c) {
                       return conversation::ConversationService::ToJson(c);
                     },
                     [](const storage::ConversationRecord& c) {
                       return storage::ListCursor{c.updated_at_ms, c.id};
                     });
               });
             }));
  router.Add("GET", "/api/v1/conversations/{id}",
             Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
               auto got = co_await d->conversations.Get(req.Param("id"));
               co_return Reply(200, got, [](const auto& pair) {
                 json::object o = conversation::ConversationService::ToJson(pair.first);
                 json::array transcript;
                 for (const auto& e : pair.second)
                   transcript.push_back(conversation::ConversationService::ToJson(e));
                 o["transcript"] = std::move(transcript);
                 return o;
               });
             }));

  // Bots.
  router.Add("GET", "/api/v1/bots", Admin(deps, [d](Request&) -> asio::awaitable<Response> {
               json::array arr;
               for (const auto& b : d->bots.List())
                 arr.push_back(json::object{{"name", b.name},
                                            {"display_name", b.display_name},
                                            {"source", b.source},
                                            {"loaded_at", FormatTimestamp(b.loaded_at_ms)}});
               co_return Json(200, json::object{{"bots", std::move(arr)}});
             }));
  router.Add(
      "POST", "/api/v1/bots/{name}/reload",
      Admin(deps, [d](Request& req) -> asio::awaitable<Response> {
        if (!d->reload_bot)
          co_return ErrorResponse(Errc::kConflict, "no_bots_dir",
                                  "The server runs without --bots; there is no file to reload.");
        std::string name = req.Param("name");
        auto home = co_await asio::this_coro::executor;
        co_await asio::post(d->blocking, asio::use_awaitable);  // loading and training are slow
        auto info = d->reload_bot(name);
        co_await asio::post(home, asio::use_awaitable);
        co_return Reply(200, info, [](const auto& b) {
          return json::object{{"name", b.name},
                              {"display_name", b.display_name},
                              {"source", b.source},
                              {"loaded_at", FormatTimestamp(b.loaded_at_ms)}};
        });
      }));
}

}  // namespace parley::http

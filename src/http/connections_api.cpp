// The Digital Messaging Manager's connections and their deliveries (admin).
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "http/api_routes.hpp"
#include "http/paging.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// An answer that carries a JWT secret: no cache (browser, proxy) may keep it.
Response NoStore(Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
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

}  // namespace

void AddConnectionRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  // Connections (the Digital Messaging Manager).
  router.Add("POST", "/api/v1/connections",
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               auto input = manager::ConnectionService::DecodeNew(*body);
               if (!input) co_return ErrorResponse(input.error());
               auto created = co_await d->connections.Create(std::move(*input));
               co_return NoStore(Reply(
                   201, created, [d](const auto& c) { return d->connections.ToJson(c, true); }));
             }));
  router.Add("GET", "/api/v1/connections",
             Admin(deps, [d](Request&, const Caller&) -> asio::awaitable<Response> {
               auto all = co_await d->connections.List();
               co_return Reply(200, all, [d](const auto& list) {
                 json::array arr;
                 for (const auto& c : list) arr.push_back(d->connections.ToJson(c, false));
                 return json::object{{"connections", std::move(arr)}};
               });
             }));
  router.Add("GET", "/api/v1/connections/{id}",
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto c = co_await d->connections.Get(req.Param("id"));
               co_return NoStore(
                   Reply(200, c, [d](const auto& c) { return d->connections.ToJson(c, true); }));
             }));
  router.Add("PATCH", "/api/v1/connections/{id}",
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               auto changes = manager::ConnectionService::DecodeChanges(*body);
               if (!changes) co_return ErrorResponse(changes.error());
               auto c = co_await d->connections.Update(req.Param("id"), std::move(*changes));
               co_return Reply(200, c,
                               [d](const auto& c) { return d->connections.ToJson(c, false); });
             }));
  router.Add("DELETE", "/api/v1/connections/{id}",
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto r = co_await d->connections.Delete(req.Param("id"));
               if (!r) co_return ErrorResponse(r.error());
               co_return Json(200, json::object{{"deleted", true}});
             }));
  router.Add("POST", "/api/v1/connections/{id}/rotate-secret",
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto c = co_await d->connections.RotateSecret(req.Param("id"));
               co_return NoStore(Reply(200, c, [](const auto& c) {
                 return json::object{
                     {"jwt_secret", c.secret},
                     {"previous_secret_valid_until",
                      FormatTimestamp(c.previous_secret_valid_until_ms.value_or(0))}};
               }));
             }));

  // Deliveries.
  router.Add(
      "GET", "/api/v1/connections/{id}/deliveries",
      Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
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
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto r = co_await d->dispatcher.Replay(req.Param("event_id"));
               co_return Reply(202, r, [](const auto& x) { return DeliveryJson(x); });
             }));
}

}  // namespace parley::http

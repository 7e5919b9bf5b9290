// Queues (read by agents, changed by admins), agents' presence and the agents list.
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "core/clock.hpp"
#include "http/api_routes.hpp"
#include "storage/records_json.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;
using storage::Tx;

void AddQueueRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  router.Add("GET", "/api/v1/queues",
             User(deps, [d](Request&, const Caller&) -> asio::awaitable<Response> {
               auto& routing = d->conversations.routing();
               auto step = [&routing](Tx& tx, int64_t now) { return routing.Queues(tx, now); };
               auto all = co_await d->conversations.Look<std::vector<routing::QueueView>>(step);
               co_return Reply(200, all, [](const auto& list) {
                 json::array arr;
                 for (const auto& q : list) arr.push_back(routing::Routing::ToJson(q));
                 return json::object{{"queues", std::move(arr)}};
               });
             }));
  router.Add("GET", "/api/v1/queues/{name}",
             User(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto& routing = d->conversations.routing();
               std::string name = req.Param("name");
               auto step = [&](Tx& tx, int64_t now) -> Result<routing::QueueView> {
                 auto q = tx.GetQueue(name);
                 if (!q) return Fail(q.error());
                 if (!*q)
                   return Fail(Errc::kNotFound, "queue_not_found",
                               "No queue has this name; list them with GET /api/v1/queues.");
                 return routing.Queue(tx, name, now);
               };
               auto view = co_await d->conversations.Look<routing::QueueView>(step);
               co_return Reply(200, view,
                               [](const auto& q) { return routing::Routing::ToJson(q); });
             }));
  router.Add(
      "POST", "/api/v1/queues",
      Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
        auto body = JsonBody(req);
        if (!body) co_return ErrorResponse(body.error());
        auto q = routing::Routing::DecodeQueue(*body, true);
        if (!q) co_return ErrorResponse(q.error());
        auto& routing = d->conversations.routing();
        auto step = [&](Tx& tx, int64_t now, routing::Effects& fx) -> Result<routing::QueueView> {
          auto created = routing.CreateQueue(tx, *q, now);
          if (!created) return Fail(created.error());
          fx.queues_changed.insert(q->name);
          return routing.Queue(tx, q->name, now);
        };
        auto view = co_await d->conversations.Act<routing::QueueView>(step);
        co_return Reply(201, view, [](const auto& v) { return routing::Routing::ToJson(v); });
      }));
  // PUT is PATCH's twin (issue 19 names it): the fields given change, the others stay.
  for (const char* method : {"PATCH", "PUT"})
    router.Add(
        method, "/api/v1/queues/{name}",
        Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
          auto body = JsonBody(req);
          if (!body) co_return ErrorResponse(body.error());
          auto& routing = d->conversations.routing();
          std::string name = req.Param("name");
          auto step = [&](Tx& tx, int64_t now, routing::Effects& fx) -> Result<routing::QueueView> {
            auto updated = routing.UpdateQueue(tx, name, *body, now, fx);
            if (!updated) return Fail(updated.error());
            return routing.Queue(tx, name, now);
          };
          auto view = co_await d->conversations.Act<routing::QueueView>(step);
          co_return Reply(200, view, [](const auto& v) { return routing::Routing::ToJson(v); });
        }));
  router.Add("DELETE", "/api/v1/queues/{name}",
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto& routing = d->conversations.routing();
               std::string name = req.Param("name");
               auto step = [&](Tx& tx, int64_t, routing::Effects&) -> Result<bool> {
                 auto deleted = routing.DeleteQueue(tx, name);
                 if (!deleted) return Fail(deleted.error());
                 return true;
               };
               auto r = co_await d->conversations.Act<bool>(step);
               co_return Reply(200, r, [](bool) { return json::object{{"deleted", true}}; });
             }));

  // Agents.
  router.Add(
      "PUT", "/api/v1/agents/me/status",
      User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
        if (caller.username.empty())
          co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                  "The admin token has no presence; sign in as a user.");
        auto body = JsonBody(req);
        if (!body) co_return ErrorResponse(body.error());
        auto wanted = DecodeStatus(*body);
        if (!wanted) co_return ErrorResponse(wanted.error());
        auto& routing = d->conversations.routing();
        auto step = [&](Tx& tx, int64_t now, routing::Effects& fx) {
          return routing.SetStatus(tx, caller.username, wanted->status, now, fx, wanted->reason);
        };
        auto view = co_await d->conversations.Act<routing::AgentView>(step);
        co_return Reply(200, view, [](const auto& a) { return routing::Routing::ToJson(a); });
      }));
  router.Add("GET", "/api/v1/agents/me",
             User(deps, [d](Request&, const Caller& caller) -> asio::awaitable<Response> {
               if (caller.username.empty())
                 co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                         "The admin token has no presence; sign in as a user.");
               auto& routing = d->conversations.routing();
               auto step = [&](Tx& tx, int64_t) { return routing.Agent(tx, caller.username); };
               auto view = co_await d->conversations.Look<routing::AgentView>(step);
               co_return Reply(200, view, [&routing](const auto& a) {
                 json::object o = routing::Routing::ToJson(a);
                 // What the console offers as reasons of being away.
                 json::array reasons;
                 for (const auto& r : routing.settings().away_reasons) reasons.emplace_back(r);
                 o["away_reasons"] = std::move(reasons);
                 return o;
               });
             }));
  // The manager's overview and the wallboard in one answer, from counters: O(queues + agents +
  // their active chats), whatever the number of conversations.
  router.Add("GET", "/api/v1/overview",
             Permitted(deps, Permission::kSeeAll,
                       [d](Request&, const Caller&) -> asio::awaitable<Response> {
                         auto& routing = d->conversations.routing();
                         auto step = [&](Tx& tx, int64_t now) { return routing.Floor(tx, now); };
                         auto got = co_await d->conversations.Look<routing::FloorView>(step);
                         co_return Reply(200, got, [](const routing::FloorView& f) {
                           return routing::Routing::ToJson(f);
                         });
                       }));
  router.Add("GET", "/api/v1/agents/me/offers",
             User(deps, [d](Request&, const Caller& caller) -> asio::awaitable<Response> {
               if (caller.username.empty())
                 co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                         "The admin token gets no offers; sign in as a user.");
               auto& routing = d->conversations.routing();
               auto step = [&](Tx& tx, int64_t) { return routing.Offers(tx, caller.username); };
               auto offers =
                   co_await d->conversations.Look<std::vector<storage::ConversationRecord>>(step);
               co_return Reply(200, offers, [](const auto& list) {
                 json::array arr;
                 for (const auto& c : list) {
                   json::object o = storage::ConversationJson(c);
                   o["expires_at"] = FormatTimestamp(*c.routing.offer_expires_at_ms);
                   arr.push_back(std::move(o));
                 }
                 return json::object{{"offers", std::move(arr)}};
               });
             }));
  // Every agent (supervisors, admins), or the agents of one queue (anyone signed in: whom to
  // transfer to).
  router.Add("GET", "/api/v1/agents",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto queue = req.Query("queue");
               if (!queue && !Allows(caller, Permission::kSeeAll))
                 co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                         "Agents list the agents of one queue: add ?queue=NAME.");
               auto& routing = d->conversations.routing();
               auto step = [&](Tx& tx, int64_t) {
                 return queue ? routing.QueueAgents(tx, *queue) : routing.Agents(tx);
               };
               auto all = co_await d->conversations.Look<std::vector<routing::AgentView>>(step);
               co_return Reply(200, all, [](const auto& list) {
                 json::array arr;
                 for (const auto& a : list) arr.push_back(routing::Routing::ToJson(a));
                 return json::object{{"agents", std::move(arr)}};
               });
             }));
}

}  // namespace parley::http

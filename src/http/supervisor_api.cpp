// What supervisors (and admins) do on the floor: monitor a chat, whisper to its agent, join it,
// set an agent's status, sign an agent out. The transfer of any chat is the transfer route's
// (conversations_api.cpp), which takes supervisors too. Each action is a routing step that
// writes a system note to the transcript (routing/supervision.cpp).
#include <fmt/format.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "http/api_routes.hpp"
#include "storage/records_json.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;
using storage::ConversationRecord;
using storage::Tx;

Result<StatusChange> DecodeStatus(const json::value& body) {
  const json::object* o = body.if_object();
  const json::value* status = o ? o->if_contains("status") : nullptr;
  if (!status || !status->is_string())
    return Fail(Errc::kInvalidArgument, "invalid_status",
                "Send {\"status\": \"available\"} or \"away\" (with an optional \"reason\").");
  StatusChange out{std::string(status->as_string()), std::nullopt};
  if (const json::value* reason = o->if_contains("reason"); reason && !reason->is_null()) {
    if (!reason->is_string())
      return Fail(Errc::kInvalidArgument, "invalid_reason",
                  "reason must be a string, one of the server's away_reasons.");
    out.reason = std::string(reason->as_string());
  }
  return out;
}

namespace {

Result<routing::Actor> Supervisor(const Caller& caller) {
  if (caller.username.empty())
    return Fail(Errc::kPermissionDenied, "forbidden",
                "The admin token is nobody and has no event stream; sign in as a user.");
  return routing::Actor{caller.username, caller.display_name, caller.queues, caller.max_chats};
}

// Runs a supervisor's routing step that answers `T`, encoded by `encode`.
template <class T, class F, class E>
asio::awaitable<Response> Supervise(ApiDeps& deps, const Caller& caller, F step, E encode) {
  auto actor = Supervisor(caller);
  if (!actor) co_return ErrorResponse(actor.error());
  auto bound = [&step, &actor](Tx& tx, int64_t now, routing::Effects& fx) {
    return step(tx, *actor, now, fx);
  };
  auto r = co_await deps.conversations.Act<T>(bound);
  co_return Reply(200, r, encode);
}

json::object ConversationJson(const ConversationRecord& c) { return storage::ConversationJson(c); }

}  // namespace

void AddSupervisorRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  constexpr Permission kSupervise = Permission::kSupervise;
  for (const char* verb : {"monitor", "join"}) {
    bool join = std::string_view(verb) == "join";
    router.Add(
        "POST", fmt::format("/api/v1/conversations/{{id}}/{}", verb),
        Permitted(
            deps, kSupervise,
            [d, join](Request& req, const Caller& caller) -> asio::awaitable<Response> {
              std::string id = req.Param("id");
              auto& routing = d->conversations.routing();
              auto step = [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
                return routing.Watch(tx, id, a, join, now, fx);
              };
              co_return co_await Supervise<ConversationRecord>(*d, caller, step, ConversationJson);
            }));
  }
  router.Add(
      "POST", "/api/v1/conversations/{id}/unmonitor",
      Permitted(
          deps, kSupervise, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
            std::string id = req.Param("id");
            auto& routing = d->conversations.routing();
            auto step = [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
              return routing.Unwatch(tx, id, a, now, fx);
            };
            co_return co_await Supervise<ConversationRecord>(*d, caller, step, ConversationJson);
          }));
  router.Add(
      "POST", "/api/v1/conversations/{id}/whisper",
      Permitted(
          deps, kSupervise, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
            auto body = JsonBody(req);
            if (!body) co_return ErrorResponse(body.error());
            const json::value* text =
                body->is_object() ? body->as_object().if_contains("text") : nullptr;
            if (!text || !text->is_string() || body->as_object().size() != 1)
              co_return ErrorResponse(Errc::kInvalidArgument, "invalid_text",
                                      "Send {\"text\": \"...\"}: what the agent should read, 1 to "
                                      "4096 bytes.");
            auto actor = Supervisor(caller);
            if (!actor) co_return ErrorResponse(actor.error());
            // Named before the co_await: g++ 12 destroys temporaries of a co_await expression
            // twice.
            std::string id = req.Param("id");
            std::string whisper(text->as_string());
            std::function<bool(const ConversationRecord&)> may_read =
                [](const ConversationRecord& c) { return c.state == "active"; };
            auto note = co_await d->conversations.AddNote(id, caller.display_name, whisper,
                                                          may_read, "whisper");
            if (!note && note.error().code == "forbidden")
              co_return ErrorResponse(
                  Errc::kConflict, "not_active",
                  "This conversation is not with an agent; a whisper goes to the "
                  "agent of a live chat.");
            co_return Reply(201, note,
                            [](const storage::EventRecord& e) { return storage::EntryJson(e); });
          }));
  router.Add(
      "PUT", "/api/v1/agents/{username}/status",
      Permitted(
          deps, kSupervise, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
            auto body = JsonBody(req);
            if (!body) co_return ErrorResponse(body.error());
            auto wanted = DecodeStatus(*body);
            if (!wanted) co_return ErrorResponse(wanted.error());
            std::string username = req.Param("username");
            auto& routing = d->conversations.routing();
            auto step = [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
              return routing.ForceStatus(tx, username, a, wanted->status, wanted->reason, now, fx);
            };
            co_return co_await Supervise<routing::AgentView>(
                *d, caller, step, [](const auto& a) { return routing::Routing::ToJson(a); });
          }));
  router.Add(
      "POST", "/api/v1/agents/{username}/sign-out",
      Permitted(
          deps, kSupervise, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
            std::string username = req.Param("username");
            auto& routing = d->conversations.routing();
            auto step = [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
              return routing.SignOut(tx, username, a, now, fx);
            };
            Response r = co_await Supervise<routing::AgentView>(
                *d, caller, step, [](const auto& a) { return routing::Routing::ToJson(a); });
            // Their sessions are gone with the commit; their open streams close now (1008).
            if (r.status == 200) d->hub.Disconnect(username);
            co_return r;
          }));
}

}  // namespace parley::http

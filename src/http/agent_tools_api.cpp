// What agents keep at hand beside a chat: canned responses (/api/v1/responses) and internal
// notes in a transcript (/api/v1/conversations/{id}/notes).
#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "conversation/responses.hpp"
#include "core/ids.hpp"
#include "http/api_routes.hpp"
#include "storage/records_json.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;
using storage::ResponseRecord;
using storage::Tx;

namespace {

conversation::ResponseCaller Who(const Caller& caller) {
  return {caller.username, Allows(caller, Permission::kAdminister)};
}

}  // namespace

void AddAgentToolRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  router.Add("GET", "/api/v1/responses",
             User(deps, [d](Request&, const Caller& caller) -> asio::awaitable<Response> {
               auto step = [who = Who(caller)](Tx& tx, int64_t) {
                 return conversation::ListResponses(tx, who);
               };
               auto list = co_await d->conversations.Look<std::vector<ResponseRecord>>(step);
               co_return Reply(200, list, [](const auto& all) {
                 json::array arr;
                 for (const auto& r : all) arr.push_back(conversation::ResponseJson(r));
                 return json::object{{"responses", std::move(arr)}};
               });
             }));
  router.Add("POST", "/api/v1/responses",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               std::string id = RandomIdGenerator().Uuid();
               auto step = [&, who = Who(caller)](Tx& tx, int64_t now, routing::Effects&) {
                 return conversation::CreateResponse(tx, who, *body, id, now);
               };
               auto made = co_await d->conversations.Act<ResponseRecord>(step);
               co_return Reply(201, made, conversation::ResponseJson);
             }));
  router.Add("PATCH", "/api/v1/responses/{id}",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               std::string id = req.Param("id");
               auto step = [&, who = Who(caller)](Tx& tx, int64_t now, routing::Effects&) {
                 return conversation::UpdateResponse(tx, who, id, *body, now);
               };
               auto changed = co_await d->conversations.Act<ResponseRecord>(step);
               co_return Reply(200, changed, conversation::ResponseJson);
             }));
  router.Add("DELETE", "/api/v1/responses/{id}",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               std::string id = req.Param("id");
               auto step = [&, who = Who(caller)](Tx& tx, int64_t,
                                                  routing::Effects&) -> Result<bool> {
                 auto deleted = conversation::DeleteResponse(tx, who, id);
                 if (!deleted) return Fail(deleted.error());
                 return true;
               };
               auto r = co_await d->conversations.Act<bool>(step);
               co_return Reply(200, r, [](bool) { return json::object{{"deleted", true}}; });
             }));

  router.Add("POST", "/api/v1/conversations/{id}/notes",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               const json::value* text =
                   body->is_object() ? body->as_object().if_contains("text") : nullptr;
               if (!text || !text->is_string() || body->as_object().size() != 1)
                 co_return ErrorResponse(Errc::kInvalidArgument, "invalid_text",
                                         "Send {\"text\": \"...\"}: the note, 1 to 4096 bytes.");
               std::string author = caller.display_name.empty()
                                        ? (caller.username.empty() ? "admin" : caller.username)
                                        : caller.display_name;
               // Named before the co_await: g++ 12 destroys temporaries of a co_await
               // expression twice (docs/architecture.md).
               std::string id = req.Param("id");
               std::string note_text(text->as_string());
               std::function<bool(const storage::ConversationRecord&)> may_read =
                   [caller](const storage::ConversationRecord& c) { return MayRead(caller, c); };
               auto note = co_await d->conversations.AddNote(id, author, note_text, may_read);
               co_return Reply(201, note,
                               [](const storage::EventRecord& e) { return storage::EntryJson(e); });
             }));
}

}  // namespace parley::http

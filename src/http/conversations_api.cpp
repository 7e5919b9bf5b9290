// Conversations: lists and transcripts, and what an agent does in one (accept, write, type,
// transfer, release, end, ask the assistant).
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>

#include "conversation/assist.hpp"
#include "conversation/context.hpp"
#include "http/api_routes.hpp"
#include "http/paging.hpp"
#include "storage/records_json.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;
using storage::ConversationRecord;
using storage::Tx;

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Result<routing::Actor> ActorOf(const Caller& caller) {
  if (caller.username.empty())
    return Fail(Errc::kPermissionDenied, "forbidden",
                "The admin token cannot take conversations; sign in as a user.");
  return routing::Actor{caller.username, caller.display_name, caller.queues, caller.max_chats};
}

Result<routing::TransferTarget> DecodeTransfer(const json::value& body) {
  routing::TransferTarget t;
  if (!body.is_object()) return Fail(Errc::kInvalidArgument, "invalid_body", "Send a JSON object.");
  for (const auto& kv : body.as_object()) {
    std::string_view key = kv.key();
    if (key != "queue" && key != "agent" && key != "note")
      return Fail(
          Errc::kInvalidArgument, "unknown_field",
          fmt::format("Unknown field '{}'; send queue or agent, and an optional note.", key));
    if (!kv.value().is_string() || kv.value().as_string().empty())
      return Fail(Errc::kInvalidArgument, fmt::format("invalid_{}", key),
                  fmt::format("{} must be a non-empty string.", key));
    std::string v(kv.value().as_string());
    if (key == "queue") t.queue = v;
    if (key == "agent") t.agent = v;
    if (key == "note") t.note = v;
  }
  return t;
}

// "2026-11-25" (the start of that day, UTC) or "2026-11-25T09:15:03Z" (seconds optional, a
// fraction of a second ignored) as Unix ms; nothing when it is neither.
std::optional<int64_t> ParseDay(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
    return std::nullopt;
  std::string_view rest = std::string_view(s).substr(10);
  if (!rest.empty()) {
    std::string time(rest);
    if (std::sscanf(time.c_str(), "T%2d:%2d%n", &h, &mi, &used) != 2 || used != 6)
      return std::nullopt;
    rest.remove_prefix(6);
    if (rest.size() >= 3 && rest[0] == ':') {
      std::string secs(rest.substr(1, 2));
      if (std::sscanf(secs.c_str(), "%2d%n", &sec, &used) != 1 || used != 2) return std::nullopt;
      rest.remove_prefix(3);
      if (!rest.empty() && rest[0] == '.') {
        size_t digits = rest.find_first_not_of("0123456789", 1);
        rest.remove_prefix(digits == std::string_view::npos ? rest.size() : digits);
      }
    }
    if (rest != "Z") return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Days since 1970-01-01 of the civil date (H. Hinnant's days_from_civil).
  y -= mo <= 2;
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = int64_t{era} * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60'000 + int64_t{sec} * 1000;
}

// The optional body of a decline: nothing, or {"reason"}.
Result<std::optional<std::string>> DecodeDecline(const Request& req) {
  if (req.body.empty()) return std::optional<std::string>();
  auto body = JsonBody(req);
  if (!body) return Fail(body.error());
  if (!body->is_object())
    return Fail(Errc::kInvalidArgument, "invalid_body", "Send a JSON object.");
  std::optional<std::string> reason;
  for (const auto& kv : body->as_object()) {
    if (kv.key() != "reason")
      return Fail(Errc::kInvalidArgument, "unknown_field",
                  fmt::format("Unknown field '{}'; send nothing or {{\"reason\": \"...\"}}.",
                              std::string_view(kv.key()).substr(0, 64)));
    const json::value& v = kv.value();
    if (v.is_null()) continue;
    if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 500)
      return Fail(Errc::kInvalidArgument, "invalid_reason",
                  "reason must be 1-500 characters (or left out).");
    reason = std::string(v.as_string());
  }
  return reason;
}

// The optional body of an end: nothing, or {"wrap_up"?, "note"?}.
Result<routing::WrapUp> DecodeWrapUp(const Request& req) {
  routing::WrapUp wrap;
  if (req.body.empty()) return wrap;
  auto body = JsonBody(req);
  if (!body) return Fail(body.error());
  if (!body->is_object())
    return Fail(Errc::kInvalidArgument, "invalid_body", "Send a JSON object.");
  for (const auto& kv : body->as_object()) {
    std::string_view key = kv.key();
    if (key != "wrap_up" && key != "note")
      return Fail(Errc::kInvalidArgument, "unknown_field",
                  fmt::format("Unknown field '{}'; send wrap_up (a code of the queue) and note.",
                              key.substr(0, 64)));
    const json::value& v = kv.value();
    if (v.is_null()) continue;
    if (!v.is_string())
      return Fail(Errc::kInvalidArgument, key == "note" ? "invalid_note" : "invalid_wrap_up",
                  fmt::format("{} must be a string.", key));
    if (key == "wrap_up") wrap.code = std::string(v.as_string());
    if (key == "note") wrap.note = std::string(v.as_string());
  }
  return wrap;
}

Response ConversationReply(int status, const Result<ConversationRecord>& r) {
  return Reply(status, r, [](const ConversationRecord& c) { return storage::ConversationJson(c); });
}

// Runs a routing step that returns the conversation, as `caller`.
template <class F>
asio::awaitable<Response> Step(ApiDeps& deps, const Caller& caller, F step) {
  auto actor = ActorOf(caller);
  if (!actor) co_return ErrorResponse(actor.error());
  auto bound = [&step, &actor](Tx& tx, int64_t now, routing::Effects& fx) {
    return step(tx, *actor, now, fx);
  };
  auto r = co_await deps.conversations.Act<ConversationRecord>(bound);
  co_return ConversationReply(200, r);
}

// An agent's own history (the console's History): their ended chats of the last 30 days,
// each with the code it was wrapped up with, if any.
constexpr int64_t kHistoryWindowMs = int64_t{30} * 24 * 60 * 60 * 1000;

struct HistoryItem {
  ConversationRecord conversation;
  std::optional<std::string> wrap_up;
};

// Reads up to filter.limit ended chats of filter.agent, newest first, stopping at the first
// last changed before the window (those after it, older still, are not read). An ended chat
// changes last when it ends, or when it is wrapped up (at most 10 minutes later).
Result<std::vector<HistoryItem>> ReadHistory(Tx& tx, const storage::ConversationFilter& filter,
                                             int64_t now) {
  auto list = tx.ListConversations(filter);
  if (!list) return Fail(list.error());
  std::vector<HistoryItem> out;
  for (auto& c : *list) {
    if (c.updated_at_ms < now - kHistoryWindowMs) break;  // ordered by updated_at
    auto transcript = tx.Transcript(c.id);
    if (!transcript) return Fail(transcript.error());
    HistoryItem item{std::move(c), std::nullopt};
    for (const auto& e : *transcript)
      if (e.direction == "note" && e.type == "wrap_up") {
        auto payload = json::parse(e.payload_json);
        if (const auto* code =
                payload.is_object() ? payload.as_object().if_contains("code") : nullptr;
            code && code->is_string())
          item.wrap_up = std::string(code->as_string());
      }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

void AddConversationRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  // Conversations.
  router.Add(
      "GET", "/api/v1/conversations",
      User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
        storage::ConversationFilter filter;
        filter.state = req.Query("state");
        filter.queue = req.Query("queue");
        if (req.Query("mine").value_or("") == "true") filter.agent = caller.username;
        // Agents see their own conversations and those of their queues.
        if (!Allows(caller, Permission::kSeeAll) && !filter.agent &&
            !(filter.queue && Contains(caller.queues, *filter.queue)))
          co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                  "List your own (mine=true) or a queue of yours (queue=NAME).");
        if (filter.state && *filter.state != "bot" && *filter.state != "queued" &&
            *filter.state != "active" && *filter.state != "ended")
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_state",
                                  "state must be bot, queued, active or ended.");
        filter.connection_id = req.Query("connection_id");
        // History search (supervisors, admins): who handled it, the customer, when it began.
        if (auto agent = req.Query("agent"); agent && !filter.agent) {
          if (!Allows(caller, Permission::kSeeAll))
            co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                    "Agents list their own conversations with mine=true.");
          filter.agent = agent;
        }
        filter.customer = req.Query("customer");
        filter.wrap_up = req.Query("wrap_up");
        for (auto [key, out] : {std::pair{"created_from", &filter.created_from_ms},
                                {"created_before", &filter.created_before_ms}}) {
          auto text = req.Query(key);
          if (!text) continue;
          *out = ParseDay(*text);
          if (!*out)
            co_return ErrorResponse(Errc::kInvalidArgument, fmt::format("invalid_{}", key),
                                    fmt::format("{} must be a date (2026-11-25) or a UTC time "
                                                "(2026-11-25T09:15:03Z).",
                                                key));
        }
        // A cursor belongs to its filters; the history's filters are added only when given,
        // so the cursors of the other lists stay as they were.
        std::string filters = filter.state.value_or("") + "\n" + filter.connection_id.value_or("") +
                              "\n" + filter.queue.value_or("") + "\n" + filter.agent.value_or("");
        if (filter.customer || filter.created_from_ms || filter.created_before_ms)
          filters += "\n" + filter.customer.value_or("") + "\n" +
                     std::to_string(filter.created_from_ms.value_or(-1)) + "\n" +
                     std::to_string(filter.created_before_ms.value_or(-1));
        if (filter.wrap_up) filters += "\nwrap_up\n" + *filter.wrap_up;
        ListId list_id{ListKind::kConversations, filters};
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
  // The caller's own ended chats of the last 30 days, newest first (the console's History).
  router.Add(
      "GET", "/api/v1/agents/me/conversations",
      User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
        if (caller.username.empty())
          co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                  "The admin token has no chats of its own; sign in as a user.");
        if (auto state = req.Query("state"); state && *state != "ended")
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_state",
                                  "state must be ended (or left out): the history lists ended "
                                  "chats.");
        storage::ConversationFilter filter;
        filter.state = "ended";
        filter.agent = caller.username;
        ListId list_id{ListKind::kConversations, "history\n" + caller.username};
        auto page = ParsePage(req, list_id);
        if (!page) co_return ErrorResponse(page.error());
        filter.limit = page->limit + 1;  // one more tells whether a next page exists
        filter.after = page->after;
        auto step = [&filter](Tx& tx, int64_t now) { return ReadHistory(tx, filter, now); };
        auto items = co_await d->conversations.Look<std::vector<HistoryItem>>(step);
        co_return Reply(200, items, [&](const auto& all) {
          return Page(
              "conversations", all, page->limit, list_id,
              [](const HistoryItem& item) {
                json::object o = conversation::ConversationService::ToJson(item.conversation);
                o["wrap_up"] = item.wrap_up ? json::value(*item.wrap_up) : json::value(nullptr);
                return o;
              },
              [](const HistoryItem& item) {
                return storage::ListCursor{item.conversation.updated_at_ms, item.conversation.id};
              });
        });
      }));
  router.Add("GET", "/api/v1/conversations/{id}",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto got = co_await d->conversations.Get(req.Param("id"));
               bool allowed = got && MayRead(caller, got->first);
               // ?via=ID: an earlier conversation of the customer of one the caller may read
               // (the context panel's "previous conversations").
               if (got && !allowed)
                 if (auto via = req.Query("via"); via && *via != got->first.id) {
                   auto current = co_await d->conversations.Get(*via);
                   allowed = current && MayRead(caller, current->first) &&
                             current->first.connection_id == got->first.connection_id &&
                             current->first.customer_id == got->first.customer_id;
                 }
               if (got && !allowed)
                 co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                         "This conversation is neither yours nor waiting in a "
                                         "queue of yours.");
               // The satisfaction survey's answer (issue 19), when there is one.
               std::optional<storage::CsatRecord> csat;
               if (got) {
                 std::string id = got->first.id;
                 auto read = [id](Tx& tx, int64_t) { return tx.GetCsat(id); };
                 auto found =
                     co_await d->conversations.Look<std::optional<storage::CsatRecord>>(read);
                 if (found) csat = std::move(*found);
               }
               co_return Reply(200, got, [&csat](const auto& pair) {
                 json::object o = conversation::ConversationService::ToJson(pair.first);
                 o["csat"] = csat && csat->score ? json::value(*csat->score) : json::value(nullptr);
                 o["csat_comment"] =
                     csat && csat->comment ? json::value(*csat->comment) : json::value(nullptr);
                 json::array transcript;
                 for (const auto& e : pair.second)
                   transcript.push_back(conversation::ConversationService::ToJson(e));
                 o["transcript"] = std::move(transcript);
                 return o;
               });
             }));
  router.Add("GET", "/api/v1/conversations/{id}/context",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto got = co_await d->conversations.Get(req.Param("id"));
               if (!got) co_return ErrorResponse(got.error());
               if (!MayRead(caller, got->first))
                 co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                         "This conversation is neither yours nor waiting in a "
                                         "queue of yours.");
               conversation::ContextInput in;
               in.conversation = got->first;
               in.transcript = std::move(got->second);
               if (auto connection = d->directory.Find(got->first.connection_id))
                 in.connection = *connection;
               storage::ConversationFilter filter;
               filter.connection_id = got->first.connection_id;
               filter.customer = got->first.customer_id;
               filter.limit = 100;
               auto others = co_await d->conversations.List(filter);
               if (!others) co_return ErrorResponse(others.error());
               in.others = std::move(*others);
               in.now_ms = d->clock.NowMs();
               co_return Json(200, conversation::CustomerContext(in));
             }));
  // accept and release: a routing step on the conversation, answering it.
  using Action = Result<ConversationRecord> (routing::Routing::*)(
      Tx&, const std::string&, const routing::Actor&, int64_t, routing::Effects&);
  for (auto [verb, action] : {std::pair<const char*, Action>{"accept", &routing::Routing::Accept},
                              {"release", &routing::Routing::Release}}) {
    router.Add(
        "POST", fmt::format("/api/v1/conversations/{{id}}/{}", verb),
        // `action = action`: clang 14 cannot capture a structured binding by name (C++20's
        // P1091 came in clang 16), and `make fuzz` builds with clang 14.
        User(deps,
             [d, action = action](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               std::string id = req.Param("id");
               auto& routing = d->conversations.routing();
               // For parley_accept_latency_seconds: when the offer being accepted was made
               // (Accept tells, from the row it reads anyway).
               std::optional<int64_t> offered_at;
               auto step = [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
                 auto r = (routing.*action)(tx, id, a, now, fx);
                 offered_at = fx.offer_made_at_ms;
                 return r;
               };
               Response r = co_await Step(*d, caller, step);
               if (offered_at && r.status == 200)
                 d->metrics.accept_latency.Record(d->clock.NowMs() - *offered_at);
               if (action == &routing::Routing::Accept && r.status == 200)
                 d->metrics.accept_answer.Record(
                     std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - req.received_at));
               co_return r;
             }));
  }
  router.Add("POST", "/api/v1/conversations/{id}/end",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto wrap = DecodeWrapUp(req);
               if (!wrap) co_return ErrorResponse(wrap.error());
               std::string id = req.Param("id");
               auto& routing = d->conversations.routing();
               co_return co_await Step(
                   *d, caller,
                   [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
                     return routing.End(tx, id, a, *wrap, now, fx);
                   });
             }));
  router.Add("POST", "/api/v1/conversations/{id}/decline",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto reason = DecodeDecline(req);
               if (!reason) co_return ErrorResponse(reason.error());
               std::string id = req.Param("id");
               auto& routing = d->conversations.routing();
               co_return co_await Step(
                   *d, caller,
                   [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
                     return routing.Decline(tx, id, a, *reason, now, fx);
                   });
             }));
  router.Add("POST", "/api/v1/conversations/{id}/transfer",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               auto target = DecodeTransfer(*body);
               if (!target) co_return ErrorResponse(target.error());
               std::string id = req.Param("id");
               auto& routing = d->conversations.routing();
               // Supervisors move any chat (take over, reassign); agents their own.
               bool any = Allows(caller, Permission::kSupervise);
               co_return co_await Step(
                   *d, caller,
                   [&](Tx& tx, const routing::Actor& a, int64_t now, routing::Effects& fx) {
                     return any ? routing.TransferAny(tx, id, a, *target, now, fx)
                                : routing.Transfer(tx, id, a, *target, now, fx);
                   });
             }));
  router.Add("POST", "/api/v1/conversations/{id}/messages",
             User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
               auto actor = ActorOf(caller);
               if (!actor) co_return ErrorResponse(actor.error());
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               auto message = channel::DecodeOutboundBody(*body);
               if (!message) co_return ErrorResponse(message.error());
               auto sent = co_await d->conversations.SendAsAgent(req.Param("id"), *actor,
                                                                 std::move(*message));
               co_return Reply(202, sent, [](const conversation::SentMessage& m) {
                 return json::object{{"event_id", m.event_id}, {"seq", m.seq}};
               });
             }));
  router.Add(
      "POST", "/api/v1/conversations/{id}/typing",
      User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
        auto actor = ActorOf(caller);
        if (!actor) co_return ErrorResponse(actor.error());
        auto body = JsonBody(req);
        if (!body) co_return ErrorResponse(body.error());
        const json::value* on = body->is_object() ? body->as_object().if_contains("on") : nullptr;
        if (!on || !on->is_bool())
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_on",
                                  "Send {\"on\": true} or {\"on\": false}.");
        auto sent = co_await d->conversations.AgentTyping(req.Param("id"), *actor, on->as_bool());
        co_return Reply(202, sent, [](bool sent) { return json::object{{"sent", sent}}; });
      }));
  router.Add(
      "POST", "/api/v1/conversations/{id}/assist",
      User(deps, [d](Request& req, const Caller& caller) -> asio::awaitable<Response> {
        auto body = JsonBody(req);
        if (!body) co_return ErrorResponse(body.error());
        const json::value* text =
            body->is_object() ? body->as_object().if_contains("text") : nullptr;
        if (!text || !text->is_string() || text->as_string().size() > 4096)
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_text",
                                  "Send {\"text\": \"...\"}: the customer's words, at "
                                  "most 4096 bytes.");
        auto got = co_await d->conversations.Get(req.Param("id"));
        if (!got) co_return ErrorResponse(got.error());
        if (!MayRead(caller, got->first))
          co_return ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                  "This conversation is neither yours nor waiting in a "
                                  "queue of yours.");
        auto connection = d->directory.Find(got->first.connection_id);
        if (!connection)
          co_return ErrorResponse(Errc::kNotFound, "connection_not_found",
                                  "The connection of this conversation was deleted.");
        std::optional<int64_t> position;
        if (const json::value* p = body->as_object().if_contains("position"); p && !p->is_null()) {
          if (!p->is_int64() || p->as_int64() < 1)
            co_return ErrorResponse(Errc::kInvalidArgument, "invalid_position",
                                    "position must be a transcript entry's position (a "
                                    "whole number from 1).");
          position = p->as_int64();
        }
        // What the bot did with that message, when it answered it: the agent's view
        // agrees with the bot's.
        auto note =
            conversation::FindTurnNote(got->second, std::string_view(text->as_string()), position);
        auto answer =
            conversation::Assist(d->bots, connection->bot, std::string_view(text->as_string()),
                                 got->first.customer_name, std::move(note));
        co_return Reply(200, answer, [](const auto& a) { return conversation::ToJson(a); });
      }));
}

}  // namespace parley::http

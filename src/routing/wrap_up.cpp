// Wrap-up: a code of the queue's list and a note as a chat ends (or within ten minutes after the
// customer ended it), and after-chat work: no new offer for after_chat_work_s or until the agent
// says they are ready.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "routing/routing.hpp"

namespace parley::routing {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::Tx;

namespace {

bool IsWrapUp(const storage::EventRecord& e) {
  return e.direction == "note" && e.type == "wrap_up";
}

}  // namespace

Result<void> Routing::CheckWrapUp(Tx& tx, const ConversationRecord& c, const WrapUp& wrap) const {
  if (wrap.note && (wrap.note->empty() || wrap.note->size() > 2000))
    return Fail(Errc::kInvalidArgument, "invalid_note",
                "note must be 1-2000 characters (or left out).");
  storage::QueueRecord none;
  auto q = c.routing.queue ? tx.GetQueue(*c.routing.queue)
                           : Result<std::optional<storage::QueueRecord>>(std::nullopt);
  if (!q) return Fail(q.error());
  const storage::QueueRecord& queue = q->has_value() ? **q : none;
  if (!wrap.code && queue.wrap_up_required)
    return Fail(Errc::kInvalidArgument, "wrap_up_required",
                fmt::format("This queue needs a wrap-up code to end a chat: send \"wrap_up\" with "
                            "one of {}.",
                            fmt::join(queue.wrap_up_codes, ", ")));
  if (wrap.code && std::find(queue.wrap_up_codes.begin(), queue.wrap_up_codes.end(), *wrap.code) ==
                       queue.wrap_up_codes.end())
    return Fail(Errc::kInvalidArgument, "invalid_wrap_up",
                queue.wrap_up_codes.empty()
                    ? std::string("This queue has no wrap-up codes; send only a note.")
                    : fmt::format("wrap_up must be one of the queue's codes: {}.",
                                  fmt::join(queue.wrap_up_codes, ", ")));
  return {};
}

Result<void> Routing::RecordWrapUp(Tx& tx, ConversationRecord& c, const Actor& actor,
                                   const WrapUp& wrap, int64_t now) {
  storage::EventRecord e;
  e.conversation_id = c.id;
  e.position = ++c.last_position;
  e.connection_id = c.connection_id;
  e.direction = "note";  // for agents and admins; never delivered
  e.sender = "csr";
  e.csr_name = actor.display_name;
  e.type = "wrap_up";
  json::object payload{{"code", wrap.code ? json::value(*wrap.code) : json::value(nullptr)},
                       {"note", wrap.note ? json::value(*wrap.note) : json::value(nullptr)}};
  e.payload_json = json::serialize(payload);
  e.created_at_ms = now;
  return tx.InsertEvent(e);
}

Result<bool> Routing::WrapUpEnded(Tx& tx, const std::string& id, const Actor& actor,
                                  const WrapUp& wrap, int64_t now) {
  auto found = tx.GetConversation(id);
  if (!found) return Fail(found.error());
  if (!*found || (*found)->state != "ended") return false;
  ConversationRecord c = std::move(**found);
  if (c.routing.agent != actor.username)
    return Fail(Errc::kPermissionDenied, "forbidden",
                "Only the agent who had this chat can wrap it up.");
  if (c.ended_at_ms.value_or(0) + kWrapUpWindowMs < now)
    return Fail(Errc::kConflict, "wrap_up_closed",
                "A chat can be wrapped up for 10 minutes after it ended; this one ended earlier.");
  auto transcript = tx.Transcript(id);
  if (!transcript) return Fail(transcript.error());
  if (std::any_of(transcript->begin(), transcript->end(), IsWrapUp))
    return Fail(Errc::kConflict, "already_wrapped_up", "This chat has its wrap-up already.");
  auto checked = CheckWrapUp(tx, c, wrap);
  if (!checked) return Fail(checked.error());
  auto noted = RecordWrapUp(tx, c, actor, wrap, now);
  if (!noted) return Fail(noted.error());
  c.updated_at_ms = now;
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  return true;
}

Result<void> Routing::StartAfterChatWork(Tx& tx, const std::string& agent,
                                         const std::optional<std::string>& queue, int64_t now,
                                         Effects& fx) {
  if (!queue) return {};
  auto q = tx.GetQueue(*queue);
  if (!q) return Fail(q.error());
  if (!*q || (*q)->after_chat_work_s <= 0) return {};
  auto p = tx.GetPresence(agent);
  if (!p) return Fail(p.error());
  // An agent who is away stays away; one in after-chat work already gets the longer of the two.
  if (!*p || ((*p)->status != "available" && (*p)->status != "after_chat")) return {};
  storage::PresenceRecord presence = **p;
  int64_t until = now + (*q)->after_chat_work_s * 1000;
  presence.status = "after_chat";
  presence.ready_at_ms = std::max(until, presence.ready_at_ms.value_or(0));
  presence.updated_at_ms = now;
  auto put = SavePresence(tx, presence, now);
  if (!put) return Fail(put.error());
  return EmitStatus(tx, agent, now, fx);
}

Result<bool> Routing::AfterChatOver(Tx& tx, int64_t now, Effects& fx) {
  auto due = tx.ReadyDue(now, kSweepBatch);
  if (!due) return Fail(due.error());
  for (auto p : *due) {
    p.ready_at_ms.reset();
    bool back = p.status == "after_chat";
    if (back) p.status = "available";
    p.updated_at_ms = now;
    auto put = SavePresence(tx, p, now);
    if (!put) return Fail(put.error());
    if (!back) continue;
    auto sent = EmitStatus(tx, p.username, now, fx);
    if (!sent) return Fail(sent.error());
    auto user = tx.GetUser(p.username);
    if (!user) return Fail(user.error());
    if (*user)
      for (const auto& q : (*user)->queues) {
        auto offered = OfferWaiting(tx, q, now, fx);
        if (!offered) return Fail(offered.error());
      }
  }
  return due->size() >= kSweepBatch;
}

}  // namespace parley::routing

// What supervisors do on the floor (issue 19): monitor a chat, join it (barge in), take it over
// or reassign it, set an agent away or sign them out. Each action is written to the transcript
// as a system entry (direction "note": agents and supervisors see it, the customer never does).
#include <fmt/format.h>

#include <boost/json.hpp>

#include "core/clock.hpp"
#include "routing/routing.hpp"
#include "storage/records_json.hpp"

namespace parley::routing {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::Tx;

namespace {

Result<ConversationRecord> LoadOpen(Tx& tx, const std::string& id) {
  auto found = tx.GetConversation(id);
  if (!found) return Fail(found.error());
  if (!*found)
    return Fail(Errc::kNotFound, "conversation_not_found",
                "No conversation has this ID; list them with GET /api/v1/conversations.");
  if ((*found)->state == "ended")
    return Fail(Errc::kConflict, "conversation_ended",
                "This conversation has ended; nothing more can be done with it.");
  return std::move(**found);
}

std::string FillTarget(std::string text, const std::string& target) {
  const std::string token = "{target}";
  for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.replace(at, token.size(), target);
    at += target.size();
  }
  return text;
}

Failure NotActive() {
  return Fail(Errc::kConflict, "not_active",
              "This conversation is not with an agent; only a chat with an agent can be joined.");
}

}  // namespace

Result<void> Routing::ActionNote(Tx& tx, ConversationRecord& c, const std::string& text,
                                 int64_t now, Effects& fx) {
  storage::EventRecord e;
  e.conversation_id = c.id;
  e.position = ++c.last_position;
  e.connection_id = c.connection_id;
  e.direction = "note";  // delivery reads only "out": the customer never gets it
  e.sender = "system";
  e.type = "note";
  e.payload_json = json::serialize(json::object{{"text", text}});
  e.created_at_ms = now;
  auto inserted = tx.InsertEvent(e);
  if (!inserted) return Fail(inserted.error());
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  // The agent sees it at once; Emit passes it on to whoever watches the chat.
  if (c.state != "active" || !c.routing.agent) return {};
  return EmitConversation(tx, *c.routing.agent, "conversation.message", c,
                          json::object{{"entry", storage::EntryJson(e)}}, now, fx);
}

Result<ConversationRecord> Routing::Watch(Tx& tx, const std::string& id, const Actor& actor,
                                          bool join, int64_t now, Effects& fx) {
  auto loaded = LoadOpen(tx, id);
  if (!loaded) return Fail(loaded.error());
  ConversationRecord c = std::move(*loaded);
  if (join && c.state != "active") return NotActive();
  if (c.routing.agent == actor.username && c.state == "active")
    return Fail(Errc::kConflict, "already_yours",
                "This chat is yours already; there is nothing to monitor or join.");
  auto watchers = tx.Watchers(id);
  if (!watchers) return Fail(watchers.error());
  std::string mode = join ? "join" : "monitor";
  for (const auto& w : *watchers)
    if (w.username == actor.username && w.mode == mode) return c;  // again: nothing changes
  storage::WatcherRecord w{id, actor.username, mode, now};
  auto put = tx.PutWatcher(w);
  if (!put) return Fail(put.error());
  std::string text = join ? fmt::format("{} joined the chat; their messages go to the customer.",
                                        actor.display_name)
                          : fmt::format("{} is monitoring this chat.", actor.display_name);
  auto noted = ActionNote(tx, c, text, now, fx);
  if (!noted) return Fail(noted.error());
  return c;
}

Result<ConversationRecord> Routing::Unwatch(Tx& tx, const std::string& id, const Actor& actor,
                                            int64_t now, Effects& fx) {
  auto found = tx.GetConversation(id);
  if (!found) return Fail(found.error());
  if (!*found)
    return Fail(Errc::kNotFound, "conversation_not_found",
                "No conversation has this ID; list them with GET /api/v1/conversations.");
  ConversationRecord c = std::move(**found);
  auto watchers = tx.Watchers(id);
  if (!watchers) return Fail(watchers.error());
  std::optional<std::string> mode;
  for (const auto& w : *watchers)
    if (w.username == actor.username) mode = w.mode;
  if (!mode)
    return Fail(Errc::kConflict, "not_monitoring",
                "You are not monitoring or in this chat; nothing to stop.");
  auto deleted = tx.DeleteWatcher(id, actor.username);
  if (!deleted) return Fail(deleted.error());
  // The transcript of an ended chat still records that the supervisor left it.
  auto noted = ActionNote(tx, c,
                          *mode == "join"
                              ? fmt::format("{} left the chat.", actor.display_name)
                              : fmt::format("{} stopped monitoring this chat.", actor.display_name),
                          now, fx);
  if (!noted) return Fail(noted.error());
  return c;
}

Result<ConversationRecord> Routing::Speaking(Tx& tx, const std::string& id,
                                             const Actor& actor) const {
  auto owned = Owned(tx, id, actor);
  if (owned || owned.error().code != "forbidden") return owned;
  auto watchers = tx.Watchers(id);
  if (!watchers) return Fail(watchers.error());
  for (const auto& w : *watchers)
    if (w.username == actor.username && w.mode == "join") {
      auto found = tx.GetConversation(id);
      if (!found) return Fail(found.error());
      if (*found && (*found)->state == "active") return std::move(**found);
    }
  return owned;
}

Result<ConversationRecord> Routing::TransferAny(Tx& tx, const std::string& id, const Actor& actor,
                                                const TransferTarget& to, int64_t now,
                                                Effects& fx) {
  if (to.queue.has_value() == to.agent.has_value())
    return Fail(Errc::kInvalidArgument, "invalid_transfer",
                "Send either \"queue\" or \"agent\" (and an optional \"note\").");
  auto loaded = LoadOpen(tx, id);
  if (!loaded) return Fail(loaded.error());
  ConversationRecord c = std::move(*loaded);
  if (c.state == "active" && c.routing.agent == actor.username)
    return Transfer(tx, id, actor, to, now, fx);  // their own chat: the agents' transfer
  if (c.state != "active" && c.state != "queued")
    return Fail(Errc::kConflict, "not_waiting",
                "This conversation is with the assistant, not with a person or waiting for one.");
  std::string from = c.routing.agent.value_or("");
  if (to.agent && *to.agent == actor.username) {
    // Take over: the chat is the supervisor's at once, the agent loses it.
    auto noted =
        ActionNote(tx, c,
                   c.state == "active"
                       ? fmt::format("{} took over the chat from {}.", actor.display_name, from)
                       : fmt::format("{} took the waiting chat.", actor.display_name),
                   now, fx);
    if (!noted) return Fail(noted.error());
    if (c.state == "active") {
      auto removed = EmitConversation(tx, from, "conversation.removed", c,
                                      json::object{{"reason", "taken"}}, now, fx);
      if (!removed) return Fail(removed.error());
      fx.queues_changed.insert(c.routing.queue.value_or("default"));
    }
    auto assigned = Assign(tx, c, actor.username, now, fx);
    if (!assigned) return Fail(assigned.error());
    auto fresh = tx.GetConversation(id);
    if (!fresh) return Fail(fresh.error());
    return fresh->value_or(c);
  }
  std::string target = to.queue ? "queue " + *to.queue : *to.agent;
  auto noted = ActionNote(tx, c,
                          fmt::format("{} reassigned the chat to {}{}", actor.display_name, target,
                                      to.note ? ": " + *to.note : std::string(".")),
                          now, fx);
  if (!noted) return Fail(noted.error());
  if (c.state == "active") {
    // The agents' transfer, done for the owner: they are told the chat was transferred; the
    // note, if any, is the supervisor's.
    Actor owner{from, actor.display_name, {}, 0};
    return Transfer(tx, id, owner, to, now, fx);
  }
  // A waiting chat: the offer ringing for someone stops, and it goes where it is sent.
  if (c.routing.offered_to) {
    auto removed = EmitConversation(tx, *c.routing.offered_to, "conversation.removed", c,
                                    json::object{{"reason", "transferred"}}, now, fx);
    if (!removed) return Fail(removed.error());
    c.routing.offered_to.reset();
    c.routing.offer_expires_at_ms.reset();
  }
  std::string queue = to.queue.value_or(c.routing.queue.value_or("default"));
  std::string target_name;
  if (to.queue) {
    auto q = tx.GetQueue(*to.queue);
    if (!q) return Fail(q.error());
    if (!*q)
      return Fail(Errc::kNotFound, "queue_not_found",
                  "No queue has this name; list them with GET /api/v1/queues.");
    target_name = (*q)->display_name;
  } else {
    auto agent = Agent(tx, *to.agent);
    if (!agent && agent.error().errc == Errc::kNotFound)
      return Fail(Errc::kNotFound, "agent_not_found", "No agent has this username.");
    if (!agent) return Fail(agent.error());
    if (!agent->user.enabled || agent->status == "offline")
      return Fail(Errc::kConflict, "agent_unavailable",
                  "That agent is not signed in; transfer to a queue instead.");
    if (agent->chats + agent->offers >= agent->user.max_chats)
      return Fail(Errc::kConflict, "agent_at_capacity",
                  "That agent has no room for another chat; transfer to a queue instead.");
    target_name = agent->user.display_name;
  }
  c.routing.transfer_note = to.note;
  auto said = SayText(tx, c, FillTarget(settings_.texts.transfer_text, target_name), now, fx);
  if (!said) return Fail(said.error());
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  if (to.queue) {
    auto queued = Enqueue(tx, id, queue, now, fx, /*at_head=*/true);
    if (!queued) return Fail(queued.error());
  } else {
    c.routing.offered_to = *to.agent;
    c.routing.offer_expires_at_ms = now + settings_.offer_timeout_ms;
    c.updated_at_ms = now;
    saved = tx.UpdateConversation(c);
    if (!saved) return Fail(saved.error());
    auto offered = EmitConversation(
        tx, *to.agent, "conversation.offered", c,
        json::object{{"expires_at", FormatTimestamp(*c.routing.offer_expires_at_ms)}}, now, fx);
    if (!offered) return Fail(offered.error());
    fx.queues_changed.insert(queue);
  }
  auto fresh = tx.GetConversation(id);
  if (!fresh) return Fail(fresh.error());
  return fresh->value_or(c);
}

Result<AgentView> Routing::ForceStatus(Tx& tx, const std::string& username, const Actor& actor,
                                       const std::string& status,
                                       const std::optional<std::string>& reason, int64_t now,
                                       Effects& fx) {
  auto target = Agent(tx, username);
  if (!target && target.error().errc == Errc::kNotFound)
    return Fail(Errc::kNotFound, "agent_not_found", "No agent has this username.");
  if (!target) return Fail(target.error());
  auto set = SetStatus(tx, username, status, now, fx, reason);
  if (!set) return Fail(set.error());
  auto chats = tx.AgentConversations(username);
  if (!chats) return Fail(chats.error());
  std::string text = fmt::format("{} set {} {}{}.", actor.display_name, target->user.display_name,
                                 status, reason ? fmt::format(" ({})", *reason) : std::string());
  for (auto& c : *chats) {
    if (c.state != "active") continue;
    auto noted = ActionNote(tx, c, text, now, fx);
    if (!noted) return Fail(noted.error());
  }
  return set;
}

Result<AgentView> Routing::SignOut(Tx& tx, const std::string& username, const Actor& actor,
                                   int64_t now, Effects& fx) {
  auto target = Agent(tx, username);
  if (!target && target.error().errc == Errc::kNotFound)
    return Fail(Errc::kNotFound, "agent_not_found", "No agent has this username.");
  if (!target) return Fail(target.error());
  auto chats = tx.AgentConversations(username);
  if (!chats) return Fail(chats.error());
  std::string text =
      fmt::format("{} signed {} out.", actor.display_name, target->user.display_name);
  for (auto& c : *chats) {
    if (c.state != "active") continue;
    auto noted = ActionNote(tx, c, text, now, fx);
    if (!noted) return Fail(noted.error());
  }
  // Offline at once, as if their streams had closed agent_offline_after_s ago: their chats go
  // back to the head of their queues, offers move on.
  storage::PresenceRecord p = target->presence;
  p.username = username;
  p.online = false;
  p.streams = 0;
  p.offline_due_at_ms.reset();
  p.ready_at_ms.reset();
  p.updated_at_ms = now;
  auto put = SavePresence(tx, p, now);
  if (!put) return Fail(put.error());
  auto gone = AgentGone(tx, username, now, fx);
  if (!gone) return Fail(gone.error());
  auto ended = tx.DeleteUserSessions(username);
  if (!ended) return Fail(ended.error());
  auto sent = EmitStatus(tx, username, now, fx);
  if (!sent) return Fail(sent.error());
  return Agent(tx, username);
}

}  // namespace parley::routing

// Who gets a conversation: offers, acceptance (offer or pull), transfer, release and end.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "core/clock.hpp"
#include "routing/routing.hpp"
#include "routing/wait_time.hpp"
#include "routing/watchers.hpp"
#include "storage/records_json.hpp"

namespace parley::routing {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::Tx;

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Who declined the conversation or let it ring out, and from when each may be offered it again
// when nobody else can take it: a name alone (rang out: they were set away, so at once once they
// are back) or {"agent","until"} (declined: after offer_timeout).
std::map<std::string, int64_t> Declined(const ConversationRecord& c) {
  std::map<std::string, int64_t> out;
  boost::system::error_code ec;
  json::value v = json::parse(c.routing.declined_by_json, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array()) {
    if (x.is_string()) out[std::string(x.as_string())] = 0;
    const json::object* o = x.if_object();
    const json::value* agent = o ? o->if_contains("agent") : nullptr;
    const json::value* until = o ? o->if_contains("until") : nullptr;
    if (agent && agent->is_string() && until && until->is_int64())
      out[std::string(agent->as_string())] = until->as_int64();
  }
  return out;
}

std::string Fill(std::string text, std::string_view key, const std::string& value) {
  std::string token = fmt::format("{{{}}}", key);
  for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.replace(at, token.size(), value);
    at += value.size();
  }
  return text;
}

Failure NotFound() {
  return Fail(Errc::kNotFound, "conversation_not_found",
              "No conversation has this ID; list them with GET /api/v1/conversations.");
}

Failure Ended() {
  return Fail(Errc::kConflict, "conversation_ended",
              "This conversation has ended; nothing more can be done with it.");
}

Result<ConversationRecord> Load(Tx& tx, const std::string& id) {
  auto found = tx.GetConversation(id);
  if (!found) return Fail(found.error());
  if (!*found) return NotFound();
  return std::move(**found);
}

void ClearOffer(ConversationRecord& c) {
  c.routing.offered_to.reset();
  c.routing.offer_expires_at_ms.reset();
}

}  // namespace

Result<std::vector<AgentView>> Routing::Agents(Tx& tx) const {
  auto users = tx.ListUsers();
  if (!users) return Fail(users.error());
  auto presence = tx.ListPresence();
  if (!presence) return Fail(presence.error());
  std::map<std::string, storage::PresenceRecord> by_name;
  for (auto& p : *presence) by_name.emplace(p.username, std::move(p));
  std::vector<AgentView> out;
  for (auto& u : *users) {
    if (u.role != "agent" && u.queues.empty()) continue;  // admins who take no chats
    AgentView a;
    a.user = std::move(u);
    auto it = by_name.find(a.user.username);
    if (it != by_name.end()) a.presence = std::move(it->second);
    a.presence.username = a.user.username;
    a.status = a.presence.online ? a.presence.status : "offline";
    a.chats = a.presence.chats;
    a.offers = a.presence.offers;
    out.push_back(std::move(a));
  }
  return out;
}

Result<AgentView> Routing::Agent(Tx& tx, const std::string& username) const {
  auto user = tx.GetUser(username);
  if (!user) return Fail(user.error());
  if (!*user) return Fail(Errc::kNotFound, "user_not_found", "No user has this username.");
  AgentView a;
  a.user = std::move(**user);
  auto p = tx.GetPresence(username);
  if (!p) return Fail(p.error());
  a.presence.username = username;
  if (*p) a.presence = **p;
  a.status = a.presence.online ? a.presence.status : "offline";
  a.chats = a.presence.chats;
  a.offers = a.presence.offers;
  return a;
}

Result<void> Routing::EmitConversation(Tx& tx, const std::string& agent, const std::string& type,
                                       const ConversationRecord& c, json::object extra, int64_t now,
                                       Effects& fx) {
  extra["conversation"] = storage::ConversationJson(c);
  return Emit(tx, agent, type, std::move(extra), now, fx);
}

Result<void> Routing::EmitStatus(Tx& tx, const std::string& username, int64_t now, Effects& fx) {
  auto view = Agent(tx, username);
  if (!view) return Fail(view.error());
  json::object agent = ToJson(*view);
  auto admins = tx.Admins();
  if (!admins) return Fail(admins.error());
  if (!Contains(*admins, username)) admins->push_back(username);
  for (const auto& to : *admins) {
    auto sent = Emit(tx, to, "agent.status", json::object{{"agent", agent}}, now, fx);
    if (!sent) return Fail(sent.error());
  }
  for (const auto& q : view->user.queues) fx.queues_changed.insert(q);
  return {};
}

Result<void> Routing::SayText(Tx& tx, ConversationRecord& c, const std::string& text, int64_t now,
                              Effects& fx) {
  channel::TextBody body;
  body.text = {text};
  auto said = speaker_.Say(tx, c, std::move(body), channel::Sender::kSystem, std::nullopt, now, fx);
  if (!said) return Fail(said.error());
  return {};
}

Result<std::optional<std::string>> Routing::PickAgent(Tx& tx, const std::string& queue,
                                                      const ConversationRecord& c,
                                                      int64_t now) const {
  std::map<std::string, int64_t> declined = Declined(c);
  // Agents who let this conversation ring out or declined it are asked again only when nobody
  // else can take it (one who let it ring was set away; once they are available again the
  // customer is not left waiting; one who declined not before their offer would have rung out).
  // The ready agents come idle longest first, so one more than the decliners always holds the
  // best other agent when there is one.
  auto ready = tx.ReadyAgents(queue, declined.size() + 1);
  if (!ready) return Fail(ready.error());
  for (const auto& name : *ready)
    if (!declined.contains(name)) return std::optional<std::string>(name);
  for (const auto& name : *ready)
    if (declined[name] <= now) return std::optional<std::string>(name);
  return std::optional<std::string>();
}

Result<void> Routing::OfferWaiting(Tx& tx, const std::string& queue, int64_t now, Effects& fx) {
  // With nobody ready (every customer of a busy morning joins so) nothing is read further.
  auto anyone = tx.ReadyAgents(queue, 1);
  if (!anyone) return Fail(anyone.error());
  if (anyone->empty()) return {};
  auto q = tx.GetQueue(queue);
  if (!q) return Fail(q.error());
  bool auto_accept = *q && (*q)->auto_accept;
  // Each turn gives the first customer nobody is offered to the best ready agent; it ends when
  // either runs out (an offer or an assignment takes the agent's room, so the ready set moves).
  for (size_t turns = 0; turns < kOfferTurns; ++turns) {
    auto next = tx.NextToOffer(queue);
    if (!next) return Fail(next.error());
    if (!*next) break;
    ConversationRecord c = std::move(**next);
    auto picked = PickAgent(tx, queue, c, now);
    if (!picked) return Fail(picked.error());
    if (!*picked) break;
    const std::string& username = **picked;
    if (auto_accept) {
      auto assigned = Assign(tx, std::move(c), username, now, fx);
      if (!assigned) return Fail(assigned.error());
      continue;
    }
    c.routing.offered_to = username;
    c.routing.offer_expires_at_ms = now + settings_.offer_timeout_ms;
    auto saved = tx.UpdateConversation(c);
    if (!saved) return Fail(saved.error());
    storage::QueueOutcome counted;
    counted.day = Day(now);
    counted.offers = 1;
    auto count = tx.CountQueueOutcome(queue, counted);
    if (!count) return Fail(count.error());
    auto sent = EmitConversation(
        tx, username, "conversation.offered", c,
        json::object{{"expires_at", FormatTimestamp(*c.routing.offer_expires_at_ms)}}, now, fx);
    if (!sent) return Fail(sent.error());
  }
  return {};
}

Result<void> Routing::CountAnswered(Tx& tx, const ConversationRecord& c, const std::string& agent,
                                    int64_t now) {
  if (!c.routing.queue) return {};
  auto q = tx.GetQueue(*c.routing.queue);
  if (!q) return Fail(q.error());
  int64_t sl_s = *q ? (*q)->service_level_s : storage::QueueRecord{}.service_level_s;
  int64_t wait_ms = now - c.routing.queued_at_ms.value_or(now);
  storage::QueueOutcome counted;
  counted.day = Day(now);
  counted.answered = 1;
  counted.answered_in_sl = wait_ms <= sl_s * 1000 ? 1 : 0;
  counted.wait_ms = std::max<int64_t>(0, wait_ms);
  auto count = tx.CountQueueOutcome(*c.routing.queue, counted);
  if (!count) return Fail(count.error());
  return RecordFact(tx, "answered", *c.routing.queue, agent, c.id, now, wait_ms, std::nullopt,
                    sl_s);
}

Result<void> Routing::CountEnded(Tx& tx, const ConversationRecord& before, int64_t now) {
  if (!before.routing.queue) return {};
  if (before.state == "queued") {
    storage::QueueOutcome counted;
    counted.day = Day(now);
    counted.abandoned = 1;
    auto count = tx.CountQueueOutcome(*before.routing.queue, counted);
    if (!count) return Fail(count.error());
    return RecordFact(tx, "abandoned", *before.routing.queue, std::nullopt, before.id, now,
                      now - before.routing.queued_at_ms.value_or(now));
  }
  if (before.state == "active" && before.routing.assigned_at_ms) {
    int64_t handle_ms = std::max<int64_t>(0, now - *before.routing.assigned_at_ms);
    // Today's handle times, of the queue and of the agent (the wallboard's averages).
    storage::QueueOutcome counted;
    counted.day = Day(now);
    counted.handled = 1;
    counted.handle_ms = handle_ms;
    auto today = tx.CountQueueOutcome(*before.routing.queue, counted);
    if (!today) return Fail(today.error());
    if (before.routing.agent) {
      auto mine = CountAgentToday(tx, *before.routing.agent, now, 0, handle_ms);
      if (!mine) return Fail(mine.error());
    }
    auto sampled =
        tx.AddHandleSample(*before.routing.queue, handle_ms, static_cast<int64_t>(kHandleSamples));
    if (!sampled) return Fail(sampled.error());
    return RecordFact(tx, "ended", *before.routing.queue, before.routing.agent, before.id, now,
                      std::nullopt, handle_ms);
  }
  return {};
}

Result<void> Routing::Assign(Tx& tx, ConversationRecord c, const std::string& agent, int64_t now,
                             Effects& fx) {
  auto user = tx.GetUser(agent);
  if (!user) return Fail(user.error());
  if (!*user) return Fail(Errc::kNotFound, "user_not_found", "No user has this username.");
  if (c.routing.offered_to && *c.routing.offered_to != agent) {
    auto sent = EmitConversation(tx, *c.routing.offered_to, "conversation.removed", c,
                                 json::object{{"reason", "taken"}}, now, fx);
    if (!sent) return Fail(sent.error());
  }
  auto answered = CountAnswered(tx, c, agent, now);
  if (!answered) return Fail(answered.error());
  c.state = "active";
  c.owner = "agent:" + agent;
  c.routing.agent = agent;
  c.routing.assigned_at_ms = now;
  ClearOffer(c);
  c.routing.declined_by_json = "[]";
  c.routing.transfer_note.reset();  // it belonged to the transfer; the transcript keeps it
  c.routing.idle_reminded = false;
  c.routing.wait_sent_at_ms.reset();
  c.routing.wait_position.reset();
  c.routing.wait_estimate_s.reset();
  c.routing.wait_check_at_ms.reset();
  // The idle timers count from the moment a person is there, not from the wait.
  c.last_customer_at_ms = std::max(c.last_customer_at_ms, now);
  c.updated_at_ms = now;
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());

  auto presence = tx.GetPresence(agent);
  if (!presence) return Fail(presence.error());
  storage::PresenceRecord p = presence->value_or(storage::PresenceRecord{});
  p.username = agent;
  p.last_assigned_at_ms = now;
  p.updated_at_ms = now;
  AddAgentToday(p, now, 1, std::nullopt);
  auto put = SavePresence(tx, p, now);
  if (!put) return Fail(put.error());

  auto sent = EmitConversation(tx, agent, "conversation.assigned", c, {}, now, fx);
  if (!sent) return Fail(sent.error());
  auto said = SayText(
      tx, c, Fill(settings_.texts.assigned_text, "display_name", (*user)->display_name), now, fx);
  if (!said) return Fail(said.error());
  saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  if (c.routing.queue) fx.queues_changed.insert(*c.routing.queue);
  return {};
}

Result<bool> Routing::Escalate(Tx& tx, const std::string& id, const std::string& queue, int64_t now,
                               Effects& fx) {
  auto loaded = Load(tx, id);
  if (!loaded) return Fail(loaded.error());
  return Route(tx, *loaded, queue, now, fx, /*written=*/true);
}

Result<bool> Routing::EscalateNew(Tx& tx, ConversationRecord& fresh, const std::string& queue,
                                  int64_t now, Effects& fx) {
  return Route(tx, fresh, queue, now, fx, /*written=*/false);
}

Result<bool> Routing::Route(Tx& tx, ConversationRecord& c, const std::string& queue, int64_t now,
                            Effects& fx, bool written) {
  auto ensured = EnsureQueue(tx, queue, queue, now);
  if (!ensured) return Fail(ensured.error());
  // Only a queue with max_wait_s can turn a customer away.
  auto record = tx.GetQueue(queue);
  if (!record) return Fail(record.error());
  bool may_refuse = *record && ((*record)->max_wait_s || (*record)->hours_json);
  auto view = may_refuse ? Queue(tx, queue, now) : Result<QueueView>(QueueView{});
  if (!view) return Fail(view.error());
  if (may_refuse && (!view->accepting || !view->open)) {
    c.state = "bot";
    c.owner = "bot";
    c.routing.queue = queue;
    auto said = SayText(tx, c, ClosedText(view->queue, now), now, fx);
    if (!said) return Fail(said.error());
    auto saved = written ? tx.UpdateConversation(c) : tx.InsertConversation(c);
    if (!saved) return Fail(saved.error());
    return false;
  }
  auto queued = Queued(tx, c, queue, now, fx, /*at_head=*/false, written);
  if (!queued) return Fail(queued.error());
  return true;
}

Result<void> Routing::Enqueue(Tx& tx, const std::string& id, const std::string& queue, int64_t now,
                              Effects& fx, bool at_head) {
  auto ensured = EnsureQueue(tx, queue, queue, now);
  if (!ensured) return Fail(ensured.error());
  auto loaded = Load(tx, id);
  if (!loaded) return Fail(loaded.error());
  return Queued(tx, *loaded, queue, now, fx, at_head, /*written=*/true);
}

Result<void> Routing::Queued(Tx& tx, ConversationRecord& c, const std::string& queue, int64_t now,
                             Effects& fx, bool at_head, bool written) {
  auto key = tx.NextQueueKey(queue, at_head);
  if (!key) return Fail(key.error());
  // The first wait_time goes out at once. The customer is not counted yet, and a new key lies
  // past every key of the queue (the tail) or before every one (the head): the whole queue or
  // nobody is ahead of them, with nothing to count. One save records it all.
  auto view = QueueCounts(tx, queue, now);
  if (!view) return Fail(view.error());
  c.routing.queue = queue;
  c.routing.qkey = *key;
  auto wait = WaitWith(*view, at_head ? 0 : view->waiting);
  c.state = "queued";
  c.owner = "queue:" + queue;
  c.routing.agent.reset();
  c.routing.queued_at_ms = now;  // this wait starts now (its length counts for the service level)
  ClearOffer(c);
  c.routing.declined_by_json = "[]";
  c.routing.idle_reminded = false;
  c.updated_at_ms = now;
  auto told = TellWait(tx, c, *view, wait.first, wait.second, now, fx);
  if (!told) return Fail(told.error());
  c.routing.wait_version = view->version;
  // A conversation not written yet (a new customer of a connection without a bot) is inserted
  // already waiting: one write instead of an insert with the bot and an update (migration 0015).
  auto saved = written ? tx.UpdateConversation(c) : tx.InsertConversation(c);
  if (!saved) return Fail(saved.error());
  auto fact = RecordFact(tx, "offered", queue, std::nullopt, c.id, now);
  if (!fact) return Fail(fact.error());
  fx.queues_changed.insert(queue);
  return OfferWaiting(tx, queue, now, fx);
}

Result<ConversationRecord> Routing::Accept(Tx& tx, const std::string& id, const Actor& actor,
                                           int64_t now, Effects& fx) {
  auto loaded = Load(tx, id);
  if (!loaded) return Fail(loaded.error());
  ConversationRecord c = std::move(*loaded);
  if (c.state == "ended") return Ended();
  if (c.state == "active") {
    if (c.routing.agent == actor.username) return c;
    return Fail(Errc::kConflict, "conversation_taken", "Another agent has this conversation.");
  }
  if (c.state != "queued")
    return Fail(Errc::kConflict, "not_waiting",
                "This conversation is with the assistant, not waiting for a person.");
  std::string queue = c.routing.queue.value_or("default");
  bool offered_to_me = c.routing.offered_to == actor.username;
  if (!offered_to_me && !Contains(actor.queues, queue))
    return Fail(Errc::kPermissionDenied, "forbidden",
                "This conversation waits in a queue you are not in.");
  // The load is kept as data: active chats and offers ringing, this one aside.
  auto presence = tx.GetPresence(actor.username);
  if (!presence) return Fail(presence.error());
  int64_t load = 0;
  if (*presence) load = (*presence)->chats + (*presence)->offers - (offered_to_me ? 1 : 0);
  if (load >= actor.max_chats)
    return Fail(Errc::kConflict, "at_capacity",
                fmt::format("You have {} chats, your maximum; end one first.", actor.max_chats));
  if (offered_to_me && c.routing.offer_expires_at_ms)
    fx.offer_made_at_ms = *c.routing.offer_expires_at_ms - settings_.offer_timeout_ms;
  auto assigned = Assign(tx, c, actor.username, now, fx);
  if (!assigned) return Fail(assigned.error());
  auto offered = OfferWaiting(tx, queue, now, fx);
  if (!offered) return Fail(offered.error());
  return Load(tx, id);
}

Result<ConversationRecord> Routing::Owned(Tx& tx, const std::string& id, const Actor& actor) const {
  auto loaded = Load(tx, id);
  if (!loaded) return Fail(loaded.error());
  if (loaded->state == "ended") return Ended();
  if (loaded->state != "active" || loaded->routing.agent != actor.username)
    return Fail(Errc::kPermissionDenied, "forbidden",
                "This conversation is not yours; accept it first.");
  return loaded;
}

Result<ConversationRecord> Routing::Transfer(Tx& tx, const std::string& id, const Actor& actor,
                                             const TransferTarget& to, int64_t now, Effects& fx) {
  if (to.queue.has_value() == to.agent.has_value())
    return Fail(Errc::kInvalidArgument, "invalid_transfer",
                "Send either \"queue\" or \"agent\" (and an optional \"note\").");
  if (to.note && to.note->size() > 2000)
    return Fail(Errc::kInvalidArgument, "invalid_note", "note must be at most 2000 characters.");
  auto owned = Owned(tx, id, actor);
  if (!owned) return Fail(owned.error());
  ConversationRecord c = std::move(*owned);
  std::string target_name;
  std::string queue = c.routing.queue.value_or("default");
  if (to.queue) {
    auto q = tx.GetQueue(*to.queue);
    if (!q) return Fail(q.error());
    if (!*q)
      return Fail(Errc::kNotFound, "queue_not_found",
                  "No queue has this name; list them with GET /api/v1/queues.");
    target_name = (*q)->display_name;
    queue = *to.queue;
  } else {
    if (*to.agent == actor.username)
      return Fail(Errc::kInvalidArgument, "invalid_transfer",
                  "You already have this conversation.");
    auto target = Agent(tx, *to.agent);
    if (!target && target.error().errc == Errc::kNotFound)
      return Fail(Errc::kNotFound, "agent_not_found", "No agent has this username.");
    if (!target) return Fail(target.error());
    if (!target->user.enabled || target->status == "offline")
      return Fail(Errc::kConflict, "agent_unavailable",
                  "That agent is not signed in; transfer to a queue instead.");
    if (target->chats + target->offers >= target->user.max_chats)
      return Fail(Errc::kConflict, "agent_at_capacity",
                  "That agent has no room for another chat; transfer to a queue instead.");
    target_name = target->user.display_name;
  }
  auto said = SayText(tx, c, Fill(settings_.texts.transfer_text, "target", target_name), now, fx);
  if (!said) return Fail(said.error());
  auto fact = RecordFact(tx, "transferred", c.routing.queue.value_or("default"), actor.username,
                         c.id, now, std::nullopt, now - c.routing.assigned_at_ms.value_or(now));
  if (!fact) return Fail(fact.error());
  c.routing.transfer_note = to.note;
  if (to.note) {
    auto noted = SystemNote(
        tx, c, fmt::format("Transfer note from {}: {}", actor.display_name, *to.note), now);
    if (!noted) return Fail(noted.error());
  }
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  auto removed = EmitConversation(tx, actor.username, "conversation.removed", c,
                                  json::object{{"reason", "transferred"}}, now, fx);
  if (!removed) return Fail(removed.error());
  if (to.queue) {
    auto queued = Enqueue(tx, id, queue, now, fx, /*at_head=*/true);
    if (!queued) return Fail(queued.error());
    return Load(tx, id);
  }
  // To an agent: it waits in its queue, offered to that agent first; if the offer rings out it
  // goes to whoever the queue offers it to next.
  auto head = tx.NextQueueKey(queue, /*at_head=*/true);
  if (!head) return Fail(head.error());
  c.state = "queued";
  c.owner = "queue:" + queue;
  c.routing.queue = queue;
  c.routing.agent.reset();
  // At the head of the queue, should the offer ring out.
  c.routing.qkey = *head;
  c.routing.queued_at_ms = now;
  c.routing.wait_check_at_ms = now + settings_.wait_time_interval_ms;
  c.routing.offered_to = *to.agent;
  c.routing.offer_expires_at_ms = now + settings_.offer_timeout_ms;
  c.routing.declined_by_json = "[]";
  c.updated_at_ms = now;
  saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  auto joined = RecordFact(tx, "offered", queue, std::nullopt, c.id, now);
  if (!joined) return Fail(joined.error());
  auto offered = EmitConversation(
      tx, *to.agent, "conversation.offered", c,
      json::object{{"expires_at", FormatTimestamp(*c.routing.offer_expires_at_ms)}}, now, fx);
  if (!offered) return Fail(offered.error());
  fx.queues_changed.insert(queue);
  return c;
}

Result<ConversationRecord> Routing::Release(Tx& tx, const std::string& id, const Actor& actor,
                                            int64_t now, Effects& fx) {
  auto owned = Owned(tx, id, actor);
  if (!owned) return Fail(owned.error());
  ConversationRecord c = std::move(*owned);
  c.state = "bot";
  c.owner = "bot";
  c.routing.agent.reset();
  c.dialog_state_json.reset();  // the assistant starts afresh
  c.last_customer_at_ms = std::max(c.last_customer_at_ms, now);
  c.routing.idle_reminded = false;
  auto said = SayText(tx, c, settings_.texts.released_text, now, fx);
  if (!said) return Fail(said.error());
  c.updated_at_ms = now;
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  auto removed = EmitConversation(tx, actor.username, "conversation.removed", c,
                                  json::object{{"reason", "released"}}, now, fx);
  if (!removed) return Fail(removed.error());
  if (c.routing.queue) fx.queues_changed.insert(*c.routing.queue);
  return c;
}

Result<ConversationRecord> Routing::End(Tx& tx, const std::string& id, const Actor& actor,
                                        int64_t now, Effects& fx) {
  return End(tx, id, actor, WrapUp{}, now, fx);
}

Result<ConversationRecord> Routing::End(Tx& tx, const std::string& id, const Actor& actor,
                                        const WrapUp& wrap, int64_t now, Effects& fx) {
  if (!wrap.empty()) {
    auto late = WrapUpEnded(tx, id, actor, wrap, now);
    if (!late) return Fail(late.error());
    if (*late) return Load(tx, id);
  }
  auto owned = Owned(tx, id, actor);
  if (!owned) return Fail(owned.error());
  ConversationRecord c = std::move(*owned);
  auto checked = CheckWrapUp(tx, c, wrap);
  if (!checked) return Fail(checked.error());
  // With the queue's survey on, the customer is asked first and csr_end_session follows it.
  auto survey = SurveyWanted(tx, c);
  if (!survey) return Fail(survey.error());
  if (!*survey) {
    auto said = speaker_.Say(tx, c, channel::CsrEndSessionBody{}, channel::Sender::kCsr,
                             actor.display_name, now, fx);
    if (!said) return Fail(said.error());
  }
  if (!wrap.empty()) {
    auto noted = RecordWrapUp(tx, c, actor, wrap, now);
    if (!noted) return Fail(noted.error());
  }
  auto counted = CountEnded(tx, c, now);
  if (!counted) return Fail(counted.error());
  c.state = "ended";
  c.ended_at_ms = now;
  c.routing.ended_by = "agent";
  c.updated_at_ms = now;
  if (*survey) {
    auto asked = StartSurvey(tx, c, now, fx);
    if (!asked) return Fail(asked.error());
    c.ended_at_ms.reset();
    c.routing.ended_by.reset();
  }
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  auto ended = EmitConversation(tx, actor.username, "conversation.ended", c,
                                json::object{{"by", "agent"}}, now, fx);
  if (!ended) return Fail(ended.error());
  auto let_go = DropWatchers(tx, c.id);
  if (!let_go) return Fail(let_go.error());
  if (c.routing.queue) fx.queues_changed.insert(*c.routing.queue);
  auto after = StartAfterChatWork(tx, actor.username, c.routing.queue, now, fx);
  if (!after) return Fail(after.error());
  auto offered = OfferWaiting(tx, c.routing.queue.value_or("default"), now, fx);
  if (!offered) return Fail(offered.error());
  return c;
}

Result<void> Routing::CustomerMessage(Tx& tx, const ConversationRecord& conv,
                                      const storage::EventRecord& entry, int64_t now, Effects& fx) {
  if (conv.state != "active" || !conv.routing.agent) return {};
  return EmitConversation(tx, *conv.routing.agent, "conversation.message", conv,
                          json::object{{"entry", storage::EntryJson(entry)}}, now, fx);
}

Result<void> Routing::CustomerTyping(Tx& tx, const ConversationRecord& conv, int64_t now,
                                     Effects& fx) {
  if (conv.state != "active" || !conv.routing.agent) return {};
  return EmitConversation(tx, *conv.routing.agent, "conversation.typing", conv,
                          json::object{{"on", true}}, now, fx);
}

Result<void> Routing::ConversationEnded(Tx& tx, const ConversationRecord& before,
                                        const std::string& by, int64_t now, Effects& fx) {
  auto after = Load(tx, before.id);
  if (!after) return Fail(after.error());
  if (before.routing.queue && (before.state == "queued" || before.state == "active"))
    fx.queues_changed.insert(*before.routing.queue);
  auto counted = CountEnded(tx, before, now);
  if (!counted) return Fail(counted.error());
  std::optional<std::string> agent =
      before.state == "active" ? before.routing.agent : before.routing.offered_to;
  if (agent) {
    auto sent = EmitConversation(tx, *agent, "conversation.ended", *after, json::object{{"by", by}},
                                 now, fx);
    if (!sent) return Fail(sent.error());
  }
  auto let_go = DropWatchers(tx, before.id);
  if (!let_go) return Fail(let_go.error());
  if (before.state == "active" && before.routing.agent) {
    auto after = StartAfterChatWork(tx, *before.routing.agent, before.routing.queue, now, fx);
    if (!after) return Fail(after.error());
  }
  if (before.state == "active" && before.routing.queue)
    return OfferWaiting(tx, *before.routing.queue, now, fx);
  return {};
}

}  // namespace parley::routing

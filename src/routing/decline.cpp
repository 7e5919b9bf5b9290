// Declining an offer, the offers ringing for an agent, the agents of a queue, what a waiting
// customer is told of their wait, and the system's notes in a transcript.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "routing/routing.hpp"
#include "storage/records_json.hpp"

namespace parley::routing {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::Tx;

namespace {

std::string FillPosition(std::string text, int64_t position) {
  const std::string token = "{position}";
  std::string value = std::to_string(position);
  for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.replace(at, token.size(), value);
    at += value.size();
  }
  return text;
}

}  // namespace

Result<void> Routing::SystemNote(Tx& tx, ConversationRecord& conv, const std::string& text,
                                 int64_t now) {
  storage::EventRecord e;
  e.conversation_id = conv.id;
  e.position = ++conv.last_position;
  e.connection_id = conv.connection_id;
  e.direction = "note";  // delivery reads only "out": the customer never gets it
  e.sender = "system";
  e.type = "note";
  e.payload_json = json::serialize(json::object{{"text", text}});
  e.created_at_ms = now;
  return tx.InsertEvent(e);
}

Result<ConversationRecord> Routing::Decline(Tx& tx, const std::string& id, const Actor& actor,
                                            const std::optional<std::string>& reason, int64_t now,
                                            Effects& fx) {
  auto found = tx.GetConversation(id);
  if (!found) return Fail(found.error());
  if (!*found)
    return Fail(Errc::kNotFound, "conversation_not_found",
                "No conversation has this ID; list them with GET /api/v1/conversations.");
  ConversationRecord c = std::move(**found);
  if (c.state == "ended")
    return Fail(Errc::kConflict, "conversation_ended",
                "This conversation has ended; nothing more can be done with it.");
  if (c.state != "queued" || c.routing.offered_to != actor.username)
    return Fail(Errc::kConflict, "not_offered",
                "No offer of this conversation rings for you (it was taken, moved on or never "
                "offered to you); nothing to decline.");
  std::string queue = c.routing.queue.value_or("default");
  // Kept with when the decliner may be offered it again, should nobody else take it.
  json::value declined = json::parse(c.routing.declined_by_json);
  json::array kept;
  if (declined.is_array())
    for (auto& x : declined.as_array()) {
      const json::object* o = x.if_object();
      const json::value* agent = o ? o->if_contains("agent") : nullptr;
      bool same = (x.is_string() && x.as_string() == actor.username) ||
                  (agent && agent->is_string() && agent->as_string() == actor.username);
      if (!same) kept.push_back(x);
    }
  kept.push_back(
      json::object{{"agent", actor.username}, {"until", now + settings_.offer_timeout_ms}});
  c.routing.declined_by_json = json::serialize(kept);
  c.routing.offered_to.reset();
  c.routing.offer_expires_at_ms.reset();
  if (reason) {
    auto noted = SystemNote(
        tx, c, fmt::format("{} let the offer pass: {}", actor.display_name, *reason), now);
    if (!noted) return Fail(noted.error());
  }
  c.updated_at_ms = now;
  auto saved = tx.UpdateConversation(c);
  if (!saved) return Fail(saved.error());
  // Their other tabs drop the offer too.
  auto removed =
      Emit(tx, actor.username, "conversation.removed",
           json::object{{"reason", "declined"}, {"conversation", storage::ConversationJson(c)}},
           now, fx);
  if (!removed) return Fail(removed.error());
  storage::QueueOutcome counted;
  counted.day = Day(now);
  counted.offers_declined = 1;
  auto count = tx.CountQueueOutcome(queue, counted);
  if (!count) return Fail(count.error());
  spdlog::info("{} declined the offer of conversation {}; it moves on", actor.username, c.id);
  fx.queues_changed.insert(queue);
  auto offered = OfferWaiting(tx, queue, now, fx);
  if (!offered) return Fail(offered.error());
  auto fresh = tx.GetConversation(id);
  if (!fresh) return Fail(fresh.error());
  return fresh->value_or(c);
}

Result<std::vector<ConversationRecord>> Routing::Offers(Tx& tx, const std::string& username) const {
  auto mine = tx.AgentConversations(username);
  if (!mine) return Fail(mine.error());
  std::vector<ConversationRecord> out;
  for (auto& c : *mine)
    if (c.state == "queued" && c.routing.offered_to == username && c.routing.offer_expires_at_ms)
      out.push_back(std::move(c));
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return *a.routing.offer_expires_at_ms < *b.routing.offer_expires_at_ms;
  });
  return out;
}

Result<std::vector<AgentView>> Routing::QueueAgents(Tx& tx, const std::string& queue) const {
  auto members = tx.QueueMembers(queue);
  if (!members) return Fail(members.error());
  // A queue agents are in counts even before its record exists (it is made when first used).
  if (members->empty()) {
    auto q = tx.GetQueue(queue);
    if (!q) return Fail(q.error());
    if (!*q)
      return Fail(Errc::kNotFound, "queue_not_found",
                  "No queue has this name; list them with GET /api/v1/queues.");
  }
  std::vector<AgentView> out;
  out.reserve(members->size());
  for (const auto& username : *members) {
    auto view = Agent(tx, username);
    if (!view && view.error().errc == Errc::kNotFound) continue;
    if (!view) return Fail(view.error());
    out.push_back(std::move(*view));
  }
  return out;
}

Result<void> Routing::TellWait(Tx& tx, ConversationRecord& c, const QueueView& view,
                               int64_t position, int64_t estimate, int64_t now, Effects& fx) {
  const std::string& nobody_text =
      view.queue.no_agents_text.value_or(settings_.texts.no_agents_text);
  if (view.nobody_there && !nobody_text.empty()) {  // "" (a config's choice) turns it off
    channel::TextBody body;
    body.text = {FillPosition(nobody_text, position)};
    auto said =
        speaker_.Say(tx, c, std::move(body), channel::Sender::kSystem, std::nullopt, now, fx);
    if (!said) return Fail(said.error());
    c.routing.wait_estimate_s = kNoAgentsSent;
  } else {
    auto said = speaker_.Say(tx, c, channel::WaitTimeBody{estimate, position},
                             channel::Sender::kSystem, std::nullopt, now, fx);
    if (!said) return Fail(said.error());
    c.routing.wait_estimate_s = estimate;
  }
  c.routing.wait_sent_at_ms = now;
  c.routing.wait_position = position;
  c.routing.wait_check_at_ms = now + settings_.wait_time_interval_ms;
  return {};
}

}  // namespace parley::routing

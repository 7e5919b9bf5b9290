#include "conversation/context.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "core/clock.hpp"

namespace parley::conversation {
namespace json = boost::json;

namespace {

json::value OptText(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// Not ParseObject: conversation_service.cpp has a helper of that name in this namespace, and
// the sanitizer build's unity batches compile both files as one translation unit.
json::object ObjectFromText(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

std::string JoinedText(const json::object& payload) {
  const json::value* text = payload.if_contains("text");
  if (!text || !text->is_array()) return "";
  std::string out;
  for (const auto& line : text->as_array())
    if (line.is_string()) out += (out.empty() ? "" : " ") + std::string(line.as_string());
  return out;
}

// Why the customer reached a person: the last thing the bot took a customer message as before
// the conversation first waited for a person. A tapped "talk to a person" item or an intent
// that hands over both count; with no bot, the channel sends everyone straight to a person.
json::object Handover(const ContextInput& in) {
  const storage::EventRecord* last = nullptr;
  for (const auto& e : in.transcript) {
    if (e.direction == "out" && e.type == "wait_time") break;  // the wait began
    if (e.direction == "in" && e.type == "text") last = &e;
  }
  json::object payload = last ? ObjectFromText(last->payload_json) : json::object();
  std::string said = JoinedText(payload);
  json::object out;
  const json::value* bot = payload.if_contains("bot");
  const json::object* note = bot ? bot->if_object() : nullptr;
  const json::value* kind = note ? note->if_contains("kind") : nullptr;
  const json::value* intent = note ? note->if_contains("intent") : nullptr;
  if (in.connection && in.connection->bot == "none") {
    out["reason"] = "no_bot";
  } else if (!last) {
    out["reason"] = "unknown";
  } else if (kind && kind->is_string() && kind->as_string() == "intent" && intent &&
             intent->is_string() && !intent->as_string().empty()) {
    out["reason"] = "intent";
    out["intent"] = intent->as_string();
  } else {
    out["reason"] = "asked_for_person";
  }
  if (!said.empty()) out["text"] = said;
  return out;
}

}  // namespace

json::object CustomerContext(const ContextInput& in) {
  const storage::ConversationRecord& c = in.conversation;
  json::object o;
  o["conversation_id"] = c.id;
  o["customer"] = json::object{{"id", c.customer_id}, {"name", OptText(c.customer_name)}};
  if (in.connection)
    o["connection"] = json::object{
        {"id", in.connection->id}, {"name", in.connection->name}, {"bot", in.connection->bot}};
  else
    o["connection"] = json::object{{"id", c.connection_id}, {"name", nullptr}, {"bot", nullptr}};
  o["queue"] = OptText(c.routing.queue);
  // The wait so far, or the wait it had until an agent took it.
  json::value waited = nullptr;
  if (c.routing.queued_at_ms) {
    int64_t until = c.state == "queued" ? in.now_ms : c.routing.assigned_at_ms.value_or(in.now_ms);
    waited = std::max<int64_t>(0, (until - *c.routing.queued_at_ms) / 1000);
  }
  o["waited_s"] = waited;
  o["handover"] = Handover(in);
  json::object state = c.dialog_state_json ? ObjectFromText(*c.dialog_state_json) : json::object();
  const json::value* slots = state.if_contains("slots");
  o["collected"] =
      json::object{{"slots", slots && slots->is_object() ? slots->as_object() : json::object()},
                   {"context", ObjectFromText(c.context_json)}};
  std::vector<const storage::ConversationRecord*> previous;
  for (const auto& other : in.others)
    if (other.id != c.id && other.customer_id == c.customer_id &&
        other.connection_id == c.connection_id && other.created_at_ms <= c.created_at_ms)
      previous.push_back(&other);
  std::sort(previous.begin(), previous.end(),
            [](const auto* a, const auto* b) { return a->created_at_ms > b->created_at_ms; });
  if (previous.size() > kMaxPrevious) previous.resize(kMaxPrevious);
  json::array list;
  for (const auto* p : previous)
    list.push_back(
        json::object{{"id", p->id},
                     {"state", p->state},
                     {"queue", OptText(p->routing.queue)},
                     {"last_agent", OptText(p->routing.agent)},
                     {"created_at", FormatTimestamp(p->created_at_ms)},
                     {"ended_at", p->ended_at_ms ? json::value(FormatTimestamp(*p->ended_at_ms))
                                                 : json::value(nullptr)}});
  o["previous"] = std::move(list);
  return o;
}

}  // namespace parley::conversation

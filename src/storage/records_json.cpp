#include "storage/records_json.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace parley::storage {
namespace json = boost::json;
namespace {

json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object();
}

json::value OptString(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

json::value OptTime(const std::optional<int64_t>& ms) {
  return ms ? json::value(FormatTimestamp(*ms)) : json::value(nullptr);
}

}  // namespace

json::object ConversationJson(const ConversationRecord& c) {
  json::object o;
  o["id"] = c.id;
  o["connection_id"] = c.connection_id;
  o["customer_id"] = c.customer_id;
  o["customer_name"] = OptString(c.customer_name);
  o["state"] = c.state;
  o["owner"] = c.owner;
  const ConversationRouting& r = c.routing;
  o["queue"] = OptString(r.queue);
  o["agent"] = c.state == "active" ? OptString(r.agent) : json::value(nullptr);
  // Who had it last (kept after the end: the history shows who handled a conversation).
  o["last_agent"] = OptString(r.agent);
  o["offered_to"] = OptString(r.offered_to);
  o["offer_expires_at"] = OptTime(r.offer_expires_at_ms);
  o["queued_at"] = c.state == "queued" ? OptTime(r.queued_at_ms) : json::value(nullptr);
  o["assigned_at"] = OptTime(r.assigned_at_ms);
  o["transfer_note"] = OptString(r.transfer_note);
  o["ended_by"] = OptString(r.ended_by);
  o["context"] = ParseObject(c.context_json);
  o["created_at"] = FormatTimestamp(c.created_at_ms);
  o["updated_at"] = FormatTimestamp(c.updated_at_ms);
  o["ended_at"] = OptTime(c.ended_at_ms);
  return o;
}

json::object EntryJson(const EventRecord& e) {
  json::object o;
  o["conversation_id"] = e.conversation_id;
  o["position"] = e.position;
  o["seq"] = e.seq;
  o["direction"] = e.direction;
  o["from"] = e.sender;
  o["type"] = e.type;
  if (e.message_id) o["message_id"] = *e.message_id;
  if (e.event_id) o["event_id"] = *e.event_id;
  if (e.csr_name) o["csr_name"] = *e.csr_name;
  o["payload"] = ParseObject(e.payload_json);
  o["created_at"] = FormatTimestamp(e.created_at_ms);
  if (e.delivery_status) {
    o["delivery_status"] = *e.delivery_status;
    o["attempts"] = e.attempts;
    o["last_error"] = OptString(e.last_error);
  }
  return o;
}

}  // namespace parley::storage

#include "bot/dialog_state.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "bot/dialog_bot.hpp"

namespace parley::bot::detail {
namespace json = boost::json;
namespace {

constexpr int kStateVersion = 1;

int64_t IntOr(const json::object& o, std::string_view key, int64_t dflt) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : dflt;
}

std::string StrOr(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

Session Session::From(const json::value& v) {
  Session s;
  if (!v.is_object()) return s;
  const json::object& o = v.as_object();
  if (IntOr(o, "v", 0) != kStateVersion) return s;
  if (const json::value* g = o.if_contains("greeted"); g && g->is_bool()) s.greeted = g->as_bool();
  s.misses = std::max<int64_t>(0, IntOr(o, "misses", 0));
  s.flow = StrOr(o, "flow");
  s.step = IntOr(o, "step", 0);
  s.awaiting_slot = StrOr(o, "awaiting_slot");
  s.retries = std::max<int64_t>(0, IntOr(o, "retries", 0));
  if (const json::value* sl = o.if_contains("slots"); sl && sl->is_object())
    s.slots = sl->as_object();
  if (const json::value* q = o.if_contains("awaiting_queue"); q && q->is_bool())
    s.awaiting_queue = q->as_bool();
  if (const json::value* off = o.if_contains("offered"); off && off->is_array()) {
    s.offered.reserve(std::min(off->as_array().size(), kMaxOfferedItems));
    for (const auto& item : off->as_array()) {
      if (!item.is_object() || s.offered.size() >= kMaxOfferedItems) continue;
      s.offered.emplace_back(StrOr(item.as_object(), "text"), StrOr(item.as_object(), "payload"));
    }
  }
  if (const json::value* p = o.if_contains("pending"); p && p->is_object()) {
    const json::object& po = p->as_object();
    s.pending =
        Pending{IntOr(po, "step", -1), IntOr(po, "since_ms", 0), IntOr(po, "timeout_ms", 0)};
  }
  if (const json::value* d = o.if_contains("deferred"); d && d->is_array()) {
    for (const auto& item : d->as_array()) {
      if (!item.is_object() || s.deferred.size() >= kMaxDeferredTurns) continue;
      Input in;
      if (const json::value* t = item.as_object().if_contains("text"); t && t->is_array()) {
        for (const auto& line : t->as_array()) {
          if (line.is_string()) in.text.emplace_back(line.as_string());
        }
      }
      if (const json::value* pb = item.as_object().if_contains("postback"); pb && pb->is_string())
        in.postback = std::string(pb->as_string());
      s.deferred.push_back(std::move(in));
    }
  }
  return s;
}

json::value Session::ToJson() const {
  json::object o;
  o.reserve(12);  // the keys below: one table, not one for each growth
  o["v"] = kStateVersion;
  o["greeted"] = greeted;
  o["misses"] = misses;
  if (!flow.empty()) {
    o["flow"] = flow;
    o["step"] = step;
    o["retries"] = retries;
    if (!awaiting_slot.empty()) o["awaiting_slot"] = awaiting_slot;
  }
  o["slots"] = slots;
  if (awaiting_queue) o["awaiting_queue"] = true;
  if (!offered.empty()) {
    json::array arr;
    arr.reserve(offered.size());
    for (const auto& [text, payload] : offered)
      arr.push_back(json::object{{"text", text}, {"payload", payload}});
    o["offered"] = std::move(arr);
  }
  if (pending) {
    o["pending"] = json::object{{"step", pending->step},
                                {"since_ms", pending->since_ms},
                                {"timeout_ms", pending->timeout_ms}};
  }
  if (!deferred.empty()) {
    json::array arr;
    arr.reserve(deferred.size());
    for (const auto& in : deferred) {
      json::object item;
      json::array lines;
      for (const auto& l : in.text) lines.emplace_back(l);
      item["text"] = std::move(lines);
      if (in.postback) item["postback"] = *in.postback;
      arr.push_back(std::move(item));
    }
    o["deferred"] = std::move(arr);
  }
  return o;
}

std::optional<std::string> SlotValue(const json::value& v) {
  std::string s;
  if (v.is_string())
    s = std::string(v.as_string());
  else if (v.is_number() || v.is_bool())
    s = json::serialize(v);
  else
    return std::nullopt;
  if (s.size() > kMaxSlotValueBytes) return std::nullopt;
  return s;
}

}  // namespace parley::bot::detail

#include "routing/events.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace parley::routing {
namespace json = boost::json;

Result<void> Emit(storage::Tx& tx, const std::string& username, const std::string& type,
                  json::object body, int64_t now, Effects& fx) {
  auto last = tx.LastAgentEventSeq(username);
  if (!last) return Fail(last.error());
  storage::AgentEventRecord e;
  e.username = username;
  e.seq = *last + 1;
  e.type = type;
  e.created_at_ms = now;
  json::object frame;
  frame["seq"] = e.seq;
  frame["type"] = type;
  frame["at"] = FormatTimestamp(now);
  for (auto& kv : body) frame[kv.key()] = std::move(kv.value());
  e.body_json = json::serialize(frame);
  auto inserted = tx.InsertAgentEvent(e);
  if (!inserted) return Fail(inserted.error());
  fx.events.push_back(std::move(e));
  return {};
}

uint64_t EventHub::Subscribe(const std::string& username, Sink sink, Closer closer) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  subscribers_.emplace(id, Entry{username, std::move(sink), std::move(closer)});
  return id;
}

void EventHub::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

void EventHub::Publish(const std::vector<storage::AgentEventRecord>& events) {
  if (events.empty()) return;
  std::lock_guard lock(mu_);
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    bool keep = true;
    for (const auto& e : events) {
      if (e.username != it->second.username) continue;
      if (!it->second.sink(e)) {
        keep = false;
        break;
      }
    }
    it = keep ? std::next(it) : subscribers_.erase(it);
  }
}

void EventHub::Disconnect(const std::string& username) {
  std::vector<Closer> closers;
  {
    std::lock_guard lock(mu_);
    for (auto it = subscribers_.begin(); it != subscribers_.end();) {
      if (it->second.username == username) {
        closers.push_back(std::move(it->second.closer));
        it = subscribers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& close : closers)
    if (close) close();
}

size_t EventHub::Streams() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

}  // namespace parley::routing

#include "routing/events.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "core/clock.hpp"
#include "routing/watchers.hpp"

namespace parley::routing {
namespace json = boost::json;

namespace {

constexpr int64_t kKeepEventsMs = 10 * 60 * 1000;  // at least the last 10 minutes
constexpr int64_t kKeepEvents = 10'000;            // and at least the last 10,000 of a user
constexpr int64_t kPruneEvery = 1024;              // a user's events are pruned every this many

// What reaches the supervisors who monitor or joined a conversation: what is said and done in
// it, not the offers and removals that are about one agent's work.
bool Watched(const std::string& type) {
  return type == "conversation.message" || type == "conversation.typing" ||
         type == "conversation.ended" || type == "conversation.assigned" ||
         type == "conversation.delivery";
}

Result<void> Append(storage::Tx& tx, const std::string& username, const std::string& type,
                    json::object body, int64_t now, Effects& fx);

}  // namespace

Result<void> Emit(storage::Tx& tx, const std::string& username, const std::string& type,
                  json::object body, int64_t now, Effects& fx) {
  const json::object* conversation = nullptr;
  if (Watched(type))
    if (const json::value* c = body.if_contains("conversation"); c && c->is_object())
      conversation = &c->as_object();
  const json::value* id = conversation ? conversation->if_contains("id") : nullptr;
  if (!id || !id->is_string()) return Append(tx, username, type, std::move(body), now, fx);
  auto watchers = tx.Watchers(std::string(id->as_string()));
  if (!watchers) return Fail(watchers.error());
  // The same frame to each watcher (not twice to one who is also the recipient), marked so a
  // console tells it from its own chats.
  for (const auto& w : *watchers) {
    if (w.username == username) continue;
    json::object copy = body;
    copy["monitoring"] = true;
    auto sent = Append(tx, w.username, type, std::move(copy), now, fx);
    if (!sent) return Fail(sent.error());
  }
  return Append(tx, username, type, std::move(body), now, fx);
}

Result<void> DropWatchers(storage::Tx& tx, const std::string& conversation_id) {
  auto watchers = tx.Watchers(conversation_id);
  if (!watchers) return Fail(watchers.error());
  for (const auto& w : *watchers) {
    auto dropped = tx.DeleteWatcher(conversation_id, w.username);
    if (!dropped) return Fail(dropped.error());
  }
  return {};
}

namespace {

Result<void> Append(storage::Tx& tx, const std::string& username, const std::string& type,
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
  // Pruned as they are written, one user at a time: never a pass over everyone's events.
  if (e.seq % kPruneEvery == 0 && e.seq > kKeepEvents) {
    auto pruned = tx.PruneAgentEvents(username, e.seq - kKeepEvents, now - kKeepEventsMs);
    if (!pruned) return Fail(pruned.error());
  }
  fx.events.push_back(std::move(e));
  return {};
}

}  // namespace

uint64_t EventHub::Subscribe(const std::string& username, Sink sink, Closer closer) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  subscribers_.emplace(id, Entry{username, std::move(sink), std::move(closer)});
  by_user_[username].insert(id);
  return id;
}

void EventHub::EraseLocked(uint64_t id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  auto user = by_user_.find(it->second.username);
  if (user != by_user_.end()) {
    user->second.erase(id);
    if (user->second.empty()) by_user_.erase(user);
  }
  subscribers_.erase(it);
}

void EventHub::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  EraseLocked(id);
}

// Each event goes to its user's streams only (found by name): the cost is the events and their
// streams, never every stream open on the node.
void EventHub::Publish(const std::vector<storage::AgentEventRecord>& events) {
  if (events.empty()) return;
  std::lock_guard lock(mu_);
  std::vector<uint64_t> dropped;
  for (const auto& e : events) {
    auto user = by_user_.find(e.username);
    if (user == by_user_.end()) continue;
    for (uint64_t id : user->second) {
      if (std::find(dropped.begin(), dropped.end(), id) != dropped.end()) continue;
      auto it = subscribers_.find(id);
      if (it != subscribers_.end() && !it->second.sink(e)) dropped.push_back(id);
    }
  }
  for (uint64_t id : dropped) EraseLocked(id);
}

void EventHub::Disconnect(const std::string& username) {
  std::vector<Closer> closers;
  {
    std::lock_guard lock(mu_);
    auto user = by_user_.find(username);
    if (user != by_user_.end()) {
      std::set<uint64_t> ids = user->second;
      for (uint64_t id : ids) {
        auto it = subscribers_.find(id);
        if (it != subscribers_.end()) closers.push_back(std::move(it->second.closer));
        EraseLocked(id);
      }
    }
  }
  for (auto& close : closers)
    if (close) close();
}

bool EventHub::HasStreams(const std::string& username) const {
  std::lock_guard lock(mu_);
  return by_user_.count(username) > 0;
}

std::vector<std::string> EventHub::Users() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [user, ids] : by_user_) out.push_back(user);
  return out;
}

size_t EventHub::Streams() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

}  // namespace parley::routing

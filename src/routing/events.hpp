#pragma once
// Users' live events. Each event is written to the store (agent_events) in the transaction that
// caused it, with a per-user seq, so a client that reconnects with ?after=N gets what it missed,
// even across a restart. After the commit the same events are published to the EventHub, which
// fans them out to the user's open streams.

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "storage/store.hpp"

namespace parley::routing {

// What a store job caused that must happen after its commit.
struct Effects {
  std::vector<storage::DeliveryRecord> outbound;  // to the dispatcher
  std::vector<storage::AgentEventRecord> events;  // to the EventHub (already in the store)
  std::set<std::string> queues_changed;           // their queue.updated events are still due
  std::optional<int64_t> offer_made_at_ms;  // an accept of an offer: when it was made (a metric)
  size_t queue_updates_written = 0;         // by this job (Routing::FlushQueueUpdates' budget)
};

// Appends one event for `username` to the store (next seq) and to `fx`. `body` holds the
// type's fields; seq, type and at are added. A conversation's message, typing, assignment,
// delivery and end also go to the supervisors who monitor or joined it (the store's watchers),
// with "monitoring": true.
Result<void> Emit(storage::Tx& tx, const std::string& username, const std::string& type,
                  boost::json::object body, int64_t now, Effects& fx);

// Fans committed events out to open streams. Thread-safe.
class EventHub {
 public:
  // Called with each of the user's events, in seq order, on the publishing thread; must not
  // block. Returns false to be dropped (its stream closed).
  using Sink = std::function<bool(const storage::AgentEventRecord&)>;
  // Called when the user's sessions end (disabled, deleted): the stream should close.
  using Closer = std::function<void()>;

  uint64_t Subscribe(const std::string& username, Sink sink, Closer closer);
  void Unsubscribe(uint64_t id);
  void Publish(const std::vector<storage::AgentEventRecord>& events);
  // Closes every stream of the user.
  void Disconnect(const std::string& username);
  size_t Streams() const;
  // Several nodes (issue 15): whether this node has a stream of the user, and whose it has.
  bool HasStreams(const std::string& username) const;
  std::vector<std::string> Users() const;

 private:
  struct Entry {
    std::string username;
    Sink sink;
    Closer closer;
  };
  void EraseLocked(uint64_t id);

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Entry> subscribers_;
  std::map<std::string, std::set<uint64_t>> by_user_;  // the streams of each user
};

}  // namespace parley::routing

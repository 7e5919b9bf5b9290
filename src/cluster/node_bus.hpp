#pragma once
// What the nodes sharing one database tell each other (issue 15), through the store's
// announcements (PostgreSQL LISTEN/NOTIFY on a connection of its own, storage::Store::Listen):
// - agents' events: each event written on another node is read from the store (the
//   announcement carries the user and seq, never content) and published to this node's
//   streams of that user at once; streams fill any gap in seq from the store themselves;
// - reloads: a connection changed elsewhere is read again; a bot reloaded elsewhere is
//   reloaded here from this node's bots folder; a user disabled, deleted or given a new
//   password elsewhere loses their streams here too.
// After the listener (re)connects, every local stream is caught up from the store and every
// connection is read again, since announcements made meanwhile were lost.
// On a store of one node (SQLite) Start() does nothing.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "routing/events.hpp"
#include "storage/store.hpp"

namespace parley::cluster {

struct BusHandlers {
  std::function<void(const std::string& connection_id)> reload_connection;
  std::function<void()> reload_all_connections;
  std::function<void(const std::string& bot)> reload_bot;
  std::function<void(const std::string& username)> user_sessions_ended;
};

struct BusStats {
  bool listening = false;
  uint64_t notices = 0;         // announcements heard from other nodes
  uint64_t events_relayed = 0;  // agents' events published here after another node wrote them
  uint64_t reloads = 0;         // reload announcements applied
};

class NodeBus {
 public:
  NodeBus(storage::Store& store, routing::EventHub& hub, boost::asio::any_io_executor ex,
          std::string node_id, BusHandlers handlers);
  ~NodeBus();
  NodeBus(const NodeBus&) = delete;
  NodeBus& operator=(const NodeBus&) = delete;

  // Starts listening; false (and nothing happens) on a store of one node.
  bool Start();
  // Stops listening (before the store closes).
  void Stop();
  // Tells the other nodes of a change made here (kind: bot | user), in a write job of its own.
  void Announce(const std::string& kind, const std::string& subject);
  BusStats Stats() const;

 private:
  void OnNotice(const std::string& channel, const std::string& payload);  // listener thread
  boost::asio::awaitable<void> Relay();

  storage::Store& store_;
  routing::EventHub& hub_;
  boost::asio::any_io_executor ex_;
  const std::string node_id_;
  BusHandlers handlers_;
  std::unique_ptr<storage::Store::Listener> listener_;
  std::mutex mu_;
  std::map<std::string, int64_t> pending_;  // under mu_: user -> lowest seq announced
  bool relaying_ = false;                   // under mu_
  std::atomic<uint64_t> notices_{0}, events_relayed_{0}, reloads_{0};
};

// Splits "node|middle|last" (node and last hold no '|'; the middle may). False when malformed.
bool SplitAnnouncement(const std::string& payload, std::string& node, std::string& middle,
                       std::string& last);

}  // namespace parley::cluster

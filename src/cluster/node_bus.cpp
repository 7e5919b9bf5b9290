#include "cluster/node_bus.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <charconv>
#include <limits>

namespace parley::cluster {
namespace asio = boost::asio;
using storage::AgentEventRecord;
using storage::Tx;

namespace {
// "The newest event of the user" (a catch-up after the listener reconnected): the streams
// fill whatever gap precedes it from the store.
constexpr int64_t kNewest = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxRelay = 1000;  // events read for one user at once
}  // namespace

bool SplitAnnouncement(const std::string& payload, std::string& node, std::string& middle,
                       std::string& last) {
  size_t first = payload.find('|');
  size_t final = payload.rfind('|');
  if (first == std::string::npos || final == first) return false;
  node = payload.substr(0, first);
  middle = payload.substr(first + 1, final - first - 1);
  last = payload.substr(final + 1);
  return !node.empty() && !middle.empty();
}

NodeBus::NodeBus(storage::Store& store, routing::EventHub& hub, asio::any_io_executor ex,
                 std::string node_id, BusHandlers handlers)
    : store_(store),
      hub_(hub),
      ex_(std::move(ex)),
      node_id_(std::move(node_id)),
      handlers_(std::move(handlers)) {}

NodeBus::~NodeBus() { Stop(); }

bool NodeBus::Start() {
  if (!store_.Shared()) return false;
  store_.SetNodeId(node_id_);
  listener_ = store_.Listen({storage::kEventsChannel, storage::kReloadChannel},
                            [this](const std::string& channel, const std::string& payload) {
                              OnNotice(channel, payload);
                            });
  return listener_ != nullptr;
}

void NodeBus::Stop() { listener_.reset(); }

BusStats NodeBus::Stats() const {
  return {listener_ && listener_->Connected(), notices_.load(), events_relayed_.load(),
          reloads_.load()};
}

void NodeBus::Announce(const std::string& kind, const std::string& subject) {
  if (!store_.Shared()) return;
  std::string payload = node_id_ + "|" + kind + "|" + subject;
  bool queued = store_.SubmitWrite(
      [payload](Tx& tx) { return tx.Announce(storage::kReloadChannel, payload).has_value(); },
      [payload](bool committed, storage::Handoff&) {
        if (!committed) spdlog::warn("could not tell the other nodes: {}", payload);
      });
  if (!queued) spdlog::warn("could not tell the other nodes (store busy): {}", payload);
}

void NodeBus::OnNotice(const std::string& channel, const std::string& payload) {
  bool relay = false;
  if (channel.empty()) {
    // (Re)connected: what was announced meanwhile is lost. Catch every local stream up, and
    // read every connection again.
    {
      std::lock_guard lock(mu_);
      for (const auto& user : hub_.Users()) pending_[user] = kNewest;
      relay = !pending_.empty() && !relaying_;
      if (relay) relaying_ = true;
    }
    if (handlers_.reload_all_connections) asio::post(ex_, handlers_.reload_all_connections);
  } else {
    std::string node, middle, last;
    if (!SplitAnnouncement(payload, node, middle, last) || node == node_id_) return;
    ++notices_;
    if (channel == storage::kEventsChannel) {
      int64_t seq = 0;
      auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), seq);
      if (ec != std::errc() || seq <= 0 || !hub_.HasStreams(middle)) return;
      std::lock_guard lock(mu_);
      auto [it, fresh] = pending_.try_emplace(middle, seq);
      if (!fresh) it->second = std::min(it->second, seq);
      relay = !relaying_;
      if (relay) relaying_ = true;
    } else if (channel == storage::kReloadChannel) {
      ++reloads_;
      const BusHandlers& h = handlers_;
      if (middle == "connection" && h.reload_connection) {
        asio::post(ex_, [f = h.reload_connection, last] { f(last); });
      } else if (middle == "bot" && h.reload_bot) {
        asio::post(ex_, [f = h.reload_bot, last] { f(last); });
      } else if (middle == "user" && h.user_sessions_ended) {
        asio::post(ex_, [f = h.user_sessions_ended, last] { f(last); });
      }
    }
  }
  if (relay) asio::co_spawn(ex_, Relay(), asio::detached);
}

asio::awaitable<void> NodeBus::Relay() {
  for (;;) {
    std::map<std::string, int64_t> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(pending_);
      if (batch.empty()) {
        relaying_ = false;
        co_return;
      }
    }
    for (const auto& [user, seq] : batch) {
      if (!hub_.HasStreams(user)) continue;
      // Init-captures: clang 14 (make fuzz) cannot capture a structured binding by name.
      auto job = [user = user, seq = seq](Tx& tx) -> Result<std::vector<AgentEventRecord>> {
        int64_t from = seq - 1;
        if (seq == kNewest) {
          auto last = tx.LastAgentEventSeq(user);
          if (!last) return Fail(last.error());
          from = std::max<int64_t>(0, *last - 1);
        }
        return tx.AgentEventsAfter(user, from, kMaxRelay);
      };
      auto events = co_await store_.Read<std::vector<AgentEventRecord>>(job);
      if (!events) {
        spdlog::warn("events of {} written on another node could not be read: {}", user,
                     events.error().message);
        continue;
      }
      events_relayed_ += events->size();
      hub_.Publish(*events);
    }
  }
}

}  // namespace parley::cluster

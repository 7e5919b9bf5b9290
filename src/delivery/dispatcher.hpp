#pragma once
// The outbox dispatcher: delivers outbound events to client webhooks, strictly in seq order
// per conversation (event n+1 waits until n is delivered or dead-lettered), conversations in
// parallel, each request signed with a fresh token, failures retried per RetryPolicy.
// Its state lives on one strand; Enqueue may be called from any thread. Outcomes are written
// back to the store without waiting (delivery is at-least-once: an outcome lost in a crash
// only means the event is sent again, with the same event_id).

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "conversation/conversation_service.hpp"
#include "core/clock.hpp"
#include "delivery/retry_policy.hpp"
#include "delivery/webhook_client.hpp"
#include "manager/connection_directory.hpp"
#include "storage/store.hpp"

namespace parley::delivery {

struct DispatcherOptions {
  RetryPolicy retry;
  std::chrono::milliseconds timeout{10000};  // a webhook answer later than this is a failure
  size_t max_backlog = 1'000'000;            // events held in memory; beyond it inbound gets 503
};

struct DispatcherStats {
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t dead = 0;
  size_t backlog = 0;
};

class Dispatcher final : public conversation::OutboundSink {
 public:
  Dispatcher(boost::asio::any_io_executor ex, storage::Store& store,
             const manager::ConnectionDirectory& directory, WebhookClient& client,
             const Clock& clock, DispatcherOptions options);

  // Loads every pending event from the store and starts delivering them (at start-up).
  boost::asio::awaitable<Result<size_t>> LoadPending();
  void Enqueue(std::vector<storage::DeliveryRecord> events) override;
  // Sends a dead or delivered event again. kNotFound, or kConflict when it is still pending.
  boost::asio::awaitable<Result<storage::DeliveryRecord>> Replay(std::string event_id);
  // Stops sending; what is pending stays in the store for the next start.
  void Stop();
  // Told of every recorded outcome, inside the job that records it. Before LoadPending.
  void SetObserver(conversation::DeliveryObserver* observer) { observer_ = observer; }

  bool Overloaded() const { return backlog_.load() >= options_.max_backlog; }
  DispatcherStats Stats() const;

 private:
  struct ConversationQueue {
    std::deque<storage::DeliveryRecord> events;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };

  void EnqueueOnStrand(std::vector<storage::DeliveryRecord> events);
  boost::asio::awaitable<void> Deliver(std::string conversation_id);
  // One attempt; returns an error text, or empty on success.
  boost::asio::awaitable<std::string> Attempt(const storage::DeliveryRecord& d);
  void Persist(const storage::EventRecord& e);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  storage::Store& store_;
  const manager::ConnectionDirectory& directory_;
  WebhookClient& client_;
  const Clock& clock_;
  DispatcherOptions options_;
  conversation::DeliveryObserver* observer_ = nullptr;
  std::unordered_map<std::string, ConversationQueue> queues_;  // on strand_
  std::mt19937_64 rng_{std::random_device{}()};                // on strand_
  bool stopping_ = false;                                      // on strand_
  std::atomic<size_t> backlog_{0};
  std::atomic<uint64_t> delivered_{0}, failed_attempts_{0}, dead_{0};
};

}  // namespace parley::delivery

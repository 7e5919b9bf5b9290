#pragma once
// The outbox dispatcher: delivers outbound events to client webhooks, strictly in seq order
// per conversation (event n+1 waits until n is delivered or dead-lettered), conversations in
// parallel, each request signed with a fresh token, failures retried per RetryPolicy.
// Its state lives on one strand; Enqueue may be called from any thread. Outcomes are written
// back to the store without waiting (delivery is at-least-once: an outcome lost in a crash
// only means the event is sent again, with the same event_id).
//
// On a database shared by several nodes (Store::Shared(), PostgreSQL) a node delivers only the
// conversations whose delivery lease it holds (dispatcher_leases.cpp): it claims them in the
// store (FOR UPDATE SKIP LOCKED), renews the leases while it works, starts an attempt only while
// its lease outlasts the attempt's timeout, reads the events other nodes wrote for them from
// the store in seq order, and gives a lease up when its conversation has nothing left to send.
// A node that dies loses its leases when they expire; another node then claims the
// conversation and starts again at its oldest pending event, so nothing is sent out of order.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
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
  // Shared database only: this node's id, how long a lease lasts (raised to at least
  // 2 * timeout + 3 s, so a renewed lease always outlasts an attempt), how often the node looks
  // for work and renews, and how many conversations one look claims at most.
  std::string node_id;
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds poll{500};
  size_t claim_batch = 200;
};

struct DispatcherStats {
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t dead = 0;
  size_t backlog = 0;
  // Shared database only.
  size_t leases_held = 0;
  uint64_t lease_claims = 0;     // conversations claimed
  uint64_t lease_takeovers = 0;  // of them, expired leases of another node
  uint64_t leases_lost = 0;      // leases this node could not renew (another node took them)
  uint64_t leases_released = 0;  // given up with nothing left to send
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
  // Stops sending and, on a shared database, gives up the leases of the conversations with no
  // attempt in flight, so other nodes take them at once (the rest expire).
  boost::asio::awaitable<void> StopAndRelease();
  // Told of every recorded outcome, inside the job that records it. Before LoadPending.
  void SetObserver(conversation::DeliveryObserver* observer) { observer_ = observer; }

  bool Overloaded() const { return backlog_.load() >= options_.max_backlog; }
  DispatcherStats Stats() const;
  bool Shared() const { return shared_; }
  const std::string& NodeId() const { return options_.node_id; }

 private:
  struct ConversationQueue {
    std::deque<storage::DeliveryRecord> events;
    std::shared_ptr<boost::asio::steady_timer> timer;  // made at the first wait (a retry)
    void CancelTimer() {
      if (timer) timer->cancel();
    }
    // Shared database only.
    uint64_t generation = 0;  // a new lease of the same conversation gets a new number
    bool running = false;     // a Deliver coroutine works on it
    bool in_attempt = false;  // a webhook request is in flight
    bool releasing = false;   // its lease is being given up
    int64_t last_seq = 0;     // the highest seq queued under this lease
    int64_t lease_until_ms = 0;
  };
  // What one look at the store found (dispatcher_leases.cpp).
  struct LookResult {
    std::vector<std::string> renewed;
    std::vector<storage::LeaseClaim> claimed;
    std::vector<storage::DeliveryRecord> pending;
  };

  void EnqueueOnStrand(std::vector<storage::DeliveryRecord> events);
  void EnqueueShared(std::vector<storage::DeliveryRecord> events, bool replay);
  boost::asio::awaitable<void> Deliver(std::string conversation_id, uint64_t generation);
  // Shared database: the loop that claims, renews, refreshes and releases, and one round of it.
  boost::asio::awaitable<void> LeaseLoop();
  boost::asio::awaitable<void> Look(bool full);
  void Kick();
  boost::asio::awaitable<void> StopOnStrand();
  void Start(const std::string& conversation_id);
  int64_t LeaseMs() const;
  // One attempt; returns an error text, or empty on success.
  boost::asio::awaitable<std::string> Attempt(const storage::DeliveryRecord& d);
  // Records an attempt's outcome. Outcomes of one turn of the strand go to the store as one
  // background job (FlushOutcomes), not one job each.
  void Persist(const storage::EventRecord& e);
  void FlushOutcomes();
  // Takes what Enqueue left in the inbox (on the strand).
  void DrainInbox();
  // The Authorization token of a webhook request: the same for one connection within one
  // second (iat is in seconds), so it is signed once a second, not once a request.
  std::string Token(const storage::ConnectionRecord& connection);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  storage::Store& store_;
  const manager::ConnectionDirectory& directory_;
  WebhookClient& client_;
  const Clock& clock_;
  DispatcherOptions options_;
  conversation::DeliveryObserver* observer_ = nullptr;
  std::unordered_map<std::string, ConversationQueue> queues_;  // on strand_
  // Events handed over by Enqueue from other threads, taken by one post to the strand: a
  // batch of commits wakes the strand once, not once per conversation.
  std::mutex inbox_mutex_;
  std::vector<storage::DeliveryRecord> inbox_;  // under inbox_mutex_
  std::vector<storage::EventRecord> outcomes_;  // on strand_: not yet submitted
  struct SignedToken {
    int64_t iat = 0;
    std::string secret;
    std::string token;
  };
  std::unordered_map<std::string, SignedToken> tokens_;  // on strand_, by connection id
  std::mt19937_64 rng_{std::random_device{}()};          // on strand_
  bool stopping_ = false;                                // on strand_
  std::atomic<size_t> backlog_{0};
  std::atomic<uint64_t> delivered_{0}, failed_attempts_{0}, dead_{0};
  // Shared database only.
  bool shared_ = false;
  uint64_t next_generation_ = 1;                           // on strand_
  std::vector<std::string> wanted_;                        // on strand_: to claim soon
  bool kicked_ = false;                                    // on strand_
  bool loop_started_ = false;                              // on strand_
  int64_t last_full_look_ms_ = 0;                          // on strand_
  std::shared_ptr<boost::asio::steady_timer> look_timer_;  // on strand_
  std::atomic<size_t> leases_held_{0};
  std::atomic<uint64_t> lease_claims_{0}, lease_takeovers_{0}, leases_lost_{0}, leases_released_{0};
};

}  // namespace parley::delivery

#include "delivery/dispatcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "channel/jwt.hpp"

namespace parley::delivery {
namespace asio = boost::asio;
using storage::DeliveryRecord;
using storage::Tx;

Dispatcher::Dispatcher(asio::any_io_executor ex, storage::Store& store,
                       const manager::ConnectionDirectory& directory, WebhookClient& client,
                       const Clock& clock, DispatcherOptions options)
    : strand_(asio::make_strand(ex)),
      store_(store),
      directory_(directory),
      client_(client),
      clock_(clock),
      options_(options),
      shared_(store.Shared()),
      look_timer_(std::make_shared<asio::steady_timer>(strand_)) {}

asio::awaitable<Result<size_t>> Dispatcher::LoadPending() {
  if (shared_) {
    // Every node looks for pending work itself: what it claims it loads (LeaseLoop). Run on
    // the strand (a coroutine spawned there resumes there after each store job).
    auto first = [this]() -> asio::awaitable<void> {
      if (loop_started_ || stopping_) co_return;
      loop_started_ = true;
      co_await Look(true);
      last_full_look_ms_ = clock_.NowMs();
      asio::co_spawn(strand_, LeaseLoop(), asio::detached);
    };
    co_await asio::co_spawn(strand_, first(), asio::use_awaitable);
    co_return backlog_.load();
  }
  auto job0 = [](Tx& tx) { return tx.PendingDeliveries(); };
  auto pending = co_await store_.Read<std::vector<DeliveryRecord>>(job0);
  if (!pending) co_return Fail(pending.error());
  size_t n = pending->size();
  Enqueue(std::move(*pending));
  co_return n;
}

void Dispatcher::Enqueue(std::vector<DeliveryRecord> events) {
  if (events.empty()) return;
  if (shared_) {
    asio::dispatch(strand_, [this, events = std::move(events)]() mutable {
      EnqueueShared(std::move(events), false);
    });
    return;
  }
  backlog_ += events.size();
  bool first = false;
  {
    std::lock_guard lock(inbox_mutex_);
    first = inbox_.empty();
    if (first) {
      inbox_ = std::move(events);
    } else {
      for (auto& d : events) inbox_.push_back(std::move(d));
    }
  }
  if (first) asio::post(strand_, [this] { DrainInbox(); });
}

void Dispatcher::DrainInbox() {
  std::vector<DeliveryRecord> taken;
  {
    std::lock_guard lock(inbox_mutex_);
    taken.swap(inbox_);
  }
  EnqueueOnStrand(std::move(taken));
}

void Dispatcher::EnqueueOnStrand(std::vector<DeliveryRecord> events) {
  if (stopping_) {
    backlog_ -= events.size();
    return;
  }
  for (auto& d : events) {
    std::string conversation_id = d.event.conversation_id;
    auto [it, fresh] = queues_.try_emplace(conversation_id);
    it->second.events.push_back(std::move(d));
    if (fresh) {
      // No timer yet: most conversations' events go out at once; Deliver makes one for a retry.
      asio::co_spawn(strand_, Deliver(conversation_id, 0), asio::detached);
    }
  }
}

asio::awaitable<void> Dispatcher::Deliver(std::string conversation_id, uint64_t generation) {
  for (;;) {
    auto it = queues_.find(conversation_id);
    if (it == queues_.end()) co_return;
    // Shared database: the lease this coroutine worked under was lost (and maybe taken again).
    if (shared_ && it->second.generation != generation) co_return;
    if (stopping_ || it->second.events.empty()) {
      backlog_ -= it->second.events.size();
      if (shared_) {  // the lease stays until the next look gives it up
        it->second.events.clear();
        it->second.running = false;
      } else {
        queues_.erase(it);
      }
      co_return;
    }
    DeliveryRecord& head = it->second.events.front();
    int64_t wait_ms = head.event.next_attempt_at_ms.value_or(0) - clock_.NowMs();
    if (shared_ && wait_ms <= 0) {
      // An attempt starts only while the lease outlasts it: a node whose renewals fail stops
      // sending before another node may take the conversation over.
      int64_t left = it->second.lease_until_ms - clock_.NowMs();
      if (left < options_.timeout.count() + 1000) {
        Kick();
        wait_ms = std::min<int64_t>(options_.poll.count(), 200);
      }
    }
    if (wait_ms > 0) {
      if (!it->second.timer) it->second.timer = std::make_shared<asio::steady_timer>(strand_);
      auto timer = it->second.timer;
      timer->expires_after(std::chrono::milliseconds(wait_ms));
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;  // re-check: stopping, or the head changed
    }
    DeliveryRecord attempt = head;  // the queue may change while we wait for the webhook
    it->second.in_attempt = true;
    spdlog::debug("node {}: sending event {} (seq {}) of conversation {}", options_.node_id,
                  head.event.event_id.value_or(""), head.event.seq, conversation_id);
    std::string error = co_await Attempt(attempt);

    it = queues_.find(conversation_id);
    if (it == queues_.end()) co_return;
    if (shared_ && it->second.generation != generation) co_return;
    it->second.in_attempt = false;
    if (it->second.events.empty()) {
      it->second.running = false;
      co_return;
    }
    DeliveryRecord& current = it->second.events.front();
    int64_t now = clock_.NowMs();
    storage::EventRecord& e = current.event;
    if (error.empty()) {
      e.delivery_status = "delivered";
      e.delivered_at_ms = now;
      e.attempts += 1;
      e.last_error.reset();
      e.next_attempt_at_ms.reset();
      ++delivered_;
    } else {
      e.attempts += 1;
      e.last_error = error;
      ++failed_attempts_;
      // A deleted connection has nowhere to deliver to: dead at once.
      bool gone = !directory_.Find(e.connection_id);
      if (gone || options_.retry.GiveUp(e.retry_from_ms.value_or(e.created_at_ms), now)) {
        e.delivery_status = "dead";
        e.next_attempt_at_ms.reset();
        ++dead_;
        spdlog::warn("event {} of conversation {} dead-lettered after {} attempts: {}",
                     e.event_id.value_or(""), e.conversation_id, e.attempts, error);
      } else {
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        e.next_attempt_at_ms = now + options_.retry.DelayMs(e.attempts, unit(rng_));
      }
    }
    Persist(e);
    if (e.delivery_status != "pending") {
      it->second.events.pop_front();
      --backlog_;
    }
  }
}

asio::awaitable<std::string> Dispatcher::Attempt(const DeliveryRecord& d) {
  auto connection = directory_.Find(d.event.connection_id);
  if (!connection) co_return "the connection was deleted";
  HttpRequest req;
  req.url = connection->client_webhook;
  req.timeout = options_.timeout;
  req.body = d.event.payload_json;
  req.headers = {
      {"Authorization", "Bearer " + Token(*connection)},
      {"connection_id", connection->id},
      {"Content-Type", "application/json"},
  };
  auto res = co_await client_.Post(std::move(req));
  // Back on the strand: the client may complete on another executor.
  co_await asio::dispatch(strand_, asio::use_awaitable);
  if (!res) co_return res.error().message;
  if (res->status < 200 || res->status > 299)
    co_return fmt::format("the webhook answered {}", res->status);
  co_return std::string();
}

std::string Dispatcher::Token(const storage::ConnectionRecord& connection) {
  int64_t iat = clock_.NowSeconds();
  SignedToken& t = tokens_[connection.id];
  if (t.iat != iat || t.secret != connection.secret || t.token.empty()) {
    t = {iat, connection.secret, channel::SignJwt(connection.id, iat, connection.secret)};
  }
  std::string token = t.token;
  // Bounded: connections that stopped sending fall out at the next overflow.
  if (tokens_.size() > 4096) tokens_.clear();
  return token;
}

void Dispatcher::Persist(const storage::EventRecord& e) {
  outcomes_.push_back(e);
  // The first outcome of this turn schedules the job; the ones after it ride along.
  if (outcomes_.size() == 1) asio::post(strand_, [this] { FlushOutcomes(); });
}

void Dispatcher::FlushOutcomes() {
  if (outcomes_.empty()) return;
  auto batch = std::make_shared<std::vector<storage::EventRecord>>();
  batch->swap(outcomes_);
  auto fx = std::make_shared<routing::Effects>();
  conversation::DeliveryObserver* observer = observer_;
  // No request waits for an outcome: the background lane, behind the answers.
  bool queued = store_.SubmitBackgroundWrite(
      [batch, fx, observer](Tx& tx) {
        for (const auto& e : *batch) {
          if (!tx.UpdateDelivery(e)) return false;
          // The observer's failure fails the job: the store rolls it back and runs it again.
          if (observer && !observer->OnOutcome(tx, e, *fx)) return false;
        }
        return true;
      },
      [fx, observer](bool committed, storage::Handoff&) {
        if (committed && observer) observer->Publish(*fx);
      });
  if (!queued)
    spdlog::warn(
        "could not record the delivery state of {} event(s) (first {}); they may be "
        "sent again",
        batch->size(), batch->front().event_id.value_or(""));
}

asio::awaitable<Result<DeliveryRecord>> Dispatcher::Replay(std::string event_id) {
  int64_t now = clock_.NowMs();
  const manager::ConnectionDirectory& directory = directory_;
  auto job1 = [event_id, now, &directory](Tx& tx) -> Result<DeliveryRecord> {
    auto found = tx.GetDelivery(event_id);
    if (!found) return Fail(found.error());
    if (!*found)
      return Fail(Errc::kNotFound, "event_not_found", "No outbound event has this event_id.");
    DeliveryRecord d = std::move(**found);
    if (d.event.delivery_status == "pending")
      return Fail(Errc::kConflict, "already_pending",
                  "This event is still being delivered; replay a dead or delivered event.");
    if (!directory.Find(d.event.connection_id))
      return Fail(Errc::kNotFound, "connection_not_found",
                  "The connection of this event was deleted, so there is nowhere to send it.");
    d.event.delivery_status = "pending";
    d.event.attempts = 0;
    d.event.last_error.reset();
    d.event.delivered_at_ms.reset();
    d.event.next_attempt_at_ms = now;
    // A replay restarts the retry window; the creation time stays what the transcript shows.
    d.event.retry_from_ms = now;
    auto updated = tx.UpdateDelivery(d.event);
    if (!updated) return Fail(updated.error());
    return d;
  };
  auto replayed = co_await store_.Write<DeliveryRecord>(job1);
  if (replayed && shared_) {
    asio::dispatch(strand_,
                   [this, d = *replayed]() mutable { EnqueueShared({std::move(d)}, true); });
  } else if (replayed) {
    Enqueue({*replayed});
  }
  co_return replayed;
}

void Dispatcher::Stop() {
  asio::dispatch(strand_, [this] {
    stopping_ = true;
    look_timer_->cancel();
    for (auto& [id, q] : queues_) q.CancelTimer();
  });
}

DispatcherStats Dispatcher::Stats() const {
  DispatcherStats s{delivered_.load(), failed_attempts_.load(), dead_.load(), backlog_.load()};
  s.leases_held = leases_held_.load();
  s.lease_claims = lease_claims_.load();
  s.lease_takeovers = lease_takeovers_.load();
  s.leases_lost = leases_lost_.load();
  s.leases_released = leases_released_.load();
  return s;
}

}  // namespace parley::delivery

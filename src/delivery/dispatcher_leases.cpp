// The dispatcher on a database shared by several nodes (dispatcher.hpp): delivery leases.
//
// One coroutine on the strand (LeaseLoop) looks at the store every `poll` (sooner when kicked):
// in one write job it renews the leases that are due, gives up those of conversations with
// nothing left to send, claims the conversations this node wrote events for and any others
// with pending events and a free lease, and reads the pending events of what it holds with a
// seq above what it has queued (events other nodes wrote). Events this node writes itself are
// queued at once when they continue the conversation's seq; a gap (another node wrote the
// events between) is filled from the store at the next look, which the gap triggers at once.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <set>

#include "delivery/dispatcher.hpp"

namespace parley::delivery {
namespace asio = boost::asio;
using storage::DeliveryRecord;
using storage::Tx;

int64_t Dispatcher::LeaseMs() const {
  return std::max<int64_t>(options_.lease.count(), 2 * options_.timeout.count() + 3000);
}

void Dispatcher::Kick() {
  kicked_ = true;
  look_timer_->cancel();
}

void Dispatcher::Start(const std::string& conversation_id) {
  auto it = queues_.find(conversation_id);
  if (it == queues_.end() || it->second.running || it->second.events.empty()) return;
  it->second.running = true;
  asio::co_spawn(strand_, Deliver(conversation_id, it->second.generation), asio::detached);
}

void Dispatcher::EnqueueShared(std::vector<DeliveryRecord> events, bool replay) {
  if (stopping_) return;
  bool kick = false;
  for (auto& d : events) {
    std::string id = d.event.conversation_id;
    auto it = queues_.find(id);
    if (it == queues_.end() || it->second.releasing) {
      wanted_.push_back(id);  // claim it (or leave it to the node that holds it)
      kick = true;
      continue;
    }
    ConversationQueue& q = it->second;
    if (replay) {  // an admin's replay: sent again after what is queued, as on one node
      q.events.push_back(std::move(d));
      ++backlog_;
      Start(id);
      continue;
    }
    if (d.event.seq <= q.last_seq) continue;  // already queued (read from the store)
    if (d.event.seq != q.last_seq + 1) {
      wanted_.push_back(id);  // another node wrote the seqs between: read them first
      kick = true;
      continue;
    }
    q.last_seq = d.event.seq;
    q.events.push_back(std::move(d));
    ++backlog_;
    Start(id);
  }
  if (kick) Kick();
}

asio::awaitable<void> Dispatcher::LeaseLoop() {
  for (;;) {
    if (stopping_) co_return;
    boost::system::error_code ec;
    // Kicked: a short pause gathers what else is wanted into the same look.
    look_timer_->expires_after(kicked_ ? std::chrono::milliseconds(5) : options_.poll);
    co_await look_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    kicked_ = false;
    int64_t now = clock_.NowMs();
    bool full = now - last_full_look_ms_ >= options_.poll.count();
    if (full) last_full_look_ms_ = now;
    co_await Look(full);
  }
}

asio::awaitable<void> Dispatcher::Look(bool full) {
  const int64_t now = clock_.NowMs();
  const int64_t lease = LeaseMs();
  const int64_t until = now + lease;
  std::vector<std::string> renew, release, claim;
  std::vector<std::pair<std::string, int64_t>> refresh;
  std::set<std::string> wanted(wanted_.begin(), wanted_.end());
  wanted_.clear();
  std::map<std::string, uint64_t> generations;
  for (auto& [id, q] : queues_) {
    if (q.releasing) continue;
    generations[id] = q.generation;
    if (q.lease_until_ms - now < lease * 2 / 3) {
      if (q.events.empty() && !q.running && !q.in_attempt) {
        release.push_back(id);
        q.releasing = true;
        continue;
      }
      renew.push_back(id);
    }
    if (full || wanted.count(id)) refresh.emplace_back(id, q.last_seq);
  }
  for (const auto& id : wanted)
    if (!queues_.count(id)) claim.push_back(id);
  size_t any = (full && backlog_.load() < options_.max_backlog / 2) ? options_.claim_batch : 0;
  if (renew.empty() && release.empty() && claim.empty() && refresh.empty() && any == 0) co_return;

  const std::string node = options_.node_id;
  auto job = [node, now, until, renew, release, claim, refresh, any](Tx& tx) -> Result<LookResult> {
    LookResult r;
    if (!renew.empty()) {
      auto renewed = tx.RenewDeliveries(node, until, renew);
      if (!renewed) return Fail(renewed.error());
      r.renewed = std::move(*renewed);
    }
    if (!release.empty()) {
      auto released = tx.ReleaseDeliveries(node, release);
      if (!released) return Fail(released.error());
    }
    if (!claim.empty()) {
      auto claimed = tx.ClaimDeliveries(node, now, until, claim, claim.size());
      if (!claimed) return Fail(claimed.error());
      r.claimed = std::move(*claimed);
    }
    if (any > 0) {
      auto claimed = tx.ClaimDeliveries(node, now, until, {}, any);
      if (!claimed) return Fail(claimed.error());
      for (auto& c : *claimed) r.claimed.push_back(std::move(c));
    }
    auto after = refresh;
    for (const auto& c : r.claimed) after.emplace_back(c.conversation_id, 0);
    auto pending = tx.PendingAfter(after);
    if (!pending) return Fail(pending.error());
    r.pending = std::move(*pending);
    return r;
  };
  auto looked = co_await store_.Write<LookResult>(job);
  if (!looked) {
    for (const auto& id : release)
      if (auto it = queues_.find(id); it != queues_.end()) it->second.releasing = false;
    for (const auto& id : wanted) wanted_.push_back(id);  // asked again at the next look
    spdlog::warn("outbound delivery: the store could not be asked for work: {}",
                 looked.error().message);
    co_return;
  }
  auto same = [&](const std::string& id) -> ConversationQueue* {
    auto it = queues_.find(id);
    auto g = generations.find(id);
    if (it == queues_.end() || g == generations.end() || it->second.generation != g->second)
      return nullptr;
    return &it->second;
  };
  std::set<std::string> renewed(looked->renewed.begin(), looked->renewed.end());
  for (const auto& id : renew) {
    ConversationQueue* q = same(id);
    if (!q) continue;
    if (renewed.count(id)) {
      q->lease_until_ms = until;
      continue;
    }
    // Another node took the conversation after this node's lease expired: stop at once (an
    // attempt in flight ends on its own; its outcome is not recorded by this node).
    ++leases_lost_;
    spdlog::warn("node {}: lost the delivery lease of conversation {} to another node", node, id);
    backlog_ -= q->events.size();
    q->CancelTimer();
    queues_.erase(id);
  }
  for (const auto& id : release) {
    ConversationQueue* q = same(id);
    if (!q) continue;
    spdlog::debug("node {}: released conversation {}", node, id);
    backlog_ -= q->events.size();
    q->CancelTimer();
    queues_.erase(id);
    ++leases_released_;
  }
  std::vector<std::string> touched;
  for (const auto& c : looked->claimed) {
    auto [it, fresh] = queues_.try_emplace(c.conversation_id);
    if (!fresh) continue;
    ConversationQueue& q = it->second;
    q.generation = next_generation_++;
    q.lease_until_ms = until;
    ++lease_claims_;
    spdlog::debug("node {}: claimed conversation {}", node, c.conversation_id);
    if (!c.taken_from.empty()) {
      ++lease_takeovers_;
      spdlog::info("node {}: took over the delivery of conversation {} from node {}", node,
                   c.conversation_id, c.taken_from);
    }
  }
  for (auto& d : looked->pending) {
    auto it = queues_.find(d.event.conversation_id);
    if (it == queues_.end() || it->second.releasing) continue;
    ConversationQueue& q = it->second;
    if (d.event.seq <= q.last_seq) continue;
    q.last_seq = d.event.seq;
    spdlog::debug("node {}: queued event {} (seq {}) of conversation {} from the store", node,
                  d.event.event_id.value_or(""), d.event.seq, d.event.conversation_id);
    touched.push_back(d.event.conversation_id);
    q.events.push_back(std::move(d));
    ++backlog_;
  }
  for (const auto& id : touched) Start(id);
  leases_held_ = queues_.size();
}

asio::awaitable<void> Dispatcher::StopAndRelease() {
  co_await asio::co_spawn(strand_, StopOnStrand(), asio::use_awaitable);
}

asio::awaitable<void> Dispatcher::StopOnStrand() {
  stopping_ = true;
  look_timer_->cancel();
  std::vector<std::string> ids;
  for (auto& [id, q] : queues_) {
    q.CancelTimer();
    if (!q.in_attempt) ids.push_back(id);
  }
  if (!shared_ || ids.empty()) co_return;
  const std::string node = options_.node_id;
  auto job = [node, ids](Tx& tx) -> Result<bool> {
    auto released = tx.ReleaseDeliveries(node, ids);
    if (!released) return Fail(released.error());
    return true;
  };
  auto released = co_await store_.Write<bool>(job);
  if (released) {
    leases_released_ += ids.size();
    spdlog::info("node {}: released {} delivery lease(s)", node, ids.size());
  } else {
    spdlog::warn("node {}: could not release the delivery leases ({}); they expire on their own",
                 node, released.error().message);
  }
}

}  // namespace parley::delivery

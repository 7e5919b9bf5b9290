#include "storage/postgres/pg_pool.hpp"

#include <fmt/format.h>

namespace parley::storage::postgres {

Pool::Pool(std::string conninfo, size_t max, std::chrono::milliseconds wait)
    : conninfo_(std::move(conninfo)), max_(max == 0 ? 1 : max), wait_(wait) {}

void Pool::Lease::Return() {
  if (pool_ && conn_) pool_->Release(std::move(conn_));
  conn_.reset();
}

void Pool::Lease::Discard() {
  if (pool_ && conn_) {
    conn_.reset();
    pool_->Forget();
  }
}

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock lock(mu_);
  auto free = [&] { return !idle_.empty() || open_ < max_; };
  if (!free()) {
    waits_.fetch_add(1, std::memory_order_relaxed);
    if (!cv_.wait_for(lock, wait_, free)) {
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      return Fail(Errc::kUnavailable, "store_busy",
                  "Every database connection is busy; retry shortly.");
    }
  }
  while (!idle_.empty()) {
    std::unique_ptr<Conn> conn = std::move(idle_.back());
    idle_.pop_back();
    if (conn->Ok()) {
      ++lent_;
      return Lease(this, std::move(conn));
    }
    --open_;  // lost while idle (the server restarted): open a fresh one below
  }
  ++open_;
  ++lent_;
  lock.unlock();
  auto conn = Conn::Connect(conninfo_);
  if (!conn) {
    connect_failures_.fetch_add(1, std::memory_order_relaxed);
    Forget();
    return Fail(conn.error());
  }
  connects_.fetch_add(1, std::memory_order_relaxed);
  return Lease(this, std::move(*conn));
}

void Pool::Release(std::unique_ptr<Conn> conn) {
  {
    std::lock_guard lock(mu_);
    --lent_;
    // A broken connection, or one left inside a transaction by an error path, is not reused.
    if (conn->Ok() && PQtransactionStatus(conn->raw()) == PQTRANS_IDLE) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
      conn.reset();
    }
  }
  cv_.notify_one();
}

void Pool::Forget() {
  {
    std::lock_guard lock(mu_);
    --lent_;
    --open_;
  }
  cv_.notify_one();
}

PoolStats Pool::Stats() const {
  std::lock_guard lock(mu_);
  PoolStats s;
  s.size = open_;
  s.in_use = lent_;
  s.max = max_;
  s.waits = waits_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.connects = connects_.load(std::memory_order_relaxed);
  s.connect_failures = connect_failures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace parley::storage::postgres

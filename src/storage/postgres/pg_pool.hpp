#pragma once
// A bounded pool of PostgreSQL connections. At most `max` connections exist at once; a caller
// that finds none free waits up to the wait timeout and then fails with kUnavailable. A lost
// connection is dropped when it comes back, and the next caller opens a fresh one: the pool
// reconnects by itself once the server is back.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "storage/postgres/pg_conn.hpp"

namespace parley::storage::postgres {

struct PoolStats {
  uint64_t size = 0;      // connections open now
  uint64_t in_use = 0;    // of which lent out
  uint64_t max = 0;       // the bound
  uint64_t waits = 0;     // acquisitions that had to wait for a free connection
  uint64_t timeouts = 0;  // acquisitions that gave up after the wait timeout
  uint64_t connects = 0;  // connections opened (the first ones and reconnects)
  uint64_t connect_failures = 0;
};

class Pool {
 public:
  Pool(std::string conninfo, size_t max, std::chrono::milliseconds wait);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection lent out; goes back to the pool (or is dropped when broken) when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Pool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept {
      Return();
      pool_ = o.pool_;
      conn_ = std::move(o.conn_);
      return *this;
    }
    ~Lease() { Return(); }
    explicit operator bool() const { return conn_ != nullptr; }
    Conn& operator*() { return *conn_; }
    Conn* operator->() { return conn_.get(); }
    // Closes the connection instead of returning it (after an error left it in doubt).
    void Discard();

   private:
    void Return();
    Pool* pool_ = nullptr;
    std::unique_ptr<Conn> conn_;
  };

  Result<Lease> Acquire();
  PoolStats Stats() const;
  const std::string& conninfo() const { return conninfo_; }

 private:
  void Release(std::unique_ptr<Conn> conn);
  void Forget();

  const std::string conninfo_;
  const size_t max_;
  const std::chrono::milliseconds wait_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  size_t open_ = 0;  // idle + lent + being opened
  size_t lent_ = 0;
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> connect_failures_{0};
};

}  // namespace parley::storage::postgres

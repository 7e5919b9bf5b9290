#pragma once
// The PostgreSQL store, for several Parley nodes on one database. The same contract as the
// SQLite store (store.hpp): write jobs are group-committed by one writer thread per node, each
// in its own savepoint, and complete only after COMMIT (synchronous_commit on); read jobs run
// on reader threads, each in a REPEATABLE READ snapshot. Connections come from a bounded pool
// with a wait timeout; a lost server makes Ready() false until a reconnect succeeds, which the
// store tries by itself about once a second.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/postgres/pg_pool.hpp"
#include "storage/secret_box.hpp"
#include "storage/store.hpp"

namespace parley::storage::postgres {

struct PgStoreOptions {
  size_t max_queued_jobs = 20000;  // per queue; beyond it jobs are refused (503)
  size_t max_batch = 500;          // jobs in one group commit
  size_t pool_size = 8;            // connections of this node at most (writer + readers + more)
  size_t readers = 3;              // reader threads
  std::chrono::milliseconds pool_wait{2000};  // how long a job waits for a free connection
  int job_attempts = 4;  // runs of a job that met another node's concurrent work (TakeRetry)
};

class PgStore final : public Store {
 public:
  // Connects, applies migrations (refusing a schema newer than this build) and starts the
  // threads. `conninfo`: a libpq connection string or postgresql:// URL.
  static Result<std::unique_ptr<PgStore>> Open(const std::string& conninfo, SecretBox box,
                                               PgStoreOptions options = {});
  ~PgStore() override;

  bool SubmitWrite(Job job, Done done) override;
  bool SubmitRead(Job job, Done done) override;
  bool Ready() const override { return open_.load() && healthy_.load(); }
  bool Shared() const override { return true; }
  void SetNodeId(const std::string& id) override {
    std::lock_guard lock(node_mu_);
    node_id_ = id;
  }
  std::unique_ptr<Listener> Listen(std::vector<std::string> channels, Notice on_notice) override;
  StoreStats Stats() const override;
  void Close() override;

  PoolStats PoolFigures() const { return pool_.Stats(); }
  // Jobs run again because they met another node's concurrent work.
  uint64_t RetriedJobs() const { return retried_jobs_.load(std::memory_order_relaxed); }
  // Row lock waits a job gave up (RunTransaction): a job after the first of a group commit
  // that met another transaction's row (the jobs before it were committed, it went on in the
  // next transaction), or a first job that waited too long (rolled back and run again).
  uint64_t LockWaitsGivenUp() const { return lock_waits_given_up_.load(std::memory_order_relaxed); }
  Pool& pool() { return pool_; }

 private:
  struct Queued {
    Job job;
    Done done;
  };
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Queued> jobs;
    bool closing = false;
  };

  PgStore(const std::string& conninfo, SecretBox box, PgStoreOptions options);
  bool Submit(Queue& q, Job job, Done done);
  void WriterLoop();
  void ReaderLoop();
  // Runs batch[from..] as one group commit, up to the first job after `from` that met another
  // transaction's row lock: the end of the jobs committed, or nullopt when it did not commit.
  std::optional<size_t> RunTransaction(std::vector<Queued>& batch, size_t from, Pool::Lease& lease);
  // Makes sure the writer holds a working connection; tries at most once a second while the
  // server is unreachable. Updates healthy_.
  bool EnsureConnection(Pool::Lease& lease, bool ping);

  SecretBox box_;
  PgStoreOptions options_;
  Pool pool_;
  Queue writes_;
  Queue reads_;
  std::thread writer_;
  std::vector<std::thread> readers_;
  std::chrono::steady_clock::time_point last_attempt_{};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> committed_jobs_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<uint64_t> queued_writes_{0};
  std::atomic<uint64_t> retried_jobs_{0};
  std::atomic<uint64_t> lock_waits_given_up_{0};
  Histogram batch_time_;
  Histogram commit_time_;
  std::atomic<bool> open_{false};
  std::atomic<bool> healthy_{false};
  std::once_flag close_once_;
  mutable std::mutex node_mu_;
  std::string node_id_;  // under node_mu_
};

// Applies the PostgreSQL migrations not yet recorded in schema_migrations, each in its own
// transaction under an advisory lock (nodes starting together migrate once). Fails with
// schema_too_new when the database has a version this build does not know.
Result<int> Migrate(Conn& conn);

// Checks a postgres:// or postgresql:// URL and returns the libpq connection string Parley
// uses: the URL with a connect timeout and an application name added when it has none.
Result<std::string> ConnInfo(const std::string& url);

}  // namespace parley::storage::postgres

#pragma once
// The embedded store: SQLite in WAL mode, one writer thread with group commit, a syncer thread
// that makes each commit durable before its jobs complete, one reader thread and a
// checkpointer. See store.hpp for the contract.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/secret_box.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/store.hpp"

namespace parley::storage::sqlite {

class SqliteTx;

struct SqliteStoreOptions {
  size_t max_queued_jobs = 20000;  // per queue; beyond it jobs are refused (503)
  size_t max_batch = 2000;         // jobs in one group commit
  // Background write jobs (SubmitBackgroundWrite) in a group commit: they run after the
  // batch's request jobs, for at least `background_share` and as long as the request jobs
  // took; while no request waits, until the batch has run `background_batch`. Requests queued
  // meanwhile go in the next batch, so one waits for at most about one background slice.
  std::chrono::microseconds background_share{4000};
  std::chrono::microseconds background_batch{12000};
  size_t open_conversation_cache = 50000;  // open conversations the writer keeps in memory
  // How often the writer writes the counters of cached conversations (see SqliteTx).
  std::chrono::milliseconds conversation_flush_interval{1000};
  // The checkpointer thread copies the WAL into the database once it holds this many frames
  // (pages); the writer does it itself, between group commits, at four times as many.
  int checkpoint_frames = 4000;
  // Jobs committed but not yet synced by the syncer thread (a file database): past it the
  // writer waits for the fsync before it runs more.
  size_t max_unsynced_jobs = 8000;
  // How the syncer makes the WAL durable: ::fdatasync by default; a test may slow it.
  std::function<int(int fd)> sync;
};

class SqliteStore final : public Store {
 public:
  // Opens the file, applies migrations and starts the threads.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, SecretBox box,
                                                   SqliteStoreOptions options = {});
  ~SqliteStore() override;

  bool SubmitWrite(Job job, Done done) override;
  bool SubmitBackgroundWrite(Job job, Done done) override;
  bool SubmitRead(Job job, Done done) override;
  bool Ready() const override { return ready_.load(); }
  StoreStats Stats() const override;
  void Close() override;

 private:
  struct Queued {
    Job job;
    Done done;
    std::chrono::steady_clock::time_point submitted;
  };
  struct Worker {
    std::unique_ptr<Db> db;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Queued> queue;
    std::deque<Queued> background;  // the writer's background lane (the reader has none)
    bool closing = false;
    std::thread thread;
  };

  SqliteStore(SecretBox box, SqliteStoreOptions options);
  bool Submit(Worker& w, std::deque<Queued> Worker::*lane, Job job, Done done);
  // What one job of a batch took: its time and the rows it wrote (triggers' included).
  struct JobRun {
    std::chrono::steady_clock::duration took{};
    int64_t rows = 0;
    bool operator<(const JobRun& o) const { return took < o.took; }
  };
  // Runs one job of the writer's batch in its own savepoint.
  JobRun RunJob(Queued& q, SqliteTx& tx, Histogram& wait);
  void WriterLoop();
  // Hands a finished batch to the syncer (or completes it at once without one).
  void Complete(std::vector<Queued>& batch, bool committed);
  void SyncLoop();
  void ReaderLoop();
  void CheckpointLoop();

  SecretBox box_;
  SqliteStoreOptions options_;
  Worker writer_;
  Worker reader_;
  // Checkpoints run here, off the writer's path (none for an in-memory database).
  struct Checkpointer {
    std::unique_ptr<Db> db;
    std::mutex mu;
    std::condition_variable cv;
    bool wanted = false;
    std::mutex running;  // held while a checkpoint runs, by this thread or by the writer
    bool closing = false;
    std::thread thread;
  } checkpointer_;
  // Commits are made durable here, off the writer's path (docs/architecture.md, "The
  // syncer"): the writer commits with synchronous=NORMAL (the WAL written, not yet synced) and
  // hands the batch over; this thread fdatasyncs the WAL and only then completes the batch's
  // jobs, in commit order. So an answer still means durable, one fsync serves every batch
  // committed while the last one ran, and the writer runs the next batch meanwhile. None for
  // an in-memory database, or when the WAL cannot be opened (the writer then syncs at COMMIT).
  struct Syncer {
    struct Batch {
      std::vector<Queued> jobs;
      bool committed = false;
    };
    int fd = -1;  // the WAL file
    std::mutex mu;
    std::condition_variable cv;    // batches to sync, or closing
    std::condition_variable room;  // the writer waits here past max_unsynced_jobs
    std::deque<Batch> pending;
    size_t pending_jobs = 0;
    bool closing = false;
    std::thread thread;
  } syncer_;
  std::atomic<int> wal_frames_{0};  // the WAL's size after the last commit
  int next_checkpoint_at_ = 0;      // WAL size that asks for the next checkpoint (writer only)
  std::atomic<bool> checkpoint_ran_{false};  // the checkpointer copied frames: finish the job
  // For Stats(): written by the store's threads, read by anyone.
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> committed_jobs_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> queued_writes_{0};
  std::atomic<uint64_t> dirty_conversations_{0};
  Histogram batch_time_;
  Histogram commit_time_;
  Histogram sync_time_;               // the syncer's fdatasync of the WAL
  Histogram writer_checkpoint_time_;  // checkpoints the writer runs between two batches
  std::atomic<uint64_t> syncs_{0};
  Histogram write_wait_;  // submitted to started, per job
  Histogram background_wait_;
  Histogram read_wait_;
  std::atomic<bool> ready_{false};
  std::once_flag close_once_;
};

// Applies the migrations not yet recorded in schema_migrations, each in its own transaction.
Result<int> Migrate(Db& db);

}  // namespace parley::storage::sqlite

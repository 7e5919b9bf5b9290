#include "storage/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "storage/migrations.hpp"
#include "storage/sqlite/sqlite_secrets.hpp"
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {
// Prepared once and cached: the writer runs these for every job.
constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kSavepoint = "SAVEPOINT job";
constexpr const char* kRollbackTo = "ROLLBACK TO job";
constexpr const char* kRelease = "RELEASE job";
constexpr const char* kCommit = "COMMIT";
// Checkpoint runs in a row the checkpointer makes before it waits for the next request, and
// how few frames must be left for the writer to copy them itself.
constexpr int kCheckpointRuns = 8;
constexpr int kWriterFinishesFrames = 256;
// A group commit at least this long is reported in the log, with what it was made of.
constexpr auto kSlowBatch = std::chrono::milliseconds(100);
}  // namespace

Result<int> Migrate(Db& db) {
  auto created = db.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  if (!created) return Fail(created.error());
  auto current = db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!current) return Fail(current.error());
  int64_t version = 0;
  if ((*current)->Step() == SQLITE_ROW) version = (*current)->Int(0);
  current->reset();
  const int known = Migrations().empty() ? 0 : Migrations().back().version;
  if (version > known)
    return Fail(Errc::kInternal, "schema_too_new",
                fmt::format("The database schema is at version {}, newer than this parley knows "
                            "({}); run the newer parley release, or restore a backup taken "
                            "before the upgrade.",
                            version, known));
  int applied = 0;
  for (const Migration& m : Migrations()) {
    if (m.version <= version) continue;
    auto begin = db.ExecCached(kBegin);
    if (!begin) return Fail(begin.error());
    auto run = db.Exec(m.sql);
    if (run) {
      auto mark = db.Prepare(
          "INSERT INTO schema_migrations (version, name, applied_at) "
          "VALUES (?1, ?2, CAST(strftime('%s','now') AS INTEGER))");
      if (!mark) return Fail(mark.error());
      (*mark)->Bind(1, static_cast<int64_t>(m.version)).Bind(2, m.name);
      run = db.Run(**mark, "record migration");
    }
    if (!run) {
      (void)db.Exec("ROLLBACK");
      return Fail(Errc::kInternal, "migration_failed",
                  fmt::format("Migration {} failed: {}", m.name, run.error().message));
    }
    auto commit = db.ExecCached(kCommit);
    if (!commit) return Fail(commit.error());
    spdlog::info("applied migration {}", m.name);
    ++applied;
  }
  return applied;
}

SqliteStore::SqliteStore(SecretBox box, SqliteStoreOptions options)
    : box_(std::move(box)), options_(options) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, SecretBox box,
                                                       SqliteStoreOptions options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(box), options));
  auto writer = Db::Open(path);
  if (!writer) return Fail(writer.error());
  auto migrated = Migrate(**writer);
  if (!migrated) return Fail(migrated.error());
  // Secrets stored before there was a key (plain:) are sealed now (storage/secrets.hpp). A
  // wrong key is found by the first read of a sealed secret (master_key_mismatch).
  if (store->box_.HasKey()) {
    auto sealed = ResealSecrets(**writer, store->box_, store->box_, /*only_plain=*/true);
    if (!sealed) return Fail(sealed.error());
    if (*sealed > 0) spdlog::info("sealed {} connection secret(s) stored in plain", *sealed);
  }
  auto reader = Db::Open(path);
  if (!reader) return Fail(reader.error());
  store->writer_.db = std::move(*writer);
  store->reader_.db = std::move(*reader);
  if (path != ":memory:") {
    auto checkpointer = Db::Open(path);
    if (!checkpointer) return Fail(checkpointer.error());
    store->checkpointer_.db = std::move(*checkpointer);
    SqliteStore* s = store.get();
    s->next_checkpoint_at_ = options.checkpoint_frames;
    // Runs on the writer thread after each commit. A checkpoint is asked for each time the WAL
    // has grown by another `checkpoint_frames`: asking after every commit past the threshold
    // made the checkpointer run (and fsync the database) hundreds of times a second, each run
    // copying the few frames appended since the last.
    s->writer_.db->OnWalCommit([s](int frames) {
      int before = s->wal_frames_.exchange(frames, std::memory_order_relaxed);
      if (frames < before) s->next_checkpoint_at_ = s->options_.checkpoint_frames;  // rewound
      if (frames < s->next_checkpoint_at_) return;
      s->next_checkpoint_at_ = frames + s->options_.checkpoint_frames;
      {
        std::lock_guard lock(s->checkpointer_.mu);
        s->checkpointer_.wanted = true;
      }
      s->checkpointer_.cv.notify_one();
    });
    store->checkpointer_.thread = std::thread([s] { s->CheckpointLoop(); });
    // The WAL exists once the database is open in WAL mode (the connections keep it until the
    // last one closes). Without it the writer keeps synchronous=FULL: COMMIT syncs itself.
    int fd = ::open((path + "-wal").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      spdlog::warn("cannot open the WAL of '{}' for the syncer ({}); commits sync themselves", path,
                   std::strerror(errno));
    } else if (auto normal = s->writer_.db->Exec("PRAGMA synchronous=NORMAL"); !normal) {
      ::close(fd);
    } else {
      s->syncer_.fd = fd;
      s->syncer_.thread = std::thread([s] { s->SyncLoop(); });
    }
  }
  store->writer_.thread = std::thread([s = store.get()] { s->WriterLoop(); });
  store->reader_.thread = std::thread([s = store.get()] { s->ReaderLoop(); });
  store->ready_ = true;
  return store;
}

SqliteStore::~SqliteStore() { Close(); }

void SqliteStore::Close() {
  std::call_once(close_once_, [this] {
    ready_ = false;
    for (Worker* w : {&writer_, &reader_}) {
      {
        std::lock_guard lock(w->mu);
        w->closing = true;
      }
      w->cv.notify_all();
      if (w->thread.joinable()) w->thread.join();
      if (w == &writer_ && syncer_.thread.joinable()) {  // what the writer committed is synced
        {
          std::lock_guard lock(syncer_.mu);
          syncer_.closing = true;
        }
        syncer_.cv.notify_all();
        syncer_.thread.join();
      }
    }
    if (syncer_.fd >= 0) ::close(syncer_.fd);
    syncer_.fd = -1;
    {
      std::lock_guard lock(checkpointer_.mu);
      checkpointer_.closing = true;
    }
    checkpointer_.cv.notify_all();
    if (checkpointer_.thread.joinable()) checkpointer_.thread.join();
  });
}

bool SqliteStore::Submit(Worker& w, std::deque<Queued> Worker::*lane, Job job, Done done) {
  {
    std::lock_guard lock(w.mu);
    std::deque<Queued>& queue = w.*lane;
    if (w.closing || queue.size() >= options_.max_queued_jobs) return false;
    queue.push_back({std::move(job), std::move(done), std::chrono::steady_clock::now()});
    if (&w == &writer_)
      queued_writes_.store(w.queue.size() + w.background.size(), std::memory_order_relaxed);
  }
  w.cv.notify_one();
  return true;
}

bool SqliteStore::SubmitWrite(Job job, Done done) {
  return Submit(writer_, &Worker::queue, std::move(job), std::move(done));
}

bool SqliteStore::SubmitBackgroundWrite(Job job, Done done) {
  return Submit(writer_, &Worker::background, std::move(job), std::move(done));
}

bool SqliteStore::SubmitRead(Job job, Done done) {
  return Submit(reader_, &Worker::queue, std::move(job), std::move(done));
}

StoreStats SqliteStore::Stats() const {
  StoreStats s;
  s.commits = commits_.load(std::memory_order_relaxed);
  s.jobs = committed_jobs_.load(std::memory_order_relaxed);
  s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
  s.batch = batch_time_.Read();
  s.commit = commit_time_.Read();
  s.sync = sync_time_.Read();
  s.writer_checkpoint = writer_checkpoint_time_.Read();
  s.syncs = syncs_.load(std::memory_order_relaxed);
  s.write_wait = write_wait_.Read();
  s.background_wait = background_wait_.Read();
  s.read_wait = read_wait_.Read();
  s.queued_writes = queued_writes_.load(std::memory_order_relaxed);
  s.wal_frames = static_cast<uint64_t>(std::max(0, wal_frames_.load(std::memory_order_relaxed)));
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.dirty_conversations = dirty_conversations_.load(std::memory_order_relaxed);
  return s;
}

void SqliteStore::WriterLoop() {
  pthread_setname_np(pthread_self(), "parley-writer");
  Db& db = *writer_.db;
  SqliteTx tx(db, box_, options_.open_conversation_cache, options_.conversation_flush_interval);
  std::vector<Queued> batch;
  auto last_slow_report = std::chrono::steady_clock::time_point{};
  for (;;) {
    bool closing = false;
    bool background = false;
    {
      std::unique_lock lock(writer_.mu);
      // Wakes at least once a second, so counters the cache holds back reach the disk.
      writer_.cv.wait_for(lock, std::chrono::seconds(1), [&] {
        return writer_.closing || !writer_.queue.empty() || !writer_.background.empty();
      });
      closing = writer_.closing;
      while (!writer_.queue.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(writer_.queue.front()));
        writer_.queue.pop_front();
      }
      background = !writer_.background.empty();
      queued_writes_.store(writer_.queue.size() + writer_.background.size(),
                           std::memory_order_relaxed);
    }
    auto now = std::chrono::steady_clock::now();
    bool flush_all = closing ? tx.DirtyConversations() > 0 : tx.MustFlushAll();
    bool flush_some = !flush_all && tx.FlushPending(now);
    if (batch.empty() && !background && !flush_all && !flush_some) {
      if (closing) return;  // everything queued has run (and Close waits for its fsync)
      continue;
    }
    bool committed = false;
    auto began = std::chrono::steady_clock::now();
    if (db.ExecCached(kBegin)) {
      size_t flushed_rows = tx.DirtyConversations();
      if ((flush_all || flush_some) && db.ExecCached(kSavepoint)) {
        // A slice in proportion to the batch keeps up with the rows the batch dirties without
        // adding much to its commit; an idle writer writes the whole cycle.
        size_t slice = batch.empty() ? SIZE_MAX : std::max<size_t>(32, 2 * batch.size());
        auto flushed = flush_all ? tx.FlushConversations(now) : tx.FlushSome(now, slice);
        if (!flushed) {
          spdlog::warn("writing conversation counters failed, will retry: {}",
                       flushed.error().message);
          (void)db.ExecCached(kRollbackTo);
        }
        (void)db.ExecCached(kRelease);
      }
      flushed_rows -= std::min(flushed_rows, tx.DirtyConversations());
      auto flush_done = std::chrono::steady_clock::now();
      JobRun slowest;
      for (Queued& q : batch) slowest = std::max(slowest, RunJob(q, tx, write_wait_));
      size_t requests = batch.size();
      // Then background jobs, popped one at a time: for `background_share`, or as long as the
      // request jobs took if longer (so neither lane starves the other), and while no request
      // is waiting, on until the batch has run `background_batch`.
      auto requests_done = std::chrono::steady_clock::now();
      auto share = std::max<std::chrono::steady_clock::duration>(options_.background_share,
                                                                 requests_done - began);
      while (background && batch.size() < options_.max_batch) {
        auto spent = std::chrono::steady_clock::now() - requests_done;
        {
          std::lock_guard lock(writer_.mu);
          bool requests_wait = !writer_.queue.empty();
          if (writer_.background.empty() ||
              (spent >= share && (requests_wait || spent >= options_.background_batch)))
            break;
          batch.push_back(std::move(writer_.background.front()));
          writer_.background.pop_front();
        }
        slowest = std::max(slowest, RunJob(batch.back(), tx, background_wait_));
      }
      auto commit_started = std::chrono::steady_clock::now();
      auto commit = db.ExecCached(kCommit);
      committed = commit.has_value();
      auto ended = std::chrono::steady_clock::now();
      using std::chrono::duration_cast;
      using std::chrono::microseconds;
      commit_time_.Record(duration_cast<microseconds>(ended - commit_started));
      batch_time_.Record(duration_cast<microseconds>(ended - began));
      // A slow group commit holds every request queued behind it: say what it was made of
      // (at most once a second).
      if (ended - began >= kSlowBatch && ended - last_slow_report >= std::chrono::seconds(1)) {
        last_slow_report = ended;
        auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
        spdlog::warn(
            "slow group commit: {:.0f} ms: {} counter rows {:.1f} ms, {} request jobs {:.1f} ms, "
            "{} background jobs {:.1f} ms, the slowest job {:.1f} ms ({} rows written), "
            "COMMIT {:.1f} ms",
            ms(ended - began), flushed_rows, ms(flush_done - began), requests,
            ms(requests_done - flush_done), batch.size() - requests,
            ms(commit_started - requests_done), ms(slowest.took), slowest.rows,
            ms(ended - commit_started));
      }
      if (!committed) {
        spdlog::error("group commit of {} jobs failed: {}", batch.size(), commit.error().message);
        (void)db.Exec("ROLLBACK");
        tx.CommitFailed();
        failed_commits_.fetch_add(1, std::memory_order_relaxed);
      } else {
        commits_.fetch_add(1, std::memory_order_relaxed);
        committed_jobs_.fetch_add(batch.size(), std::memory_order_relaxed);
      }
      dirty_conversations_.store(tx.DirtyConversations(), std::memory_order_relaxed);
    } else {
      spdlog::error("cannot begin a transaction: {}", db.LastError());
    }
    Complete(batch, committed);
    batch.clear();
    // The checkpointer copies frames while the writer appends more, so the WAL is rewound only
    // when a checkpoint finds it fully copied at the start of a transaction. When the
    // checkpointer has left only a few frames, the writer copies them (a short copy and one
    // fsync between two batches), so the next transaction rewinds the WAL and it stays small.
    // If the checkpointer falls behind (or is starved of CPU), the writer copies the rest
    // itself: without waiting at 4x the threshold, waiting for the checkpointer at 8x. That
    // bounds the WAL.
    int frames = wal_frames_.load(std::memory_order_relaxed);
    int threshold = options_.checkpoint_frames;
    bool finish = checkpoint_ran_.exchange(false, std::memory_order_relaxed);
    if (checkpointer_.db && (finish || frames >= 4 * threshold)) {
      // SQLite refuses a second checkpoint at once (no busy wait), so waiting for the
      // checkpointer's is done with our own lock.
      std::unique_lock lock(checkpointer_.running, std::defer_lock);
      bool wait = frames >= 8 * threshold;
      if (wait)
        lock.lock();
      else
        (void)lock.try_lock();
      if (lock.owns_lock()) {
        auto started = std::chrono::steady_clock::now();
        bool copied = wait ? db.CheckpointRestart() : db.CheckpointPassive();
        if (copied) checkpoints_.fetch_add(1, std::memory_order_relaxed);
        writer_checkpoint_time_.Record(std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - started));
      }
    }
  }
}

void SqliteStore::Complete(std::vector<Queued>& batch, bool committed) {
  if (batch.empty()) return;
  if (syncer_.fd < 0) {
    Handoff handoff;  // posts when it goes out of scope
    for (Queued& q : batch) q.done(committed, handoff);
    return;
  }
  std::unique_lock lock(syncer_.mu);
  // Bounded: a stalled disk stops the writer here rather than let committed jobs pile up.
  auto since = std::chrono::steady_clock::now();
  while (syncer_.pending_jobs > 0 &&
         syncer_.pending_jobs + batch.size() > options_.max_unsynced_jobs) {
    if (syncer_.room.wait_for(lock, std::chrono::seconds(1)) == std::cv_status::timeout)
      spdlog::warn(
          "the WAL's fsync has held the writer for {} s; is the disk stalled?",
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since)
              .count());
  }
  syncer_.pending_jobs += batch.size();
  syncer_.pending.push_back({std::move(batch), committed});
  lock.unlock();
  syncer_.cv.notify_one();
}

void SqliteStore::SyncLoop() {
  pthread_setname_np(pthread_self(), "parley-sync");
  std::deque<Syncer::Batch> batches;
  for (;;) {
    {
      std::unique_lock lock(syncer_.mu);
      syncer_.cv.wait(lock, [&] { return syncer_.closing || !syncer_.pending.empty(); });
      if (syncer_.pending.empty()) return;  // closing, and everything handed over is done
      batches.swap(syncer_.pending);
      syncer_.pending_jobs = 0;
    }
    syncer_.room.notify_all();
    // One fdatasync covers every batch committed before it started: their WAL frames were
    // written (by COMMIT) before they were handed over.
    bool synced = true;
    if (std::any_of(batches.begin(), batches.end(), [](const auto& b) { return b.committed; })) {
      auto started = std::chrono::steady_clock::now();
      int rc = options_.sync ? options_.sync(syncer_.fd) : ::fdatasync(syncer_.fd);
      sync_time_.Record(std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started));
      syncs_.fetch_add(1, std::memory_order_relaxed);
      if (rc != 0) {
        // Committed but perhaps not on disk: never answered as durable. The callers are told
        // the store could not record it (they retry; /messages is idempotent by message id).
        synced = false;
        spdlog::error("fsync of the WAL failed: {}; {} batch(es) reported as not recorded",
                      std::strerror(errno), batches.size());
      }
    }
    {
      Handoff handoff;  // posts when it goes out of scope
      for (auto& b : batches)
        for (Queued& q : b.jobs) q.done(b.committed && synced, handoff);
    }
    batches.clear();
  }
}

SqliteStore::JobRun SqliteStore::RunJob(Queued& q, SqliteTx& tx, Histogram& wait) {
  Db& db = *writer_.db;
  auto started = std::chrono::steady_clock::now();
  int64_t rows_before = db.TotalChanges();
  wait.Record(std::chrono::duration_cast<std::chrono::microseconds>(started - q.submitted));
  // Each job has its own savepoint so one failing job leaves the others intact.
  if (!db.ExecCached(kSavepoint)) return {std::chrono::steady_clock::now() - started, 0};
  tx.JobStarted();
  bool ok = false;
  try {
    ok = q.job(tx);
  } catch (const std::exception& e) {
    spdlog::error("store job threw: {}", e.what());
  }
  if (!ok) {
    (void)db.ExecCached(kRollbackTo);
    tx.JobRolledBack();
  }
  (void)db.ExecCached(kRelease);
  return {std::chrono::steady_clock::now() - started, db.TotalChanges() - rows_before};
}

void SqliteStore::CheckpointLoop() {
  pthread_setname_np(pthread_self(), "parley-ckpt");
  for (;;) {
    {
      std::unique_lock lock(checkpointer_.mu);
      // Also every second, so a quiet WAL is folded into the database soon after a burst.
      checkpointer_.cv.wait_for(lock, std::chrono::seconds(1),
                                [&] { return checkpointer_.closing || checkpointer_.wanted; });
      if (checkpointer_.closing) return;
      checkpointer_.wanted = false;
    }
    // Frames the writer appends during a run are copied by the next; each run is shorter than
    // the one before as long as copying outpaces the writer. Once few are left, the writer
    // copies those between two batches, which lets its next transaction rewind the WAL.
    std::lock_guard running(checkpointer_.running);
    for (int run = 0; run < kCheckpointRuns; ++run) {
      int left = 0;
      if (!checkpointer_.db->CheckpointPassive(&left)) break;
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
      if (left <= kWriterFinishesFrames) {
        checkpoint_ran_.store(true, std::memory_order_relaxed);
        break;
      }
    }
  }
}

void SqliteStore::ReaderLoop() {
  pthread_setname_np(pthread_self(), "parley-reader");
  Db& db = *reader_.db;
  SqliteTx tx(db, box_);
  for (;;) {
    Queued q;
    {
      std::unique_lock lock(reader_.mu);
      reader_.cv.wait(lock, [&] { return reader_.closing || !reader_.queue.empty(); });
      if (reader_.queue.empty()) return;
      q = std::move(reader_.queue.front());
      reader_.queue.pop_front();
    }
    read_wait_.Record(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - q.submitted));
    bool ok = db.Exec("BEGIN").has_value();
    if (ok) {
      try {
        q.job(tx);
      } catch (const std::exception& e) {
        spdlog::error("store read job threw: {}", e.what());
      }
      (void)db.Exec("COMMIT");
    }
    Handoff handoff;
    q.done(ok, handoff);
  }
}

}  // namespace parley::storage::sqlite

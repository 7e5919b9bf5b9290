#include "storage/postgres/pg_store.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "storage/migrations.hpp"
#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

// Any constant: the key of the advisory lock that serialises migrations between nodes.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7023155001)";
constexpr const char* kSchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr const char* kRecordMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) "
    "VALUES ($1, $2, (extract(epoch FROM now()))::bigint)";

Result<int64_t> SchemaVersion(Conn& conn) {
  auto v = conn.Query(kSchemaVersion, {});
  if (!v) return Fail(v.error());
  return v->empty() ? int64_t{0} : v->Int(0, 0);
}

}  // namespace

Result<int> Migrate(Conn& conn) {
  const auto& all = PostgresMigrations();
  const int known = all.empty() ? 0 : all.back().version;
  auto prepared = conn.Exec(
      "BEGIN; SELECT pg_advisory_xact_lock(7023155001); "
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at BIGINT NOT NULL); COMMIT");
  if (!prepared) {
    (void)conn.Exec("ROLLBACK");
    return Fail(prepared.error());
  }
  auto current = SchemaVersion(conn);
  if (!current) return Fail(current.error());
  if (*current > known)
    return Fail(Errc::kInternal, "schema_too_new",
                fmt::format("The database schema is at version {}, newer than this parley knows "
                            "({}); run the newer parley release, or restore a backup taken "
                            "before the upgrade.",
                            *current, known));
  int applied = 0;
  for (const Migration& m : all) {
    if (m.version <= *current) continue;
    auto begin = conn.Exec("BEGIN");
    if (!begin) return Fail(begin.error());
    auto step = [&]() -> Result<bool> {
      auto locked = conn.Query(kMigrationLock, {});
      if (!locked) return Fail(locked.error());
      auto now = SchemaVersion(conn);  // another node may have applied it while we waited
      if (!now) return Fail(now.error());
      if (*now >= m.version) return false;
      auto run = conn.Exec(m.sql);
      if (!run) return Fail(run.error());
      auto mark =
          conn.Run(kRecordMigration, Params().Add(static_cast<int64_t>(m.version)).Add(m.name));
      if (!mark) return Fail(mark.error());
      return true;
    };
    auto ran = step();
    if (!ran) {
      (void)conn.Exec("ROLLBACK");
      return Fail(Errc::kInternal, "migration_failed",
                  fmt::format("Migration {} failed: {}", m.name, ran.error().message));
    }
    auto commit = conn.Exec("COMMIT");
    if (!commit) return Fail(commit.error());
    if (*ran) {
      spdlog::info("applied migration {} (PostgreSQL)", m.name);
      ++applied;
    }
  }
  return applied;
}

Result<std::string> ConnInfo(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "unreadable";
    PQfreemem(err);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Fail(Errc::kInvalidArgument, "invalid_database",
                fmt::format("The PostgreSQL URL cannot be read ({}); give it as "
                            "postgresql://user@host:5432/dbname?sslmode=require.",
                            msg));
  }
  bool has_timeout = false;
  bool has_name = false;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    if (std::string_view(o->keyword) == "connect_timeout") has_timeout = true;
    if (std::string_view(o->keyword) == "application_name") has_name = true;
  }
  PQconninfoFree(opts);
  std::string out = url;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  if (!has_timeout) {
    out += sep;
    out += "connect_timeout=5";
    sep = '&';
  }
  if (!has_name) {
    out += sep;
    out += "application_name=parley";
  }
  return out;
}

PgStore::PgStore(const std::string& conninfo, SecretBox box, PgStoreOptions options)
    : box_(std::move(box)),
      options_(options),
      pool_(conninfo, options.pool_size, options.pool_wait) {}

Result<std::unique_ptr<PgStore>> PgStore::Open(const std::string& conninfo, SecretBox box,
                                               PgStoreOptions options) {
  std::unique_ptr<PgStore> store(new PgStore(conninfo, std::move(box), options));
  {
    auto lease = store->pool_.Acquire();
    if (!lease) return Fail(lease.error());
    auto migrated = Migrate(**lease);
    if (!migrated) {
      lease->Discard();
      return Fail(migrated.error());
    }
  }
  store->healthy_ = true;
  store->open_ = true;
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  for (size_t i = 0; i < std::max<size_t>(1, options.readers); ++i)
    store->readers_.emplace_back([s = store.get()] { s->ReaderLoop(); });
  return store;
}

PgStore::~PgStore() { Close(); }

void PgStore::Close() {
  std::call_once(close_once_, [this] {
    open_ = false;
    for (Queue* q : {&writes_, &reads_}) {
      {
        std::lock_guard lock(q->mu);
        q->closing = true;
      }
      q->cv.notify_all();
    }
    if (writer_.joinable()) writer_.join();
    for (auto& t : readers_)
      if (t.joinable()) t.join();
  });
}

bool PgStore::Submit(Queue& q, Job job, Done done) {
  {
    std::lock_guard lock(q.mu);
    if (q.closing || q.jobs.size() >= options_.max_queued_jobs) return false;
    q.jobs.push_back({std::move(job), std::move(done)});
    if (&q == &writes_) queued_writes_.store(q.jobs.size(), std::memory_order_relaxed);
  }
  q.cv.notify_one();
  return true;
}

bool PgStore::SubmitWrite(Job job, Done done) {
  return Submit(writes_, std::move(job), std::move(done));
}

bool PgStore::SubmitRead(Job job, Done done) {
  return Submit(reads_, std::move(job), std::move(done));
}

StoreStats PgStore::Stats() const {
  StoreStats s;
  s.commits = commits_.load(std::memory_order_relaxed);
  s.jobs = committed_jobs_.load(std::memory_order_relaxed);
  s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
  s.batch = batch_time_.Read();
  s.commit = commit_time_.Read();
  s.queued_writes = queued_writes_.load(std::memory_order_relaxed);
  PoolStats p = pool_.Stats();
  s.pool_max = p.max;
  s.pool_connections = p.size;
  s.pool_in_use = p.in_use;
  s.pool_waits = p.waits;
  s.pool_timeouts = p.timeouts;
  s.pool_connects = p.connects;
  s.retried_jobs = retried_jobs_.load(std::memory_order_relaxed);
  return s;
}

bool PgStore::EnsureConnection(Pool::Lease& lease, bool ping) {
  if (lease && lease->Ok()) {
    if (!ping) return true;
    if (lease->Exec("SELECT 1")) {
      healthy_ = true;
      return true;
    }
  }
  if (lease) lease.Discard();
  lease = Pool::Lease();
  auto now = std::chrono::steady_clock::now();
  // While the server is away, one connection attempt a second; jobs in between fail at once.
  if (!healthy_ && now - last_attempt_ < std::chrono::seconds(1)) return false;
  last_attempt_ = now;
  auto fresh = pool_.Acquire();
  if (!fresh) {
    if (healthy_.exchange(false))
      spdlog::error("PostgreSQL unreachable: {}", fresh.error().message);
    return false;
  }
  lease = std::move(*fresh);
  if (!healthy_.exchange(true)) spdlog::info("PostgreSQL reachable again");
  return true;
}

namespace {
// How long a writer's job may wait for a row lock (see RunTransaction): the first job of a
// transaction a little longer each time it gave up (the last is the session's 10 s); the jobs
// after it only briefly.
constexpr const char* kFirstJobPatience[] = {"SET LOCAL lock_timeout = '20ms'",
                                             "SET LOCAL lock_timeout = '200ms'",
                                             "SET LOCAL lock_timeout = '10s'"};
constexpr int kPatienceLevels = 3;
constexpr const char* kLaterJobPatience = "SET LOCAL lock_timeout = '5ms'";
// The COMMIT waits with the session's patience: a transaction that sent a notification
// (pg_notify: the events announced to the other nodes) takes PostgreSQL's lock on the
// notification queue as it commits, held until another node's commit with notifications is
// done (its WAL flush). A job's 5 ms there failed whole group commits, answered 503, whenever
// that flush was slow (the multinode race test, on a loaded machine). It cannot deadlock: the
// lock is taken last, by a transaction that waits for nothing else.
constexpr const char* kCommit = "SET LOCAL lock_timeout = '10s'; COMMIT";
}  // namespace

std::optional<size_t> PgStore::RunTransaction(std::vector<Queued>& batch, size_t from,
                                              Pool::Lease& lease) {
  if (!lease->Exec("BEGIN")) {
    // A connection that died while idle (the server restarted) shows only when used; nothing
    // ran yet, so the batch can go to a fresh one.
    if (lease->Ok() || !EnsureConnection(lease, false) || !lease->Exec("BEGIN"))
      return std::nullopt;
  }
  Conn& conn = *lease;
  PgTx tx(conn, box_, true);
  {
    std::lock_guard lock(node_mu_);
    tx.SetNodeId(node_id_);
  }
  // The lock rule between nodes (docs/architecture.md, "The lock order between nodes"): a
  // writer never waits long for a row lock while it holds rows another node may be waiting
  // for. A group commit holds the rows of all its jobs until COMMIT, and jobs take rows in
  // different orders (a conversation's row, the queue's statistics row, an agent's event
  // head), so two nodes' transactions could otherwise wait for each other: a deadlock, which
  // PostgreSQL breaks only after deadlock_timeout (1 s).
  // - A job after the first waits at most 5 ms. One that meets a row another transaction holds
  //   is rolled back to its savepoint; the jobs before it are committed (freeing their rows)
  //   and it starts the next transaction as its first job.
  // - The first job waits 20 ms, then 200 ms, then the session's lock_timeout: each time it
  //   gives up it is rolled back to its savepoint (freeing what it took) and run again, so the
  //   other transaction, if it was waiting for this job's rows, goes on meanwhile.
  size_t i = from;
  for (; i < batch.size(); ++i) {
    Queued& q = batch[i];
    bool split = false;
    int patience = 0;
    if (i == from && !conn.Exec(kFirstJobPatience[0])) return std::nullopt;
    for (int attempt = 1;; ++attempt) {
      // Each job has its own savepoint so one failing job leaves the others intact.
      if (!conn.Exec("SAVEPOINT job")) return std::nullopt;
      tx.JobStarted();
      (void)conn.TakeLockTimeout();
      bool ok = false;
      try {
        ok = q.job(tx);
      } catch (const std::exception& e) {
        spdlog::error("store job threw: {}", e.what());
      }
      if (!conn.Ok()) return std::nullopt;
      // A job that met a lock timeout failed, even if it swallowed the error: the transaction
      // is aborted up to its savepoint.
      bool timed_out = conn.TakeLockTimeout();
      if (ok && !timed_out) {
        if (!conn.Exec("RELEASE SAVEPOINT job")) return std::nullopt;
        break;
      }
      bool again = tx.TakeRetry() && attempt < options_.job_attempts;
      if (!conn.Exec("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")) return std::nullopt;
      if (timed_out && i > from) {
        split = true;
        break;
      }
      if (timed_out && patience + 1 < kPatienceLevels) {
        lock_waits_given_up_.fetch_add(1, std::memory_order_relaxed);
        if (!conn.Exec(kFirstJobPatience[++patience])) return std::nullopt;
        --attempt;  // not a run of the job's own attempts
        continue;
      }
      if (!again) break;
      retried_jobs_.fetch_add(1, std::memory_order_relaxed);
    }
    if (split) {
      lock_waits_given_up_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    if (i == from && !conn.Exec(kLaterJobPatience)) return std::nullopt;
  }
  auto commit_started = std::chrono::steady_clock::now();
  auto commit = conn.Exec(kCommit);
  commit_time_.Record(std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - commit_started));
  if (!commit) {
    spdlog::error("group commit of {} jobs failed: {}", i - from, commit.error().message);
    return std::nullopt;
  }
  return i;
}

void PgStore::WriterLoop() {
  pthread_setname_np(pthread_self(), "parley-pgwriter");
  Pool::Lease lease;
  std::vector<Queued> batch;
  for (;;) {
    bool closing = false;
    {
      std::unique_lock lock(writes_.mu);
      // Wakes at least once a second to see that the server is still there (Ready()).
      writes_.cv.wait_for(lock, std::chrono::seconds(1),
                          [&] { return writes_.closing || !writes_.jobs.empty(); });
      closing = writes_.closing;
      while (!writes_.jobs.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(writes_.jobs.front()));
        writes_.jobs.pop_front();
      }
      queued_writes_.store(writes_.jobs.size(), std::memory_order_relaxed);
    }
    if (batch.empty()) {
      if (closing) return;  // everything queued has run
      (void)EnsureConnection(lease, true);
      continue;
    }
    // The batch runs as one group commit, or as several when a job after the first meets a
    // row lock of another node (RunTransaction).
    for (size_t from = 0; from < batch.size();) {
      std::optional<size_t> to;
      auto began = std::chrono::steady_clock::now();
      if (EnsureConnection(lease, false)) {
        to = RunTransaction(batch, from, lease);
        batch_time_.Record(std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - began));
        if (!to) {
          failed_commits_.fetch_add(1, std::memory_order_relaxed);
          if (lease->Ok()) {
            (void)lease->Exec("ROLLBACK");
          } else {
            healthy_ = false;
            spdlog::error("PostgreSQL connection lost; {} jobs failed", batch.size() - from);
          }
        } else {
          healthy_ = true;
          commits_.fetch_add(1, std::memory_order_relaxed);
          committed_jobs_.fetch_add(*to - from, std::memory_order_relaxed);
        }
      }
      size_t end = to ? *to : batch.size();
      {
        Handoff handoff;  // posts when it goes out of scope
        for (size_t i = from; i < end; ++i) batch[i].done(to.has_value(), handoff);
      }
      from = end;
    }
    batch.clear();
  }
}

void PgStore::ReaderLoop() {
  pthread_setname_np(pthread_self(), "parley-pgreader");
  for (;;) {
    Queued q;
    {
      std::unique_lock lock(reads_.mu);
      reads_.cv.wait(lock, [&] { return reads_.closing || !reads_.jobs.empty(); });
      if (reads_.jobs.empty()) return;
      q = std::move(reads_.jobs.front());
      reads_.jobs.pop_front();
    }
    bool ok = false;
    // While the server is away reads fail at once; the writer finds out when it is back. A
    // connection that died while idle shows only when used: then the read runs once more on
    // a fresh one.
    for (int attempt = 0; attempt < 2 && !ok && healthy_; ++attempt) {
      auto lease = pool_.Acquire();
      if (!lease) break;
      Conn& conn = **lease;
      if (!conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ")) {
        if (conn.Ok()) break;
        continue;
      }
      PgTx tx(conn, box_, false);
      try {
        q.job(tx);
      } catch (const std::exception& e) {
        spdlog::error("store read job threw: {}", e.what());
      }
      if (!conn.Exec("COMMIT")) (void)conn.Exec("ROLLBACK");
      ok = conn.Ok();
      if (!ok) {
        healthy_ = false;
        break;
      }
    }
    Handoff handoff;
    q.done(ok, handoff);
  }
}

}  // namespace parley::storage::postgres

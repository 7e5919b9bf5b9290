#include "storage/sqlite/db.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "storage/sqlite/page_cache.hpp"

namespace parley::storage::sqlite {
namespace {

// SQL text and SQLite's messages are for the operator, not for API callers: the details go to
// the log, the caller gets a sentence that says what happened and what to do.
Error StoreFailure(const std::string& detail) {
  spdlog::error("database: {}", detail);
  return {Errc::kInternal, "store_error",
          "The database could not do this; the details are in the server's log. Retry later."};
}

}  // namespace

void Db::ConfigureLibrary() {
  // Settable only before SQLite initialises, so once, before the first open; later calls
  // would be refused. SQLite's memory statistics take a process-wide mutex on every
  // allocation (two per row written, a few percent of the writer's time); nothing here reads
  // them. The page cache: page_cache.hpp.
  static const bool kConfigured = [] {
    bool quiet = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    bool cache = InstallPageCache();
    if (!cache) spdlog::warn("database: SQLite's page cache runs without parley's wrapper");
    return quiet && cache;
  }();
  (void)kConfigured;
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  ConfigureLibrary();
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return Fail(Errc::kUnavailable, "store_open_failed",
                fmt::format("Cannot open the database '{}': {}.", path, msg));
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  // FULL: a commit is on disk before the store reports it, so 200 means durable.
  auto pragmas = db->Exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
      "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;");
  if (!pragmas) return Fail(pragmas.error());
  return db;
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  for (auto& [sql, stmt] : text_cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<void> Db::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Fail(StoreFailure(fmt::format("SQL failed: {}", msg)));
  }
  return {};
}

Result<std::unique_ptr<Stmt>> Db::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
      return Fail(StoreFailure(fmt::format("preparing SQL failed: {}", sqlite3_errmsg(db_))));
    it = cache_.emplace(sql, stmt).first;
  }
  return std::make_unique<Stmt>(it->second);
}

Result<std::unique_ptr<Stmt>> Db::PrepareText(std::string_view sql) {
  auto it = text_cache_.find(sql);
  if (it == text_cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &stmt, nullptr) != SQLITE_OK)
      return Fail(StoreFailure(fmt::format("preparing SQL failed: {}", sqlite3_errmsg(db_))));
    it = text_cache_.emplace(std::string(sql), stmt).first;
  }
  return std::make_unique<Stmt>(it->second);
}

Db::StepCounts Db::Steps() const {
  StepCounts out;
  auto add = [&out](sqlite3_stmt* stmt) {
    out.vm += sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 0);
    out.fullscan += sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
  };
  for (const auto& [sql, stmt] : cache_) add(stmt);
  for (const auto& [sql, stmt] : text_cache_) add(stmt);
  return out;
}

std::vector<std::string> Db::PreparedSql() const {
  std::vector<std::string> out;
  out.reserve(cache_.size() + text_cache_.size());
  for (const auto& [sql, stmt] : cache_) out.emplace_back(sql);
  for (const auto& [sql, stmt] : text_cache_) out.emplace_back(sql);
  return out;
}

Result<std::vector<std::string>> Db::QueryPlan(const std::string& sql) {
  std::string explain = "EXPLAIN QUERY PLAN " + sql;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, explain.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    return Fail(StoreFailure(fmt::format("explaining SQL failed: {}", sqlite3_errmsg(db_))));
  std::vector<std::string> out;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* detail = sqlite3_column_text(stmt, 3);
    out.emplace_back(detail ? reinterpret_cast<const char*>(detail) : "");
  }
  sqlite3_finalize(stmt);
  return out;
}

Result<void> Db::ExecCached(const char* sql) {
  auto stmt = Prepare(sql);
  if (!stmt) return Fail(stmt.error());
  return Run(**stmt, sql);
}

Result<void> Db::Run(Stmt& stmt, std::string_view what) {
  int rc = stmt.Step();
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
  if ((rc & 0xff) == SQLITE_CONSTRAINT)
    return Fail(Errc::kConflict, "conflict", fmt::format("{}: {}", what, sqlite3_errmsg(db_)));
  return Fail(StoreFailure(fmt::format("{}: {}", what, sqlite3_errmsg(db_))));
}

void Db::OnWalCommit(std::function<void(int frames)> hook) {
  wal_hook_ = std::move(hook);
  // Replaces the automatic checkpoint (sqlite3_wal_autocheckpoint installs the same hook).
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<Db*>(self)->wal_hook_(frames);
        return SQLITE_OK;
      },
      this);
}

bool Db::CheckpointRestart() {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  return rc == SQLITE_OK;
}

bool Db::CheckpointPassive(int* left) {
  int log = 0;
  int copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (left) *left = log > copied ? log - copied : 0;
  return rc == SQLITE_OK;
}

}  // namespace parley::storage::sqlite

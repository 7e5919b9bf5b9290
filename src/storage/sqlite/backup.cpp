#include "storage/sqlite/backup.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string_view>
#include <thread>

#include "storage/sqlite/db.hpp"

namespace parley::storage::sqlite {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSqliteScheme = "sqlite://";
constexpr std::string_view kHasSchema =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Conn = std::unique_ptr<sqlite3, Closer>;

Result<Conn> OpenConn(const std::string& path, int flags, std::string_view what) {
  Db::ConfigureLibrary();
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Conn db(raw);
  if (rc != SQLITE_OK)
    return Fail(Errc::kUnavailable, "backup_failed",
                fmt::format("Opening the {} {} failed: {}.", what, path,
                            raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

Result<void> Exec(sqlite3* db, const char* sql, std::string_view step) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return Fail(Errc::kUnavailable, "backup_failed", fmt::format("{}: {}.", step, message));
  }
  return {};
}

// The first column of the first row of `sql` as text ("" when there is none).
Result<std::string> Scalar(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK)
    return Fail(Errc::kUnavailable, "backup_failed",
                fmt::format("Reading the database failed: {}.", sqlite3_errmsg(db)));
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  int rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW)
    return Fail(Errc::kUnavailable, "backup_failed",
                fmt::format("Reading the database failed: {}.", sqlite3_errmsg(db)));
  const auto* text = sqlite3_column_text(raw, 0);
  return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

// A Parley database that passes quick_check (when `quick_check`: it reads every page).
Result<void> CheckParleyDb(sqlite3* db, const std::string& path, bool quick_check = true) {
  auto has = Scalar(db, kHasSchema);
  if (!has || *has != "1")
    return Fail(Errc::kInvalidArgument, "invalid_backup",
                fmt::format("{} is not a Parley database (no schema_migrations table).", path));
  if (!quick_check) return {};
  auto check = Scalar(db, "PRAGMA quick_check");
  if (!check) return Fail(check.error());
  if (*check != "ok")
    return Fail(Errc::kInvalidArgument, "invalid_backup",
                fmt::format("{} fails SQLite's quick_check: {}", path, *check));
  return {};
}

// Copies every page of src's main database into dst's, in one step (one read transaction on
// src, one write transaction on dst). Retries while the source or target is briefly locked.
Result<int64_t> CopyPages(sqlite3* dst, sqlite3* src) {
  for (int attempt = 0;; ++attempt) {
    sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
      return Fail(Errc::kUnavailable, "backup_failed",
                  fmt::format("Starting the copy failed: {}.", sqlite3_errmsg(dst)));
    int rc = sqlite3_backup_step(b, -1);
    int64_t pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE) return pages;
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempt < 100) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    return Fail(Errc::kUnavailable, "backup_failed",
                fmt::format("Copying the pages failed: {}.", sqlite3_errstr(rc)));
  }
}

Result<void> SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    return Fail(Errc::kUnavailable, "backup_failed", fmt::format("fsync of {} failed.", path));
  }
  ::close(fd);
  return {};
}

int64_t Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

}  // namespace

Result<std::string> SqlitePathOf(const std::string& url) {
  if (url.starts_with(kSqliteScheme)) {
    std::string path = url.substr(kSqliteScheme.size());
    if (path.empty())
      return Fail(Errc::kInvalidArgument, "invalid_database",
                  "Give the database as sqlite:///absolute/path/parley.db.");
    return path;
  }
  if (url.find("://") != std::string::npos || url.empty())
    return Fail(Errc::kInvalidArgument, "invalid_database",
                fmt::format("'{}' is not a SQLite database: backup and restore take "
                            "sqlite:///path/parley.db (PostgreSQL has its own tools).",
                            url));
  return url;
}

Result<BackupInfo> Backup(const std::string& db_path, const std::string& to, bool overwrite) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::exists(db_path, ec))
    return Fail(Errc::kNotFound, "not_found", fmt::format("There is no database at {}.", db_path));
  if (fs::exists(to, ec) && !overwrite)
    return Fail(Errc::kConflict, "file_exists",
                fmt::format("{} exists; pick a new file name (or pass --force).", to));
  // Read-write, so a WAL database's -shm can be used alongside the running server; nothing is
  // written through this connection.
  auto src = OpenConn(db_path, SQLITE_OPEN_READWRITE, "database");
  if (!src) return Fail(src.error());
  if (auto ok = CheckParleyDb(src->get(), db_path, /*quick_check=*/false); !ok)
    return Fail(ok.error());
  std::string partial = to + ".partial";
  fs::remove(partial, ec);
  int64_t pages = 0;
  {
    auto dst = OpenConn(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "backup file");
    if (!dst) return Fail(dst.error());
    auto copied = CopyPages(dst->get(), src->get());
    if (!copied) {
      dst->reset();
      fs::remove(partial, ec);
      return Fail(copied.error());
    }
    pages = *copied;
    // A backup is one self-contained file: no -wal beside it.
    if (auto r = Exec(dst->get(), "PRAGMA journal_mode=DELETE", "Finishing the backup file"); !r)
      return Fail(r.error());
    if (auto r = CheckParleyDb(dst->get(), partial); !r) {
      dst->reset();
      fs::remove(partial, ec);
      return Fail(r.error());
    }
  }
  if (auto r = SyncFile(partial); !r) return Fail(r.error());
  fs::rename(partial, to, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "backup_failed",
                fmt::format("Renaming {} to {} failed: {}.", partial, to, ec.message()));
  BackupInfo info;
  info.pages = pages;
  info.bytes = static_cast<int64_t>(fs::file_size(to, ec));
  info.millis = Since(t0);
  return info;
}

Result<BackupInfo> Restore(const std::string& from, const std::string& db_path, bool overwrite) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::exists(from, ec))
    return Fail(Errc::kNotFound, "not_found", fmt::format("There is no backup at {}.", from));
  auto src = OpenConn(from, SQLITE_OPEN_READONLY, "backup");
  if (!src) return Fail(src.error());
  if (auto r = CheckParleyDb(src->get(), from); !r) return Fail(r.error());
  bool exists = fs::exists(db_path, ec);
  if (exists && !overwrite)
    return Fail(Errc::kConflict, "target_exists",
                fmt::format("{} exists; pass --force to replace it with the backup.", db_path));
  auto dst = OpenConn(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "database");
  if (!dst) return Fail(dst.error());
  sqlite3_busy_timeout(dst->get(), 0);
  // A running server keeps a shared lock on its database (WAL mode holds it while connected):
  // an exclusive lock here fails at once instead of pulling the data from under it.
  if (auto r = Exec(dst->get(), "PRAGMA locking_mode=EXCLUSIVE", "Locking the database"); !r)
    return Fail(r.error());
  if (exists) {
    if (auto r = Exec(dst->get(), "BEGIN EXCLUSIVE; COMMIT", "Locking the database"); !r)
      return Fail(Errc::kConflict, "server_running",
                  fmt::format("{} is in use (a server is running on it?); stop the server first.",
                              db_path));
  }
  auto copied = CopyPages(dst->get(), src->get());
  if (!copied) return Fail(copied.error());
  if (auto r = CheckParleyDb(dst->get(), db_path); !r) return Fail(r.error());
  // The backup was written in rollback-journal mode; the server puts WAL back on start.
  dst->reset();
  BackupInfo info;
  info.pages = *copied;
  info.bytes = static_cast<int64_t>(fs::file_size(db_path, ec));
  info.millis = Since(t0);
  return info;
}

}  // namespace parley::storage::sqlite

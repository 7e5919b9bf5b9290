#pragma once
// Online backup and restore of a SQLite database with SQLite's backup API: `parley backup` copies
// a running server's database into a file (one read transaction, so the copy is consistent, and
// under WAL the server keeps writing meanwhile); `parley restore` copies such a file back into a
// stopped server's database. Both are blocking calls meant for the CLI; thread-safe (each opens
// its own connections).

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace parley::storage::sqlite {

// The file path of a `sqlite:///abs/path` or `sqlite://rel/path` URL (a bare path is taken as
// is). Fails with invalid_database for another URL.
Result<std::string> SqlitePathOf(const std::string& url);

struct BackupInfo {
  int64_t bytes = 0;   // size of the written file
  int64_t pages = 0;   // database pages copied
  int64_t millis = 0;  // how long the copy took
};

// Copies the database at `db_path` (which must exist and hold Parley's schema) into `to`, written
// to `to + ".partial"` first and renamed once complete and checked (PRAGMA quick_check), so `to`
// is never a half-written file. Refuses an existing `to` unless `overwrite`.
// Errors: not_found (no database), file_exists, invalid_backup (not a Parley database or
// failed check), backup_failed (an I/O or SQLite error; the message says which step).
Result<BackupInfo> Backup(const std::string& db_path, const std::string& to, bool overwrite);

// Puts the backup `from` back as the database at `db_path`. The backup is checked first (a
// Parley database passing quick_check). The server must be stopped: the target is locked
// exclusively, and a target held open by a running server is refused (server_running). A
// target that exists is refused unless `overwrite` (target_exists). The copy is one write
// transaction on the target (its WAL is checkpointed and truncated afterwards), so a crash
// leaves either the old database or the restored one.
Result<BackupInfo> Restore(const std::string& from, const std::string& db_path, bool overwrite);

}  // namespace parley::storage::sqlite

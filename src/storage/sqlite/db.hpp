#pragma once
// A thin RAII layer over one sqlite3 connection: prepared-statement cache, typed binding and
// reading. Not thread-safe: one Db per thread.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace parley::storage::sqlite {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, bool v) { return Bind(i, static_cast<int64_t>(v ? 1 : 0)); }
  // Named apart from Bind so that an int argument never becomes ambiguous.
  Stmt& BindReal(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  template <class T>
  Stmt& Bind(int i, const std::optional<T>& v) {
    if (v) return Bind(i, *v);
    sqlite3_bind_null(s_, i);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(s_); }

  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::optional<std::string> OptText(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return Text(col);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Real(int col) const { return sqlite3_column_double(s_, col); }
  std::optional<int64_t> OptInt(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return Int(col);
  }

 private:
  sqlite3_stmt* s_;
};

class Db {
 public:
  // Opens (creating) the file and sets WAL, synchronous=FULL, foreign keys, busy timeout.
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  // The process-wide SQLite settings (before SQLite initialises; once, whoever calls first):
  // Open calls it, and so must any other code that opens SQLite itself.
  static void ConfigureLibrary();
  ~Db();

  // Runs SQL without results (may hold several statements).
  Result<void> Exec(std::string_view sql);
  // A cached prepared statement, reset when the returned Stmt goes out of scope.
  Result<std::unique_ptr<Stmt>> Prepare(const char* sql);
  // The same for SQL built at run time (a few shapes of one statement): cached by its text.
  Result<std::unique_ptr<Stmt>> PrepareText(std::string_view sql);
  // Runs one statement without parameters through the statement cache (no parse per call).
  Result<void> ExecCached(const char* sql);
  // Steps a statement expected to finish without rows.
  Result<void> Run(Stmt& stmt, std::string_view what);
  std::string LastError() const { return sqlite3_errmsg(db_); }
  // Turns off SQLite's own checkpoint after each commit and calls `hook` with the WAL's size
  // in frames instead, so that checkpoints can run on another thread.
  void OnWalCommit(std::function<void(int frames)> hook);
  // A PASSIVE checkpoint: copies committed WAL frames into the database file without waiting
  // for (or blocking) the writer. False when another checkpoint is running or on error.
  // `left` (optional) receives the frames it could not copy yet.
  bool CheckpointPassive(int* left = nullptr);
  // A RESTART checkpoint: waits (up to the busy timeout) for a running checkpoint and for
  // readers of old WAL frames, copies everything, and lets the next transaction rewind the WAL.
  bool CheckpointRestart();
  int64_t Changes() const { return sqlite3_changes64(db_); }
  // Rows inserted, updated or deleted since the connection opened, trigger programs' included.
  int64_t TotalChanges() const { return sqlite3_total_changes64(db_); }

  // What the cached statements did so far: virtual-machine steps (all work, triggers included)
  // and steps of full table scans. The scan guard of the unit tests reads them.
  struct StepCounts {
    int64_t vm = 0;
    int64_t fullscan = 0;
  };
  StepCounts Steps() const;
  // The SQL of every cached statement.
  std::vector<std::string> PreparedSql() const;
  // EXPLAIN QUERY PLAN of `sql`: one line a step ("SEARCH conversations USING INDEX …").
  Result<std::vector<std::string>> QueryPlan(const std::string& sql);
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> cache_;
  std::map<std::string, sqlite3_stmt*, std::less<>> text_cache_;  // PrepareText's
  std::function<void(int)> wal_hook_;
};

}  // namespace parley::storage::sqlite

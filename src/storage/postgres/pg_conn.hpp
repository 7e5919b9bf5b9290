#pragma once
// A thin RAII layer over one libpq connection: statements prepared once per connection (cached
// by the address of their SQL constant), text parameters, typed reading of rows, and errors
// mapped to Result. Not thread-safe: one Conn is used by one thread at a time.

#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace parley::storage::postgres {

// Positional parameters ($1, $2, ...) in text form; nullopt is SQL NULL.
class Params {
 public:
  Params& Add(std::string_view v) {
    values_.emplace_back(std::string(v));
    return *this;
  }
  Params& Add(const std::string& v) { return Add(std::string_view(v)); }
  Params& Add(const char* v) { return Add(std::string_view(v)); }
  Params& Add(int64_t v) {
    values_.emplace_back(std::to_string(v));
    return *this;
  }
  Params& Add(bool v) {
    values_.emplace_back(v ? "true" : "false");
    return *this;
  }
  // Named apart from Add so that an int argument never becomes ambiguous.
  Params& AddReal(double v) {
    values_.emplace_back(fmt::format("{}", v));
    return *this;
  }
  template <class T>
  Params& Add(const std::optional<T>& v) {
    if (v) return Add(*v);
    values_.emplace_back(std::nullopt);
    return *this;
  }
  // A text[] value (for `= ANY($n::text[])` and `unnest`), each element quoted.
  Params& AddTextArray(const std::vector<std::string>& items) {
    std::string a = "{";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) a += ',';
      a += '"';
      for (char ch : items[i]) {
        if (ch == '"' || ch == '\\') a += '\\';
        a += ch;
      }
      a += '"';
    }
    a += '}';
    values_.emplace_back(std::move(a));
    return *this;
  }
  Params& AddIntArray(const std::vector<int64_t>& items) {
    std::string a = "{";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) a += ',';
      a += std::to_string(items[i]);
    }
    a += '}';
    values_.emplace_back(std::move(a));
    return *this;
  }
  Params& Null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  size_t size() const { return values_.size(); }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// The rows of one statement's result.
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r, &PQclear) {}
  int size() const { return PQntuples(r_.get()); }
  bool empty() const { return size() == 0; }
  int64_t Affected() const;

  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col),
                       static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  std::optional<std::string> OptText(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Text(row, col);
  }
  int64_t Int(int row, int col) const;
  double Real(int row, int col) const {
    return std::strtod(PQgetvalue(r_.get(), row, col), nullptr);
  }
  std::optional<int64_t> OptInt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Int(row, col);
  }
  bool Bool(int row, int col) const {
    const char* v = PQgetvalue(r_.get(), row, col);
    return v[0] == 't' || v[0] == '1';
  }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

class Conn {
 public:
  // Connects with a libpq connection string or postgresql:// URL, then sets what every
  // session of Parley needs (synchronous_commit on, lock and statement timeouts).
  static Result<std::unique_ptr<Conn>> Connect(const std::string& conninfo);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs SQL without parameters through the simple protocol (may hold several statements).
  Result<void> Exec(std::string_view sql);
  // Runs a statement, preparing it on this connection the first time. `sql` must be a constant
  // (the cache is keyed by its address).
  Result<Rows> Query(const char* sql, const Params& params);
  // The same, for a statement whose rows are not wanted: the number of rows it changed.
  Result<int64_t> Run(const char* sql, const Params& params) {
    auto r = Query(sql, params);
    if (!r) return Fail(r.error());
    return r->Affected();
  }

  // False once the connection is lost; the pool then drops it.
  bool Ok() const { return PQstatus(pg_) == CONNECTION_OK; }
  // SQLSTATE of the last failed statement ("" after a success).
  const std::string& LastSqlState() const { return last_state_; }
  // True (once) when a statement failed with a deadlock or a serialization failure since the
  // last call: statements a job runs after that fail too ("current transaction is aborted"),
  // so the last state alone would hide it.
  bool TakeContention() {
    bool c = contention_;
    contention_ = false;
    return c;
  }
  // True (once) when a statement gave up waiting for a lock (lock_timeout) since the last call.
  bool TakeLockTimeout() {
    bool t = lock_timeout_;
    lock_timeout_ = false;
    return t;
  }
  // The server's backend process id (to tell connections apart in tests and logs).
  int BackendPid() const { return PQbackendPID(pg_); }
  PGconn* raw() { return pg_; }

 private:
  explicit Conn(PGconn* pg) : pg_(pg) {}
  Result<Rows> Check(PGresult* r, std::string_view what);

  PGconn* pg_;
  std::map<const char*, std::string> prepared_;
  std::string last_state_;
  bool contention_ = false;
  bool lock_timeout_ = false;
};

// SQLSTATEs the store acts on.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kDeadlock = "40P01";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kLockNotAvailable = "55P03";

}  // namespace parley::storage::postgres

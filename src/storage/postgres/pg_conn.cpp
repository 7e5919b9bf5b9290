#include "storage/postgres/pg_conn.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

namespace parley::storage::postgres {
namespace {

// The database's messages are for the operator, not for API callers: the details go to the
// log, the caller gets a sentence that says what happened and what to do.
Error StoreFailure(const std::string& detail) {
  spdlog::error("database: {}", detail);
  return {Errc::kInternal, "store_error",
          "The database could not do this; the details are in the server's log. Retry later."};
}

Error Unreachable(const std::string& detail) {
  spdlog::error("database: {}", detail);
  return {Errc::kUnavailable, "store_unavailable",
          "The database cannot be reached; retry shortly."};
}

std::string Trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Settings of every session, whatever the server's defaults: a commit returns only once its
// WAL is flushed (a 2xx means durable); no wait on a lock or a statement lasts forever; a
// session left inside a transaction (a node that hangs) gives its locks back.
constexpr const char* kSessionSetup =
    "SET synchronous_commit = on; SET lock_timeout = '10s'; SET statement_timeout = '30s'; "
    "SET idle_in_transaction_session_timeout = '60s'; SET client_min_messages = warning";

}  // namespace

int64_t Rows::Affected() const {
  const char* n = PQcmdTuples(r_.get());
  int64_t v = 0;
  if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

int64_t Rows::Int(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  int64_t out = 0;
  std::from_chars(v, v + PQgetlength(r_.get(), row, col), out);
  return out;
}

Result<std::unique_ptr<Conn>> Conn::Connect(const std::string& conninfo) {
  PGconn* pg = PQconnectdb(conninfo.c_str());
  if (!pg) return Fail(Unreachable("out of memory opening a connection"));
  std::unique_ptr<Conn> conn(new Conn(pg));
  if (PQstatus(pg) != CONNECTION_OK)
    return Fail(Errc::kUnavailable, "store_open_failed",
                fmt::format("Cannot connect to PostgreSQL: {}.", Trimmed(PQerrorMessage(pg))));
  auto setup = conn->Exec(kSessionSetup);
  if (!setup) return Fail(setup.error());
  return conn;
}

Conn::~Conn() { PQfinish(pg_); }

Result<Rows> Conn::Check(PGresult* r, std::string_view what) {
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    last_state_.clear();
    return Rows(r);
  }
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_state_ = state ? state : "";
  std::string msg = Trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(pg_));
  if (msg.empty()) msg = Trimmed(PQerrorMessage(pg_));
  if (r) PQclear(r);
  if (!Ok()) return Fail(Unreachable(fmt::format("{}: {}", what, msg)));
  if (last_state_ == kUniqueViolation)
    return Fail(Errc::kConflict, "conflict", fmt::format("{}: {}", what, msg));
  if (last_state_ == kDeadlock || last_state_ == kSerializationFailure) contention_ = true;
  if (last_state_ == kLockNotAvailable) lock_timeout_ = true;
  if (last_state_ == kDeadlock || last_state_ == kSerializationFailure ||
      last_state_ == kLockNotAvailable || last_state_ == "57014" /* canceled */)
    return Fail(Errc::kUnavailable, "store_busy",
                "The database was busy with the same records; retry shortly.");
  return Fail(StoreFailure(fmt::format("{}: {}", what, msg)));
}

Result<void> Conn::Exec(std::string_view sql) {
  std::string text(sql);
  auto r = Check(PQexec(pg_, text.c_str()), "SQL");
  if (!r) return Fail(r.error());
  // PQexec returns the last statement's result; earlier failures stop the run and show there.
  return {};
}

Result<Rows> Conn::Query(const char* sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = fmt::format("p{}", prepared_.size());
    auto prepared = Check(PQprepare(pg_, name.c_str(), sql, 0, nullptr), "prepare");
    if (!prepared) {
      spdlog::error("database: the statement was: {}", sql);
      return Fail(prepared.error());
    }
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  return Check(PQexecPrepared(pg_, it->second.c_str(), static_cast<int>(values.size()),
                              values.data(), nullptr, nullptr, 0),
               "statement");
}

}  // namespace parley::storage::postgres

// Supervision of the PostgreSQL store (migration 0011): agents' status periods and the
// supervisors who monitor or have joined a conversation. The SQLite twin is
// sqlite_supervision.cpp.
#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

constexpr const char* kEndStatusPeriod =
    "UPDATE agent_status_periods SET ended_at = $2 WHERE username = $1 AND ended_at IS NULL";
constexpr const char* kStartStatusPeriod =
    "INSERT INTO agent_status_periods (username, status, reason, started_at) VALUES ($1,$2,$3,$4)";
constexpr const char* kUserStatusPeriods =
    "SELECT username, status, reason, started_at, ended_at FROM agent_status_periods"
    " WHERE username = $1 AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2)"
    " ORDER BY started_at, id";
constexpr const char* kAllStatusPeriods =
    "SELECT username, status, reason, started_at, ended_at FROM agent_status_periods"
    " WHERE started_at < $2 AND (ended_at IS NULL OR ended_at > $1)"
    " ORDER BY username, started_at, id";
constexpr const char* kPutWatcher =
    "INSERT INTO conversation_watchers (conversation_id, username, mode, started_at)"
    " VALUES ($1,$2,$3,$4) ON CONFLICT (conversation_id, username) DO UPDATE SET"
    " mode = EXCLUDED.mode";
constexpr const char* kDeleteWatcher =
    "DELETE FROM conversation_watchers WHERE conversation_id = $1 AND username = $2";
constexpr const char* kWatchers =
    "SELECT conversation_id, username, mode, started_at FROM conversation_watchers"
    " WHERE conversation_id = $1 ORDER BY username";

}  // namespace

const std::vector<HotStatement>& HotSupervisionStatements() {
  static const std::vector<HotStatement> kAll = {
      {"end status period", kEndStatusPeriod, {"ann", "1000"}},
      {"user status periods", kUserStatusPeriods, {"ann", "1000", "2000"}},
      {"delete watcher", kDeleteWatcher, {"v1", "ann"}},
      {"watchers", kWatchers, {"v1"}},
  };
  return kAll;
}

Result<void> PgTx::StartStatusPeriod(const std::string& username, const std::string& status,
                                     const std::optional<std::string>& reason, int64_t at_ms) {
  auto ended = conn_->Run(kEndStatusPeriod, Params().Add(username).Add(at_ms));
  if (!ended) return Fail(ended.error());
  auto started =
      conn_->Run(kStartStatusPeriod, Params().Add(username).Add(status).Add(reason).Add(at_ms));
  if (!started) return Fail(started.error());
  return {};
}

Result<std::vector<StatusPeriodRecord>> PgTx::ListStatusPeriods(const std::string& username,
                                                                int64_t from_ms, int64_t to_ms) {
  auto r = username.empty()
               ? conn_->Query(kAllStatusPeriods, Params().Add(from_ms).Add(to_ms))
               : conn_->Query(kUserStatusPeriods, Params().Add(username).Add(from_ms).Add(to_ms));
  if (!r) return Fail(r.error());
  std::vector<StatusPeriodRecord> out;
  for (int i = 0; i < r->size(); ++i)
    out.push_back({r->Text(i, 0), r->Text(i, 1), r->OptText(i, 2), r->Int(i, 3), r->OptInt(i, 4)});
  return out;
}

Result<void> PgTx::PutWatcher(const WatcherRecord& w) {
  Params p;
  p.Add(w.conversation_id).Add(w.username).Add(w.mode).Add(w.started_at_ms);
  auto r = conn_->Run(kPutWatcher, p);
  if (!r) return Fail(r.error());
  return {};
}

Result<bool> PgTx::DeleteWatcher(const std::string& conversation_id, const std::string& username) {
  auto r = conn_->Run(kDeleteWatcher, Params().Add(conversation_id).Add(username));
  if (!r) return Fail(r.error());
  return *r > 0;
}

Result<std::vector<WatcherRecord>> PgTx::Watchers(const std::string& conversation_id) {
  auto r = conn_->Query(kWatchers, Params().Add(conversation_id));
  if (!r) return Fail(r.error());
  std::vector<WatcherRecord> out;
  for (int i = 0; i < r->size(); ++i)
    out.push_back({r->Text(i, 0), r->Text(i, 1), r->Text(i, 2), r->Int(i, 3)});
  return out;
}

}  // namespace parley::storage::postgres

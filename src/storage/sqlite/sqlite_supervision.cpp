// Supervision of the SQLite store (migration 0011): agents' status periods and the supervisors
// who monitor or have joined a conversation.
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

// The open period is found through agent_status_periods_open (one row per agent at most).
constexpr const char* kEndStatusPeriod =
    "UPDATE agent_status_periods SET ended_at = ?2 WHERE username = ?1 AND ended_at IS NULL";
constexpr const char* kStartStatusPeriod =
    "INSERT INTO agent_status_periods (username, status, reason, started_at) VALUES (?1,?2,?3,?4)";
// Periods that began before `to` and had not ended by `from`: through the user's index, or
// (everyone's) the start index.
constexpr const char* kUserStatusPeriods =
    "SELECT username, status, reason, started_at, ended_at FROM agent_status_periods"
    " WHERE username = ?1 AND started_at < ?3 AND (ended_at IS NULL OR ended_at > ?2)"
    " ORDER BY started_at, id";
constexpr const char* kAllStatusPeriods =
    "SELECT username, status, reason, started_at, ended_at FROM agent_status_periods"
    " WHERE started_at < ?2 AND (ended_at IS NULL OR ended_at > ?1)"
    " ORDER BY username, started_at, id";
constexpr const char* kPutWatcher =
    "INSERT INTO conversation_watchers (conversation_id, username, mode, started_at)"
    " VALUES (?1,?2,?3,?4) ON CONFLICT (conversation_id, username) DO UPDATE SET mode = ?3";
constexpr const char* kDeleteWatcher =
    "DELETE FROM conversation_watchers WHERE conversation_id = ?1 AND username = ?2";
constexpr const char* kWatchers =
    "SELECT conversation_id, username, mode, started_at FROM conversation_watchers"
    " WHERE conversation_id = ?1 ORDER BY username";

}  // namespace

Result<void> SqliteTx::StartStatusPeriod(const std::string& username, const std::string& status,
                                         const std::optional<std::string>& reason, int64_t at_ms) {
  {
    PARLEY_TRY_STMT(s, kEndStatusPeriod);
    s.Bind(1, username).Bind(2, at_ms);
    auto ended = db_.Run(s, "end status period");
    if (!ended) return ended;
  }
  PARLEY_TRY_STMT(s, kStartStatusPeriod);
  s.Bind(1, username).Bind(2, status).Bind(3, reason).Bind(4, at_ms);
  return db_.Run(s, "start status period");
}

Result<std::vector<StatusPeriodRecord>> SqliteTx::ListStatusPeriods(const std::string& username,
                                                                    int64_t from_ms,
                                                                    int64_t to_ms) {
  std::vector<StatusPeriodRecord> out;
  auto read = [&out](Stmt& s) {
    while (s.Step() == SQLITE_ROW)
      out.push_back({s.Text(0), s.Text(1), s.OptText(2), s.Int(3), s.OptInt(4)});
  };
  if (username.empty()) {
    PARLEY_TRY_STMT(s, kAllStatusPeriods);
    s.Bind(1, from_ms).Bind(2, to_ms);
    read(s);
  } else {
    PARLEY_TRY_STMT(s, kUserStatusPeriods);
    s.Bind(1, username).Bind(2, from_ms).Bind(3, to_ms);
    read(s);
  }
  return out;
}

Result<void> SqliteTx::PutWatcher(const WatcherRecord& w) {
  PARLEY_TRY_STMT(s, kPutWatcher);
  s.Bind(1, w.conversation_id).Bind(2, w.username).Bind(3, w.mode).Bind(4, w.started_at_ms);
  return db_.Run(s, "put watcher");
}

Result<bool> SqliteTx::DeleteWatcher(const std::string& conversation_id,
                                     const std::string& username) {
  PARLEY_TRY_STMT(s, kDeleteWatcher);
  s.Bind(1, conversation_id).Bind(2, username);
  auto r = db_.Run(s, "delete watcher");
  if (!r) return Fail(r.error());
  return db_.Changes() > 0;
}

Result<std::vector<WatcherRecord>> SqliteTx::Watchers(const std::string& conversation_id) {
  PARLEY_TRY_STMT(s, kWatchers);
  s.Bind(1, conversation_id);
  std::vector<WatcherRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Int(3)});
  return out;
}

}  // namespace parley::storage::sqlite

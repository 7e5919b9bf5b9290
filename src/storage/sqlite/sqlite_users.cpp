// Users and sessions of the SQLite store.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

namespace json = boost::json;

constexpr const char* kGetUser =
    "SELECT username, display_name, role, queues, max_chats, enabled, password_hash, created_at, "
    "updated_at FROM users WHERE username = ?1";
constexpr const char* kListUsers =
    "SELECT username, display_name, role, queues, max_chats, enabled, password_hash, created_at, "
    "updated_at FROM users ORDER BY username";
constexpr const char* kInsertUser =
    "INSERT INTO users (username, display_name, role, queues, max_chats, enabled, password_hash, "
    "created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)";
constexpr const char* kUpdateUser =
    "UPDATE users SET display_name=?2, role=?3, queues=?4, max_chats=?5, enabled=?6, "
    "password_hash=?7, updated_at=?9 WHERE username=?1";
constexpr const char* kDeleteUser = "DELETE FROM users WHERE username = ?1";
constexpr const char* kRetireUsername =
    "INSERT OR IGNORE INTO retired_usernames (username, retired_at) "
    "VALUES (?1, CAST(strftime('%s','now') AS INTEGER) * 1000)";
constexpr const char* kUsernameRetired = "SELECT 1 FROM retired_usernames WHERE username = ?1";
constexpr const char* kInsertSession =
    "INSERT INTO sessions (token_hash, username, csrf, created_at, last_used_at) "
    "VALUES (?1,?2,?3,?4,?5)";
constexpr const char* kGetSession =
    "SELECT token_hash, username, csrf, created_at, last_used_at FROM sessions "
    "WHERE token_hash = ?1";
constexpr const char* kTouchSession = "UPDATE sessions SET last_used_at = ?2 WHERE token_hash = ?1";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE token_hash = ?1";
constexpr const char* kDeleteUserSessions = "DELETE FROM sessions WHERE username = ?1";
constexpr const char* kDeleteIdleSessions = "DELETE FROM sessions WHERE last_used_at < ?1";

std::string QueuesJson(const std::vector<std::string>& queues) {
  json::array a;
  for (const auto& q : queues) a.emplace_back(q);
  return json::serialize(a);
}

std::vector<std::string> ParseQueues(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& q : v.as_array())
    if (q.is_string()) out.emplace_back(q.as_string());
  return out;
}

UserRecord ReadUser(const Stmt& s) {
  UserRecord u;
  u.username = s.Text(0);
  u.display_name = s.Text(1);
  u.role = s.Text(2);
  u.queues = ParseQueues(s.Text(3));
  u.max_chats = s.Int(4);
  u.enabled = s.Int(5) != 0;
  u.password_hash = s.Text(6);
  u.created_at_ms = s.Int(7);
  u.updated_at_ms = s.Int(8);
  return u;
}

void BindUser(Stmt& s, const UserRecord& u) {
  s.Bind(1, u.username).Bind(2, u.display_name).Bind(3, u.role).Bind(4, QueuesJson(u.queues));
  s.Bind(5, u.max_chats).Bind(6, u.enabled).Bind(7, u.password_hash);
  s.Bind(8, u.created_at_ms).Bind(9, u.updated_at_ms);
}

}  // namespace

Result<std::optional<UserRecord>> SqliteTx::GetUser(const std::string& username) {
  PARLEY_TRY_STMT(s, kGetUser);
  s.Bind(1, username);
  if (s.Step() != SQLITE_ROW) return std::optional<UserRecord>();
  return std::optional<UserRecord>(ReadUser(s));
}

Result<std::vector<UserRecord>> SqliteTx::ListUsers() {
  PARLEY_TRY_STMT(s, kListUsers);
  std::vector<UserRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadUser(s));
  return out;
}

Result<void> SqliteTx::InsertUser(const UserRecord& u) {
  {
    PARLEY_TRY_STMT(r, kUsernameRetired);
    r.Bind(1, u.username);
    if (r.Step() == SQLITE_ROW)
      return Fail(Errc::kConflict, "username_retired",
                  fmt::format("The username '{}' belonged to a deleted user and is never reused; "
                              "choose another username.",
                              u.username));
  }
  PARLEY_TRY_STMT(s, kInsertUser);
  BindUser(s, u);
  auto r = db_.Run(s, "insert user");
  if (!r && r.error().errc == Errc::kConflict)
    return Fail(Errc::kConflict, "user_exists",
                fmt::format("A user named '{}' exists; choose another username.", u.username));
  return r;
}

Result<void> SqliteTx::UpdateUser(const UserRecord& u) {
  PARLEY_TRY_STMT(s, kUpdateUser);
  BindUser(s, u);
  return db_.Run(s, "update user");
}

Result<bool> SqliteTx::DeleteUser(const std::string& username) {
  auto sessions = DeleteUserSessions(username);
  if (!sessions) return Fail(sessions.error());
  PARLEY_TRY_STMT(s, kDeleteUser);
  s.Bind(1, username);
  auto r = db_.Run(s, "delete user");
  if (!r) return Fail(r.error());
  if (db_.Changes() == 0) return false;
  PARLEY_TRY_STMT(retire, kRetireUsername);
  retire.Bind(1, username);
  if (auto done = db_.Run(retire, "retire username"); !done) return Fail(done.error());
  return true;
}

Result<void> SqliteTx::InsertSession(const SessionRecord& r) {
  PARLEY_TRY_STMT(s, kInsertSession);
  s.Bind(1, r.token_hash).Bind(2, r.username).Bind(3, r.csrf);
  s.Bind(4, r.created_at_ms).Bind(5, r.last_used_at_ms);
  return db_.Run(s, "insert session");
}

Result<std::optional<SessionRecord>> SqliteTx::GetSession(const std::string& token_hash) {
  PARLEY_TRY_STMT(s, kGetSession);
  s.Bind(1, token_hash);
  if (s.Step() != SQLITE_ROW) return std::optional<SessionRecord>();
  SessionRecord r{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)};
  return std::optional<SessionRecord>(std::move(r));
}

Result<void> SqliteTx::TouchSession(const std::string& token_hash, int64_t now_ms) {
  PARLEY_TRY_STMT(s, kTouchSession);
  s.Bind(1, token_hash).Bind(2, now_ms);
  return db_.Run(s, "touch session");
}

Result<void> SqliteTx::DeleteSession(const std::string& token_hash) {
  PARLEY_TRY_STMT(s, kDeleteSession);
  s.Bind(1, token_hash);
  return db_.Run(s, "delete session");
}

Result<void> SqliteTx::DeleteUserSessions(const std::string& username) {
  PARLEY_TRY_STMT(s, kDeleteUserSessions);
  s.Bind(1, username);
  return db_.Run(s, "delete sessions");
}

Result<void> SqliteTx::DeleteIdleSessions(int64_t before_ms) {
  PARLEY_TRY_STMT(s, kDeleteIdleSessions);
  s.Bind(1, before_ms);
  return db_.Run(s, "delete idle sessions");
}

}  // namespace parley::storage::sqlite

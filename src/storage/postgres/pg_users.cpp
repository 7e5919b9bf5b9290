// Users and sessions of the PostgreSQL store.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

namespace json = boost::json;

constexpr const char* kGetUser =
    "SELECT username, display_name, role, queues, max_chats, enabled, password_hash, created_at, "
    "updated_at FROM users WHERE username = $1";
constexpr const char* kListUsers =
    "SELECT username, display_name, role, queues, max_chats, enabled, password_hash, created_at, "
    "updated_at FROM users ORDER BY username";
constexpr const char* kInsertUser =
    "INSERT INTO users (username, display_name, role, queues, max_chats, enabled, password_hash, "
    "created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING";
constexpr const char* kUpdateUser =
    "UPDATE users SET display_name=$2, role=$3, queues=$4, max_chats=$5, enabled=$6, "
    "password_hash=$7, updated_at=$8 WHERE username=$1";
constexpr const char* kDeleteUser = "DELETE FROM users WHERE username = $1";
// Usernames are never reused (migration 0007): a deleted user's name is kept here.
constexpr const char* kRetireUsername =
    "INSERT INTO retired_usernames (username, retired_at) "
    "VALUES ($1, (extract(epoch from clock_timestamp()) * 1000)::bigint) ON CONFLICT DO NOTHING";
constexpr const char* kUsernameRetired = "SELECT 1 FROM retired_usernames WHERE username = $1";
constexpr const char* kInsertSession =
    "INSERT INTO sessions (token_hash, username, csrf, created_at, last_used_at) "
    "VALUES ($1,$2,$3,$4,$5)";
constexpr const char* kGetSession =
    "SELECT token_hash, username, csrf, created_at, last_used_at FROM sessions "
    "WHERE token_hash = $1";
constexpr const char* kTouchSession = "UPDATE sessions SET last_used_at = $2 WHERE token_hash = $1";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE token_hash = $1";
constexpr const char* kDeleteUserSessions = "DELETE FROM sessions WHERE username = $1";
constexpr const char* kDeleteIdleSessions = "DELETE FROM sessions WHERE last_used_at < $1";

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

UserRecord ReadUser(const Rows& r, int i) {
  UserRecord u;
  u.username = r.Text(i, 0);
  u.display_name = r.Text(i, 1);
  u.role = r.Text(i, 2);
  u.queues = ParseQueues(r.Text(i, 3));
  u.max_chats = r.Int(i, 4);
  u.enabled = r.Bool(i, 5);
  u.password_hash = r.Text(i, 6);
  u.created_at_ms = r.Int(i, 7);
  u.updated_at_ms = r.Int(i, 8);
  return u;
}

Params UserParams(const UserRecord& u, bool insert) {
  Params p;
  p.Add(u.username).Add(u.display_name).Add(u.role).Add(QueuesJson(u.queues));
  p.Add(u.max_chats).Add(u.enabled).Add(u.password_hash);
  if (insert) p.Add(u.created_at_ms);
  p.Add(u.updated_at_ms);
  return p;
}

}  // namespace

Result<std::optional<UserRecord>> PgTx::GetUser(const std::string& username) {
  auto r = conn_->Query(kGetUser, Params().Add(username));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<UserRecord>();
  return std::optional<UserRecord>(ReadUser(*r, 0));
}

Result<std::vector<UserRecord>> PgTx::ListUsers() {
  auto r = conn_->Query(kListUsers, {});
  if (!r) return Fail(r.error());
  std::vector<UserRecord> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadUser(*r, i));
  return out;
}

Result<void> PgTx::InsertUser(const UserRecord& u) {
  auto retired = conn_->Query(kUsernameRetired, Params().Add(u.username));
  if (!retired) return Fail(retired.error());
  if (!retired->empty())
    return Fail(Errc::kConflict, "username_retired",
                fmt::format("The username '{}' belonged to a deleted user and is never reused; "
                            "choose another username.",
                            u.username));
  auto r = conn_->Run(kInsertUser, UserParams(u, true));
  if (!r) return Fail(r.error());
  if (*r == 0)
    return Fail(Errc::kConflict, "user_exists",
                fmt::format("A user named '{}' exists; choose another username.", u.username));
  return {};
}

Result<void> PgTx::UpdateUser(const UserRecord& u) {
  return RunDone(conn_->Run(kUpdateUser, UserParams(u, false)));
}

Result<bool> PgTx::DeleteUser(const std::string& username) {
  auto sessions = DeleteUserSessions(username);
  if (!sessions) return Fail(sessions.error());
  auto r = conn_->Run(kDeleteUser, Params().Add(username));
  if (!r) return Fail(r.error());
  if (*r == 0) return false;
  auto retired = conn_->Run(kRetireUsername, Params().Add(username));
  if (!retired) return Fail(retired.error());
  return true;
}

Result<void> PgTx::InsertSession(const SessionRecord& s) {
  Params p;
  p.Add(s.token_hash).Add(s.username).Add(s.csrf).Add(s.created_at_ms).Add(s.last_used_at_ms);
  return RunDone(conn_->Run(kInsertSession, p));
}

Result<std::optional<SessionRecord>> PgTx::GetSession(const std::string& token_hash) {
  auto r = conn_->Query(kGetSession, Params().Add(token_hash));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<SessionRecord>();
  SessionRecord s{r->Text(0, 0), r->Text(0, 1), r->Text(0, 2), r->Int(0, 3), r->Int(0, 4)};
  return std::optional<SessionRecord>(std::move(s));
}

Result<void> PgTx::TouchSession(const std::string& token_hash, int64_t now_ms) {
  return RunDone(conn_->Run(kTouchSession, Params().Add(token_hash).Add(now_ms)));
}

Result<void> PgTx::DeleteSession(const std::string& token_hash) {
  return RunDone(conn_->Run(kDeleteSession, Params().Add(token_hash)));
}

Result<void> PgTx::DeleteUserSessions(const std::string& username) {
  return RunDone(conn_->Run(kDeleteUserSessions, Params().Add(username)));
}

Result<void> PgTx::DeleteIdleSessions(int64_t before_ms) {
  return RunDone(conn_->Run(kDeleteIdleSessions, Params().Add(before_ms)));
}

}  // namespace parley::storage::postgres

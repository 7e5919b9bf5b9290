// Presence across nodes in the SQLite store (migration 0014): a SQLite database has one node
// (node_id ''), so a user's streams are that node's, and a node that starts forgets them all,
// as it always did. pg_presence.cpp is the twin of several nodes.
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

constexpr const char* kAddStreams =
    "INSERT INTO node_streams (node_id, username, streams) VALUES ('', ?1, max(0, ?2)) "
    "ON CONFLICT (node_id, username) DO UPDATE SET streams = max(0, streams + ?2)";
constexpr const char* kDropEmpty =
    "DELETE FROM node_streams WHERE node_id = '' AND username = ?1 AND streams = 0";
constexpr const char* kUserStreams =
    "SELECT COALESCE(SUM(streams), 0) FROM node_streams WHERE username = ?1";
constexpr const char* kNodeUsers = "SELECT DISTINCT username FROM node_streams ORDER BY username";
constexpr const char* kClearStreams = "DELETE FROM node_streams";

}  // namespace

Result<int64_t> SqliteTx::AddNodeStreams(const std::string& username, int64_t delta) {
  {
    PARLEY_TRY_STMT(s, kAddStreams);
    s.Bind(1, username).Bind(2, delta);
    if (auto r = db_.Run(s, "count streams"); !r) return Fail(r.error());
  }
  {
    PARLEY_TRY_STMT(s, kDropEmpty);
    s.Bind(1, username);
    if (auto r = db_.Run(s, "count streams"); !r) return Fail(r.error());
  }
  return UserStreams(username);
}

Result<int64_t> SqliteTx::UserStreams(const std::string& username) {
  PARLEY_TRY_STMT(s, kUserStreams);
  s.Bind(1, username);
  if (s.Step() != SQLITE_ROW) return int64_t{0};
  return s.Int(0);
}

Result<std::vector<std::string>> SqliteTx::ClearNodeStreams() {
  std::vector<std::string> users;
  {
    PARLEY_TRY_STMT(s, kNodeUsers);
    while (s.Step() == SQLITE_ROW) users.push_back(s.Text(0));
  }
  PARLEY_TRY_STMT(s, kClearStreams);
  if (auto r = db_.Run(s, "clear streams"); !r) return Fail(r.error());
  return users;
}

}  // namespace parley::storage::sqlite

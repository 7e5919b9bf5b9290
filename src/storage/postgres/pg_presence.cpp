// Presence across nodes in the PostgreSQL store (migration 0014): each node counts the event
// streams it holds per user in node_streams, under its node id, and holds a lease in
// node_leases that its routing sweep renews every second. A user's streams are the sum over
// the nodes. A node that starts forgets its own rows only; the rows of a node whose lease
// expired (it was killed) are forgotten by whichever node's sweep takes its lease row first.
// The SQLite twin (one node) is sqlite_presence.cpp.
#include <algorithm>

#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

// A user's count is changed and summed under a transaction-level advisory lock of that user
// (class 15, the issue): the second of two nodes changing it waits for the first's commit and
// then sums what it committed (READ COMMITTED: each statement sees the commits before it).
constexpr const char* kLockUser = "SELECT pg_advisory_xact_lock(15, hashtext($1))";
constexpr const char* kAddStreams =
    "INSERT INTO node_streams (node_id, username, streams) VALUES ($1, $2, GREATEST(0, "
    "$3::bigint)) "
    "ON CONFLICT (node_id, username) DO UPDATE SET "
    "streams = GREATEST(0, node_streams.streams + $3::bigint)";
constexpr const char* kDropEmpty =
    "DELETE FROM node_streams WHERE node_id = $1 AND username = $2 AND streams = 0";
constexpr const char* kUserStreams =
    "SELECT COALESCE(SUM(streams), 0)::bigint FROM node_streams WHERE username = $1";
constexpr const char* kClearNode = "DELETE FROM node_streams WHERE node_id = $1 RETURNING username";
constexpr const char* kRenewNode =
    "INSERT INTO node_leases (node_id, expires_at) VALUES ($1, $2) "
    "ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at";
constexpr const char* kDeadNodes =
    "SELECT node_id FROM node_leases WHERE expires_at < $1 AND node_id <> $2"
    " ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED";
constexpr const char* kForgetNode = "DELETE FROM node_leases WHERE node_id = $1";

std::vector<std::string> Usernames(const Rows& r) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Text(i, 0));
  return out;
}

}  // namespace

const std::vector<HotStatement>& HotPresenceStatements() {
  static const std::vector<HotStatement> kAll = {
      {"add node streams", kAddStreams, {"n1", "ann", "1"}},
      {"drop empty node streams", kDropEmpty, {"n1", "ann"}},
      {"user streams", kUserStreams, {"ann"}},
      {"clear node streams", kClearNode, {"n1"}},
      {"dead nodes", kDeadNodes, {"1000", "n1", "10"}},
  };
  return kAll;
}

Result<int64_t> PgTx::AddNodeStreams(const std::string& username, int64_t delta) {
  if (auto locked = conn_->Query(kLockUser, Params().Add(username)); !locked)
    return Fail(locked.error());
  auto added = conn_->Run(kAddStreams, Params().Add(node_id_).Add(username).Add(delta));
  if (!added) return Fail(added.error());
  auto dropped = conn_->Run(kDropEmpty, Params().Add(node_id_).Add(username));
  if (!dropped) return Fail(dropped.error());
  auto r = conn_->Query(kUserStreams, Params().Add(username));
  if (!r) return Fail(r.error());
  return r->Int(0, 0);
}

Result<int64_t> PgTx::UserStreams(const std::string& username) {
  if (writer_)
    if (auto locked = conn_->Query(kLockUser, Params().Add(username)); !locked)
      return Fail(locked.error());
  auto r = conn_->Query(kUserStreams, Params().Add(username));
  if (!r) return Fail(r.error());
  return r->Int(0, 0);
}

Result<std::vector<std::string>> PgTx::ClearNodeStreams() {
  auto r = conn_->Query(kClearNode, Params().Add(node_id_));
  if (!r) return Fail(r.error());
  return Usernames(*r);
}

Result<void> PgTx::RenewNode(int64_t until_ms) {
  auto r = conn_->Run(kRenewNode, Params().Add(node_id_).Add(until_ms));
  if (!r) return Fail(r.error());
  return {};
}

Result<std::vector<std::string>> PgTx::ReapDeadNodes(int64_t now_ms, size_t limit) {
  auto dead =
      conn_->Query(kDeadNodes, Params().Add(now_ms).Add(node_id_).Add(static_cast<int64_t>(limit)));
  if (!dead) return Fail(dead.error());
  std::vector<std::string> users;
  for (const std::string& node : Usernames(*dead)) {
    auto cleared = conn_->Query(kClearNode, Params().Add(node));
    if (!cleared) return Fail(cleared.error());
    for (auto& u : Usernames(*cleared)) users.push_back(std::move(u));
    auto forgot = conn_->Run(kForgetNode, Params().Add(node));
    if (!forgot) return Fail(forgot.error());
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  return users;
}

}  // namespace parley::storage::postgres

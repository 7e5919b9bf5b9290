// Queues, agents' presence, routing queries and agents' event log of the PostgreSQL store
// (the twin of sqlite/sqlite_routing.cpp).
#include <fmt/format.h>

#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

constexpr const char* kListQueues =
    "SELECT name, display_name, auto_accept, max_wait_s, closed_text, created_at, updated_at "
    "FROM queues ORDER BY name";
constexpr const char* kGetQueue =
    "SELECT name, display_name, auto_accept, max_wait_s, closed_text, created_at, updated_at "
    "FROM queues WHERE name = $1";
constexpr const char* kInsertQueue =
    "INSERT INTO queues (name, display_name, auto_accept, max_wait_s, closed_text, created_at, "
    "updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING";
constexpr const char* kUpdateQueue =
    "UPDATE queues SET display_name=$2, auto_accept=$3, max_wait_s=$4, closed_text=$5, "
    "updated_at=$6 WHERE name=$1";
constexpr const char* kDeleteQueue = "DELETE FROM queues WHERE name = $1";

constexpr const char* kWaiting =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND queue = $1 ORDER BY queued_at, id LIMIT $2";
constexpr const char* kExpiredOffers =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to IS NOT NULL"
    " AND offer_expires_at <= $1";
constexpr const char* kIdleConversations =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state IN ('bot', 'active') AND last_customer_at < $1";
constexpr const char* kAgentConversations =
    "SELECT * FROM (SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'active' AND agent = $1 UNION ALL "
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to = $1) a ORDER BY assigned_at, id";
constexpr const char* kRecentHandleTimes =
    "SELECT ended_at - assigned_at FROM conversations WHERE state = 'ended' AND queue = $1"
    " AND assigned_at IS NOT NULL ORDER BY ended_at DESC LIMIT $2";

constexpr const char* kGetPresence =
    "SELECT username, status, streams, online, offline_due_at, last_assigned_at, updated_at "
    "FROM agent_presence WHERE username = $1";
constexpr const char* kListPresence =
    "SELECT username, status, streams, online, offline_due_at, last_assigned_at, updated_at "
    "FROM agent_presence ORDER BY username";
constexpr const char* kPutPresence =
    "INSERT INTO agent_presence (username, status, streams, online, offline_due_at, "
    "last_assigned_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (username) DO UPDATE "
    "SET status=EXCLUDED.status, streams=EXCLUDED.streams, online=EXCLUDED.online, "
    "offline_due_at=EXCLUDED.offline_due_at, last_assigned_at=EXCLUDED.last_assigned_at, "
    "updated_at=EXCLUDED.updated_at";

constexpr const char* kLastAgentEventSeq =
    "SELECT COALESCE(MAX(seq), 0) FROM agent_events WHERE username = $1";
constexpr const char* kFirstAgentEventSeq =
    "SELECT COALESCE(MIN(seq), 0) FROM agent_events WHERE username = $1";
constexpr const char* kInsertAgentEvent =
    "INSERT INTO agent_events (username, seq, type, body, created_at) VALUES ($1,$2,$3,$4,$5) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kAgentEventsAfter =
    "SELECT username, seq, type, body, created_at FROM agent_events WHERE username = $1 "
    "AND seq > $2 ORDER BY seq LIMIT $3";
constexpr const char* kPruneAgentEvents =
    "DELETE FROM agent_events a WHERE a.created_at < $1 AND a.seq <= (SELECT MAX(b.seq) - $2 "
    "FROM agent_events b WHERE b.username = a.username)";

QueueRecord ReadQueue(const Rows& r, int i) {
  QueueRecord q;
  q.name = r.Text(i, 0);
  q.display_name = r.Text(i, 1);
  q.auto_accept = r.Bool(i, 2);
  q.max_wait_s = r.OptInt(i, 3);
  q.closed_text = r.OptText(i, 4);
  q.created_at_ms = r.Int(i, 5);
  q.updated_at_ms = r.Int(i, 6);
  return q;
}

PresenceRecord ReadPresence(const Rows& r, int i) {
  PresenceRecord p;
  p.username = r.Text(i, 0);
  p.status = r.Text(i, 1);
  p.streams = r.Int(i, 2);
  p.online = r.Bool(i, 3);
  p.offline_due_at_ms = r.OptInt(i, 4);
  p.last_assigned_at_ms = r.Int(i, 5);
  p.updated_at_ms = r.Int(i, 6);
  return p;
}

Result<void> Done(Result<int64_t> r) {
  if (!r) return Fail(r.error());
  return {};
}

}  // namespace

const std::vector<HotStatement>& HotRoutingStatements() {
  static const std::vector<HotStatement> kAll = {
      {"waiting", kWaiting, {"sales", "10"}},
      {"expired offers", kExpiredOffers, {"1000"}},
      {"idle conversations", kIdleConversations, {"1000"}},
      {"agent conversations", kAgentConversations, {"ann"}},
      {"recent handle times", kRecentHandleTimes, {"sales", "20"}},
      {"get presence", kGetPresence, {"ann"}},
      {"last agent event seq", kLastAgentEventSeq, {"ann"}},
      {"agent events after", kAgentEventsAfter, {"ann", "5", "100"}},
  };
  return kAll;
}

Result<std::vector<QueueRecord>> PgTx::ListQueues() {
  auto r = conn_->Query(kListQueues, {});
  if (!r) return Fail(r.error());
  std::vector<QueueRecord> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadQueue(*r, i));
  return out;
}

Result<std::optional<QueueRecord>> PgTx::GetQueue(const std::string& name) {
  auto r = conn_->Query(kGetQueue, Params().Add(name));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<QueueRecord>();
  return std::optional<QueueRecord>(ReadQueue(*r, 0));
}

Result<void> PgTx::InsertQueue(const QueueRecord& q) {
  Params p;
  p.Add(q.name).Add(q.display_name).Add(q.auto_accept).Add(q.max_wait_s).Add(q.closed_text);
  p.Add(q.created_at_ms).Add(q.updated_at_ms);
  auto r = conn_->Run(kInsertQueue, p);
  if (!r) return Fail(r.error());
  if (*r == 0)
    return Fail(Errc::kConflict, "queue_exists",
                fmt::format("A queue named '{}' exists; choose another name.", q.name));
  return {};
}

Result<void> PgTx::UpdateQueue(const QueueRecord& q) {
  Params p;
  p.Add(q.name).Add(q.display_name).Add(q.auto_accept).Add(q.max_wait_s).Add(q.closed_text);
  p.Add(q.updated_at_ms);
  return Done(conn_->Run(kUpdateQueue, p));
}

Result<bool> PgTx::DeleteQueue(const std::string& name) {
  auto r = conn_->Run(kDeleteQueue, Params().Add(name));
  if (!r) return Fail(r.error());
  return *r > 0;
}

Result<std::vector<ConversationRecord>> PgTx::Waiting(const std::string& queue, size_t limit) {
  return Conversations(kWaiting, Params().Add(queue).Add(static_cast<int64_t>(limit)));
}

Result<std::vector<ConversationRecord>> PgTx::ExpiredOffers(int64_t now_ms) {
  return Conversations(kExpiredOffers, Params().Add(now_ms));
}

Result<std::vector<ConversationRecord>> PgTx::IdleConversations(int64_t before_ms) {
  return Conversations(kIdleConversations, Params().Add(before_ms));
}

Result<std::vector<ConversationRecord>> PgTx::AgentConversations(const std::string& agent) {
  return Conversations(kAgentConversations, Params().Add(agent));
}

Result<std::vector<int64_t>> PgTx::RecentHandleTimes(const std::string& queue, size_t n) {
  auto r = conn_->Query(kRecentHandleTimes, Params().Add(queue).Add(static_cast<int64_t>(n)));
  if (!r) return Fail(r.error());
  std::vector<int64_t> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(r->Int(i, 0));
  return out;
}

Result<std::optional<PresenceRecord>> PgTx::GetPresence(const std::string& username) {
  auto r = conn_->Query(kGetPresence, Params().Add(username));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<PresenceRecord>();
  return std::optional<PresenceRecord>(ReadPresence(*r, 0));
}

Result<std::vector<PresenceRecord>> PgTx::ListPresence() {
  auto r = conn_->Query(kListPresence, {});
  if (!r) return Fail(r.error());
  std::vector<PresenceRecord> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadPresence(*r, i));
  return out;
}

Result<void> PgTx::PutPresence(const PresenceRecord& p) {
  Params ps;
  ps.Add(p.username).Add(p.status).Add(p.streams).Add(p.online);
  ps.Add(p.offline_due_at_ms).Add(p.last_assigned_at_ms).Add(p.updated_at_ms);
  return Done(conn_->Run(kPutPresence, ps));
}

Result<int64_t> PgTx::LastAgentEventSeq(const std::string& username) {
  auto r = conn_->Query(kLastAgentEventSeq, Params().Add(username));
  if (!r) return Fail(r.error());
  return r->empty() ? int64_t{0} : r->Int(0, 0);
}

Result<int64_t> PgTx::FirstAgentEventSeq(const std::string& username) {
  auto r = conn_->Query(kFirstAgentEventSeq, Params().Add(username));
  if (!r) return Fail(r.error());
  return r->empty() ? int64_t{0} : r->Int(0, 0);
}

Result<void> PgTx::InsertAgentEvent(const AgentEventRecord& e) {
  Params p;
  p.Add(e.username).Add(e.seq).Add(e.type).Add(e.body_json).Add(e.created_at_ms);
  // Another node wrote this user's next seq meanwhile: the job runs again with a fresh MAX.
  return Inserted(conn_->Run(kInsertAgentEvent, p), "insert agent event", true);
}

Result<std::vector<AgentEventRecord>> PgTx::AgentEventsAfter(const std::string& username,
                                                             int64_t after, size_t limit) {
  auto r = conn_->Query(kAgentEventsAfter,
                        Params().Add(username).Add(after).Add(static_cast<int64_t>(limit)));
  if (!r) return Fail(r.error());
  std::vector<AgentEventRecord> out;
  for (int i = 0; i < r->size(); ++i)
    out.push_back({r->Text(i, 0), r->Int(i, 1), r->Text(i, 2), r->Text(i, 3), r->Int(i, 4)});
  return out;
}

Result<void> PgTx::PruneAgentEvents(int64_t before_ms, int64_t keep) {
  return Done(conn_->Run(kPruneAgentEvents, Params().Add(before_ms).Add(keep)));
}

}  // namespace parley::storage::postgres

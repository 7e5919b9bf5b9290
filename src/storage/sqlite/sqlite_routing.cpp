// Queues, agents' presence, routing queries and agents' event log of the SQLite store.
#include <fmt/format.h>

#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

constexpr const char* kListQueues =
    "SELECT name, display_name, auto_accept, max_wait_s, closed_text, created_at, updated_at "
    "FROM queues ORDER BY name";
constexpr const char* kGetQueue =
    "SELECT name, display_name, auto_accept, max_wait_s, closed_text, created_at, updated_at "
    "FROM queues WHERE name = ?1";
constexpr const char* kInsertQueue =
    "INSERT INTO queues (name, display_name, auto_accept, max_wait_s, closed_text, created_at, "
    "updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7)";
constexpr const char* kUpdateQueue =
    "UPDATE queues SET display_name=?2, auto_accept=?3, max_wait_s=?4, closed_text=?5, "
    "updated_at=?7 WHERE name=?1";
constexpr const char* kDeleteQueue = "DELETE FROM queues WHERE name = ?1";

constexpr const char* kWaiting =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND queue = ?1 ORDER BY queued_at, id LIMIT ?2";
constexpr const char* kExpiredOffers =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to IS NOT NULL"
    " AND offer_expires_at <= ?1";
// last_customer_at lags the cache by up to a flush interval; callers re-read each candidate.
constexpr const char* kIdleConversations =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE state IN ('bot', 'active') AND last_customer_at < ?1";
// Two indexed halves (conversations_by_agent, conversations_offered): an OR scanned every
// queued conversation.
constexpr const char* kAgentConversations =
    "SELECT * FROM (SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'active' AND agent = ?1 UNION ALL "
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to = ?1) ORDER BY assigned_at, id";
constexpr const char* kRecentHandleTimes =
    "SELECT ended_at - assigned_at FROM conversations WHERE state = 'ended' AND queue = ?1"
    " AND assigned_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?2";

constexpr const char* kGetPresence =
    "SELECT username, status, streams, online, offline_due_at, last_assigned_at, updated_at "
    "FROM agent_presence WHERE username = ?1";
constexpr const char* kListPresence =
    "SELECT username, status, streams, online, offline_due_at, last_assigned_at, updated_at "
    "FROM agent_presence ORDER BY username";
constexpr const char* kPutPresence =
    "INSERT INTO agent_presence (username, status, streams, online, offline_due_at, "
    "last_assigned_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT (username) DO UPDATE "
    "SET status=?2, streams=?3, online=?4, offline_due_at=?5, last_assigned_at=?6, updated_at=?7";

constexpr const char* kLastAgentEventSeq =
    "SELECT COALESCE(MAX(seq), 0) FROM agent_events WHERE username = ?1";
constexpr const char* kFirstAgentEventSeq =
    "SELECT COALESCE(MIN(seq), 0) FROM agent_events WHERE username = ?1";
constexpr const char* kInsertAgentEvent =
    "INSERT INTO agent_events (username, seq, type, body, created_at) VALUES (?1,?2,?3,?4,?5)";
constexpr const char* kAgentEventsAfter =
    "SELECT username, seq, type, body, created_at FROM agent_events WHERE username = ?1 AND seq > "
    "?2"
    " ORDER BY seq LIMIT ?3";
constexpr const char* kPruneAgentEvents =
    "DELETE FROM agent_events WHERE created_at < ?1 AND seq <= (SELECT MAX(a.seq) - ?2 FROM "
    "agent_events a WHERE a.username = agent_events.username)";

QueueRecord ReadQueue(const Stmt& s) {
  QueueRecord q;
  q.name = s.Text(0);
  q.display_name = s.Text(1);
  q.auto_accept = s.Int(2) != 0;
  q.max_wait_s = s.OptInt(3);
  q.closed_text = s.OptText(4);
  q.created_at_ms = s.Int(5);
  q.updated_at_ms = s.Int(6);
  return q;
}

void BindQueue(Stmt& s, const QueueRecord& q) {
  s.Bind(1, q.name).Bind(2, q.display_name).Bind(3, q.auto_accept).Bind(4, q.max_wait_s);
  s.Bind(5, q.closed_text).Bind(6, q.created_at_ms).Bind(7, q.updated_at_ms);
}

PresenceRecord ReadPresence(const Stmt& s) {
  PresenceRecord p;
  p.username = s.Text(0);
  p.status = s.Text(1);
  p.streams = s.Int(2);
  p.online = s.Int(3) != 0;
  p.offline_due_at_ms = s.OptInt(4);
  p.last_assigned_at_ms = s.Int(5);
  p.updated_at_ms = s.Int(6);
  return p;
}

}  // namespace

Result<std::vector<QueueRecord>> SqliteTx::ListQueues() {
  PARLEY_TRY_STMT(s, kListQueues);
  std::vector<QueueRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadQueue(s));
  return out;
}

Result<std::optional<QueueRecord>> SqliteTx::GetQueue(const std::string& name) {
  PARLEY_TRY_STMT(s, kGetQueue);
  s.Bind(1, name);
  if (s.Step() != SQLITE_ROW) return std::optional<QueueRecord>();
  return std::optional<QueueRecord>(ReadQueue(s));
}

Result<void> SqliteTx::InsertQueue(const QueueRecord& q) {
  PARLEY_TRY_STMT(s, kInsertQueue);
  BindQueue(s, q);
  auto r = db_.Run(s, "insert queue");
  if (!r && r.error().errc == Errc::kConflict)
    return Fail(Errc::kConflict, "queue_exists",
                fmt::format("A queue named '{}' exists; choose another name.", q.name));
  return r;
}

Result<void> SqliteTx::UpdateQueue(const QueueRecord& q) {
  PARLEY_TRY_STMT(s, kUpdateQueue);
  BindQueue(s, q);
  return db_.Run(s, "update queue");
}

Result<bool> SqliteTx::DeleteQueue(const std::string& name) {
  PARLEY_TRY_STMT(s, kDeleteQueue);
  s.Bind(1, name);
  auto r = db_.Run(s, "delete queue");
  if (!r) return Fail(r.error());
  return db_.Changes() > 0;
}

Result<std::vector<ConversationRecord>> SqliteTx::Conversations(Stmt& s) {
  std::vector<ConversationRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadConversation(s));
  // The writer's cache is newer than the rows for counters and last_customer_at.
  for (auto& c : out) {
    if (cache_limit_ > 0) {
      auto it = cache_.find(CacheKey(c.connection_id, c.customer_id));
      if (it != cache_.end() && it->second.record.id == c.id) {
        c = it->second.record;
        continue;
      }
    }
    auto reconciled = Reconcile(c);
    if (!reconciled) return Fail(reconciled.error());
  }
  return out;
}

Result<std::vector<ConversationRecord>> SqliteTx::Waiting(const std::string& queue, size_t limit) {
  PARLEY_TRY_STMT(s, kWaiting);
  s.Bind(1, queue).Bind(2, static_cast<int64_t>(limit));
  return Conversations(s);
}

Result<std::vector<ConversationRecord>> SqliteTx::ExpiredOffers(int64_t now_ms) {
  PARLEY_TRY_STMT(s, kExpiredOffers);
  s.Bind(1, now_ms);
  return Conversations(s);
}

Result<std::vector<ConversationRecord>> SqliteTx::IdleConversations(int64_t before_ms) {
  PARLEY_TRY_STMT(s, kIdleConversations);
  s.Bind(1, before_ms);
  auto all = Conversations(s);
  if (!all) return all;
  std::erase_if(*all,
                [&](const ConversationRecord& c) { return c.last_customer_at_ms >= before_ms; });
  return all;
}

Result<std::vector<ConversationRecord>> SqliteTx::AgentConversations(const std::string& agent) {
  PARLEY_TRY_STMT(s, kAgentConversations);
  s.Bind(1, agent);
  return Conversations(s);
}

Result<std::vector<int64_t>> SqliteTx::RecentHandleTimes(const std::string& queue, size_t n) {
  PARLEY_TRY_STMT(s, kRecentHandleTimes);
  s.Bind(1, queue).Bind(2, static_cast<int64_t>(n));
  std::vector<int64_t> out;
  while (s.Step() == SQLITE_ROW) out.push_back(s.Int(0));
  return out;
}

Result<std::optional<PresenceRecord>> SqliteTx::GetPresence(const std::string& username) {
  PARLEY_TRY_STMT(s, kGetPresence);
  s.Bind(1, username);
  if (s.Step() != SQLITE_ROW) return std::optional<PresenceRecord>();
  return std::optional<PresenceRecord>(ReadPresence(s));
}

Result<std::vector<PresenceRecord>> SqliteTx::ListPresence() {
  PARLEY_TRY_STMT(s, kListPresence);
  std::vector<PresenceRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadPresence(s));
  return out;
}

Result<void> SqliteTx::PutPresence(const PresenceRecord& p) {
  PARLEY_TRY_STMT(s, kPutPresence);
  s.Bind(1, p.username).Bind(2, p.status).Bind(3, p.streams).Bind(4, p.online);
  s.Bind(5, p.offline_due_at_ms).Bind(6, p.last_assigned_at_ms).Bind(7, p.updated_at_ms);
  return db_.Run(s, "put presence");
}

Result<int64_t> SqliteTx::LastAgentEventSeq(const std::string& username) {
  PARLEY_TRY_STMT(s, kLastAgentEventSeq);
  s.Bind(1, username);
  return s.Step() == SQLITE_ROW ? s.Int(0) : int64_t{0};
}

Result<int64_t> SqliteTx::FirstAgentEventSeq(const std::string& username) {
  PARLEY_TRY_STMT(s, kFirstAgentEventSeq);
  s.Bind(1, username);
  return s.Step() == SQLITE_ROW ? s.Int(0) : int64_t{0};
}

Result<void> SqliteTx::InsertAgentEvent(const AgentEventRecord& e) {
  PARLEY_TRY_STMT(s, kInsertAgentEvent);
  s.Bind(1, e.username).Bind(2, e.seq).Bind(3, e.type).Bind(4, e.body_json);
  s.Bind(5, e.created_at_ms);
  return db_.Run(s, "insert agent event");
}

Result<std::vector<AgentEventRecord>> SqliteTx::AgentEventsAfter(const std::string& username,
                                                                 int64_t after, size_t limit) {
  PARLEY_TRY_STMT(s, kAgentEventsAfter);
  s.Bind(1, username).Bind(2, after).Bind(3, static_cast<int64_t>(limit));
  std::vector<AgentEventRecord> out;
  while (s.Step() == SQLITE_ROW)
    out.push_back({s.Text(0), s.Int(1), s.Text(2), s.Text(3), s.Int(4)});
  return out;
}

Result<void> SqliteTx::PruneAgentEvents(int64_t before_ms, int64_t keep) {
  PARLEY_TRY_STMT(s, kPruneAgentEvents);
  s.Bind(1, before_ms).Bind(2, keep);
  return db_.Run(s, "prune agent events");
}

}  // namespace parley::storage::sqlite

// Queues, agents' presence, routing queries and agents' event log of the SQLite store.
#include <fmt/format.h>

#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

#define PARLEY_QUEUE_COLUMNS                                                              \
  "name, display_name, auto_accept, max_wait_s, closed_text, created_at, updated_at, "    \
  "service_level_s, no_agents_text, wrap_up_codes, wrap_up_required, after_chat_work_s, " \
  "service_level_target, csat, hours"
constexpr const char* kListQueues = "SELECT " PARLEY_QUEUE_COLUMNS " FROM queues ORDER BY name";
constexpr const char* kGetQueue = "SELECT " PARLEY_QUEUE_COLUMNS " FROM queues WHERE name = ?1";
constexpr const char* kInsertQueue =
    "INSERT INTO queues (" PARLEY_QUEUE_COLUMNS
    ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)";
constexpr const char* kUpdateQueue =
    "UPDATE queues SET display_name=?2, auto_accept=?3, max_wait_s=?4, closed_text=?5, "
    "updated_at=?7, service_level_s=?8, no_agents_text=?9, wrap_up_codes=?10, "
    "wrap_up_required=?11, "
    "after_chat_work_s=?12, service_level_target=?13, csat=?14, hours=?15 WHERE name=?1";
constexpr const char* kDeleteQueue = "DELETE FROM queues WHERE name = ?1";
constexpr size_t kQueueCacheLimit = 1024;

// Every statement below reads through an index: the unit test routing_scan_test checks their
// plans and that their cost does not grow with the depth of a queue.
constexpr const char* kWaiting =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations INDEXED BY conversations_queue_order WHERE state = 'queued' AND queue = ?1"
    " ORDER BY qkey LIMIT ?2";
constexpr const char* kExpiredOffers =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations INDEXED BY conversations_offer_due WHERE state = 'queued'"
    " AND offered_to IS NOT NULL AND offer_expires_at <= ?1 ORDER BY offer_expires_at LIMIT ?2";
// last_customer_at lags the cache by up to a flush interval; callers re-read each candidate.
constexpr const char* kIdleConversations =
    "SELECT * FROM (SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations INDEXED BY conversations_idle WHERE state IN ('bot', 'active')"
    " AND idle_reminded = 0 AND last_customer_at < ?1 LIMIT ?3) UNION SELECT * FROM "
    "(SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations INDEXED BY conversations_idle WHERE state IN ('bot', 'active')"
    " AND idle_reminded = 1 AND last_customer_at <= ?2 LIMIT ?3)";
// Two indexed halves (conversations_by_agent, conversations_offered): an OR scanned every
// queued conversation.
constexpr const char* kAgentConversations =
    "SELECT * FROM (SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'active' AND agent = ?1 UNION ALL "
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to = ?1) ORDER BY assigned_at, id";

// The head's queued_at, and the longest wait without an index of its own: tail keys (above
// 2^40) are handed out in the order customers join, head keys (2^40 and below) counting down
// as they are put back, so the oldest wait is the first tail key's or the last head key's.
#define PARLEY_QUEUE_COUNTER_COLUMNS                                                        \
  "queue, waiting, active, version, armed_version, members, concurrency_sum, signed_in, "   \
  "available, handle_sum_ms, handle_count, day, answered_today, answered_in_sl_today, "     \
  "abandoned_today, answered_total, abandoned_total, offers_total, offers_rung_out_total, " \
  "offers_declined_total, wait_sum_today_ms, handle_sum_today_ms, handle_count_today"
#define PARLEY_QUEUE_STATS_COLUMNS                                                       \
  PARLEY_QUEUE_COUNTER_COLUMNS                                                           \
  ", "                                                                                   \
  "(SELECT queued_at FROM conversations c INDEXED BY conversations_queue_order "         \
  "WHERE c.state = 'queued' AND c.queue = queue_stats.queue ORDER BY c.qkey LIMIT 1), "  \
  "(SELECT MIN(queued_at) FROM (SELECT * FROM (SELECT queued_at FROM conversations c "   \
  "INDEXED BY conversations_queue_order WHERE c.state = 'queued' "                       \
  "AND c.queue = queue_stats.queue AND c.qkey > 1099511627776 ORDER BY c.qkey LIMIT 1) " \
  "UNION ALL SELECT * FROM (SELECT queued_at FROM conversations c "                      \
  "INDEXED BY conversations_queue_order WHERE c.state = 'queued' "                       \
  "AND c.queue = queue_stats.queue AND c.qkey <= 1099511627776 "                         \
  "ORDER BY c.qkey DESC LIMIT 1)))"
constexpr const char* kGetQueueStats =
    "SELECT " PARLEY_QUEUE_STATS_COLUMNS " FROM queue_stats WHERE queue_stats.queue = ?1";
// The counters alone: the two waits stay NULL (a routing step does not show them).
constexpr const char* kGetQueueCounters =
    "SELECT " PARLEY_QUEUE_COUNTER_COLUMNS ", NULL, NULL FROM queue_stats WHERE queue = ?1";
constexpr const char* kListQueueStats =
    "SELECT " PARLEY_QUEUE_STATS_COLUMNS " FROM queue_stats ORDER BY queue_stats.queue";
// A key is taken by an UPDATE and read back, not by an upsert with RETURNING: SQLite keeps a
// RETURNING statement's rows in a temporary b-tree that it builds and drops on every run
// (3.3 against 1.4 us a key, bench in docs/performance.md "Session 19"). The first key of a
// queue without counters inserts its row.
constexpr const char* kTakeTailKey =
    "UPDATE queue_stats SET tail_key = tail_key + 1 WHERE queue = ?1";
constexpr const char* kTakeHeadKey =
    "UPDATE queue_stats SET head_key = head_key - 1 WHERE queue = ?1";
constexpr const char* kReadQueueKeys =
    "SELECT tail_key, head_key FROM queue_stats WHERE queue = ?1";
constexpr const char* kFirstTailKey =
    "INSERT INTO queue_stats (queue, tail_key) VALUES (?1, 1099511627777)";
constexpr const char* kFirstHeadKey =
    "INSERT INTO queue_stats (queue, head_key) VALUES (?1, 1099511627776)";
// The keys before k: the waiting rows of k's level-1 bucket (at most 31, through
// conversations_queue_order), then the level-1 buckets of k's level-2 bucket, the level-2
// buckets of k's level-3 bucket (at most 31 each), and the level-3 buckets before k's.
constexpr const char* kWaitingAhead =
    "SELECT (SELECT COUNT(*) FROM conversations INDEXED BY conversations_queue_order"
    " WHERE state = 'queued' AND queue = ?1"
    " AND qkey >= ?2 AND qkey < ?3)"
    " + (SELECT COALESCE(SUM(n), 0) FROM queue_rank WHERE queue = ?1 AND level = 1"
    " AND bucket >= ?4 AND bucket < ?5)"
    " + (SELECT COALESCE(SUM(n), 0) FROM queue_rank WHERE queue = ?1 AND level = 2"
    " AND bucket >= ?6 AND bucket < ?7)"
    " + (SELECT COALESCE(SUM(n), 0) FROM queue_rank WHERE queue = ?1 AND level = 3"
    " AND bucket < ?8)";
constexpr const char* kNextToOffer =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations INDEXED BY conversations_to_offer WHERE state = 'queued'"
    " AND offered_to IS NULL AND queue = ?1 ORDER BY qkey LIMIT 1";
constexpr const char* kReadyAgents =
    "SELECT username FROM agent_queues WHERE queue = ?1 AND ready = 1"
    " ORDER BY last_assigned_at, username LIMIT ?2";
constexpr const char* kQueueMembers =
    "SELECT username FROM agent_queues WHERE queue = ?1 ORDER BY username";
constexpr const char* kAdmins =
    "SELECT username FROM users WHERE role IN ('admin', 'supervisor') AND enabled = 1"
    " ORDER BY username";
constexpr const char* kWaitChecksDue =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations INDEXED BY conversations_wait_due WHERE state = 'queued'"
    " AND wait_check_at IS NOT NULL AND wait_check_at <= ?1 ORDER BY wait_check_at LIMIT ?2";
constexpr const char* kParkedWaitChecks =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations INDEXED BY conversations_wait_parked WHERE state = 'queued'"
    " AND wait_check_at IS NULL AND queue = ?1 LIMIT ?2";
constexpr const char* kSetArmedVersion =
    "UPDATE queue_stats SET armed_version = ?2 WHERE queue = ?1";
constexpr const char* kHandleSlotOld = "SELECT ms FROM queue_handle WHERE queue = ?1 AND slot = ?2";
constexpr const char* kPutHandleSlot =
    "INSERT INTO queue_handle (queue, slot, ms) VALUES (?1, ?2, ?3) ON CONFLICT (queue, slot) "
    "DO UPDATE SET ms = ?3";
constexpr const char* kAddHandle =
    "INSERT INTO queue_stats (queue, handle_sum_ms, handle_count, version) VALUES (?1, ?2, 1, 1)"
    " ON CONFLICT (queue) DO UPDATE SET handle_sum_ms = handle_sum_ms + ?2,"
    " handle_count = handle_count + 1, version = version + 1";
constexpr const char* kHandleCount = "SELECT handle_count FROM queue_stats WHERE queue = ?1";
constexpr const char* kCountOutcome =
    "INSERT INTO queue_stats (queue, day, answered_today, answered_in_sl_today, abandoned_today,"
    " answered_total, abandoned_total, offers_total, offers_rung_out_total,"
    " offers_declined_total, wait_sum_today_ms, handle_count_today, handle_sum_today_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (queue) DO UPDATE"
    " SET answered_today = CASE WHEN day = ?2 THEN answered_today ELSE 0 END + ?3,"
    " answered_in_sl_today = CASE WHEN day = ?2 THEN answered_in_sl_today ELSE 0 END + ?4,"
    " abandoned_today = CASE WHEN day = ?2 THEN abandoned_today ELSE 0 END + ?5,"
    " wait_sum_today_ms = CASE WHEN day = ?2 THEN wait_sum_today_ms ELSE 0 END + ?9,"
    " handle_count_today = CASE WHEN day = ?2 THEN handle_count_today ELSE 0 END + ?10,"
    " handle_sum_today_ms = CASE WHEN day = ?2 THEN handle_sum_today_ms ELSE 0 END + ?11,"
    " day = ?2, answered_total = answered_total + ?3, abandoned_total = abandoned_total + ?5,"
    " offers_total = offers_total + ?6, offers_rung_out_total = offers_rung_out_total + ?7,"
    " offers_declined_total = offers_declined_total + ?8";

constexpr const char* kCountConversations = "SELECT state, n FROM conversation_counts";

#define PARLEY_PRESENCE_COLUMNS                                                              \
  "username, status, streams, online, offline_due_at, last_assigned_at, updated_at, chats, " \
  "offers, ready_at, away_reason, status_since, status_period, day, chats_today, "           \
  "handle_sum_today_ms, handle_count_today"
constexpr const char* kGetPresence =
    "SELECT " PARLEY_PRESENCE_COLUMNS " FROM agent_presence WHERE username = ?1";
constexpr const char* kListPresence =
    "SELECT " PARLEY_PRESENCE_COLUMNS " FROM agent_presence ORDER BY username";
constexpr const char* kOfflineDue = "SELECT " PARLEY_PRESENCE_COLUMNS
                                    " FROM agent_presence WHERE offline_due_at IS NOT NULL"
                                    " AND offline_due_at <= ?1 ORDER BY offline_due_at LIMIT ?2";
// The load (chats, offers) is kept by the conversation triggers and never written here.
constexpr const char* kPutPresence =
    "INSERT INTO agent_presence (username, status, streams, online, offline_due_at, "
    "last_assigned_at, updated_at, ready_at, away_reason, status_since, status_period, day, "
    "chats_today, handle_sum_today_ms, handle_count_today) VALUES "
    "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15) ON CONFLICT "
    "(username) DO UPDATE SET status=?2, streams=?3, online=?4, offline_due_at=?5, "
    "last_assigned_at=?6, updated_at=?7, ready_at=?8, away_reason=?9, status_since=?10, "
    "status_period=?11, day=?12, chats_today=?13, handle_sum_today_ms=?14, "
    "handle_count_today=?15";
// Agents whose after-chat work is over (index agent_presence_ready_due).
constexpr const char* kReadyDue = "SELECT " PARLEY_PRESENCE_COLUMNS
                                  " FROM agent_presence WHERE ready_at IS NOT NULL"
                                  " AND ready_at <= ?1 ORDER BY ready_at LIMIT ?2";

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
    "DELETE FROM agent_events WHERE username = ?1 AND seq <= ?2 AND created_at < ?3";

// Wrap-up codes are stored one a line (a code holds no line break).
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from < text.size()) {
    size_t end = text.find('\n', from);
    if (end == std::string::npos) end = text.size();
    if (end > from) out.push_back(text.substr(from, end - from));
    from = end + 1;
  }
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : "\n") + line;
  return out;
}

QueueRecord ReadQueue(const Stmt& s) {
  QueueRecord q;
  q.name = s.Text(0);
  q.display_name = s.Text(1);
  q.auto_accept = s.Int(2) != 0;
  q.max_wait_s = s.OptInt(3);
  q.closed_text = s.OptText(4);
  q.created_at_ms = s.Int(5);
  q.updated_at_ms = s.Int(6);
  q.service_level_s = s.Int(7);
  q.no_agents_text = s.OptText(8);
  q.wrap_up_codes = SplitLines(s.Text(9));
  q.wrap_up_required = s.Int(10) != 0;
  q.after_chat_work_s = s.Int(11);
  q.service_level_target = s.Real(12);
  q.csat = s.Int(13) != 0;
  q.hours_json = s.OptText(14);
  return q;
}

void BindQueue(Stmt& s, const QueueRecord& q) {
  s.Bind(1, q.name).Bind(2, q.display_name).Bind(3, q.auto_accept).Bind(4, q.max_wait_s);
  s.Bind(5, q.closed_text).Bind(6, q.created_at_ms).Bind(7, q.updated_at_ms);
  s.Bind(8, q.service_level_s).Bind(9, q.no_agents_text).Bind(10, JoinLines(q.wrap_up_codes));
  s.Bind(11, q.wrap_up_required).Bind(12, q.after_chat_work_s).BindReal(13, q.service_level_target);
  s.Bind(14, q.csat).Bind(15, q.hours_json);
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
  p.chats = s.Int(7);
  p.offers = s.Int(8);
  p.ready_at_ms = s.OptInt(9);
  p.away_reason = s.OptText(10);
  p.status_since_ms = s.Int(11);
  p.status_period = s.Text(12);
  p.day = s.Int(13);
  p.chats_today = s.Int(14);
  p.handle_sum_today_ms = s.Int(15);
  p.handle_count_today = s.Int(16);
  return p;
}

QueueStats ReadQueueStats(const Stmt& s) {
  QueueStats q;
  q.queue = s.Text(0);
  q.waiting = s.Int(1);
  q.active = s.Int(2);
  q.version = s.Int(3);
  q.armed_version = s.Int(4);
  q.members = s.Int(5);
  q.concurrency_sum = s.Int(6);
  q.signed_in = s.Int(7);
  q.available = s.Int(8);
  q.handle_sum_ms = s.Int(9);
  q.handle_count = s.Int(10);
  q.day = s.Int(11);
  q.answered_today = s.Int(12);
  q.answered_in_sl_today = s.Int(13);
  q.abandoned_today = s.Int(14);
  q.answered_total = s.Int(15);
  q.abandoned_total = s.Int(16);
  q.offers_total = s.Int(17);
  q.offers_rung_out_total = s.Int(18);
  q.offers_declined_total = s.Int(19);
  q.wait_sum_today_ms = s.Int(20);
  q.handle_sum_today_ms = s.Int(21);
  q.handle_count_today = s.Int(22);
  q.head_queued_at_ms = s.OptInt(23);
  q.oldest_queued_at_ms = s.OptInt(24);
  return q;
}

// The stats row of a statement selecting one queue's, or zero counters when it has none.
QueueStats StatsOrNone(Stmt& s, const std::string& queue) {
  if (s.Step() == SQLITE_ROW) return ReadQueueStats(s);
  QueueStats none;
  none.queue = queue;
  return none;
}

std::vector<std::string> Names(Stmt& s) {
  std::vector<std::string> out;
  while (s.Step() == SQLITE_ROW) out.push_back(s.Text(0));
  return out;
}

}  // namespace

Result<std::vector<QueueRecord>> SqliteTx::ListQueues() {
  PARLEY_TRY_STMT(s, kListQueues);
  std::vector<QueueRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadQueue(s));
  return out;
}

Result<std::optional<QueueRecord>> SqliteTx::GetQueue(const std::string& name) {
  if (cache_limit_ > 0) {
    auto it = queues_.find(name);
    if (it != queues_.end()) return it->second;
  }
  PARLEY_TRY_STMT(s, kGetQueue);
  s.Bind(1, name);
  std::optional<QueueRecord> found;
  if (s.Step() == SQLITE_ROW) found = ReadQueue(s);
  // A queue a row apiece: the cache stays small unless names are made up by the thousand.
  if (cache_limit_ > 0) {
    if (queues_.size() >= kQueueCacheLimit) queues_.clear();
    queues_.emplace(name, found);
  }
  return found;
}

Result<void> SqliteTx::InsertQueue(const QueueRecord& q) {
  queues_.erase(q.name);
  PARLEY_TRY_STMT(s, kInsertQueue);
  BindQueue(s, q);
  auto r = db_.Run(s, "insert queue");
  if (!r && r.error().errc == Errc::kConflict)
    return Fail(Errc::kConflict, "queue_exists",
                fmt::format("A queue named '{}' exists; choose another name.", q.name));
  return r;
}

Result<void> SqliteTx::UpdateQueue(const QueueRecord& q) {
  queues_.erase(q.name);
  PARLEY_TRY_STMT(s, kUpdateQueue);
  BindQueue(s, q);
  return db_.Run(s, "update queue");
}

Result<bool> SqliteTx::DeleteQueue(const std::string& name) {
  queues_.erase(name);
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

Result<std::vector<ConversationRecord>> SqliteTx::ExpiredOffers(int64_t now_ms, size_t limit) {
  PARLEY_TRY_STMT(s, kExpiredOffers);
  s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
  return Conversations(s);
}

Result<std::vector<ConversationRecord>> SqliteTx::IdleConversations(int64_t remind_before_ms,
                                                                    int64_t end_before_ms,
                                                                    size_t limit) {
  PARLEY_TRY_STMT(s, kIdleConversations);
  s.Bind(1, remind_before_ms).Bind(2, end_before_ms).Bind(3, static_cast<int64_t>(limit));
  auto all = Conversations(s);
  if (!all) return all;
  std::erase_if(*all, [&](const ConversationRecord& c) {
    return c.routing.idle_reminded ? c.last_customer_at_ms > end_before_ms
                                   : c.last_customer_at_ms >= remind_before_ms;
  });
  return all;
}

Result<std::vector<ConversationRecord>> SqliteTx::AgentConversations(const std::string& agent) {
  PARLEY_TRY_STMT(s, kAgentConversations);
  s.Bind(1, agent);
  return Conversations(s);
}

Result<QueueStats> SqliteTx::GetQueueStats(const std::string& queue) {
  PARLEY_TRY_STMT(s, kGetQueueStats);
  s.Bind(1, queue);
  return StatsOrNone(s, queue);
}

Result<std::vector<QueueStats>> SqliteTx::ListQueueStats() {
  PARLEY_TRY_STMT(s, kListQueueStats);
  std::vector<QueueStats> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadQueueStats(s));
  return out;
}

Result<QueueStats> SqliteTx::GetQueueCounters(const std::string& queue) {
  PARLEY_TRY_STMT(s, kGetQueueCounters);
  s.Bind(1, queue);
  return StatsOrNone(s, queue);
}

Result<int64_t> SqliteTx::NextQueueKey(const std::string& queue, bool at_head) {
  {
    PARLEY_TRY_STMT(take, at_head ? kTakeHeadKey : kTakeTailKey);
    take.Bind(1, queue);
    auto r = db_.Run(take, "take a queue key");
    if (!r) return Fail(r.error());
  }
  if (db_.Changes() == 0) {
    PARLEY_TRY_STMT(first, at_head ? kFirstHeadKey : kFirstTailKey);
    first.Bind(1, queue);
    auto r = db_.Run(first, "take a queue's first key");
    if (!r) return Fail(r.error());
  }
  PARLEY_TRY_STMT(s, kReadQueueKeys);
  s.Bind(1, queue);
  if (s.Step() != SQLITE_ROW)
    return Fail(Errc::kInternal, "store_error", "Taking a queue key failed: " + db_.LastError());
  return s.Int(at_head ? 1 : 0);
}

Result<int64_t> SqliteTx::WaitingAhead(const std::string& queue, int64_t qkey) {
  PARLEY_TRY_STMT(s, kWaitingAhead);
  s.Bind(1, queue);
  s.Bind(2, (qkey >> 5) << 5).Bind(3, qkey);
  s.Bind(4, (qkey >> 10) << 5).Bind(5, qkey >> 5);
  s.Bind(6, (qkey >> 15) << 5).Bind(7, qkey >> 10);
  s.Bind(8, qkey >> 15);
  if (s.Step() != SQLITE_ROW)
    return Fail(Errc::kInternal, "store_error", "Counting a queue failed: " + db_.LastError());
  return s.Int(0);
}

Result<std::optional<ConversationRecord>> SqliteTx::NextToOffer(const std::string& queue) {
  PARLEY_TRY_STMT(s, kNextToOffer);
  s.Bind(1, queue);
  auto found = Conversations(s);
  if (!found) return Fail(found.error());
  if (found->empty()) return std::optional<ConversationRecord>();
  return std::optional<ConversationRecord>(std::move(found->front()));
}

Result<std::vector<std::string>> SqliteTx::ReadyAgents(const std::string& queue, size_t limit) {
  PARLEY_TRY_STMT(s, kReadyAgents);
  s.Bind(1, queue).Bind(2, static_cast<int64_t>(limit));
  return Names(s);
}

Result<std::vector<std::string>> SqliteTx::QueueMembers(const std::string& queue) {
  PARLEY_TRY_STMT(s, kQueueMembers);
  s.Bind(1, queue);
  return Names(s);
}

Result<std::vector<std::string>> SqliteTx::Admins() {
  PARLEY_TRY_STMT(s, kAdmins);
  return Names(s);
}

Result<std::vector<ConversationRecord>> SqliteTx::WaitChecksDue(int64_t now_ms, size_t limit) {
  PARLEY_TRY_STMT(s, kWaitChecksDue);
  s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
  return Conversations(s);
}

Result<std::vector<ConversationRecord>> SqliteTx::ParkedWaitChecks(const std::string& queue,
                                                                   size_t limit) {
  PARLEY_TRY_STMT(s, kParkedWaitChecks);
  s.Bind(1, queue).Bind(2, static_cast<int64_t>(limit));
  return Conversations(s);
}

Result<void> SqliteTx::SetArmedVersion(const std::string& queue, int64_t version) {
  PARLEY_TRY_STMT(s, kSetArmedVersion);
  s.Bind(1, queue).Bind(2, version);
  return db_.Run(s, "set armed version");
}

Result<void> SqliteTx::AddHandleSample(const std::string& queue, int64_t ms, int64_t keep) {
  int64_t count = 0;
  {
    PARLEY_TRY_STMT(s, kHandleCount);
    s.Bind(1, queue);
    if (s.Step() == SQLITE_ROW) count = s.Int(0);
  }
  int64_t slot = count % keep;
  int64_t old = 0;
  if (count >= keep) {
    PARLEY_TRY_STMT(s, kHandleSlotOld);
    s.Bind(1, queue).Bind(2, slot);
    if (s.Step() == SQLITE_ROW) old = s.Int(0);
  }
  {
    PARLEY_TRY_STMT(s, kPutHandleSlot);
    s.Bind(1, queue).Bind(2, slot).Bind(3, ms);
    auto r = db_.Run(s, "put handle sample");
    if (!r) return r;
  }
  PARLEY_TRY_STMT(s, kAddHandle);
  s.Bind(1, queue).Bind(2, ms - old);
  return db_.Run(s, "add handle sample");
}

Result<void> SqliteTx::CountQueueOutcome(const std::string& queue, const QueueOutcome& o) {
  PARLEY_TRY_STMT(s, kCountOutcome);
  s.Bind(1, queue).Bind(2, o.day).Bind(3, o.answered).Bind(4, o.answered_in_sl);
  s.Bind(5, o.abandoned).Bind(6, o.offers).Bind(7, o.offers_rung_out).Bind(8, o.offers_declined);
  s.Bind(9, o.wait_ms).Bind(10, o.handled).Bind(11, o.handle_ms);
  return db_.Run(s, "count queue outcome");
}

Result<std::map<std::string, int64_t>> SqliteTx::CountConversations() {
  PARLEY_TRY_STMT(s, kCountConversations);
  std::map<std::string, int64_t> out{{"bot", 0}, {"queued", 0}, {"active", 0}, {"ended", 0}};
  while (s.Step() == SQLITE_ROW) out[s.Text(0)] = s.Int(1);
  return out;
}

Result<std::vector<PresenceRecord>> SqliteTx::OfflineDue(int64_t now_ms, size_t limit) {
  PARLEY_TRY_STMT(s, kOfflineDue);
  s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
  std::vector<PresenceRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadPresence(s));
  return out;
}

Result<std::vector<PresenceRecord>> SqliteTx::ReadyDue(int64_t now_ms, size_t limit) {
  PARLEY_TRY_STMT(s, kReadyDue);
  s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
  std::vector<PresenceRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadPresence(s));
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
  s.Bind(8, p.ready_at_ms).Bind(9, p.away_reason).Bind(10, p.status_since_ms);
  s.Bind(11, p.status_period).Bind(12, p.day).Bind(13, p.chats_today);
  s.Bind(14, p.handle_sum_today_ms).Bind(15, p.handle_count_today);
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

Result<void> SqliteTx::PruneAgentEvents(const std::string& username, int64_t up_to_seq,
                                        int64_t before_ms) {
  PARLEY_TRY_STMT(s, kPruneAgentEvents);
  s.Bind(1, username).Bind(2, up_to_seq).Bind(3, before_ms);
  return db_.Run(s, "prune agent events");
}

}  // namespace parley::storage::sqlite

// Queues, agents' presence, routing state and agents' event log of the PostgreSQL store: the
// twin of sqlite/sqlite_routing.cpp over the tables and triggers of migration 0006.
#include <fmt/format.h>

#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

#define PARLEY_PG_QUEUE_COLUMNS                                                           \
  "name, display_name, auto_accept, max_wait_s, closed_text, created_at, updated_at, "    \
  "service_level_s, no_agents_text, wrap_up_codes, wrap_up_required, after_chat_work_s, " \
  "service_level_target, csat, hours"
constexpr const char* kListQueues = "SELECT " PARLEY_PG_QUEUE_COLUMNS " FROM queues ORDER BY name";
constexpr const char* kGetQueue = "SELECT " PARLEY_PG_QUEUE_COLUMNS " FROM queues WHERE name = $1";
constexpr const char* kInsertQueue =
    "INSERT INTO queues (" PARLEY_PG_QUEUE_COLUMNS
    ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT DO NOTHING";
constexpr const char* kUpdateQueue =
    "UPDATE queues SET display_name=$2, auto_accept=$3, max_wait_s=$4, closed_text=$5, "
    "updated_at=$6, service_level_s=$7, no_agents_text=$8, wrap_up_codes=$9, wrap_up_required=$10, "
    "after_chat_work_s=$11, service_level_target=$12, csat=$13, hours=$14 WHERE name=$1";
constexpr const char* kDeleteQueue = "DELETE FROM queues WHERE name = $1";

// Every statement below reads through an index (the scan guard, HotRoutingStatements).
constexpr const char* kWaiting =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND queue = $1 ORDER BY qkey LIMIT $2";
constexpr const char* kExpiredOffers =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to IS NOT NULL"
    " AND offer_expires_at <= $1 ORDER BY offer_expires_at LIMIT $2";
// The timers' due rows as a node's sweep reads them (writer jobs): locked, skipping rows another
// node's sweep (or any other job) holds, so two nodes never act on one due timer; a row changed
// and committed meanwhile is checked again against the condition (READ COMMITTED), so a timer
// another node handled is no longer due (issue 15).
constexpr const char* kExpiredOffersLocked =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to IS NOT NULL"
    " AND offer_expires_at <= $1 ORDER BY offer_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED";
constexpr const char* kIdleConversationsLocked =
    "SELECT * FROM (SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state IN ('bot', 'active') AND idle_reminded = false"
    " AND last_customer_at < $1 LIMIT $3 FOR UPDATE SKIP LOCKED) a UNION SELECT * FROM "
    "(SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state IN ('bot', 'active') AND idle_reminded = true"
    " AND last_customer_at < $2 LIMIT $3 FOR UPDATE SKIP LOCKED) b";
constexpr const char* kIdleConversations =
    "SELECT * FROM (SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state IN ('bot', 'active') AND idle_reminded = false"
    " AND last_customer_at < $1 LIMIT $3) a UNION SELECT * FROM "
    "(SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state IN ('bot', 'active') AND idle_reminded = true"
    " AND last_customer_at < $2 LIMIT $3) b";
constexpr const char* kAgentConversations =
    "SELECT * FROM (SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'active' AND agent = $1 UNION ALL "
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to = $1) a ORDER BY assigned_at, id";

#define PARLEY_PG_QUEUE_COUNTER_COLUMNS                                                      \
  "s.queue, s.waiting, s.active, s.version, s.armed_version, s.members, s.concurrency_sum, " \
  "s.signed_in, s.available, s.handle_sum_ms, s.handle_count, s.day, s.answered_today, "     \
  "s.answered_in_sl_today, s.abandoned_today, s.answered_total, s.abandoned_total, "         \
  "s.offers_total, s.offers_rung_out_total, s.offers_declined_total, s.wait_sum_today_ms, "  \
  "s.handle_sum_today_ms, s.handle_count_today"
#define PARLEY_PG_QUEUE_STATS_COLUMNS                                                      \
  PARLEY_PG_QUEUE_COUNTER_COLUMNS                                                          \
  ", "                                                                                     \
  "(SELECT queued_at FROM conversations c WHERE c.state = 'queued' AND c.queue = s.queue " \
  "ORDER BY c.qkey LIMIT 1), "                                                             \
  "(SELECT MIN(queued_at) FROM conversations c WHERE c.state = 'queued' AND c.queue = "    \
  "s.queue)"
constexpr const char* kGetQueueStats =
    "SELECT " PARLEY_PG_QUEUE_STATS_COLUMNS " FROM queue_stats s WHERE s.queue = $1";
constexpr const char* kGetQueueCounters = "SELECT " PARLEY_PG_QUEUE_COUNTER_COLUMNS
                                          ", NULL::bigint, NULL::bigint FROM queue_stats s"
                                          " WHERE s.queue = $1";
constexpr const char* kListQueueStats =
    "SELECT " PARLEY_PG_QUEUE_STATS_COLUMNS " FROM queue_stats s ORDER BY s.queue";
constexpr const char* kNextTailKey =
    "INSERT INTO queue_stats AS s (queue, tail_key) VALUES ($1, 1099511627777) ON CONFLICT (queue) "
    "DO UPDATE SET tail_key = s.tail_key + 1 RETURNING tail_key";
constexpr const char* kNextHeadKey =
    "INSERT INTO queue_stats AS s (queue, head_key) VALUES ($1, 1099511627776) ON CONFLICT (queue) "
    "DO UPDATE SET head_key = s.head_key - 1 RETURNING head_key";
// The keys before k, from the rank buckets (see the SQLite twin).
constexpr const char* kWaitingAhead =
    "SELECT (SELECT COUNT(*) FROM conversations WHERE state = 'queued' AND queue = $1"
    " AND qkey >= $2 AND qkey < $3)"
    " + (SELECT COALESCE(SUM(n), 0) FROM queue_rank WHERE queue = $1 AND level = 1"
    " AND bucket >= $4 AND bucket < $5)"
    " + (SELECT COALESCE(SUM(n), 0) FROM queue_rank WHERE queue = $1 AND level = 2"
    " AND bucket >= $6 AND bucket < $7)"
    " + (SELECT COALESCE(SUM(n), 0) FROM queue_rank WHERE queue = $1 AND level = 3"
    " AND bucket < $8)";
constexpr const char* kNextToOffer =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND offered_to IS NULL AND queue = $1"
    " ORDER BY qkey LIMIT 1";
constexpr const char* kReadyAgents =
    "SELECT username FROM agent_queues WHERE queue = $1 AND ready = 1"
    " ORDER BY last_assigned_at, username LIMIT $2";
constexpr const char* kQueueMembers =
    "SELECT username FROM agent_queues WHERE queue = $1 ORDER BY username";
constexpr const char* kAdmins =
    "SELECT username FROM users WHERE role IN ('admin', 'supervisor') AND enabled"
    " ORDER BY username";
constexpr const char* kWaitChecksDue =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND wait_check_at IS NOT NULL"
    " AND wait_check_at <= $1 ORDER BY wait_check_at LIMIT $2";
constexpr const char* kWaitChecksDueLocked =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND wait_check_at IS NOT NULL"
    " AND wait_check_at <= $1 ORDER BY wait_check_at LIMIT $2 FOR UPDATE SKIP LOCKED";
constexpr const char* kParkedWaitChecks =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE state = 'queued' AND wait_check_at IS NULL AND queue = $1 LIMIT $2";
constexpr const char* kSetArmedVersion =
    "UPDATE queue_stats SET armed_version = $2 WHERE queue = $1";
constexpr const char* kHandleSlotOld = "SELECT ms FROM queue_handle WHERE queue = $1 AND slot = $2";
constexpr const char* kPutHandleSlot =
    "INSERT INTO queue_handle (queue, slot, ms) VALUES ($1, $2, $3) ON CONFLICT (queue, slot) "
    "DO UPDATE SET ms = EXCLUDED.ms";
constexpr const char* kAddHandle =
    "INSERT INTO queue_stats AS s (queue, handle_sum_ms, handle_count, version) "
    "VALUES ($1, $2, 1, 1) ON CONFLICT (queue) DO UPDATE SET "
    "handle_sum_ms = s.handle_sum_ms + EXCLUDED.handle_sum_ms, "
    "handle_count = s.handle_count + 1, version = s.version + 1";
// Locks the queue's row: two nodes adding samples at once take different slots.
constexpr const char* kHandleCount =
    "SELECT handle_count FROM queue_stats WHERE queue = $1 FOR UPDATE";
constexpr const char* kCountOutcome =
    "INSERT INTO queue_stats AS s (queue, day, answered_today, answered_in_sl_today,"
    " abandoned_today, answered_total, abandoned_total, offers_total, offers_rung_out_total,"
    " offers_declined_total, wait_sum_today_ms, handle_count_today, handle_sum_today_ms)"
    " VALUES ($1, $2, $3, $4, $5, $3, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (queue) DO UPDATE"
    " SET answered_today = CASE WHEN s.day = $2 THEN s.answered_today ELSE 0 END + $3,"
    " wait_sum_today_ms = CASE WHEN s.day = $2 THEN s.wait_sum_today_ms ELSE 0 END + $9,"
    " handle_count_today = CASE WHEN s.day = $2 THEN s.handle_count_today ELSE 0 END + $10,"
    " handle_sum_today_ms = CASE WHEN s.day = $2 THEN s.handle_sum_today_ms ELSE 0 END + $11,"
    " answered_in_sl_today = CASE WHEN s.day = $2 THEN s.answered_in_sl_today ELSE 0 END + $4,"
    " abandoned_today = CASE WHEN s.day = $2 THEN s.abandoned_today ELSE 0 END + $5,"
    " day = $2, answered_total = s.answered_total + $3, abandoned_total = s.abandoned_total + $5,"
    " offers_total = s.offers_total + $6, offers_rung_out_total = s.offers_rung_out_total + $7,"
    " offers_declined_total = s.offers_declined_total + $8";

constexpr const char* kCountConversations = "SELECT state, n FROM conversation_counts";

#define PARLEY_PG_PRESENCE_COLUMNS                                                           \
  "username, status, streams, online, offline_due_at, last_assigned_at, updated_at, chats, " \
  "offers, ready_at, away_reason, status_since, status_period, day, chats_today, "           \
  "handle_sum_today_ms, handle_count_today"
constexpr const char* kGetPresence =
    "SELECT " PARLEY_PG_PRESENCE_COLUMNS " FROM agent_presence WHERE username = $1";
constexpr const char* kListPresence =
    "SELECT " PARLEY_PG_PRESENCE_COLUMNS " FROM agent_presence ORDER BY username";
constexpr const char* kOfflineDue = "SELECT " PARLEY_PG_PRESENCE_COLUMNS
                                    " FROM agent_presence WHERE offline_due_at IS NOT NULL"
                                    " AND offline_due_at <= $1 ORDER BY offline_due_at LIMIT $2";
constexpr const char* kOfflineDueLocked =
    "SELECT " PARLEY_PG_PRESENCE_COLUMNS
    " FROM agent_presence WHERE offline_due_at IS NOT NULL"
    " AND offline_due_at <= $1 ORDER BY offline_due_at LIMIT $2 FOR UPDATE SKIP LOCKED";
// The load (chats, offers) is kept by the conversation triggers and never written here.
constexpr const char* kPutPresence =
    "INSERT INTO agent_presence (username, status, streams, online, offline_due_at, "
    "last_assigned_at, updated_at, ready_at, away_reason, status_since, status_period, day, "
    "chats_today, handle_sum_today_ms, handle_count_today) VALUES "
    "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT "
    "(username) DO UPDATE SET status=EXCLUDED.status, streams=EXCLUDED.streams, "
    "online=EXCLUDED.online, offline_due_at=EXCLUDED.offline_due_at, "
    "last_assigned_at=EXCLUDED.last_assigned_at, updated_at=EXCLUDED.updated_at, "
    "ready_at=EXCLUDED.ready_at, away_reason=EXCLUDED.away_reason, "
    "status_since=EXCLUDED.status_since, status_period=EXCLUDED.status_period, "
    "day=EXCLUDED.day, chats_today=EXCLUDED.chats_today, "
    "handle_sum_today_ms=EXCLUDED.handle_sum_today_ms, "
    "handle_count_today=EXCLUDED.handle_count_today";
constexpr const char* kReadyDue = "SELECT " PARLEY_PG_PRESENCE_COLUMNS
                                  " FROM agent_presence WHERE ready_at IS NOT NULL"
                                  " AND ready_at <= $1 ORDER BY ready_at LIMIT $2";
constexpr const char* kReadyDueLocked =
    "SELECT " PARLEY_PG_PRESENCE_COLUMNS
    " FROM agent_presence WHERE ready_at IS NOT NULL"
    " AND ready_at <= $1 ORDER BY ready_at LIMIT $2 FOR UPDATE SKIP LOCKED";

constexpr const char* kLastAgentEventSeq =
    "SELECT COALESCE(MAX(seq), 0) FROM agent_events WHERE username = $1";
constexpr const char* kFirstAgentEventSeq =
    "SELECT COALESCE(MIN(seq), 0) FROM agent_events WHERE username = $1";
// A writer numbers a user's events under the lock of their head row (migration 0016): the
// row locked FOR UPDATE gives the newest seq committed by any node; a user's first event
// creates the row from MAX(seq) (an upsert: a node creating it meanwhile is waited for).
constexpr const char* kLockAgentEventHead =
    "SELECT seq FROM agent_event_heads WHERE username = $1 FOR UPDATE";
constexpr const char* kCreateAgentEventHead =
    "INSERT INTO agent_event_heads AS h (username, seq) "
    "SELECT $1, COALESCE(MAX(seq), 0) FROM agent_events WHERE username = $1 "
    "ON CONFLICT (username) DO UPDATE SET seq = h.seq RETURNING h.seq";
constexpr const char* kInsertAgentEvent =
    "WITH head AS (UPDATE agent_event_heads SET seq = $2 WHERE username = $1 AND seq < $2) "
    "INSERT INTO agent_events (username, seq, type, body, created_at) VALUES ($1,$2,$3,$4,$5) "
    "ON CONFLICT DO NOTHING";
// Tells the other nodes (at commit) that this user has a new event; never its content.
constexpr const char* kNotify = "SELECT pg_notify($1, $2)";
constexpr const char* kAgentEventsAfter =
    "SELECT username, seq, type, body, created_at FROM agent_events WHERE username = $1 "
    "AND seq > $2 ORDER BY seq LIMIT $3";
constexpr const char* kPruneAgentEvents =
    "DELETE FROM agent_events WHERE username = $1 AND seq <= $2 AND created_at < $3";

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

QueueRecord ReadQueue(const Rows& r, int i) {
  QueueRecord q;
  q.name = r.Text(i, 0);
  q.display_name = r.Text(i, 1);
  q.auto_accept = r.Bool(i, 2);
  q.max_wait_s = r.OptInt(i, 3);
  q.closed_text = r.OptText(i, 4);
  q.created_at_ms = r.Int(i, 5);
  q.updated_at_ms = r.Int(i, 6);
  q.service_level_s = r.Int(i, 7);
  q.no_agents_text = r.OptText(i, 8);
  q.wrap_up_codes = SplitLines(r.Text(i, 9));
  q.wrap_up_required = r.Bool(i, 10);
  q.after_chat_work_s = r.Int(i, 11);
  q.service_level_target = r.Real(i, 12);
  q.csat = r.Bool(i, 13);
  q.hours_json = r.OptText(i, 14);
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
  p.chats = r.Int(i, 7);
  p.offers = r.Int(i, 8);
  p.ready_at_ms = r.OptInt(i, 9);
  p.away_reason = r.OptText(i, 10);
  p.status_since_ms = r.Int(i, 11);
  p.status_period = r.Text(i, 12);
  p.day = r.Int(i, 13);
  p.chats_today = r.Int(i, 14);
  p.handle_sum_today_ms = r.Int(i, 15);
  p.handle_count_today = r.Int(i, 16);
  return p;
}

QueueStats ReadQueueStats(const Rows& r, int i) {
  QueueStats q;
  q.queue = r.Text(i, 0);
  q.waiting = r.Int(i, 1);
  q.active = r.Int(i, 2);
  q.version = r.Int(i, 3);
  q.armed_version = r.Int(i, 4);
  q.members = r.Int(i, 5);
  q.concurrency_sum = r.Int(i, 6);
  q.signed_in = r.Int(i, 7);
  q.available = r.Int(i, 8);
  q.handle_sum_ms = r.Int(i, 9);
  q.handle_count = r.Int(i, 10);
  q.day = r.Int(i, 11);
  q.answered_today = r.Int(i, 12);
  q.answered_in_sl_today = r.Int(i, 13);
  q.abandoned_today = r.Int(i, 14);
  q.answered_total = r.Int(i, 15);
  q.abandoned_total = r.Int(i, 16);
  q.offers_total = r.Int(i, 17);
  q.offers_rung_out_total = r.Int(i, 18);
  q.offers_declined_total = r.Int(i, 19);
  q.wait_sum_today_ms = r.Int(i, 20);
  q.handle_sum_today_ms = r.Int(i, 21);
  q.handle_count_today = r.Int(i, 22);
  q.head_queued_at_ms = r.OptInt(i, 23);
  q.oldest_queued_at_ms = r.OptInt(i, 24);
  return q;
}

// The stats row of a query selecting one queue's, or zero counters when it has none.
QueueStats StatsOrNone(const Rows& r, const std::string& queue) {
  if (!r.empty()) return ReadQueueStats(r, 0);
  QueueStats none;
  none.queue = queue;
  return none;
}

std::vector<std::string> Names(const Rows& r) {
  std::vector<std::string> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Text(i, 0));
  return out;
}

Params QueueParams(const QueueRecord& q, bool insert) {
  Params p;
  p.Add(q.name).Add(q.display_name).Add(q.auto_accept).Add(q.max_wait_s).Add(q.closed_text);
  if (insert) p.Add(q.created_at_ms);
  p.Add(q.updated_at_ms).Add(q.service_level_s).Add(q.no_agents_text);
  p.Add(JoinLines(q.wrap_up_codes)).Add(q.wrap_up_required).Add(q.after_chat_work_s);
  p.AddReal(q.service_level_target);
  p.Add(q.csat).Add(q.hours_json);
  return p;
}

}  // namespace

const std::vector<HotStatement>& HotRoutingStatements() {
  static const std::vector<HotStatement> kAll = {
      {"waiting", kWaiting, {"sales", "10"}},
      {"expired offers", kExpiredOffers, {"1000", "100"}},
      {"idle conversations", kIdleConversations, {"1000", "500", "100"}},
      {"agent conversations", kAgentConversations, {"ann"}},
      {"queue stats", kGetQueueStats, {"sales"}},
      {"waiting ahead", kWaitingAhead, {"sales", "64", "70", "0", "2", "0", "0", "0"}},
      {"next to offer", kNextToOffer, {"sales"}},
      {"ready agents", kReadyAgents, {"sales", "10"}},
      {"queue members", kQueueMembers, {"sales"}},
      {"wait checks due", kWaitChecksDue, {"1000", "100"}},
      {"parked wait checks", kParkedWaitChecks, {"sales", "100"}},
      {"offline due", kOfflineDue, {"1000", "100"}},
      {"ready due", kReadyDue, {"1000", "100"}},
      {"expired offers (sweep)", kExpiredOffersLocked, {"1000", "100"}},
      {"idle conversations (sweep)", kIdleConversationsLocked, {"1000", "500", "100"}},
      {"wait checks due (sweep)", kWaitChecksDueLocked, {"1000", "100"}},
      {"offline due (sweep)", kOfflineDueLocked, {"1000", "100"}},
      {"ready due (sweep)", kReadyDueLocked, {"1000", "100"}},
      {"get presence", kGetPresence, {"ann"}},
      {"last agent event seq", kLastAgentEventSeq, {"ann"}},
      {"first agent event seq", kFirstAgentEventSeq, {"ann"}},
      {"get queue", kGetQueue, {"sales"}},
      {"set armed version", kSetArmedVersion, {"sales", "3"}},
      {"handle slot", kHandleSlotOld, {"sales", "3"}},
      {"handle count", kHandleCount, {"sales"}},
      {"lock agent event head", kLockAgentEventHead, {"ann"}},
      {"create agent event head", kCreateAgentEventHead, {"ann"}},
      {"insert agent event", kInsertAgentEvent, {"ann", "5", "t", "{}", "1000"}},
      {"agent events after", kAgentEventsAfter, {"ann", "5", "100"}},
      {"prune agent events", kPruneAgentEvents, {"ann", "5", "1000"}},
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
  auto r = conn_->Run(kInsertQueue, QueueParams(q, true));
  if (!r) return Fail(r.error());
  if (*r == 0)
    return Fail(Errc::kConflict, "queue_exists",
                fmt::format("A queue named '{}' exists; choose another name.", q.name));
  return {};
}

Result<void> PgTx::UpdateQueue(const QueueRecord& q) {
  return RunDone(conn_->Run(kUpdateQueue, QueueParams(q, false)));
}

Result<bool> PgTx::DeleteQueue(const std::string& name) {
  auto r = conn_->Run(kDeleteQueue, Params().Add(name));
  if (!r) return Fail(r.error());
  return *r > 0;
}

Result<std::vector<ConversationRecord>> PgTx::Waiting(const std::string& queue, size_t limit) {
  return Conversations(kWaiting, Params().Add(queue).Add(static_cast<int64_t>(limit)));
}

Result<std::vector<ConversationRecord>> PgTx::ExpiredOffers(int64_t now_ms, size_t limit) {
  return Conversations(writer_ ? kExpiredOffersLocked : kExpiredOffers,
                       Params().Add(now_ms).Add(static_cast<int64_t>(limit)));
}

Result<std::vector<ConversationRecord>> PgTx::IdleConversations(int64_t remind_before_ms,
                                                                int64_t end_before_ms,
                                                                size_t limit) {
  return Conversations(
      writer_ ? kIdleConversationsLocked : kIdleConversations,
      Params().Add(remind_before_ms).Add(end_before_ms).Add(static_cast<int64_t>(limit)));
}

Result<std::vector<ConversationRecord>> PgTx::AgentConversations(const std::string& agent) {
  return Conversations(kAgentConversations, Params().Add(agent));
}

Result<QueueStats> PgTx::GetQueueStats(const std::string& queue) {
  auto r = conn_->Query(kGetQueueStats, Params().Add(queue));
  if (!r) return Fail(r.error());
  return StatsOrNone(*r, queue);
}

Result<QueueStats> PgTx::GetQueueCounters(const std::string& queue) {
  auto r = conn_->Query(kGetQueueCounters, Params().Add(queue));
  if (!r) return Fail(r.error());
  return StatsOrNone(*r, queue);
}

Result<std::vector<QueueStats>> PgTx::ListQueueStats() {
  auto r = conn_->Query(kListQueueStats, {});
  if (!r) return Fail(r.error());
  std::vector<QueueStats> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadQueueStats(*r, i));
  return out;
}

Result<int64_t> PgTx::NextQueueKey(const std::string& queue, bool at_head) {
  auto r = conn_->Query(at_head ? kNextHeadKey : kNextTailKey, Params().Add(queue));
  if (!r) return Fail(r.error());
  if (r->empty()) return Fail(Errc::kInternal, "store_error", "Taking a queue key failed.");
  return r->Int(0, 0);
}

Result<int64_t> PgTx::WaitingAhead(const std::string& queue, int64_t qkey) {
  Params p;
  p.Add(queue).Add((qkey >> 5) << 5).Add(qkey);
  p.Add((qkey >> 10) << 5).Add(qkey >> 5);
  p.Add((qkey >> 15) << 5).Add(qkey >> 10);
  p.Add(qkey >> 15);
  auto r = conn_->Query(kWaitingAhead, p);
  if (!r) return Fail(r.error());
  if (r->empty()) return Fail(Errc::kInternal, "store_error", "Counting a queue failed.");
  return r->Int(0, 0);
}

Result<std::optional<ConversationRecord>> PgTx::NextToOffer(const std::string& queue) {
  auto found = Conversations(kNextToOffer, Params().Add(queue));
  if (!found) return Fail(found.error());
  if (found->empty()) return std::optional<ConversationRecord>();
  return std::optional<ConversationRecord>(std::move(found->front()));
}

Result<std::vector<std::string>> PgTx::ReadyAgents(const std::string& queue, size_t limit) {
  auto r = conn_->Query(kReadyAgents, Params().Add(queue).Add(static_cast<int64_t>(limit)));
  if (!r) return Fail(r.error());
  return Names(*r);
}

Result<std::vector<std::string>> PgTx::QueueMembers(const std::string& queue) {
  auto r = conn_->Query(kQueueMembers, Params().Add(queue));
  if (!r) return Fail(r.error());
  return Names(*r);
}

Result<std::vector<std::string>> PgTx::Admins() {
  auto r = conn_->Query(kAdmins, {});
  if (!r) return Fail(r.error());
  return Names(*r);
}

Result<std::vector<ConversationRecord>> PgTx::WaitChecksDue(int64_t now_ms, size_t limit) {
  return Conversations(writer_ ? kWaitChecksDueLocked : kWaitChecksDue,
                       Params().Add(now_ms).Add(static_cast<int64_t>(limit)));
}

Result<std::vector<ConversationRecord>> PgTx::ParkedWaitChecks(const std::string& queue,
                                                               size_t limit) {
  return Conversations(kParkedWaitChecks, Params().Add(queue).Add(static_cast<int64_t>(limit)));
}

Result<void> PgTx::SetArmedVersion(const std::string& queue, int64_t version) {
  return RunDone(conn_->Run(kSetArmedVersion, Params().Add(queue).Add(version)));
}

Result<void> PgTx::AddHandleSample(const std::string& queue, int64_t ms, int64_t keep) {
  int64_t count = 0;
  {
    auto r = conn_->Query(kHandleCount, Params().Add(queue));
    if (!r) return Fail(r.error());
    if (!r->empty()) count = r->Int(0, 0);
  }
  int64_t slot = count % keep;
  int64_t old = 0;
  if (count >= keep) {
    auto r = conn_->Query(kHandleSlotOld, Params().Add(queue).Add(slot));
    if (!r) return Fail(r.error());
    if (!r->empty()) old = r->Int(0, 0);
  }
  auto put = conn_->Run(kPutHandleSlot, Params().Add(queue).Add(slot).Add(ms));
  if (!put) return Fail(put.error());
  return RunDone(conn_->Run(kAddHandle, Params().Add(queue).Add(ms - old)));
}

Result<void> PgTx::CountQueueOutcome(const std::string& queue, const QueueOutcome& o) {
  Params p;
  p.Add(queue).Add(o.day).Add(o.answered).Add(o.answered_in_sl);
  p.Add(o.abandoned).Add(o.offers).Add(o.offers_rung_out).Add(o.offers_declined);
  p.Add(o.wait_ms).Add(o.handled).Add(o.handle_ms);
  return RunDone(conn_->Run(kCountOutcome, p));
}

Result<std::map<std::string, int64_t>> PgTx::CountConversations() {
  auto r = conn_->Query(kCountConversations, {});
  if (!r) return Fail(r.error());
  std::map<std::string, int64_t> out{{"bot", 0}, {"queued", 0}, {"active", 0}, {"ended", 0}};
  for (int i = 0; i < r->size(); ++i) out[r->Text(i, 0)] = r->Int(i, 1);
  return out;
}

Result<std::vector<PresenceRecord>> PgTx::OfflineDue(int64_t now_ms, size_t limit) {
  auto r = conn_->Query(writer_ ? kOfflineDueLocked : kOfflineDue,
                        Params().Add(now_ms).Add(static_cast<int64_t>(limit)));
  if (!r) return Fail(r.error());
  std::vector<PresenceRecord> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadPresence(*r, i));
  return out;
}

Result<std::vector<PresenceRecord>> PgTx::ReadyDue(int64_t now_ms, size_t limit) {
  auto r = conn_->Query(writer_ ? kReadyDueLocked : kReadyDue,
                        Params().Add(now_ms).Add(static_cast<int64_t>(limit)));
  if (!r) return Fail(r.error());
  std::vector<PresenceRecord> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadPresence(*r, i));
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
  ps.Add(p.offline_due_at_ms).Add(p.last_assigned_at_ms).Add(p.updated_at_ms).Add(p.ready_at_ms);
  ps.Add(p.away_reason).Add(p.status_since_ms).Add(p.status_period).Add(p.day);
  ps.Add(p.chats_today).Add(p.handle_sum_today_ms).Add(p.handle_count_today);
  return RunDone(conn_->Run(kPutPresence, ps));
}

Result<int64_t> PgTx::LastAgentEventSeq(const std::string& username) {
  if (writer_) {
    // The next InsertAgentEvent of this job writes seq + 1 under this lock.
    auto head = conn_->Query(kLockAgentEventHead, Params().Add(username));
    if (!head) return Fail(head.error());
    if (head->empty()) head = conn_->Query(kCreateAgentEventHead, Params().Add(username));
    if (!head) return Fail(head.error());
    return head->empty() ? int64_t{0} : head->Int(0, 0);
  }
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
  // The head row, locked by LastAgentEventSeq, moves on with the event. A conflict is left only
  // for a caller that did not read the head first: the job runs again with the fresh head.
  auto inserted = Inserted(conn_->Run(kInsertAgentEvent, p), "insert agent event", true);
  if (!inserted || node_id_.empty()) return inserted;
  return Announce(kEventsChannel, node_id_ + "|" + e.username + "|" + std::to_string(e.seq));
}

Result<void> PgTx::Announce(const std::string& channel, const std::string& payload) {
  auto r = conn_->Query(kNotify, Params().Add(channel).Add(payload));
  if (!r) return Fail(r.error());
  return {};
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

Result<void> PgTx::PruneAgentEvents(const std::string& username, int64_t up_to_seq,
                                    int64_t before_ms) {
  return RunDone(
      conn_->Run(kPruneAgentEvents, Params().Add(username).Add(up_to_seq).Add(before_ms)));
}

}  // namespace parley::storage::postgres

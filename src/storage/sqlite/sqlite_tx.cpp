#include "storage/sqlite/sqlite_tx.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace parley::storage::sqlite {
namespace {

constexpr const char* kListConnections =
    "SELECT id, name, client_webhook, bot, enabled, secret, previous_secret, "
    "previous_secret_valid_until, created_at, updated_at, capabilities, queue FROM connections "
    "ORDER BY "
    "created_at, id";
constexpr const char* kGetConnection =
    "SELECT id, name, client_webhook, bot, enabled, secret, previous_secret, "
    "previous_secret_valid_until, created_at, updated_at, capabilities, queue FROM connections "
    "WHERE id = "
    "?1";
constexpr const char* kInsertConnection =
    "INSERT INTO connections (id, name, client_webhook, bot, enabled, secret, previous_secret, "
    "previous_secret_valid_until, created_at, updated_at, capabilities, queue) "
    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
constexpr const char* kUpdateConnection =
    "UPDATE connections SET name=?2, client_webhook=?3, bot=?4, enabled=?5, secret=?6, "
    "previous_secret=?7, previous_secret_valid_until=?8, updated_at=?10, capabilities=?11, "
    "queue=?12 "
    "WHERE "
    "id=?1";
constexpr const char* kDeleteConnection = "DELETE FROM connections WHERE id = ?1";

constexpr const char* kFindOpenConversation =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    ", rowid FROM conversations WHERE connection_id = ?1 AND customer_id = ?2 AND state <> 'ended'";
constexpr const char* kGetConversation =
    "SELECT " PARLEY_CONVERSATION_COLUMNS " FROM conversations WHERE id = ?1";
constexpr const char* kListConversations =
    "SELECT " PARLEY_CONVERSATION_COLUMNS
    " FROM conversations WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR connection_id = ?2)"
    " AND (?4 IS NULL OR updated_at < ?4 OR (updated_at = ?4 AND id < ?5))"
    " AND (?6 IS NULL OR queue = ?6) AND (?7 IS NULL OR agent = ?7 OR offered_to = ?7)"
    " AND (?8 IS NULL OR instr(lower(customer_id), lower(?8)) > 0"
    "      OR instr(lower(COALESCE(customer_name, '')), lower(?8)) > 0)"
    " AND (?9 IS NULL OR created_at >= ?9) AND (?10 IS NULL OR created_at < ?10)"
    " AND (?11 IS NULL OR EXISTS (SELECT 1 FROM events e WHERE e.conversation_id ="
    " conversations.id AND e.direction = 'note' AND e.type = 'wrap_up'"
    " AND json_extract(e.payload, '$.code') = ?11))"
    " ORDER BY updated_at DESC, id DESC LIMIT ?3";
constexpr const char* kInsertConversation =
    "INSERT INTO conversations (" PARLEY_CONVERSATION_COLUMNS
    ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
    "?23,?24,?25,?26,?27,?28,?29,?30,?31)";
// When only the counters and the per-turn fields change, no indexed column is written.
constexpr const char* kUpdateConversationTurn =
    "UPDATE conversations SET customer_name=?4, context=?7, dialog_state=?8, last_in_seq=?9, "
    "last_out_seq=?10, last_position=?11, updated_at=?13, last_customer_at=?15 WHERE id=?1";
// Events are the truth for a conversation's counters (the row's copy may lag, see
// FlushConversations).
constexpr const char* kConversationCounters =
    "SELECT COALESCE(MAX(position), 0), COALESCE(MAX(CASE direction WHEN 'in' THEN seq END), 0), "
    "COALESCE(MAX(CASE direction WHEN 'out' THEN seq END), 0), COALESCE(MAX(created_at), 0), "
    "COALESCE(MAX(CASE direction WHEN 'in' THEN created_at END), 0) "
    "FROM events WHERE conversation_id = ?1";
constexpr const char* kUpdateConversation =
    "UPDATE conversations SET customer_name=?4, state=?5, owner=?6, context=?7, dialog_state=?8, "
    "last_in_seq=?9, last_out_seq=?10, last_position=?11, updated_at=?13, ended_at=?14, "
    "last_customer_at=?15, queue=?16, agent=?17, queued_at=?18, offered_to=?19, "
    "offer_expires_at=?20, assigned_at=?21, transfer_note=?22, idle_reminded=?23, "
    "wait_sent_at=?24, wait_position=?25, wait_estimate_s=?26, ended_by=?27, declined_by=?28, "
    "qkey=?29, wait_check_at=?30, wait_version=?31 WHERE id=?1";

#define PARLEY_EVENT_COLUMNS                                                                   \
  "e.conversation_id, e.position, e.connection_id, e.direction, e.seq, e.sender, e.csr_name, " \
  "e.type, e.event_id, e.message_id, e.payload, e.created_at, e.delivery_status, e.attempts, " \
  "e.next_attempt_at, e.last_error, e.delivered_at, e.retry_from"

constexpr const char* kInboundSeen =
    "SELECT 1 FROM events WHERE connection_id = ?1 AND message_id = ?2 AND direction = 'in'";
constexpr const char* kInsertEvent =
    "INSERT INTO events (conversation_id, position, connection_id, direction, seq, sender, "
    "csr_name, type, event_id, message_id, payload, created_at, delivery_status, attempts, "
    "next_attempt_at, last_error, delivered_at) "
    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)";
constexpr const char* kTranscript =
    "SELECT " PARLEY_EVENT_COLUMNS
    " FROM events e WHERE e.conversation_id = ?1 ORDER BY e.position";
constexpr const char* kGetDelivery = "SELECT " PARLEY_EVENT_COLUMNS
                                     ", c.customer_id FROM events e "
                                     "JOIN conversations c ON c.id = e.conversation_id WHERE "
                                     "e.event_id = ?1 AND e.direction = 'out'";
constexpr const char* kListDeliveries =
    "SELECT " PARLEY_EVENT_COLUMNS
    ", c.customer_id FROM events e "
    "JOIN conversations c ON c.id = e.conversation_id "
    "WHERE e.connection_id = ?1 AND e.direction = 'out' "
    "AND (?2 IS NULL OR (?2 = 'failed' AND e.delivery_status = 'pending' AND e.attempts > 0) "
    "     OR e.delivery_status = ?2) "
    "AND (?4 IS NULL OR e.created_at < ?4 OR (e.created_at = ?4 AND e.event_id < ?5)) "
    "ORDER BY e.created_at DESC, e.event_id DESC LIMIT ?3";
constexpr const char* kPendingDeliveries =
    "SELECT " PARLEY_EVENT_COLUMNS
    ", c.customer_id FROM events e "
    "JOIN conversations c ON c.id = e.conversation_id "
    "WHERE e.direction = 'out' AND e.delivery_status = 'pending' "
    "ORDER BY e.conversation_id, e.seq";
constexpr const char* kUpdateDelivery =
    "UPDATE events SET delivery_status=?2, attempts=?3, next_attempt_at=?4, last_error=?5, "
    "delivered_at=?6, retry_from=?7 WHERE event_id=?1";

}  // namespace

ConversationRecord ReadConversation(const Stmt& s) {
  ConversationRecord c;
  c.id = s.Text(0);
  c.connection_id = s.Text(1);
  c.customer_id = s.Text(2);
  c.customer_name = s.OptText(3);
  c.state = s.Text(4);
  c.owner = s.Text(5);
  c.context_json = s.Text(6);
  c.dialog_state_json = s.OptText(7);
  c.last_in_seq = s.Int(8);
  c.last_out_seq = s.Int(9);
  c.last_position = s.Int(10);
  c.created_at_ms = s.Int(11);
  c.updated_at_ms = s.Int(12);
  c.ended_at_ms = s.OptInt(13);
  c.last_customer_at_ms = s.OptInt(14).value_or(0);
  ConversationRouting& r = c.routing;
  r.queue = s.OptText(15);
  r.agent = s.OptText(16);
  r.queued_at_ms = s.OptInt(17);
  r.offered_to = s.OptText(18);
  r.offer_expires_at_ms = s.OptInt(19);
  r.assigned_at_ms = s.OptInt(20);
  r.transfer_note = s.OptText(21);
  r.idle_reminded = s.Int(22) != 0;
  r.wait_sent_at_ms = s.OptInt(23);
  r.wait_position = s.OptInt(24);
  r.wait_estimate_s = s.OptInt(25);
  r.ended_by = s.OptText(26);
  r.declined_by_json = s.Text(27);
  r.qkey = s.OptInt(28);
  r.wait_check_at_ms = s.OptInt(29);
  r.wait_version = s.Int(30);
  return c;
}

namespace {

void BindConversation(Stmt& s, const ConversationRecord& c) {
  s.Bind(1, c.id).Bind(2, c.connection_id).Bind(3, c.customer_id).Bind(4, c.customer_name);
  s.Bind(5, c.state).Bind(6, c.owner).Bind(7, c.context_json).Bind(8, c.dialog_state_json);
  s.Bind(9, c.last_in_seq).Bind(10, c.last_out_seq).Bind(11, c.last_position);
  s.Bind(12, c.created_at_ms).Bind(13, c.updated_at_ms).Bind(14, c.ended_at_ms);
  s.Bind(15, c.last_customer_at_ms);
  const ConversationRouting& r = c.routing;
  s.Bind(16, r.queue).Bind(17, r.agent).Bind(18, r.queued_at_ms).Bind(19, r.offered_to);
  s.Bind(20, r.offer_expires_at_ms).Bind(21, r.assigned_at_ms).Bind(22, r.transfer_note);
  s.Bind(23, r.idle_reminded).Bind(24, r.wait_sent_at_ms).Bind(25, r.wait_position);
  s.Bind(26, r.wait_estimate_s).Bind(27, r.ended_by).Bind(28, r.declined_by_json);
  s.Bind(29, r.qkey).Bind(30, r.wait_check_at_ms).Bind(31, r.wait_version);
}

// The UPDATE of a conversation that writes only what changed since `was` (the row as it is in
// the database, from the writer's cache): the per-turn columns always (the row's copy of the
// counters may lag, see FlushConversations), the others when they differ. SQLite then rewrites
// only the indexes on (or filtered by) the columns named and runs only the triggers that name
// them: a wait-time look touches 3 of the 12 indexes of conversations. Parameters are those of
// BindConversation. There are few such shapes; Db::PrepareText keeps each prepared.
std::string ChangedColumnsUpdate(const ConversationRecord& was, const ConversationRecord& c) {
  const ConversationRouting& a = was.routing;
  const ConversationRouting& b = c.routing;
  std::string sql =
      "UPDATE conversations SET customer_name=?4, context=?7, dialog_state=?8, last_in_seq=?9, "
      "last_out_seq=?10, last_position=?11, updated_at=?13, last_customer_at=?15";
  auto set = [&sql](bool changed, const char* column) {
    if (changed) sql.append(", ").append(column);
  };
  set(was.state != c.state, "state=?5");
  set(was.owner != c.owner, "owner=?6");
  set(was.ended_at_ms != c.ended_at_ms, "ended_at=?14");
  set(a.queue != b.queue, "queue=?16");
  set(a.agent != b.agent, "agent=?17");
  set(a.queued_at_ms != b.queued_at_ms, "queued_at=?18");
  set(a.offered_to != b.offered_to, "offered_to=?19");
  set(a.offer_expires_at_ms != b.offer_expires_at_ms, "offer_expires_at=?20");
  set(a.assigned_at_ms != b.assigned_at_ms, "assigned_at=?21");
  set(a.transfer_note != b.transfer_note, "transfer_note=?22");
  set(a.idle_reminded != b.idle_reminded, "idle_reminded=?23");
  set(a.wait_sent_at_ms != b.wait_sent_at_ms, "wait_sent_at=?24");
  set(a.wait_position != b.wait_position, "wait_position=?25");
  set(a.wait_estimate_s != b.wait_estimate_s, "wait_estimate_s=?26");
  set(a.ended_by != b.ended_by, "ended_by=?27");
  set(a.declined_by_json != b.declined_by_json, "declined_by=?28");
  set(a.qkey != b.qkey, "qkey=?29");
  set(a.wait_check_at_ms != b.wait_check_at_ms, "wait_check_at=?30");
  set(a.wait_version != b.wait_version, "wait_version=?31");
  sql.append(" WHERE id=?1");
  return sql;
}

EventRecord ReadEvent(const Stmt& s) {
  EventRecord e;
  e.conversation_id = s.Text(0);
  e.position = s.Int(1);
  e.connection_id = s.Text(2);
  e.direction = s.Text(3);
  e.seq = s.Int(4);
  e.sender = s.Text(5);
  e.csr_name = s.OptText(6);
  e.type = s.Text(7);
  e.event_id = s.OptText(8);
  e.message_id = s.OptText(9);
  e.payload_json = s.Text(10);
  e.created_at_ms = s.Int(11);
  e.delivery_status = s.OptText(12);
  e.attempts = s.Int(13);
  e.next_attempt_at_ms = s.OptInt(14);
  e.last_error = s.OptText(15);
  e.delivered_at_ms = s.OptInt(16);
  e.retry_from_ms = s.OptInt(17);
  return e;
}

}  // namespace

std::string CacheKey(const std::string& connection_id, const std::string& customer_id) {
  std::string key;
  key.reserve(connection_id.size() + customer_id.size() + 1);
  key.append(connection_id).push_back('\x1f');
  key.append(customer_id);
  return key;
}

Result<ConnectionRecord> SqliteTx::ReadConnection(const Stmt& s) {
  ConnectionRecord c;
  c.id = s.Text(0);
  c.name = s.Text(1);
  c.client_webhook = s.Text(2);
  c.bot = s.Text(3);
  c.enabled = s.Int(4) != 0;
  auto secret = box_.Open(s.Text(5));
  if (!secret) return Fail(secret.error());
  c.secret = std::move(*secret);
  if (auto prev = s.OptText(6)) {
    auto opened = box_.Open(*prev);
    if (!opened) return Fail(opened.error());
    c.previous_secret = std::move(*opened);
  }
  c.previous_secret_valid_until_ms = s.OptInt(7);
  c.created_at_ms = s.Int(8);
  c.updated_at_ms = s.Int(9);
  c.capabilities = s.Text(10);
  c.queue = s.Text(11);
  return c;
}

Result<std::vector<ConnectionRecord>> SqliteTx::ListConnections() {
  PARLEY_TRY_STMT(s, kListConnections);
  std::vector<ConnectionRecord> out;
  while (s.Step() == SQLITE_ROW) {
    auto c = ReadConnection(s);
    if (!c) return Fail(c.error());
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::optional<ConnectionRecord>> SqliteTx::GetConnection(const std::string& id) {
  PARLEY_TRY_STMT(s, kGetConnection);
  s.Bind(1, id);
  if (s.Step() != SQLITE_ROW) return std::optional<ConnectionRecord>();
  auto c = ReadConnection(s);
  if (!c) return Fail(c.error());
  return std::optional<ConnectionRecord>(std::move(*c));
}

Result<void> SqliteTx::InsertConnection(const ConnectionRecord& c) {
  PARLEY_TRY_STMT(s, kInsertConnection);
  std::optional<std::string> prev;
  if (c.previous_secret) prev = box_.Seal(*c.previous_secret);
  s.Bind(1, c.id).Bind(2, c.name).Bind(3, c.client_webhook).Bind(4, c.bot).Bind(5, c.enabled);
  s.Bind(6, box_.Seal(c.secret)).Bind(7, prev).Bind(8, c.previous_secret_valid_until_ms);
  s.Bind(9, c.created_at_ms).Bind(10, c.updated_at_ms).Bind(11, c.capabilities).Bind(12, c.queue);
  auto r = db_.Run(s, "insert connection");
  if (!r && r.error().errc == Errc::kConflict)
    return Fail(Errc::kConflict, "name_taken",
                fmt::format("A connection named '{}' exists; choose another name.", c.name));
  return r;
}

Result<void> SqliteTx::UpdateConnection(const ConnectionRecord& c) {
  PARLEY_TRY_STMT(s, kUpdateConnection);
  std::optional<std::string> prev;
  if (c.previous_secret) prev = box_.Seal(*c.previous_secret);
  s.Bind(1, c.id).Bind(2, c.name).Bind(3, c.client_webhook).Bind(4, c.bot).Bind(5, c.enabled);
  s.Bind(6, box_.Seal(c.secret)).Bind(7, prev).Bind(8, c.previous_secret_valid_until_ms);
  s.Bind(10, c.updated_at_ms).Bind(11, c.capabilities).Bind(12, c.queue);
  auto r = db_.Run(s, "update connection");
  if (!r && r.error().errc == Errc::kConflict)
    return Fail(Errc::kConflict, "name_taken",
                fmt::format("A connection named '{}' exists; choose another name.", c.name));
  return r;
}

Result<bool> SqliteTx::DeleteConnection(const std::string& id) {
  PARLEY_TRY_STMT(s, kDeleteConnection);
  s.Bind(1, id);
  auto r = db_.Run(s, "delete connection");
  if (!r) return Fail(r.error());
  return db_.Changes() > 0;
}

void SqliteTx::JobRolledBack() {
  queues_.clear();
  for (const std::string& key : touched_) cache_.erase(key);
  touched_.clear();
}

void SqliteTx::Remember(const ConversationRecord& c, int64_t rowid) {
  if (cache_limit_ == 0) return;
  std::string key = CacheKey(c.connection_id, c.customer_id);
  touched_.insert(key);
  if (c.state == "ended") {
    cache_.erase(key);
    return;
  }
  // May pass the limit by up to one batch; the writer's next FlushConversations trims it.
  auto [it, inserted] = cache_.try_emplace(std::move(key), Cached{c, rowid});
  if (inserted) return;
  if (rowid == 0 && it->second.record.id == c.id) rowid = it->second.rowid;
  it->second = Cached{c, rowid, /*used=*/true};
}

Result<void> SqliteTx::Reconcile(ConversationRecord& c) {
  PARLEY_TRY_STMT(s, kConversationCounters);
  s.Bind(1, c.id);
  if (s.Step() != SQLITE_ROW) return {};
  c.last_position = std::max(c.last_position, s.Int(0));
  c.last_in_seq = std::max(c.last_in_seq, s.Int(1));
  c.last_out_seq = std::max(c.last_out_seq, s.Int(2));
  c.updated_at_ms = std::max(c.updated_at_ms, s.Int(3));
  c.last_customer_at_ms = std::max(c.last_customer_at_ms, s.Int(4));
  return {};
}

bool SqliteTx::MustFlushAll() const {
  if (cache_limit_ == 0) return false;
  return cache_.size() >= cache_limit_ || DirtyConversations() >= cache_limit_ / 2;
}

bool SqliteTx::FlushPending(std::chrono::steady_clock::time_point now) const {
  return cycle_next_ < cycle_.size() || (!dirty_.empty() && now - last_cycle_ >= flush_every_);
}

void SqliteTx::StartCycle(std::chrono::steady_clock::time_point now) {
  cycle_.clear();
  cycle_next_ = 0;
  cycle_.reserve(dirty_.size());
  for (const std::string& key : dirty_) {
    auto it = cache_.find(key);
    if (it != cache_.end()) cycle_.emplace_back(it->second.rowid, key);
  }
  std::sort(cycle_.begin(), cycle_.end());
  // A row dirtied again while the cycle runs re-enters dirty_; writing it takes it out.
  dirty_.clear();
  last_cycle_ = now;
}

Result<bool> SqliteTx::WriteTurn(const std::string& key) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return false;  // dropped by a rollback or ended: written already
  PARLEY_TRY_STMT(s, kUpdateConversationTurn);
  BindConversation(s, it->second.record);
  auto r = db_.Run(s, "flush conversation");
  if (!r) return Fail(r.error());
  return true;
}

Result<void> SqliteTx::FlushSome(std::chrono::steady_clock::time_point now, size_t max_rows) {
  if (cycle_next_ >= cycle_.size()) {
    if (dirty_.empty() || now - last_cycle_ < flush_every_) return {};
    StartCycle(now);
  }
  size_t end = cycle_next_ + std::min(max_rows, cycle_.size() - cycle_next_);
  for (size_t i = cycle_next_; i < end; ++i) {
    auto written = WriteTurn(cycle_[i].second);
    if (!written) return Fail(written.error());  // the slice is rolled back and retried
  }
  // Only now, so a failed slice leaves every row it held still to be written.
  for (size_t i = cycle_next_; i < end; ++i) dirty_.erase(cycle_[i].second);
  cycle_next_ = end;
  if (cycle_next_ == cycle_.size()) {
    cycle_.clear();
    cycle_next_ = 0;
  }
  return {};
}

Result<void> SqliteTx::FlushConversations(std::chrono::steady_clock::time_point now) {
  for (size_t i = cycle_next_; i < cycle_.size(); ++i) dirty_.insert(cycle_[i].second);
  StartCycle(now);
  auto flushed = FlushSome(now, cycle_.size());
  if (!flushed) {
    // Keep every row dirty: the caller rolls the writes back.
    for (size_t i = cycle_next_; i < cycle_.size(); ++i) dirty_.insert(cycle_[i].second);
    cycle_.clear();
    cycle_next_ = 0;
    return flushed;
  }
  // Bounded: when full, the conversations not used again since they came in (or since the
  // last overflow) go: on a busy day those are the new customers who said one thing, and the
  // ones who talk stay. If that frees less than half, start over. The database now holds
  // everything the cache did, so any entry may go.
  if (cache_.size() >= cache_limit_) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.used) {
        it->second.used = false;
        ++it;
      } else {
        it = cache_.erase(it);
      }
    }
    if (cache_.size() >= cache_limit_ / 2) cache_.clear();
  }
  return {};
}

Result<std::optional<ConversationRecord>> SqliteTx::FindOpenConversation(
    const std::string& connection_id, const std::string& customer_id) {
  if (cache_limit_ > 0) {
    auto it = cache_.find(CacheKey(connection_id, customer_id));
    if (it != cache_.end()) {
      it->second.used = true;
      return std::optional<ConversationRecord>(it->second.record);
    }
  }
  PARLEY_TRY_STMT(s, kFindOpenConversation);
  s.Bind(1, connection_id).Bind(2, customer_id);
  if (s.Step() != SQLITE_ROW) return std::optional<ConversationRecord>();
  ConversationRecord c = ReadConversation(s);
  int64_t rowid = s.Int(kConversationColumnCount);
  auto reconciled = Reconcile(c);
  if (!reconciled) return Fail(reconciled.error());
  if (cache_limit_ > 0) cache_.emplace(CacheKey(connection_id, customer_id), Cached{c, rowid});
  return std::optional<ConversationRecord>(std::move(c));
}

Result<std::optional<ConversationRecord>> SqliteTx::GetConversation(const std::string& id) {
  PARLEY_TRY_STMT(s, kGetConversation);
  s.Bind(1, id);
  if (s.Step() != SQLITE_ROW) return std::optional<ConversationRecord>();
  ConversationRecord c = ReadConversation(s);
  if (cache_limit_ > 0) {
    auto it = cache_.find(CacheKey(c.connection_id, c.customer_id));
    if (it != cache_.end() && it->second.record.id == c.id)
      return std::optional<ConversationRecord>(it->second.record);
  }
  auto reconciled = Reconcile(c);
  if (!reconciled) return Fail(reconciled.error());
  return std::optional<ConversationRecord>(std::move(c));
}

Result<std::vector<ConversationRecord>> SqliteTx::ListConversations(const ConversationFilter& f) {
  PARLEY_TRY_STMT(s, kListConversations);
  s.Bind(1, f.state).Bind(2, f.connection_id).Bind(3, static_cast<int64_t>(f.limit));
  if (f.after) s.Bind(4, f.after->at_ms).Bind(5, f.after->id);
  s.Bind(6, f.queue).Bind(7, f.agent);
  s.Bind(8, f.customer).Bind(9, f.created_from_ms).Bind(10, f.created_before_ms);
  s.Bind(11, f.wrap_up);
  std::vector<ConversationRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadConversation(s));
  return out;
}

Result<void> SqliteTx::InsertConversation(const ConversationRecord& c) {
  PARLEY_TRY_STMT(s, kInsertConversation);
  BindConversation(s, c);
  auto r = db_.Run(s, "insert conversation");
  if (r) Remember(c, db_.LastInsertRowid());
  return r;
}

Result<void> SqliteTx::UpdateConversation(const ConversationRecord& c) {
  // A turn that leaves state, owner and ended_at alone skips the indexes on them; one that
  // changes only the counters is not written now at all (see FlushConversations).
  bool turn_only = false;
  bool counters_only = false;
  std::string key = CacheKey(c.connection_id, c.customer_id);
  if (cache_limit_ > 0) {
    auto it = cache_.find(key);
    const ConversationRecord* was = it == cache_.end() ? nullptr : &it->second.record;
    turn_only = was && was->id == c.id && was->state == c.state && was->owner == c.owner &&
                was->ended_at_ms == c.ended_at_ms && was->routing == c.routing;
    counters_only = turn_only && was->customer_name == c.customer_name &&
                    was->context_json == c.context_json &&
                    was->dialog_state_json == c.dialog_state_json;
  }
  if (counters_only) {
    Remember(c);
    dirty_.insert(std::move(key));
    return {};
  }
  // With the row's state known, only the columns that changed are written.
  std::string changed;
  if (!turn_only && cache_limit_ > 0) {
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.record.id == c.id)
      changed = ChangedColumnsUpdate(it->second.record, c);
  }
  auto prepared = changed.empty()
                      ? db_.Prepare(turn_only ? kUpdateConversationTurn : kUpdateConversation)
                      : db_.PrepareText(changed);
  if (!prepared) return Fail(prepared.error());
  Stmt& s = **prepared;
  BindConversation(s, c);
  auto r = db_.Run(s, "update conversation");
  if (r) {
    Remember(c);
    dirty_.erase(key);
  }
  return r;
}

Result<bool> SqliteTx::InboundMessageSeen(const std::string& connection_id,
                                          const std::string& message_id) {
  PARLEY_TRY_STMT(s, kInboundSeen);
  s.Bind(1, connection_id).Bind(2, message_id);
  return s.Step() == SQLITE_ROW;
}

Result<void> SqliteTx::InsertEvent(const EventRecord& e) {
  PARLEY_TRY_STMT(s, kInsertEvent);
  s.Bind(1, e.conversation_id).Bind(2, e.position).Bind(3, e.connection_id).Bind(4, e.direction);
  s.Bind(5, e.seq).Bind(6, e.sender).Bind(7, e.csr_name).Bind(8, e.type).Bind(9, e.event_id);
  s.Bind(10, e.message_id).Bind(11, e.payload_json).Bind(12, e.created_at_ms);
  s.Bind(13, e.delivery_status).Bind(14, e.attempts).Bind(15, e.next_attempt_at_ms);
  s.Bind(16, e.last_error).Bind(17, e.delivered_at_ms);
  return db_.Run(s, "insert event");
}

Result<std::vector<EventRecord>> SqliteTx::Transcript(const std::string& conversation_id) {
  PARLEY_TRY_STMT(s, kTranscript);
  s.Bind(1, conversation_id);
  std::vector<EventRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadEvent(s));
  return out;
}

Result<std::vector<DeliveryRecord>> SqliteTx::Deliveries(Stmt& s) {
  std::vector<DeliveryRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back({ReadEvent(s), s.Text(18)});
  return out;
}

Result<std::optional<DeliveryRecord>> SqliteTx::GetDelivery(const std::string& event_id) {
  PARLEY_TRY_STMT(s, kGetDelivery);
  s.Bind(1, event_id);
  if (s.Step() != SQLITE_ROW) return std::optional<DeliveryRecord>();
  return std::optional<DeliveryRecord>(DeliveryRecord{ReadEvent(s), s.Text(18)});
}

Result<std::vector<DeliveryRecord>> SqliteTx::ListDeliveries(const DeliveryFilter& f) {
  PARLEY_TRY_STMT(s, kListDeliveries);
  s.Bind(1, f.connection_id).Bind(2, f.status).Bind(3, static_cast<int64_t>(f.limit));
  if (f.after) s.Bind(4, f.after->at_ms).Bind(5, f.after->id);
  return Deliveries(s);
}

Result<std::vector<DeliveryRecord>> SqliteTx::PendingDeliveries() {
  PARLEY_TRY_STMT(s, kPendingDeliveries);
  return Deliveries(s);
}

Result<void> SqliteTx::UpdateDelivery(const EventRecord& e) {
  PARLEY_TRY_STMT(s, kUpdateDelivery);
  s.Bind(1, e.event_id).Bind(2, e.delivery_status).Bind(3, e.attempts);
  s.Bind(4, e.next_attempt_at_ms).Bind(5, e.last_error).Bind(6, e.delivered_at_ms);
  s.Bind(7, e.retry_from_ms);
  return db_.Run(s, "update delivery");
}

}  // namespace parley::storage::sqlite

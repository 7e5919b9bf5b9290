#include "storage/postgres/pg_tx.hpp"

#include <fmt/format.h>

namespace parley::storage::postgres {
namespace {

constexpr const char* kListConnections =
    "SELECT id, name, client_webhook, bot, enabled, secret, previous_secret, "
    "previous_secret_valid_until, created_at, updated_at, queue, capabilities FROM connections "
    "ORDER BY "
    "created_at, id";
constexpr const char* kGetConnection =
    "SELECT id, name, client_webhook, bot, enabled, secret, previous_secret, "
    "previous_secret_valid_until, created_at, updated_at, queue, capabilities FROM connections "
    "WHERE id = $1";
constexpr const char* kInsertConnection =
    "INSERT INTO connections (id, name, client_webhook, bot, enabled, secret, previous_secret, "
    "previous_secret_valid_until, created_at, updated_at, queue, capabilities) "
    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kUpdateConnection =
    "UPDATE connections SET name=$2, client_webhook=$3, bot=$4, enabled=$5, secret=$6, "
    "previous_secret=$7, previous_secret_valid_until=$8, updated_at=$9, queue=$10, "
    "capabilities=$11 WHERE id=$1";
// Names are unique: an update to a taken name is refused before it can fail the transaction.
constexpr const char* kConnectionNameTaken =
    "SELECT 1 FROM connections WHERE name = $1 AND id <> $2";
constexpr const char* kDeleteConnection = "DELETE FROM connections WHERE id = $1";

constexpr const char* kFindOpenConversation =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE connection_id = $1 AND customer_id = $2 AND state <> 'ended'";
constexpr const char* kFindOpenConversationLocked =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE connection_id = $1 AND customer_id = $2 AND state <> 'ended'"
    " FOR UPDATE";
constexpr const char* kGetConversation =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS " FROM conversations WHERE id = $1";
constexpr const char* kGetConversationLocked =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS " FROM conversations WHERE id = $1 FOR UPDATE";
constexpr const char* kListConversations =
    "SELECT " PARLEY_PG_CONVERSATION_COLUMNS
    " FROM conversations WHERE ($1::text IS NULL OR state = $1::text)"
    " AND ($2::text IS NULL OR connection_id = $2::text)"
    " AND ($4::bigint IS NULL OR updated_at < $4::bigint"
    "      OR (updated_at = $4::bigint AND id < $5::text))"
    " AND ($6::text IS NULL OR queue = $6::text)"
    " AND ($7::text IS NULL OR agent = $7::text OR offered_to = $7::text)"
    // The history filters, as SQLite's: a part of the customer's id or name in any case (ASCII
    // case folding, as SQLite's lower()), the creation time, a wrap-up code in the transcript.
    " AND ($8::text IS NULL OR strpos(lower(customer_id COLLATE \"C\"),"
    "      lower($8::text COLLATE \"C\")) > 0"
    "      OR strpos(lower(COALESCE(customer_name, '') COLLATE \"C\"),"
    "      lower($8::text COLLATE \"C\")) > 0)"
    " AND ($9::bigint IS NULL OR created_at >= $9::bigint)"
    " AND ($10::bigint IS NULL OR created_at < $10::bigint)"
    " AND ($11::text IS NULL OR EXISTS (SELECT 1 FROM events e WHERE e.conversation_id ="
    " conversations.id AND e.direction = 'note' AND e.type = 'wrap_up'"
    " AND e.payload::jsonb ->> 'code' = $11::text))"
    " ORDER BY updated_at DESC, id DESC LIMIT $3";
constexpr const char* kInsertConversation =
    "INSERT INTO conversations (" PARLEY_PG_CONVERSATION_COLUMNS
    ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,"
    "$23,$24,$25,$26,$27,$28,$29,$30,$31) ON CONFLICT DO NOTHING";
constexpr const char* kUpdateConversation =
    "UPDATE conversations SET connection_id=$2, customer_id=$3, customer_name=$4, state=$5, "
    "owner=$6, context=$7, dialog_state=$8, last_in_seq=$9, last_out_seq=$10, last_position=$11, "
    "created_at=$12, updated_at=$13, ended_at=$14, last_customer_at=$15, queue=$16, agent=$17, "
    "queued_at=$18, offered_to=$19, offer_expires_at=$20, assigned_at=$21, transfer_note=$22, "
    "idle_reminded=$23, wait_sent_at=$24, wait_position=$25, wait_estimate_s=$26, ended_by=$27, "
    "declined_by=$28, qkey=$29, wait_check_at=$30, wait_version=$31 WHERE id=$1";

#define PARLEY_PG_EVENT_COLUMNS                                                                \
  "e.conversation_id, e.position, e.connection_id, e.direction, e.seq, e.sender, e.csr_name, " \
  "e.type, e.event_id, e.message_id, e.payload, e.created_at, e.delivery_status, e.attempts, " \
  "e.next_attempt_at, e.last_error, e.delivered_at, e.retry_from"

constexpr const char* kInboundSeen =
    "SELECT 1 FROM events WHERE connection_id = $1 AND message_id = $2 AND direction = 'in'";
constexpr const char* kInsertEvent =
    "INSERT INTO events (conversation_id, position, connection_id, direction, seq, sender, "
    "csr_name, type, event_id, message_id, payload, created_at, delivery_status, attempts, "
    "next_attempt_at, last_error, delivered_at) "
    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) ON CONFLICT DO NOTHING";
constexpr const char* kTranscript =
    "SELECT " PARLEY_PG_EVENT_COLUMNS
    " FROM events e WHERE e.conversation_id = $1 ORDER BY e.position";
constexpr const char* kGetDelivery =
    "SELECT " PARLEY_PG_EVENT_COLUMNS
    ", c.customer_id FROM events e JOIN conversations c ON c.id = e.conversation_id "
    "WHERE e.event_id = $1 AND e.direction = 'out'";
constexpr const char* kListDeliveries =
    "SELECT " PARLEY_PG_EVENT_COLUMNS
    ", c.customer_id FROM events e JOIN conversations c ON c.id = e.conversation_id "
    "WHERE e.connection_id = $1 AND e.direction = 'out' "
    "AND ($2::text IS NULL OR ($2::text = 'failed' AND e.delivery_status = 'pending' "
    "     AND e.attempts > 0) OR e.delivery_status = $2::text) "
    "AND ($4::bigint IS NULL OR e.created_at < $4::bigint "
    "     OR (e.created_at = $4::bigint AND e.event_id < $5::text)) "
    "ORDER BY e.created_at DESC, e.event_id DESC LIMIT $3";
constexpr const char* kPendingDeliveries =
    "SELECT " PARLEY_PG_EVENT_COLUMNS
    ", c.customer_id FROM events e JOIN conversations c ON c.id = e.conversation_id "
    "WHERE e.direction = 'out' AND e.delivery_status = 'pending' "
    "ORDER BY e.conversation_id, e.seq";
constexpr const char* kUpdateDelivery =
    "UPDATE events SET delivery_status=$2, attempts=$3, next_attempt_at=$4, last_error=$5, "
    "delivered_at=$6, retry_from=$7 WHERE event_id=$1";
constexpr const char* kPendingAfter =
    "SELECT " PARLEY_PG_EVENT_COLUMNS
    ", c.customer_id FROM unnest($1::text[], $2::bigint[]) AS w(id, after) "
    "JOIN events e ON e.conversation_id = w.id AND e.direction = 'out' "
    "AND e.delivery_status = 'pending' AND e.seq > w.after "
    "JOIN conversations c ON c.id = e.conversation_id ORDER BY e.conversation_id, e.seq";

Params ConversationParams(const ConversationRecord& c) {
  Params p;
  p.Add(c.id).Add(c.connection_id).Add(c.customer_id).Add(c.customer_name);
  p.Add(c.state).Add(c.owner).Add(c.context_json).Add(c.dialog_state_json);
  p.Add(c.last_in_seq).Add(c.last_out_seq).Add(c.last_position);
  p.Add(c.created_at_ms).Add(c.updated_at_ms).Add(c.ended_at_ms);
  p.Add(c.last_customer_at_ms);
  const ConversationRouting& r = c.routing;
  p.Add(r.queue).Add(r.agent).Add(r.queued_at_ms).Add(r.offered_to);
  p.Add(r.offer_expires_at_ms).Add(r.assigned_at_ms).Add(r.transfer_note);
  p.Add(r.idle_reminded).Add(r.wait_sent_at_ms).Add(r.wait_position);
  p.Add(r.wait_estimate_s).Add(r.ended_by).Add(r.declined_by_json);
  p.Add(r.qkey).Add(r.wait_check_at_ms).Add(r.wait_version);
  return p;
}

EventRecord ReadEvent(const Rows& r, int i) {
  EventRecord e;
  e.conversation_id = r.Text(i, 0);
  e.position = r.Int(i, 1);
  e.connection_id = r.Text(i, 2);
  e.direction = r.Text(i, 3);
  e.seq = r.Int(i, 4);
  e.sender = r.Text(i, 5);
  e.csr_name = r.OptText(i, 6);
  e.type = r.Text(i, 7);
  e.event_id = r.OptText(i, 8);
  e.message_id = r.OptText(i, 9);
  e.payload_json = r.Text(i, 10);
  e.created_at_ms = r.Int(i, 11);
  e.delivery_status = r.OptText(i, 12);
  e.attempts = r.Int(i, 13);
  e.next_attempt_at_ms = r.OptInt(i, 14);
  e.last_error = r.OptText(i, 15);
  e.delivered_at_ms = r.OptInt(i, 16);
  e.retry_from_ms = r.OptInt(i, 17);
  return e;
}

std::vector<DeliveryRecord> Deliveries(const Rows& r) {
  std::vector<DeliveryRecord> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back({ReadEvent(r, i), r.Text(i, 18)});
  return out;
}

}  // namespace

const std::vector<HotStatement>& HotStatements() {
  static const std::vector<HotStatement> kAll = {
      {"find open conversation", kFindOpenConversationLocked, {"conn", "cust"}},
      {"get conversation", kGetConversationLocked, {"v1"}},
      {"find open conversation (read)", kFindOpenConversation, {"conn", "cust"}},
      {"get conversation (read)", kGetConversation, {"v1"}},
      {"update conversation",
       kUpdateConversation,
       {"v1",         "conn",       "cust",       "n",          "bot",        "bot",
        "{}",         std::nullopt, "1",          "1",          "2",          "1",
        "2",          std::nullopt, "2",          std::nullopt, std::nullopt, std::nullopt,
        std::nullopt, std::nullopt, std::nullopt, std::nullopt, "false",      std::nullopt,
        std::nullopt, std::nullopt, std::nullopt, "[]",         std::nullopt, std::nullopt,
        "0"}},
      {"inbound message seen", kInboundSeen, {"conn", "m1"}},
      {"transcript", kTranscript, {"v1"}},
      {"get delivery", kGetDelivery, {"e1"}},
      {"list deliveries", kListDeliveries, {"conn", "failed", "100", "5", "e9"}},
      {"pending deliveries", kPendingDeliveries, {}},
      {"update delivery",
       kUpdateDelivery,
       {"e1", "delivered", "1", std::nullopt, std::nullopt, "5", std::nullopt}},
      {"get connection", kGetConnection, {"c1"}},
      {"pending after", kPendingAfter, {"{v1,v2}", "{0,3}"}},
  };
  return kAll;
}

ConversationRecord ReadConversation(const Rows& s, int i) {
  ConversationRecord c;
  c.id = s.Text(i, 0);
  c.connection_id = s.Text(i, 1);
  c.customer_id = s.Text(i, 2);
  c.customer_name = s.OptText(i, 3);
  c.state = s.Text(i, 4);
  c.owner = s.Text(i, 5);
  c.context_json = s.Text(i, 6);
  c.dialog_state_json = s.OptText(i, 7);
  c.last_in_seq = s.Int(i, 8);
  c.last_out_seq = s.Int(i, 9);
  c.last_position = s.Int(i, 10);
  c.created_at_ms = s.Int(i, 11);
  c.updated_at_ms = s.Int(i, 12);
  c.ended_at_ms = s.OptInt(i, 13);
  c.last_customer_at_ms = s.OptInt(i, 14).value_or(0);
  ConversationRouting& r = c.routing;
  r.queue = s.OptText(i, 15);
  r.agent = s.OptText(i, 16);
  r.queued_at_ms = s.OptInt(i, 17);
  r.offered_to = s.OptText(i, 18);
  r.offer_expires_at_ms = s.OptInt(i, 19);
  r.assigned_at_ms = s.OptInt(i, 20);
  r.transfer_note = s.OptText(i, 21);
  r.idle_reminded = s.Bool(i, 22);
  r.wait_sent_at_ms = s.OptInt(i, 23);
  r.wait_position = s.OptInt(i, 24);
  r.wait_estimate_s = s.OptInt(i, 25);
  r.ended_by = s.OptText(i, 26);
  r.declined_by_json = s.Text(i, 27);
  r.qkey = s.OptInt(i, 28);
  r.wait_check_at_ms = s.OptInt(i, 29);
  r.wait_version = s.Int(i, 30);
  return c;
}

Result<void> PgTx::Inserted(Result<int64_t> affected, std::string_view what, bool retry) {
  if (!affected) return Fail(affected.error());
  if (*affected > 0) return {};
  if (retry) retry_ = true;
  return Fail(Errc::kConflict, "conflict", fmt::format("{}: the row exists", what));
}

Result<ConnectionRecord> PgTx::ReadConnection(const Rows& r, int i) {
  ConnectionRecord c;
  c.id = r.Text(i, 0);
  c.name = r.Text(i, 1);
  c.client_webhook = r.Text(i, 2);
  c.bot = r.Text(i, 3);
  c.enabled = r.Bool(i, 4);
  auto secret = box_.Open(r.Text(i, 5));
  if (!secret) return Fail(secret.error());
  c.secret = std::move(*secret);
  if (auto prev = r.OptText(i, 6)) {
    auto opened = box_.Open(*prev);
    if (!opened) return Fail(opened.error());
    c.previous_secret = std::move(*opened);
  }
  c.previous_secret_valid_until_ms = r.OptInt(i, 7);
  c.created_at_ms = r.Int(i, 8);
  c.updated_at_ms = r.Int(i, 9);
  c.queue = r.Text(i, 10);
  c.capabilities = r.Text(i, 11);
  return c;
}

Result<std::vector<ConnectionRecord>> PgTx::ListConnections() {
  auto r = conn_->Query(kListConnections, {});
  if (!r) return Fail(r.error());
  std::vector<ConnectionRecord> out;
  for (int i = 0; i < r->size(); ++i) {
    auto c = ReadConnection(*r, i);
    if (!c) return Fail(c.error());
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::optional<ConnectionRecord>> PgTx::GetConnection(const std::string& id) {
  auto r = conn_->Query(kGetConnection, Params().Add(id));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<ConnectionRecord>();
  auto c = ReadConnection(*r, 0);
  if (!c) return Fail(c.error());
  return std::optional<ConnectionRecord>(std::move(*c));
}

namespace {
Params ConnectionParams(const ConnectionRecord& c, const SecretBox& box, bool insert) {
  std::optional<std::string> prev;
  if (c.previous_secret) prev = box.Seal(*c.previous_secret);
  Params p;
  p.Add(c.id).Add(c.name).Add(c.client_webhook).Add(c.bot).Add(c.enabled);
  p.Add(box.Seal(c.secret)).Add(prev).Add(c.previous_secret_valid_until_ms);
  if (insert) p.Add(c.created_at_ms);
  p.Add(c.updated_at_ms).Add(c.queue).Add(c.capabilities);
  return p;
}

Error NameTaken(const std::string& name) {
  return {Errc::kConflict, "name_taken",
          fmt::format("A connection named '{}' exists; choose another name.", name)};
}
}  // namespace

Result<void> PgTx::InsertConnection(const ConnectionRecord& c) {
  auto r = conn_->Run(kInsertConnection, ConnectionParams(c, box_, true));
  if (!r) return Fail(r.error());
  if (*r == 0) return Fail(NameTaken(c.name));
  return {};
}

Result<void> PgTx::UpdateConnection(const ConnectionRecord& c) {
  auto taken = conn_->Query(kConnectionNameTaken, Params().Add(c.name).Add(c.id));
  if (!taken) return Fail(taken.error());
  if (!taken->empty()) return Fail(NameTaken(c.name));
  auto r = conn_->Run(kUpdateConnection, ConnectionParams(c, box_, false));
  if (!r) {
    if (r.error().errc == Errc::kConflict) return Fail(NameTaken(c.name));
    return Fail(r.error());
  }
  return {};
}

Result<bool> PgTx::DeleteConnection(const std::string& id) {
  auto r = conn_->Run(kDeleteConnection, Params().Add(id));
  if (!r) return Fail(r.error());
  return *r > 0;
}

Result<std::optional<ConversationRecord>> PgTx::FindOpenConversation(
    const std::string& connection_id, const std::string& customer_id) {
  auto r = conn_->Query(writer_ ? kFindOpenConversationLocked : kFindOpenConversation,
                        Params().Add(connection_id).Add(customer_id));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<ConversationRecord>();
  return std::optional<ConversationRecord>(ReadConversation(*r, 0));
}

Result<std::optional<ConversationRecord>> PgTx::GetConversation(const std::string& id) {
  auto r = conn_->Query(writer_ ? kGetConversationLocked : kGetConversation, Params().Add(id));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<ConversationRecord>();
  return std::optional<ConversationRecord>(ReadConversation(*r, 0));
}

Result<std::vector<ConversationRecord>> PgTx::Conversations(const char* sql, const Params& p) {
  auto r = conn_->Query(sql, p);
  if (!r) return Fail(r.error());
  std::vector<ConversationRecord> out;
  out.reserve(static_cast<size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadConversation(*r, i));
  return out;
}

Result<std::vector<ConversationRecord>> PgTx::ListConversations(const ConversationFilter& f) {
  Params p;
  p.Add(f.state).Add(f.connection_id).Add(static_cast<int64_t>(f.limit));
  if (f.after)
    p.Add(f.after->at_ms).Add(f.after->id);
  else
    p.Null().Null();
  p.Add(f.queue).Add(f.agent);
  p.Add(f.customer).Add(f.created_from_ms).Add(f.created_before_ms).Add(f.wrap_up);
  return Conversations(kListConversations, p);
}

Result<void> PgTx::InsertConversation(const ConversationRecord& c) {
  // Another node may have opened this customer's conversation meanwhile: run the job again,
  // and it finds that one.
  return Inserted(conn_->Run(kInsertConversation, ConversationParams(c)), "insert conversation",
                  true);
}

Result<void> PgTx::UpdateConversation(const ConversationRecord& c) {
  auto r = conn_->Run(kUpdateConversation, ConversationParams(c));
  if (!r) return Fail(r.error());
  return {};
}

Result<bool> PgTx::InboundMessageSeen(const std::string& connection_id,
                                      const std::string& message_id) {
  auto r = conn_->Query(kInboundSeen, Params().Add(connection_id).Add(message_id));
  if (!r) return Fail(r.error());
  return !r->empty();
}

Result<void> PgTx::InsertEvent(const EventRecord& e) {
  Params p;
  p.Add(e.conversation_id).Add(e.position).Add(e.connection_id).Add(e.direction);
  p.Add(e.seq).Add(e.sender).Add(e.csr_name).Add(e.type).Add(e.event_id);
  p.Add(e.message_id).Add(e.payload_json).Add(e.created_at_ms);
  p.Add(e.delivery_status).Add(e.attempts).Add(e.next_attempt_at_ms);
  p.Add(e.last_error).Add(e.delivered_at_ms);
  // A duplicate inbound message_id raced in by another node: the run again sees it as seen.
  return Inserted(conn_->Run(kInsertEvent, p), "insert event", true);
}

Result<std::vector<EventRecord>> PgTx::Transcript(const std::string& conversation_id) {
  auto r = conn_->Query(kTranscript, Params().Add(conversation_id));
  if (!r) return Fail(r.error());
  std::vector<EventRecord> out;
  out.reserve(static_cast<size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadEvent(*r, i));
  return out;
}

Result<std::optional<DeliveryRecord>> PgTx::GetDelivery(const std::string& event_id) {
  auto r = conn_->Query(kGetDelivery, Params().Add(event_id));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<DeliveryRecord>();
  return std::optional<DeliveryRecord>(DeliveryRecord{ReadEvent(*r, 0), r->Text(0, 18)});
}

Result<std::vector<DeliveryRecord>> PgTx::ListDeliveries(const DeliveryFilter& f) {
  Params p;
  p.Add(f.connection_id).Add(f.status).Add(static_cast<int64_t>(f.limit));
  if (f.after)
    p.Add(f.after->at_ms).Add(f.after->id);
  else
    p.Null().Null();
  auto r = conn_->Query(kListDeliveries, p);
  if (!r) return Fail(r.error());
  return Deliveries(*r);
}

Result<std::vector<DeliveryRecord>> PgTx::PendingDeliveries() {
  auto r = conn_->Query(kPendingDeliveries, {});
  if (!r) return Fail(r.error());
  return Deliveries(*r);
}

Result<std::vector<DeliveryRecord>> PgTx::PendingAfter(
    const std::vector<std::pair<std::string, int64_t>>& after) {
  if (after.empty()) return std::vector<DeliveryRecord>{};
  std::vector<std::string> ids;
  std::vector<int64_t> seqs;
  for (const auto& [id, seq] : after) {
    ids.push_back(id);
    seqs.push_back(seq);
  }
  auto r = conn_->Query(kPendingAfter, Params().AddTextArray(ids).AddIntArray(seqs));
  if (!r) return Fail(r.error());
  return Deliveries(*r);
}

Result<void> PgTx::UpdateDelivery(const EventRecord& e) {
  Params p;
  p.Add(e.event_id).Add(e.delivery_status).Add(e.attempts);
  p.Add(e.next_attempt_at_ms).Add(e.last_error).Add(e.delivered_at_ms).Add(e.retry_from_ms);
  auto r = conn_->Run(kUpdateDelivery, p);
  if (!r) return Fail(r.error());
  return {};
}

}  // namespace parley::storage::postgres

#pragma once
// The Tx of the PostgreSQL store: named SQL constants (PostgreSQL dialect), records in and out.
//
// Unlike the SQLite writer, a node is not the only writer: several nodes share the database.
// So the writer's Tx keeps no cache and locks what it reads to change: a conversation read by
// a write job (FindOpenConversation, GetConversation) is read FOR UPDATE, so two nodes taking
// consecutive messages of one customer serialise on that row and number them without gaps.
// Inserts that may meet a row another node inserted meanwhile use ON CONFLICT DO NOTHING (an
// error would abort the whole group transaction) and ask the writer to run the job again.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/postgres/pg_conn.hpp"
#include "storage/secret_box.hpp"
#include "storage/store.hpp"

namespace parley::storage::postgres {

#define PARLEY_PG_CONVERSATION_COLUMNS                                                     \
  "id, connection_id, customer_id, customer_name, state, owner, context, dialog_state, "   \
  "last_in_seq, last_out_seq, last_position, created_at, updated_at, ended_at, "           \
  "last_customer_at, queue, agent, queued_at, offered_to, offer_expires_at, assigned_at, " \
  "transfer_note, idle_reminded, wait_sent_at, wait_position, wait_estimate_s, ended_by, " \
  "declined_by, qkey, wait_check_at, wait_version"

ConversationRecord ReadConversation(const Rows& r, int row);

// A statement on a hot path with sample arguments, for the scan guard (tests EXPLAIN each one
// and fail on a sequential scan).
struct HotStatement {
  std::string_view name;
  const char* sql;
  std::vector<std::optional<std::string>> args;
};
// Those of pg_tx.cpp, and those of pg_routing.cpp.
const std::vector<HotStatement>& HotStatements();
const std::vector<HotStatement>& HotRoutingStatements();
// Those of pg_admin.cpp (the audit log, canned responses) and pg_presence.cpp.
const std::vector<HotStatement>& HotAdminStatements();
const std::vector<HotStatement>& HotPresenceStatements();
// Those of pg_supervision.cpp (status periods, watchers) and pg_facts.cpp (the survey).
const std::vector<HotStatement>& HotSupervisionStatements();
const std::vector<HotStatement>& HotFactStatements();
// Those of pg_leases.cpp (outbound delivery's look: claims, renewals, releases).
const std::vector<HotStatement>& HotLeaseStatements();

class PgTx final : public Tx {
 public:
  // `writer`: this Tx runs write jobs (rows read to be changed are locked).
  PgTx(Conn& conn, const SecretBox& box, bool writer) : conn_(&conn), box_(box), writer_(writer) {}

  // This node's id: each agent event written is announced with it (kEventsChannel).
  void SetNodeId(std::string id) { node_id_ = std::move(id); }
  Result<void> Announce(const std::string& channel, const std::string& payload) override;
  // The store moves the Tx to a fresh connection after a reconnect.
  void Use(Conn& conn) { conn_ = &conn; }
  // True (once) when the last job failed only because it met concurrent work of another node
  // (a deadlock, a serialization failure, a row inserted meanwhile): running it again in a
  // fresh savepoint is expected to succeed.
  bool TakeRetry() {
    bool r = conn_->TakeContention() || retry_;
    retry_ = false;
    return r;
  }
  void JobStarted() {
    retry_ = false;
    (void)conn_->TakeContention();
  }

  Result<std::vector<ConnectionRecord>> ListConnections() override;
  Result<std::optional<ConnectionRecord>> GetConnection(const std::string& id) override;
  Result<void> InsertConnection(const ConnectionRecord& c) override;
  Result<void> UpdateConnection(const ConnectionRecord& c) override;
  Result<bool> DeleteConnection(const std::string& id) override;

  Result<std::optional<ConversationRecord>> FindOpenConversation(
      const std::string& connection_id, const std::string& customer_id) override;
  Result<std::optional<ConversationRecord>> GetConversation(const std::string& id) override;
  Result<std::vector<ConversationRecord>> ListConversations(const ConversationFilter& f) override;
  Result<void> InsertConversation(const ConversationRecord& c) override;
  Result<void> UpdateConversation(const ConversationRecord& c) override;

  Result<bool> InboundMessageSeen(const std::string& connection_id,
                                  const std::string& message_id) override;
  Result<void> InsertEvent(const EventRecord& e) override;
  Result<std::vector<EventRecord>> Transcript(const std::string& conversation_id) override;
  Result<std::optional<DeliveryRecord>> GetDelivery(const std::string& event_id) override;
  Result<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryFilter& f) override;
  Result<std::vector<DeliveryRecord>> PendingDeliveries() override;
  Result<void> UpdateDelivery(const EventRecord& e) override;
  // pg_leases.cpp
  Result<std::vector<LeaseClaim>> ClaimDeliveries(const std::string& node_id, int64_t now_ms,
                                                  int64_t until_ms,
                                                  const std::vector<std::string>& wanted,
                                                  size_t limit) override;
  Result<std::vector<std::string>> RenewDeliveries(
      const std::string& node_id, int64_t until_ms,
      const std::vector<std::string>& conversation_ids) override;
  Result<void> ReleaseDeliveries(const std::string& node_id,
                                 const std::vector<std::string>& conversation_ids) override;
  Result<std::vector<DeliveryRecord>> PendingAfter(
      const std::vector<std::pair<std::string, int64_t>>& after) override;

  Result<std::optional<UserRecord>> GetUser(const std::string& username) override;
  Result<std::vector<UserRecord>> ListUsers() override;
  Result<void> InsertUser(const UserRecord& u) override;
  Result<void> UpdateUser(const UserRecord& u) override;
  Result<bool> DeleteUser(const std::string& username) override;
  Result<void> InsertSession(const SessionRecord& s) override;
  Result<std::optional<SessionRecord>> GetSession(const std::string& token_hash) override;
  Result<void> TouchSession(const std::string& token_hash, int64_t now_ms) override;
  Result<void> DeleteSession(const std::string& token_hash) override;
  Result<void> DeleteUserSessions(const std::string& username) override;
  Result<void> DeleteIdleSessions(int64_t before_ms) override;

  // pg_admin.cpp
  Result<void> InsertAudit(const AuditRecord& a) override;
  Result<std::vector<AuditRecord>> ListAudit(int64_t before_id, size_t limit) override;
  Result<std::vector<ResponseRecord>> ListResponses(const std::string& owner) override;
  Result<std::optional<ResponseRecord>> GetResponse(const std::string& id) override;
  Result<void> InsertResponse(const ResponseRecord& r) override;
  Result<void> UpdateResponse(const ResponseRecord& r) override;
  Result<bool> DeleteResponse(const std::string& id) override;

  Result<std::vector<QueueRecord>> ListQueues() override;
  Result<std::optional<QueueRecord>> GetQueue(const std::string& name) override;
  Result<void> InsertQueue(const QueueRecord& q) override;
  Result<void> UpdateQueue(const QueueRecord& q) override;
  Result<bool> DeleteQueue(const std::string& name) override;
  Result<std::vector<ConversationRecord>> Waiting(const std::string& queue, size_t limit) override;
  Result<std::vector<ConversationRecord>> ExpiredOffers(int64_t now_ms, size_t limit) override;
  Result<std::vector<ConversationRecord>> IdleConversations(int64_t remind_before_ms,
                                                            int64_t end_before_ms,
                                                            size_t limit) override;
  Result<std::vector<ConversationRecord>> AgentConversations(const std::string& agent) override;
  Result<QueueStats> GetQueueStats(const std::string& queue) override;
  Result<QueueStats> GetQueueCounters(const std::string& queue) override;
  Result<std::vector<QueueStats>> ListQueueStats() override;
  Result<int64_t> NextQueueKey(const std::string& queue, bool at_head) override;
  Result<int64_t> WaitingAhead(const std::string& queue, int64_t qkey) override;
  Result<std::optional<ConversationRecord>> NextToOffer(const std::string& queue) override;
  Result<std::vector<std::string>> ReadyAgents(const std::string& queue, size_t limit) override;
  Result<std::vector<std::string>> QueueMembers(const std::string& queue) override;
  Result<std::vector<std::string>> Admins() override;

  // pg_supervision.cpp
  Result<void> StartStatusPeriod(const std::string& username, const std::string& status,
                                 const std::optional<std::string>& reason, int64_t at_ms) override;
  Result<std::vector<StatusPeriodRecord>> ListStatusPeriods(const std::string& username,
                                                            int64_t from_ms,
                                                            int64_t to_ms) override;
  Result<void> PutWatcher(const WatcherRecord& w) override;
  Result<bool> DeleteWatcher(const std::string& conversation_id,
                             const std::string& username) override;
  Result<std::vector<WatcherRecord>> Watchers(const std::string& conversation_id) override;
  Result<std::vector<ConversationRecord>> WaitChecksDue(int64_t now_ms, size_t limit) override;
  Result<std::vector<ConversationRecord>> ParkedWaitChecks(const std::string& queue,
                                                           size_t limit) override;
  Result<void> SetArmedVersion(const std::string& queue, int64_t version) override;
  Result<void> AddHandleSample(const std::string& queue, int64_t ms, int64_t keep) override;
  // Routing facts and surveys (sqlite_facts.cpp / pg_facts.cpp).
  Result<void> InsertFact(const RoutingFact& f) override;
  Result<std::vector<RoutingFact>> ListFacts(int64_t from_ms, int64_t to_ms, size_t limit) override;
  Result<std::optional<CsatRecord>> GetCsat(const std::string& conversation_id) override;
  Result<void> PutCsat(const CsatRecord& c) override;
  Result<std::pair<int64_t, int64_t>> CsatDay(const std::string& queue, int64_t day) override;
  Result<void> AddCsatDay(const std::string& queue, int64_t day, int64_t score) override;
  Result<void> CountQueueOutcome(const std::string& queue, const QueueOutcome& o) override;
  Result<std::vector<PresenceRecord>> OfflineDue(int64_t now_ms, size_t limit) override;
  Result<std::vector<PresenceRecord>> ReadyDue(int64_t now_ms, size_t limit) override;
  Result<std::map<std::string, int64_t>> CountConversations() override;
  Result<std::optional<PresenceRecord>> GetPresence(const std::string& username) override;
  Result<std::vector<PresenceRecord>> ListPresence() override;
  Result<void> PutPresence(const PresenceRecord& p) override;
  Result<int64_t> LastAgentEventSeq(const std::string& username) override;
  Result<void> InsertAgentEvent(const AgentEventRecord& e) override;
  Result<std::vector<AgentEventRecord>> AgentEventsAfter(const std::string& username, int64_t after,
                                                         size_t limit) override;
  Result<int64_t> FirstAgentEventSeq(const std::string& username) override;
  Result<void> PruneAgentEvents(const std::string& username, int64_t up_to_seq,
                                int64_t before_ms) override;
  // Presence across nodes (pg_presence.cpp).
  Result<int64_t> AddNodeStreams(const std::string& username, int64_t delta) override;
  Result<int64_t> UserStreams(const std::string& username) override;
  Result<std::vector<std::string>> ClearNodeStreams() override;
  Result<void> RenewNode(int64_t until_ms) override;
  Result<std::vector<std::string>> ReapDeadNodes(int64_t now_ms, size_t limit) override;

 private:
  Result<ConnectionRecord> ReadConnection(const Rows& r, int row);
  Result<std::vector<ConversationRecord>> Conversations(const char* sql, const Params& p);
  // An insert with ON CONFLICT DO NOTHING that inserted nothing: kConflict, and the job is run
  // again when `retry` (the row may be another node's, committed just now).
  Result<void> Inserted(Result<int64_t> affected, std::string_view what, bool retry);

  Conn* conn_;
  const SecretBox& box_;
  bool writer_;
  bool retry_ = false;
  std::string node_id_;
};

}  // namespace parley::storage::postgres

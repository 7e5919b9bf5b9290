#pragma once
// The Tx of the SQLite store: named SQL constants, records in and out.

#include <chrono>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/secret_box.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/store.hpp"

namespace parley::storage::sqlite {

#define PARLEY_CONVERSATION_COLUMNS                                                        \
  "id, connection_id, customer_id, customer_name, state, owner, context, dialog_state, "   \
  "last_in_seq, last_out_seq, last_position, created_at, updated_at, ended_at, "           \
  "last_customer_at, queue, agent, queued_at, offered_to, offer_expires_at, assigned_at, " \
  "transfer_note, idle_reminded, wait_sent_at, wait_position, wait_estimate_s, ended_by, " \
  "declined_by, qkey, wait_check_at, wait_version"
// The column after PARLEY_CONVERSATION_COLUMNS (e.g. rowid).
constexpr int kConversationColumnCount = 31;

// Prepares `sql` as `var` inside a SqliteTx member, or returns the error.
#define PARLEY_TRY_STMT(var, sql)             \
  auto var##_r = db_.Prepare(sql);            \
  if (!var##_r) return Fail(var##_r.error()); \
  Stmt& var = **var##_r

// Reads a row selected with PARLEY_CONVERSATION_COLUMNS (sqlite_tx.cpp).
ConversationRecord ReadConversation(const Stmt& s);
// The writer cache's key of an open conversation.
std::string CacheKey(const std::string& connection_id, const std::string& customer_id);

class SqliteTx final : public Tx {
 public:
  // `open_conversation_cache` > 0 keeps up to that many open conversations in memory, keyed by
  // (connection, customer). Only the writer's Tx may do this: it is the only writer, so its
  // copy is exact as long as rolled-back work is forgotten (JobRolledBack, CommitFailed).
  SqliteTx(Db& db, const SecretBox& box, size_t open_conversation_cache = 0,
           std::chrono::milliseconds flush_interval = std::chrono::seconds(1))
      : db_(db), box_(box), cache_limit_(open_conversation_cache), flush_every_(flush_interval) {}

  // The connection, for the scan guard of the unit tests (statement plans and step counts).
  Db& db() { return db_; }

  // The writer calls these around each job of a group commit.
  void JobStarted() { touched_.clear(); }
  void JobRolledBack();
  void CommitFailed() {
    cache_.clear();
    queues_.clear();
    touched_.clear();
    dirty_.clear();
    cycle_.clear();
    cycle_next_ = 0;
  }

  // A turn that changes only a cached conversation's counters and updated_at is not written at
  // once: the row is marked dirty and written later, so the counters on disk may lag and every
  // read of a conversation row takes them from its events (Reconcile).
  //
  // Every flush interval the dirty rows start a flush cycle, sorted by rowid so that rows on
  // one page are written together; the writer writes a slice of the cycle with each batch
  // (FlushSome), so no single commit carries thousands of rows. Everything is written at once
  // (FlushConversations) when the cache or the dirty set is full, and before the writer stops.
  bool MustFlushAll() const;
  bool FlushPending(std::chrono::steady_clock::time_point now) const;
  Result<void> FlushSome(std::chrono::steady_clock::time_point now, size_t max_rows);
  Result<void> FlushConversations(std::chrono::steady_clock::time_point now);
  size_t DirtyConversations() const { return dirty_.size() + (cycle_.size() - cycle_next_); }

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
  Result<void> InsertAudit(const AuditRecord& a) override;
  Result<std::vector<AuditRecord>> ListAudit(int64_t before_id, size_t limit) override;

  Result<std::vector<ResponseRecord>> ListResponses(const std::string& owner) override;
  Result<std::optional<ResponseRecord>> GetResponse(const std::string& id) override;
  Result<void> InsertResponse(const ResponseRecord& r) override;
  Result<void> UpdateResponse(const ResponseRecord& r) override;
  Result<bool> DeleteResponse(const std::string& id) override;

  // sqlite_ops.cpp
  Result<std::vector<DeliveryCount>> CountDeliveries(const std::string& connection_id) override;
  Result<int64_t> CountSessions(int64_t active_since_ms) override;

  // sqlite_supervision.cpp
  Result<void> StartStatusPeriod(const std::string& username, const std::string& status,
                                 const std::optional<std::string>& reason, int64_t at_ms) override;
  Result<std::vector<StatusPeriodRecord>> ListStatusPeriods(const std::string& username,
                                                            int64_t from_ms,
                                                            int64_t to_ms) override;
  Result<void> PutWatcher(const WatcherRecord& w) override;
  Result<bool> DeleteWatcher(const std::string& conversation_id,
                             const std::string& username) override;
  Result<std::vector<WatcherRecord>> Watchers(const std::string& conversation_id) override;

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
  // Presence across nodes (sqlite_presence.cpp).
  Result<int64_t> AddNodeStreams(const std::string& username, int64_t delta) override;
  Result<int64_t> UserStreams(const std::string& username) override;
  Result<std::vector<std::string>> ClearNodeStreams() override;

 private:
  Result<ConnectionRecord> ReadConnection(const Stmt& s);
  Result<std::vector<DeliveryRecord>> Deliveries(Stmt& s);
  // Reads conversation rows, each as the writer knows it (cache, else reconciled counters).
  Result<std::vector<ConversationRecord>> Conversations(Stmt& s);
  struct Cached {
    ConversationRecord record;
    int64_t rowid = 0;  // 0 when unknown (then it sorts first in a flush cycle)
    bool used = false;  // found or changed again since it was cached or the last overflow
  };
  void Remember(const ConversationRecord& c, int64_t rowid = 0);
  // Writes one cached row's turn fields; false when the key is no longer cached.
  Result<bool> WriteTurn(const std::string& key);
  void StartCycle(std::chrono::steady_clock::time_point now);
  // Raises the counters and updated_at of a row read from disk to what its events say.
  Result<void> Reconcile(ConversationRecord& c);

  Db& db_;
  const SecretBox& box_;
  size_t cache_limit_;
  std::chrono::milliseconds flush_every_;
  // Open conversations by CacheKey(connection, customer), and the keys the current job changed.
  std::unordered_map<std::string, Cached> cache_;
  std::unordered_set<std::string> touched_;
  std::unordered_set<std::string> dirty_;  // cached rows newer than disk in counters only
  // Queue records by name (a join reads its queue's record four times), with the same rule:
  // only the writer's Tx keeps them; a queue's change drops its entry, a rollback all of them.
  std::unordered_map<std::string, std::optional<QueueRecord>> queues_;
  // The running flush cycle: keys in rowid order, written up to cycle_next_.
  std::vector<std::pair<int64_t, std::string>> cycle_;
  size_t cycle_next_ = 0;
  std::chrono::steady_clock::time_point last_cycle_ = std::chrono::steady_clock::now();
};

}  // namespace parley::storage::sqlite

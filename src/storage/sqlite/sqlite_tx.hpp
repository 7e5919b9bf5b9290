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

class SqliteTx final : public Tx {
 public:
  // `open_conversation_cache` > 0 keeps up to that many open conversations in memory, keyed by
  // (connection, customer). Only the writer's Tx may do this: it is the only writer, so its
  // copy is exact as long as rolled-back work is forgotten (JobRolledBack, CommitFailed).
  SqliteTx(Db& db, const SecretBox& box, size_t open_conversation_cache = 0,
           std::chrono::milliseconds flush_interval = std::chrono::seconds(1))
      : db_(db), box_(box), cache_limit_(open_conversation_cache), flush_every_(flush_interval) {}

  // The writer calls these around each job of a group commit.
  void JobStarted() { touched_.clear(); }
  void JobRolledBack();
  void CommitFailed() {
    cache_.clear();
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

 private:
  Result<ConnectionRecord> ReadConnection(const Stmt& s);
  Result<std::vector<DeliveryRecord>> Deliveries(Stmt& s);
  struct Cached {
    ConversationRecord record;
    int64_t rowid = 0;  // 0 when unknown (then it sorts first in a flush cycle)
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
  // The running flush cycle: keys in rowid order, written up to cycle_next_.
  std::vector<std::pair<int64_t, std::string>> cycle_;
  size_t cycle_next_ = 0;
  std::chrono::steady_clock::time_point last_cycle_ = std::chrono::steady_clock::now();
};

}  // namespace parley::storage::sqlite

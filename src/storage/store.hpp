#pragma once
// The Store: Parley's only way to the database. Work is submitted as jobs that run against a
// Tx on the store's own threads, never on the I/O threads:
// - Write jobs run on one writer thread and are group-committed: the writer takes every job
//   queued (up to a bound), runs each in its own savepoint inside one transaction, commits
//   once, and completes them only once the commit is durable (on SQLite the fsync runs on a
//   thread of its own while the writer goes on: sqlite_store.hpp). A job's result is therefore
//   delivered only once it is durable, while one fsync serves many jobs.
// - Read jobs run on a reader thread with its own connection (a consistent snapshot).
// Both queues are bounded; a full queue fails the job at once with kUnavailable.
// Implementations: sqlite/ (embedded, one node), postgres/ (several nodes on one database).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/histogram.hpp"
#include "core/result.hpp"
#include "storage/records.hpp"

namespace parley::storage {

// Outbound events of one connection in one undelivered state (`pending` or `dead`), for
// /metrics and `parley status`.
struct DeliveryCount {
  std::string status;
  int64_t count = 0;
  int64_t failing = 0;                  // of them, with at least one failed attempt
  std::optional<int64_t> oldest_at_ms;  // creation time of the oldest
};

// The operations a job can do. Valid only inside the job; not thread-safe.
class Tx {
 public:
  virtual ~Tx() = default;

  virtual Result<std::vector<ConnectionRecord>> ListConnections() = 0;
  virtual Result<std::optional<ConnectionRecord>> GetConnection(const std::string& id) = 0;
  // kConflict when the name is taken.
  virtual Result<void> InsertConnection(const ConnectionRecord& c) = 0;
  virtual Result<void> UpdateConnection(const ConnectionRecord& c) = 0;
  // False when there was no such connection.
  virtual Result<bool> DeleteConnection(const std::string& id) = 0;

  virtual Result<std::optional<ConversationRecord>> FindOpenConversation(
      const std::string& connection_id, const std::string& customer_id) = 0;
  virtual Result<std::optional<ConversationRecord>> GetConversation(const std::string& id) = 0;
  virtual Result<std::vector<ConversationRecord>> ListConversations(
      const ConversationFilter& f) = 0;
  virtual Result<void> InsertConversation(const ConversationRecord& c) = 0;
  virtual Result<void> UpdateConversation(const ConversationRecord& c) = 0;

  // True when this connection already received an inbound message with this id.
  virtual Result<bool> InboundMessageSeen(const std::string& connection_id,
                                          const std::string& message_id) = 0;
  virtual Result<void> InsertEvent(const EventRecord& e) = 0;
  virtual Result<std::vector<EventRecord>> Transcript(const std::string& conversation_id) = 0;
  virtual Result<std::optional<DeliveryRecord>> GetDelivery(const std::string& event_id) = 0;
  virtual Result<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryFilter& f) = 0;
  // Every outbound event still pending, oldest first per conversation (for the dispatcher).
  virtual Result<std::vector<DeliveryRecord>> PendingDeliveries() = 0;
  // Records a delivery outcome: status, attempts, next attempt, last error, delivered_at.
  virtual Result<void> UpdateDelivery(const EventRecord& e) = 0;

  // Users and sessions (sqlite_users.cpp).
  virtual Result<std::optional<UserRecord>> GetUser(const std::string& username) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  // kConflict (user_exists) when the username is taken; kConflict (username_retired) when a
  // deleted user had it: usernames are never reused.
  virtual Result<void> InsertUser(const UserRecord& u) = 0;
  virtual Result<void> UpdateUser(const UserRecord& u) = 0;
  // False when there was no such user. Deletes the user's sessions too, and retires the
  // username (InsertUser refuses it from then on).
  virtual Result<bool> DeleteUser(const std::string& username) = 0;
  virtual Result<void> InsertSession(const SessionRecord& s) = 0;
  virtual Result<std::optional<SessionRecord>> GetSession(const std::string& token_hash) = 0;
  virtual Result<void> TouchSession(const std::string& token_hash, int64_t now_ms) = 0;
  virtual Result<void> DeleteSession(const std::string& token_hash) = 0;
  virtual Result<void> DeleteUserSessions(const std::string& username) = 0;
  // Removes sessions unused since `before_ms`.
  virtual Result<void> DeleteIdleSessions(int64_t before_ms) = 0;

  // The audit log (sqlite_audit.cpp, pg_admin.cpp). Insert sets nothing back; List gives the
  // newest first, those with id < `before_id` (0: from the newest), at most `limit`.
  virtual Result<void> InsertAudit(const AuditRecord& a) = 0;
  virtual Result<std::vector<AuditRecord>> ListAudit(int64_t before_id, size_t limit) = 0;

  // Canned responses (sqlite_responses.cpp, pg_admin.cpp).
  // The shared responses and those of `owner`, by shortcut (every one when owner is empty).
  virtual Result<std::vector<ResponseRecord>> ListResponses(const std::string& owner) = 0;
  virtual Result<std::optional<ResponseRecord>> GetResponse(const std::string& id) = 0;
  // kConflict (response_exists) when the owner has this shortcut already.
  virtual Result<void> InsertResponse(const ResponseRecord& r) = 0;
  virtual Result<void> UpdateResponse(const ResponseRecord& r) = 0;
  virtual Result<bool> DeleteResponse(const std::string& id) = 0;

  // Operations figures (/metrics, `parley status`; sqlite/sqlite_ops.cpp). Not pure: a backend
  // without them answers kUnavailable `unsupported` and /metrics leaves those lines out.
  // The pending and dead events of one connection (delivered ones are counted by the dispatcher).
  virtual Result<std::vector<DeliveryCount>> CountDeliveries(const std::string& connection_id);
  // Sessions used since `active_since_ms`.
  virtual Result<int64_t> CountSessions(int64_t active_since_ms);

  // Reports and the survey (issue 19; sqlite_facts.cpp, pg_facts.cpp). Not pure: a store
  // without them answers kUnavailable reports_unsupported (store.cpp).
  // Appends one routing fact (an insert, nothing read).
  virtual Result<void> InsertFact(const RoutingFact& f);
  // Facts with from_ms <= at < to_ms in time order, at most `limit` (through the time index).
  virtual Result<std::vector<RoutingFact>> ListFacts(int64_t from_ms, int64_t to_ms, size_t limit);
  virtual Result<std::optional<CsatRecord>> GetCsat(const std::string& conversation_id);
  // Inserts or replaces the conversation's survey.
  virtual Result<void> PutCsat(const CsatRecord& c);
  // The ratings of a queue on a UTC day (days since 1970): (count, sum of scores), one row.
  virtual Result<std::pair<int64_t, int64_t>> CsatDay(const std::string& queue, int64_t day);
  virtual Result<void> AddCsatDay(const std::string& queue, int64_t day, int64_t score);
  // Supervision (migration 0011; sqlite_supervision.cpp, pg_supervision.cpp). Not pure: a
  // store without them answers kUnavailable `unsupported` (store.cpp).
  // Ends the user's open status period at `at_ms` and opens one of `status` and `reason`.
  virtual Result<void> StartStatusPeriod(const std::string& username, const std::string& status,
                                         const std::optional<std::string>& reason, int64_t at_ms);
  // The periods overlapping [from_ms, to_ms) of `username` (everyone's when empty), by user
  // and start.
  virtual Result<std::vector<StatusPeriodRecord>> ListStatusPeriods(const std::string& username,
                                                                    int64_t from_ms, int64_t to_ms);
  // Adds the watcher, or changes its mode.
  virtual Result<void> PutWatcher(const WatcherRecord& w);
  // False when the user did not watch the conversation.
  virtual Result<bool> DeleteWatcher(const std::string& conversation_id,
                                     const std::string& username);
  // The conversation's watchers, by username.
  virtual Result<std::vector<WatcherRecord>> Watchers(const std::string& conversation_id);

  // Outbound delivery shared between nodes (issue 15, migration 0013; pg_leases.cpp). Not pure:
  // a store of one node (SQLite) answers kUnavailable `unsupported`, and its dispatcher never
  // asks (every conversation is its own).
  // Takes the delivery lease of conversations with pending outbound events whose lease is free
  // (never taken, released, or expired by `now_ms`) or already this node's, until `until_ms`:
  // those named in `wanted` (when not empty), else up to `limit` of any. Rows another node is
  // claiming at this moment are skipped (FOR UPDATE SKIP LOCKED), never waited for.
  virtual Result<std::vector<LeaseClaim>> ClaimDeliveries(const std::string& node_id,
                                                          int64_t now_ms, int64_t until_ms,
                                                          const std::vector<std::string>& wanted,
                                                          size_t limit);
  // Extends this node's leases of `conversation_ids` to `until_ms`; returns those it still held
  // (a lease another node took after it expired is lost).
  virtual Result<std::vector<std::string>> RenewDeliveries(
      const std::string& node_id, int64_t until_ms,
      const std::vector<std::string>& conversation_ids);
  // Gives this node's leases of `conversation_ids` up (any node may claim them at once).
  virtual Result<void> ReleaseDeliveries(const std::string& node_id,
                                         const std::vector<std::string>& conversation_ids);
  // Tells the other nodes sharing the database `payload` on `channel` when this job's
  // transaction commits (PostgreSQL NOTIFY; nothing is sent if it rolls back). A store of one
  // node has nobody to tell: it does nothing.
  virtual Result<void> Announce(const std::string& channel, const std::string& payload);
  // The pending outbound events of each conversation with a seq above its `after`, in seq order.
  virtual Result<std::vector<DeliveryRecord>> PendingAfter(
      const std::vector<std::pair<std::string, int64_t>>& after);

  // Queues, presence, routing and agents' events (sqlite_routing.cpp).
  virtual Result<std::vector<QueueRecord>> ListQueues() = 0;
  virtual Result<std::optional<QueueRecord>> GetQueue(const std::string& name) = 0;
  // kConflict (queue_exists) when the name is taken.
  virtual Result<void> InsertQueue(const QueueRecord& q) = 0;
  virtual Result<void> UpdateQueue(const QueueRecord& q) = 0;
  virtual Result<bool> DeleteQueue(const std::string& name) = 0;
  // Conversations waiting in `queue`, in queue order (head first), at most `limit`.
  virtual Result<std::vector<ConversationRecord>> Waiting(const std::string& queue,
                                                          size_t limit) = 0;
  // Conversations whose offer expired by `now_ms`, at most `limit`, the earliest first.
  virtual Result<std::vector<ConversationRecord>> ExpiredOffers(int64_t now_ms, size_t limit) = 0;
  // Open conversations (bot or active) whose customer is silent: not yet reminded and silent
  // since before `remind_before_ms`, or silent since `end_before_ms` or before; at most `limit`.
  virtual Result<std::vector<ConversationRecord>> IdleConversations(int64_t remind_before_ms,
                                                                    int64_t end_before_ms,
                                                                    size_t limit) = 0;
  // Active conversations owned by `agent` and queued ones offered to them.
  virtual Result<std::vector<ConversationRecord>> AgentConversations(const std::string& agent) = 0;

  // Routing state kept as data (migration 0006; docs/architecture.md "Routing state"). Each of
  // these reads or writes a bounded number of rows through indexes, whatever the depth of the
  // queue or the number of agents.
  // The queue's counters (all zero when nothing ever happened in it).
  virtual Result<QueueStats> GetQueueStats(const std::string& queue) = 0;
  // The same counters without the two waits (head_queued_at_ms and oldest_queued_at_ms stay
  // empty): what a routing step needs, in one read of one row.
  virtual Result<QueueStats> GetQueueCounters(const std::string& queue) = 0;
  // Every queue's counters, by name (O(queues)).
  virtual Result<std::vector<QueueStats>> ListQueueStats() = 0;
  // The next key of the queue's order: at the back, or at the head (before every key so far).
  virtual Result<int64_t> NextQueueKey(const std::string& queue, bool at_head) = 0;
  // How many conversations wait in `queue` before the key `qkey`.
  virtual Result<int64_t> WaitingAhead(const std::string& queue, int64_t qkey) = 0;
  // The first waiting conversation of the queue that rings for nobody.
  virtual Result<std::optional<ConversationRecord>> NextToOffer(const std::string& queue) = 0;
  // Members of `queue` ready for an offer (available, signed in, with room), assigned least
  // recently first (ties by username), at most `limit`.
  virtual Result<std::vector<std::string>> ReadyAgents(const std::string& queue, size_t limit) = 0;
  // Enabled agents of the queue (by username).
  virtual Result<std::vector<std::string>> QueueMembers(const std::string& queue) = 0;
  // Enabled admins and supervisors (by username): told of every queue and agent.
  virtual Result<std::vector<std::string>> Admins() = 0;
  // Waiting conversations whose wait_time check is due by `now_ms`, the earliest first.
  virtual Result<std::vector<ConversationRecord>> WaitChecksDue(int64_t now_ms, size_t limit) = 0;
  // Waiting conversations of the queue whose wait check is parked (none due), at most `limit`.
  virtual Result<std::vector<ConversationRecord>> ParkedWaitChecks(const std::string& queue,
                                                                   size_t limit) = 0;
  virtual Result<void> SetArmedVersion(const std::string& queue, int64_t version) = 0;
  // A handle time (ms): the queue keeps the last `keep` in a ring.
  virtual Result<void> AddHandleSample(const std::string& queue, int64_t ms, int64_t keep) = 0;
  // Adds `o` to the queue's counters (the *_today ones start over on a new day).
  virtual Result<void> CountQueueOutcome(const std::string& queue, const QueueOutcome& o) = 0;
  // Conversations per state (bot, queued, active, ended), kept as counters.
  virtual Result<std::map<std::string, int64_t>> CountConversations() = 0;
  // Agents whose streams stayed closed until their offline_due_at passed (by `now_ms`).
  virtual Result<std::vector<PresenceRecord>> OfflineDue(int64_t now_ms, size_t limit) = 0;
  // Agents whose after-chat work ended (ready_at passed by `now_ms`).
  virtual Result<std::vector<PresenceRecord>> ReadyDue(int64_t now_ms, size_t limit) = 0;

  virtual Result<std::optional<PresenceRecord>> GetPresence(const std::string& username) = 0;
  virtual Result<std::vector<PresenceRecord>> ListPresence() = 0;
  virtual Result<void> PutPresence(const PresenceRecord& p) = 0;
  virtual Result<int64_t> LastAgentEventSeq(const std::string& username) = 0;
  virtual Result<void> InsertAgentEvent(const AgentEventRecord& e) = 0;
  // Events of `username` with seq > after, in order, at most `limit`.
  virtual Result<std::vector<AgentEventRecord>> AgentEventsAfter(const std::string& username,
                                                                 int64_t after, size_t limit) = 0;
  // The oldest seq still kept for `username` (0 when none).
  virtual Result<int64_t> FirstAgentEventSeq(const std::string& username) = 0;
  // Drops the user's events with seq <= `up_to_seq` that are older than `before_ms`.
  virtual Result<void> PruneAgentEvents(const std::string& username, int64_t up_to_seq,
                                        int64_t before_ms) = 0;

  // Presence across nodes (migration 0014; sqlite_presence.cpp, pg_presence.cpp): each node
  // counts the event streams it holds per user, and a user's streams are the sum over the
  // nodes. "This node" is the store's node (Store::SetNodeId; a SQLite store is one node).
  // Adds `delta` to this node's streams of `username` (never below 0) and returns the user's
  // streams on every node. On a shared store the user's count is locked until the commit, so
  // two nodes changing it one after the other each see the other's change.
  virtual Result<int64_t> AddNodeStreams(const std::string& username, int64_t delta) = 0;
  // The user's streams on every node (locked as AddNodeStreams does).
  virtual Result<int64_t> UserStreams(const std::string& username) = 0;
  // Forgets this node's streams (a node that starts holds none; a store of one node forgets
  // every row). Returns the users who had some, by name.
  virtual Result<std::vector<std::string>> ClearNodeStreams() = 0;
  // Renews this node's lease until `until_ms`: its streams count while it holds one. Not pure:
  // a store of one node has no lease and does nothing.
  virtual Result<void> RenewNode(int64_t until_ms);
  // Takes the nodes whose lease expired by `now_ms` (at most `limit`; rows another node's sweep
  // holds are skipped), forgets their streams and their lease, and returns the users who had
  // streams on them, by name. A store of one node has none: empty.
  virtual Result<std::vector<std::string>> ReapDeadNodes(int64_t now_ms, size_t limit);
};

// Hands the continuations of one batch of store jobs to their executors: one post per
// execution context instead of one per job. Each post to an idle I/O thread costs the writer a
// wake-up (an epoll_ctl and a futex), which measured ~10 % of its time when it posted per job.
class Handoff {
 public:
  Handoff() = default;
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;
  ~Handoff() { Post(); }

  void Add(const boost::asio::any_io_executor& ex, std::move_only_function<void()> fn);
  // Posts what was added since the last call, in the order it was added per executor.
  void Post();

 private:
  struct Group {
    boost::asio::any_io_executor ex;
    std::vector<std::move_only_function<void()>> fns;
  };
  std::vector<Group> groups_;
};

// What the store tells operators (/metrics). Read while the store runs.
struct StoreStats {
  uint64_t commits = 0;  // group commits
  uint64_t jobs = 0;     // write jobs those commits carried
  uint64_t failed_commits = 0;
  Histogram::Snapshot batch;   // BEGIN to COMMIT done: the jobs, the flush slice, the fsync
  Histogram::Snapshot commit;  // the COMMIT alone (the WAL write, and its fsync where COMMIT syncs)
  // SQLite with a syncer: the fdatasync that makes batches durable, off the writer's path.
  Histogram::Snapshot sync;
  // SQLite: the checkpoints the writer itself runs between two batches (nothing else runs).
  Histogram::Snapshot writer_checkpoint;
  uint64_t syncs = 0;
  // SQLite only (empty for PostgreSQL): how long jobs waited in their queue, from submitted to
  // started (a write job waits for the writer's batch ahead; a read job for the reader).
  Histogram::Snapshot write_wait;       // request write jobs (SubmitWrite)
  Histogram::Snapshot background_wait;  // background write jobs (SubmitBackgroundWrite)
  Histogram::Snapshot read_wait;
  uint64_t queued_writes = 0;        // jobs waiting for the writer now
  uint64_t wal_frames = 0;           // the WAL's length in pages after the last commit
  uint64_t checkpoints = 0;          // checkpoint runs (by the checkpointer or the writer)
  uint64_t dirty_conversations = 0;  // conversation rows whose counters wait to be written
  // PostgreSQL only (0 for SQLite): the node's connection pool, and write jobs run again
  // because they met another node's concurrent work (a deadlock, a row inserted meanwhile).
  uint64_t pool_max = 0;
  uint64_t pool_connections = 0;
  uint64_t pool_in_use = 0;
  uint64_t pool_waits = 0;
  uint64_t pool_timeouts = 0;
  uint64_t pool_connects = 0;
  uint64_t retried_jobs = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual StoreStats Stats() const = 0;

  using Job = std::function<bool(Tx&)>;  // returns false to roll its savepoint back
  // Runs on the store's thread; continuations for other threads go through `handoff`, which
  // the store posts once the whole batch is done.
  using Done = std::function<void(bool committed, Handoff& handoff)>;

  // Queues a write job; `done` runs on the store's thread (SQLite: the syncer, or the writer
  // without one) once the commit is durable (or failed), the jobs of all batches in commit
  // order.
  // Returns false (and never calls anything) when the queue is full or the store is closed.
  virtual bool SubmitWrite(Job job, Done done) = 0;
  // The same for the server's own work that no request waits for (delivery outcomes, the
  // routing sweep's slices). The SQLite writer runs request jobs first and gives background
  // jobs a bounded share of each group commit, so an answer never waits behind a pile of them
  // (docs/architecture.md, "The writer's two lanes"); they keep their own order. A store with
  // one lane runs them as request jobs.
  virtual bool SubmitBackgroundWrite(Job job, Done done) {
    return SubmitWrite(std::move(job), std::move(done));
  }
  // Queues a read job; `done(true)` runs after it.
  virtual bool SubmitRead(Job job, Done done) = 0;
  // True when the database is open and migrated.
  virtual bool Ready() const = 0;
  // Runs the queued jobs, commits, and stops the threads. Idempotent.
  virtual void Close() = 0;
  // True when other nodes may share the database (PostgreSQL): outbound delivery is then
  // claimed with leases, and live events and reloads are announced to the other nodes.
  virtual bool Shared() const { return false; }
  // This node's id, set once before the first job: a shared store announces each agent event
  // it writes (channel kEventsChannel, payload "node|username|seq") so the other nodes' streams
  // get it at once.
  virtual void SetNodeId(const std::string&) {}

  // A node's ear for the others' announcements (Tx::Announce), on a connection of its own that
  // reconnects by itself. `on_notice(channel, payload)` runs on the listener's own thread; after
  // each (re)connection it runs once with an empty channel: announcements may have been missed.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual bool Connected() const = 0;
  };
  using Notice = std::function<void(const std::string& channel, const std::string& payload)>;
  // nullptr for a store of one node.
  virtual std::unique_ptr<Listener> Listen(std::vector<std::string> channels, Notice on_notice) {
    (void)channels;
    (void)on_notice;
    return nullptr;
  }

  // Awaitable forms. `job` is `Result<T>(Tx&)`; the coroutine resumes on its own executor
  // with the job's result once it is committed, or with kUnavailable when the store is full,
  // closed, or the commit failed.
  //
  // Pass `job` as a named variable, not a lambda written inside the co_await expression:
  // g++ 12 destroys a capturing temporary in a co_await expression twice.
  template <class T, class F>
  boost::asio::awaitable<Result<T>> Write(const F& job) {
    return Run<T>(Lane::kWrite, job, nullptr);
  }
  // The same, and `after_commit(value)` runs on the store's thread once the job is committed
  // and durable, before the coroutine resumes: jobs' after_commit calls run one at a time, in
  // commit order (what callers that publish the job's effects need: a later commit must never
  // be published first).
  template <class T, class F, class A>
  boost::asio::awaitable<Result<T>> Write(const F& job, A after_commit) {
    return Run<T>(Lane::kWrite, job, std::move(after_commit));
  }
  // A write in the background lane (SubmitBackgroundWrite), with `after_commit` as above.
  template <class T, class F, class A>
  boost::asio::awaitable<Result<T>> WriteInBackground(const F& job, A after_commit) {
    return Run<T>(Lane::kBackground, job, std::move(after_commit));
  }
  // Write or WriteInBackground, as `background` says: one awaitable for callers that choose at
  // run time (a conditional inside a co_await is miscompiled by g++ 12: see
  // ConversationService::Run).
  template <class T, class F, class A>
  boost::asio::awaitable<Result<T>> WriteIn(bool background, const F& job, A after_commit) {
    return Run<T>(background ? Lane::kBackground : Lane::kWrite, job, std::move(after_commit));
  }
  template <class T, class F>
  boost::asio::awaitable<Result<T>> Read(const F& job) {
    return Run<T>(Lane::kRead, job, nullptr);
  }

 private:
  enum class Lane { kRead, kWrite, kBackground };
  bool Submit(Lane lane, Job job, Done done) {
    switch (lane) {
      case Lane::kRead:
        return SubmitRead(std::move(job), std::move(done));
      case Lane::kWrite:
        return SubmitWrite(std::move(job), std::move(done));
      case Lane::kBackground:
        return SubmitBackgroundWrite(std::move(job), std::move(done));
    }
    return false;
  }
  // `after_commit`: a callable taking T&, or nullptr.
  template <class T, class F, class A>
  boost::asio::awaitable<Result<T>> Run(Lane lane, const F& job_ref, A after_commit) {
    auto initiate = [this, lane, job = job_ref,
                     after_commit = std::move(after_commit)](auto handler) mutable {
      using Handler = decltype(handler);
      struct State {
        explicit State(Handler h) : handler(std::move(h)) {}
        Handler handler;
        std::optional<Result<T>> result;
      };
      auto state = std::make_shared<State>(std::move(handler));
      // Without a handoff (the job was never queued) the continuation is posted at once.
      auto complete = [state](Result<T> r, Handoff* handoff) {
        auto ex = boost::asio::get_associated_executor(state->handler);
        auto resume = [state, r = std::move(r)]() mutable { state->handler(std::move(r)); };
        if (handoff)
          handoff->Add(ex, std::move(resume));
        else
          boost::asio::post(ex, std::move(resume));
      };
      Job run = [state, job = std::move(job)](Tx& tx) mutable {
        state->result.emplace(job(tx));
        return state->result->has_value();
      };
      Done done = [state, complete, after_commit](bool committed, Handoff& handoff) {
        if constexpr (!std::is_same_v<A, std::nullptr_t>) {
          if (committed && state->result && state->result->has_value())
            after_commit(**state->result);
        }
        if (!committed || !state->result) {
          complete(Fail(Errc::kUnavailable, "store_unavailable",
                        "The store could not record this; retry shortly."),
                   &handoff);
        } else {
          complete(std::move(*state->result), &handoff);
        }
      };
      bool queued = Submit(lane, std::move(run), std::move(done));
      if (!queued)
        complete(Fail(Errc::kUnavailable, "overloaded",
                      "The server is busy or shutting down; retry after a short wait."),
                 nullptr);
    };
    return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(Result<T>)>(
        std::move(initiate), boost::asio::use_awaitable);
  }
};

// The channels of announcements between nodes (docs/operations-multinode.md).
inline constexpr const char* kEventsChannel = "parley_events";  // node|username|seq
inline constexpr const char* kReloadChannel = "parley_reload";  // node|kind|subject

// Opens the store named by a URL: sqlite:///abs/path.db, sqlite://relative.db, sqlite::memory:,
// postgresql://user[:password]@host:port/dbname[?sslmode=...] (password also from PGPASSWORD).
// Applies migrations. `master_key` (32 bytes, or empty) seals connection secrets at rest.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const std::string& master_key);
// The error for a --database that names neither store (OpenStore's, and the master key's
// lookup before it).
Error UnknownDatabaseUrl(const std::string& url);

}  // namespace parley::storage

// The SQLite writer's own state: the open-conversation cache (rollbacks, bounds, held-back
// counters read back from events), the checkpointer's bound on the WAL, and migration 0002.

#include <gtest/gtest.h>

#include <fstream>

#include "sqlite_store_fixture.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage {
namespace {

// The writer's view of the open conversation of `customer`, or an error saying there is none.
Result<ConversationRecord> OpenConversation(Tx& tx, const std::string& customer) {
  auto found = tx.FindOpenConversation("conn", customer);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(Errc::kInternal, "missing", "No open conversation.");
  return std::move(**found);
}

// The writer keeps open conversations in memory; work a job rolls back must not survive there.
TEST_F(SqliteStoreTest, RolledBackJobLeavesNoTraceInTheConversationCache) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto advance_then_fail = [](Tx& tx) -> Result<void> {
    auto found = OpenConversation(tx, "cust");
    if (!found) return Fail(found.error());
    ConversationRecord c = *found;
    c.last_in_seq = 7;
    c.last_position = 7;
    c.owner = "queue:x";
    c.state = "queued";
    auto updated = tx.UpdateConversation(c);
    if (!updated) return updated;
    return Fail(Errc::kInternal, "boom", "Fails after the update, so it is rolled back.");
  };
  EXPECT_FALSE(Write<void>(*store, advance_then_fail));
  auto find = [](Tx& tx) { return tx.FindOpenConversation("conn", "cust"); };
  auto seen_by_writer = Write<std::optional<ConversationRecord>>(*store, find);
  ASSERT_TRUE(seen_by_writer && *seen_by_writer);
  EXPECT_EQ((*seen_by_writer)->last_in_seq, 0);
  EXPECT_EQ((*seen_by_writer)->state, "bot");
  EXPECT_EQ((*seen_by_writer)->owner, "bot");
}

TEST_F(SqliteStoreTest, CachedConversationFollowsUpdatesAndEnding) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
  ASSERT_TRUE(Write<void>(*store, setup));
  // A turn (counters only), then an escalation (state and owner), each read back by the writer.
  auto turn = [](Tx& tx) -> Result<void> {
    auto found = OpenConversation(tx, "cust");
    if (!found) return Fail(found.error());
    ConversationRecord c = *found;
    ++c.last_in_seq;
    ++c.last_position;
    c.customer_name = "Ann";
    return tx.UpdateConversation(c);
  };
  ASSERT_TRUE(Write<void>(*store, turn));
  ASSERT_TRUE(Write<void>(*store, turn));
  auto escalate = [](Tx& tx) -> Result<void> {
    auto found = OpenConversation(tx, "cust");
    if (!found) return Fail(found.error());
    ConversationRecord c = *found;
    c.state = "queued";
    c.owner = "queue:cards";
    return tx.UpdateConversation(c);
  };
  ASSERT_TRUE(Write<void>(*store, escalate));
  auto find = [](Tx& tx) { return tx.FindOpenConversation("conn", "cust"); };
  auto writer_view = Write<std::optional<ConversationRecord>>(*store, find);
  auto disk_view = Read<std::optional<ConversationRecord>>(*store, find);
  for (const auto* view : {&writer_view, &disk_view}) {
    ASSERT_TRUE(*view && **view);
    EXPECT_EQ((**view)->last_in_seq, 2);
    EXPECT_EQ((**view)->customer_name, "Ann");
    EXPECT_EQ((**view)->state, "queued");
    EXPECT_EQ((**view)->owner, "queue:cards");
  }
  EXPECT_EQ(RawColumn(Path(), "SELECT state FROM conversations WHERE id = 'v1'"),
            std::vector<std::string>{"queued"});
  auto end = [](Tx& tx) -> Result<void> {
    auto found = OpenConversation(tx, "cust");
    if (!found) return Fail(found.error());
    ConversationRecord c = *found;
    c.state = "ended";
    c.ended_at_ms = 9;
    return tx.UpdateConversation(c);
  };
  ASSERT_TRUE(Write<void>(*store, end));
  auto after_end = Write<std::optional<ConversationRecord>>(*store, find);
  ASSERT_TRUE(after_end);
  EXPECT_FALSE(*after_end);
}

TEST_F(SqliteStoreTest, ConversationCacheIsBounded) {
  SqliteStoreOptions options;
  options.open_conversation_cache = 3;
  auto store = OpenSqlite(Path(), "", options);
  ASSERT_TRUE(store);
  for (int i = 0; i < 10; ++i) {
    auto insert = [i](Tx& tx) {
      return tx.InsertConversation(
          Conversation("v" + std::to_string(i), "conn", "cust" + std::to_string(i)));
    };
    ASSERT_TRUE(Write<void>(*store, insert));
  }
  // Whatever the cache dropped is read from the database again.
  for (int i = 0; i < 10; ++i) {
    auto find = [i](Tx& tx) { return tx.FindOpenConversation("conn", "cust" + std::to_string(i)); };
    auto found = Write<std::optional<ConversationRecord>>(*store, find);
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->id, "v" + std::to_string(i));
  }
}

// When the cache is full it drops the conversations nobody used again (a flood of new
// customers who said one thing) and keeps the ones in use: finding one of those afterwards
// runs no SQL at all.
TEST_F(SqliteStoreTest, AFullConversationCacheKeepsTheConversationsInUse) {
  SqliteStoreOptions options;
  options.open_conversation_cache = 20;
  auto store = OpenSqlite(Path(), "", options);
  ASSERT_TRUE(store);
  auto insert = [](std::string id, std::string customer) {
    return [id, customer](Tx& tx) {
      return tx.InsertConversation(Conversation(id, "conn", customer));
    };
  };
  // The VM steps of finding a customer's open conversation (0: from the cache).
  auto find_steps = [&](std::string customer) {
    auto job = [customer](Tx& tx) -> Result<int64_t> {
      auto& db = dynamic_cast<sqlite::SqliteTx&>(tx).db();
      int64_t before = db.Steps().vm;
      auto found = tx.FindOpenConversation("conn", customer);
      if (!found) return Fail(found.error());
      if (!*found) return Fail(Errc::kNotFound, "missing", customer);
      return db.Steps().vm - before;
    };
    auto steps = Write<int64_t>(*store, job);
    EXPECT_TRUE(steps) << customer;
    return steps ? *steps : -1;
  };
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(Write<void>(*store, insert("hot" + std::to_string(i), "hot" + std::to_string(i))));
  // 100 new customers, each written once, filling the cache five times over; the four others
  // talk all along, and are never read from the database.
  int64_t hot_steps = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Write<void>(*store, insert("new" + std::to_string(i), "new" + std::to_string(i))));
    if (i % 5 == 0)
      for (int h = 0; h < 4; ++h) hot_steps += find_steps("hot" + std::to_string(h));
  }
  EXPECT_EQ(hot_steps, 0);
  // An early new customer went at an overflow: read from the database, and right.
  EXPECT_GT(find_steps("new0"), 0);
}

// A turn that changes only the counters is written later; reads take the counters from the
// events, so a row that lags (a crash before the flush) never reuses a seq.
TEST_F(SqliteStoreTest, ConversationCountersComeFromEventsWhenTheRowLags) {
  {
    SqliteStoreOptions options;
    options.conversation_flush_interval = std::chrono::hours(1);  // only Close flushes
    auto store = OpenSqlite(Path(), "", options);
    ASSERT_TRUE(store);
    auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
    ASSERT_TRUE(Write<void>(*store, setup));
    for (int i = 1; i <= 3; ++i) {
      auto turn = [](Tx& tx) -> Result<void> {
        auto found = tx.FindOpenConversation("conn", "cust");
        if (!found || !*found) return Fail(Errc::kInternal, "missing", "No conversation.");
        ConversationRecord c = **found;
        ++c.last_position;
        ++c.last_in_seq;
        c.updated_at_ms = 5000 + c.last_position;
        auto in =
            tx.InsertEvent(Inbound(c, c.last_position, "m" + std::to_string(c.last_position)));
        if (!in) return in;
        return tx.UpdateConversation(c);
      };
      ASSERT_TRUE(Write<void>(*store, turn));
    }
    // Not flushed yet: the row still says 0.
    EXPECT_EQ(RawColumn(Path(), "SELECT last_in_seq FROM conversations"),
              std::vector<std::string>{"0"});
    auto get = [](Tx& tx) { return tx.GetConversation("v1"); };
    auto read = Read<std::optional<ConversationRecord>>(*store, get);
    ASSERT_TRUE(read && *read);
    EXPECT_EQ((*read)->last_in_seq, 3);
    EXPECT_EQ((*read)->last_position, 3);
    store->Close();  // flushes
    EXPECT_EQ(RawColumn(Path(),
                        "SELECT last_in_seq || ',' || last_position || ',' || updated_at "
                        "FROM conversations"),
              std::vector<std::string>{"3,3,5003"});
  }
  {
    // As if the process had died before the flush: the row is behind its events.
    auto db = sqlite::Db::Open(Path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Exec("UPDATE conversations SET last_in_seq = 1, last_position = 1"));
  }
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto find = [](Tx& tx) { return tx.FindOpenConversation("conn", "cust"); };
  auto found = Write<std::optional<ConversationRecord>>(*store, find);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->last_in_seq, 3);
  EXPECT_EQ((*found)->last_position, 3);
}

// Held-back counters are written a slice at a time alongside the batches that follow, in rowid
// order, until every row on disk matches the writer's copy.
TEST_F(SqliteStoreTest, HeldBackCountersReachTheDiskInSlices) {
  SqliteStoreOptions options;
  options.conversation_flush_interval = std::chrono::milliseconds(0);  // a cycle per batch
  auto store = OpenSqlite(Path(), "", options);
  ASSERT_TRUE(store);
  constexpr int kConversations = 300;
  auto setup = [](Tx& tx) -> Result<void> {
    for (int i = 0; i < kConversations; ++i) {
      auto r = tx.InsertConversation(
          Conversation("v" + std::to_string(i), "conn", "cust" + std::to_string(i)));
      if (!r) return r;
    }
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  // One counters-only turn per conversation, all in one job: 300 dirty rows at once.
  auto turns = [](Tx& tx) -> Result<void> {
    for (int i = 0; i < kConversations; ++i) {
      auto found = OpenConversation(tx, "cust" + std::to_string(i));
      if (!found) return Fail(found.error());
      ConversationRecord c = *found;
      c.last_in_seq = c.last_position = 1;
      auto in = tx.InsertEvent(Inbound(c, 1, "m" + std::to_string(i)));
      if (!in) return in;
      auto r = tx.UpdateConversation(c);
      if (!r) return r;
    }
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, turns));
  EXPECT_EQ(store->Stats().dirty_conversations, uint64_t{kConversations});
  const std::string written = "SELECT count(*) FROM conversations WHERE last_in_seq = 1";
  // Small one-job batches carry slices of 32 rows (the floor), so three batches move 96 rows
  // of the cycle, not all of it.
  for (int i = 0; i < 3; ++i) {
    auto nothing = [](Tx&) -> Result<void> { return {}; };
    ASSERT_TRUE(Write<void>(*store, nothing));
  }
  int after_three = std::stoi(RawColumn(Path(), written).at(0));
  EXPECT_EQ(after_three, 96);
  // The idle writer writes the rest of the cycle within its once-a-second wake-up.
  ASSERT_TRUE(
      WaitFor([&] { return store->Stats().dirty_conversations == 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(RawColumn(Path(), written), std::vector<std::string>{std::to_string(kConversations)});
}

// A checkpoint is asked for each time the WAL grows by the threshold, not after every commit
// past it (which made the checkpointer run, and fsync, hundreds of times a second).
TEST_F(SqliteStoreTest, CheckpointsRunOncePerThresholdOfGrowth) {
  auto store = StoreAfterSteadyWrites(50, 600);
  ASSERT_TRUE(store);
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.commits, 601u);
  EXPECT_EQ(stats.jobs, 601u);
  // 600 commits of two or more pages each: at least 1,200 frames, so some checkpoints ran;
  // one run per commit past the threshold would be hundreds.
  EXPECT_GT(stats.checkpoints, 0u);
  EXPECT_LT(stats.checkpoints, 150u);
  EXPECT_EQ(stats.batch.counts.size(), stats.commit.counts.size());
  uint64_t batches = 0;
  for (uint64_t n : stats.batch.counts) batches += n;
  EXPECT_EQ(batches, 601u);
}

// Checkpoints run beside the writer; the WAL must not grow without bound under steady writes.
TEST_F(SqliteStoreTest, WalStaysBoundedUnderSteadyWrites) {
  auto store = StoreAfterSteadyWrites(20, 400);
  ASSERT_TRUE(store);
  std::ifstream wal(Path() + "-wal", std::ios::binary | std::ios::ate);
  ASSERT_TRUE(wal.good());
  // 400 commits of at least two pages each would be 800+ frames; the bound is 4 x 20 frames
  // plus what one commit adds and what a checkpoint in progress holds back.
  EXPECT_LT(static_cast<int64_t>(wal.tellg()), int64_t{300} * (4096 + 24));
  auto count = [](Tx& tx) -> Result<size_t> {
    auto t = tx.Transcript("v1");
    if (!t) return Fail(t.error());
    return t->size();
  };
  EXPECT_EQ(Read<size_t>(*store, count), size_t{400});
}

// Migration 2 rebuilds the events table; events recorded under migration 1 must survive it.
TEST_F(SqliteStoreTest, EventsSurviveTheAppendOnlyMigration) {
  {
    auto db = sqlite::Db::Open(Path());
    ASSERT_TRUE(db);
    const Migration& first = Migrations().at(0);
    ASSERT_EQ(first.version, 1);
    ASSERT_TRUE((*db)->Exec(first.sql));
    ASSERT_TRUE((*db)->Exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at INTEGER NOT NULL); INSERT INTO schema_migrations VALUES (1, 'initial', 0);"
        "INSERT INTO events (conversation_id, position, connection_id, direction, seq, sender, "
        "type, message_id, payload, created_at) VALUES "
        "('v1', 2, 'conn', 'in', 2, 'customer', 'text', 'm2', '{}', 20),"
        "('v1', 1, 'conn', 'in', 1, 'customer', 'text', 'm1', '{}', 10);"));
  }
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto transcript = [](Tx& tx) { return tx.Transcript("v1"); };
  auto events = Read<std::vector<EventRecord>>(*store, transcript);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].message_id, "m1");
  EXPECT_EQ((*events)[1].message_id, "m2");
  auto seen = [](Tx& tx) { return tx.InboundMessageSeen("conn", "m2"); };
  EXPECT_EQ(Read<bool>(*store, seen), true);
  auto duplicate = [](Tx& tx) {
    return tx.InsertEvent(Inbound(Conversation("v1", "conn", "cust"), 1, "m9"));
  };
  EXPECT_FALSE(Write<void>(*store, duplicate));  // (conversation, position) stays unique
}

}  // namespace
}  // namespace parley::storage

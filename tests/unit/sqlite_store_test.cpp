// The SQLite store: migrations, group commit with a savepoint per job, durability, idempotency
// of inbound messages, sealed secrets, and the bounded queue.

#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include "sqlite_store_fixture.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite/db.hpp"

namespace parley::storage {
namespace {

TEST_F(SqliteStoreTest, MigrationsAppliedOnceAndReopenIsIdempotent) {
  {
    auto store = OpenSqlite(Path());
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->Ready());
  }
  auto versions = RawColumn(Path(), "SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_EQ(versions.size(), Migrations().size());
  EXPECT_EQ(versions.front(), "1");
  {
    auto store = OpenSqlite(Path());
    ASSERT_TRUE(store);
  }
  EXPECT_EQ(RawColumn(Path(), "SELECT version FROM schema_migrations").size(), Migrations().size());
  // Migrate on an up-to-date database applies nothing.
  auto db = sqlite::Db::Open(Path());
  ASSERT_TRUE(db);
  auto applied = sqlite::Migrate(**db);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, 0);
  // The tables exist, in WAL mode.
  EXPECT_EQ(RawColumn(Path(), "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(RawColumn(Path(), "SELECT name FROM sqlite_master WHERE name='events'").size(), 1u);
}

TEST_F(SqliteStoreTest, MigrationsVersionsAscend) {
  int last = 0;
  for (const Migration& m : Migrations()) {
    EXPECT_GT(m.version, last) << m.name;
    last = m.version;
    EXPECT_FALSE(m.sql.empty());
  }
}

TEST_F(SqliteStoreTest, WriteResultArrivesAfterCommit) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  std::string path = Path();
  auto insert = [](Tx& tx) -> Result<int> {
    auto r = tx.InsertConnection(Conn("id-1", "first"));
    if (!r) return Fail(r.error());
    return 42;
  };
  auto r = Write<int>(*store, insert);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 42);
  // Visible to an independent connection: the transaction is committed, not just run.
  EXPECT_EQ(RawColumn(path, "SELECT name FROM connections"), std::vector<std::string>{"first"});
}

TEST_F(SqliteStoreTest, DoneRunsAfterCommitForRawJobs) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  std::string path = Path();
  std::promise<std::vector<std::string>> seen_in_done;
  ASSERT_TRUE(store->SubmitWrite(
      [](Tx& tx) { return tx.InsertConnection(Conn("id-1", "first")).has_value(); },
      [&](bool committed, Handoff&) {
        EXPECT_TRUE(committed);
        seen_in_done.set_value(RawColumn(path, "SELECT name FROM connections"));
      }));
  auto fut = seen_in_done.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(fut.get(), std::vector<std::string>{"first"});
}

TEST_F(SqliteStoreTest, FailingJobRollsBackOnlyItselfInABatch) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  std::atomic<int> done_count{0};
  std::atomic<int> committed_count{0};
  auto done = [&](bool committed, Handoff&) {
    committed_count += committed ? 1 : 0;
    ++done_count;
  };
  {
    WriterGate gate(*store);
    // These four are queued while the writer is held, so they run in one transaction.
    ASSERT_TRUE(store->SubmitWrite(
        [](Tx& tx) { return tx.InsertConnection(Conn("a", "a")).has_value(); }, done));
    ASSERT_TRUE(store->SubmitWrite(
        [](Tx& tx) {
          // Writes, then asks for its savepoint to be rolled back.
          EXPECT_TRUE(tx.InsertConnection(Conn("b", "b")));
          EXPECT_TRUE(tx.InsertConnection(Conn("b2", "b2")));
          return false;
        },
        done));
    ASSERT_TRUE(store->SubmitWrite(
        [](Tx& tx) -> bool {
          EXPECT_TRUE(tx.InsertConnection(Conn("c", "c")));
          throw std::runtime_error("job bug");
        },
        done));
    ASSERT_TRUE(store->SubmitWrite(
        [](Tx& tx) {
          // A constraint failure (duplicate name) inside the job: the job reports failure.
          return tx.InsertConnection(Conn("d", "a")).has_value();
        },
        done));
    ASSERT_TRUE(store->SubmitWrite(
        [](Tx& tx) { return tx.InsertConnection(Conn("e", "e")).has_value(); }, done));
  }
  ASSERT_TRUE(WaitFor([&] { return done_count.load() == 5; }));
  // The transaction committed for every job of the batch...
  EXPECT_EQ(committed_count.load(), 5);
  // ...but only the successful jobs' writes are in it.
  EXPECT_EQ(RawColumn(Path(), "SELECT id FROM connections ORDER BY id"),
            (std::vector<std::string>{"a", "e"}));
}

// The writer's two lanes: a request job queued behind background jobs runs before them, and a
// request that arrives while background jobs run waits for at most their share of a batch.
TEST_F(SqliteStoreTest, RequestJobsGoAheadOfBackgroundJobs) {
  SqliteStoreOptions options;
  options.background_share = std::chrono::milliseconds(2);
  options.background_batch = std::chrono::milliseconds(50);
  auto store = OpenSqlite(Path(), "", options);
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<std::string> order;  // jobs in the order they ran
  std::atomic<int> committed{0};
  auto note = [&](std::string name) {
    std::lock_guard lock(mu);
    order.push_back(std::move(name));
  };
  auto done = [&](bool ok, Handoff&) { committed += ok ? 1 : 0; };
  constexpr int kBackground = 40;
  {
    WriterGate gate(*store);
    // Queued while the writer is held: 40 background jobs of 1 ms each, then one request.
    for (int i = 0; i < kBackground; ++i) {
      ASSERT_TRUE(store->SubmitBackgroundWrite(
          [&, i](Tx&) {
            note("b" + std::to_string(i));
            // The first one's run queues a request: it must not wait for the other 39.
            if (i == 0) {
              EXPECT_TRUE(store->SubmitWrite(
                  [&](Tx&) {
                    note("late");
                    return true;
                  },
                  done));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return true;
          },
          done));
    }
    ASSERT_TRUE(store->SubmitWrite(
        [&](Tx&) {
          note("first");
          return true;
        },
        done));
  }
  ASSERT_TRUE(WaitFor([&] { return committed.load() == kBackground + 2; }));
  std::lock_guard lock(mu);
  ASSERT_EQ(order.size(), static_cast<size_t>(kBackground + 2));
  // Submitted after all 40, the request ran before any of them.
  EXPECT_EQ(order.front(), "first");
  // The request queued by b0 ran once the background share (2 ms: two or three 1-ms jobs) was
  // used: long before the 40 had run (one batch would have run them all, 40 ms).
  auto late = std::find(order.begin(), order.end(), "late");
  ASSERT_NE(late, order.end());
  EXPECT_LT(late - order.begin(), 10) << "the late request waited for most background jobs";
  // The background jobs kept their own order.
  std::vector<std::string> background;
  for (const auto& name : order)
    if (name.front() == 'b') background.push_back(name);
  for (int i = 0; i < kBackground; ++i) EXPECT_EQ(background[i], "b" + std::to_string(i));
  // Both lanes' waits are measured.
  auto count = [](const Histogram::Snapshot& h) {
    return std::accumulate(h.counts.begin(), h.counts.end(), uint64_t{0});
  };
  auto stats = store->Stats();
  EXPECT_EQ(count(stats.background_wait), static_cast<uint64_t>(kBackground));
  EXPECT_EQ(count(stats.write_wait), 3u);  // the gate, "first", "late"
}

TEST_F(SqliteStoreTest, FailedResultIsReturnedAndRolledBack) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto first = [](Tx& tx) { return tx.InsertConnection(Conn("x", "same")); };
  ASSERT_TRUE(Write<void>(*store, first));
  auto second = [](Tx& tx) -> Result<void> {
    auto ok = tx.InsertConnection(Conn("y", "other"));
    if (!ok) return ok;
    return tx.InsertConnection(Conn("z", "same"));  // name taken: the whole job is undone
  };
  auto r = Write<void>(*store, second);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kConflict);
  EXPECT_EQ(r.error().code, "name_taken");
  EXPECT_EQ(CountConnections(*store), 1u);
}

TEST_F(SqliteStoreTest, ManyConcurrentWritesAreAllDurable) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  {
    auto store = OpenSqlite(Path());
    ASSERT_TRUE(store);
    std::atomic<int> committed{0}, done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::string id = std::to_string(t) + "-" + std::to_string(i);
          bool queued = store->SubmitWrite(
              [id](Tx& tx) { return tx.InsertConnection(Conn(id, "n" + id)).has_value(); },
              [&](bool ok, Handoff&) {
                committed += ok ? 1 : 0;
                ++done;
              });
          EXPECT_TRUE(queued);
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(WaitFor([&] { return done.load() == kThreads * kPerThread; }));
    EXPECT_EQ(committed.load(), kThreads * kPerThread);
  }
  // Re-opened from disk: every acknowledged write is there.
  EXPECT_EQ(RawColumn(Path(), "SELECT COUNT(*) FROM connections"),
            std::vector<std::string>{std::to_string(kThreads * kPerThread)});
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  EXPECT_EQ(CountConnections(*store), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(SqliteStoreTest, CloseRunsQueuedJobsThenRefuses) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(store->SubmitWrite(
        [i](Tx& tx) {
          return tx.InsertConnection(Conn("c" + std::to_string(i), "n" + std::to_string(i)))
              .has_value();
        },
        [&](bool ok, Handoff&) { done += ok ? 1 : 0; }));
  store->Close();
  EXPECT_EQ(done.load(), 50);
  EXPECT_FALSE(store->Ready());
  EXPECT_FALSE(store->SubmitWrite([](Tx&) { return true; }, [](bool, Handoff&) { ADD_FAILURE(); }));
  EXPECT_FALSE(store->SubmitRead([](Tx&) { return true; }, [](bool, Handoff&) { ADD_FAILURE(); }));
  auto job = [](Tx&) -> Result<int> { return 1; };
  auto r = Write<int>(*store, job);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kUnavailable);
  store->Close();  // idempotent
  EXPECT_EQ(RawColumn(Path(), "SELECT COUNT(*) FROM connections"), std::vector<std::string>{"50"});
}

TEST_F(SqliteStoreTest, InboundMessageSeenIsPerConnection) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  ConversationRecord conv = Conversation("conv-1", "conn-1", "cust");
  auto setup = [&](Tx& tx) -> Result<void> {
    if (auto r = tx.InsertConversation(conv); !r) return r;
    if (auto r = tx.InsertEvent(Inbound(conv, 1, "m1")); !r) return r;
    return tx.InsertEvent(Outbound(conv, 2, 1, "m2"));  // outbound ids do not count
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto seen = [](std::string conn, std::string mid) {
    return [conn, mid](Tx& tx) { return tx.InboundMessageSeen(conn, mid); };
  };
  auto s1 = seen("conn-1", "m1");
  auto s2 = seen("conn-1", "m2");
  auto s3 = seen("conn-2", "m1");
  EXPECT_EQ(Read<bool>(*store, s1), true);
  EXPECT_EQ(Read<bool>(*store, s2), false);
  EXPECT_EQ(Read<bool>(*store, s3), false);
  // The unique index refuses a second inbound event with the same message id.
  auto again = [&](Tx& tx) { return tx.InsertEvent(Inbound(conv, 3, "m1")); };
  auto r = Write<void>(*store, again);
  EXPECT_FALSE(r);
}

TEST_F(SqliteStoreTest, OneOpenConversationPerCustomer) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto first = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
  ASSERT_TRUE(Write<void>(*store, first));
  auto second = [](Tx& tx) { return tx.InsertConversation(Conversation("v2", "conn", "cust")); };
  EXPECT_FALSE(Write<void>(*store, second));
  auto end_first = [](Tx& tx) -> Result<void> {
    ConversationRecord c = Conversation("v1", "conn", "cust");
    c.state = "ended";
    c.ended_at_ms = 5;
    return tx.UpdateConversation(c);
  };
  ASSERT_TRUE(Write<void>(*store, end_first));
  EXPECT_TRUE(Write<void>(*store, second));
  auto find = [](Tx& tx) { return tx.FindOpenConversation("conn", "cust"); };
  auto open = Read<std::optional<ConversationRecord>>(*store, find);
  ASSERT_TRUE(open && *open);
  EXPECT_EQ((*open)->id, "v2");
}

TEST_F(SqliteStoreTest, DeliveriesPendingInSeqOrderAndUpdated) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  ConversationRecord a = Conversation("a", "conn", "ca");
  ConversationRecord b = Conversation("b", "conn", "cb");
  auto setup = [&](Tx& tx) -> Result<void> {
    for (const auto* c : {&a, &b})
      if (auto r = tx.InsertConversation(*c); !r) return r;
    // Inserted out of order on purpose.
    for (int seq : {3, 1, 2}) {
      if (auto r = tx.InsertEvent(Outbound(a, seq, seq, "a" + std::to_string(seq))); !r) return r;
      if (auto r = tx.InsertEvent(Outbound(b, seq, seq, "b" + std::to_string(seq))); !r) return r;
    }
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto pending_job = [](Tx& tx) { return tx.PendingDeliveries(); };
  auto pending = Read<std::vector<DeliveryRecord>>(*store, pending_job);
  ASSERT_TRUE(pending);
  std::vector<std::string> ids;
  for (const auto& d : *pending) ids.push_back(*d.event.event_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a1", "a2", "a3", "b1", "b2", "b3"}));
  EXPECT_EQ((*pending)[0].customer_id, "ca");

  auto update = [&](Tx& tx) -> Result<void> {
    EventRecord e = Outbound(a, 1, 1, "a1");
    e.delivery_status = "delivered";
    e.attempts = 2;
    e.delivered_at_ms = 9999;
    e.next_attempt_at_ms.reset();
    if (auto r = tx.UpdateDelivery(e); !r) return r;
    EventRecord f = Outbound(b, 1, 1, "b1");
    f.attempts = 1;
    f.last_error = "the webhook answered 500";
    return tx.UpdateDelivery(f);
  };
  ASSERT_TRUE(Write<void>(*store, update));
  auto get = [](Tx& tx) { return tx.GetDelivery("a1"); };
  auto a1 = Read<std::optional<DeliveryRecord>>(*store, get);
  ASSERT_TRUE(a1 && *a1);
  EXPECT_EQ((*a1)->event.delivery_status, "delivered");
  EXPECT_EQ((*a1)->event.attempts, 2);
  EXPECT_EQ((*a1)->event.delivered_at_ms, 9999);
  auto failed_job = [](Tx& tx) {
    DeliveryFilter f;
    f.connection_id = "conn";
    f.status = "failed";
    return tx.ListDeliveries(f);
  };
  auto failed = Read<std::vector<DeliveryRecord>>(*store, failed_job);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ(failed->front().event.event_id, "b1");
  EXPECT_EQ(failed->front().event.last_error, "the webhook answered 500");
  auto pending2 = Read<std::vector<DeliveryRecord>>(*store, pending_job);
  ASSERT_TRUE(pending2);
  EXPECT_EQ(pending2->size(), 5u);
}

TEST_F(SqliteStoreTest, SecretsSealedAtRestWithMasterKey) {
  const std::string secret = "THE-PLAIN-SECRET-abcdefghijklmnopqrstuvwxyz0123";
  const std::string previous = "THE-OLD-SECRET-abcdefghijklmnopqrstuvwxyz01234567";
  {
    auto store = OpenSqlite(Path(), std::string(kMasterKey));
    ASSERT_TRUE(store);
    auto insert = [&](Tx& tx) {
      ConnectionRecord c = Conn("id", "sealed", secret);
      c.previous_secret = previous;
      c.previous_secret_valid_until_ms = 77;
      return tx.InsertConnection(c);
    };
    ASSERT_TRUE(Write<void>(*store, insert));
    auto get = [](Tx& tx) { return tx.GetConnection("id"); };
    auto c = Read<std::optional<ConnectionRecord>>(*store, get);
    ASSERT_TRUE(c && *c) << (c ? "absent" : c.error().message);
    EXPECT_EQ((*c)->secret, secret);
    EXPECT_EQ((*c)->previous_secret, previous);
  }
  auto raw = RawColumn(Path(), "SELECT secret FROM connections");
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_TRUE(raw[0].starts_with("sealed:")) << raw[0];
  EXPECT_EQ(raw[0].find(secret), std::string::npos);
  auto raw_prev = RawColumn(Path(), "SELECT previous_secret FROM connections");
  ASSERT_EQ(raw_prev.size(), 1u);
  EXPECT_TRUE(raw_prev[0].starts_with("sealed:"));
  EXPECT_EQ(raw_prev[0].find(previous), std::string::npos);
  // Nowhere else in the file either (WAL checkpointed on close).
  std::ifstream file(Path(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find(secret), std::string::npos);
}

TEST_F(SqliteStoreTest, WithoutKeySecretsAreMarkedPlain) {
  {
    auto store = OpenSqlite(Path());
    ASSERT_TRUE(store);
    auto insert = [](Tx& tx) { return tx.InsertConnection(Conn("id", "n", "s3cr3t")); };
    ASSERT_TRUE(Write<void>(*store, insert));
  }
  EXPECT_EQ(RawColumn(Path(), "SELECT secret FROM connections"),
            std::vector<std::string>{"plain:s3cr3t"});
}

TEST_F(SqliteStoreTest, WrongOrMissingKeyRefusedOnRead) {
  {
    auto store = OpenSqlite(Path(), std::string(kMasterKey));
    ASSERT_TRUE(store);
    auto insert = [](Tx& tx) { return tx.InsertConnection(Conn("id", "n", "s3cr3t-value")); };
    ASSERT_TRUE(Write<void>(*store, insert));
  }
  auto get = [](Tx& tx) { return tx.GetConnection("id"); };
  auto list = [](Tx& tx) { return tx.ListConnections(); };
  {
    auto store = OpenSqlite(Path(), "ffffffffffffffffffffffffffffffff");
    ASSERT_TRUE(store);
    auto c = Read<std::optional<ConnectionRecord>>(*store, get);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, "master_key_mismatch");
    auto all = Read<std::vector<ConnectionRecord>>(*store, list);
    EXPECT_FALSE(all);
  }
  {
    auto store = OpenSqlite(Path());
    ASSERT_TRUE(store);
    auto c = Read<std::optional<ConnectionRecord>>(*store, get);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, "master_key_required");
  }
}

TEST(SecretBoxTest, ParseKeyForms) {
  auto hex = SecretBox::ParseKey(std::string(64, 'a'));
  ASSERT_TRUE(hex);
  EXPECT_EQ(hex->size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>((*hex)[0]), 0xaa);
  auto b64 = SecretBox::ParseKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  ASSERT_TRUE(b64);
  EXPECT_EQ(*b64, std::string(32, '\0'));
  EXPECT_FALSE(SecretBox::ParseKey("short"));
  EXPECT_FALSE(SecretBox::ParseKey(std::string(63, 'a')));
  EXPECT_FALSE(SecretBox::ParseKey(std::string(64, 'z')));
}

TEST(SecretBoxTest, SealOpenRoundTripAndFreshNonces) {
  SecretBox box{std::string(kMasterKey)};
  std::string a = box.Seal("secret");
  std::string b = box.Seal("secret");
  EXPECT_NE(a, b);
  EXPECT_EQ(box.Open(a), "secret");
  EXPECT_EQ(box.Open(b), "secret");
  std::string tampered = a;
  // A character in the middle (the last one may carry only padding bits).
  tampered[20] = tampered[20] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box.Open(tampered));
  EXPECT_FALSE(box.Open("garbage"));
  EXPECT_FALSE(box.Open("sealed:!!"));
  EXPECT_EQ(SecretBox("").Open("plain:x"), "x");
}

TEST_F(SqliteStoreTest, FullQueueRefusedWithUnavailable) {
  SqliteStoreOptions options;
  options.max_queued_jobs = 3;
  auto store = OpenSqlite(Path(), "", options);
  ASSERT_TRUE(store);
  std::atomic<int> done{0};
  {
    WriterGate gate(*store);  // the gate's job is taken; the queue is empty again
    for (int i = 0; i < 3; ++i)
      EXPECT_TRUE(store->SubmitWrite([](Tx&) { return true; }, [&](bool, Handoff&) { ++done; }))
          << i;
    EXPECT_FALSE(
        store->SubmitWrite([](Tx&) { return true; }, [](bool, Handoff&) { ADD_FAILURE(); }));
    auto job = [](Tx&) -> Result<int> { return 1; };
    auto r = Write<int>(*store, job);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().errc, Errc::kUnavailable);
    EXPECT_EQ(HttpStatus(r.error().errc), 503);
    // Reads have their own queue.
    auto read = [](Tx& tx) { return tx.ListConnections(); };
    EXPECT_TRUE(Read<std::vector<ConnectionRecord>>(*store, read));
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == 3; }));
  // Once drained, writes are accepted again.
  auto job = [](Tx&) -> Result<int> { return 2; };
  EXPECT_EQ(Write<int>(*store, job), 2);
}

TEST_F(SqliteStoreTest, OpenStoreUrls) {
  auto bad = OpenStore("mysql://x", "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_database");
  // PostgreSQL URLs are read by libpq: a bad one is refused before any connection, an
  // unreachable server fails the open (port 1 on loopback refuses at once).
  auto bad_pg = OpenStore("postgresql://127.0.0.1/parley?nonsense=1", "");
  ASSERT_FALSE(bad_pg);
  EXPECT_EQ(bad_pg.error().code, "invalid_database");
  auto pg = OpenStore("postgres://127.0.0.1:1/parley", "");
  ASSERT_FALSE(pg);
  EXPECT_EQ(pg.error().code, "store_open_failed");
  EXPECT_FALSE(OpenStore("sqlite://", ""));
  auto file = OpenStore("sqlite://" + Path(), "");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE((*file)->Ready());
}

// Lists page by keys: (created_at, event_id) for deliveries, (updated_at, id) for
// conversations, newest first, ties broken by id; a page starts strictly after its cursor.
TEST_F(SqliteStoreTest, ListsPageByKeysNewestFirst) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) -> Result<void> {
    // Conversations c1..c5; c3 and c4 share an update time, so the id breaks the tie.
    const int64_t updated[] = {100, 300, 200, 200, 50};
    for (int i = 1; i <= 5; ++i) {
      ConversationRecord c =
          Conversation("c" + std::to_string(i), "conn", "cust" + std::to_string(i));
      c.updated_at_ms = updated[i - 1];
      if (auto r = tx.InsertConversation(c); !r) return r;
    }
    ConversationRecord c1 = Conversation("c1", "conn", "cust1");
    // Deliveries d1..d5 at positions 1..5 (created 2001..2005), plus d6 created with d5.
    for (int i = 1; i <= 5; ++i)
      if (auto r = tx.InsertEvent(Outbound(c1, i, i, "d" + std::to_string(i))); !r) return r;
    EventRecord d6 = Outbound(c1, 6, 6, "d6");
    d6.created_at_ms = 2005;
    return tx.InsertEvent(d6);
  };
  ASSERT_TRUE(Write<void>(*store, setup));

  // The ids a list job returns, in order.
  auto ids = [&](const auto& job, const auto& id_of) {
    using List = typename std::invoke_result_t<decltype(job), Tx&>::value_type;
    auto r = Read<List>(*store, job);
    EXPECT_TRUE(r);
    std::vector<std::string> out;
    if (r)
      for (const auto& x : *r) out.push_back(id_of(x));
    return out;
  };
  auto conversations = [&](std::optional<ListCursor> after) {
    auto job = [after](Tx& tx) {
      ConversationFilter f;
      f.limit = 2;
      f.after = after;
      return tx.ListConversations(f);
    };
    return ids(job, [](const ConversationRecord& c) { return c.id; });
  };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(conversations(std::nullopt), (Ids{"c2", "c4"}));
  EXPECT_EQ(conversations(ListCursor{200, "c4"}), (Ids{"c3", "c1"}));
  EXPECT_EQ(conversations(ListCursor{100, "c1"}), (Ids{"c5"}));
  EXPECT_EQ(conversations(ListCursor{50, "c5"}), Ids{});

  auto deliveries = [&](std::optional<ListCursor> after) {
    auto job = [after](Tx& tx) {
      DeliveryFilter f;
      f.connection_id = "conn";
      f.limit = 4;
      f.after = after;
      return tx.ListDeliveries(f);
    };
    return ids(job, [](const DeliveryRecord& d) { return *d.event.event_id; });
  };
  EXPECT_EQ(deliveries(std::nullopt), (Ids{"d6", "d5", "d4", "d3"}));
  EXPECT_EQ(deliveries(ListCursor{2005, "d5"}), (Ids{"d4", "d3", "d2", "d1"}));
  EXPECT_EQ(deliveries(ListCursor{2002, "d2"}), (Ids{"d1"}));
}

// SQLite's words and the SQL text stay in the log; callers get a sentence without internals.
TEST_F(SqliteStoreTest, StoreErrorsKeepSqlOutOfTheirMessage) {
  auto db = sqlite::Db::Open(Path());
  ASSERT_TRUE(db);
  for (auto r : {(*db)->Exec("SELEC nonsense FROM nowhere"),
                 (*db)->ExecCached("INSERT INTO no_such_table VALUES (1)")}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "store_error");
    EXPECT_EQ(r.error().errc, Errc::kInternal);
    for (const char* internal : {"SELEC", "syntax", "no_such_table", "INSERT", "SQL"})
      EXPECT_EQ(r.error().message.find(internal), std::string::npos) << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
  }
}

}  // namespace
}  // namespace parley::storage

// The SQLite store: migrations, group commit with a savepoint per job, durability, idempotency
// of inbound messages, sealed secrets, and the bounded queue.

#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <future>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "storage/migrations.hpp"
#include "storage/sqlite/db.hpp"
#include "test_support.hpp"

namespace parley::storage {
namespace {

using parley::testing::Await;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;
using parley::testing::WaitFor;
using sqlite::SqliteStore;
using sqlite::SqliteStoreOptions;

constexpr std::string_view kMasterKey = "0123456789abcdef0123456789abcdef";  // 32 bytes

ConnectionRecord Conn(std::string id, std::string name, std::string secret = "plain-secret-value") {
  ConnectionRecord c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.client_webhook = "https://hooks.example/x";
  c.bot = "echo";
  c.secret = std::move(secret);
  c.created_at_ms = c.updated_at_ms = 1000;
  return c;
}

ConversationRecord Conversation(std::string id, std::string connection_id, std::string customer) {
  ConversationRecord c;
  c.id = std::move(id);
  c.connection_id = std::move(connection_id);
  c.customer_id = std::move(customer);
  c.state = "bot";
  c.owner = "bot";
  c.created_at_ms = c.updated_at_ms = 1000;
  return c;
}

EventRecord Inbound(const ConversationRecord& conv, int64_t position, std::string message_id) {
  EventRecord e;
  e.conversation_id = conv.id;
  e.position = position;
  e.connection_id = conv.connection_id;
  e.direction = "in";
  e.seq = position;
  e.sender = "customer";
  e.type = "text";
  e.message_id = std::move(message_id);
  e.payload_json = R"({"type":"text","text":["x"]})";
  e.created_at_ms = 1000 + position;
  return e;
}

EventRecord Outbound(const ConversationRecord& conv, int64_t position, int64_t seq,
                     std::string event_id) {
  EventRecord e;
  e.conversation_id = conv.id;
  e.position = position;
  e.connection_id = conv.connection_id;
  e.direction = "out";
  e.seq = seq;
  e.sender = "bot";
  e.type = "text";
  e.event_id = event_id;
  e.message_id = event_id;
  e.payload_json = R"({"type":"text","text":["y"]})";
  e.created_at_ms = 2000 + position;
  e.delivery_status = "pending";
  e.next_attempt_at_ms = e.created_at_ms;
  return e;
}

// Runs one SQL query returning a single text/int column on a fresh, raw connection.
std::vector<std::string> RawColumn(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(s) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(s, 0);
      out.emplace_back(t ? reinterpret_cast<const char*>(t) : "<null>");
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// Blocks the writer thread until released, so the jobs queued meanwhile share one batch.
class WriterGate {
 public:
  explicit WriterGate(Store& store) {
    auto started = started_;
    std::shared_future<void> release = release_.get_future().share();
    bool queued = store.SubmitWrite(
        [started, release](Tx&) {
          *started = true;
          release.wait();
          return true;
        },
        [](bool) {});
    EXPECT_TRUE(queued);
    EXPECT_TRUE(WaitFor([started] { return started->load(); }));
  }
  ~WriterGate() { Open(); }
  void Open() {
    if (!opened_) {
      opened_ = true;
      release_.set_value();
    }
  }

 private:
  std::promise<void> release_;
  std::shared_ptr<std::atomic<bool>> started_ = std::make_shared<std::atomic<bool>>(false);
  bool opened_ = false;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.File("parley.db"); }

  template <class T, class F>
  Result<T> Write(Store& store, const F& job) {
    return Await(io_, store.Write<T>(job));
  }
  template <class T, class F>
  Result<T> Read(Store& store, const F& job) {
    return Await(io_, store.Read<T>(job));
  }

  size_t CountConnections(Store& store) {
    auto list = [](Tx& tx) { return tx.ListConnections(); };
    auto r = Read<std::vector<ConnectionRecord>>(store, list);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->size() : 0;
  }

  TempDir dir_;
  boost::asio::io_context io_;
};

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
      [&](bool committed) {
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
  auto done = [&](bool committed) {
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
              [&](bool ok) {
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
        [&](bool ok) { done += ok ? 1 : 0; }));
  store->Close();
  EXPECT_EQ(done.load(), 50);
  EXPECT_FALSE(store->Ready());
  EXPECT_FALSE(store->SubmitWrite([](Tx&) { return true; }, [](bool) { ADD_FAILURE(); }));
  EXPECT_FALSE(store->SubmitRead([](Tx&) { return true; }, [](bool) { ADD_FAILURE(); }));
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
      EXPECT_TRUE(store->SubmitWrite([](Tx&) { return true; }, [&](bool) { ++done; })) << i;
    EXPECT_FALSE(store->SubmitWrite([](Tx&) { return true; }, [](bool) { ADD_FAILURE(); }));
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
  auto pg = OpenStore("postgres://localhost/parley", "");
  ASSERT_FALSE(pg);
  EXPECT_EQ(pg.error().code, "unsupported_database");
  EXPECT_FALSE(OpenStore("sqlite://", ""));
  auto file = OpenStore("sqlite://" + Path(), "");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE((*file)->Ready());
}

}  // namespace
}  // namespace parley::storage

namespace parley::storage {
namespace {

// The writer keeps open conversations in memory; work a job rolls back must not survive there.
TEST_F(SqliteStoreTest, RolledBackJobLeavesNoTraceInTheConversationCache) {
  auto store = OpenSqlite(Path());
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto advance_then_fail = [](Tx& tx) -> Result<void> {
    auto found = tx.FindOpenConversation("conn", "cust");
    if (!found || !*found) return Fail(Errc::kInternal, "missing", "No conversation.");
    ConversationRecord c = **found;
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
    auto found = tx.FindOpenConversation("conn", "cust");
    if (!found || !*found) return Fail(Errc::kInternal, "missing", "No conversation.");
    ConversationRecord c = **found;
    ++c.last_in_seq;
    ++c.last_position;
    c.customer_name = "Ann";
    return tx.UpdateConversation(c);
  };
  ASSERT_TRUE(Write<void>(*store, turn));
  ASSERT_TRUE(Write<void>(*store, turn));
  auto escalate = [](Tx& tx) -> Result<void> {
    auto found = tx.FindOpenConversation("conn", "cust");
    if (!found || !*found) return Fail(Errc::kInternal, "missing", "No conversation.");
    ConversationRecord c = **found;
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
    auto found = tx.FindOpenConversation("conn", "cust");
    if (!found || !*found) return Fail(Errc::kInternal, "missing", "No conversation.");
    ConversationRecord c = **found;
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

// Checkpoints run beside the writer; the WAL must not grow without bound under steady writes.
TEST_F(SqliteStoreTest, WalStaysBoundedUnderSteadyWrites) {
  SqliteStoreOptions options;
  options.checkpoint_frames = 20;
  auto store = OpenSqlite(Path(), "", options);
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
  ASSERT_TRUE(Write<void>(*store, setup));
  for (int i = 1; i <= 400; ++i) {
    auto insert = [i](Tx& tx) {
      return tx.InsertEvent(
          Inbound(Conversation("v1", "conn", "cust"), i, "m" + std::to_string(i)));
    };
    ASSERT_TRUE(Write<void>(*store, insert));
  }
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

// One contract for every Store: the same cases run against the SQLite store and, under
// scripts/test-postgres (ctest label `postgres`), against the PostgreSQL store. What a caller
// may rely on is tested here once; what only one engine has (the SQLite writer's cache and
// checkpoints, PostgreSQL's nodes sharing one database) is tested in that store's own file.

#include <sqlite3.h>

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <thread>

#include "pg_test_support.hpp"
#include "sqlite_store_fixture.hpp"
#include "storage/migrations.hpp"

namespace parley::storage {
namespace {

using parley::testing::OpenPg;
using parley::testing::PgColumn;
using parley::testing::PgSchema;
using parley::testing::TestPgUrl;
using postgres::PgStoreOptions;

std::vector<std::string> StoreKinds() {
  std::vector<std::string> kinds{"sqlite"};
  if (TestPgUrl()) kinds.push_back("postgres");
  return kinds;
}

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool Postgres() const { return GetParam() == "postgres"; }

  std::unique_ptr<Store> Open(std::string key = std::string(kMasterKey),
                              size_t max_queued_jobs = 20000) {
    if (Postgres()) {
      PgStoreOptions o;
      o.max_queued_jobs = max_queued_jobs;
      return OpenPg(schema_->Url(), std::move(key), o);
    }
    SqliteStoreOptions o;
    o.max_queued_jobs = max_queued_jobs;
    return OpenSqlite(dir_.File("parley.db"), std::move(key), o);
  }
  // Opens without failing the test: for the cases where opening must fail.
  Result<std::unique_ptr<Store>> TryOpen() {
    if (Postgres()) {
      auto info = postgres::ConnInfo(schema_->Url());
      if (!info) return Fail(info.error());
      auto s = postgres::PgStore::Open(*info, SecretBox(""));
      if (!s) return Fail(s.error());
      return std::unique_ptr<Store>(std::move(*s));
    }
    auto s = sqlite::SqliteStore::Open(dir_.File("parley.db"), SecretBox(""));
    if (!s) return Fail(s.error());
    return std::unique_ptr<Store>(std::move(*s));
  }
  // One column of a query run beside the store, on the raw database.
  std::vector<std::string> Raw(const std::string& sql) {
    if (Postgres()) return PgColumn(schema_->Url(), sql);
    return RawColumn(dir_.File("parley.db"), sql);
  }
  void RawWrite(const std::string& sql) {
    if (Postgres()) {
      PgColumn(schema_->Url(), sql);
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("parley.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  template <class T, class F>
  Result<T> Write(Store& store, const F& job) {
    return Await(io_, store.Write<T>(job));
  }
  template <class T, class F>
  Result<T> Read(Store& store, const F& job) {
    return Await(io_, store.Read<T>(job));
  }

  void SetUp() override {
    if (Postgres()) schema_.emplace();
  }

  TempDir dir_;
  std::optional<PgSchema> schema_;
  boost::asio::io_context io_;
};

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest, ::testing::ValuesIn(StoreKinds()),
                         [](const auto& info) { return info.param; });

TEST_P(StoreContractTest, OpensReadyAndMigratesOnce) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->Ready());
  }
  auto again = Open();  // reopening applies nothing twice
  ASSERT_TRUE(again);
  auto versions = Raw("SELECT version FROM schema_migrations ORDER BY version");
  const auto& all = Postgres() ? PostgresMigrations() : Migrations();
  ASSERT_EQ(versions.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(versions[i], std::to_string(all[i].version));
}

TEST_P(StoreContractTest, RefusesASchemaNewerThanItKnows) {
  { ASSERT_TRUE(Open()); }
  RawWrite("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)");
  auto store = TryOpen();
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, "schema_too_new");
  EXPECT_NE(store.error().message.find("9999"), std::string::npos) << store.error().message;
}

TEST_P(StoreContractTest, PostgresMigrationsTwinTheSqliteOnes) {
  // Every SQLite migration has a PostgreSQL twin of the same number, and no more.
  ASSERT_EQ(Migrations().size(), PostgresMigrations().size());
  for (size_t i = 0; i < Migrations().size(); ++i) {
    EXPECT_EQ(Migrations()[i].version, PostgresMigrations()[i].version);
    EXPECT_EQ(Migrations()[i].name, PostgresMigrations()[i].name);
  }
}

TEST_P(StoreContractTest, ConnectionsRoundTripWithSealedSecrets) {
  const std::string secret = "THE-PLAIN-SECRET-abcdefghijklmnopqrstuvwxyz0123";
  {
    auto store = Open();
    ASSERT_TRUE(store);
    auto insert = [&](Tx& tx) -> Result<void> {
      ConnectionRecord c = Conn("c1", "first", secret);
      c.previous_secret = "old-secret";
      c.previous_secret_valid_until_ms = 5000;
      if (auto r = tx.InsertConnection(c); !r) return r;
      return tx.InsertConnection(Conn("c2", "second"));
    };
    ASSERT_TRUE(Write<void>(*store, insert));
    auto taken = [](Tx& tx) { return tx.InsertConnection(Conn("c3", "first")); };
    auto r = Write<void>(*store, taken);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "name_taken");
    auto rename = [](Tx& tx) {
      ConnectionRecord c = Conn("c2", "first");
      return tx.UpdateConnection(c);
    };
    auto renamed = Write<void>(*store, rename);
    ASSERT_FALSE(renamed);
    EXPECT_EQ(renamed.error().code, "name_taken");
    auto update = [](Tx& tx) {
      ConnectionRecord c = Conn("c2", "second-renamed");
      c.enabled = false;
      c.updated_at_ms = 2000;
      return tx.UpdateConnection(c);
    };
    ASSERT_TRUE(Write<void>(*store, update));
    auto list = [](Tx& tx) { return tx.ListConnections(); };
    auto all = Read<std::vector<ConnectionRecord>>(*store, list);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].id, "c1");
    EXPECT_EQ((*all)[0].secret, secret);
    EXPECT_EQ((*all)[0].previous_secret, "old-secret");
    EXPECT_EQ((*all)[0].previous_secret_valid_until_ms, 5000);
    EXPECT_TRUE((*all)[0].enabled);
    EXPECT_EQ((*all)[1].name, "second-renamed");
    EXPECT_FALSE((*all)[1].enabled);
    EXPECT_EQ((*all)[1].updated_at_ms, 2000);
    auto del = [](Tx& tx) { return tx.DeleteConnection("c2"); };
    EXPECT_EQ(Write<bool>(*store, del), true);
    EXPECT_EQ(Write<bool>(*store, del), false);
  }
  // Sealed at rest: the stored text is not the secret, and a store without the key refuses
  // to read it (rather than hand out ciphertext as a secret).
  auto stored = Raw("SELECT secret FROM connections WHERE id = 'c1'");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_TRUE(stored[0].starts_with("sealed:")) << stored[0];
  EXPECT_EQ(stored[0].find(secret), std::string::npos);
  auto keyless = Open("");
  ASSERT_TRUE(keyless);
  auto get = [](Tx& tx) { return tx.GetConnection("c1"); };
  EXPECT_FALSE(Read<std::optional<ConnectionRecord>>(*keyless, get));
}

TEST_P(StoreContractTest, ConversationsOnePerCustomerWhileOpen) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto insert = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
  ASSERT_TRUE(Write<void>(*store, insert));
  auto twin = [](Tx& tx) { return tx.InsertConversation(Conversation("v2", "conn", "cust")); };
  auto r = Write<void>(*store, twin);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kConflict);
  auto other = [](Tx& tx) { return tx.InsertConversation(Conversation("v3", "conn2", "cust")); };
  ASSERT_TRUE(Write<void>(*store, other));

  auto update = [](Tx& tx) -> Result<void> {
    auto c = tx.FindOpenConversation("conn", "cust");
    if (!c) return Fail(c.error());
    if (!*c) return Fail(Errc::kNotFound, "missing", "no open conversation");
    ConversationRecord v = **c;
    v.customer_name = "Ann";
    v.context_json = R"({"lang":"en"})";
    v.dialog_state_json = R"({"node":"start"})";
    v.last_in_seq = 4;
    v.last_out_seq = 2;
    v.last_position = 6;
    v.updated_at_ms = 5000;
    v.last_customer_at_ms = 4900;
    v.state = "queued";
    v.owner = "queue:sales";
    v.routing.queue = "sales";
    v.routing.queued_at_ms = 4000;
    v.routing.idle_reminded = true;
    v.routing.declined_by_json = R"(["bob"])";
    return tx.UpdateConversation(v);
  };
  ASSERT_TRUE(Write<void>(*store, update));
  auto get = [](Tx& tx) { return tx.GetConversation("v1"); };
  auto v = Read<std::optional<ConversationRecord>>(*store, get);
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->customer_name, "Ann");
  EXPECT_EQ((*v)->context_json, R"({"lang":"en"})");
  EXPECT_EQ((*v)->dialog_state_json, R"({"node":"start"})");
  EXPECT_EQ((*v)->last_in_seq, 4);
  EXPECT_EQ((*v)->last_out_seq, 2);
  EXPECT_EQ((*v)->last_position, 6);
  EXPECT_EQ((*v)->updated_at_ms, 5000);
  EXPECT_EQ((*v)->last_customer_at_ms, 4900);
  EXPECT_EQ((*v)->state, "queued");
  EXPECT_EQ((*v)->routing.queue, "sales");
  EXPECT_EQ((*v)->routing.queued_at_ms, 4000);
  EXPECT_TRUE((*v)->routing.idle_reminded);
  EXPECT_EQ((*v)->routing.declined_by_json, R"(["bob"])");
  EXPECT_FALSE((*v)->routing.agent);

  // Once ended, the customer may open a new one.
  auto end = [](Tx& tx) -> Result<void> {
    auto c = tx.GetConversation("v1");
    if (!c || !*c) return Fail(Errc::kNotFound, "missing", "gone");
    ConversationRecord e = **c;
    e.state = "ended";
    e.ended_at_ms = 6000;
    e.routing.ended_by = "customer";
    if (auto r = tx.UpdateConversation(e); !r) return r;
    return tx.InsertConversation(Conversation("v4", "conn", "cust"));
  };
  ASSERT_TRUE(Write<void>(*store, end));
  auto find = [](Tx& tx) { return tx.FindOpenConversation("conn", "cust"); };
  auto open = Read<std::optional<ConversationRecord>>(*store, find);
  ASSERT_TRUE(open && *open);
  EXPECT_EQ((*open)->id, "v4");
}

TEST_P(StoreContractTest, ConversationListsPageByKeys) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) -> Result<void> {
    for (int i = 0; i < 5; ++i) {
      ConversationRecord c = Conversation("v" + std::to_string(i), "conn", "c" + std::to_string(i));
      c.updated_at_ms = i < 2 ? 100 : 200 + i;  // v0, v1 share a time: ties go by id
      if (i == 4) c.state = "ended";
      if (auto r = tx.InsertConversation(c); !r) return r;
    }
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto page = [&](std::optional<ListCursor> after, std::optional<std::string> state) {
    auto job = [after, state](Tx& tx) {
      ConversationFilter f;
      f.limit = 2;
      f.after = after;
      f.state = state;
      return tx.ListConversations(f);
    };
    auto r = Read<std::vector<ConversationRecord>>(*store, job);
    std::vector<std::string> ids;
    if (r)
      for (const auto& c : *r) ids.push_back(c.id);
    return ids;
  };
  EXPECT_EQ(page(std::nullopt, std::nullopt), (std::vector<std::string>{"v4", "v3"}));
  EXPECT_EQ(page(ListCursor{203, "v3"}, std::nullopt), (std::vector<std::string>{"v2", "v1"}));
  EXPECT_EQ(page(ListCursor{100, "v1"}, std::nullopt), (std::vector<std::string>{"v0"}));
  EXPECT_EQ(page(std::nullopt, std::string("ended")), (std::vector<std::string>{"v4"}));
}

TEST_P(StoreContractTest, InboundIdempotencyByMessageIdPerConnection) {
  auto store = Open();
  ASSERT_TRUE(store);
  ConversationRecord v = Conversation("v1", "conn", "cust");
  auto setup = [&](Tx& tx) -> Result<void> {
    if (auto r = tx.InsertConversation(v); !r) return r;
    return tx.InsertEvent(Inbound(v, 1, "m1"));
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto seen = [](std::string conn, std::string id) {
    return [conn, id](Tx& tx) { return tx.InboundMessageSeen(conn, id); };
  };
  EXPECT_EQ(Read<bool>(*store, seen("conn", "m1")), true);
  EXPECT_EQ(Read<bool>(*store, seen("conn", "m2")), false);
  EXPECT_EQ(Read<bool>(*store, seen("other", "m1")), false);
  // A second event with the same message id is refused, and only that job fails.
  auto dup = [&](Tx& tx) { return tx.InsertEvent(Inbound(v, 2, "m1")); };
  auto r = Write<void>(*store, dup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kConflict);
  auto next = [&](Tx& tx) { return tx.InsertEvent(Inbound(v, 2, "m2")); };
  EXPECT_TRUE(Write<void>(*store, next));
  auto transcript = [](Tx& tx) { return tx.Transcript("v1"); };
  auto t = Read<std::vector<EventRecord>>(*store, transcript);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[1].message_id, "m2");
}

// What the conversation layer does for each inbound message: read the open conversation,
// number the message after it, record both. Run from many threads at once.
Result<int64_t> TakeTurn(Tx& tx, const std::string& message_id, int64_t now) {
  auto found = tx.FindOpenConversation("conn", "cust");
  if (!found) return Fail(found.error());
  if (!*found) return Fail(Errc::kNotFound, "missing", "no conversation");
  auto seen = tx.InboundMessageSeen("conn", message_id);
  if (!seen) return Fail(seen.error());
  if (*seen) return int64_t{0};
  ConversationRecord c = **found;
  c.last_in_seq += 1;
  c.last_position += 1;
  c.updated_at_ms = now;
  EventRecord e = Inbound(c, c.last_position, message_id);
  e.seq = c.last_in_seq;
  if (auto r = tx.InsertEvent(e); !r) return Fail(r.error());
  if (auto r = tx.UpdateConversation(c); !r) return Fail(r.error());
  return c.last_in_seq;
}

TEST_P(StoreContractTest, SeqWithoutGapsUnderConcurrentWrites) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
  ASSERT_TRUE(Write<void>(*store, setup));
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      boost::asio::io_context io;
      for (int i = 0; i < kEach; ++i) {
        // Every message is sent twice: the second is a duplicate and must not be numbered.
        for (int twice = 0; twice < 2; ++twice) {
          std::string id = "m" + std::to_string(t) + "-" + std::to_string(i);
          auto job = [id, i](Tx& tx) { return TakeTurn(tx, id, 1000 + i); };
          auto r = Await(io, store->Write<int64_t>(job));
          if (!r) ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto seqs = Raw("SELECT seq FROM events WHERE conversation_id = 'v1' ORDER BY seq");
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kEach));
  for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], std::to_string(i + 1));
}

TEST_P(StoreContractTest, FailingJobRollsBackOnlyItselfAndResultsFollowCommitOrder) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> done{0};
  std::atomic<int> committed{0};
  {
    WriterGate gate(*store);  // the jobs below are queued together: one group commit
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(store->SubmitWrite(
          [i](Tx& tx) -> bool {
            std::string id = "c" + std::to_string(i);
            bool inserted = tx.InsertConnection(Conn(id, id)).has_value();
            if (i == 2) return false;                         // asks for a rollback
            if (i == 3) throw std::runtime_error("job bug");  // a bug in the job
            if (i == 4) return tx.InsertConnection(Conn("x", "c0")).has_value();  // name taken
            return inserted;
          },
          [&, i](bool ok, Handoff&) {
            std::lock_guard lock(mu);
            order.push_back(i);
            committed += ok ? 1 : 0;
            ++done;
          }));
    }
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == 6; }));
  EXPECT_EQ(committed.load(), 6);  // the batch committed...
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  // ...with only the successful jobs' writes in it.
  EXPECT_EQ(Raw("SELECT id FROM connections ORDER BY id"),
            (std::vector<std::string>{"c0", "c1", "c5"}));
}

TEST_P(StoreContractTest, AfterCommitRunsInCommitOrderBeforeTheResult) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<int> published;  // written on the store's writer thread
  std::atomic<int> resumed{0};
  boost::asio::io_context io;
  constexpr int kJobs = 40;
  for (int i = 0; i < kJobs; ++i) {
    auto job = [i](Tx& tx) -> Result<int> {
      std::string id = "c" + std::to_string(i);
      if (auto r = tx.InsertConnection(Conn(id, id)); !r) return Fail(r.error());
      return i;
    };
    boost::asio::co_spawn(
        io,
        [&, job]() -> boost::asio::awaitable<void> {
          auto r = co_await store->Write<int>(job, [&](int& v) {
            std::lock_guard lock(mu);
            published.push_back(v);
          });
          // The publication happened before the coroutine resumed with the result.
          EXPECT_TRUE(r);
          if (r) {
            std::lock_guard lock(mu);
            EXPECT_NE(std::find(published.begin(), published.end(), *r), published.end());
          }
          ++resumed;
        },
        boost::asio::detached);
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (resumed.load() < kJobs && std::chrono::steady_clock::now() < until)
    io.run_one_for(std::chrono::milliseconds(5));
  ASSERT_EQ(resumed.load(), kJobs);
  // Submitted in order from one thread: committed, and published, in that order.
  std::vector<int> expected(kJobs);
  for (int i = 0; i < kJobs; ++i) expected[i] = i;
  std::lock_guard lock(mu);
  EXPECT_EQ(published, expected);
}

TEST_P(StoreContractTest, FullQueueFailsAtOnceWithUnavailable) {
  auto store = Open("", 3);
  ASSERT_TRUE(store);
  std::atomic<int> done{0};
  {
    WriterGate gate(*store);
    for (int i = 0; i < 3; ++i)
      EXPECT_TRUE(store->SubmitWrite([](Tx&) { return true; }, [&](bool, Handoff&) { ++done; }));
    EXPECT_FALSE(
        store->SubmitWrite([](Tx&) { return true; }, [](bool, Handoff&) { ADD_FAILURE(); }));
    auto job = [](Tx&) -> Result<int> { return 1; };
    auto r = Write<int>(*store, job);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().errc, Errc::kUnavailable);
    EXPECT_EQ(HttpStatus(r.error().errc), 503);
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == 3; }));
  auto job = [](Tx&) -> Result<int> { return 2; };
  EXPECT_EQ(Write<int>(*store, job), 2);
}

TEST_P(StoreContractTest, CommittedWritesSurviveAReopen) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    auto job = [](Tx& tx) { return tx.InsertConnection(Conn("c1", "kept")); };
    ASSERT_TRUE(Write<void>(*store, job));
    store->Close();
    EXPECT_FALSE(store->Ready());
    EXPECT_FALSE(store->SubmitWrite([](Tx&) { return true; }, [](bool, Handoff&) {}));
  }
  auto store = Open();
  ASSERT_TRUE(store);
  auto get = [](Tx& tx) { return tx.GetConnection("c1"); };
  auto c = Read<std::optional<ConnectionRecord>>(*store, get);
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->name, "kept");
}

TEST_P(StoreContractTest, DeliveriesPendingInOrderUpdatedAndListed) {
  auto store = Open();
  ASSERT_TRUE(store);
  ConversationRecord a = Conversation("a", "conn", "ca");
  ConversationRecord b = Conversation("b", "conn", "cb");
  auto setup = [&](Tx& tx) -> Result<void> {
    for (const auto* c : {&a, &b})
      if (auto r = tx.InsertConversation(*c); !r) return r;
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
    f.retry_from_ms = 7777;
    if (auto r = tx.UpdateDelivery(f); !r) return r;
    EventRecord g = Outbound(b, 2, 2, "b2");
    g.delivery_status = "dead";
    return tx.UpdateDelivery(g);
  };
  ASSERT_TRUE(Write<void>(*store, update));
  auto get = [](Tx& tx) { return tx.GetDelivery("a1"); };
  auto a1 = Read<std::optional<DeliveryRecord>>(*store, get);
  ASSERT_TRUE(a1 && *a1);
  EXPECT_EQ((*a1)->event.delivery_status, "delivered");
  EXPECT_EQ((*a1)->event.attempts, 2);
  EXPECT_EQ((*a1)->event.delivered_at_ms, 9999);
  EXPECT_FALSE((*a1)->event.next_attempt_at_ms);
  auto list = [&](std::optional<std::string> status, std::optional<ListCursor> after = {}) {
    auto job = [status, after](Tx& tx) {
      DeliveryFilter f;
      f.connection_id = "conn";
      f.status = status;
      f.after = after;
      f.limit = 3;
      return tx.ListDeliveries(f);
    };
    auto r = Read<std::vector<DeliveryRecord>>(*store, job);
    std::vector<std::string> out;
    if (r)
      for (const auto& d : *r) out.push_back(*d.event.event_id);
    return out;
  };
  EXPECT_EQ(list("failed"), (std::vector<std::string>{"b1"}));
  EXPECT_EQ(list("dead"), (std::vector<std::string>{"b2"}));
  EXPECT_EQ(list("delivered"), (std::vector<std::string>{"a1"}));
  // Newest first by (created_at, event_id): a3 and b3 share 2003.
  EXPECT_EQ(list(std::nullopt), (std::vector<std::string>{"b3", "a3", "b2"}));
  EXPECT_EQ(list(std::nullopt, ListCursor{2002, "b2"}),
            (std::vector<std::string>{"a2", "b1", "a1"}));
  auto b1 =
      Read<std::optional<DeliveryRecord>>(*store, [](Tx& tx) { return tx.GetDelivery("b1"); });
  ASSERT_TRUE(b1 && *b1);
  EXPECT_EQ((*b1)->event.retry_from_ms, 7777);
  EXPECT_EQ((*b1)->event.last_error, "the webhook answered 500");
  auto pending2 = Read<std::vector<DeliveryRecord>>(*store, pending_job);
  ASSERT_TRUE(pending2);
  EXPECT_EQ(pending2->size(), 4u);
}

TEST_P(StoreContractTest, UsersAndSessions) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) -> Result<void> {
    UserRecord u;
    u.username = "ann";
    u.display_name = "Ann";
    u.role = "agent";
    u.queues = {"sales", "support"};
    u.max_chats = 4;
    u.password_hash = "$argon2id$x";
    u.created_at_ms = u.updated_at_ms = 10;
    if (auto r = tx.InsertUser(u); !r) return r;
    u.username = "bob";
    u.queues = {};
    if (auto r = tx.InsertUser(u); !r) return r;
    if (auto r = tx.InsertSession({"h1", "ann", "csrf1", 10, 10}); !r) return r;
    if (auto r = tx.InsertSession({"h2", "ann", "csrf2", 10, 50}); !r) return r;
    return tx.InsertSession({"h3", "bob", "csrf3", 10, 10});
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto dup = [](Tx& tx) {
    UserRecord u;
    u.username = "ann";
    u.display_name = "Other";
    u.role = "admin";
    u.password_hash = "x";
    return tx.InsertUser(u);
  };
  auto r = Write<void>(*store, dup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "user_exists");
  auto get = [](Tx& tx) { return tx.GetUser("ann"); };
  auto ann = Read<std::optional<UserRecord>>(*store, get);
  ASSERT_TRUE(ann && *ann);
  EXPECT_EQ((*ann)->queues, (std::vector<std::string>{"sales", "support"}));
  EXPECT_EQ((*ann)->max_chats, 4);
  EXPECT_TRUE((*ann)->enabled);
  auto update = [](Tx& tx) -> Result<void> {
    auto u = tx.GetUser("ann");
    if (!u || !*u) return Fail(Errc::kNotFound, "missing", "ann");
    UserRecord v = **u;
    v.enabled = false;
    v.queues = {"sales"};
    v.updated_at_ms = 20;
    if (auto r = tx.UpdateUser(v); !r) return r;
    if (auto r = tx.TouchSession("h1", 70); !r) return r;
    return tx.DeleteIdleSessions(60);  // h2 (50) goes; h1 was just used; h3 (10) goes
  };
  ASSERT_TRUE(Write<void>(*store, update));
  ann = Read<std::optional<UserRecord>>(*store, get);
  ASSERT_TRUE(ann && *ann);
  EXPECT_FALSE((*ann)->enabled);
  EXPECT_EQ((*ann)->updated_at_ms, 20);
  auto session = [](std::string h) { return [h](Tx& tx) { return tx.GetSession(h); }; };
  auto h1 = Read<std::optional<SessionRecord>>(*store, session("h1"));
  ASSERT_TRUE(h1 && *h1);
  EXPECT_EQ((*h1)->last_used_at_ms, 70);
  EXPECT_EQ((*h1)->csrf, "csrf1");
  EXPECT_FALSE(*Read<std::optional<SessionRecord>>(*store, session("h2")));
  EXPECT_FALSE(*Read<std::optional<SessionRecord>>(*store, session("h3")));
  auto del = [](Tx& tx) { return tx.DeleteUser("ann"); };
  EXPECT_EQ(Write<bool>(*store, del), true);
  EXPECT_EQ(Write<bool>(*store, del), false);
  EXPECT_FALSE(*Read<std::optional<SessionRecord>>(*store, session("h1")));  // with the user
  auto list = [](Tx& tx) { return tx.ListUsers(); };
  auto users = Read<std::vector<UserRecord>>(*store, list);
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ(users->front().username, "bob");
}

TEST_P(StoreContractTest, QueuesPresenceAndAgentEvents) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) -> Result<void> {
    QueueRecord q;
    q.name = "sales";
    q.display_name = "Sales";
    q.max_wait_s = 600;
    q.closed_text = "closed";
    if (auto r = tx.InsertQueue(q); !r) return r;
    q.name = "support";
    q.max_wait_s.reset();
    q.closed_text.reset();
    q.auto_accept = true;
    if (auto r = tx.InsertQueue(q); !r) return r;
    if (auto r = tx.PutPresence({"ann", "available", 1, true, std::nullopt, 5, 10, std::nullopt});
        !r)
      return r;
    if (auto r = tx.PutPresence({"ann", "away", 2, true, 99, 6, 11, std::nullopt}); !r)
      return r;  // replaces
    for (int i = 1; i <= 5; ++i)
      if (auto r = tx.InsertAgentEvent({"ann", i, "t", "{}", i * 100}); !r) return r;
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto dup = [](Tx& tx) {
    QueueRecord q;
    q.name = "sales";
    q.display_name = "x";
    return tx.InsertQueue(q);
  };
  auto r = Write<void>(*store, dup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "queue_exists");
  auto queues = Read<std::vector<QueueRecord>>(*store, [](Tx& tx) { return tx.ListQueues(); });
  ASSERT_TRUE(queues);
  ASSERT_EQ(queues->size(), 2u);
  EXPECT_EQ((*queues)[0].max_wait_s, 600);
  EXPECT_EQ((*queues)[0].closed_text, "closed");
  EXPECT_FALSE((*queues)[0].auto_accept);
  EXPECT_TRUE((*queues)[1].auto_accept);
  EXPECT_FALSE((*queues)[1].max_wait_s);
  auto presence =
      Read<std::optional<PresenceRecord>>(*store, [](Tx& tx) { return tx.GetPresence("ann"); });
  ASSERT_TRUE(presence && *presence);
  EXPECT_EQ((*presence)->status, "away");
  EXPECT_EQ((*presence)->streams, 2);
  EXPECT_TRUE((*presence)->online);
  EXPECT_EQ((*presence)->offline_due_at_ms, 99);
  EXPECT_EQ((*presence)->last_assigned_at_ms, 6);

  auto after = [](Tx& tx) { return tx.AgentEventsAfter("ann", 2, 2); };
  auto events = Read<std::vector<AgentEventRecord>>(*store, after);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].seq, 3);
  EXPECT_EQ((*events)[1].seq, 4);
  EXPECT_EQ(Read<int64_t>(*store, [](Tx& tx) { return tx.LastAgentEventSeq("ann"); }), 5);
  EXPECT_EQ(Read<int64_t>(*store, [](Tx& tx) { return tx.LastAgentEventSeq("bob"); }), 0);
  // Up to seq 3 and older than 450 ms: seq 1..3 go (4 is old enough but above the bound).
  ASSERT_TRUE(Write<void>(*store, [](Tx& tx) { return tx.PruneAgentEvents("ann", 3, 450); }));
  EXPECT_EQ(Read<int64_t>(*store, [](Tx& tx) { return tx.FirstAgentEventSeq("ann"); }), 4);
  auto same_seq = [](Tx& tx) { return tx.InsertAgentEvent({"ann", 5, "t", "{}", 1}); };
  EXPECT_FALSE(Write<void>(*store, same_seq));

  auto update = [](Tx& tx) -> Result<void> {
    QueueRecord q;
    q.name = "sales";
    q.display_name = "Sales team";
    q.auto_accept = true;
    q.updated_at_ms = 77;
    if (auto r = tx.UpdateQueue(q); !r) return r;
    auto d = tx.DeleteQueue("support");
    if (!d) return Fail(d.error());
    if (!*d) return Fail(Errc::kNotFound, "missing", "support");
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, update));
  auto sales =
      Read<std::optional<QueueRecord>>(*store, [](Tx& tx) { return tx.GetQueue("sales"); });
  ASSERT_TRUE(sales && *sales);
  EXPECT_EQ((*sales)->display_name, "Sales team");
  EXPECT_TRUE((*sales)->auto_accept);
  EXPECT_FALSE((*sales)->max_wait_s);
  EXPECT_FALSE(
      *Read<std::optional<QueueRecord>>(*store, [](Tx& tx) { return tx.GetQueue("support"); }));
}

// The routing state of migration 0006, kept by triggers in both stores: queue order by keys,
// counters, rank buckets, members ready for an offer, agents' load, timers as due times.
TEST_P(StoreContractTest, RoutingStateFollowsTheConversations) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) -> Result<void> {
    UserRecord u;
    u.role = "agent";
    u.password_hash = "x";
    u.queues = {"sales"};
    u.max_chats = 1;
    for (std::string name : {"ann", "bob"}) {
      u.username = u.display_name = name;
      if (auto r = tx.InsertUser(u); !r) return r;
    }
    u.username = u.display_name = "root";
    u.role = "admin";
    u.queues = {};
    if (auto r = tx.InsertUser(u); !r) return r;
    // ann is ready (online, available, room); bob is away.
    if (auto r = tx.PutPresence({"ann", "available", 1, true, std::nullopt, 5, 10, std::nullopt});
        !r)
      return r;
    if (auto r = tx.PutPresence({"bob", "away", 1, true, 700, 0, 10, std::nullopt}); !r) return r;
    // Five customers join sales: four at the back, then one at the head.
    for (int i = 0; i < 5; ++i) {
      ConversationRecord c = Conversation("q" + std::to_string(i), "conn", "c" + std::to_string(i));
      if (auto r = tx.InsertConversation(c); !r) return r;  // with the bot, then routed
      auto key = tx.NextQueueKey("sales", /*at_head=*/i == 4);
      if (!key) return Fail(key.error());
      c.state = "queued";
      c.owner = "queue:sales";
      c.routing.queue = "sales";
      c.routing.queued_at_ms = 100 + i;
      c.routing.qkey = *key;
      c.routing.wait_check_at_ms = i < 2 ? std::optional<int64_t>(200 + i) : std::nullopt;
      if (auto r = tx.UpdateConversation(c); !r) return r;
    }
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto ids = [](const Result<std::vector<ConversationRecord>>& r) {
    std::vector<std::string> out;
    if (r)
      for (const auto& c : *r) out.push_back(c.id);
    return out;
  };
  using Convs = std::vector<ConversationRecord>;
  using Names = std::vector<std::string>;
  EXPECT_EQ(ids(Read<Convs>(*store, [](Tx& tx) { return tx.Waiting("sales", 10); })),
            (Names{"q4", "q0", "q1", "q2", "q3"}));
  auto stats = Read<QueueStats>(*store, [](Tx& tx) { return tx.GetQueueStats("sales"); });
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->waiting, 5);
  EXPECT_EQ(stats->members, 2);
  EXPECT_EQ(stats->signed_in, 2);
  EXPECT_EQ(stats->available, 1);
  EXPECT_EQ(stats->concurrency_sum, 2);
  EXPECT_EQ(stats->head_queued_at_ms, 104);
  EXPECT_EQ(stats->oldest_queued_at_ms, 100);
  auto ahead = [](std::string id) {
    return [id](Tx& tx) -> Result<int64_t> {
      auto c = tx.GetConversation(id);
      if (!c || !*c) return Fail(Errc::kNotFound, "missing", id);
      return tx.WaitingAhead("sales", *(*c)->routing.qkey);
    };
  };
  EXPECT_EQ(Read<int64_t>(*store, ahead("q4")), 0);
  EXPECT_EQ(Read<int64_t>(*store, ahead("q2")), 3);
  EXPECT_EQ(Read<Names>(*store, [](Tx& tx) { return tx.ReadyAgents("sales", 10); }),
            (Names{"ann"}));
  EXPECT_EQ(Read<Names>(*store, [](Tx& tx) { return tx.QueueMembers("sales"); }),
            (Names{"ann", "bob"}));
  EXPECT_EQ(Read<Names>(*store, [](Tx& tx) { return tx.Admins(); }), (Names{"root"}));
  EXPECT_EQ(ids(Read<Convs>(*store, [](Tx& tx) { return tx.WaitChecksDue(200, 10); })),
            (Names{"q0"}));
  auto parked = ids(Read<Convs>(*store, [](Tx& tx) { return tx.ParkedWaitChecks("sales", 10); }));
  std::sort(parked.begin(), parked.end());
  EXPECT_EQ(parked, (Names{"q2", "q3", "q4"}));
  auto offline =
      Read<std::vector<PresenceRecord>>(*store, [](Tx& tx) { return tx.OfflineDue(700, 10); });
  ASSERT_TRUE(offline);
  ASSERT_EQ(offline->size(), 1u);
  EXPECT_EQ(offline->front().username, "bob");

  // The head (q4) is offered to ann: her load goes up and she is no longer ready. Bob becomes
  // available and q0 is assigned to him: he is at max_chats too.
  auto route = [](Tx& tx) -> Result<void> {
    auto next = tx.NextToOffer("sales");
    if (!next || !*next) return Fail(Errc::kNotFound, "missing", "next");
    ConversationRecord c = **next;
    c.routing.offered_to = "ann";
    c.routing.offer_expires_at_ms = 500;
    if (auto r = tx.UpdateConversation(c); !r) return r;
    if (auto r = tx.PutPresence({"bob", "available", 1, true, std::nullopt, 0, 20, std::nullopt});
        !r)
      return r;
    auto q0 = tx.GetConversation("q0");
    if (!q0 || !*q0) return Fail(Errc::kNotFound, "missing", "q0");
    ConversationRecord a = **q0;
    a.state = "active";
    a.owner = "agent:bob";
    a.routing.agent = "bob";
    a.routing.assigned_at_ms = 300;
    a.routing.qkey.reset();
    a.routing.wait_check_at_ms.reset();
    if (auto r = tx.UpdateConversation(a); !r) return r;
    if (auto r = tx.AddHandleSample("sales", 1000, 2); !r) return r;
    if (auto r = tx.AddHandleSample("sales", 2000, 2); !r) return r;
    if (auto r = tx.AddHandleSample("sales", 4000, 2); !r) return r;  // replaces 1000
    QueueOutcome o;
    o.day = 7;
    o.answered = 1;
    o.answered_in_sl = 1;
    o.offers = 1;
    if (auto r = tx.CountQueueOutcome("sales", o); !r) return r;
    o.day = 8;  // a new day: the *_today counters start over
    o.answered = 0;
    o.answered_in_sl = 0;
    o.abandoned = 1;
    return tx.CountQueueOutcome("sales", o);
  };
  ASSERT_TRUE(Write<void>(*store, route));
  auto next = Read<std::optional<ConversationRecord>>(
      *store, [](Tx& tx) { return tx.NextToOffer("sales"); });
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->id, "q1");
  EXPECT_EQ(ids(Read<Convs>(*store, [](Tx& tx) { return tx.ExpiredOffers(499, 10); })), Names{});
  EXPECT_EQ(ids(Read<Convs>(*store, [](Tx& tx) { return tx.ExpiredOffers(500, 10); })),
            (Names{"q4"}));
  auto mine = ids(Read<Convs>(*store, [](Tx& tx) { return tx.AgentConversations("ann"); }));
  EXPECT_EQ(mine, (Names{"q4"}));
  auto ann =
      Read<std::optional<PresenceRecord>>(*store, [](Tx& tx) { return tx.GetPresence("ann"); });
  ASSERT_TRUE(ann && *ann);
  EXPECT_EQ((*ann)->offers, 1);
  EXPECT_EQ((*ann)->chats, 0);
  auto bob =
      Read<std::optional<PresenceRecord>>(*store, [](Tx& tx) { return tx.GetPresence("bob"); });
  ASSERT_TRUE(bob && *bob);
  EXPECT_EQ((*bob)->chats, 1);
  // Both at max_chats now: nobody is ready.
  EXPECT_EQ(Read<Names>(*store, [](Tx& tx) { return tx.ReadyAgents("sales", 10); }), Names{});
  stats = Read<QueueStats>(*store, [](Tx& tx) { return tx.GetQueueStats("sales"); });
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->waiting, 4);
  EXPECT_EQ(stats->active, 1);
  EXPECT_EQ(stats->available, 0);
  EXPECT_EQ(stats->handle_count, 3);
  EXPECT_EQ(stats->handle_sum_ms, 6000);  // the last two: 2000 + 4000
  EXPECT_EQ(stats->day, 8);
  EXPECT_EQ(stats->answered_today, 0);
  EXPECT_EQ(stats->abandoned_today, 1);
  EXPECT_EQ(stats->answered_total, 1);
  EXPECT_EQ(stats->offers_total, 2);
  EXPECT_EQ(Read<int64_t>(*store, ahead("q2")), 2);
  auto counts =
      Read<std::map<std::string, int64_t>>(*store, [](Tx& tx) { return tx.CountConversations(); });
  ASSERT_TRUE(counts);
  EXPECT_EQ((*counts)["queued"], 4);
  EXPECT_EQ((*counts)["active"], 1);
  EXPECT_EQ((*counts)["bot"], 0);
  // A conversation is never inserted already routed.
  auto routed = [](Tx& tx) {
    ConversationRecord c = Conversation("x", "conn", "cx");
    c.state = "queued";
    return tx.InsertConversation(c);
  };
  EXPECT_FALSE(Write<void>(*store, routed));
}

TEST_P(StoreContractTest, IdleConversationsByReminderState) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) -> Result<void> {
    for (int i = 0; i < 3; ++i) {
      ConversationRecord c = Conversation("v" + std::to_string(i), "conn", "c" + std::to_string(i));
      c.last_customer_at_ms = 100;
      if (auto r = tx.InsertConversation(c); !r) return r;
    }
    auto v1 = tx.GetConversation("v1");
    if (!v1 || !*v1) return Fail(Errc::kNotFound, "missing", "v1");
    ConversationRecord c = **v1;
    c.routing.idle_reminded = true;
    return tx.UpdateConversation(c);
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto idle = [&](int64_t remind, int64_t end) {
    auto r = Read<std::vector<ConversationRecord>>(
        *store, [=](Tx& tx) { return tx.IdleConversations(remind, end, 10); });
    std::vector<std::string> out;
    if (r)
      for (const auto& c : *r) out.push_back(c.id);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(idle(101, 50), (std::vector<std::string>{"v0", "v2"}));  // not reminded yet
  EXPECT_EQ(idle(50, 101), (std::vector<std::string>{"v1"}));        // reminded, past the end
  EXPECT_EQ(idle(101, 101), (std::vector<std::string>{"v0", "v1", "v2"}));
}

// Migration 0011 (issue 19): status periods, watchers, and the presence's and queue's new
// columns round-trip on both stores.
TEST_P(StoreContractTest, StatusPeriodsWatchersAndTodaysFigures) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto write = [](Tx& tx) -> Result<void> {
    if (auto r = tx.StartStatusPeriod("ann", "available", std::nullopt, 1000); !r) return r;
    if (auto r = tx.StartStatusPeriod("ann", "away", std::string("lunch"), 4000); !r) return r;
    if (auto r = tx.StartStatusPeriod("bob", "available", std::nullopt, 2000); !r) return r;
    if (auto r = tx.PutWatcher({"conv-1", "sue", "monitor", 10}); !r) return r;
    if (auto r = tx.PutWatcher({"conv-1", "sue", "join", 20}); !r) return r;  // changes the mode
    if (auto r = tx.PutWatcher({"conv-1", "sam", "monitor", 30}); !r) return r;
    PresenceRecord p;
    p.username = "ann";
    p.status = "away";
    p.away_reason = "lunch";
    p.status_since_ms = 4000;
    p.status_period = "away/lunch";
    p.day = 3;
    p.chats_today = 2;
    p.handle_sum_today_ms = 9000;
    p.handle_count_today = 1;
    p.updated_at_ms = 4000;
    if (auto r = tx.PutPresence(p); !r) return r;
    QueueRecord q;
    q.name = "sales";
    q.display_name = "Sales";
    q.service_level_target = 0.75;
    if (auto r = tx.InsertQueue(q); !r) return r;
    QueueOutcome o;
    o.day = 3;
    o.answered = 1;
    o.wait_ms = 1500;
    o.handled = 1;
    o.handle_ms = 60000;
    return tx.CountQueueOutcome("sales", o);
  };
  ASSERT_TRUE(Write<void>(*store, write));
  auto periods = Read<std::vector<StatusPeriodRecord>>(
      *store, [](Tx& tx) { return tx.ListStatusPeriods("ann", 0, 10000); });
  ASSERT_TRUE(periods);
  ASSERT_EQ(periods->size(), 2u);
  EXPECT_EQ((*periods)[0].status, "available");
  EXPECT_EQ((*periods)[0].ended_at_ms, 4000);
  EXPECT_EQ((*periods)[1].reason, "lunch");
  EXPECT_FALSE((*periods)[1].ended_at_ms);
  // Only those overlapping the window; everyone's when no username is given.
  auto late = Read<std::vector<StatusPeriodRecord>>(
      *store, [](Tx& tx) { return tx.ListStatusPeriods("", 4500, 10000); });
  ASSERT_TRUE(late);
  ASSERT_EQ(late->size(), 2u);
  EXPECT_EQ((*late)[0].username, "ann");
  EXPECT_EQ((*late)[0].status, "away");
  EXPECT_EQ((*late)[1].username, "bob");

  auto watchers =
      Read<std::vector<WatcherRecord>>(*store, [](Tx& tx) { return tx.Watchers("conv-1"); });
  ASSERT_TRUE(watchers);
  ASSERT_EQ(watchers->size(), 2u);
  EXPECT_EQ((*watchers)[1].username, "sue");
  EXPECT_EQ((*watchers)[1].mode, "join");
  auto gone = Write<bool>(*store, [](Tx& tx) { return tx.DeleteWatcher("conv-1", "sue"); });
  ASSERT_TRUE(gone);
  EXPECT_TRUE(*gone);
  auto again = Write<bool>(*store, [](Tx& tx) { return tx.DeleteWatcher("conv-1", "sue"); });
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);

  auto ann =
      Read<std::optional<PresenceRecord>>(*store, [](Tx& tx) { return tx.GetPresence("ann"); });
  ASSERT_TRUE(ann && *ann);
  EXPECT_EQ((*ann)->away_reason, "lunch");
  EXPECT_EQ((*ann)->status_since_ms, 4000);
  EXPECT_EQ((*ann)->status_period, "away/lunch");
  EXPECT_EQ((*ann)->chats_today, 2);
  EXPECT_EQ((*ann)->handle_sum_today_ms, 9000);
  auto q = Read<std::optional<QueueRecord>>(*store, [](Tx& tx) { return tx.GetQueue("sales"); });
  ASSERT_TRUE(q && *q);
  EXPECT_DOUBLE_EQ((*q)->service_level_target, 0.75);
  auto stats = Read<QueueStats>(*store, [](Tx& tx) { return tx.GetQueueStats("sales"); });
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->wait_sum_today_ms, 1500);
  EXPECT_EQ(stats->handle_count_today, 1);
  EXPECT_EQ(stats->handle_sum_today_ms, 60000);
}

}  // namespace
}  // namespace parley::storage

// One contract for every Store: the same cases run against the SQLite store and, under
// scripts/test-postgres (ctest label `postgres`), against the PostgreSQL store. What a caller
// may rely on is tested here once; what only one engine has (the SQLite writer's cache and
// checkpoints, PostgreSQL's nodes sharing one database) is tested in that store's own file.

#include <sqlite3.h>

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <thread>

#include "storage/migrations.hpp"
#include "store_contract_fixture.hpp"

namespace parley::storage {
namespace {

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

}  // namespace
}  // namespace parley::storage

// What only the PostgreSQL store has: several nodes (stores) on one database, the pool, the
// scan guard (EXPLAIN), and living through an outage of the server. Runs under
// scripts/test-postgres (ctest label `postgres`); without a server these cases do not exist.

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "pg_test_support.hpp"
#include "sqlite_store_fixture.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres/pg_tx.hpp"

namespace parley::storage {
namespace {

using parley::testing::OpenPg;
using parley::testing::PgColumn;
using parley::testing::PgSchema;
using parley::testing::TestPgUrl;
using postgres::PgStore;
using postgres::PgStoreOptions;

std::vector<std::string> PostgresOnly() {
  if (TestPgUrl()) return {"postgres"};
  return {};
}

class PostgresStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<PgStore> Node(PgStoreOptions options = {}) {
    return OpenPg(schema_.Url(), std::string(kMasterKey), options);
  }
  std::vector<std::string> Raw(const std::string& sql) { return PgColumn(schema_.Url(), sql); }

  PgSchema schema_;
};

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PostgresStoreTest);
INSTANTIATE_TEST_SUITE_P(Pg, PostgresStoreTest, ::testing::ValuesIn(PostgresOnly()),
                         [](const auto& info) { return info.param; });

// The conversation layer's turn, as in the contract test: find (and lock) the open
// conversation, or open it; skip a message id seen before; number the message after the last.
Result<int64_t> Turn(Tx& tx, const std::string& customer, const std::string& message_id) {
  auto found = tx.FindOpenConversation("conn", customer);
  if (!found) return Fail(found.error());
  ConversationRecord c;
  if (*found) {
    c = **found;
  } else {
    c = Conversation("v-" + customer, "conn", customer);
    if (auto r = tx.InsertConversation(c); !r) return Fail(r.error());
  }
  auto seen = tx.InboundMessageSeen("conn", message_id);
  if (!seen) return Fail(seen.error());
  if (*seen) return int64_t{0};
  c.last_in_seq += 1;
  c.last_position += 1;
  EventRecord e = Inbound(c, c.last_position, message_id);
  e.seq = c.last_in_seq;
  if (auto r = tx.InsertEvent(e); !r) return Fail(r.error());
  if (auto r = tx.UpdateConversation(c); !r) return Fail(r.error());
  return c.last_in_seq;
}

// Three nodes take one customer's messages, each message sent to two nodes at once: every
// message is recorded once, numbered 1..N without a gap, and no write is refused.
TEST_P(PostgresStoreTest, NodesShareCustomersWithoutGapsOrDuplicates) {
  std::vector<std::unique_ptr<PgStore>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(Node());
    ASSERT_TRUE(nodes.back());
  }
  constexpr int kCustomers = 4;
  constexpr int kMessages = 30;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 3; ++n) {
    threads.emplace_back([&, n] {
      boost::asio::io_context io;
      for (int m = 0; m < kMessages; ++m) {
        for (int c = 0; c < kCustomers; ++c) {
          // Node n sends messages m with m % 3 != n: each message reaches two nodes.
          if (m % 3 == n) continue;
          std::string customer = "cust" + std::to_string(c);
          std::string id = customer + "-m" + std::to_string(m);
          auto job = [customer, id](Tx& tx) { return Turn(tx, customer, id); };
          auto r = Await(io, nodes[static_cast<size_t>(n)]->Write<int64_t>(job),
                         std::chrono::seconds(30));
          if (!r) {
            ++failures;
            ADD_FAILURE() << "node " << n << ": " << r.error().message;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Raw("SELECT count(*) FROM conversations"),
            (std::vector<std::string>{std::to_string(kCustomers)}));
  for (int c = 0; c < kCustomers; ++c) {
    auto seqs = Raw("SELECT seq FROM events WHERE conversation_id = 'v-cust" + std::to_string(c) +
                    "' ORDER BY seq");
    ASSERT_EQ(seqs.size(), static_cast<size_t>(kMessages)) << "customer " << c;
    for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], std::to_string(i + 1));
  }
}

// Two nodes' jobs lock two conversations in opposite orders within one job each (both first
// jobs of their group commits). The first job waits only 20 ms for a row, then is rolled back
// (freeing its first row) and run again with more patience, so the other node's job goes on:
// both succeed, well before deadlock_timeout (1 s) would have broken a deadlock. Should both
// give up together every time, PostgreSQL still breaks the last wait and the job runs again.
TEST_P(PostgresStoreTest, RowsCrossedWithinJobsDoNotDeadlock) {
  auto a = Node();
  auto b = Node();
  ASSERT_TRUE(a && b);
  boost::asio::io_context io;
  auto setup = [](Tx& tx) -> Result<void> {
    if (auto r = tx.InsertConversation(Conversation("v1", "conn", "c1")); !r) return r;
    return tx.InsertConversation(Conversation("v2", "conn", "c2"));
  };
  ASSERT_TRUE(Await(io, a->Write<void>(setup)));
  std::atomic<int> holding{0};
  auto crossed = [&holding](std::string first, std::string second) {
    auto runs = std::make_shared<int>(0);
    return [&holding, first, second, runs](Tx& tx) -> Result<int> {
      ++*runs;
      auto one = tx.GetConversation(first);  // FOR UPDATE in a write job
      if (!one) return Fail(one.error());
      if (*runs == 1) {
        // The first run waits until the other node holds its first row too.
        ++holding;
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (holding.load() < 2 && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      auto two = tx.GetConversation(second);
      if (!two) return Fail(two.error());
      return *runs;
    };
  };
  auto job_a = crossed("v1", "v2");
  auto job_b = crossed("v2", "v1");
  Result<int> ra = 0;
  std::thread other([&] {
    boost::asio::io_context io2;
    ra = Await(io2, a->Write<int>(job_a), std::chrono::seconds(30));
  });
  auto rb = Await(io, b->Write<int>(job_b), std::chrono::seconds(30));
  other.join();
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  // One of them ran again (or both). Every run after the first was a wait given up or a job run
  // again after a deadlock, and both succeeded.
  EXPECT_GE(*ra + *rb, 3);
  EXPECT_GE(a->LockWaitsGivenUp() + b->LockWaitsGivenUp(), 1u);
  EXPECT_EQ(static_cast<uint64_t>(*ra - 1 + *rb - 1),
            a->RetriedJobs() + b->RetriedJobs() + a->LockWaitsGivenUp() + b->LockWaitsGivenUp());
}

// Two nodes' group commits that take two rows in opposite orders, each row in another job:
// node A's batch runs x then y, node B's y then x, and each first job holds its row until the
// other node's first job holds the other one. Before the lock order of RunTransaction this
// was a deadlock (PostgreSQL broke it after deadlock_timeout, 1 s, and the job run again met
// the same cycle, since its transaction still held the first job's row); now the second job
// of each batch gives up its wait within milliseconds, the first is committed alone and the
// second runs in the next transaction. Every job succeeds once, none is retried.
using Step = std::function<Result<void>(Tx&, int node)>;
struct Crossing {
  int succeeded = 0;  // jobs committed whose last run succeeded (of 4)
  uint64_t retried = 0;
  uint64_t given_up = 0;
  std::chrono::milliseconds took{0};
};

Crossing Cross(PgStore& a, PgStore& b, Step x, Step y) {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int holding = 0;
  int finished = 0;
  Crossing out;
  auto wait_for = [&](auto done) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), done);
  };
  // Holds the writer until both nodes have the crossing jobs queued: they run as one batch.
  auto gate = [&](Tx&) {
    wait_for([&] { return open; });
    return true;
  };
  auto job = [&](Step step, int node, bool first) -> std::pair<PgStore::Job, PgStore::Done> {
    auto last_ok = std::make_shared<bool>(false);
    auto runs = std::make_shared<int>(0);
    PgStore::Job run = [&, step, node, first, last_ok, runs](Tx& tx) {
      *last_ok = static_cast<bool>(step(tx, node));
      if (first && ++*runs == 1) {
        std::unique_lock lock(mu);
        ++holding;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(5), [&] { return holding >= 2; });
      }
      return *last_ok;
    };
    PgStore::Done done = [&, last_ok](bool committed, Handoff&) {
      std::lock_guard lock(mu);
      if (committed && *last_ok) ++out.succeeded;
      ++finished;
      cv.notify_all();
    };
    return {std::move(run), std::move(done)};
  };
  auto noop = [&](bool, Handoff&) {
    std::lock_guard lock(mu);
    ++finished;
    cv.notify_all();
  };
  EXPECT_TRUE(a.SubmitWrite(gate, noop));
  EXPECT_TRUE(b.SubmitWrite(gate, noop));
  for (auto [store, node, one, two] : {std::tuple{&a, 0, x, y}, std::tuple{&b, 1, y, x}}) {
    auto [run1, done1] = job(one, node, true);
    auto [run2, done2] = job(two, node, false);
    EXPECT_TRUE(store->SubmitWrite(std::move(run1), std::move(done1)));
    EXPECT_TRUE(store->SubmitWrite(std::move(run2), std::move(done2)));
  }
  auto began = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu);
    open = true;
  }
  cv.notify_all();
  wait_for([&] { return finished == 6; });
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
  std::unique_lock lock(mu);
  EXPECT_EQ(finished, 6);
  out.retried = a.RetriedJobs() + b.RetriedJobs();
  out.given_up = a.LockWaitsGivenUp() + b.LockWaitsGivenUp();
  return out;
}

// The conversation layer's agent event: the user's last seq, then the next one.
Result<void> AgentEvent(Tx& tx, const std::string& user, int node) {
  auto last = tx.LastAgentEventSeq(user);
  if (!last) return Fail(last.error());
  AgentEventRecord e;
  e.username = user;
  e.seq = *last + 1;
  e.type = "test";
  e.body_json = "{\"node\":" + std::to_string(node) + "}";
  e.created_at_ms = 1000;
  return tx.InsertAgentEvent(e);
}

void ExpectNoDeadlock(const Crossing& c) {
  EXPECT_EQ(c.succeeded, 4);
  EXPECT_EQ(c.retried, 0u);  // no deadlock broken by PostgreSQL, no seq taken twice
  EXPECT_GE(c.given_up, 1u);
  // A deadlock would have shown as a retried job; before the lock rule these crossings took 4 s
  // (a deadlock_timeout of 1 s per run of the job). Under a sanitizer on a loaded machine the
  // four jobs and three commits still take well under 3 s.
  EXPECT_LT(c.took, std::chrono::milliseconds(3000));
}

// (a) A queue's statistics row (the triggers' and CountQueueOutcome's upsert) against an
// agent's next event.
TEST_P(PostgresStoreTest, QueueStatsAgainstAgentEventsDoNotDeadlock) {
  auto a = Node();
  auto b = Node();
  ASSERT_TRUE(a && b);
  QueueOutcome o;
  o.day = 20000;
  o.offers = 1;
  Step stats = [o](Tx& tx, int) { return tx.CountQueueOutcome("sales", o); };
  Step event = [](Tx& tx, int node) { return AgentEvent(tx, "ann", node); };
  ExpectNoDeadlock(Cross(*a, *b, stats, event));
  EXPECT_EQ(Raw("SELECT offers_total FROM queue_stats WHERE queue = 'sales'"),
            (std::vector<std::string>{"2"}));
  EXPECT_EQ(Raw("SELECT seq FROM agent_events WHERE username = 'ann' ORDER BY seq"),
            (std::vector<std::string>{"1", "2"}));
}

// (b) Two users' next events, each node writing them in the other order: each user's seq is
// taken under the lock of their head row (migration 0016), never as MAX + 1 by both.
TEST_P(PostgresStoreTest, AgentEventsOfTwoUsersDoNotDeadlock) {
  auto a = Node();
  auto b = Node();
  ASSERT_TRUE(a && b);
  Step ann = [](Tx& tx, int node) { return AgentEvent(tx, "ann", node); };
  Step bob = [](Tx& tx, int node) { return AgentEvent(tx, "bob", node); };
  ExpectNoDeadlock(Cross(*a, *b, ann, bob));
  for (const char* user : {"ann", "bob"})
    EXPECT_EQ(Raw(std::string("SELECT seq FROM agent_events WHERE username = '") + user +
                  "' ORDER BY seq"),
              (std::vector<std::string>{"1", "2"}))
        << user;
  EXPECT_EQ(Raw("SELECT username || ':' || seq FROM agent_event_heads ORDER BY username"),
            (std::vector<std::string>{"ann:2", "bob:2"}));
}

// (c) A conversation's row against the lease claim's new delivery_leases row.
TEST_P(PostgresStoreTest, ConversationAgainstLeaseClaimDoNotDeadlock) {
  auto a = Node();
  auto b = Node();
  ASSERT_TRUE(a && b);
  boost::asio::io_context io;
  auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "c1")); };
  ASSERT_TRUE(Await(io, a->Write<void>(setup)));
  Step conversation = [](Tx& tx, int) -> Result<void> {
    auto c = tx.GetConversation("v1");  // FOR UPDATE
    if (!c) return Fail(c.error());
    ConversationRecord changed = **c;
    changed.updated_at_ms += 1;
    return tx.UpdateConversation(changed);
  };
  Step claim = [](Tx& tx, int node) -> Result<void> {
    auto r = tx.ClaimDeliveries("n" + std::to_string(node), 1000, 60000, {"v2"}, 1);
    if (!r) return Fail(r.error());
    return {};
  };
  ExpectNoDeadlock(Cross(*a, *b, conversation, claim));
  EXPECT_EQ(Raw("SELECT count(*) FROM delivery_leases WHERE conversation_id = 'v2'"),
            (std::vector<std::string>{"1"}));
}

// Nodes started together migrate the same empty database once, without failing.
TEST_P(PostgresStoreTest, NodesStartingTogetherMigrateOnce) {
  std::vector<std::unique_ptr<PgStore>> nodes(3);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < nodes.size(); ++i) threads.emplace_back([&, i] { nodes[i] = Node(); });
  for (auto& t : threads) t.join();
  for (auto& n : nodes) EXPECT_TRUE(n && n->Ready());
  EXPECT_EQ(Raw("SELECT count(*) FROM schema_migrations"),
            (std::vector<std::string>{std::to_string(PostgresMigrations().size())}));
}

// The pool never opens more than its bound; a caller waits up to the wait timeout, then is
// refused with kUnavailable; a returned connection is reused (its statements stay prepared).
TEST_P(PostgresStoreTest, PoolIsBoundedWaitsThenRefuses) {
  auto info = postgres::ConnInfo(schema_.Url());
  ASSERT_TRUE(info);
  postgres::Pool pool(*info, 2, std::chrono::milliseconds(150));
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  ASSERT_TRUE(a && b);
  int pid = (*a)->BackendPid();
  constexpr const char* kSelect = "SELECT $1::bigint + 1";
  auto q = (*a)->Query(kSelect, postgres::Params().Add(int64_t{41}));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->Int(0, 0), 42);
  auto started = std::chrono::steady_clock::now();
  auto c = pool.Acquire();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().errc, Errc::kUnavailable);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(150));
  auto stats = pool.Stats();
  EXPECT_EQ(stats.size, 2u);
  EXPECT_EQ(stats.in_use, 2u);
  EXPECT_EQ(stats.timeouts, 1u);
  // A waiter gets the connection handed back meanwhile.
  std::thread giver([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    *a = postgres::Pool::Lease();
  });
  auto d = pool.Acquire();
  giver.join();
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)->BackendPid(), pid);
  auto again = (*d)->Query(kSelect, postgres::Params().Add(int64_t{1}));
  ASSERT_TRUE(again);
  auto prepared = (*d)->Query("SELECT count(*) FROM pg_prepared_statements", {});
  ASSERT_TRUE(prepared);
  EXPECT_EQ(prepared->Int(0, 0), 2);  // kSelect once, and this one
  EXPECT_EQ(pool.Stats().size, 2u);
}

// Presence across nodes: a user's streams are the sum over the nodes; a node that starts
// forgets only its own; the streams of a node whose lease expired are forgotten by another
// node's sweep, once.
TEST_P(PostgresStoreTest, NodeStreamsAddUpAcrossNodesAndDieWithTheirLease) {
  auto a = Node();
  auto b = Node();
  auto c = Node();
  ASSERT_TRUE(a && b && c);
  a->SetNodeId("node-a");
  b->SetNodeId("node-b");
  c->SetNodeId("node-c");
  boost::asio::io_context io;
  auto add = [](std::string user, int64_t delta) {
    return [user, delta](Tx& tx) { return tx.AddNodeStreams(user, delta); };
  };
  auto renew = [](int64_t until) { return [until](Tx& tx) { return tx.RenewNode(until); }; };
  auto reap = [](int64_t now) { return [now](Tx& tx) { return tx.ReapDeadNodes(now, 10); }; };
  using Users = std::vector<std::string>;
  ASSERT_TRUE(Await(io, a->Write<void>(renew(10'000))));
  ASSERT_TRUE(Await(io, b->Write<void>(renew(2'000))));
  EXPECT_EQ(Await(io, a->Write<int64_t>(add("ann", 1))), 1);
  EXPECT_EQ(Await(io, b->Write<int64_t>(add("ann", 1))), 2);
  EXPECT_EQ(Await(io, b->Write<int64_t>(add("bob", 1))), 1);
  EXPECT_EQ(Await(io, c->Write<int64_t>(add("ann", 1))), 3);
  // Node C starts again: its own stream is forgotten, the others' still count.
  auto clear = [](Tx& tx) { return tx.ClearNodeStreams(); };
  EXPECT_EQ(Await(io, c->Write<Users>(clear)), Users{"ann"});
  auto streams = [](std::string user) { return [user](Tx& tx) { return tx.UserStreams(user); }; };
  EXPECT_EQ(Await(io, a->Read<int64_t>(streams("ann"))), 2);
  // Before B's lease expires nobody takes it; after, one sweep does, once.
  EXPECT_EQ(Await(io, a->Write<Users>(reap(1'500))), Users{});
  EXPECT_EQ(Await(io, a->Write<Users>(reap(3'000))), (Users{"ann", "bob"}));
  EXPECT_EQ(Await(io, c->Write<Users>(reap(3'000))), Users{});
  EXPECT_EQ(Await(io, a->Read<int64_t>(streams("ann"))), 1);
  EXPECT_EQ(Await(io, a->Read<int64_t>(streams("bob"))), 0);
  EXPECT_EQ(Raw("SELECT node_id FROM node_leases ORDER BY node_id"), Users{"node-a"});
  // Two nodes opening and closing one user's streams at once: the sum stays exact.
  std::vector<std::thread> threads;
  for (PgStore* n : {b.get(), c.get()})
    threads.emplace_back([n, &add] {
      boost::asio::io_context own;
      for (int i = 0; i < 20; ++i) {
        (void)Await(own, n->Write<int64_t>(add("cy", 1)));
        if (i % 2) (void)Await(own, n->Write<int64_t>(add("cy", -1)));
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(Await(io, a->Read<int64_t>(streams("cy"))), 20);
}

// The scan guard's PostgreSQL twin: every hot statement is planned on an index. With
// sequential scans priced out, a plan that still has one has no index it could use.
TEST_P(PostgresStoreTest, HotStatementsUseIndexes) {
  auto node = Node();
  ASSERT_TRUE(node);
  std::vector<postgres::HotStatement> all = postgres::HotStatements();
  for (const auto& h : postgres::HotRoutingStatements()) all.push_back(h);
  for (const auto& h : postgres::HotAdminStatements()) all.push_back(h);
  for (const auto& h : postgres::HotPresenceStatements()) all.push_back(h);
  for (const auto& h : postgres::HotSupervisionStatements()) all.push_back(h);
  for (const auto& h : postgres::HotFactStatements()) all.push_back(h);
  for (const auto& h : postgres::HotLeaseStatements()) all.push_back(h);
  ASSERT_GE(all.size(), 60u);
  for (const auto& h : all) {
    std::string sql = h.sql;
    for (size_t i = h.args.size(); i >= 1; --i) {
      std::string param = "$" + std::to_string(i);
      std::string value = h.args[i - 1] ? "'" + *h.args[i - 1] + "'" : "NULL";
      for (size_t at = sql.find(param); at != std::string::npos; at = sql.find(param, at)) {
        // $1 must not match the start of $10.
        size_t end = at + param.size();
        if (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) {
          at = end;
          continue;
        }
        sql.replace(at, param.size(), value);
        at += value.size();
      }
    }
    auto plan = Raw("SET enable_seqscan = off; EXPLAIN " + sql);
    std::string text;
    for (const auto& line : plan) text += line + "\n";
    EXPECT_FALSE(plan.empty()) << h.name;
    EXPECT_EQ(text.find("Seq Scan"), std::string::npos) << h.name << ":\n" << text;
  }
}

// A node lives through an outage of the server: not ready and refusing store work at once
// while it is down, ready again by itself within seconds of its return.
TEST_P(PostgresStoreTest, ReadyFollowsTheServerAndReconnects) {
  const char* stop = std::getenv("PARLEY_TEST_PG_STOP");
  const char* start = std::getenv("PARLEY_TEST_PG_START");
  ASSERT_TRUE(stop && start) << "run through scripts/test-postgres";
  auto node = Node();
  ASSERT_TRUE(node);
  boost::asio::io_context io;
  auto insert = [](std::string id) {
    return [id](Tx& tx) { return tx.InsertConnection(Conn(id, id)); };
  };
  ASSERT_TRUE(Await(io, node->Write<void>(insert("before"))));
  ASSERT_EQ(std::system((std::string(stop) + " >/dev/null").c_str()), 0);
  struct Restart {
    const char* cmd;
    ~Restart() {
      if (cmd) (void)std::system((std::string(cmd) + " >/dev/null").c_str());
    }
  } restart{start};
  EXPECT_TRUE(WaitFor([&] { return !node->Ready(); }, std::chrono::seconds(10)));
  auto down = Await(io, node->Write<void>(insert("during")), std::chrono::seconds(15));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().errc, Errc::kUnavailable);
  auto read = [](Tx& tx) { return tx.ListConnections(); };
  auto read_down = Await(io, node->Read<std::vector<ConnectionRecord>>(read));
  EXPECT_FALSE(read_down);
  ASSERT_EQ(std::system((std::string(start) + " >/dev/null").c_str()), 0);
  restart.cmd = nullptr;
  EXPECT_TRUE(WaitFor([&] { return node->Ready(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(Await(io, node->Write<void>(insert("after"))));
  auto all = Await(io, node->Read<std::vector<ConnectionRecord>>(read));
  ASSERT_TRUE(all) << all.error().message;
  std::vector<std::string> ids;
  for (const auto& c : *all) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"after", "before"}));
  EXPECT_GE(node->PoolFigures().connects, 2u);
}

// Secrets written by one node are read by another with the same master key: sealing is
// per value, not per node.
TEST_P(PostgresStoreTest, SecretsSealedByOneNodeOpenOnAnother) {
  auto a = Node();
  auto b = Node();
  ASSERT_TRUE(a && b);
  boost::asio::io_context io;
  auto insert = [](Tx& tx) { return tx.InsertConnection(Conn("c1", "one", "s3cret-value")); };
  ASSERT_TRUE(Await(io, a->Write<void>(insert)));
  auto get = [](Tx& tx) { return tx.GetConnection("c1"); };
  auto c = Await(io, b->Read<std::optional<ConnectionRecord>>(get));
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->secret, "s3cret-value");
}

}  // namespace
}  // namespace parley::storage

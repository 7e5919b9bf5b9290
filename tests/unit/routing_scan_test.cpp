// The guard against routing that reads whole queues (issue 14): every routing step costs the
// same with a short and with a deep queue, positions stay exact at depth, and no statement the
// message and routing paths prepare scans the big tables.
//
// Cost is counted in SQLite virtual-machine steps (sqlite3_stmt_status VM_STEP, triggers
// included) inside the job that runs the step, so it is exact and independent of the machine's
// speed: a step that read the queue would take steps in proportion to its depth.

#include <gtest/gtest.h>

#include <iostream>
#include <regex>

#include "routing_fixture.hpp"
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::routing::testing {
namespace {

using storage::sqlite::SqliteTx;

template <class T>
Result<void> Void(const Result<T>& r) {
  if (!r) return Fail(r.error());
  return {};
}

class RoutingScanTest : public RoutingTest {
 protected:
  // Runs `op(tx, now, fx) -> Result<void>` as one write job and returns the VM steps it took.
  template <class F>
  int64_t StepsOf(F op) {
    return Act<int64_t>([&](Tx& tx, int64_t now, Effects& fx) -> Result<int64_t> {
      auto& db = dynamic_cast<SqliteTx&>(tx).db();
      int64_t before = db.Steps().vm;
      auto r = op(tx, now, fx);
      if (!r) return Fail(r.error());
      return db.Steps().vm - before;
    });
  }

  // `n` customers waiting in `queue` (each through the bot and Enqueue, as an escalation does).
  std::vector<std::string> Fill(const std::string& prefix, int n, const std::string& queue = "q") {
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) ids.push_back(Queued(prefix + std::to_string(i), queue));
    return ids;
  }

  // The steps of each routing step in a queue of its own (`q` + tag, agents ann+tag and
  // bob+tag), with `depth` customers already waiting.
  std::map<std::string, int64_t> Measure(int depth, const std::string& tag = "") {
    std::map<std::string, int64_t> steps;
    const std::string q = "q" + tag;
    const std::string ann_name = "ann" + tag;
    AddAgent(ann_name, {q}, /*max_chats=*/3);
    AddAgent("bob" + tag, {q}, /*max_chats=*/3);
    std::vector<std::string> waiting = Fill("w" + tag + "-", depth, q);
    clock_.Advance(1000);

    // A new customer joins at the back.
    std::string joiner = Say("joiner" + tag, "hello");
    steps["join"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) {
      return routing().Enqueue(tx, joiner, q, now, fx);
    });
    // A new customer whose first message goes to a person (a connection without a bot): the
    // conversation is written once, already waiting.
    steps["join_new"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      ConversationRecord fresh;
      fresh.id = "new-" + tag;
      fresh.connection_id = echo_.id;
      fresh.customer_id = "new-customer-" + tag;
      fresh.state = "bot";
      fresh.owner = "bot";
      fresh.created_at_ms = fresh.updated_at_ms = now;
      return Void(routing().EscalateNew(tx, fresh, q, now, fx));
    });
    // The queue's view, and the position and estimate of the last customer.
    steps["view"] = StepsOf([&](Tx& tx, int64_t now, Effects&) -> Result<void> {
      auto v = routing().Queue(tx, q, now);
      if (!v) return Fail(v.error());
      return {};
    });
    ConversationRecord last = Conv(joiner);
    steps["wait_for"] = StepsOf([&](Tx& tx, int64_t now, Effects&) -> Result<void> {
      auto w = routing().WaitFor(tx, last, now);
      if (!w) return Fail(w.error());
      EXPECT_EQ(w->first, depth + 1);
      return {};
    });
    // Agents come in: each is offered what fits (3 each).
    steps["sign_in"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      auto opened = routing().StreamOpened(tx, ann_name, now, fx);
      if (!opened) return Fail(opened.error());
      return Void(routing().SetStatus(tx, ann_name, "available", now, fx));
    });
    SignIn("bob" + tag);
    Actor ann = ActorFor(ann_name);
    steps["accept"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      return Void(routing().Accept(tx, waiting[0], ann, now, fx));
    });
    steps["transfer"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      TransferTarget to;
      to.queue = q;
      return Void(routing().Transfer(tx, waiting[0], ann, to, now, fx));
    });
    EXPECT_TRUE(Accept(waiting[1], ann_name));
    steps["release"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      return Void(routing().Release(tx, waiting[1], ann, now, fx));
    });
    EXPECT_TRUE(Accept(waiting[2], ann_name));
    steps["end"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      return Void(routing().End(tx, waiting[2], ann, now, fx));
    });
    steps["queue_updates"] = StepsOf([&](Tx& tx, int64_t now, Effects& fx) {
      fx.queues_changed.insert(q);
      return routing().FlushQueueUpdates(tx, now + 2000, fx);
    });
    // The one-second sweep with nothing due.
    steps["sweep"] = StepsOf(
        [&](Tx& tx, int64_t now, Effects& fx) { return Void(routing().Sweep(tx, now, fx)); });
    // A waiting customer writes (through the whole inbound path).
    auto before = Act<int64_t>([&](Tx& tx, int64_t, Effects&) -> Result<int64_t> {
      return dynamic_cast<SqliteTx&>(tx).db().Steps().vm;
    });
    Say("w" + tag + "-" + std::to_string(depth - 1), "are you there?");
    auto after = Act<int64_t>([&](Tx& tx, int64_t, Effects&) -> Result<int64_t> {
      return dynamic_cast<SqliteTx&>(tx).db().Steps().vm;
    });
    steps["waiting_message"] = after - before;
    return steps;
  }
};

TEST_F(RoutingScanTest, EveryStepCostsTheSameAtAnyDepth) {
  auto shallow = Measure(50, "a");
  // A second queue, sixty times deeper, in the same store.
  auto deep = Measure(3000, "b");
  for (const auto& [step, n] : shallow) {
    SCOPED_TRACE(step);
    std::cout << "  " << step << ": " << n << " VM steps at depth 50, " << deep.at(step)
              << " at depth 3000\n";
    // Reading the queue would multiply the steps by 60; the B-trees' depth does not show in VM
    // steps, and the rank sums read at most 31 entries a level.
    EXPECT_LE(deep.at(step), n * 3 / 2 + 200)
        << step << ": " << n << " steps at depth 50, " << deep.at(step) << " at depth 3000";
  }
}

// The sweep works in slices (Routing::kSweepBatch items a part; the server runs the next slice
// as a job of its own at once), so no job holds the writer in proportion to what is due: with
// 700 customers' wait-time looks due, the largest slice costs what it costs with 100 due. (One
// job doing every look took about seven times as many steps, and every accept in its group
// commit waited for it.)
TEST_F(RoutingScanTest, TheSweepWorksInBoundedSlices) {
  struct Slices {
    int64_t largest = 0;  // VM steps of the largest slice
    int count = 0;
  };
  auto sweep_after_filling = [&](const std::string& queue, int due) {
    Fill(queue + "-", due, queue);
    clock_.Advance(settings_.wait_time_interval_ms + 1000);
    Slices s;
    for (bool more = true; more && s.count < 1000; ++s.count) {
      int64_t steps = StepsOf([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
        auto r = routing().Sweep(tx, now, fx);
        if (!r) return Fail(r.error());
        more = *r;
        return {};
      });
      s.largest = std::max(s.largest, steps);
    }
    return s;
  };
  Slices few = sweep_after_filling("few", 100);
  Slices many = sweep_after_filling("many", 600);  // and the 100 again: 700 due
  std::cout << "  largest sweep slice: " << few.largest << " VM steps with 100 looks due ("
            << few.count << " slices), " << many.largest << " with 700 (" << many.count
            << " slices)\n";
  EXPECT_GE(few.count, 2);
  EXPECT_GE(many.count, 700 / static_cast<int>(Routing::kSweepBatch));
  EXPECT_LE(many.largest, few.largest * 3 / 2 + 200);
}

TEST_F(RoutingScanTest, PositionsStayExactAtDepth) {
  std::vector<std::string> ids = Fill("c", 2500);
  // Customers leave from everywhere; one goes back to the head; others join.
  for (int i = 7; i < 2500; i += 13) CustomerEnds("c" + std::to_string(i));
  AddAgent("ann", {"q"}, /*max_chats=*/2);
  ASSERT_TRUE(Accept(ids[1500], "ann"));  // a pull from the middle (she is not offered any)
  Actor ann = ActorFor("ann");
  TransferTarget to;
  to.queue = "q";
  ASSERT_TRUE(TryAct<ConversationRecord>([&](Tx& tx, int64_t now, Effects& fx) {
    return routing().Transfer(tx, ids[1500], ann, to, now, fx);
  }));
  Fill("late", 40);

  auto order = Act<std::vector<ConversationRecord>>(
      [&](Tx& tx, int64_t, Effects&) { return tx.Waiting("q", 10000); });
  ASSERT_EQ(order.front().id, ids[1500]);  // the transfer went to the head
  EXPECT_EQ(QueueState("q").waiting, static_cast<int64_t>(order.size()));
  // Every customer's position is its place in the queue's order.
  auto positions =
      Act<std::vector<int64_t>>([&](Tx& tx, int64_t now, Effects&) -> Result<std::vector<int64_t>> {
        std::vector<int64_t> out;
        for (const auto& c : order) {
          auto w = routing().WaitFor(tx, c, now);
          if (!w) return Fail(w.error());
          out.push_back(w->first);
        }
        return out;
      });
  for (size_t i = 0; i < order.size(); ++i)
    ASSERT_EQ(positions[i], static_cast<int64_t>(i) + 1) << order[i].id;
}

// No statement prepared on the message and routing paths scans conversations, events or agents'
// events (SQLite's plan says SCAN for a full scan of a table or of a whole index), or reads all
// conversations of a state (the index on state alone).
TEST_F(RoutingScanTest, NoHotStatementScansABigTable) {
  Measure(20);
  clock_.Advance(settings_.wait_time_interval_ms + settings_.offer_timeout_ms);
  Sweep();
  CustomerEnds("w-5");
  auto plans = Act<std::vector<std::pair<std::string, std::string>>>(
      [&](Tx& tx, int64_t, Effects&) -> Result<std::vector<std::pair<std::string, std::string>>> {
        auto& db = dynamic_cast<SqliteTx&>(tx).db();
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& sql : db.PreparedSql()) {
          auto plan = db.QueryPlan(sql);
          if (!plan) return Fail(plan.error());
          for (const auto& line : *plan) out.emplace_back(sql, line);
        }
        return out;
      });
  ASSERT_FALSE(plans.empty());
  // Small tables (a row a queue, user, agent or connection) may be read whole.
  static const std::regex kScan(
      "^SCAN (?!(queues|queue_stats|users|connections|agent_presence|conversation_counts|"
      "CONSTANT ROW)\\b)(?!\\(subquery)(\\S+)");
  int scans = 0;
  for (const auto& [sql, line] : plans) {
    if (std::regex_search(line, kScan) ||
        line.find("conversations_by_state") != std::string::npos) {
      ++scans;
      ADD_FAILURE() << "full scan: " << line << "\n  in: " << sql;
    }
  }
  EXPECT_EQ(scans, 0);
}

// The longest wait is read through the queue's order, not an index of its own: the first
// customer who joined at the tail waited longest of those, and of those put back at the head
// (a transfer, a requeue) the one put back first, who is last of them in the order.
TEST_F(RoutingScanTest, TheLongestWaitIsTheOldestOfTheTailAndOfTheHead) {
  auto at_head = [this](const std::string& customer) {
    std::string id = Say(customer, "hello");
    Do([&](Tx& tx, int64_t now, Effects& fx) {
      return routing().Enqueue(tx, id, "q", now, fx, /*at_head=*/true);
    });
  };
  auto view = [this] { return QueueState("q"); };
  Queued("a", "q");  // t = 0 s
  clock_.Advance(10'000);
  Queued("b", "q");  // 10 s
  clock_.Advance(10'000);
  at_head("c");  // 20 s, put back at the head
  clock_.Advance(10'000);
  at_head("d");  // 30 s, ahead of c
  clock_.Advance(10'000);
  QueueView v = view();
  EXPECT_EQ(v.waiting, 4);
  EXPECT_EQ(v.oldest_wait_s, 10);   // d, at the head
  EXPECT_EQ(v.longest_wait_s, 40);  // a
  CustomerEnds("a");
  CustomerEnds("b");
  v = view();
  EXPECT_EQ(v.waiting, 2);
  EXPECT_EQ(v.longest_wait_s, 20);  // c: of those at the head, the one there first
  CustomerEnds("c");
  EXPECT_EQ(view().longest_wait_s, 10);  // d
  CustomerEnds("d");
  v = view();
  EXPECT_EQ(v.waiting, 0);
  EXPECT_EQ(v.longest_wait_s, 0);
}

}  // namespace
}  // namespace parley::routing::testing

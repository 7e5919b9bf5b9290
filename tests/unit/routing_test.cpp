// Routing on a real temp SQLite store: FIFO offers, the agent idle longest first, capacity
// (active chats and ringing offers), concurrent accepts, pulls, and queues that do not accept
// customers when max_wait_s would be passed.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/use_future.hpp>
#include <future>

#include "routing_fixture.hpp"

namespace parley::routing::testing {
namespace {

using Strings = std::vector<std::string>;

TEST_F(RoutingTest, CustomersAreOfferedInTheOrderTheyQueued) {
  EstimatesEvenWithNobody();
  AddAgent("ann", {"q"}, /*max_chats=*/1);
  std::string c1 = Queued("c1", "q");
  clock_.Advance(1000);
  std::string c2 = Queued("c2", "q");
  clock_.Advance(1000);
  std::string c3 = Queued("c3", "q");
  EXPECT_EQ(WaitingIds("q"), (Strings{c1, c2, c3}));
  // Each was told its place at once: 300 s default handle time per customer ahead, one agent
  // (offline counts as one), one chat at a time.
  EXPECT_EQ(WaitTimesSent(c1), (std::vector<std::pair<int64_t, int64_t>>{{1, 300}}));
  EXPECT_EQ(WaitTimesSent(c2), (std::vector<std::pair<int64_t, int64_t>>{{2, 600}}));
  EXPECT_EQ(WaitTimesSent(c3), (std::vector<std::pair<int64_t, int64_t>>{{3, 900}}));
  EXPECT_TRUE(ConversationsOf("ann", "conversation.offered").empty());  // not signed in

  SignIn("ann");
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{c1}));
  ASSERT_TRUE(Accept(c1, "ann"));
  ASSERT_TRUE(EndAsAgent(c1, "ann"));
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{c1, c2}));
  ASSERT_TRUE(Accept(c2, "ann"));
  ASSERT_TRUE(EndAsAgent(c2, "ann"));
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{c1, c2, c3}));
  EXPECT_EQ(Conv(c3).routing.offered_to, "ann");
  EXPECT_EQ(Conv(c3).routing.offer_expires_at_ms, clock_.NowMs() + settings_.offer_timeout_ms);
}

TEST_F(RoutingTest, TheAgentIdleLongestGetsTheNextCustomer) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"});
  AddAgent("cy", {"q"});
  SignIn("ann");
  SignIn("bob");
  SignIn("cy");
  // Nobody was ever assigned: a tie, which goes to the first by username.
  std::string c1 = Queued("c1", "q");
  EXPECT_EQ(Conv(c1).routing.offered_to, "ann");
  ASSERT_TRUE(Accept(c1, "ann"));
  EXPECT_EQ(AgentState("ann").presence.last_assigned_at_ms, clock_.NowMs());

  clock_.Advance(1000);
  std::string c2 = Queued("c2", "q");
  EXPECT_EQ(Conv(c2).routing.offered_to, "bob");  // still never assigned, ann just was
  ASSERT_TRUE(Accept(c2, "bob"));
  clock_.Advance(1000);
  std::string c3 = Queued("c3", "q");
  EXPECT_EQ(Conv(c3).routing.offered_to, "cy");
  ASSERT_TRUE(Accept(c3, "cy"));
  clock_.Advance(1000);
  // Now ann waited longest since her last chat (bob and cy came after her).
  std::string c4 = Queued("c4", "q");
  EXPECT_EQ(Conv(c4).routing.offered_to, "ann");
  // A ringing offer does not move her back in the line (only an assignment does): while she
  // has room she gets the next one too.
  clock_.Advance(1000);
  std::string c5 = Queued("c5", "q");
  EXPECT_EQ(Conv(c5).routing.offered_to, "ann");
  // An agent who is away is passed over.
  Do([this](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().SetStatus(tx, "ann", "away", now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  clock_.Advance(1000);
  std::string c6 = Queued("c6", "q");
  EXPECT_EQ(Conv(c6).routing.offered_to, "bob");  // idle since t+1 s; cy since t+2 s
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{c1, c4, c5}));
  EXPECT_EQ(ConversationsOf("cy", "conversation.offered"), (Strings{c3}));
}

TEST_F(RoutingTest, TiesBetweenEquallyIdleAgentsGoByUsername) {
  AddAgent("zed", {"q"});
  AddAgent("amy", {"q"});
  SignIn("zed");
  SignIn("amy");
  std::string c1 = Queued("c1", "q");
  EXPECT_EQ(Conv(c1).routing.offered_to, "amy");
  std::string c2 = Queued("c2", "q");  // amy has an offer but room; last_assigned is unchanged
  EXPECT_EQ(Conv(c2).routing.offered_to, "amy");
  EXPECT_TRUE(ConversationsOf("zed", "conversation.offered").empty());
}

TEST_F(RoutingTest, CapacityCountsActiveChatsAndRingingOffers) {
  AddAgent("ann", {"q"}, /*max_chats=*/2);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Queued("c" + std::to_string(i), "q"));
    clock_.Advance(1000);
  }
  auto load = [this] {
    AgentView a = AgentState("ann");
    EXPECT_LE(a.chats + a.offers, a.user.max_chats);
    return std::pair{a.chats, a.offers};
  };
  SignIn("ann");
  // Two offers ring at once; the third customer is not offered while they do.
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{ids[0], ids[1]}));
  EXPECT_EQ(load(), (std::pair<int64_t, int64_t>{0, 2}));
  EXPECT_FALSE(Conv(ids[2]).routing.offered_to);
  EXPECT_EQ(QueueState("q").agents_available, 0);

  ASSERT_TRUE(Accept(ids[0], "ann"));
  EXPECT_EQ(load(), (std::pair<int64_t, int64_t>{1, 1}));
  EXPECT_FALSE(Conv(ids[2]).routing.offered_to);

  // A pull past the maximum is refused, and nothing changes.
  auto pulled = Accept(ids[2], "ann");
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().errc, Errc::kConflict);
  EXPECT_EQ(pulled.error().code, "at_capacity");
  EXPECT_EQ(Conv(ids[2]).state, "queued");
  EXPECT_EQ(load(), (std::pair<int64_t, int64_t>{1, 1}));

  // Her own offer can be accepted: it is already counted.
  ASSERT_TRUE(Accept(ids[1], "ann"));
  EXPECT_EQ(load(), (std::pair<int64_t, int64_t>{2, 0}));
  EXPECT_FALSE(Conv(ids[2]).routing.offered_to);
  pulled = Accept(ids[2], "ann");
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().code, "at_capacity");

  // Ending one makes room for exactly one more offer, the oldest waiting.
  ASSERT_TRUE(EndAsAgent(ids[0], "ann"));
  EXPECT_EQ(load(), (std::pair<int64_t, int64_t>{1, 1}));
  EXPECT_EQ(Conv(ids[2]).routing.offered_to, "ann");
  EXPECT_FALSE(Conv(ids[3]).routing.offered_to);
  Sweep();
  EXPECT_EQ(load(), (std::pair<int64_t, int64_t>{1, 1}));
  EXPECT_EQ(WaitingIds("q"), (Strings{ids[2], ids[3], ids[4]}));
}

// The membership rows (agent_queues: who is signed in and ready in each queue, and since when
// they were last assigned) are kept by triggers on agent_presence: through offers, accepts at
// and below capacity, a status change and an end they must always equal what the presence and
// the users say.
TEST_F(RoutingTest, MembershipRowsAlwaysEqualWhatPresenceSays) {
  AddAgent("ann", {"q", "r"}, /*max_chats=*/2);
  AddAgent("bob", {"q"}, /*max_chats=*/1);
  auto rows = [this](const char* sql) {
    sqlite3* db = nullptr;
    std::vector<std::string> out;
    EXPECT_EQ(sqlite3_open_v2(dir_.File("parley.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* v = sqlite3_column_text(stmt, i);
        row += (i ? "|" : "") + std::string(v ? reinterpret_cast<const char*>(v) : "NULL");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  };
  auto check = [&](const std::string& when) {
    auto kept = rows(
        "SELECT queue, username, signed_in, ready, last_assigned_at FROM agent_queues "
        "ORDER BY 1, 2");
    auto recomputed = rows(
        "SELECT j.value, u.username, COALESCE(p.online, 0), COALESCE(p.online = 1 AND "
        "p.status = 'available' AND p.chats + p.offers < u.max_chats, 0), "
        "COALESCE(p.last_assigned_at, 0) FROM users u, json_each(u.queues) j "
        "LEFT JOIN agent_presence p ON p.username = u.username ORDER BY 1, 2");
    EXPECT_EQ(kept, recomputed) << when;
    EXPECT_EQ(kept.size(), 3u) << when;
  };
  check("before anyone signed in");
  SignIn("ann");
  SignIn("bob");
  check("signed in");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(1000);
    ids.push_back(Queued("c" + std::to_string(i), "q"));
  }
  check("offers ringing, both at capacity");
  auto offered_to = [&](int i) { return Conv(ids[i]).routing.offered_to.value_or(""); };
  std::string first = offered_to(0);
  ASSERT_FALSE(first.empty());
  clock_.Advance(1000);
  ASSERT_TRUE(Accept(ids[0], first));  // the load stays: an offer becomes a chat
  check("an accept");
  for (int i = 1; i < 3; ++i) {
    std::string to = offered_to(i);
    if (to.empty()) continue;
    clock_.Advance(1000);
    ASSERT_TRUE(Accept(ids[i], to));
    check("another accept");
  }
  Do([this](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().SetStatus(tx, "ann", "away", now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  check("ann away");
  clock_.Advance(1000);
  ASSERT_TRUE(EndAsAgent(ids[0], first));
  check("an end");
  Do([this](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().SetStatus(tx, "ann", "available", now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  Sweep();
  check("ann back, the sweep");
}

TEST_F(RoutingTest, TwoConcurrentAcceptsOfOneConversationHaveOneWinner) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"});
  SignIn("ann");
  SignIn("bob");
  std::string c1 = Queued("c1", "q");
  ASSERT_EQ(Conv(c1).routing.offered_to, "ann");
  Actor ann = ActorFor("ann");
  Actor bob = ActorFor("bob");
  auto step = [this, c1](Actor actor) {
    return [this, c1, actor](Tx& tx, int64_t now, Effects& fx) {
      return routing().Accept(tx, c1, actor, now, fx);
    };
  };
  // Both are submitted before either runs, so they land in the writer's queue together.
  auto f1 = boost::asio::co_spawn(io_, service_->Act<ConversationRecord>(step(ann)),
                                  boost::asio::use_future);
  auto f2 = boost::asio::co_spawn(io_, service_->Act<ConversationRecord>(step(bob)),
                                  boost::asio::use_future);
  auto ready = [](auto& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(ready(f1) && ready(f2)) && std::chrono::steady_clock::now() < until) {
    io_.restart();
    io_.run_one_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(ready(f1) && ready(f2));
  Result<ConversationRecord> r1 = f1.get();
  Result<ConversationRecord> r2 = f2.get();
  ASSERT_NE(r1.has_value(), r2.has_value()) << "exactly one accept must win";
  const Result<ConversationRecord>& lost = r1 ? r2 : r1;
  std::string winner = r1 ? "ann" : "bob";
  std::string loser = r1 ? "bob" : "ann";
  EXPECT_EQ(lost.error().errc, Errc::kConflict);
  EXPECT_EQ(lost.error().code, "conversation_taken");
  ConversationRecord c = Conv(c1);
  EXPECT_EQ(c.state, "active");
  EXPECT_EQ(c.routing.agent, winner);
  EXPECT_EQ(c.owner, "agent:" + winner);
  EXPECT_EQ(AgentState(winner).chats, 1);
  EXPECT_EQ(AgentState(loser).chats, 0);
  EXPECT_EQ(ConversationsOf(winner, "conversation.assigned"), (Strings{c1}));
  EXPECT_TRUE(ConversationsOf(loser, "conversation.assigned").empty());
  // The customer was told once who joined.
  int joined = 0;
  for (const auto& t : TextsSent(c1))
    if (t.rfind("You are now chatting with", 0) == 0) ++joined;
  EXPECT_EQ(joined, 1);
}

TEST_F(RoutingTest, AcceptingAgainIsIdempotentForTheOwner) {
  AddAgent("ann", {"q"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  size_t texts = TextsSent(c1).size();
  auto again = Accept(c1, "ann");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->routing.agent, "ann");
  EXPECT_EQ(TextsSent(c1).size(), texts);
  EXPECT_EQ(AgentState("ann").chats, 1);
}

TEST_F(RoutingTest, PullTakesAnyWaitingConversationOfTheAgentsQueues) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q", "other"});
  AddAgent("carl", {"other"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  clock_.Advance(1000);
  std::string c2 = Queued("c2", "q");
  ASSERT_EQ(Conv(c1).routing.offered_to, "ann");
  int64_t ann_seq = LastSeq("ann");

  // bob (away, not even signed in) pulls the one ringing for ann.
  clock_.Advance(1000);
  auto pulled = Accept(c1, "bob");
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->state, "active");
  EXPECT_EQ(pulled->routing.agent, "bob");
  EXPECT_FALSE(pulled->routing.offered_to);
  EXPECT_EQ(pulled->routing.assigned_at_ms, clock_.NowMs());
  auto ann_events = EventsOf("ann", ann_seq);
  bool told_removed = false;
  for (const auto& e : ann_events)
    if (e.type == "conversation.removed" && e.conversation_id() == c1) {
      EXPECT_EQ(e.reason(), "taken");
      told_removed = true;
    }
  EXPECT_TRUE(told_removed);
  EXPECT_EQ(AgentState("ann").offers, 1);  // c2 still rings for her
  EXPECT_EQ(Conv(c2).routing.offered_to, "ann");
  EXPECT_EQ(TextsSent(c1).back(), "You are now chatting with Agent bob.");

  // bob also pulls a waiting one that rings for nobody: a customer in "other".
  std::string c3 = Queued("c3", "other");
  EXPECT_FALSE(Conv(c3).routing.offered_to);
  ASSERT_TRUE(Accept(c3, "bob"));

  // carl is not in "q": 403.
  std::string c4 = Queued("c4", "q");
  auto refused = Accept(c4, "carl");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().errc, Errc::kPermissionDenied);
  EXPECT_EQ(refused.error().code, "forbidden");
  EXPECT_EQ(Conv(c4).state, "queued");
  // Nor a conversation another agent has.
  auto taken = Accept(c1, "ann");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, "conversation_taken");
  // Nor one that is with the bot.
  std::string with_bot = Say("c5", "hi");
  auto not_waiting = Accept(with_bot, "ann");
  ASSERT_FALSE(not_waiting);
  EXPECT_EQ(not_waiting.error().code, "not_waiting");
  auto missing = Accept("no-such-conversation", "ann");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errc, Errc::kNotFound);
}

// Queue "capped": max_wait_s 60, so it accepts customers only while the estimate stays under
// a minute.
class RoutingCappedTest : public RoutingTest {
 protected:
  void CreateCappedQueue() {
    storage::QueueRecord capped;
    capped.name = "capped";
    capped.display_name = "Capped";
    capped.max_wait_s = 60;
    Do([&](Tx& tx, int64_t now, Effects&) -> Result<void> {
      auto r = routing().CreateQueue(tx, capped, now);
      if (!r) return Fail(r.error());
      return {};
    });
  }
};

TEST_F(RoutingCappedTest, AQueueWithMaxWaitAndNobodySignedInDoesNotAccept) {
  CreateCappedQueue();
  auto escalate = [this](const std::string& id, const std::string& queue) {
    return Act<bool>([this, id, queue](Tx& tx, int64_t now, Effects& fx) {
      return routing().Escalate(tx, id, queue, now, fx);
    });
  };
  EXPECT_FALSE(QueueState("capped").accepting);

  std::string c1 = Say("c1", "hi");
  EXPECT_FALSE(escalate(c1, "capped"));
  ConversationRecord c = Conv(c1);
  EXPECT_EQ(c.state, "bot");
  EXPECT_EQ(c.owner, "bot");
  EXPECT_EQ(TextsSent(c1).back(), settings_.texts.closed_text);
  EXPECT_TRUE(WaitTimesSent(c1).empty());
  EXPECT_TRUE(WaitingIds("capped").empty());
  // It stays with the bot, which answers the next message.
  Say("c1", "still there?");
  EXPECT_EQ(TextsSent(c1).back(), "still there?");

  // The queue's own closed_text wins over the default.
  Do([this](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().UpdateQueue(tx, "capped", json::object{{"closed_text", "Closed for now."}},
                                   now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  std::string c2 = Say("c2", "hi");
  EXPECT_FALSE(escalate(c2, "capped"));
  EXPECT_EQ(TextsSent(c2).back(), "Closed for now.");

  // Someone signed in, but the estimate (300 s / 3 chats at once = 100 s) passes 60 s.
  AddAgent("ann", {"capped"}, 3);
  SignIn("ann");
  QueueView v = QueueState("capped");
  EXPECT_EQ(v.agents_signed_in, 1);
  EXPECT_EQ(v.estimated_wait_s, 100);
  EXPECT_FALSE(v.accepting);
  std::string c3 = Say("c3", "hi");
  EXPECT_FALSE(escalate(c3, "capped"));
  EXPECT_EQ(Conv(c3).state, "bot");

  // With max_wait_s 120 the same customer is queued and offered.
  Do([this](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().UpdateQueue(tx, "capped", json::object{{"max_wait_s", 120}}, now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  EXPECT_TRUE(QueueState("capped").accepting);
  EXPECT_TRUE(escalate(c3, "capped"));
  c = Conv(c3);
  EXPECT_EQ(c.state, "queued");
  EXPECT_EQ(c.owner, "queue:capped");
  EXPECT_EQ(c.routing.offered_to, "ann");
  EXPECT_EQ(WaitTimesSent(c3), (std::vector<std::pair<int64_t, int64_t>>{{1, 100}}));
}

// A new customer who goes to a person with their first message (a connection without a bot)
// is written once: inserted already waiting and counted like a move into the queue, or inserted
// with the bot when the queue turns them away.
TEST_F(RoutingCappedTest, ANewCustomerIsInsertedAlreadyWaiting) {
  CreateCappedQueue();
  auto arrive = [this](const std::string& id, const std::string& queue) {
    return Act<bool>([this, id, queue](Tx& tx, int64_t now, Effects& fx) {
      ConversationRecord fresh;
      fresh.id = id;
      fresh.connection_id = echo_.id;
      fresh.customer_id = "customer-" + id;
      fresh.state = "bot";
      fresh.owner = "bot";
      fresh.created_at_ms = fresh.updated_at_ms = now;
      return routing().EscalateNew(tx, fresh, queue, now, fx);
    });
  };
  // Turned away: nobody is signed in to a queue with max_wait_s.
  EXPECT_FALSE(arrive("new-1", "capped"));
  EXPECT_EQ(Conv("new-1").state, "bot");
  EXPECT_EQ(TextsSent("new-1").back(), settings_.texts.closed_text);
  EXPECT_EQ(QueueState("capped").waiting, 0);

  // Queued at the back, counted, told their place, and offered to the agent who signs in.
  AddAgent("ann", {"q"}, /*max_chats=*/1);
  std::string before = Queued("c1", "q");
  EXPECT_TRUE(arrive("new-2", "q"));
  ConversationRecord c = Conv("new-2");
  EXPECT_EQ(c.state, "queued");
  EXPECT_EQ(c.owner, "queue:q");
  EXPECT_EQ(QueueState("q").waiting, 2);
  EXPECT_EQ(WaitingIds("q"), (Strings{before, "new-2"}));
  // Told their place at once (nobody is signed in: the no-agents text with it).
  ASSERT_EQ(Transcript("new-2").size(), 1u);
  EXPECT_EQ(Transcript("new-2")[0].sender, "system");
  SignIn("ann");
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{before}));
  ASSERT_TRUE(Accept(before, "ann"));
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{before}));
  ASSERT_TRUE(EndAsAgent(before, "ann"));
  EXPECT_EQ(ConversationsOf("ann", "conversation.offered"), (Strings{before, "new-2"}));
  EXPECT_EQ(QueueState("q").waiting, 1);
}

TEST_F(RoutingTest, AQueueWithoutMaxWaitAlwaysAccepts) {
  std::string c1 = Say("c1", "hi");
  bool queued = Act<bool>([this, c1](Tx& tx, int64_t now, Effects& fx) {
    return routing().Escalate(tx, c1, "fresh", now, fx);
  });
  EXPECT_TRUE(queued);
  EXPECT_EQ(Conv(c1).state, "queued");
  EXPECT_EQ(Conv(c1).owner, "queue:fresh");
  QueueView v = QueueState("fresh");  // created on first use
  EXPECT_EQ(v.queue.display_name, "fresh");
  EXPECT_EQ(v.waiting, 1);
  EXPECT_TRUE(v.accepting);
}

TEST_F(RoutingTest, AutoAcceptQueuesAssignWithinCapacity) {
  storage::QueueRecord q;
  q.name = "auto";
  q.display_name = "Auto";
  q.auto_accept = true;
  Do([&](Tx& tx, int64_t now, Effects&) -> Result<void> {
    auto r = routing().CreateQueue(tx, q, now);
    if (!r) return Fail(r.error());
    return {};
  });
  AddAgent("ann", {"auto"}, /*max_chats=*/2);
  SignIn("ann");
  std::string c1 = Queued("c1", "auto");
  clock_.Advance(1000);
  std::string c2 = Queued("c2", "auto");
  clock_.Advance(1000);
  std::string c3 = Queued("c3", "auto");
  EXPECT_EQ(Conv(c1).state, "active");
  EXPECT_EQ(Conv(c2).state, "active");
  EXPECT_EQ(Conv(c3).state, "queued");
  EXPECT_FALSE(Conv(c3).routing.offered_to);
  EXPECT_EQ(ConversationsOf("ann", "conversation.assigned"), (Strings{c1, c2}));
  EXPECT_TRUE(ConversationsOf("ann", "conversation.offered").empty());
  EXPECT_EQ(TextsSent(c1).back(), "You are now chatting with Agent ann.");
  ASSERT_TRUE(EndAsAgent(c1, "ann"));
  EXPECT_EQ(Conv(c3).state, "active");
  EXPECT_EQ(Conv(c3).routing.agent, "ann");
  AgentView a = AgentState("ann");
  EXPECT_EQ(a.chats, 2);
  EXPECT_EQ(a.offers, 0);
}

TEST_F(RoutingTest, ATransferToAnAgentRingsForThemAndMovesOnWhenItRingsOut) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"});
  AddAgent("cy", {"q"});
  SignIn("ann");
  SignIn("bob");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  Actor ann = ActorFor("ann");
  auto transfer = [&](TransferTarget to) {
    return TryAct<ConversationRecord>([&, to](Tx& tx, int64_t now, Effects& fx) {
      return routing().Transfer(tx, c1, ann, to, now, fx);
    });
  };
  // dee has one chat at most, and an offer ringing: no room.
  AddAgent("dee", {"other"}, /*max_chats=*/1);
  SignIn("dee");
  std::string other = Queued("c0", "other");
  ASSERT_EQ(Conv(other).routing.offered_to, "dee");
  auto full = transfer(TransferTarget{std::nullopt, "dee", std::nullopt});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, "agent_at_capacity");
  EXPECT_EQ(Conv(c1).routing.agent, "ann");
  // cy is not signed in.
  auto refused = transfer(TransferTarget{std::nullopt, "cy", std::nullopt});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "agent_unavailable");
  auto moved = transfer(TransferTarget{std::nullopt, "bob", "wants a refund"});
  ASSERT_TRUE(moved) << moved.error().message;
  ConversationRecord c = Conv(c1);
  EXPECT_EQ(c.state, "queued");
  EXPECT_EQ(c.routing.offered_to, "bob");
  EXPECT_EQ(c.routing.transfer_note, "wants a refund");
  EXPECT_EQ(TextsSent(c1).back(), "Transferring you to Agent bob.");
  EXPECT_EQ(ConversationsOf("bob", "conversation.offered"), (Strings{c1}));
  EXPECT_EQ(AgentState("ann").chats, 0);
  bool removed = false;
  for (const auto& e : EventsOf("ann"))
    if (e.type == "conversation.removed" && e.conversation_id() == c1) {
      EXPECT_EQ(e.reason(), "transferred");
      removed = true;
    }
  EXPECT_TRUE(removed);
  // bob lets it ring: it goes to the next agent of the queue, ann.
  clock_.Advance(settings_.offer_timeout_ms);
  Sweep();
  EXPECT_EQ(Conv(c1).routing.offered_to, "ann");
  EXPECT_EQ(AgentState("bob").status, "away");
}

TEST_F(RoutingTest, ReleaseHandsTheCustomerBackToTheBot) {
  AddAgent("ann", {"q"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  // The customer's words reach the agent while she has the chat.
  int64_t seq = LastSeq("ann");
  Say("c1", "my card is lost");
  auto events = EventsOf("ann", seq);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, "conversation.message");
  EXPECT_EQ(events.back().body.at("entry").at("from"), "customer");
  Actor ann = ActorFor("ann");
  auto released = TryAct<ConversationRecord>(
      [&](Tx& tx, int64_t now, Effects& fx) { return routing().Release(tx, c1, ann, now, fx); });
  ASSERT_TRUE(released);
  EXPECT_EQ(Conv(c1).state, "bot");
  EXPECT_EQ(TextsSent(c1).back(), settings_.texts.released_text);
  EXPECT_EQ(AgentState("ann").chats, 0);
  // The bot answers again; ann hears nothing more of it.
  seq = LastSeq("ann");
  Say("c1", "thanks");
  EXPECT_EQ(TextsSent(c1).back(), "thanks");
  EXPECT_TRUE(EventsOf("ann", seq).empty());
  // And she may not act on it any more.
  auto owned = TryAct<ConversationRecord>(
      [&](Tx& tx, int64_t, Effects&) { return routing().Owned(tx, c1, ann); });
  ASSERT_FALSE(owned);
  EXPECT_EQ(owned.error().errc, Errc::kPermissionDenied);
}

TEST_F(RoutingTest, QueueMembersAreToldWhenTheQueueChanges) {
  AddAgent("ann", {"q"});
  AddAgent("boss", {}, 3, "admin");
  AddAgent("carl", {"other"});
  int64_t ann_seq = LastSeq("ann");
  int64_t boss_seq = LastSeq("boss");
  Queued("c1", "q");
  auto last_queue_update = [this](const std::string& user, int64_t after) {
    json::object q;
    for (const auto& e : EventsOf(user, after))
      if (e.type == "queue.updated") q = e.body.at("queue").as_object();
    return q;
  };
  json::object seen = last_queue_update("ann", ann_seq);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.at("name"), "q");
  EXPECT_EQ(seen.at("waiting"), 1);
  EXPECT_EQ(last_queue_update("boss", boss_seq).at("waiting"), 1);
  EXPECT_TRUE(last_queue_update("carl", 0).empty());
}

// A round of queue.updated to a queue of many members is written a slice a job (so no job, and
// no accept committed with it, waits for the whole round); every member still gets exactly one
// per round, and a change during a round waits for the next round.
TEST_F(RoutingTest, AQueueUpdatedRoundIsWrittenASliceAJob) {
  const size_t members = Routing::kQueueUpdateSlice * 2 + 10;
  std::vector<std::string> names;
  for (size_t i = 0; i < members; ++i) {
    names.push_back("m" + std::to_string(1000 + i));
    AddAgent(names.back(), {"q"});
  }
  // Read without a write job (each write job goes on with a round in progress).
  auto updates = [&](const std::string& user) {
    auto events =
        Await(io_, service_->Look<std::vector<storage::AgentEventRecord>>(
                       [&](Tx& tx, int64_t) { return tx.AgentEventsAfter(user, 0, 1000); }));
    std::vector<json::object> out;
    for (const auto& e : *events)
      if (e.type == "queue.updated")
        out.push_back(json::parse(e.body_json).as_object().at("queue").as_object());
    return out;
  };
  auto told_in_all = [&] {
    size_t n = 0;
    for (const auto& name : names) n += updates(name).size();
    return n;
  };
  Queued("c1", "q");  // its job starts a round and writes the first slice only
  EXPECT_EQ(told_in_all(), Routing::kQueueUpdateSlice);
  Do([](Tx&, int64_t, Effects&) -> Result<void> { return {}; });  // any job goes on with it
  EXPECT_EQ(told_in_all(), Routing::kQueueUpdateSlice * 2);
  EXPECT_EQ(Sweep(), 1);  // the last 10
  for (const auto& name : names) ASSERT_EQ(updates(name).size(), 1u) << name;
  for (const auto& q : updates(names.back())) EXPECT_EQ(q.at("waiting"), 1);
  // A change within the second waits for the next round, which the sweep writes in slices.
  Queued("c2", "q");
  EXPECT_EQ(Sweep(), 1);
  EXPECT_EQ(told_in_all(), members);
  clock_.Advance(1000);  // a round a second at most
  EXPECT_GE(Sweep(), 3);
  for (const auto& name : names) {
    auto seen = updates(name);
    ASSERT_EQ(seen.size(), 2u) << name;
    EXPECT_EQ(seen.back().at("waiting"), 2);
  }
}

}  // namespace
}  // namespace parley::routing::testing

// The routing timers, driven by Sweep with a ManualClock: offers that ring out, agents whose
// streams stay closed, idle customers (reminder, then end), and wait_time updates.

#include <gtest/gtest.h>

#include <algorithm>

#include "routing_fixture.hpp"

namespace parley::routing::testing {
namespace {

using Strings = std::vector<std::string>;
using Waits = std::vector<std::pair<int64_t, int64_t>>;

class RoutingTimersTest : public RoutingTest {
 protected:
  void SetStatus(const std::string& username, const std::string& status) {
    Do([this, username, status](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      auto r = routing().SetStatus(tx, username, status, now, fx);
      if (!r) return Fail(r.error());
      return {};
    });
  }
  void StreamClosed(const std::string& username) {
    Do([this, username](Tx& tx, int64_t now, Effects&) {
      return routing().StreamClosed(tx, username, now);
    });
  }
  storage::PresenceRecord Presence(const std::string& username) {
    return Act<storage::PresenceRecord>(
        [username](Tx& tx, int64_t, Effects&) -> Result<storage::PresenceRecord> {
          auto p = tx.GetPresence(username);
          if (!p) return Fail(p.error());
          if (!*p) return Fail(Errc::kNotFound, "no_presence", username);
          return **p;
        });
  }
  static Strings Declined(const ConversationRecord& c) {
    Strings out;
    json::value declined = json::parse(c.routing.declined_by_json);
    for (const auto& v : declined.as_array()) out.emplace_back(v.as_string());
    return out;
  }
  int Count(const std::vector<std::string>& v, const std::string& x) {
    return static_cast<int>(std::count(v.begin(), v.end(), x));
  }
};

TEST_F(RoutingTimersTest, AnOfferThatRingsOutMovesOnAndSetsTheAgentAway) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"});
  SignIn("ann");
  SignIn("bob");
  std::string c1 = Queued("c1", "q");
  ASSERT_EQ(Conv(c1).routing.offered_to, "ann");
  int64_t ann_seq = LastSeq("ann");

  clock_.Advance(settings_.offer_timeout_ms - 1);
  Sweep();
  EXPECT_EQ(Conv(c1).routing.offered_to, "ann");
  EXPECT_EQ(AgentState("ann").status, "available");

  clock_.Advance(1);
  Sweep();
  ConversationRecord c = Conv(c1);
  EXPECT_EQ(c.state, "queued");
  EXPECT_EQ(c.routing.offered_to, "bob");
  EXPECT_EQ(c.routing.offer_expires_at_ms, clock_.NowMs() + settings_.offer_timeout_ms);
  EXPECT_EQ(Declined(c), (Strings{"ann"}));
  EXPECT_EQ(AgentState("ann").status, "away");
  EXPECT_EQ(AgentState("ann").offers, 0);
  EXPECT_EQ(ConversationsOf("bob", "conversation.offered"), (Strings{c1}));
  // ann was told the offer went, and that she is away now.
  bool removed = false, away = false;
  for (const auto& e : EventsOf("ann", ann_seq)) {
    if (e.type == "conversation.removed" && e.conversation_id() == c1) {
      EXPECT_EQ(e.reason(), "offer_expired");
      removed = true;
    }
    if (e.type == "agent.status" && e.body.at("agent").at("status") == "away") away = true;
  }
  EXPECT_TRUE(removed);
  EXPECT_TRUE(away);

  // Back to available, ann is not offered the one she let ring.
  SetStatus("ann", "available");
  Sweep();
  EXPECT_EQ(Count(ConversationsOf("ann", "conversation.offered"), c1), 1);
  // bob lets it ring too: he is set away. Nobody who has not let it ring is left, so ann, who
  // is available again, is offered it a second time rather than the customer waiting for ever.
  clock_.Advance(settings_.offer_timeout_ms);
  Sweep();
  c = Conv(c1);
  EXPECT_EQ(c.state, "queued");
  EXPECT_EQ(c.routing.offered_to, "ann");
  EXPECT_EQ(Declined(c), (Strings{"ann", "bob"}));
  EXPECT_EQ(AgentState("bob").status, "away");
  EXPECT_EQ(Count(ConversationsOf("ann", "conversation.offered"), c1), 2);
  // She takes it; the refusals are forgotten once it is assigned.
  auto pulled = Accept(c1, "ann");
  ASSERT_TRUE(pulled);
  EXPECT_EQ(Declined(*pulled), Strings{});
}

TEST_F(RoutingTimersTest, AnAgentWhoseStreamStaysClosedGoesOfflineAndTheirChatsGoBackFirst) {
  EstimatesEvenWithNobody();
  AddAgent("ann", {"q"}, /*max_chats=*/2);
  AddAgent("bob", {"q"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  clock_.Advance(1000);
  std::string c2 = Queued("c2", "q");
  ASSERT_TRUE(Accept(c2, "ann"));
  clock_.Advance(1000);
  std::string c3 = Queued("c3", "q");  // ann is full: it waits
  EXPECT_FALSE(Conv(c3).routing.offered_to);
  int64_t ann_seq = LastSeq("ann");

  StreamClosed("ann");
  EXPECT_EQ(Presence("ann").offline_due_at_ms, clock_.NowMs() + settings_.agent_offline_after_ms);
  clock_.Advance(settings_.agent_offline_after_ms - 1);
  Sweep();
  EXPECT_EQ(AgentState("ann").status, "available");
  EXPECT_EQ(AgentState("ann").chats, 2);

  clock_.Advance(1);
  Sweep();
  AgentView ann = AgentState("ann");
  EXPECT_EQ(ann.status, "offline");
  EXPECT_EQ(ann.chats, 0);
  EXPECT_EQ(ann.offers, 0);
  for (const std::string& id : {c1, c2}) {
    ConversationRecord c = Conv(id);
    EXPECT_EQ(c.state, "queued") << id;
    EXPECT_EQ(c.owner, "queue:q") << id;
    EXPECT_FALSE(c.routing.agent) << id;
    EXPECT_EQ(TextsSent(id).back(), settings_.texts.requeue_text) << id;
    EXPECT_EQ(WaitTimesSent(id).size(), 2u) << id;  // once when first queued, once now
  }
  // Both are ahead of c3, who waited all along.
  Strings waiting = WaitingIds("q");
  ASSERT_EQ(waiting.size(), 3u);
  EXPECT_EQ(waiting.back(), c3);
  EXPECT_EQ(waiting, (Strings{c1, c2, c3}));
  Strings removed;
  for (const auto& e : EventsOf("ann", ann_seq))
    if (e.type == "conversation.removed") {
      EXPECT_EQ(e.reason(), "offline");
      removed.push_back(e.conversation_id());
    }
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (Strings{c1, c2}));  // ids sort as they were made

  // bob signs in and is offered the head of the line first.
  SignIn("bob");
  EXPECT_EQ(ConversationsOf("bob", "conversation.offered"), (Strings{c1, c2, c3}));
}

TEST_F(RoutingTimersTest, AStreamThatReopensInTimeKeepsTheAgentOnline) {
  AddAgent("ann", {"q"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  StreamClosed("ann");
  clock_.Advance(settings_.agent_offline_after_ms - 1);
  Do([this](Tx& tx, int64_t now, Effects& fx) {
    return routing().StreamOpened(tx, "ann", now, fx);
  });
  EXPECT_FALSE(Presence("ann").offline_due_at_ms);
  clock_.Advance(settings_.agent_offline_after_ms * 2);
  Sweep();
  EXPECT_EQ(AgentState("ann").status, "available");
  EXPECT_EQ(Conv(c1).state, "active");
}

TEST_F(RoutingTimersTest, ResetStreamsAtStartUpGivesAgentsTimeToComeBack) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"});
  SignIn("ann");
  SignIn("bob");
  Do([this](Tx& tx, int64_t now, Effects& fx) {
    return routing().StreamOpened(tx, "bob", now, fx);
  });
  EXPECT_EQ(Presence("bob").streams, 2);
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));

  // A restart: no stream is open any more.
  clock_.Advance(5000);
  Do([this](Tx& tx, int64_t now, Effects&) { return routing().ResetStreams(tx, now); });
  for (const char* name : {"ann", "bob"}) {
    storage::PresenceRecord p = Presence(name);
    EXPECT_EQ(p.streams, 0) << name;
    EXPECT_TRUE(p.online) << name;
    EXPECT_EQ(p.offline_due_at_ms, clock_.NowMs() + settings_.agent_offline_after_ms) << name;
  }
  // bob reconnects in time; ann does not.
  clock_.Advance(settings_.agent_offline_after_ms / 2);
  Do([this](Tx& tx, int64_t now, Effects& fx) {
    return routing().StreamOpened(tx, "bob", now, fx);
  });
  clock_.Advance(settings_.agent_offline_after_ms / 2);
  Sweep();
  EXPECT_EQ(AgentState("ann").status, "offline");
  EXPECT_EQ(AgentState("bob").status, "available");
  // ann's chat went back to the queue and on to bob.
  ConversationRecord c = Conv(c1);
  EXPECT_EQ(c.state, "queued");
  EXPECT_EQ(c.routing.offered_to, "bob");
  EXPECT_EQ(TextsSent(c1).back(), settings_.texts.requeue_text);
}

TEST_F(RoutingTimersTest, AnIdleCustomerOfTheBotIsRemindedThenEnded) {
  int64_t t0 = clock_.NowMs();
  std::string c1 = Say("c1", "hi");
  clock_.Set(t0 + settings_.customer_idle_reminder_ms - 1);
  Sweep();
  EXPECT_EQ(TextsSent(c1).back(), "hi");
  clock_.Set(t0 + settings_.customer_idle_reminder_ms + 1);
  Sweep();
  EXPECT_EQ(TextsSent(c1).back(), settings_.texts.idle_reminder_text);
  EXPECT_TRUE(Conv(c1).routing.idle_reminded);
  // Reminded once only.
  clock_.Advance(60'000);
  Sweep();
  EXPECT_EQ(Count(TextsSent(c1), settings_.texts.idle_reminder_text), 1);
  EXPECT_EQ(Conv(c1).state, "bot");

  clock_.Set(t0 + settings_.customer_idle_end_ms);
  Sweep();
  ConversationRecord c = Conv(c1);
  EXPECT_EQ(c.state, "ended");
  EXPECT_EQ(c.routing.ended_by, "timeout");
  EXPECT_EQ(c.ended_at_ms, clock_.NowMs());
  auto transcript = Transcript(c1);
  ASSERT_GE(transcript.size(), 2u);
  EXPECT_EQ(transcript.back().type, "csr_end_session");
  EXPECT_EQ(transcript.back().sender, "system");
  EXPECT_EQ(TextsSent(c1).back(), settings_.texts.idle_end_text);
  // Nothing more happens to an ended conversation.
  size_t n = transcript.size();
  clock_.Advance(settings_.customer_idle_end_ms);
  Sweep();
  EXPECT_EQ(Transcript(c1).size(), n);
}

TEST_F(RoutingTimersTest, ACustomerWhoAnswersTheReminderIsNotEnded) {
  int64_t t0 = clock_.NowMs();
  std::string c1 = Say("c1", "hi");
  clock_.Set(t0 + settings_.customer_idle_reminder_ms + 1);
  Sweep();
  EXPECT_EQ(TextsSent(c1).back(), settings_.texts.idle_reminder_text);
  Say("c1", "yes, here");
  EXPECT_FALSE(Conv(c1).routing.idle_reminded);
  clock_.Set(t0 + settings_.customer_idle_end_ms + 1);
  Sweep();
  EXPECT_EQ(Conv(c1).state, "bot");
  EXPECT_EQ(Count(TextsSent(c1), settings_.texts.idle_reminder_text), 1);
}

TEST_F(RoutingTimersTest, AnIdleCustomerWithAnAgentIsRemindedThenEndedAndTheAgentTold) {
  AddAgent("ann", {"q"});
  SignIn("ann");
  int64_t t0 = clock_.NowMs();
  std::string c1 = Queued("c1", "q");
  // The idle timers count from the moment the agent took it, not from the wait.
  clock_.Set(t0 + 100'000);
  ASSERT_TRUE(Accept(c1, "ann"));
  int64_t assigned = clock_.NowMs();
  clock_.Set(t0 + settings_.customer_idle_reminder_ms + 1);
  Sweep();
  EXPECT_EQ(Count(TextsSent(c1), settings_.texts.idle_reminder_text), 0);
  int64_t ann_seq = LastSeq("ann");
  clock_.Set(assigned + settings_.customer_idle_reminder_ms + 1);
  Sweep();
  EXPECT_EQ(TextsSent(c1).back(), settings_.texts.idle_reminder_text);
  // ann sees the system's reminder in the conversation.
  bool saw_reminder = false;
  for (const auto& e : EventsOf("ann", ann_seq))
    if (e.type == "conversation.message" && e.conversation_id() == c1 &&
        e.body.at("entry").at("from") == "system")
      saw_reminder = true;
  EXPECT_TRUE(saw_reminder);

  clock_.Set(assigned + settings_.customer_idle_end_ms);
  Sweep();
  ConversationRecord c = Conv(c1);
  EXPECT_EQ(c.state, "ended");
  EXPECT_EQ(c.routing.ended_by, "timeout");
  EXPECT_EQ(Transcript(c1).back().type, "csr_end_session");
  EXPECT_EQ(AgentState("ann").chats, 0);
  bool told = false;
  for (const auto& e : EventsOf("ann", ann_seq))
    if (e.type == "conversation.ended" && e.conversation_id() == c1) {
      EXPECT_EQ(e.body.at("by"), "timeout");
      told = true;
    }
  EXPECT_TRUE(told);
}

TEST_F(RoutingTimersTest, WaitTimeIsSentWhenThePositionOrEstimateMovesAtMostEveryInterval) {
  EstimatesEvenWithNobody();
  ASSERT_EQ(settings_.wait_time_interval_ms, 10'000);
  int64_t t0 = clock_.NowMs();
  std::string c1 = Queued("c1", "q");
  clock_.Set(t0 + 1000);
  std::string c2 = Queued("c2", "q");
  clock_.Set(t0 + 2000);
  std::string c3 = Queued("c3", "q");
  // No agent in the queue: 300 s per customer ahead.
  EXPECT_EQ(WaitTimesSent(c2), (Waits{{2, 600}}));
  EXPECT_EQ(WaitTimesSent(c3), (Waits{{3, 900}}));

  // Nothing moved: nothing is sent, however long they wait.
  clock_.Set(t0 + 60'000);
  Sweep();
  EXPECT_EQ(WaitTimesSent(c2).size(), 1u);
  EXPECT_EQ(WaitTimesSent(c3).size(), 1u);

  // c1 gives up; c2 and c3 move up, and are told right away since their last was long ago.
  CustomerEnds("c1");
  Sweep();
  EXPECT_EQ(WaitTimesSent(c2), (Waits{{2, 600}, {1, 300}}));
  EXPECT_EQ(WaitTimesSent(c3), (Waits{{3, 900}, {2, 600}}));

  // A new customer behind them changes nothing for them.
  clock_.Set(t0 + 61'000);
  std::string c4 = Queued("c4", "q");
  EXPECT_EQ(WaitTimesSent(c4), (Waits{{3, 900}}));
  // c2 leaves: c3 and c4 move up, but c3 was told 1 s ago and c4 right now.
  clock_.Set(t0 + 62'000);
  CustomerEnds("c2");
  Sweep();
  EXPECT_EQ(WaitTimesSent(c3).size(), 2u);
  EXPECT_EQ(WaitTimesSent(c4).size(), 1u);
  // Not before wait_time_interval has passed since each one's last update...
  clock_.Set(t0 + 60'000 + 10'000 - 1);
  Sweep();
  EXPECT_EQ(WaitTimesSent(c3).size(), 2u);
  clock_.Set(t0 + 60'000 + 10'000);
  Sweep();
  EXPECT_EQ(WaitTimesSent(c3), (Waits{{3, 900}, {2, 600}, {1, 300}}));
  EXPECT_EQ(WaitTimesSent(c4).size(), 1u);
  clock_.Set(t0 + 61'000 + 10'000);
  Sweep();
  EXPECT_EQ(WaitTimesSent(c4), (Waits{{3, 900}, {2, 600}}));

  // An estimate that moves by 30 s or more is sent again. An agent (offline) with 3 chats at
  // once joins the queue: 100 s and 200 s.
  clock_.Set(t0 + 100'000);
  AddAgent("ann", {"q"}, 3);
  Sweep();
  EXPECT_EQ(WaitTimesSent(c3).back(), (std::pair<int64_t, int64_t>{1, 100}));
  EXPECT_EQ(WaitTimesSent(c4).back(), (std::pair<int64_t, int64_t>{2, 200}));
  // Another with 5 at once: concurrency 4, so 75 s (moved 25: not sent) and 150 s (moved 50).
  clock_.Set(t0 + 120'000);
  AddAgent("bob", {"q"}, 5);
  Sweep();
  EXPECT_EQ(WaitTimesSent(c3).back(), (std::pair<int64_t, int64_t>{1, 100}));
  EXPECT_EQ(WaitTimesSent(c3).size(), 4u);
  EXPECT_EQ(WaitTimesSent(c4).back(), (std::pair<int64_t, int64_t>{2, 150}));
  EXPECT_EQ(WaitTimesSent(c4).size(), 4u);
}

}  // namespace
}  // namespace parley::routing::testing

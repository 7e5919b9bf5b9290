// Issue 16's routing: an offer let pass moves on at once and the decliner stays available, the
// offers ringing for an agent, the agents of a queue, the no-agents text instead of an estimate,
// and a transfer note that belongs to its transfer.

#include <gtest/gtest.h>

#include <algorithm>

#include "routing_fixture.hpp"

namespace parley::routing::testing {
namespace {

using Strings = std::vector<std::string>;

class RoutingDeclineTest : public RoutingTest {
 protected:
  Result<ConversationRecord> Decline(const std::string& id, const std::string& agent,
                                     std::optional<std::string> reason = std::nullopt) {
    Actor actor = ActorFor(agent);
    return TryAct<ConversationRecord>([this, id, actor, reason](Tx& tx, int64_t now, Effects& fx) {
      return routing().Decline(tx, id, actor, reason, now, fx);
    });
  }
  std::vector<ConversationRecord> Offers(const std::string& agent) {
    return Act<std::vector<ConversationRecord>>(
        [&](Tx& tx, int64_t, Effects&) { return routing().Offers(tx, agent); });
  }
  int Count(const Strings& v, const std::string& x) {
    return static_cast<int>(std::count(v.begin(), v.end(), x));
  }
  Strings NotesOf(const std::string& id) {
    Strings out;
    for (const auto& e : Transcript(id))
      if (e.direction == "note")
        out.emplace_back(json::parse(e.payload_json).at("text").as_string());
    return out;
  }
};

TEST_F(RoutingDeclineTest, ADeclinedOfferMovesOnAtOnceAndTheDeclinerStaysAvailable) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"});
  SignIn("ann");
  SignIn("bob");
  std::string c1 = Queued("c1", "q");
  ASSERT_EQ(Conv(c1).routing.offered_to, "ann");
  EXPECT_EQ(Offers("ann").size(), 1u);

  auto declined = Decline(c1, "ann", "I am on a call");
  ASSERT_TRUE(declined) << declined.error().message;
  // At once, not after the offer timeout.
  EXPECT_EQ(declined->routing.offered_to, "bob");
  EXPECT_EQ(Conv(c1).routing.offered_to, "bob");
  EXPECT_TRUE(Offers("ann").empty());
  EXPECT_EQ(Offers("bob").size(), 1u);
  EXPECT_EQ(AgentState("ann").status, "available");
  EXPECT_EQ(AgentState("ann").offers, 0);
  EXPECT_EQ(QueueState("q").offers_declined_total, 1);
  EXPECT_EQ(QueueState("q").offers_rung_out_total, 0);
  EXPECT_EQ(NotesOf(c1), (Strings{"Agent ann let the offer pass: I am on a call"}));
  bool removed = false;
  for (const auto& e : EventsOf("ann"))
    if (e.type == "conversation.removed" && e.conversation_id() == c1)
      removed = e.reason() == "declined";
  EXPECT_TRUE(removed);
  // Only a ringing offer can be declined.
  auto again = Decline(c1, "ann");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "not_offered");

  // bob declines too: nobody else can take it, and the decliners are not offered it again
  // before their offer would have rung out; then it comes back rather than the customer waiting
  // for ever.
  ASSERT_TRUE(Decline(c1, "bob"));
  EXPECT_FALSE(Conv(c1).routing.offered_to.has_value());
  Sweep();
  EXPECT_FALSE(Conv(c1).routing.offered_to.has_value());
  EXPECT_EQ(Count(ConversationsOf("ann", "conversation.offered"), c1), 1);
  clock_.Advance(settings_.offer_timeout_ms);
  Sweep();
  EXPECT_EQ(Conv(c1).routing.offered_to, "ann");
  EXPECT_EQ(AgentState("ann").status, "available");
  EXPECT_EQ(AgentState("bob").status, "available");
  EXPECT_EQ(QueueState("q").offers_declined_total, 2);
}

TEST_F(RoutingDeclineTest, ADeclinerIsNotOfferedItAgainWhileSomeoneElseCanTakeIt) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"}, /*max_chats=*/1);
  SignIn("ann");
  SignIn("bob");
  std::string c0 = Queued("c0", "q");  // ann gets it, then bob has no room for c1 for a while
  ASSERT_EQ(Conv(c0).routing.offered_to, "ann");
  ASSERT_TRUE(Accept(c0, "ann"));
  std::string busy = Queued("busy", "q");
  ASSERT_EQ(Conv(busy).routing.offered_to, "bob");
  ASSERT_TRUE(Accept(busy, "bob"));
  std::string c1 = Queued("c1", "q");
  ASSERT_EQ(Conv(c1).routing.offered_to, "ann");
  ASSERT_TRUE(Decline(c1, "ann"));
  // bob is full: it waits, not offered to ann again yet.
  EXPECT_FALSE(Conv(c1).routing.offered_to.has_value());
  // bob frees room: it goes to him, not back to ann, even once her wait is over.
  clock_.Advance(settings_.offer_timeout_ms);
  ASSERT_TRUE(EndAsAgent(busy, "bob"));
  EXPECT_EQ(Conv(c1).routing.offered_to, "bob");
  EXPECT_EQ(Count(ConversationsOf("ann", "conversation.offered"), c1), 1);
}

TEST_F(RoutingDeclineTest, TheQueueAgentsAreItsMembersWithTheirStatus) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q", "r"});
  AddAgent("cid", {"r"});
  SignIn("bob");
  auto agents = Act<std::vector<AgentView>>(
      [&](Tx& tx, int64_t, Effects&) { return routing().QueueAgents(tx, "q"); });
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents[0].user.username, "ann");
  EXPECT_EQ(agents[0].status, "offline");
  EXPECT_EQ(agents[1].user.username, "bob");
  EXPECT_EQ(agents[1].status, "available");
  auto missing = TryAct<std::vector<AgentView>>(
      [&](Tx& tx, int64_t, Effects&) { return routing().QueueAgents(tx, "nope"); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "queue_not_found");
}

TEST_F(RoutingDeclineTest, NobodyThereTellsTheNoAgentsTextThenTheEstimateOnceSomeoneIs) {
  AddAgent("ann", {"q"}, /*max_chats=*/1);
  std::string c1 = Queued("c1", "q");
  std::string c2 = Queued("c2", "q");
  EXPECT_EQ(
      Count(TextsSent(c2), "All our agents are busy right now. You are number 2 in the queue."), 1);
  EXPECT_TRUE(WaitTimesSent(c2).empty());
  // Signed in but away: still nobody there.
  Do([&](Tx& tx, int64_t now, Effects& fx) { return routing().StreamOpened(tx, "ann", now, fx); });
  clock_.Advance(settings_.wait_time_interval_ms);
  Sweep();
  EXPECT_TRUE(WaitTimesSent(c2).empty());
  // Available: c1 is offered to ann; once she chats from the queue, c2 is told an estimate.
  Do([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().SetStatus(tx, "ann", "available", now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  ASSERT_EQ(Conv(c1).routing.offered_to, "ann");
  ASSERT_TRUE(Accept(c1, "ann"));
  clock_.Advance(settings_.wait_time_interval_ms);
  Sweep();
  ASSERT_EQ(WaitTimesSent(c2).size(), 1u);
  EXPECT_EQ(WaitTimesSent(c2)[0].first, 1);
}

TEST_F(RoutingDeclineTest,
       ATransferNoteIsClearedWhenTheConversationIsNextAcceptedAndKeptInTheTranscript) {
  AddAgent("ann", {"q"});
  AddAgent("bob", {"q"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  SignIn("bob");
  Actor ann = ActorFor("ann");
  auto moved = TryAct<ConversationRecord>([&](Tx& tx, int64_t now, Effects& fx) {
    return routing().Transfer(tx, c1, ann, TransferTarget{std::nullopt, "bob", "Wants a refund"},
                              now, fx);
  });
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(Conv(c1).routing.transfer_note, "Wants a refund");
  ASSERT_TRUE(Accept(c1, "bob"));
  EXPECT_FALSE(Conv(c1).routing.transfer_note.has_value());
  EXPECT_EQ(NotesOf(c1), (Strings{"Transfer note from Agent ann: Wants a refund"}));
}

class RoutingWrapUpTest : public RoutingDeclineTest {
 protected:
  void WrapUpQueue(bool required, int64_t after_chat_work_s) {
    storage::QueueRecord q;
    q.name = "q";
    q.display_name = "Q";
    q.wrap_up_codes = {"resolved", "callback"};
    q.wrap_up_required = required;
    q.after_chat_work_s = after_chat_work_s;
    Do([this, q](Tx& tx, int64_t now, Effects&) -> Result<void> {
      auto r = routing().CreateQueue(tx, q, now);
      if (!r) return Fail(r.error());
      return {};
    });
  }
  Result<ConversationRecord> End(const std::string& id, const std::string& agent, WrapUp wrap) {
    Actor actor = ActorFor(agent);
    return TryAct<ConversationRecord>([this, id, actor, wrap](Tx& tx, int64_t now, Effects& fx) {
      return routing().End(tx, id, actor, wrap, now, fx);
    });
  }
  Strings WrapUpsOf(const std::string& id) {
    Strings out;
    for (const auto& e : Transcript(id))
      if (e.type == "wrap_up") out.push_back(e.payload_json);
    return out;
  }
};

TEST_F(RoutingWrapUpTest, AnEndNeedsAKnownCodeWhenTheQueueRequiresOneAndAfterChatWorkHoldsOffers) {
  WrapUpQueue(/*required=*/true, /*after_chat_work_s=*/60);
  AddAgent("ann", {"q"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  auto missing = End(c1, "ann", WrapUp{});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "wrap_up_required");
  auto unknown = End(c1, "ann", WrapUp{"sold", std::nullopt});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "invalid_wrap_up");
  EXPECT_EQ(Conv(c1).state, "active");  // refused: nothing changed

  auto ended = End(c1, "ann", WrapUp{"resolved", "Card blocked"});
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ(ended->state, "ended");
  EXPECT_EQ(WrapUpsOf(c1), (Strings{R"({"code":"resolved","note":"Card blocked"})"}));
  // After-chat work: no offer for 60 s.
  EXPECT_EQ(AgentState("ann").status, "after_chat");
  std::string c2 = Queued("c2", "q");
  EXPECT_FALSE(Conv(c2).routing.offered_to.has_value());
  clock_.Advance(59'999);
  Sweep();
  EXPECT_FALSE(Conv(c2).routing.offered_to.has_value());
  clock_.Advance(1);
  Sweep();
  EXPECT_EQ(AgentState("ann").status, "available");
  EXPECT_EQ(Conv(c2).routing.offered_to, "ann");
}

TEST_F(RoutingWrapUpTest, ReadyEndsAfterChatWorkAndACustomerEndedChatCanBeWrappedUpForTenMinutes) {
  WrapUpQueue(/*required=*/false, /*after_chat_work_s=*/300);
  AddAgent("ann", {"q"});
  SignIn("ann");
  std::string c1 = Queued("c1", "q");
  ASSERT_TRUE(Accept(c1, "ann"));
  CustomerEnds("c1");
  EXPECT_EQ(Conv(c1).state, "ended");
  EXPECT_EQ(AgentState("ann").status, "after_chat");
  // The wrap-up after the customer ended it, once.
  auto late = End(c1, "ann", WrapUp{"callback", std::nullopt});
  ASSERT_TRUE(late) << late.error().message;
  EXPECT_EQ(WrapUpsOf(c1).size(), 1u);
  auto twice = End(c1, "ann", WrapUp{std::nullopt, "more"});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, "already_wrapped_up");
  // Without a wrap-up an ended chat is still just ended.
  auto bare = End(c1, "ann", WrapUp{});
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().code, "conversation_ended");
  // Ready: available at once, offers come.
  Do([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().SetStatus(tx, "ann", "available", now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  std::string c2 = Queued("c2", "q");
  EXPECT_EQ(Conv(c2).routing.offered_to, "ann");
  ASSERT_TRUE(Accept(c2, "ann"));
  CustomerEnds("c2");
  clock_.Advance(Routing::kWrapUpWindowMs + 1);
  auto closed = End(c2, "ann", WrapUp{"resolved", std::nullopt});
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, "wrap_up_closed");
  // An agent who was away stays away after a chat.
  AddAgent("bob", {"q"});
  SignIn("bob");
  std::string c3 = Queued("c3", "q");
  ASSERT_TRUE(Accept(c3, "bob"));
  Do([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().SetStatus(tx, "bob", "away", now, fx);
    if (!r) return Fail(r.error());
    return {};
  });
  ASSERT_TRUE(End(c3, "bob", WrapUp{}));
  EXPECT_EQ(AgentState("bob").status, "away");
}

}  // namespace
}  // namespace parley::routing::testing

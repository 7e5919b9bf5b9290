// Issue 19's supervisors in routing: away reasons and the status periods, a monitored chat's
// events reaching the supervisor, joining (barge in), take over and reassign, forcing an agent
// away, signing one out, and the floor the wallboard shows.

#include <gtest/gtest.h>

#include "http/auth.hpp"
#include "routing_fixture.hpp"

namespace parley::routing::testing {
namespace {

class RoutingSupervisionTest : public RoutingTest {
 protected:
  template <class T, class F>
  Result<T> AsSupervisor(const std::string& who, F step) {
    Actor actor = ActorFor(who);
    return TryAct<T>(
        [actor, step](Tx& tx, int64_t now, Effects& fx) { return step(tx, actor, now, fx); });
  }
  Result<ConversationRecord> Watch(const std::string& id, const std::string& who, bool join) {
    return AsSupervisor<ConversationRecord>(
        who, [this, id, join](Tx& tx, const Actor& a, int64_t now, Effects& fx) {
          return routing().Watch(tx, id, a, join, now, fx);
        });
  }
  std::vector<storage::StatusPeriodRecord> Periods(const std::string& username) {
    return Act<std::vector<storage::StatusPeriodRecord>>([&](Tx& tx, int64_t, Effects&) {
      return tx.ListStatusPeriods(username, 0, kStart + 365LL * 86'400'000);
    });
  }
  std::vector<std::string> NotesOf(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : Transcript(id))
      if (e.direction == "note" && e.sender == "system")
        out.emplace_back(json::parse(e.payload_json).at("text").as_string());
    return out;
  }
  // An active chat of `agent` in queue q.
  std::string ActiveChat(const std::string& customer, const std::string& agent) {
    std::string id = Queued(customer, "q");
    EXPECT_TRUE(Accept(id, agent));
    return id;
  }
};

TEST_F(RoutingSupervisionTest, TheRoleTableGivesSupervisorsEverythingButAdministration) {
  using http::Allows;
  using http::Permission;
  EXPECT_TRUE(Allows("supervisor", Permission::kAgentWork));
  EXPECT_TRUE(Allows("supervisor", Permission::kSeeAll));
  EXPECT_TRUE(Allows("supervisor", Permission::kSupervise));
  EXPECT_FALSE(Allows("supervisor", Permission::kAdminister));
  EXPECT_TRUE(Allows("agent", Permission::kAgentWork));
  EXPECT_FALSE(Allows("agent", Permission::kSeeAll));
  EXPECT_FALSE(Allows("agent", Permission::kSupervise));
  EXPECT_TRUE(Allows("admin", Permission::kAdminister));
  EXPECT_FALSE(Allows("owner", Permission::kAgentWork));
}

TEST_F(RoutingSupervisionTest, AnAwayReasonMustBeConfiguredAndEachStatusIsAPeriod) {
  AddAgent("ann", {"q"});
  SignIn("ann");  // online (away) and available at kStart
  clock_.Advance(60'000);
  auto lunch = TryAct<AgentView>([this](Tx& tx, int64_t now, Effects& fx) {
    return routing().SetStatus(tx, "ann", "away", now, fx, std::string("lunch"));
  });
  ASSERT_TRUE(lunch) << lunch.error().message;
  EXPECT_EQ(lunch->presence.away_reason, "lunch");
  EXPECT_EQ(Routing::ToJson(*lunch).at("away_reason").as_string(), "lunch");

  for (auto [status, reason] : {std::pair{"away", "nap"}, {"available", "lunch"}}) {
    auto bad = TryAct<AgentView>([&](Tx& tx, int64_t now, Effects& fx) {
      return routing().SetStatus(tx, "ann", status, now, fx, std::string(reason));
    });
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, "invalid_reason");
  }
  EXPECT_EQ(AgentState("ann").presence.away_reason, "lunch");  // a refusal changes nothing

  clock_.Advance(30'000);
  auto back = TryAct<AgentView>([this](Tx& tx, int64_t now, Effects& fx) {
    return routing().SetStatus(tx, "ann", "available", now, fx);
  });
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->presence.away_reason);
  EXPECT_EQ(back->presence.status_since_ms, kStart + 90'000);

  auto periods = Periods("ann");
  ASSERT_GE(periods.size(), 3u);
  const auto& last = periods.back();
  const auto& away = periods[periods.size() - 2];
  const auto& available = periods[periods.size() - 3];
  EXPECT_EQ(available.status, "available");
  EXPECT_EQ(available.started_at_ms, kStart);
  EXPECT_EQ(available.ended_at_ms, kStart + 60'000);
  EXPECT_EQ(away.status, "away");
  EXPECT_EQ(away.reason, "lunch");
  EXPECT_EQ(away.ended_at_ms, kStart + 90'000);
  EXPECT_EQ(last.status, "available");
  EXPECT_FALSE(last.ended_at_ms);
}

TEST_F(RoutingSupervisionTest, AMonitoredChatsEventsReachTheSupervisorUntilUnmonitor) {
  AddAgent("ann", {"q"});
  AddAgent("sue", {}, 3, "supervisor");
  SignIn("ann");
  std::string id = ActiveChat("c1", "ann");
  ASSERT_TRUE(Watch(id, "sue", false));
  int64_t from = LastSeq("sue");
  Say("c1", "my card is lost");
  auto seen = EventsOf("sue", from);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().type, "conversation.message");
  EXPECT_EQ(seen.back().conversation_id(), id);
  EXPECT_TRUE(seen.back().body.at("monitoring").as_bool());
  EXPECT_EQ(NotesOf(id).back(), "Agent sue is monitoring this chat.");

  auto stopped = AsSupervisor<ConversationRecord>(
      "sue", [this, id](Tx& tx, const Actor& a, int64_t now, Effects& fx) {
        return routing().Unwatch(tx, id, a, now, fx);
      });
  ASSERT_TRUE(stopped);
  from = LastSeq("sue");
  Say("c1", "hello?");
  EXPECT_TRUE(EventsOf("sue", from).empty());
  auto again = AsSupervisor<ConversationRecord>(
      "sue", [this, id](Tx& tx, const Actor& a, int64_t now, Effects& fx) {
        return routing().Unwatch(tx, id, a, now, fx);
      });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "not_monitoring");
}

// A chat's watchers are let go when it ends (by the agent or by the customer), after the end
// has reached them: nothing of it stays in conversation_watchers.
TEST_F(RoutingSupervisionTest, WatchersAreLetGoWhenTheChatEnds) {
  AddAgent("ann", {"q"}, 3);
  AddAgent("sue", {}, 3, "supervisor");
  AddAgent("tom", {}, 3, "supervisor");
  SignIn("ann");
  auto watchers = [this](const std::string& id) {
    return Act<std::vector<storage::WatcherRecord>>(
        [&](Tx& tx, int64_t, Effects&) { return tx.Watchers(id); });
  };
  std::string by_agent = ActiveChat("c1", "ann");
  std::string by_customer = ActiveChat("c2", "ann");
  for (const auto& id : {by_agent, by_customer}) {
    ASSERT_TRUE(Watch(id, "sue", false));
    ASSERT_TRUE(Watch(id, "tom", true));
    ASSERT_EQ(watchers(id).size(), 2u);
  }
  int64_t from = LastSeq("sue");
  ASSERT_TRUE(EndAsAgent(by_agent, "ann"));
  CustomerEnds("c2");
  int ends = 0;
  for (const auto& e : EventsOf("sue", from)) ends += e.type == "conversation.ended" ? 1 : 0;
  EXPECT_EQ(ends, 2);
  EXPECT_TRUE(watchers(by_agent).empty());
  EXPECT_TRUE(watchers(by_customer).empty());
}

TEST_F(RoutingSupervisionTest, AJoinedSupervisorMaySpeakWhileTheAgentKeepsTheChat) {
  AddAgent("ann", {"q"});
  AddAgent("sue", {}, 3, "supervisor");
  SignIn("ann");
  std::string id = ActiveChat("c1", "ann");
  Actor sue = ActorFor("sue");
  auto before = TryAct<ConversationRecord>(
      [&](Tx& tx, int64_t, Effects&) { return routing().Speaking(tx, id, sue); });
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code, "forbidden");
  ASSERT_TRUE(Watch(id, "sue", true));
  auto after = TryAct<ConversationRecord>(
      [&](Tx& tx, int64_t, Effects&) { return routing().Speaking(tx, id, sue); });
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->routing.agent, "ann");
  EXPECT_EQ(Conv(id).routing.agent, "ann");

  // Joining a chat nobody has is refused.
  std::string waiting = Queued("c2", "other");
  auto refused = Watch(waiting, "sue", true);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "not_active");
}

TEST_F(RoutingSupervisionTest, TakeOverAndReassignMoveAnyAgentsChat) {
  AddAgent("ann", {"q"});
  AddAgent("sue", {}, 3, "supervisor");
  SignIn("ann");
  SignIn("sue");
  std::string id = ActiveChat("c1", "ann");
  int64_t ann_from = LastSeq("ann");
  auto taken = AsSupervisor<ConversationRecord>(
      "sue", [this, id](Tx& tx, const Actor& a, int64_t now, Effects& fx) {
        return routing().TransferAny(tx, id, a, TransferTarget{std::nullopt, "sue", std::nullopt},
                                     now, fx);
      });
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(taken->state, "active");
  EXPECT_EQ(taken->routing.agent, "sue");
  EXPECT_EQ(ConversationsOf("ann", "conversation.removed", ann_from), std::vector<std::string>{id});
  EXPECT_EQ(NotesOf(id).back(), "Agent sue took over the chat from ann.");

  std::string other = ActiveChat("c2", "ann");
  auto moved = AsSupervisor<ConversationRecord>(
      "sue", [this, other](Tx& tx, const Actor& a, int64_t now, Effects& fx) {
        return routing().TransferAny(
            tx, other, a, TransferTarget{std::string("q"), std::nullopt, std::nullopt}, now, fx);
      });
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_NE(Conv(other).routing.agent, std::optional<std::string>("ann"));
  EXPECT_EQ(NotesOf(other).back(), "Agent sue reassigned the chat to queue q.");
}

TEST_F(RoutingSupervisionTest, ASignedOutAgentIsOfflineAndTheirChatsGoBack) {
  AddAgent("ann", {"q"});
  AddAgent("sue", {}, 3, "supervisor");
  SignIn("ann");
  std::string id = ActiveChat("c1", "ann");
  auto signed_out =
      AsSupervisor<AgentView>("sue", [this](Tx& tx, const Actor& a, int64_t now, Effects& fx) {
        return routing().SignOut(tx, "ann", a, now, fx);
      });
  ASSERT_TRUE(signed_out) << signed_out.error().message;
  EXPECT_EQ(signed_out->status, "offline");
  EXPECT_EQ(Conv(id).state, "queued");
  EXPECT_EQ(NotesOf(id).front(), "Agent sue signed Agent ann out.");
  EXPECT_EQ(Periods("ann").back().status, "offline");

  auto nobody =
      AsSupervisor<AgentView>("sue", [this](Tx& tx, const Actor& a, int64_t now, Effects& fx) {
        return routing().SignOut(tx, "zed", a, now, fx);
      });
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, "agent_not_found");
}

TEST_F(RoutingSupervisionTest, TheFloorCountsAgentsByStatusAndTheirFiguresOfToday) {
  AddAgent("ann", {"q"}, 1);
  AddAgent("bob", {"q"});
  AddAgent("cat", {"q"});
  SignIn("ann");
  SignIn("bob");
  std::string id = ActiveChat("c1", "ann");  // ann is full: busy
  Do([this](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
    auto r = routing().SetStatus(tx, "bob", "away", now, fx, std::string("break"));
    if (!r) return Fail(r.error());
    return {};
  });
  clock_.Advance(120'000);
  ASSERT_TRUE(EndAsAgent(id, "ann"));
  std::string next = ActiveChat("c2", "ann");

  auto floor =
      Act<FloorView>([this](Tx& tx, int64_t now, Effects&) { return routing().Floor(tx, now); });
  ASSERT_EQ(floor.queues.size(), 1u);
  EXPECT_EQ(floor.queues[0].agents["busy"], 1);
  EXPECT_EQ(floor.queues[0].agents["away"], 1);
  EXPECT_EQ(floor.queues[0].agents["offline"], 1);
  ASSERT_EQ(floor.agents.size(), 3u);
  const FloorAgent& ann = floor.agents[0];
  EXPECT_EQ(ann.floor_status, "busy");
  EXPECT_EQ(ann.chats_today, 2);
  ASSERT_TRUE(ann.average_handle_today_s);
  EXPECT_DOUBLE_EQ(*ann.average_handle_today_s, 120.0);
  ASSERT_EQ(ann.conversations.size(), 1u);
  EXPECT_EQ(ann.conversations[0].id, next);
  EXPECT_EQ(floor.agents[1].agent.presence.away_reason, "break");
  ASSERT_TRUE(floor.queues[0].view.average_handle_today_s);
  EXPECT_DOUBLE_EQ(*floor.queues[0].view.average_handle_today_s, 120.0);
  ASSERT_TRUE(floor.queues[0].view.average_wait_today_s);
  json::object o = Routing::ToJson(floor);
  EXPECT_EQ(o.at("queues").as_array()[0].at("agents_away").as_int64(), 1);
  EXPECT_EQ(o.at("agents").as_array()[0].at("chats_today").as_int64(), 2);
}

TEST(AgentTodayTest, ANewDayStartsTheFiguresAfresh) {
  storage::PresenceRecord p;
  int64_t day1 = 20'000LL * 86'400'000;
  AddAgentToday(p, day1 + 1000, 1, std::nullopt);
  AddAgentToday(p, day1 + 2000, 0, 60'000);
  EXPECT_EQ(p.chats_today, 1);
  EXPECT_EQ(p.handle_count_today, 1);
  EXPECT_EQ(p.handle_sum_today_ms, 60'000);
  AddAgentToday(p, day1 + 86'400'000, 1, std::nullopt);
  EXPECT_EQ(p.chats_today, 1);
  EXPECT_EQ(p.handle_count_today, 0);
  EXPECT_EQ(p.handle_sum_today_ms, 0);
  AddAgentToday(p, day1 + 86'400'500, 0, -5);  // a clock step back never counts negative
  EXPECT_EQ(p.handle_sum_today_ms, 0);
  EXPECT_EQ(p.handle_count_today, 1);
}

}  // namespace
}  // namespace parley::routing::testing

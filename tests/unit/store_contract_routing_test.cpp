// The store contract, second half (store_contract_test.cpp has the first half and the suite's
// instantiation): users and sessions, queues, presence, agents' events, routing state, idle
// conversations, and issue 19's status periods, watchers and figures of today, on every store.

#include <algorithm>
#include <functional>
#include <thread>

#include "store_contract_fixture.hpp"

namespace parley::storage {
namespace {

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

// Queue keys: the back counts up from 2^40 + 1, the head down from 2^40, and the first key of
// a queue that has no counters row yet makes that row (either end first).
TEST_P(StoreContractTest, QueueKeysCountFromTheMiddle) {
  auto store = Open();
  ASSERT_TRUE(store);
  constexpr int64_t kMiddle = int64_t{1} << 40;
  auto keys = [](std::string queue, std::vector<bool> at_head) {
    return [queue, at_head](Tx& tx) -> Result<std::vector<int64_t>> {
      std::vector<int64_t> out;
      for (bool head : at_head) {
        auto k = tx.NextQueueKey(queue, head);
        if (!k) return Fail(k.error());
        out.push_back(*k);
      }
      return out;
    };
  };
  using Keys = std::vector<int64_t>;
  EXPECT_EQ(Write<Keys>(*store, keys("back-first", {false, false, true, false, true})),
            (Keys{kMiddle + 1, kMiddle + 2, kMiddle, kMiddle + 3, kMiddle - 1}));
  EXPECT_EQ(Write<Keys>(*store, keys("head-first", {true, true, false})),
            (Keys{kMiddle, kMiddle - 1, kMiddle + 1}));
  // A rolled-back key is handed out again: keys are part of the transaction.
  auto rolled_back = [](Tx& tx) -> Result<void> {
    if (auto k = tx.NextQueueKey("back-first", false); !k) return Fail(k.error());
    return Fail(Errc::kConflict, "undo", "roll back");
  };
  EXPECT_FALSE(Write<void>(*store, rolled_back));
  EXPECT_EQ(Write<Keys>(*store, keys("back-first", {false})), (Keys{kMiddle + 4}));
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
  // The counters alone (what a routing step reads): the same row without the two waits.
  auto counters = Read<QueueStats>(*store, [](Tx& tx) { return tx.GetQueueCounters("sales"); });
  ASSERT_TRUE(counters);
  EXPECT_EQ(counters->queue, "sales");
  EXPECT_EQ(counters->waiting, 5);
  EXPECT_EQ(counters->members, 2);
  EXPECT_EQ(counters->available, 1);
  EXPECT_EQ(counters->version, stats->version);
  EXPECT_FALSE(counters->head_queued_at_ms);
  EXPECT_FALSE(counters->oldest_queued_at_ms);
  auto unknown = Read<QueueStats>(*store, [](Tx& tx) { return tx.GetQueueCounters("nowhere"); });
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->queue, "nowhere");
  EXPECT_EQ(unknown->waiting, 0);
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
  // A conversation is never inserted already routed: waiting without a key, with an offer
  // ringing, or active.
  auto routed = [](std::function<void(ConversationRecord&)> set) {
    return [set](Tx& tx) {
      ConversationRecord c = Conversation("x", "conn", "cx");
      set(c);
      return tx.InsertConversation(c);
    };
  };
  EXPECT_FALSE(Write<void>(*store, routed([](ConversationRecord& c) { c.state = "queued"; })));
  EXPECT_FALSE(Write<void>(*store, routed([](ConversationRecord& c) {
    c.state = "queued";
    c.routing.queue = "sales";
    c.routing.qkey = int64_t{1} << 41;
    c.routing.offered_to = "ann";
  })));
  EXPECT_FALSE(Write<void>(*store, routed([](ConversationRecord& c) {
    c.state = "active";
    c.routing.queue = "sales";
    c.routing.agent = "bob";
  })));
  // A new customer inserted already waiting at the back (a connection without a bot) is
  // counted as a move into the queue: the waiting count, the count per state and the rank.
  auto joins = [](Tx& tx) -> Result<void> {
    ConversationRecord c = Conversation("q5", "conn", "c5");
    auto key = tx.NextQueueKey("sales", /*at_head=*/false);
    if (!key) return Fail(key.error());
    c.state = "queued";
    c.owner = "queue:sales";
    c.routing.queue = "sales";
    c.routing.queued_at_ms = 600;
    c.routing.qkey = *key;
    return tx.InsertConversation(c);
  };
  ASSERT_TRUE(Write<void>(*store, joins));
  stats = Read<QueueStats>(*store, [](Tx& tx) { return tx.GetQueueStats("sales"); });
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->waiting, 5);
  counts =
      Read<std::map<std::string, int64_t>>(*store, [](Tx& tx) { return tx.CountConversations(); });
  ASSERT_TRUE(counts);
  EXPECT_EQ((*counts)["queued"], 5);
  EXPECT_EQ((*counts)["active"], 1);
  EXPECT_EQ(Read<int64_t>(*store, ahead("q5")), 4);  // q4 (offered), q1, q2, q3
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

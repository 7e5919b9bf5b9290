// The conversation service on a real temp SQLite store: opening and ending conversations,
// the echo loop with its seqs, idempotency, "none" bots, escalation and the transcript.

#include "conversation/conversation_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <future>
#include <mutex>
#include <set>

#include "bot/retired_bot.hpp"
#include "test_support.hpp"

namespace parley::conversation {
namespace {

namespace json = boost::json;
using parley::testing::Await;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;
using storage::ConversationRecord;
using storage::DeliveryRecord;
using storage::EventRecord;

class RecordingSink final : public OutboundSink {
 public:
  void Enqueue(std::vector<DeliveryRecord> events) override {
    std::lock_guard lock(mu_);
    for (auto& e : events) events_.push_back(std::move(e));
    ++batches_;
  }
  std::vector<DeliveryRecord> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  int Batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<DeliveryRecord> events_;
  int batches_ = 0;
};

class FakeActions final : public ActionRunner {
 public:
  boost::asio::awaitable<bot::CallOutcome> Run(bot::ExternalCall call) override {
    ++calls;
    last_url = call.url;
    bot::CallOutcome out;
    out.ok = true;
    out.response = json::object{{"balance", "12.34"}};
    co_return out;
  }
  std::atomic<int> calls{0};
  std::string last_url;
};

// Says "bot:<text>" to each turn; escalates to queue "cards" on "agent"; counts its turns;
// "balance" asks for an external call and answers its result.
class ScriptedBot final : public bot::Bot {
 public:
  bot::BotReply OnCustomerTurn(const bot::CustomerTurn& turn,
                               const json::value& state) const override {
    ++turns;
    bot::BotReply reply;
    std::string said = turn.text.empty() ? turn.postback.value_or("") : turn.text.front();
    int64_t n = state.is_object() ? state.at("turns").as_int64() : 0;
    reply.state = json::object{{"turns", n + 1}};
    if (turn.first_turn) reply.messages.push_back(channel::TextBody{{"welcome"}, {}});
    if (said == "agent") {
      reply.messages.push_back(channel::TextBody{{"Finding you a person."}, {}});
      reply.next = bot::BotReply::Next::kEscalate;
      reply.queue = "cards";
      return reply;
    }
    if (said == "balance") {
      bot::ExternalCall call;
      call.url = "https://bank.example/balance";
      reply.call = call;
      return reply;
    }
    reply.messages.push_back(channel::TextBody{{"bot:" + said}, {}});
    return reply;
  }
  bot::BotReply OnCallResult(const bot::CustomerTurn&, const bot::CallOutcome& outcome,
                             const json::value& state) const override {
    bot::BotReply reply;
    reply.state = state;
    reply.messages.push_back(channel::TextBody{
        {"balance " + std::string(outcome.response.at("balance").as_string())}, {}});
    return reply;
  }
  mutable std::atomic<int> turns{0};
};

class ConversationServiceTest : public ::testing::Test {
 protected:
  ConversationServiceTest() : clock_(1'764'000'000'000) {
    store_ = OpenSqlite(dir_.File("parley.db"));
    bots_.Put({"echo", "Echo", "built-in", 0}, std::make_shared<bot::EchoBot>());
    bots_.Put({"scripted", "Scripted", "test", 0}, scripted_);
    service_ = std::make_unique<ConversationService>(*store_, bots_, clock_, ids_, sink_, actions_);
    echo_conn_ = Connection("conn-echo", "echo");
  }

  static storage::ConnectionRecord Connection(std::string id, std::string bot) {
    storage::ConnectionRecord c;
    c.id = std::move(id);
    c.name = c.id;
    c.client_webhook = "https://hooks.example/x";
    c.bot = std::move(bot);
    c.secret = "s";
    return c;
  }

  static channel::InboundEvent Text(std::string customer, std::string message_id,
                                    std::vector<std::string> lines) {
    channel::CustomerText t;
    t.customer_id = std::move(customer);
    t.message_id = std::move(message_id);
    t.text = std::move(lines);
    return t;
  }

  static channel::InboundEvent End(std::string customer) {
    return channel::CustomerEndSession{std::move(customer), std::nullopt};
  }

  InboundOutcome Handle(const storage::ConnectionRecord& c, channel::InboundEvent e) {
    auto r = Await(io_, service_->HandleInbound(c, std::move(e)));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : InboundOutcome{};
  }

  std::pair<ConversationRecord, std::vector<EventRecord>> Get(const std::string& id) {
    auto r = Await(io_, service_->Get(id));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::pair<ConversationRecord, std::vector<EventRecord>>{};
  }

  static json::object Payload(const DeliveryRecord& d) {
    return json::parse(d.event.payload_json).as_object();
  }

  TempDir dir_;
  boost::asio::io_context io_;
  ManualClock clock_;
  SequentialIdGenerator ids_;
  RecordingSink sink_;
  FakeActions actions_;
  bot::BotRegistry bots_;
  std::shared_ptr<ScriptedBot> scripted_ = std::make_shared<ScriptedBot>();
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  std::unique_ptr<ConversationService> service_;
  storage::ConnectionRecord echo_conn_;
};

TEST_F(ConversationServiceTest, FirstTextOpensConversationAndEchoRepliesInSeqOrder) {
  InboundOutcome first = Handle(echo_conn_, Text("cust-1", "m1", {"hello", "there"}));
  EXPECT_FALSE(first.duplicate);
  ASSERT_FALSE(first.conversation_id.empty());
  ASSERT_EQ(first.outbound.size(), 1u);
  const DeliveryRecord& reply = first.outbound[0];
  EXPECT_EQ(reply.customer_id, "cust-1");
  EXPECT_EQ(reply.event.seq, 1);
  EXPECT_EQ(reply.event.direction, "out");
  EXPECT_EQ(reply.event.delivery_status, "pending");
  EXPECT_EQ(reply.event.next_attempt_at_ms, clock_.NowMs());
  json::object wire = Payload(reply);
  EXPECT_EQ(wire.at("type"), "text");
  EXPECT_EQ(wire.at("text"), json::value(json::array{"hello", "there"}));
  EXPECT_EQ(wire.at("seq"), 1);
  EXPECT_EQ(wire.at("from"), "bot");
  EXPECT_EQ(wire.at("customer_id"), "cust-1");
  EXPECT_EQ(wire.at("event_id"), json::value(*reply.event.event_id));
  EXPECT_EQ(wire.at("message_id"), json::value(*reply.event.event_id));

  auto [conv, transcript] = Get(first.conversation_id);
  EXPECT_EQ(conv.state, "bot");
  EXPECT_EQ(conv.owner, "bot");
  EXPECT_EQ(conv.connection_id, "conn-echo");
  EXPECT_EQ(conv.customer_id, "cust-1");

  clock_.Advance(1000);
  InboundOutcome second = Handle(echo_conn_, Text("cust-1", "m2", {"again"}));
  EXPECT_EQ(second.conversation_id, first.conversation_id);
  ASSERT_EQ(second.outbound.size(), 1u);
  EXPECT_EQ(second.outbound[0].event.seq, 2);
  InboundOutcome third = Handle(echo_conn_, Text("cust-1", "m3", {"and again"}));
  ASSERT_EQ(third.outbound.size(), 1u);
  EXPECT_EQ(third.outbound[0].event.seq, 3);

  // The sink got each reply once, in order.
  auto sent = sink_.Events();
  ASSERT_EQ(sent.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sent[i].event.seq, i + 1);
}

TEST_F(ConversationServiceTest, ConcurrentMessagesShareOneConversationWithDistinctSeqs) {
  // Submitted together, these land in the same group commit: each job must see the
  // conversation and seqs the previous one wrote.
  constexpr int kMessages = 20;
  std::vector<std::future<Result<InboundOutcome>>> futures;
  for (int i = 0; i < kMessages; ++i)
    futures.push_back(boost::asio::co_spawn(
        io_,
        service_->HandleInbound(echo_conn_,
                                Text("cust", "m" + std::to_string(i), {std::to_string(i)})),
        boost::asio::use_future));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto all_ready = [&] {
    for (auto& f : futures)
      if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    return true;
  };
  while (!all_ready() && std::chrono::steady_clock::now() < until) {
    io_.restart();
    io_.run_one_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(all_ready());
  std::set<std::string> conversations;
  std::set<int64_t> seqs;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error().message;
    conversations.insert(r->conversation_id);
    ASSERT_EQ(r->outbound.size(), 1u);
    seqs.insert(r->outbound[0].event.seq);
  }
  EXPECT_EQ(conversations.size(), 1u);
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kMessages);
  auto [conv, transcript] = Get(*conversations.begin());
  EXPECT_EQ(transcript.size(), static_cast<size_t>(2 * kMessages));
}

TEST_F(ConversationServiceTest, PostbackIsEchoedAsItsPayload) {
  channel::CustomerText t;
  t.customer_id = "c";
  t.message_id = "m";
  t.postback = "intent:hours";
  InboundOutcome out = Handle(echo_conn_, t);
  ASSERT_EQ(out.outbound.size(), 1u);
  EXPECT_EQ(Payload(out.outbound[0]).at("text"), json::value(json::array{"intent:hours"}));
}

TEST_F(ConversationServiceTest, CustomersHaveSeparateConversations) {
  InboundOutcome a = Handle(echo_conn_, Text("a", "m1", {"x"}));
  InboundOutcome b = Handle(echo_conn_, Text("b", "m2", {"y"}));
  EXPECT_NE(a.conversation_id, b.conversation_id);
  ASSERT_EQ(b.outbound.size(), 1u);
  EXPECT_EQ(b.outbound[0].event.seq, 1);
  // The same customer id on another connection is another conversation.
  InboundOutcome other = Handle(Connection("conn-2", "echo"), Text("a", "m1", {"z"}));
  EXPECT_FALSE(other.duplicate);
  EXPECT_NE(other.conversation_id, a.conversation_id);
}

TEST_F(ConversationServiceTest, DuplicateMessageIdChangesNothing) {
  InboundOutcome first = Handle(echo_conn_, Text("cust", "same-id", {"hi"}));
  ASSERT_EQ(first.outbound.size(), 1u);
  auto before = Get(first.conversation_id);
  InboundOutcome again = Handle(echo_conn_, Text("cust", "same-id", {"hi"}));
  EXPECT_TRUE(again.duplicate);
  EXPECT_TRUE(again.outbound.empty());
  // Also from another customer: the key is (connection, message_id).
  InboundOutcome other = Handle(echo_conn_, Text("someone-else", "same-id", {"hi"}));
  EXPECT_TRUE(other.duplicate);
  auto after = Get(first.conversation_id);
  EXPECT_EQ(after.second.size(), before.second.size());
  EXPECT_EQ(sink_.Events().size(), 1u);
  auto list = Await(io_, service_->List({}));
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(ConversationServiceTest, EndSessionThenNewConversationStartsAtSeqOne) {
  InboundOutcome first = Handle(echo_conn_, Text("cust", "m1", {"one"}));
  Handle(echo_conn_, Text("cust", "m2", {"two"}));
  clock_.Advance(5000);
  InboundOutcome ended = Handle(echo_conn_, End("cust"));
  EXPECT_EQ(ended.conversation_id, first.conversation_id);
  EXPECT_TRUE(ended.outbound.empty());
  auto [conv, transcript] = Get(first.conversation_id);
  EXPECT_EQ(conv.state, "ended");
  EXPECT_EQ(conv.ended_at_ms, clock_.NowMs());
  ASSERT_FALSE(transcript.empty());
  EXPECT_EQ(transcript.back().type, "customer_end_session");
  EXPECT_EQ(transcript.back().direction, "in");

  InboundOutcome next = Handle(echo_conn_, Text("cust", "m3", {"three"}));
  EXPECT_NE(next.conversation_id, first.conversation_id);
  ASSERT_EQ(next.outbound.size(), 1u);
  EXPECT_EQ(next.outbound[0].event.seq, 1);
  auto [fresh, fresh_transcript] = Get(next.conversation_id);
  EXPECT_EQ(fresh.state, "bot");
  ASSERT_EQ(fresh_transcript.size(), 2u);
  EXPECT_EQ(fresh_transcript[0].seq, 1);
  EXPECT_EQ(fresh_transcript[0].position, 1);
}

TEST_F(ConversationServiceTest, EndWithoutOpenConversationIsANoOp) {
  InboundOutcome out = Handle(echo_conn_, End("nobody"));
  EXPECT_FALSE(out.duplicate);
  EXPECT_TRUE(out.conversation_id.empty());
  auto list = Await(io_, service_->List({}));
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST_F(ConversationServiceTest, EndSessionWithRepeatedMessageIdIsDuplicate) {
  Handle(echo_conn_, Text("cust", "m1", {"one"}));
  channel::CustomerEndSession end{"cust", std::string("end-1")};
  EXPECT_FALSE(Handle(echo_conn_, end).duplicate);
  EXPECT_TRUE(Handle(echo_conn_, end).duplicate);
}

TEST_F(ConversationServiceTest, TypingIsNotStored) {
  InboundOutcome out = Handle(echo_conn_, channel::CustomerTyping{"cust"});
  EXPECT_TRUE(out.conversation_id.empty());
  auto list = Await(io_, service_->List({}));
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

// Without a bot the customer goes straight to the connection's queue ("default") and is told
// their place (no agent is signed in, so no estimate); the next message waits with them and
// causes nothing.
TEST_F(ConversationServiceTest, BotNoneQueuesAndSendsOnlyTheWaitTime) {
  auto none = Connection("conn-none", "none");
  InboundOutcome out = Handle(none, Text("cust", "m1", {"hello?"}));
  ASSERT_EQ(out.outbound.size(), 1u);
  EXPECT_EQ(out.outbound[0].event.type, "text");
  EXPECT_EQ(out.outbound[0].event.sender, "system");
  EXPECT_EQ(Payload(out.outbound[0]).at("text").as_array().at(0),
            "All our agents are busy right now. You are number 1 in the queue.");
  auto [conv, transcript] = Get(out.conversation_id);
  EXPECT_EQ(conv.state, "queued");
  EXPECT_EQ(conv.owner, "queue:default");
  ASSERT_EQ(transcript.size(), 2u);
  EXPECT_EQ(transcript[0].direction, "in");
  InboundOutcome later = Handle(none, Text("cust", "m2", {"anyone?"}));
  EXPECT_TRUE(later.outbound.empty());
}

TEST_F(ConversationServiceTest, EscalationLeavesTheBot) {
  auto conn = Connection("conn-s", "scripted");
  InboundOutcome first = Handle(conn, Text("cust", "m1", {"hi"}));
  ASSERT_EQ(first.outbound.size(), 2u);  // welcome + bot:hi
  EXPECT_EQ(scripted_->turns.load(), 1);
  InboundOutcome esc = Handle(conn, Text("cust", "m2", {"agent"}));
  ASSERT_EQ(esc.outbound.size(), 2u);  // the bot's words, then the wait (nobody is there)
  EXPECT_EQ(esc.outbound[0].event.seq, 3);
  EXPECT_EQ(esc.outbound[1].event.seq, 4);
  EXPECT_EQ(esc.outbound[1].event.sender, "system");
  EXPECT_EQ(Payload(esc.outbound[1]).at("text").as_array().at(0),
            "All our agents are busy right now. You are number 1 in the queue.");
  EXPECT_EQ(scripted_->turns.load(), 2);
  auto [conv, transcript] = Get(first.conversation_id);
  EXPECT_EQ(conv.state, "queued");
  EXPECT_EQ(conv.owner, "queue:cards");
  // The bot is not asked again while the conversation waits for a person.
  InboundOutcome later = Handle(conn, Text("cust", "m3", {"hello?"}));
  EXPECT_TRUE(later.outbound.empty());
  EXPECT_EQ(later.conversation_id, first.conversation_id);
  EXPECT_EQ(scripted_->turns.load(), 2);
  auto after = Get(first.conversation_id);
  EXPECT_EQ(after.second.size(), transcript.size() + 1);
  EXPECT_EQ(after.second.back().direction, "in");
}

// A connection may name a bot that is not loaded (its file was deleted before this start):
// the customer is told and handed to a person, not left talking to nothing.
TEST_F(ConversationServiceTest, BotThatIsNotLoadedHandsTheCustomerToAPerson) {
  auto conn = Connection("conn-gone", "gone");
  InboundOutcome out = Handle(conn, Text("cust", "m1", {"hello"}));
  ASSERT_EQ(out.outbound.size(), 2u);  // the notice, then the wait (nobody is there)
  EXPECT_EQ(out.outbound[0].event.seq, 1);
  EXPECT_EQ(Payload(out.outbound[0]).at("text").as_array().at(0).as_string(),
            bot::kRetiredBotNotice);
  EXPECT_EQ(Payload(out.outbound[1]).at("text").as_array().at(0),
            "All our agents are busy right now. You are number 1 in the queue.");
  auto [conv, transcript] = Get(out.conversation_id);
  EXPECT_EQ(conv.state, "queued");
  EXPECT_EQ(conv.owner, "queue:default");
  InboundOutcome later = Handle(conn, Text("cust", "m2", {"still there?"}));
  EXPECT_TRUE(later.outbound.empty());
}

TEST_F(ConversationServiceTest, DialogStateIsStoredBetweenTurns) {
  auto conn = Connection("conn-s", "scripted");
  InboundOutcome first = Handle(conn, Text("cust", "m1", {"a"}));
  Handle(conn, Text("cust", "m2", {"b"}));
  Handle(conn, Text("cust", "m3", {"c"}));
  auto [conv, transcript] = Get(first.conversation_id);
  ASSERT_TRUE(conv.dialog_state_json);
  EXPECT_EQ(json::parse(*conv.dialog_state_json).at("turns"), 3);
}

TEST_F(ConversationServiceTest, ExternalCallRunsAfterCommitAndItsRepliesFollow) {
  auto conn = Connection("conn-s", "scripted");
  InboundOutcome first = Handle(conn, Text("cust", "m1", {"balance"}));
  ASSERT_TRUE(first.call);
  // The action runs in the background on the io_context; drive it until its reply arrives.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sink_.Events().size() < 2 && std::chrono::steady_clock::now() < until) {
    io_.restart();
    io_.run_one_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(actions_.calls.load(), 1);
  EXPECT_EQ(actions_.last_url, "https://bank.example/balance");
  auto sent = sink_.Events();
  ASSERT_EQ(sent.size(), 2u);  // welcome, then the call's answer
  EXPECT_EQ(sent[1].event.seq, 2);
  EXPECT_EQ(Payload(sent[1]).at("text"), json::value(json::array{"balance 12.34"}));
}

TEST_F(ConversationServiceTest, TranscriptPositionsAndSeqs) {
  auto conn = Connection("conn-s", "scripted");
  InboundOutcome first = Handle(conn, Text("cust", "m1", {"one"}));  // in 1; out 1, 2
  Handle(conn, Text("cust", "m2", {"two"}));                         // in 2; out 3
  auto [conv, transcript] = Get(first.conversation_id);
  ASSERT_EQ(transcript.size(), 5u);
  struct Want {
    const char* direction;
    int64_t seq;
    const char* sender;
  };
  const Want want[] = {{"in", 1, "customer"},
                       {"out", 1, "bot"},
                       {"out", 2, "bot"},
                       {"in", 2, "customer"},
                       {"out", 3, "bot"}};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(transcript[i].position, static_cast<int64_t>(i + 1));
    EXPECT_EQ(transcript[i].direction, want[i].direction) << i;
    EXPECT_EQ(transcript[i].seq, want[i].seq) << i;
    EXPECT_EQ(transcript[i].sender, want[i].sender) << i;
  }
  EXPECT_EQ(transcript[0].message_id, "m1");
  EXPECT_EQ(conv.last_in_seq, 2);
  EXPECT_EQ(conv.last_out_seq, 3);
  EXPECT_EQ(conv.last_position, 5);
  // The inbound payload keeps what the customer sent.
  EXPECT_EQ(json::parse(transcript[3].payload_json).at("text"), json::value(json::array{"two"}));
  // And the JSON view of the transcript has what the admin API shows.
  json::object view = ConversationService::ToJson(transcript[1]);
  EXPECT_EQ(view.at("direction"), "out");
  EXPECT_EQ(view.at("from"), "bot");
  EXPECT_EQ(view.at("delivery_status"), "pending");
  EXPECT_TRUE(view.contains("event_id"));
}

TEST_F(ConversationServiceTest, CustomerNameAndContextAreMerged) {
  channel::CustomerText t;
  t.customer_id = "cust";
  t.message_id = "m1";
  t.text = {"hi"};
  t.customer_name = "Ann";
  t.context_data = json::object{{"plan", "gold"}, {"age", 40}};
  InboundOutcome first = Handle(echo_conn_, t);
  t.message_id = "m2";
  t.customer_name.reset();
  t.context_data = json::object{{"age", 41}};
  Handle(echo_conn_, t);
  auto [conv, transcript] = Get(first.conversation_id);
  EXPECT_EQ(conv.customer_name, "Ann");
  json::value ctx = json::parse(conv.context_json);
  EXPECT_EQ(ctx.at("plan"), "gold");
  EXPECT_EQ(ctx.at("age"), 41);
}

TEST_F(ConversationServiceTest, UnknownConversationIsNotFound) {
  auto r = Await(io_, service_->Get("no-such-id"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kNotFound);
}

TEST_F(ConversationServiceTest, ListFiltersByStateAndConnection) {
  Handle(echo_conn_, Text("a", "m1", {"x"}));
  Handle(Connection("conn-none", "none"), Text("b", "m2", {"y"}));
  storage::ConversationFilter queued;
  queued.state = "queued";
  auto q = Await(io_, service_->List(queued));
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ(q->front().customer_id, "b");
  storage::ConversationFilter by_conn;
  by_conn.connection_id = "conn-echo";
  auto c = Await(io_, service_->List(by_conn));
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ(c->front().customer_id, "a");
}

}  // namespace
}  // namespace parley::conversation

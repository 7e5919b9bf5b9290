#pragma once
// A Routing over a real temp SQLite store, driven through ConversationService (its Speaker) with
// a ManualClock: agents are users with presence, customers talk to the echo bot and are put in
// queues, and every routing step runs as one store write job (Act). What agents were told is
// read back from the store (Tx::AgentEventsAfter).

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conversation/conversation_service.hpp"
#include "test_support.hpp"

namespace parley::routing::testing {

namespace json = boost::json;
using parley::testing::Await;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;
using storage::ConversationRecord;
using storage::DeliveryRecord;
using storage::EventRecord;
using storage::Tx;

class RecordingSink final : public conversation::OutboundSink {
 public:
  void Enqueue(std::vector<DeliveryRecord> events) override {
    std::lock_guard lock(mu_);
    for (auto& e : events) events_.push_back(std::move(e));
  }
  std::vector<DeliveryRecord> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<DeliveryRecord> events_;
};

class NoActions final : public conversation::ActionRunner {
 public:
  boost::asio::awaitable<bot::CallOutcome> Run(bot::ExternalCall) override {
    co_return bot::CallOutcome{};
  }
};

// One live event of an agent, parsed.
struct AgentEvent {
  std::string type;
  json::object body;
  std::string conversation_id() const {
    if (!body.contains("conversation")) return "";
    return std::string(body.at("conversation").at("id").as_string());
  }
  std::string reason() const {
    return body.contains("reason") ? std::string(body.at("reason").as_string()) : "";
  }
};

class RoutingTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1'764'000'000'000;

  RoutingTest() : clock_(kStart) {
    store_ = OpenSqlite(dir_.File("parley.db"));
    bots_.Put({"echo", "Echo", "built-in", 0}, std::make_shared<bot::EchoBot>());
    service_ = std::make_unique<conversation::ConversationService>(*store_, bots_, clock_, ids_,
                                                                   sink_, actions_, settings_);
    echo_.id = "conn-echo";
    echo_.name = "conn-echo";
    echo_.client_webhook = "https://hooks.example/x";
    echo_.bot = "echo";
    echo_.secret = "s";
  }

  Routing& routing() { return service_->routing(); }

  // For tests of the wait estimate itself with nobody of the queue there: no_agents_text ""
  // (as in a config file) sends the estimate anyway. Call it first, before anything is stored.
  void EstimatesEvenWithNobody() {
    settings_.texts.no_agents_text = "";
    service_ = std::make_unique<conversation::ConversationService>(*store_, bots_, clock_, ids_,
                                                                   sink_, actions_, settings_);
  }

  // Runs `step(tx, now, fx) -> Result<T>` as one write job (plus its queue.updated events).
  template <class T, class F>
  Result<T> TryAct(F step) {
    return Await(io_, service_->Act<T>(std::move(step)));
  }
  template <class T, class F>
  T Act(F step) {
    auto r = TryAct<T>(std::move(step));
    EXPECT_TRUE(r) << r.error().code << ": " << r.error().message;
    return r ? std::move(*r) : T{};
  }
  // For routing steps that return Result<void>.
  template <class F>
  void Do(F step) {
    Act<bool>([step = std::move(step)](Tx& tx, int64_t now, Effects& fx) -> Result<bool> {
      auto r = step(tx, now, fx);
      if (!r) return Fail(r.error());
      return true;
    });
  }

  void AddAgent(const std::string& username, std::vector<std::string> queues, int64_t max_chats = 3,
                const std::string& role = "agent") {
    storage::UserRecord u;
    u.username = username;
    u.display_name = "Agent " + username;
    u.role = role;
    u.queues = std::move(queues);
    u.max_chats = max_chats;
    u.password_hash = "not-a-real-hash";
    u.created_at_ms = u.updated_at_ms = clock_.NowMs();
    Do([u](Tx& tx, int64_t, Effects&) { return tx.InsertUser(u); });
  }

  // The agent opens an event stream and says they are available.
  void SignIn(const std::string& username) {
    Do([&](Tx& tx, int64_t now, Effects& fx) -> Result<void> {
      auto opened = routing().StreamOpened(tx, username, now, fx);
      if (!opened) return Fail(opened.error());
      auto status = routing().SetStatus(tx, username, "available", now, fx);
      if (!status) return Fail(status.error());
      return {};
    });
  }

  Actor ActorFor(const std::string& username) {
    auto u =
        Act<storage::UserRecord>([&](Tx& tx, int64_t, Effects&) -> Result<storage::UserRecord> {
          auto found = tx.GetUser(username);
          if (!found) return Fail(found.error());
          if (!*found) return Fail(Errc::kNotFound, "user_not_found", username);
          return **found;
        });
    return Actor{u.username, u.display_name, u.queues, u.max_chats};
  }

  Result<ConversationRecord> Accept(const std::string& id, const std::string& agent) {
    Actor actor = ActorFor(agent);
    return TryAct<ConversationRecord>([this, id, actor](Tx& tx, int64_t now, Effects& fx) {
      return routing().Accept(tx, id, actor, now, fx);
    });
  }

  Result<ConversationRecord> EndAsAgent(const std::string& id, const std::string& agent) {
    Actor actor = ActorFor(agent);
    return TryAct<ConversationRecord>([this, id, actor](Tx& tx, int64_t now, Effects& fx) {
      return routing().End(tx, id, actor, now, fx);
    });
  }

  // One tick of the server's sweep: slices until nothing more is due (bounded, as serve.cpp).
  // Returns the slices it took.
  int Sweep() {
    for (int slice = 1; slice <= 1000; ++slice) {
      bool more = Act<bool>(
          [this](Tx& tx, int64_t now, Effects& fx) { return routing().Sweep(tx, now, fx); });
      if (!more) return slice;
    }
    ADD_FAILURE() << "the sweep still had more to do after 1,000 slices";
    return 1000;
  }

  // A customer says something to the echo bot; returns the conversation id.
  std::string Say(const std::string& customer, const std::string& text) {
    channel::CustomerText t;
    t.customer_id = customer;
    t.message_id = customer + "-" + std::to_string(++message_n_);
    t.text = {text};
    auto r = Await(io_, service_->HandleInbound(echo_, t));
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->conversation_id : "";
  }

  void CustomerEnds(const std::string& customer) {
    auto r = Await(
        io_, service_->HandleInbound(echo_, channel::CustomerEndSession{customer, std::nullopt}));
    EXPECT_TRUE(r) << r.error().message;
  }

  // A customer who talked to the bot and was put in `queue` now.
  std::string Queued(const std::string& customer, const std::string& queue) {
    std::string id = Say(customer, "hello");
    Do([&](Tx& tx, int64_t now, Effects& fx) { return routing().Enqueue(tx, id, queue, now, fx); });
    return id;
  }

  ConversationRecord Conv(const std::string& id) {
    return Act<ConversationRecord>([&](Tx& tx, int64_t, Effects&) -> Result<ConversationRecord> {
      auto found = tx.GetConversation(id);
      if (!found) return Fail(found.error());
      if (!*found) return Fail(Errc::kNotFound, "conversation_not_found", id);
      return **found;
    });
  }

  std::vector<EventRecord> Transcript(const std::string& id) {
    return Act<std::vector<EventRecord>>(
        [&](Tx& tx, int64_t, Effects&) { return tx.Transcript(id); });
  }

  // The texts the customer of `id` was sent, in order.
  std::vector<std::string> TextsSent(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : Transcript(id)) {
      if (e.direction != "out" || e.type != "text") continue;
      json::value p = json::parse(e.payload_json);
      for (const auto& line : p.at("text").as_array()) out.emplace_back(line.as_string());
    }
    return out;
  }

  // The wait_time events sent to the customer of `id`: (queue_position, waitTime).
  std::vector<std::pair<int64_t, int64_t>> WaitTimesSent(const std::string& id) {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (const auto& e : Transcript(id)) {
      if (e.direction != "out" || e.type != "wait_time") continue;
      json::object p = json::parse(e.payload_json).as_object();
      out.emplace_back(p.at("queue_position").as_int64(), p.at("waitTime").as_int64());
    }
    return out;
  }

  std::vector<std::string> WaitingIds(const std::string& queue) {
    auto waiting = Act<std::vector<ConversationRecord>>(
        [&](Tx& tx, int64_t, Effects&) { return tx.Waiting(queue, 100); });
    std::vector<std::string> out;
    for (const auto& c : waiting) out.push_back(c.id);
    return out;
  }

  AgentView AgentState(const std::string& username) {
    return Act<AgentView>([&](Tx& tx, int64_t, Effects&) { return routing().Agent(tx, username); });
  }

  QueueView QueueState(const std::string& queue) {
    return Act<QueueView>(
        [&](Tx& tx, int64_t now, Effects&) { return routing().Queue(tx, queue, now); });
  }

  // Every event stored for `username` after seq `after`.
  std::vector<AgentEvent> EventsOf(const std::string& username, int64_t after = 0) {
    auto records = Act<std::vector<storage::AgentEventRecord>>(
        [&](Tx& tx, int64_t, Effects&) { return tx.AgentEventsAfter(username, after, 10000); });
    std::vector<AgentEvent> out;
    for (const auto& r : records) {
      json::object body = json::parse(r.body_json).as_object();
      EXPECT_EQ(body.at("type").as_string(), r.type);
      out.push_back(AgentEvent{r.type, std::move(body)});
    }
    return out;
  }
  int64_t LastSeq(const std::string& username) {
    return Act<int64_t>([&](Tx& tx, int64_t, Effects&) { return tx.LastAgentEventSeq(username); });
  }
  // The conversations of `username`'s events of `type` (after seq `after`), in order.
  std::vector<std::string> ConversationsOf(const std::string& username, const std::string& type,
                                           int64_t after = 0) {
    std::vector<std::string> out;
    for (const auto& e : EventsOf(username, after))
      if (e.type == type) out.push_back(e.conversation_id());
    return out;
  }

  TempDir dir_;
  boost::asio::io_context io_;
  ManualClock clock_;
  SequentialIdGenerator ids_;
  RecordingSink sink_;
  NoActions actions_;
  bot::BotRegistry bots_;
  Settings settings_;
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  std::unique_ptr<conversation::ConversationService> service_;
  storage::ConnectionRecord echo_;
  int message_n_ = 0;
};

}  // namespace parley::routing::testing

// The conversation layer with a real bot (bots/bank.yaml) on a temp SQLite store: replies a
// connection's channel cannot show go out as text, the customer's "2" picks item 2, and what
// the bot took each message as is kept with it for agent assist (issue 18).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <mutex>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "conversation/assist.hpp"
#include "conversation/conversation_service.hpp"
#include "test_support.hpp"

namespace parley::conversation {
namespace {
namespace json = boost::json;
using parley::testing::Await;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;

class Sink final : public OutboundSink {
 public:
  void Enqueue(std::vector<storage::DeliveryRecord> events) override {
    std::lock_guard lock(mu_);
    for (auto& e : events) events_.push_back(std::move(e));
  }
  std::vector<storage::DeliveryRecord> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(events_, {});
  }

 private:
  std::mutex mu_;
  std::vector<storage::DeliveryRecord> events_;
};

class NoActions final : public ActionRunner {
 public:
  boost::asio::awaitable<bot::CallOutcome> Run(bot::ExternalCall) override {
    co_return bot::CallOutcome{};
  }
};

class CapabilitiesServiceTest : public ::testing::Test {
 protected:
  CapabilitiesServiceTest() : clock_(1'764'000'000'000) {
    store_ = OpenSqlite(dir_.File("parley.db"));
    auto path = std::filesystem::path(__FILE__).parent_path() / "../../bots/bank.yaml";
    bot::DefinitionResult def = bot::LoadDefinitionFile(path.string());
    auto bank = bot::DialogBot::Create(std::move(*def.definition), clock_);
    EXPECT_TRUE(bank);
    bots_.Put({"bank", "Ava", "test", 0}, *bank);
    service_ = std::make_unique<ConversationService>(*store_, bots_, clock_, ids_, sink_, actions_);
  }

  storage::ConnectionRecord Connection(const std::string& id, const std::string& caps) {
    storage::ConnectionRecord c;
    c.id = id;
    c.name = id;
    c.client_webhook = "https://hooks.example/x";
    c.bot = "bank";
    c.secret = "s";
    c.capabilities = caps;
    auto job = [c](storage::Tx& tx) -> Result<bool> {
      auto r = tx.InsertConnection(c);
      if (!r) return Fail(r.error());
      return true;
    };
    EXPECT_TRUE(Await(io_, store_->Write<bool>(job)));
    return c;
  }

  // The customer's text; returns the wire bodies sent back.
  std::vector<json::object> Say(const storage::ConnectionRecord& c, const std::string& text) {
    channel::CustomerText t;
    t.customer_id = "cust";
    t.message_id = "m" + std::to_string(++n_);
    t.text = {text};
    auto r = Await(io_, service_->HandleInbound(c, t));
    EXPECT_TRUE(r) << r.error().message;
    conversation_id_ = r->conversation_id;
    std::vector<json::object> out;
    for (const auto& d : r->outbound) out.push_back(json::parse(d.event.payload_json).as_object());
    return out;
  }

  std::vector<storage::EventRecord> Transcript() {
    auto r = Await(io_, service_->Get(conversation_id_));
    EXPECT_TRUE(r);
    return r->second;
  }

  TempDir dir_;
  boost::asio::io_context io_;
  ManualClock clock_;
  SequentialIdGenerator ids_;
  Sink sink_;
  NoActions actions_;
  bot::BotRegistry bots_;
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  std::unique_ptr<ConversationService> service_;
  std::string conversation_id_;
  int n_ = 0;
};

std::vector<std::string> Lines(const json::object& wire) {
  std::vector<std::string> out;
  for (const auto& l : wire.at("text").as_array()) out.emplace_back(l.as_string());
  return out;
}

TEST_F(CapabilitiesServiceTest, ATextOnlyChannelGetsNumberedMenusAndItsTwoPicksItemTwo) {
  auto conn = Connection("conn-text", "");
  auto greeting = Say(conn, "hello");
  ASSERT_EQ(greeting.size(), 2u);
  EXPECT_EQ(greeting[1].at("type").as_string(), "text");
  std::vector<std::string> menu = Lines(greeting[1]);
  ASSERT_EQ(menu.size(), 7u);
  EXPECT_EQ(menu[0], "What can I help you with?");
  EXPECT_EQ(menu[2], "2. Block a card");
  EXPECT_EQ(menu[5], "5. Online banking");
  ASSERT_TRUE(greeting[1].contains("choices"));
  EXPECT_EQ(greeting[1].at("choices").as_array()[1].at("payload").as_string(), "flow:block_card");

  // "2" taps "Block a card".
  auto asked = Say(conn, "2");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(Lines(asked[0]),
            (std::vector<std::string>{"What are the last four digits of the card?"}));
  auto transcript = Transcript();
  json::object in = json::parse(transcript[transcript.size() - 2].payload_json).as_object();
  EXPECT_EQ(in.at("postback").as_string(), "flow:block_card");
  EXPECT_EQ(in.at("text").as_array()[0].as_string(), "2");

  // The confirmation menu as text; "2" there is "No, keep it".
  auto confirm = Say(conn, "it ends 4321");
  ASSERT_EQ(confirm.size(), 1u);
  EXPECT_EQ(Lines(confirm[0]), (std::vector<std::string>{"Block the card ending 4321?",
                                                         "1. Yes, block it", "2. No, keep it"}));
  auto kept = Say(conn, "2");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(Lines(kept[0]), (std::vector<std::string>{"OK, I left the card ending 4321 active."}));

  // A link button as "label: url".
  auto link = Say(conn, "how do i log in to online banking");
  ASSERT_EQ(link.size(), 1u);
  EXPECT_EQ(Lines(link[0]), (std::vector<std::string>{
                                "Manage your accounts online, any time.",
                                "Open online banking: https://online.parley-bank.example/login"}));
}

TEST_F(CapabilitiesServiceTest, ACarouselOnlyChannelKeepsCarouselsAndNumbersMenusAcrossABurst) {
  auto conn = Connection("conn-carousel", "carousel,link_button");
  Say(conn, "hello");
  // London: a carousel (shown as it is) and then the main menu (as text).
  auto london = Say(conn, "are there branches in london");
  ASSERT_GE(london.size(), 3u);
  EXPECT_EQ(london[0].at("type").as_string(), "carousel");
  EXPECT_EQ(london.back().at("type").as_string(), "text");
  EXPECT_EQ(Lines(london.back())[1], "1. Check my balance");
  // The item's text picks it too.
  auto hours = Say(conn, "opening hours");
  ASSERT_FALSE(hours.empty());
  EXPECT_NE(Lines(hours[0])[0].find("9:00-17:00"), std::string::npos);
}

TEST_F(CapabilitiesServiceTest, AChannelThatShowsEverythingGetsMenus) {
  auto conn = Connection("conn-all", "menu,carousel,link_button,typing_indicator");
  auto greeting = Say(conn, "hello");
  ASSERT_EQ(greeting.size(), 2u);
  EXPECT_EQ(greeting[1].at("type").as_string(), "menu");
  EXPECT_FALSE(greeting[1].contains("choices"));
  // "2" is then just text (the channel sends taps as postbacks).
  auto two = Say(conn, "2");
  auto transcript = Transcript();
  json::object in =
      json::parse(transcript[transcript.size() - 1 - two.size()].payload_json).as_object();
  EXPECT_FALSE(in.contains("postback"));
}

TEST_F(CapabilitiesServiceTest, WhatTheBotDidIsKeptWithTheMessageAndAssistAgrees) {
  auto conn = Connection("conn-note", "menu,carousel,link_button,typing_indicator");
  Say(conn, "hello");
  Say(conn, "i lost my card");
  Say(conn, "it ends 4321");
  auto transcript = Transcript();
  const storage::EventRecord* answer = nullptr;
  for (const auto& e : transcript) {
    if (e.direction == "in" && e.payload_json.find("it ends 4321") != std::string::npos)
      answer = &e;
  }
  ASSERT_NE(answer, nullptr);
  json::object in = json::parse(answer->payload_json).as_object();
  ASSERT_TRUE(in.contains("bot"));
  EXPECT_EQ(in.at("bot").at("kind").as_string(), "answer");
  EXPECT_EQ(in.at("bot").at("slot").as_string(), "last4");

  auto note = FindTurnNote(transcript, "it ends 4321", std::nullopt);
  ASSERT_TRUE(note);
  auto a = Assist(bots_, "bank", "it ends 4321", std::nullopt, note);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->understood);
  EXPECT_EQ(a->label,
            "answered the question \"What are the last four digits of the card?\" (last4: 4321)");
  // Without the bot's record, the classifier alone would not understand it.
  auto guess = Assist(bots_, "bank", "it ends 4321", std::nullopt, std::nullopt);
  ASSERT_TRUE(guess);
  EXPECT_FALSE(guess->understood);
  EXPECT_EQ(guess->label, "not understood");

  // An intent whose reply is a flow suggests the flow's first question (a menu also as text).
  auto balance = Assist(bots_, "bank", "what is my balance", std::nullopt, std::nullopt);
  ASSERT_TRUE(balance);
  EXPECT_TRUE(balance->understood);
  ASSERT_EQ(balance->suggestions.size(), 2u);
  const auto* text = std::get_if<channel::TextBody>(&balance->suggestions[0]);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->text[0], "Which account?");
  EXPECT_TRUE(std::holds_alternative<channel::MenuBody>(balance->suggestions[1]));
}

}  // namespace
}  // namespace parley::conversation

// app::DemoBankAnswer and PointBankCallsAt: the demo bank answers the bank bot's two calls the
// way an action answers (docs/bot-authoring.md), and the demo points the bot's calls at it.

#include "app/demo_bank.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley::app {
namespace {

namespace json = boost::json;

json::object Slots(json::object slots) { return json::object{{"slots", std::move(slots)}}; }

TEST(DemoBank, BalanceOfEachAccount) {
  auto current = DemoBankAnswer("/v1/balance", Slots({{"account", "current"}}));
  ASSERT_TRUE(current) << current.error().message;
  EXPECT_EQ(current->at("slots").at("found"), "yes");
  EXPECT_EQ(current->at("slots").at("balance"), "£1,234.56");
  auto savings = DemoBankAnswer("/v1/balance", Slots({{"account", "savings"}}));
  ASSERT_TRUE(savings);
  EXPECT_EQ(savings->at("slots").at("balance"), "£5,210.00");
  auto other = DemoBankAnswer("/v1/balance", Slots({{"account", "pension"}}));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->at("slots").at("found"), "no");
}

TEST(DemoBank, BlocksACardByItsLastFourDigits) {
  auto blocked = DemoBankAnswer("/v1/cards/block", Slots({{"last4", "4321"}}));
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->at("slots").at("blocked"), "yes");
  auto bad = DemoBankAnswer("/v1/cards/block", Slots({{"last4", "43a1"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_last4");
  auto unknown = DemoBankAnswer("/v1/loans", json::object{});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "not_found");
}

TEST(DemoBank, PointsOnlyTheBankCallsAtTheDemoBank) {
  std::string yaml =
      "url: \"https://api.parley-bank.example/v1/balance\"\n"
      "url: \"https://api.parley-bank.example/v1/cards/block\"\n"
      "url: \"https://online.parley-bank.example/login\"\n";
  EXPECT_EQ(PointBankCallsAt(yaml, "http://127.0.0.1:4000"),
            "url: \"http://127.0.0.1:4000/v1/balance\"\n"
            "url: \"http://127.0.0.1:4000/v1/cards/block\"\n"
            "url: \"https://online.parley-bank.example/login\"\n");
}

}  // namespace
}  // namespace parley::app

// `parley bot test`: conversation tests in YAML beside the bot (issue 18).

#include "bot/conversation_tests.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/bot_cli.hpp"
#include "bot/bot_loader.hpp"
#include "core/clock.hpp"
#include "test_support.hpp"

namespace parley::bot {
namespace {
namespace fs = std::filesystem;
using parley::testing::TempDir;

std::string BankFile() {
  return (fs::path(__FILE__).parent_path() / "../../bots/bank.yaml").string();
}

constexpr const char* kBot = R"(name: Tess
greeting: [{text: "Hi {customer_name|there}."}]
threshold: 0.5
fallback: {replies: [{text: "Sorry?"}]}
intents:
  - {name: hours, examples: [when are you open, opening hours, are you open today], replies: [{text: "Nine to five."}]}
  - {name: balance, examples: [what is my balance, how much money do i have], flow: balance}
flows:
  balance:
    steps:
      - ask: {menu: {title: "Which account?", items: [{text: Current, payload: current}, {text: Savings, payload: savings}]}}
        slot: account
      - call: {url: "https://bank.example/balance"}
      - replies: [{text: "Your {account} balance is {balance}."}]
)";

struct Files {
  TempDir dir;
  std::string bot, tests;
  Files(const std::string& tests_yaml) {
    bot = dir.File("tess.yaml");
    tests = dir.File("tess.test.yaml");
    std::ofstream(bot) << kBot;
    std::ofstream(tests) << tests_yaml;
  }
};

int RunTests(const std::string& bot, std::vector<std::string> tests, std::string& out,
             std::string& err, std::optional<std::string> junit = std::nullopt) {
  std::ostringstream o, e;
  int rc = app::RunBotTest(bot, tests, junit, o, e);
  out = o.str();
  err = e.str();
  return rc;
}

TEST(ConversationTestsTest, TheBankBotsOwnTestsPass) {
  std::string out, err;
  int rc = RunTests(BankFile(), {}, out, err);  // bots/bank.test.yaml, found beside it
  EXPECT_EQ(rc, 0) << out << err;
  EXPECT_NE(out.find("bank.test.yaml: "), std::string::npos) << out;
  EXPECT_NE(out.find(", 0 failed"), std::string::npos) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

TEST(ConversationTestsTest, PassingTurnsWithStubbedCalls) {
  Files f(R"(tests:
  - name: balance
    customer_name: Sam
    calls:
      "https://bank.example/balance": {slots: {balance: "£3"}}
    turns:
      - say: hi
        replies: ["Hi Sam."]
      - say: what is my balance
        intent: balance
        replies: [{menu: [Current, Savings]}]
      - say: Savings
        slots: {account: savings, balance: "£3"}
        replies: [{text: "Your savings balance is £3."}]
  - name: hours, context and a postback
    turns:
      - postback: "intent:hours"
        context_data: {region: uk}
        replies: [{type: text}, {contains: "five"}]
      - say: florp blarg wuzzle
        not_understood: true
)");
  std::string out, err;
  EXPECT_EQ(RunTests(f.bot, {}, out, err), 0) << out << err;
  EXPECT_NE(out.find("2 tests, 2 passed, 0 failed"), std::string::npos) << out;
}

TEST(ConversationTestsTest, AFailingTurnShowsExpectedAndActualAndExitsOne) {
  Files f(R"(tests:
  - name: wrong answer
    turns:
      - say: when are you open
        intent: balance
        replies: [{text: "Hi there."}, {text: "Ten to six."}]
  - name: missing stub
    turns:
      - say: what is my balance
      - postback: current
)");
  std::string out, err;
  const std::string junit = f.dir.File("report.xml");
  EXPECT_EQ(RunTests(f.bot, {f.tests}, out, err, junit), 1);
  EXPECT_NE(out.find("FAIL  wrong answer"), std::string::npos) << out;
  EXPECT_NE(out.find("turn 1 (line 4) > when are you open: expected intent balance, got intent "
                     "hours"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("2. text \"Ten to six.\"   <- differs"), std::string::npos) << out;
  EXPECT_NE(out.find("2. text \"Nine to five.\""), std::string::npos) << out;
  EXPECT_NE(out.find("no stub answers the call to https://bank.example/balance"), std::string::npos)
      << out;
  EXPECT_NE(out.find("2 tests, 0 passed, 2 failed"), std::string::npos) << out;
  std::ifstream in(junit);
  std::stringstream xml;
  xml << in.rdbuf();
  EXPECT_NE(xml.str().find("<testsuite name=\"tess\" tests=\"2\" failures=\"2\""),
            std::string::npos)
      << xml.str();
  EXPECT_NE(xml.str().find("<testcase name=\"wrong answer\""), std::string::npos);
  EXPECT_NE(xml.str().find("<failure message=\""), std::string::npos);
}

TEST(ConversationTestsTest, ABrokenTestFileIsRefusedWithItsLine) {
  Files f(R"(tests:
  - name: typo
    turns:
      - say: hi
        replys: []
)");
  std::string out, err;
  EXPECT_EQ(RunTests(f.bot, {}, out, err), 1);
  EXPECT_NE(err.find("tess.test.yaml:5: unknown key 'replys' in a turn"), std::string::npos) << err;
  std::string none_out, none_err;
  EXPECT_EQ(RunTests(f.bot, {f.dir.File("nope.test.yaml")}, none_out, none_err), 1);
  EXPECT_NE(none_err.find("cannot read the file"), std::string::npos) << none_err;
}

TEST(ConversationTestsTest, TestFilesBesideBotsAreNotLoadedAsBots) {
  Files f("tests: []\n");
  BotRegistry registry;
  ManualClock clock(1);
  auto n = LoadBotsDir(f.dir.path().string(), registry, clock, false);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u);  // tess.yaml only; tess.test.yaml is its tests
  EXPECT_TRUE(registry.Contains("tess"));
  EXPECT_EQ(registry.List().size(), 1u);
  EXPECT_EQ(DefaultTestsPath("bots/bank.yaml"), "bots/bank.test.yaml");
}

}  // namespace
}  // namespace parley::bot

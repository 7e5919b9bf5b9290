#include "bot/bot_loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "bot/dialog_bot.hpp"
#include "bot/retired_bot.hpp"

namespace parley::bot {
namespace {
namespace fs = std::filesystem;

std::string GoodBot(const std::string& display, const std::string& answer) {
  return "name: " + display + R"(
fallback:
  replies: [{text: "Sorry?"}]
intents:
  - name: hours
    examples: [when are you open, opening hours, are you open today]
    replies: [{text: ")" +
         answer + R"("}]
  - name: bye
    examples: [goodbye, see you later, bye now]
    replies: [{text: "Bye!"}]
)";
}

class BotLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("parley-bots-" + std::to_string(rd()));
    fs::create_directories(dir_);
    registry_.Put(BotInfo{"echo", "Echo", "built-in", 0}, std::make_shared<EchoBot>());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file) << text;
  }

  std::string Answer(const std::string& name, const std::string& text) {
    auto bot = registry_.Find(name);
    if (!bot) return "<no bot>";
    CustomerTurn turn;
    turn.text = {text};
    BotReply r = bot->OnCustomerTurn(turn, nullptr);
    if (r.messages.empty()) return "<nothing>";
    const auto* t = std::get_if<channel::TextBody>(&r.messages.back());
    return t ? t->text.front() : "<not text>";
  }

  fs::path dir_;
  BotRegistry registry_;
  ManualClock clock_{1'700'000'000'000};
};

TEST_F(BotLoaderTest, LoadsEveryYamlFileByStemAndKeepsEcho) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  Write("beta.yaml", GoodBot("Beta", "Always."));
  Write("notes.txt", "not a bot");
  auto n = LoadBotsDir(dir_.string(), registry_, clock_, false);
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_TRUE(registry_.Contains("echo"));
  EXPECT_EQ(Answer("alpha", "when are you open"), "Nine to five.");
  EXPECT_EQ(Answer("beta", "when are you open"), "Always.");
  auto list = registry_.List();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "alpha");
  EXPECT_EQ(list[0].display_name, "Alpha");
  EXPECT_EQ(list[0].source, (dir_ / "alpha.yaml").string());
  EXPECT_EQ(list[0].loaded_at_ms, 1'700'000'000'000);
}

TEST_F(BotLoaderTest, ABadFileIsRefusedWithFileAndLineWhileTheOthersLoad) {
  Write("good.yaml", GoodBot("Good", "Open."));
  Write("bad.yaml", "name: Bad\nfallback:\n  replies: [{text: x}]\nwat: 1\n");
  Write("Bad Name.yaml", GoodBot("X", "Y"));
  auto n = LoadBotsDir(dir_.string(), registry_, clock_, false);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().errc, Errc::kInvalidArgument);
  EXPECT_NE(n.error().message.find((dir_ / "bad.yaml").string() + ":4: unknown key 'wat'"),
            std::string::npos)
      << n.error().message;
  EXPECT_NE(n.error().message.find("Bad Name.yaml: the file name must be a bot name"),
            std::string::npos)
      << n.error().message;
  EXPECT_TRUE(registry_.Contains("good"));
  EXPECT_FALSE(registry_.Contains("bad"));
}

TEST_F(BotLoaderTest, MissingFolderIsNotFound) {
  auto n = LoadBotsDir((dir_ / "nope").string(), registry_, clock_, false);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().errc, Errc::kNotFound);
}

TEST_F(BotLoaderTest, ReloadSwapsInTheNewVersion) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  ASSERT_TRUE(LoadBotsDir(dir_.string(), registry_, clock_, false).has_value());
  auto old_bot = registry_.Find("alpha");
  Write("alpha.yaml", GoodBot("Alpha 2", "Ten to six."));
  clock_.Advance(5000);
  auto info = ReloadBot(dir_.string(), "alpha", registry_, clock_, false);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->display_name, "Alpha 2");
  EXPECT_EQ(info->loaded_at_ms, 1'700'000'005'000);
  EXPECT_EQ(Answer("alpha", "when are you open"), "Ten to six.");
  // A conversation that held the old version finishes with it.
  CustomerTurn turn;
  turn.text = {"when are you open"};
  EXPECT_EQ(
      std::get<channel::TextBody>(old_bot->OnCustomerTurn(turn, nullptr).messages.back()).text[0],
      "Nine to five.");
}

TEST_F(BotLoaderTest, ReloadOfABadFileKeepsThePreviousVersion) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  ASSERT_TRUE(LoadBotsDir(dir_.string(), registry_, clock_, false).has_value());
  Write("alpha.yaml",
        "name: Alpha\nfallback:\n  replies: [{text: x}]\nintents:\n"
        "  - {name: a, examples: [], replies: [{text: y}]}\n");
  auto info = ReloadBot(dir_.string(), "alpha", registry_, clock_, false);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().errc, Errc::kInvalidArgument);
  EXPECT_EQ(info.error().code, "invalid_bot_definition");
  EXPECT_EQ(info.error().message,
            (dir_ / "alpha.yaml").string() + ":5: intent 'a' examples must not be empty");
  EXPECT_EQ(Answer("alpha", "when are you open"), "Nine to five.");
  EXPECT_EQ(registry_.List()[0].display_name, "Alpha");
}

TEST_F(BotLoaderTest, ReloadRefusesBuiltInsUnknownAndTraversingNames) {
  auto echo = ReloadBot(dir_.string(), "echo", registry_, clock_, false);
  ASSERT_FALSE(echo.has_value());
  EXPECT_EQ(echo.error().errc, Errc::kInvalidArgument);
  auto missing = ReloadBot(dir_.string(), "ghost", registry_, clock_, false);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().errc, Errc::kNotFound);
  auto sneaky = ReloadBot(dir_.string(), "../etc/passwd", registry_, clock_, false);
  ASSERT_FALSE(sneaky.has_value());
  EXPECT_EQ(sneaky.error().errc, Errc::kInvalidArgument);
  EXPECT_TRUE(IsValidBotName("bank"));
  EXPECT_FALSE(IsValidBotName("none"));
  EXPECT_FALSE(IsValidBotName("Bank"));
}

std::vector<std::string> Names(const std::vector<BotInfo>& list) {
  std::vector<std::string> out;
  for (const auto& b : list) out.push_back(b.name);
  return out;
}

// What a retired bot answers: the notice, and a hand-over to the retired-bot queue.
void ExpectHandOver(const BotReply& r) {
  ASSERT_EQ(r.messages.size(), 1u);
  const auto* t = std::get_if<channel::TextBody>(&r.messages[0]);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->text, std::vector<std::string>{std::string(kRetiredBotNotice)});
  EXPECT_EQ(r.next, BotReply::Next::kEscalate);
  EXPECT_EQ(r.queue, std::string(kRetiredBotQueue));
  EXPECT_TRUE(r.state.is_null());
}

TEST_F(BotLoaderTest, FullReloadUnloadsTheBotOfADeletedFile) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  Write("beta.yaml", GoodBot("Beta", "Always."));
  ASSERT_TRUE(LoadBotsDir(dir_.string(), registry_, clock_, false).has_value());
  auto old_alpha = registry_.Find("alpha");
  fs::remove(dir_ / "alpha.yaml");

  auto r = ReloadBotsDir(dir_.string(), registry_, clock_, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->loaded, 1u);
  EXPECT_EQ(r->unloaded, std::vector<std::string>{"alpha"});
  EXPECT_FALSE(r->refused.has_value());
  EXPECT_EQ(Names(registry_.List()), (std::vector<std::string>{"beta", "echo"}));
  EXPECT_FALSE(registry_.Contains("alpha"));
  // Conversations it owned get a hand-over, not silence; one holding the old version finishes
  // its turn with it.
  auto stand_in = registry_.Find("alpha");
  ASSERT_NE(stand_in, nullptr);
  EXPECT_NE(stand_in, old_alpha);
  CustomerTurn turn;
  turn.conversation_id = "conv-1";
  turn.text = {"when are you open"};
  ExpectHandOver(stand_in->OnCustomerTurn(turn, boost::json::object{{"flow", "x"}}));
  ExpectHandOver(stand_in->OnCallResult(turn, CallOutcome{}, boost::json::object{{"flow", "x"}}));
  EXPECT_EQ(
      std::get<channel::TextBody>(old_alpha->OnCustomerTurn(turn, nullptr).messages.back()).text[0],
      "Nine to five.");
  EXPECT_EQ(Answer("beta", "when are you open"), "Always.");

  // A second reload has nothing more to unload; the file coming back revives the bot.
  auto again = ReloadBotsDir(dir_.string(), registry_, clock_, false);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->unloaded.empty());
  EXPECT_EQ(Names(registry_.List()), (std::vector<std::string>{"beta", "echo"}));
  Write("alpha.yaml", GoodBot("Alpha", "Back again."));
  auto back = ReloadBotsDir(dir_.string(), registry_, clock_, false);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->loaded, 2u);
  EXPECT_TRUE(registry_.Contains("alpha"));
  EXPECT_EQ(Answer("alpha", "when are you open"), "Back again.");
}

TEST_F(BotLoaderTest, FullReloadMatchesTheFolderHoweverItIsSpelled) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  Write("beta.yaml", GoodBot("Beta", "Always."));
  ASSERT_TRUE(LoadBotsDir(dir_.string(), registry_, clock_, false).has_value());
  fs::remove(dir_ / "alpha.yaml");
  auto r = ReloadBotsDir(dir_.string() + "/", registry_, clock_, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->unloaded, std::vector<std::string>{"alpha"});
  fs::remove(dir_ / "beta.yaml");
  auto r2 = ReloadBotsDir((dir_ / "." / "").string(), registry_, clock_, false);
  ASSERT_TRUE(r2.has_value()) << r2.error().message;
  EXPECT_EQ(r2->unloaded, std::vector<std::string>{"beta"});
  EXPECT_EQ(Names(registry_.List()), std::vector<std::string>{"echo"});
}

TEST_F(BotLoaderTest, FullReloadKeepsARefusedFileAndBotsFromElsewhere) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  ASSERT_TRUE(LoadBotsDir(dir_.string(), registry_, clock_, false).has_value());
  registry_.Put(BotInfo{"other", "Other", "/somewhere/else/other.yaml", 0},
                std::make_shared<EchoBot>());
  Write("alpha.yaml", "name: Alpha\nwat: 1\n");
  auto r = ReloadBotsDir(dir_.string(), registry_, clock_, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->loaded, 0u);
  EXPECT_TRUE(r->unloaded.empty());
  ASSERT_TRUE(r->refused.has_value());
  EXPECT_EQ(r->refused->code, "invalid_bot_definition");
  EXPECT_NE(r->refused->message.find("alpha.yaml:2: unknown key 'wat'"), std::string::npos)
      << r->refused->message;
  EXPECT_EQ(Answer("alpha", "when are you open"), "Nine to five.");
  EXPECT_EQ(Names(registry_.List()), (std::vector<std::string>{"alpha", "echo", "other"}));
}

TEST_F(BotLoaderTest, FullReloadOfAMissingFolderUnloadsNothing) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  ASSERT_TRUE(LoadBotsDir(dir_.string(), registry_, clock_, false).has_value());
  fs::remove_all(dir_);
  auto r = ReloadBotsDir(dir_.string(), registry_, clock_, false);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().errc, Errc::kNotFound);
  EXPECT_TRUE(registry_.Contains("alpha"));
  EXPECT_EQ(Answer("alpha", "when are you open"), "Nine to five.");
}

TEST_F(BotLoaderTest, ReloadOfADeletedFileIsNotFoundAndUnloadsTheBot) {
  Write("alpha.yaml", GoodBot("Alpha", "Nine to five."));
  ASSERT_TRUE(LoadBotsDir(dir_.string(), registry_, clock_, false).has_value());
  fs::remove(dir_ / "alpha.yaml");
  auto r = ReloadBot(dir_.string(), "alpha", registry_, clock_, false);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().errc, Errc::kNotFound);
  EXPECT_EQ(r.error().code, "bot_not_found");
  EXPECT_NE(r.error().message.find("bot 'alpha' is unloaded"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(Names(registry_.List()), std::vector<std::string>{"echo"});
  EXPECT_FALSE(registry_.Contains("alpha"));
  CustomerTurn turn;
  turn.text = {"when are you open"};
  ExpectHandOver(registry_.Find("alpha")->OnCustomerTurn(turn, nullptr));
  // Asked again, it is simply not there.
  auto again = ReloadBot(dir_.string(), "alpha", registry_, clock_, false);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().errc, Errc::kNotFound);
  EXPECT_EQ(again.error().message.find("is unloaded"), std::string::npos) << again.error().message;
}

TEST(BotRegistryTest, RetireTakesABotOffTheListAndPutRevivesIt) {
  BotRegistry registry;
  auto bot = std::make_shared<EchoBot>();
  auto stand_in = std::make_shared<RetiredBot>("alpha");
  EXPECT_FALSE(registry.Retire("alpha", stand_in)) << "nothing listed: nothing to retire";
  EXPECT_EQ(registry.Find("alpha"), nullptr);
  registry.Put(BotInfo{"alpha", "Alpha", "a.yaml", 1}, bot);
  EXPECT_TRUE(registry.Retire("alpha", stand_in));
  EXPECT_FALSE(registry.Contains("alpha"));
  EXPECT_TRUE(registry.List().empty());
  EXPECT_EQ(registry.Find("alpha"), stand_in);
  EXPECT_FALSE(registry.Retire("alpha", stand_in)) << "retired already";
  registry.Put(BotInfo{"alpha", "Alpha", "a.yaml", 2}, bot);
  EXPECT_TRUE(registry.Contains("alpha"));
  EXPECT_EQ(registry.Find("alpha"), bot);
  ASSERT_EQ(registry.List().size(), 1u);
  EXPECT_EQ(registry.List()[0].loaded_at_ms, 2);
}

TEST_F(BotLoaderTest, TheSampleBotsFolderLoads) {
  fs::path bots = fs::path(__FILE__).parent_path() / "../../bots";
  auto n = LoadBotsDir(bots.string(), registry_, clock_, false);
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_GE(*n, 1u);
  EXPECT_TRUE(registry_.Contains("bank"));
}

}  // namespace
}  // namespace parley::bot

// Gibberish is near zero (issue 18): a message most of whose words a bot never saw, and which
// is not close to any example, has a confidence below 0.1 whatever the bot's threshold. Each
// kind of nonsense, on three bots: thresholds 0.3, 0.5 (bots/bank.yaml) and the default.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "bot/intent_vocabulary.hpp"
#include "core/clock.hpp"

namespace parley::bot {
namespace {

std::string ReadBank() {
  std::ifstream in(std::filesystem::path(__FILE__).parent_path() / "../../bots/bank.yaml");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A bot written like the one in docs/bot-authoring.md, with `threshold: 0.3`.
constexpr const char* kDocBot = R"(name: Ava
threshold: 0.3
fallback: {replies: [{text: "Sorry?"}]}
intents:
  - name: opening_hours
    examples: [when are you open, what are your opening hours, what time do you close today,
               are you open on sunday, when does the shop open]
    replies: [{text: "We are open 9:00-17:00."}]
  - name: lost_card
    examples: [i lost my card, my card was stolen, block my card, i can't find my debit card,
               freeze my credit card]
    flow: block_card
  - name: agent
    examples: [talk to a person, i want a human, agent please, can i speak to someone]
    replies: [{text: "A person will call you."}]
flows:
  block_card:
    steps:
      - ask: "What are the last four digits of the card?"
        slot: last4
        pattern: '^[0-9]{4}$'
      - replies: [{text: "Blocked {last4}."}]
)";

struct Nonsense {
  const char* kind;
  const char* text;
};

const std::vector<Nonsense> kNonsense = {
    {"invented words", "vrop klesh dwimmer"},
    {"invented words", "blorf snid wemmel"},
    {"invented words", "florp the grimble"},
    {"keyboard mashing", "asdfgh jkl"},
    {"keyboard mashing", "qwertyuiop"},
    {"keyboard mashing", "sdkjfh sdkfjh skdjfh"},
    {"one letter", "x"},
    {"one letter", "k"},
    {"emoji", "\xF0\x9F\x98\x80\xF0\x9F\x98\x80"},
    {"emoji", "\xF0\x9F\x91\x8D"},
    {"digits only", "12345678"},
    {"digits only", "42"},
    {"another script",
     "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBA\xD0\xB0\xD0\xBA "
     "\xD0\xB4\xD0\xB5\xD0\xBB\xD0\xB0?"},                       // Привет, как дела?
    {"another script", "\xE4\xBD\xA0\xE5\xA5\xBD\xE5\x90\x97"},  // 你好吗
    {"another script", "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xD9\x83\xD9\x8A\xD9\x81"},
};

class GibberishTest : public ::testing::TestWithParam<int> {
 protected:
  std::shared_ptr<const DialogBot> Bot() {
    std::string yaml;
    switch (GetParam()) {
      case 0:
        yaml = kDocBot;  // threshold 0.3
        break;
      case 1:
        yaml = ReadBank();  // threshold 0.5
        break;
      default:
        yaml = ReadBank();
        yaml.erase(yaml.find("threshold: 0.5\n"), 15);  // the default threshold
        break;
    }
    DefinitionResult r = ParseDefinition(yaml, "t.yaml");
    EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front().ToString());
    auto bot = DialogBot::Create(std::move(*r.definition), clock_);
    EXPECT_TRUE(bot);
    return *bot;
  }
  ManualClock clock_{1'000};
};

TEST_P(GibberishTest, EachKindOfNonsenseIsBelowATenth) {
  auto bot = Bot();
  const double threshold = bot->definition().threshold;
  EXPECT_DOUBLE_EQ(threshold, GetParam() == 0   ? 0.3
                              : GetParam() == 1 ? 0.5
                                                : kDefaultIntentThreshold);
  for (const auto& n : kNonsense) {
    auto p = bot->Classify(n.text);
    ASSERT_TRUE(p);
    EXPECT_LT(p->confidence, 0.1) << n.kind << ": '" << n.text << "' -> " << p->intent;
    // Through the dialog: the fallback, never an intent or a flow.
    CustomerTurn turn;
    turn.text = {"hello"};
    turn.first_turn = true;
    BotReply greeted = bot->OnCustomerTurn(turn, nullptr);
    turn.first_turn = false;
    turn.text = {n.text};
    BotReply r = bot->OnCustomerTurn(turn, greeted.state);
    ASSERT_TRUE(r.note);
    EXPECT_EQ(r.note->kind, "not_understood") << n.kind << ": '" << n.text << "'";
  }
}

// What the gate must not catch: real phrasings with a word or two the bot never saw, and typos
// of the examples' words ("opne", "crad": one edit from a known word).
TEST_P(GibberishTest, RealPhrasingsWithNewWordsAreNotGibberish) {
  auto bot = Bot();
  for (const char* text : {"i lost my card", "when are you open", "when are you opne",
                           "my crad was stolen", "my card got stolen yesterday"}) {
    auto p = bot->Classify(text);
    ASSERT_TRUE(p);
    EXPECT_GE(p->confidence, 0.1) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(ThreeBots, GibberishTest, ::testing::Values(0, 1, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == 0   ? "Threshold030"
                                              : info.param == 1 ? "Threshold050"
                                                                : "DefaultThreshold");
                         });

}  // namespace
}  // namespace parley::bot

namespace parley::bot::detail {
namespace {

std::vector<IntentExample> Examples(std::initializer_list<const char*> texts) {
  std::vector<IntentExample> out;
  for (const char* t : texts) out.push_back({t, "x"});
  return out;
}

// Another form of a word the bot was taught is a word it knows: "go faster" to a bot taught
// "too fast", "speak louder" to one taught "speaker"; a stem under 4 bytes is not ("car").
TEST(GibberishGate, AnotherFormOfAKnownWordIsKnown) {
  const Vocabulary v(Examples({"you talk too fast", "turn up the speaker", "my car"}), 3, true);
  EXPECT_FALSE(v.Gibberish("go faster", 0.5));
  EXPECT_FALSE(v.Gibberish("speak louder", 0.5));
  EXPECT_FALSE(v.Gibberish("fasting", 0.5));  // three bytes added
  EXPECT_TRUE(v.Gibberish("fastidious", 0.5));
  EXPECT_TRUE(v.Gibberish("cards", 0.5));  // "car" is under 4 bytes
  EXPECT_TRUE(v.Gibberish("vrop klesh dwimmer", 0.5));
  const Vocabulary off(Examples({"you talk too fast", "turn up the speaker"}), 0, true);
  EXPECT_TRUE(off.Gibberish("go faster", 0.5));
}

// Numbers in a text with words do not count when the bot was taught numbers (a calculator);
// numbers alone are still gibberish, and to a bot taught no numbers they are unknown words.
TEST(GibberishGate, NumbersAmongWordsAreNeutralWhenTheExamplesHaveNumbers) {
  const auto taught = Examples({"what is 5 plus 7", "what is 12 times 3", "add 4 and 9"});
  const Vocabulary v(taught, 3, true);
  EXPECT_FALSE(v.Gibberish("what is 1100 minus 2347", 0.5));
  EXPECT_TRUE(v.Gibberish("1100 2347", 0.5));
  EXPECT_TRUE(v.Gibberish("42", 0.5));
  EXPECT_TRUE(v.Gibberish("blorf 1100 2347", 0.5));
  EXPECT_TRUE(Vocabulary(taught, 3, false).Gibberish("what is 1100 minus 2347", 0.5));
  const Vocabulary words_only(Examples({"what is the weather", "is it raining"}), 3, true);
  EXPECT_TRUE(words_only.Gibberish("what 1100 2347", 0.5));
}

}  // namespace
}  // namespace parley::bot::detail

// Issue 18, "a bot that listens": slots taken from the customer's words (choices, synonyms,
// menu items, patterns found inside a text), questions already answered skipped, no second
// greeting, and the note of what each turn was taken as. On bots/bank.yaml, as customers met it.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "core/clock.hpp"

namespace parley::bot {
namespace {
namespace json = boost::json;

std::string BankYaml() {
  auto path = std::filesystem::path(__FILE__).parent_path() / "../../bots/bank.yaml";
  DefinitionResult r = LoadDefinitionFile(path.string());
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front().ToString());
  return path.string();
}

std::string Describe(const channel::OutboundBody& body) {
  if (const auto* t = std::get_if<channel::TextBody>(&body)) {
    std::string s = "text:";
    for (size_t i = 0; i < t->text.size(); ++i) s += (i ? "|" : "") + t->text[i];
    return s;
  }
  if (const auto* m = std::get_if<channel::MenuBody>(&body)) return "menu:" + m->title;
  if (const auto* c = std::get_if<channel::CarouselBody>(&body))
    return "carousel:" + (c->items.empty() ? std::string() : c->items[0].title);
  return channel::TypeName(body);
}

using Lines = std::vector<std::string>;

class Conversation {
 public:
  explicit Conversation(std::shared_ptr<const DialogBot> bot) : bot_(std::move(bot)) {
    turn_.conversation_id = "c1";
    turn_.customer_id = "u1";
  }

  BotReply Say(const std::string& text, bool first_turn_of_conversation = true) {
    turn_.text = {text};
    turn_.postback.reset();
    turn_.first_turn = state_.is_null() && first_turn_of_conversation;
    BotReply r = bot_->OnCustomerTurn(turn_, state_);
    state_ = r.state;
    return r;
  }
  BotReply Tap(const std::string& payload) {
    turn_.text.clear();
    turn_.postback = payload;
    turn_.first_turn = state_.is_null();
    BotReply r = bot_->OnCustomerTurn(turn_, state_);
    state_ = r.state;
    return r;
  }
  static Lines Describe(const BotReply& r) {
    Lines out;
    for (const auto& m : r.messages) out.push_back(bot::Describe(m));
    return out;
  }

 private:
  std::shared_ptr<const DialogBot> bot_;
  CustomerTurn turn_;
  json::value state_;
};

class BotListensTest : public ::testing::Test {
 protected:
  BotListensTest() {
    DefinitionResult r = LoadDefinitionFile(BankYaml());
    auto bot = DialogBot::Create(std::move(*r.definition), clock_);
    EXPECT_TRUE(bot);
    bank_ = *bot;
  }

  static std::shared_ptr<const DialogBot> Build(const std::string& yaml, const Clock& clock) {
    DefinitionResult r = ParseDefinition(yaml, "t.yaml");
    EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front().ToString());
    if (!r.definition) return nullptr;
    auto bot = DialogBot::Create(std::move(*r.definition), clock);
    return bot ? *bot : nullptr;
  }

  ManualClock clock_{1'000'000};
  std::shared_ptr<const DialogBot> bank_;
};

TEST_F(BotListensTest, TheAccountInTheFirstSentenceIsNotAskedFor) {
  Conversation c(bank_);
  c.Say("hello");
  BotReply r = c.Say("how much money is in my current account");
  ASSERT_TRUE(r.note);
  EXPECT_EQ(r.note->kind, "intent");
  EXPECT_EQ(r.note->intent, "balance");
  // No "Which account?": straight to the balance call, with the slot filled.
  EXPECT_TRUE(r.messages.empty()) << Conversation::Describe(r).front();
  ASSERT_TRUE(r.call);
  EXPECT_EQ(r.call->request.at("slots").at("account").as_string(), "current");
  ASSERT_EQ(r.note->filled.size(), 1u);
  EXPECT_EQ(r.note->filled[0].slot, "account");
  EXPECT_EQ(r.note->filled[0].value, "current");
  EXPECT_EQ(r.note->filled[0].words, "current account");
  ASSERT_EQ(r.slots_set.size(), 1u);
}

TEST_F(BotListensTest, TheCityInTheFirstSentenceIsNotAskedFor) {
  Conversation c(bank_);
  c.Say("hello");
  BotReply r = c.Say("is there a branch in manchester?");
  EXPECT_EQ(Conversation::Describe(r),
            (Lines{"carousel:Parley Bank Deansgate", "text:Anything else, there?",
                   "menu:What can I help you with?"}));
  ASSERT_TRUE(r.note);
  ASSERT_EQ(r.note->filled.size(), 1u);
  EXPECT_EQ(r.note->filled[0].value, "Manchester");  // the choice as written in the file
}

TEST_F(BotListensTest, ASynonymNamesAChoice) {
  Conversation c(bank_);
  c.Say("hello");
  BotReply r = c.Say("find a branch");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"text:Which city are you in?"}));
  r = c.Say("mcr");  // the whole answer is a synonym
  EXPECT_EQ(Conversation::Describe(r).front(), "carousel:Parley Bank Deansgate");
  Conversation d(bank_);
  d.Say("hello");
  r = d.Say("what is the balance of my saver");
  ASSERT_TRUE(r.call);
  EXPECT_EQ(r.call->request.at("slots").at("account").as_string(), "savings");
}

TEST_F(BotListensTest, TheDigitsInsideAnAnswerAreTaken) {
  Conversation c(bank_);
  c.Say("hello");
  BotReply r = c.Say("i lost my card");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"text:What are the last four digits of the card?"}));
  r = c.Say("it ends 4321");  // was "Just the four digits, please."
  EXPECT_EQ(Conversation::Describe(r), (Lines{"menu:Block the card ending 4321?"}));
  ASSERT_TRUE(r.note);
  EXPECT_EQ(r.note->kind, "answer");
  EXPECT_EQ(r.note->slot, "last4");
  EXPECT_EQ(r.note->value, "4321");
  EXPECT_EQ(r.note->question, "What are the last four digits of the card?");
  // A typo is still a typo.
  Conversation d(bank_);
  d.Say("hello");
  d.Say("i lost my card");
  r = d.Say("12ab");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"text:Just the four digits, please."}));
  EXPECT_EQ(r.note->kind, "retry");
}

TEST_F(BotListensTest, TwoValuesInOneSentenceAreAskedAbout) {
  Conversation c(bank_);
  c.Say("hello");
  BotReply r = c.Say("how much is in my current account and my savings account");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"menu:Which account?"}));
  EXPECT_FALSE(r.call);
}

TEST_F(BotListensTest, OnlyQuestionsBeforeTheFirstOneAskedAreAnsweredFromTheFirstSentence) {
  Conversation c(bank_);
  c.Say("hello");
  // "no" is one of the confirmation's choices, but the customer has not seen that question.
  BotReply r = c.Say("i have no idea where my card is, i lost it");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"text:What are the last four digits of the card?"}));
  r = c.Say("1234");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"menu:Block the card ending 1234?"}));
  // The digits in the first message are taken; the confirmation it does not give is asked.
  Conversation d(bank_);
  d.Say("hello");
  r = d.Say("block my card ending 5555");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"menu:Block the card ending 5555?"}));
}

TEST_F(BotListensTest, AConversationBackFromAPersonIsNotGreetedAgain) {
  Conversation c(bank_);
  // The state was reset by "Release to bot"; the conversation is not new.
  BotReply r = c.Say("when are you open", /*first_turn_of_conversation=*/false);
  EXPECT_EQ(Conversation::Describe(r).size(), 1u);
  EXPECT_EQ(Conversation::Describe(r).front().rfind("text:Our branches are open", 0), 0u);
  // And a new conversation is.
  Conversation d(bank_);
  r = d.Say("when are you open");
  EXPECT_EQ(Conversation::Describe(r).front(),
            "text:Hi there, I'm Ava, Parley Bank's virtual assistant.");
}

TEST_F(BotListensTest, NotesSayWhatTheTurnWasTakenAs) {
  Conversation c(bank_);
  c.Say("hello");
  c.Say("blorf snid wemmel");
  BotReply offer = c.Say("asdfgh jkl");
  ASSERT_EQ(Conversation::Describe(offer).back(),
            "menu:I'm not sure I can help with that. Would you like to talk to a person?");
  EXPECT_EQ(offer.note->kind, "not_understood");
  // "No, thanks" is the offered item, not the `thanks` intent.
  BotReply no = c.Say("No, thanks");
  ASSERT_TRUE(no.note);
  EXPECT_EQ(no.note->kind, "choice");
  EXPECT_EQ(no.note->value, "No, thanks");
  EXPECT_EQ(Conversation::Describe(no).front(), "text:OK, what else can I help you with?");
  EXPECT_EQ(ToJson(*no.note), json::parse(R"({"kind":"choice","value":"No, thanks"})"));
  EXPECT_EQ(TurnNoteFromJson(ToJson(*no.note)).value, "No, thanks");
}

constexpr const char* kSynonymBot = R"(name: S
fallback: {replies: [{text: "?"}]}
intents:
  - {name: pay, examples: [pay a bill, pay my bill], flow: pay}
flows:
  pay:
    steps:
      - ask: {menu: {title: "Which bill?", items: [{text: Gas, payload: gas}, {text: Water, payload: water}]}}
        slot: bill
        synonyms: {gas: [heating]}
      - replies: [{text: "Paying {bill}."}]
)";

TEST_F(BotListensTest, SynonymsOfMenuPayloadsAndTheirRefusals) {
  auto bot = Build(kSynonymBot, clock_);
  ASSERT_TRUE(bot);
  Conversation c(bot);
  BotReply r = c.Say("pay my heating bill");
  EXPECT_EQ(Conversation::Describe(r), (Lines{"text:Paying gas."}));

  std::string bad = kSynonymBot;
  bad.replace(bad.find("{gas: [heating]}"), 16, "{oil: [heating]}");
  DefinitionResult refused = ParseDefinition(bad, "t.yaml");
  ASSERT_FALSE(refused.errors.empty());
  EXPECT_NE(refused.errors[0].ToString().find("synonyms name 'oil'"), std::string::npos)
      << refused.errors[0].ToString();
  std::string with_pattern = kSynonymBot;
  with_pattern.replace(with_pattern.find("        synonyms"), 0, "        pattern: '^g'\n");
  refused = ParseDefinition(with_pattern, "t.yaml");
  ASSERT_FALSE(refused.errors.empty());
  EXPECT_NE(refused.errors[0].ToString().find("not a pattern"), std::string::npos)
      << refused.errors[0].ToString();
}

}  // namespace
}  // namespace parley::bot

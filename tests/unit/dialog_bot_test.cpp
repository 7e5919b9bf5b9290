#include "bot/dialog_bot.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "bot/definition.hpp"
#include "channel/outbound.hpp"

namespace parley::bot {
namespace {
namespace json = boost::json;

constexpr const char* kBot = R"(name: Tess
greeting: [{text: "Hi {customer_name}, I'm Tess."}]
threshold: 0.5
fallback:
  replies: [{text: "Sorry, I didn't get that."}]
  escalate_after: 2
intents:
  - name: opening_hours
    examples: [when are you open, what are your opening hours, what time do you close today, are you open on sunday]
    replies: [{text: ["We are open 9-17.", "Closed on Sundays."]}]
  - name: lost_card
    examples: [i lost my card, my card was stolen, block my card, someone took my credit card]
    flow: block_card
  - name: agent
    examples: [talk to a person, i want a human, agent please, let me speak to someone]
    action: escalate
  - name: show_menu
    examples: [show me the menu, what can you do, help me please, options]
    replies: [{menu: main}]
  - name: branches
    examples: [where are your branches, find a branch near me, branch locations]
    replies:
      - carousel:
          title: Branches
          items:
            - title: Moorgate
              subtitle: "1 Moorgate"
              image_url: "https://img.example/m.jpg"
              buttons: [{text: Directions, url: "https://maps.example/m"}, {text: Hours, payload: "intent:opening_hours"}]
  - name: online
    examples: [online banking login, how do i log in online, internet banking website]
    replies: [{link_button: {title: "Bank online", label: Open, url: "https://online.example/{context.region}"}}]
menus:
  main:
    title: What can I help you with?
    items:
      - {text: Opening hours, payload: "intent:opening_hours"}
      - {text: Block a card, payload: "flow:block_card"}
      - {text: Talk to a person, payload: "action:escalate"}
flows:
  block_card:
    steps:
      - {ask: "What are the last four digits of the card?", slot: last4, pattern: '^[0-9]{4}$', retry: "Just the four digits, please."}
      - ask: {menu: {title: "Block the card ending {last4}?", items: [{text: "Yes", payload: "yes"}, {text: "No", payload: "no"}]}}
        slot: confirm
        choices: [yes, no]
      - when: {confirm: "yes"}
        call: {url: "https://bank.example/api/cards/block", timeout_ms: 2000}
      - when: {confirm: "yes"}
        replies: [{text: "Done: the card ending {last4} is blocked ({ref})."}]
      - when: {confirm: "no"}
        replies: [{text: "OK, I left it active."}]
escalation:
  replies: [{text: "Let me find you a person to talk to."}]
  queues: [{queue: cards, text: Cards}, {queue: general, text: Something else}]
)";

// One line per message, compact enough to compare whole replies.
std::string Describe(const channel::OutboundBody& body) {
  if (const auto* t = std::get_if<channel::TextBody>(&body)) {
    std::string s = "text:";
    for (size_t i = 0; i < t->text.size(); ++i) s += (i ? "|" : "") + t->text[i];
    return s;
  }
  if (const auto* m = std::get_if<channel::MenuBody>(&body)) {
    std::string s = "menu:" + m->title + "[";
    for (size_t i = 0; i < m->items.size(); ++i)
      s += (i ? "," : "") + m->items[i].text + "=" + m->items[i].payload;
    return s + "]";
  }
  if (std::holds_alternative<channel::CarouselBody>(body)) return "carousel";
  if (const auto* l = std::get_if<channel::LinkButtonBody>(&body)) return "link:" + l->url;
  return channel::TypeName(body);
}

std::vector<std::string> Describe(const BotReply& reply) {
  std::vector<std::string> out;
  for (const auto& m : reply.messages) out.push_back(Describe(m));
  return out;
}

using Lines = std::vector<std::string>;

class Chat {
 public:
  explicit Chat(const std::string& yaml, DefinitionOptions options = {}) {
    DefinitionResult r = ParseDefinition(yaml, "test.yaml", options);
    if (!r.errors.empty()) ADD_FAILURE() << r.errors.front().ToString();
    auto bot = DialogBot::Create(std::move(*r.definition), clock_);
    if (!bot) ADD_FAILURE() << bot.error().message;
    bot_ = *bot;
    turn_.conversation_id = "conv-1";
    turn_.customer_id = "cust-1";
    turn_.customer_name = "Ana";
    turn_.context = json::object{{"region", "uk"}};
  }

  BotReply Say(const std::string& text) {
    turn_.text = {text};
    turn_.postback.reset();
    return Run();
  }
  BotReply Tap(const std::string& payload) {
    turn_.text.clear();
    turn_.postback = payload;
    return Run();
  }
  BotReply Outcome(const CallOutcome& outcome) {
    BotReply r = bot_->OnCallResult(turn_, outcome, Restart(state_));
    state_ = r.state;
    return r;
  }

  const DialogBot& bot() const { return *bot_; }
  ManualClock& clock() { return clock_; }
  const json::value& state() const { return state_; }

 private:
  // Every turn stores the state as text and reads it back, as the conversation layer does
  // across a restart.
  static json::value Restart(const json::value& v) { return json::parse(json::serialize(v)); }

  BotReply Run() {
    turn_.first_turn = state_.is_null();
    BotReply r = bot_->OnCustomerTurn(turn_, Restart(state_));
    state_ = r.state;
    return r;
  }

  ManualClock clock_{1'000'000};
  std::shared_ptr<const DialogBot> bot_;
  CustomerTurn turn_;
  json::value state_;
};

CallOutcome Ok(json::object response) {
  CallOutcome o;
  o.ok = true;
  o.response = std::move(response);
  return o;
}

CallOutcome Failed(const std::string& why) {
  CallOutcome o;
  o.error = why;
  return o;
}

TEST(DialogBotTest, GreetsOnTheFirstTurnAndAnswersAnUnderstoodFirstMessage) {
  Chat chat(kBot);
  EXPECT_EQ(Describe(chat.Say("when are you open")),
            (Lines{"text:Hi Ana, I'm Tess.", "text:We are open 9-17.|Closed on Sundays."}));
  EXPECT_EQ(Describe(chat.Say("are you open on sunday")),
            (Lines{"text:We are open 9-17.|Closed on Sundays."}));
}

TEST(DialogBotTest, AFirstMessageNotUnderstoodGetsOnlyTheGreeting) {
  Chat chat(kBot);
  EXPECT_EQ(Describe(chat.Say("xyzzy plugh")), (Lines{"text:Hi Ana, I'm Tess."}));
  EXPECT_EQ(Describe(chat.Say("zxqv wibble")), (Lines{"text:Sorry, I didn't get that."}));
}

TEST(DialogBotTest, AMenuIsShownOncePerTurn) {
  std::string yaml = kBot;
  yaml.replace(yaml.find("greeting: [{text: \"Hi {customer_name}, I'm Tess.\"}]"),
               std::string("greeting: [{text: \"Hi {customer_name}, I'm Tess.\"}]").size(),
               "greeting: [{text: \"Hi {customer_name}, I'm Tess.\"}, {menu: main}]");
  Chat chat(yaml);
  BotReply r = chat.Say("show me the menu");
  EXPECT_EQ(Describe(r), (Lines{"text:Hi Ana, I'm Tess.",
                                "menu:What can I help you with?[Opening hours=intent:opening_hours,"
                                "Block a card=flow:block_card,Talk to a person=action:escalate]"}));
}

TEST(DialogBotTest, EachReplyTypeBecomesItsOutboundJson) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  BotReply menu = chat.Say("show me the menu");
  ASSERT_EQ(menu.messages.size(), 1u);
  EXPECT_EQ(json::value(channel::BodyToJson(menu.messages[0])),
            json::parse(R"({"type":"menu","title":"What can I help you with?","items":[
              {"text":"Opening hours","payload":"intent:opening_hours"},
              {"text":"Block a card","payload":"flow:block_card"},
              {"text":"Talk to a person","payload":"action:escalate"}]})"));
  BotReply carousel = chat.Say("where are your branches");
  ASSERT_EQ(carousel.messages.size(), 1u);
  EXPECT_EQ(json::value(channel::BodyToJson(carousel.messages[0])),
            json::parse(R"({"type":"carousel","title":"Branches","items":[
              {"title":"Moorgate","subtitle":"1 Moorgate","image_url":"https://img.example/m.jpg",
               "buttons":[{"text":"Directions","url":"https://maps.example/m"},
                          {"text":"Hours","payload":"intent:opening_hours"}]}]})"));
  BotReply link = chat.Say("online banking login");
  ASSERT_EQ(link.messages.size(), 1u);
  EXPECT_EQ(json::value(channel::BodyToJson(link.messages[0])),
            json::parse(R"({"type":"link_button","title":"Bank online","label":"Open",
                            "url":"https://online.example/uk"})"));
  BotReply text = chat.Say("when are you open");
  ASSERT_EQ(text.messages.size(), 1u);
  EXPECT_EQ(json::value(channel::BodyToJson(text.messages[0])),
            json::parse(R"({"type":"text","text":["We are open 9-17.","Closed on Sundays."]})"));
  // Every body also passes the channel's own decoder (what agents and transcripts use).
  for (const auto* r : {&menu, &carousel, &link, &text}) {
    EXPECT_TRUE(channel::DecodeOutboundBody(channel::BodyToJson(r->messages[0])).has_value());
  }
}

TEST(DialogBotTest, FlowValidatesSlotsWithRetryThenCallsAndFollowsWhen) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  EXPECT_EQ(Describe(chat.Say("i lost my card")),
            (Lines{"text:What are the last four digits of the card?"}));
  EXPECT_EQ(Describe(chat.Say("12")), (Lines{"text:Just the four digits, please."}));
  EXPECT_EQ(Describe(chat.Say("1234")), (Lines{"menu:Block the card ending 1234?[Yes=yes,No=no]"}));
  // The exact text of an offered item answers with its payload.
  BotReply call = chat.Say("Yes");
  EXPECT_TRUE(call.messages.empty());
  ASSERT_TRUE(call.call.has_value());
  EXPECT_EQ(call.call->url, "https://bank.example/api/cards/block");
  EXPECT_EQ(call.call->timeout_ms, 2000);
  EXPECT_EQ(json::value(call.call->request),
            json::parse(R"({"conversation_id":"conv-1","customer_id":"cust-1",
                            "slots":{"last4":"1234","confirm":"yes"},"context":{"region":"uk"}})"));
  BotReply done = chat.Outcome(Ok(json::object{{"slots", json::object{{"ref", "B-77"}}},
                                               {"replies", json::array{"Card system says OK."}}}));
  EXPECT_EQ(Describe(done), (Lines{"text:Card system says OK.",
                                   "text:Done: the card ending 1234 is blocked (B-77)."}));
  EXPECT_EQ(done.next, BotReply::Next::kStay);
  // The flow is over: the next message is a new request.
  EXPECT_EQ(Describe(chat.Say("when are you open")),
            (Lines{"text:We are open 9-17.|Closed on Sundays."}));
}

TEST(DialogBotTest, WhenSkipsStepsWhoseGuardFails) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("block my card");
  chat.Say("9876");
  BotReply no = chat.Tap("no");  // a postback inside a flow answers the question
  EXPECT_FALSE(no.call.has_value());
  EXPECT_EQ(Describe(no), (Lines{"text:OK, I left it active."}));
}

TEST(DialogBotTest, ChoicesRefuseOtherAnswersAndRepeatTheMenu) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("block my card");
  chat.Say("my card ends in 4321, thanks");  // an unanchored match would keep 4321; this one
                                             // is anchored, so it is a retry
  BotReply ok = chat.Say("4321");
  EXPECT_EQ(Describe(ok), (Lines{"menu:Block the card ending 4321?[Yes=yes,No=no]"}));
  // Not a choice: no retry text was given, so the question is asked again.
  EXPECT_EQ(Describe(chat.Say("perhaps")),
            (Lines{"menu:Block the card ending 4321?[Yes=yes,No=no]"}));
  EXPECT_TRUE(chat.Say("NO").messages.size() == 1);  // choices match regardless of case
}

TEST(DialogBotTest, CallFailureSaysOnErrorAndEndsTheFlow) {
  for (const char* why : {"timeout", "http 500", "connect_failed"}) {
    Chat chat(kBot);
    chat.Say("xyzzy plugh");
    chat.Say("i lost my card");
    chat.Say("1234");
    ASSERT_TRUE(chat.Say("yes").call.has_value());
    BotReply r = chat.Outcome(Failed(why));
    // The default on_error; the "Done" step never runs without the call's slots.
    EXPECT_EQ(Describe(r), (Lines{"text:Sorry, I can't do that right now."})) << why;
    EXPECT_FALSE(r.call.has_value());
  }
}

TEST(DialogBotTest, MessagesDuringAPendingCallAreAnsweredAfterIt) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("i lost my card");
  chat.Say("1234");
  ASSERT_TRUE(chat.Say("yes").call.has_value());
  BotReply waiting = chat.Say("when are you open");
  EXPECT_TRUE(waiting.messages.empty());
  EXPECT_FALSE(waiting.call.has_value());
  BotReply after = chat.Outcome(Ok(json::object{}));
  EXPECT_EQ(Describe(after), (Lines{"text:Done: the card ending 1234 is blocked ().",
                                    "text:We are open 9-17.|Closed on Sundays."}));
  // A second outcome for the same call is ignored.
  EXPECT_TRUE(chat.Outcome(Ok(json::object{})).messages.empty());
}

TEST(DialogBotTest, ACallWhoseOutcomeNeverCameCountsAsFailedAfterItsDeadline) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("i lost my card");
  chat.Say("1234");
  ASSERT_TRUE(chat.Say("yes").call.has_value());
  chat.clock().Advance(2000 + kCallGraceMs + 1);
  EXPECT_EQ(Describe(chat.Say("when are you open")),
            (Lines{"text:Sorry, I can't do that right now.",
                   "text:We are open 9-17.|Closed on Sundays."}));
}

TEST(DialogBotTest, OffersAPersonAfterConsecutiveMisunderstandingsAndEscalatesToTheChosenQueue) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  EXPECT_EQ(Describe(chat.Say("zxqv wibble")), (Lines{"text:Sorry, I didn't get that."}));
  EXPECT_EQ(Describe(chat.Say("plonk grommet")),
            (Lines{"menu:Would you like to talk to a person?[Yes, please=action:escalate,No, "
                   "thanks=action:cancel]"}));
  BotReply offer = chat.Say("Yes, please");
  EXPECT_EQ(Describe(offer),
            (Lines{"text:Let me find you a person to talk to.",
                   "menu:Who would you like to talk to?[Cards=queue:cards,Something "
                   "else=queue:general]"}));
  EXPECT_EQ(offer.next, BotReply::Next::kStay);
  BotReply chosen = chat.Say("cards");
  EXPECT_EQ(chosen.next, BotReply::Next::kEscalate);
  EXPECT_EQ(chosen.queue, "cards");
  EXPECT_TRUE(chosen.messages.empty());
}

TEST(DialogBotTest, AnUnderstoodMessageResetsTheMisunderstandingCount) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("zxqv wibble");
  chat.Say("when are you open");
  EXPECT_EQ(Describe(chat.Say("plonk grommet")), (Lines{"text:Sorry, I didn't get that."}));
}

TEST(DialogBotTest, DecliningTheOfferCarriesOn) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("zxqv wibble");
  chat.Say("plonk grommet");
  EXPECT_EQ(Describe(chat.Tap("action:cancel")),
            (Lines{"text:OK, what else can I help you with?",
                   "menu:What can I help you with?[Opening hours=intent:opening_hours,Block a "
                   "card=flow:block_card,Talk to a person=action:escalate]"}));
  EXPECT_EQ(Describe(chat.Say("zxqv wibble")), (Lines{"text:Sorry, I didn't get that."}));
}

TEST(DialogBotTest, EscalatesDirectlyWhenThereIsOneQueue) {
  std::string yaml = kBot;
  yaml.replace(yaml.find("{queue: cards, text: Cards}, "), 29, "");
  Chat chat(yaml);
  chat.Say("xyzzy plugh");
  BotReply r = chat.Say("talk to a person");
  EXPECT_EQ(Describe(r), (Lines{"text:Let me find you a person to talk to."}));
  EXPECT_EQ(r.next, BotReply::Next::kEscalate);
  EXPECT_EQ(r.queue, "general");
}

TEST(DialogBotTest, PostbacksRouteDirectly) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  EXPECT_EQ(Describe(chat.Tap("intent:opening_hours")),
            (Lines{"text:We are open 9-17.|Closed on Sundays."}));
  EXPECT_EQ(Describe(chat.Tap("menu:main")),
            (Lines{"menu:What can I help you with?[Opening hours=intent:opening_hours,Block a "
                   "card=flow:block_card,Talk to a person=action:escalate]"}));
  // The exact text of an item of the menu just shown acts as its payload.
  EXPECT_EQ(Describe(chat.Say("block a card")),
            (Lines{"text:What are the last four digits of the card?"}));
  // Inside a flow, a routing postback leaves the flow and acts.
  EXPECT_EQ(Describe(chat.Tap("intent:opening_hours")),
            (Lines{"text:We are open 9-17.|Closed on Sundays."}));
  EXPECT_EQ(Describe(chat.Say("1234")), (Lines{"text:Sorry, I didn't get that."}));
  BotReply esc = chat.Tap("action:escalate");
  EXPECT_EQ(esc.messages.size(), 2u);
  BotReply q = chat.Tap("queue:general");
  EXPECT_EQ(q.next, BotReply::Next::kEscalate);
  EXPECT_EQ(q.queue, "general");
}

TEST(DialogBotTest, UnknownPostbacksAreMisunderstandings) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  EXPECT_EQ(Describe(chat.Tap("intent:nope")), (Lines{"text:Sorry, I didn't get that."}));
  EXPECT_EQ(Describe(chat.Tap("queue:nope")).size(), 1u);  // the escalation offer
  EXPECT_EQ(Describe(chat.Tap("flow:nope")), (Lines{"text:Sorry, I didn't get that."}));
}

TEST(DialogBotTest, AQueueNotChosenIsOfferedAgain) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("talk to a person");
  EXPECT_EQ(Describe(chat.Say("hmm zxqv")),
            (Lines{"menu:Who would you like to talk to?[Cards=queue:cards,Something "
                   "else=queue:general]"}));
  BotReply r = chat.Say("Something else");
  EXPECT_EQ(r.next, BotReply::Next::kEscalate);
  EXPECT_EQ(r.queue, "general");
}

TEST(DialogBotTest, RepeatedWrongAnswersInAFlowEndItThenOfferAPerson) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  chat.Say("i lost my card");
  EXPECT_EQ(Describe(chat.Say("12")), (Lines{"text:Just the four digits, please."}));
  EXPECT_EQ(Describe(chat.Say("34")), (Lines{"text:Just the four digits, please."}));
  // Past `retries` (2): the fallback, which counts as a misunderstanding, and the flow ends.
  EXPECT_EQ(Describe(chat.Say("56")), (Lines{"text:Sorry, I didn't get that."}));
  EXPECT_EQ(Describe(chat.Say("78")),
            (Lines{"menu:Would you like to talk to a person?[Yes, please=action:escalate,No, "
                   "thanks=action:cancel]"}));
}

TEST(DialogBotTest, StateFromAnotherVersionOrDamagedDoesNotCrash) {
  Chat chat(kBot);
  CustomerTurn turn;
  turn.text = {"when are you open"};
  for (const char* state : {R"(null)", R"(42)", R"({"v":1,"flow":"gone","step":3})",
                            R"({"v":1,"greeted":true,"flow":"block_card","step":99})",
                            R"({"v":1,"greeted":true,"pending":{"step":-5}})",
                            R"({"v":1,"greeted":"x","slots":[],"offered":[1,2],"deferred":{}})"}) {
    BotReply r = chat.bot().OnCustomerTurn(turn, json::parse(state));
    EXPECT_TRUE(r.state.is_object()) << state;
    chat.bot().OnCallResult(turn, Ok(json::object{}), json::parse(state));
  }
}

TEST(DialogBotTest, AnyUnicodeTextIsHandled) {
  Chat chat(kBot);
  chat.Say("xyzzy plugh");
  std::string big;
  while (big.size() < 4096) big += "é🙂שָׁלוֹם\u202e";
  for (const std::string& text :
       {std::string("🙂🙂🙂"), std::string("مرحبا كيف حالك"),
        std::string("e\u0301\u0301\u0301"), big, std::string("\xff\xfe"), std::string(1, '\0')}) {
    BotReply r = chat.Say(text);
    EXPECT_TRUE(r.state.is_object());
  }
}

TEST(DialogBotTest, BankYamlAnswers) {
  DefinitionResult r = LoadDefinitionFile(
      (std::filesystem::path(__FILE__).parent_path() / "../../bots/bank.yaml").string());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().ToString();
  ManualClock clock(0);
  auto bot = DialogBot::Create(std::move(*r.definition), clock);
  ASSERT_TRUE(bot.has_value());
  CustomerTurn turn;
  turn.conversation_id = "c";
  turn.customer_id = "u";
  turn.customer_name = "Sam";
  turn.text = {"what is my balance"};
  turn.first_turn = true;  // a new conversation: greeted (issue 18: only then)
  BotReply first = (*bot)->OnCustomerTurn(turn, nullptr);
  turn.first_turn = false;
  ASSERT_EQ(first.messages.size(), 3u);  // greeting text, main menu, "Which account?"
  EXPECT_EQ(Describe(first.messages[0]), "text:Hi Sam, I'm Ava, Parley Bank's virtual assistant.");
  EXPECT_EQ(Describe(first.messages[2]),
            "menu:Which account?[Current account=current,Savings account=savings]");
  turn.text.clear();
  turn.postback = "savings";
  BotReply call = (*bot)->OnCustomerTurn(turn, first.state);
  ASSERT_TRUE(call.call.has_value());
  EXPECT_EQ(call.call->request.at("slots"), (json::object{{"account", "savings"}}));
  BotReply told = (*bot)->OnCallResult(
      turn, Ok(json::object{{"slots", json::object{{"found", "yes"}, {"balance", "£1,234.56"}}}}),
      call.state);
  EXPECT_EQ(Describe(told), (Lines{"text:The balance of your savings account is £1,234.56."}));
  turn.postback.reset();
  turn.text = {"when are you open"};
  BotReply hours = (*bot)->OnCustomerTurn(turn, told.state);
  ASSERT_EQ(hours.messages.size(), 1u);
  EXPECT_TRUE(Describe(hours.messages[0]).starts_with("text:Our branches are open"));
}

}  // namespace
}  // namespace parley::bot

namespace parley::bot {
namespace {

TEST(CallOutcomeFromHttpTest, OkOnlyFor2xxWithAJsonObject) {
  CallOutcome ok = CallOutcomeFromHttp(200, R"({"slots":{"a":"b"}})");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.response.at("slots").at("a"), "b");
  EXPECT_TRUE(CallOutcomeFromHttp(204 + 0, "{}").ok);
  EXPECT_EQ(CallOutcomeFromHttp(500, "{}").error, "HTTP status 500");
  EXPECT_EQ(CallOutcomeFromHttp(302, "{}").error, "HTTP status 302");
  EXPECT_EQ(CallOutcomeFromHttp(200, "[]").error, "the answer is not a JSON object");
  EXPECT_EQ(CallOutcomeFromHttp(200, "").error, "the answer is not a JSON object");
  EXPECT_FALSE(CallOutcomeFromHttp(200, "{\"a\":").ok);
}

}  // namespace
}  // namespace parley::bot

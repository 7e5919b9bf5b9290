#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "bot/definition.hpp"

namespace parley::bot {
namespace {

// The smallest valid bot; each refusal case below adds one mistake to a valid file.
constexpr const char* kMinimal = R"(name: T
fallback:
  replies: [{text: "Sorry?"}]
)";

DefinitionResult Parse(const std::string& yaml, DefinitionOptions options = {}) {
  return ParseDefinition(yaml, "t.yaml", options);
}

// The first diagnostic as "file:line: reason", or "" when the file loads.
std::string FirstError(const std::string& yaml, DefinitionOptions options = {}) {
  DefinitionResult r = Parse(yaml, options);
  if (r.errors.empty()) {
    EXPECT_TRUE(r.definition.has_value());
    return "";
  }
  EXPECT_FALSE(r.definition.has_value());
  return r.errors.front().ToString();
}

std::string BankPath() {
  return (std::filesystem::path(__FILE__).parent_path() / "../../bots/bank.yaml").string();
}

TEST(BotDefinitionTest, MinimalLoadsWithDefaults) {
  DefinitionResult r = Parse(kMinimal);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().ToString();
  ASSERT_TRUE(r.definition);
  EXPECT_EQ(r.definition->name, "T");
  EXPECT_DOUBLE_EQ(r.definition->threshold, kDefaultIntentThreshold);
  EXPECT_FALSE(r.definition->threshold_set);
  EXPECT_EQ(r.definition->fallback.escalate_after, 0);  // nobody to offer without escalation
  EXPECT_FALSE(r.definition->escalation.has_value());
  EXPECT_EQ(r.definition->file, "t.yaml");
}

TEST(BotDefinitionTest, IssueExampleLoads) {
  const std::string yaml = R"(name: Ava
greeting: [{text: "Hi {customer_name}, I'm Ava, Parley Bank's assistant."}]
threshold: 0.5
fallback:
  replies: [{text: "Sorry, I didn't get that."}, {menu: main}]
  escalate_after: 2
intents:
  - name: opening_hours
    examples: [when are you open, what time do you close today, are you open on sunday]
    replies: [{text: "We are open 9:00-17:00, Monday to Friday."}]
  - name: lost_card
    examples: [i lost my card, my card was stolen, block my card]
    flow: block_card
  - name: agent
    examples: [talk to a person, i want a human, agent please]
    action: escalate
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
      - call: {url: "https://bank.example/api/cards/block", timeout_ms: 3000}
      - when: {confirm: "yes"}
        replies: [{text: "Done: the card ending {last4} is blocked."}]
      - when: {confirm: "no"}
        replies: [{text: "OK, I left it active."}]
escalation:
  replies: [{text: "Let me find you a person to talk to."}]
  queues: [{queue: cards, text: Cards}, {queue: general, text: Something else}]
)";
  DefinitionResult r = Parse(yaml);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().ToString();
  const BotDefinition& d = *r.definition;
  EXPECT_EQ(d.name, "Ava");
  ASSERT_EQ(d.intents.size(), 3u);
  EXPECT_EQ(d.intents[1].flow, "block_card");
  EXPECT_TRUE(d.intents[2].escalate);
  ASSERT_EQ(d.fallback.replies.size(), 2u);
  EXPECT_EQ(d.fallback.replies[1].menu_name, "main");
  const Flow* flow = d.FindFlow("block_card");
  ASSERT_NE(flow, nullptr);
  ASSERT_EQ(flow->steps.size(), 5u);
  EXPECT_EQ(flow->steps[0].kind, FlowStep::Kind::kAsk);
  ASSERT_TRUE(flow->steps[0].ask.pattern);
  EXPECT_EQ(flow->steps[0].ask.pattern->source, "^[0-9]{4}$");
  EXPECT_EQ(flow->steps[1].ask.choices, (std::vector<std::string>{"yes", "no"}));
  EXPECT_EQ(flow->steps[2].kind, FlowStep::Kind::kCall);
  EXPECT_EQ(flow->steps[2].call.timeout_ms, 3000);
  ASSERT_EQ(flow->steps[3].when.size(), 1u);
  EXPECT_EQ(flow->steps[3].when[0], (std::pair<std::string, std::string>{"confirm", "yes"}));
  ASSERT_TRUE(d.escalation);
  EXPECT_EQ(d.escalation->queues.size(), 2u);
  EXPECT_EQ(flow->steps[0].line, 27);
}

TEST(BotDefinitionTest, BankYamlLoads) {
  DefinitionResult r = LoadDefinitionFile(BankPath());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().ToString();
  const BotDefinition& d = *r.definition;
  EXPECT_EQ(d.name, "Ava");
  EXPECT_GE(d.intents.size(), 6u);
  EXPECT_TRUE(d.FindFlow("check_balance"));
  EXPECT_TRUE(d.FindFlow("block_card"));
  EXPECT_TRUE(d.FindFlow("find_branch"));
  ASSERT_TRUE(d.escalation);
  EXPECT_EQ(d.escalation->queues.size(), 2u);
  // Every reply kind appears somewhere in the sample.
  bool kinds[4] = {};
  auto note = [&](const std::vector<Reply>& replies) {
    for (const auto& r : replies) kinds[r.body.index()] = true;
  };
  note(d.greeting);
  for (const auto& i : d.intents) note(i.replies);
  for (const auto& [name, f] : d.flows) {
    for (const auto& s : f.steps) note(s.replies);
  }
  EXPECT_TRUE(kinds[0] && kinds[1] && kinds[2] && kinds[3]);
}

TEST(BotDefinitionTest, RefusesUnknownKeysAtTheirLine) {
  EXPECT_EQ(FirstError(std::string(kMinimal) + "colour: blue\n"),
            "t.yaml:4: unknown key 'colour' in the bot definition (allowed: name, greeting, "
            "threshold, interrupt_threshold, cancel, fallback, intents, menus, flows, escalation)");
  std::string yaml = std::string(kMinimal) + R"(intents:
  - name: hi
    examples: [hello]
    replys: [{text: Hi}]
)";
  std::string e = FirstError(yaml);
  EXPECT_TRUE(e.starts_with("t.yaml:5: intent 'hi' needs replies")) << e;
  DefinitionResult r = Parse(yaml);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_TRUE(r.errors[1].ToString().starts_with("t.yaml:7: unknown key 'replys' in intent 'hi'"))
      << r.errors[1].ToString();
}

TEST(BotDefinitionTest, RefusesMissingRequiredParts) {
  EXPECT_EQ(FirstError("name: T\n"), "t.yaml:1: the bot definition needs 'fallback'");
  EXPECT_EQ(FirstError("name: T\nfallback: {escalate_after: 0}\n"),
            "t.yaml:2: fallback needs 'replies'");
  EXPECT_EQ(FirstError("name: T\nfallback: {replies: []}\n"),
            "t.yaml:2: fallback replies must not be empty");
  EXPECT_EQ(FirstError(""),
            "t.yaml: the file is empty: a bot needs at least 'name' and 'fallback'");
  EXPECT_EQ(FirstError(std::string(kMinimal) + "intents:\n  - {name: a, examples: [x]}\n"),
            "t.yaml:5: intent 'a' needs replies, a flow or action: escalate");
}

TEST(BotDefinitionTest, RefusesInvalidYamlWithItsLine) {
  std::string e = FirstError("name: T\nfallback:\n  replies: [{text: \"x\"\n");
  EXPECT_TRUE(e.starts_with("t.yaml:")) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(BotDefinitionTest, RefusesDuplicateIntentNames) {
  std::string yaml = std::string(kMinimal) + R"(intents:
  - {name: a, examples: [x], replies: [{text: A}]}
  - {name: a, examples: [y], replies: [{text: B}]}
)";
  EXPECT_EQ(FirstError(yaml), "t.yaml:6: duplicate intent name 'a' (first defined at line 5)");
}

TEST(BotDefinitionTest, RefusesEmptyExamples) {
  std::string yaml = std::string(kMinimal) + R"(intents:
  - name: a
    examples: []
    replies: [{text: A}]
)";
  EXPECT_EQ(FirstError(yaml), "t.yaml:6: intent 'a' examples must not be empty");
}

TEST(BotDefinitionTest, RefusesUnknownMenusFlowsAndIntentsInReferences) {
  EXPECT_EQ(FirstError(std::string(kMinimal) + "greeting: [{menu: nope}]\n"),
            "t.yaml:4: unknown menu 'nope'");
  std::string yaml = std::string(kMinimal) + R"(menus:
  main:
    title: Pick
    items:
      - {text: A, payload: "intent:missing"}
      - {text: B, payload: "flow:missing"}
      - {text: C, payload: "menu:missing"}
      - {text: D, payload: "action:dance"}
      - {text: E, payload: "action:escalate"}
      - {text: F, payload: "queue:cards"}
)";
  DefinitionResult r = Parse(yaml);
  ASSERT_EQ(r.errors.size(), 6u);
  EXPECT_EQ(r.errors[0].ToString(), "t.yaml:8: payload 'intent:missing' names an unknown intent");
  EXPECT_EQ(r.errors[1].ToString(), "t.yaml:9: payload 'flow:missing' names an unknown flow");
  EXPECT_EQ(r.errors[2].ToString(), "t.yaml:10: payload 'menu:missing' names an unknown menu");
  EXPECT_EQ(r.errors[3].ToString(),
            "t.yaml:11: payload 'action:dance' names an unknown action (use action:escalate or "
            "action:cancel)");
  EXPECT_EQ(r.errors[4].ToString(),
            "t.yaml:12: payload 'action:escalate' needs an 'escalation' section");
  EXPECT_EQ(r.errors[5].ToString(),
            "t.yaml:13: payload 'queue:cards' names a queue that escalation does not list");
  EXPECT_EQ(
      FirstError(std::string(kMinimal) + "intents:\n  - {name: a, examples: [x], flow: nowhere}\n"),
      "t.yaml:5: intent 'a' names an unknown flow 'nowhere'");
  EXPECT_EQ(FirstError(std::string(kMinimal) +
                       "intents:\n  - {name: a, examples: [x], action: escalate}\n"),
            "t.yaml:5: action: escalate needs an 'escalation' section");
}

TEST(BotDefinitionTest, RefusesAFlowNamingAnUnknownSlot) {
  std::string yaml = std::string(kMinimal) + R"(flows:
  f:
    steps:
      - {ask: "Name?", slot: who}
      - when: {whom: "x"}
        replies: [{text: "Hello {who}"}]
      - replies: [{text: "Bye {nobody}"}]
)";
  DefinitionResult r = Parse(yaml);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].ToString(),
            "t.yaml:8: when names slot 'whom', which no earlier step of flow 'f' asks");
  EXPECT_EQ(r.errors[1].ToString(),
            "t.yaml:10: placeholder {nobody} names no slot of flow 'f' filled before this point");
  // Outside flows only customer_name and context.* exist.
  EXPECT_EQ(FirstError(std::string(kMinimal) + "greeting: [{text: \"Hi {last4}\"}]\n"),
            "t.yaml:4: placeholder {last4} is not available here: outside a flow use "
            "{customer_name} or {context.key}");
  EXPECT_EQ(FirstError(std::string(kMinimal) + "greeting: [{text: \"Hi {customer_name} "
                                               "{context.plan}\"}]\n"),
            "");
}

TEST(BotDefinitionTest, AfterACallAnySlotMayBeUsed) {
  std::string yaml = std::string(kMinimal) + R"(flows:
  f:
    steps:
      - call: {url: "https://api.example.com/x"}
      - when: {found: "yes"}
        replies: [{text: "Balance {balance}"}]
)";
  EXPECT_EQ(FirstError(yaml), "");
}

TEST(BotDefinitionTest, RefusesAWhenValueOutsideTheChoices) {
  std::string yaml = std::string(kMinimal) + R"(flows:
  f:
    steps:
      - {ask: "Sure?", slot: ok, choices: [yes, no]}
      - when: {ok: maybe}
        replies: [{text: "Hm"}]
)";
  EXPECT_EQ(FirstError(yaml), "t.yaml:8: 'maybe' is not one of the choices of slot 'ok'");
}

TEST(BotDefinitionTest, RefusesInvalidAndDangerousPatterns) {
  auto with_pattern = [](const std::string& p) {
    return std::string(kMinimal) +
           "flows:\n  f:\n    steps:\n      - ask: \"Q?\"\n        slot: s\n"
           "        pattern: '" +
           p + "'\n";
  };
  std::string e = FirstError(with_pattern("^[0-9{4}$"));
  EXPECT_TRUE(e.starts_with("t.yaml:9: invalid regular expression '^[0-9{4}$'")) << e;
  e = FirstError(with_pattern("^(a+)+$"));
  EXPECT_EQ(e,
            "t.yaml:9: pattern '^(a+)+$' repeats a group that itself repeats or alternates, "
            "which can make matching take exponential time");
  e = FirstError(with_pattern("^(a|aa)*$"));
  EXPECT_NE(e.find("exponential"), std::string::npos) << e;
  e = FirstError(with_pattern("^(a)\\1$"));
  EXPECT_NE(e.find("backreference"), std::string::npos) << e;
  e = FirstError(with_pattern("a*b*c*d*e*"));
  EXPECT_NE(e.find("more than 4 repeating quantifiers"), std::string::npos) << e;
  e = FirstError(with_pattern("a{1,5000}"));
  EXPECT_NE(e.find("repeat count above 256"), std::string::npos) << e;
  // Braces that are not a repeat count never hang the check (found by the damage test).
  for (const char* p : {"^[0-9]{a4}$", "x{", "x{1,", "{}", "a{,}"})
    (void)FirstError(with_pattern(p));
  // Ordinary slot patterns pass.
  EXPECT_EQ(FirstError(with_pattern("^[0-9]{4}$")), "");
  EXPECT_EQ(FirstError(with_pattern("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$")), "");
  EXPECT_EQ(FirstError(with_pattern("^(?:[0-9]{3}-){2}[0-9]{4}$")), "");
  EXPECT_EQ(FirstError(with_pattern("^(yes|no)?$")), "");
}

TEST(BotDefinitionTest, RefusesCallUrlsThatBreakTheWebhookRules) {
  auto with_url = [](const std::string& url) {
    return std::string(kMinimal) + "flows:\n  f:\n    steps:\n      - call: {url: \"" + url +
           "\", timeout_ms: 500}\n";
  };
  std::string e = FirstError(with_url("http://api.example.com/x"));
  EXPECT_TRUE(e.starts_with("t.yaml:7: call url 'http://api.example.com/x' is refused")) << e;
  e = FirstError(with_url("https://127.0.0.1:8080/x"));
  EXPECT_TRUE(e.starts_with("t.yaml:7: call url")) << e;
  EXPECT_EQ(FirstError(with_url("https://api.example.com/x")), "");
  DefinitionOptions insecure;
  insecure.allow_insecure_calls = true;
  EXPECT_EQ(FirstError(with_url("http://127.0.0.1:8080/x"), insecure), "");
  EXPECT_EQ(FirstError(std::string(kMinimal) +
                       "flows:\n  f:\n    steps:\n      - call: {url: \"https://a.example\", "
                       "timeout_ms: 0}\n"),
            "t.yaml:7: timeout_ms must be an integer from 1 to 60000");
}

TEST(BotDefinitionTest, RefusesMalformedReplies) {
  auto with_greeting = [](const std::string& g) {
    return std::string(kMinimal) + "greeting:\n  - " + g + "\n";
  };
  EXPECT_EQ(FirstError(with_greeting("{speak: hi}")),
            "t.yaml:5: unknown reply kind 'speak' in greeting (use text, menu, carousel or "
            "link_button)");
  EXPECT_EQ(FirstError(with_greeting("{text: hi, menu: main}")),
            "t.yaml:5: a reply in greeting must have exactly one of text, menu, carousel, "
            "link_button");
  EXPECT_EQ(FirstError(with_greeting("{link_button: {title: T, label: L}}")),
            "t.yaml:5: link_button needs 'url'");
  EXPECT_EQ(FirstError(with_greeting("{link_button: {title: T, label: L, url: \"ftp://x\"}}")),
            "t.yaml:5: link_button url must use http or https");
  // A placeholder in the scheme, even with an https fallback, would let the context choose it.
  EXPECT_EQ(
      FirstError(with_greeting(
          "{link_button: {title: T, label: L, url: \"{context.scheme|https}://x.example\"}}")),
      "t.yaml:5: link_button url must start with http:// or https:// written out (no "
      "placeholder before \"://\")");
  EXPECT_EQ(FirstError(with_greeting("{link_button: {title: T, label: L, url: "
                                     "\"https://{context.host|x}.example/{customer_name}\"}}")),
            "");
  EXPECT_EQ(FirstError(with_greeting("{carousel: {items: [{title: A, buttons: [{text: B, payload: "
                                     "p, url: \"https://x.example\"}]}]}}")),
            "t.yaml:5: a carousel button needs exactly one of 'payload' and 'url'");
  EXPECT_EQ(FirstError(with_greeting("{menu: {title: T, items: []}}")),
            "t.yaml:5: an inline menu items must not be empty");
  EXPECT_EQ(FirstError(with_greeting("{text: \"\"}")), "t.yaml:5: text must not be empty");
}

TEST(BotDefinitionTest, RefusesMalformedSteps) {
  std::string yaml = std::string(kMinimal) + R"(flows:
  f:
    steps:
      - {ask: "Q?", slot: a, replies: [{text: x}]}
      - {replies: [{text: x}], slot: b}
      - {ask: "Q?", slot: 1bad}
      - {ask: "Q?", slot: c, pattern: "x", choices: [x]}
)";
  DefinitionResult r = Parse(yaml);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].ToString(),
            "t.yaml:7: a step must have exactly one of ask, call and replies");
  EXPECT_EQ(r.errors[1].ToString(), "t.yaml:8: 'slot' belongs to an ask step");
  EXPECT_TRUE(r.errors[2].ToString().starts_with("t.yaml:9: slot '1bad' must be"))
      << r.errors[2].ToString();
  EXPECT_EQ(r.errors[3].ToString(),
            "t.yaml:10: an ask step takes either pattern or choices, not both");
}

TEST(BotDefinitionTest, RefusesBadThresholdAndEscalation) {
  EXPECT_EQ(FirstError(std::string(kMinimal) + "threshold: 1.5\n"),
            "t.yaml:4: threshold must be a number between 0 and 1");
  EXPECT_EQ(FirstError(std::string(kMinimal) + "threshold: high\n"),
            "t.yaml:4: threshold must be a number between 0 and 1");
  EXPECT_EQ(FirstError("name: T\nfallback:\n  replies: [{text: x}]\n  escalate_after: 2\n"),
            "t.yaml:4: escalate_after offers a person, which needs an 'escalation' section (or "
            "set it to 0)");
  EXPECT_EQ(FirstError(std::string(kMinimal) +
                       "escalation:\n  replies: [{text: x}]\n  queues: [{queue: a, text: A}, "
                       "{queue: a, text: B}]\n"),
            "t.yaml:6: queue 'a' is listed twice");
}

TEST(BotDefinitionTest, RefusesAliasExplosion) {
  // 100 steps x 100 replies x 100 lines = a million values from a few kilobytes.
  std::string lines = "&l [a";
  for (int i = 1; i < 100; ++i) lines += ", a";
  lines += "]";
  std::string replies = "[&r {text: " + lines + "}";
  for (int i = 1; i < 100; ++i) replies += ", *r";
  replies += "]";
  std::string yaml =
      std::string(kMinimal) + "flows:\n  f:\n    steps:\n      - &s {replies: " + replies + "}\n";
  for (int i = 1; i < 100; ++i) yaml += "      - *s\n";
  ASSERT_LT(yaml.size(), 4096u);
  DefinitionResult r = Parse(yaml);
  EXPECT_FALSE(r.definition);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].reason.find("too many values"), std::string::npos) << r.errors[0].reason;
}

TEST(BotDefinitionTest, RefusesOversizedFiles) {
  DefinitionOptions small;
  small.max_file_bytes = 10;
  EXPECT_EQ(FirstError(kMinimal, small), "t.yaml: the file is larger than 10 bytes");
}

TEST(BotDefinitionTest, ReportsAnUnreadableFile) {
  DefinitionResult r = LoadDefinitionFile("/nonexistent/bot.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "/nonexistent/bot.yaml: cannot read the file");
  Error e = DiagnosticsError(r.errors);
  EXPECT_EQ(e.errc, Errc::kInvalidArgument);
  EXPECT_EQ(e.code, "invalid_bot_definition");
}

// A deterministic stand-in for the fuzzer (fuzz/bot_loader_fuzz.cpp) that runs with every
// build: thousands of damaged copies of the sample bot must be refused or loaded, never crash,
// and every refusal must carry a line within the file.
TEST(BotDefinitionTest, DamagedFilesNeverCrashTheLoader) {
  std::ifstream in(BankPath());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bank = ss.str();
  ASSERT_FALSE(bank.empty());
  std::mt19937 rng(20261125);
  const std::string alphabet = " \n\t:-[]{}&*!|>'\"#,?%@`0a\xc3\xa9";
  size_t refused = 0;
  for (int round = 0; round < 500; ++round) {
    std::string text = bank;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text.erase(pos, 1 + rng() % 8);
          break;
        case 1:
          text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          text[pos] = alphabet[rng() % alphabet.size()];
          break;
      }
      if (text.empty()) text = "x";
    }
    DefinitionResult r = Parse(text);
    EXPECT_NE(r.definition.has_value(), !r.errors.empty());
    int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    for (const auto& d : r.errors) {
      EXPECT_LE(d.line, lines + 1) << d.ToString();
      EXPECT_FALSE(d.reason.empty());
    }
    refused += r.definition ? 0 : 1;
  }
  EXPECT_GT(refused, 25u);  // the damage is real
}

TEST(BotDefinitionTest, ParsesPostbackForms) {
  EXPECT_EQ(ParsePostback("intent:hours").kind, Postback::Kind::kIntent);
  EXPECT_EQ(ParsePostback("intent:hours").target, "hours");
  EXPECT_EQ(ParsePostback("flow:f").kind, Postback::Kind::kFlow);
  EXPECT_EQ(ParsePostback("menu:main").kind, Postback::Kind::kMenu);
  EXPECT_EQ(ParsePostback("queue:cards").kind, Postback::Kind::kQueue);
  EXPECT_EQ(ParsePostback("action:escalate").kind, Postback::Kind::kEscalate);
  EXPECT_EQ(ParsePostback("action:cancel").kind, Postback::Kind::kCancel);
  EXPECT_EQ(ParsePostback("yes").kind, Postback::Kind::kNone);
  EXPECT_EQ(ParsePostback("intent:").kind, Postback::Kind::kNone);
}

// ParseDefinitionNode (the tree entry bot_loader_fuzz uses) checks a parsed tree exactly as
// ParseDefinition checks its text: the same definition, the same diagnostics at the same lines.
TEST(BotDefinitionTest, TreeEntryMatchesTextEntry) {
  std::ifstream in(BankPath());
  std::stringstream text;
  text << in.rdbuf();
  DefinitionResult from_text = Parse(text.str());
  DefinitionResult from_tree = ParseDefinitionNode(YAML::Load(text.str()), "t.yaml");
  ASSERT_TRUE(from_text.definition && from_tree.definition);
  EXPECT_EQ(from_tree.definition->file, "t.yaml");
  EXPECT_EQ(from_tree.definition->name, from_text.definition->name);
  EXPECT_EQ(from_tree.definition->intents.size(), from_text.definition->intents.size());
  EXPECT_EQ(from_tree.definition->flows.size(), from_text.definition->flows.size());
  EXPECT_EQ(from_tree.definition->greeting.size(), from_text.definition->greeting.size());

  const std::string broken = std::string(kMinimal) + R"(intents:
  - name: hi
    examples: [hello]
    replys: [{text: Hi}]
)";
  DefinitionResult bad_text = Parse(broken);
  DefinitionResult bad_tree = ParseDefinitionNode(YAML::Load(broken), "t.yaml");
  EXPECT_FALSE(bad_tree.definition);
  ASSERT_EQ(bad_tree.errors.size(), bad_text.errors.size());
  for (size_t i = 0; i < bad_text.errors.size(); ++i)
    EXPECT_EQ(bad_tree.errors[i].ToString(), bad_text.errors[i].ToString());
}

// A tree built in memory has no lines: its diagnostics name the file without one.
TEST(BotDefinitionTest, TreeEntryTakesATreeBuiltInMemory) {
  YAML::Node root(YAML::NodeType::Map);
  root["name"] = "T";
  YAML::Node reply(YAML::NodeType::Map);
  reply["text"] = "Sorry?";
  root["fallback"]["replies"].push_back(reply);
  DefinitionResult r = ParseDefinitionNode(root, "t.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().ToString();
  EXPECT_EQ(r.definition->name, "T");

  root["colour"] = "blue";
  r = ParseDefinitionNode(root, "t.yaml");
  EXPECT_FALSE(r.definition);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(r.errors[0].ToString().starts_with("t.yaml: unknown key 'colour'"))
      << r.errors[0].ToString();

  // A subtree with two parents (what a YAML alias makes) is checked at each.
  YAML::Node shared(YAML::NodeType::Sequence);
  shared.push_back(reply);
  root.remove("colour");
  root["greeting"] = shared;
  root["fallback"]["replies"] = shared;
  r = ParseDefinitionNode(root, "t.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().ToString();
  EXPECT_EQ(r.definition->greeting.size(), 1u);
}

}  // namespace
}  // namespace parley::bot

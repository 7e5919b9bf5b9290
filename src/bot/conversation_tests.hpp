#pragma once
// Conversation tests of a bot (`parley bot test`): YAML files of customer turns and the replies
// expected, run against the bot without a server, like Rasa's stories. The tests of NAME.yaml
// live beside it in NAME.test.yaml. Format: docs/bot-authoring.md, "Testing a bot".

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"

namespace parley::bot {

// One expected reply, matched against the bot's reply at the same position.
struct ExpectedReply {
  enum class Kind { kText, kContains, kType, kMenu, kCarousel } kind = Kind::kText;
  std::string text;                // kText: the whole text (lines joined with "\n");
                                   // kContains: a part of it; kType: the wire type
  std::vector<std::string> items;  // kMenu: the items' texts; kCarousel: the cards' titles
  int line = 0;
};

struct TestTurn {
  std::optional<std::string> say;       // the customer's text, or
  std::optional<std::string> postback;  // a tapped item's payload
  boost::json::object context;          // context_data sent with it
  int line = 0;
  // Expectations; what is not given is not checked.
  std::optional<std::string> intent;         // recognised as this intent
  bool not_understood = false;               // the fallback (or a retry of a flow's question)
  std::map<std::string, std::string> slots;  // slots set to these values during the turn
  std::optional<std::string> escalate;       // handed to this queue
  std::optional<std::vector<ExpectedReply>> replies;  // exactly these replies, in order
};

// How a `call` step is answered in a test: an action's JSON answer, or a failure.
struct CallStub {
  bool fail = false;
  boost::json::object response;  // {"slots": {...}, "replies": [...]}
};

struct ConversationTest {
  std::string name;
  int line = 0;
  std::optional<std::string> customer_name;
  std::map<std::string, CallStub> calls;  // by URL; "*" answers any other
  std::vector<TestTurn> turns;
};

struct ConversationTestFile {
  std::string file;
  std::vector<ConversationTest> tests;
  std::vector<Diagnostic> errors;  // the file is not run when there are any
};

// Parses a test file's YAML. Never throws.
ConversationTestFile ParseConversationTests(std::string_view yaml, std::string_view file);
// Reads the file, then ParseConversationTests.
ConversationTestFile LoadConversationTests(const std::string& path);

struct TestOutcome {
  std::string name;
  std::string file;
  int line = 0;
  std::vector<std::string> failures;  // empty: passed; each "turn N (line L): ..." with details
  double seconds = 0;
  bool passed() const { return failures.empty(); }
};

// Runs every test of `tests` against `bot` (each a new conversation). Calls are never made:
// they are answered by the test's stubs (a call without a stub fails the test).
std::vector<TestOutcome> RunConversationTests(const DialogBot& bot,
                                              const ConversationTestFile& tests);

// One line per message, as failures show them: text "..." / menu "title" [a | b] / ...
std::string DescribeReply(const channel::OutboundBody& body);

// The outcomes as a JUnit XML report (one testsuite per file), for CI systems.
std::string JUnitXml(const std::string& suite, const std::vector<TestOutcome>& outcomes);

// NAME.test.yaml beside NAME.yaml.
std::string DefaultTestsPath(const std::string& bot_file);

}  // namespace parley::bot

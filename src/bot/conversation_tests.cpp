#include "bot/conversation_tests.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

namespace parley::bot {
namespace json = boost::json;
namespace {

constexpr size_t kMaxTestFileBytes = 4 << 20;
constexpr int kMaxCallsPerTurn = 10;

int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

// Scalars become strings (what slots and context values are to the bot), sequences arrays and
// maps objects.
json::value ToJsonValue(const YAML::Node& n, int depth = 0) {
  if (depth > 16 || !n.IsDefined() || n.IsNull()) return nullptr;
  if (n.IsScalar()) return json::value(n.Scalar());
  if (n.IsSequence()) {
    json::array a;
    for (const auto& item : n) a.push_back(ToJsonValue(item, depth + 1));
    return a;
  }
  json::object o;
  for (const auto& kv : n) {
    if (kv.first.IsScalar()) o[kv.first.Scalar()] = ToJsonValue(kv.second, depth + 1);
  }
  return o;
}

class TestParser {
 public:
  explicit TestParser(ConversationTestFile& out) : out_(out) {}

  void Error(const YAML::Node& n, std::string reason) {
    if (out_.errors.size() < kMaxDiagnostics)
      out_.errors.push_back({out_.file, n.IsDefined() ? LineOf(n) : 0, std::move(reason)});
  }

  bool Keys(const YAML::Node& n, std::initializer_list<std::string_view> allowed,
            std::string_view where) {
    if (!n.IsMap()) {
      Error(n, fmt::format("{} must be a mapping", where));
      return false;
    }
    for (const auto& kv : n) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      bool known = false;
      for (auto a : allowed) known = known || key == a;
      if (!known) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Error(kv.first, fmt::format("unknown key '{}' in {} (allowed: {})", key, where, list));
      }
    }
    return true;
  }

  std::optional<std::string> Scalar(const YAML::Node& n, std::string_view what) {
    if (!n.IsScalar()) {
      Error(n, fmt::format("{} must be a string", what));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::vector<std::string> Strings(const YAML::Node& n, std::string_view what) {
    std::vector<std::string> out;
    if (!n.IsSequence()) {
      Error(n, fmt::format("{} must be a list of strings", what));
      return out;
    }
    for (const auto& item : n) {
      if (auto s = Scalar(item, what)) out.push_back(*s);
    }
    return out;
  }

  void File(const YAML::Node& root) {
    if (!Keys(root, {"tests"}, "the test file")) return;
    YAML::Node tests = root["tests"];
    if (!tests || !tests.IsSequence() || tests.size() == 0) {
      Error(tests ? tests : root, "'tests' must be a non-empty list of tests");
      return;
    }
    std::set<std::string> names;
    for (const auto& t : tests) {
      ConversationTest test;
      test.line = LineOf(t);
      if (!Keys(t, {"name", "customer_name", "calls", "turns"}, "a test")) continue;
      if (auto name = t["name"] ? Scalar(t["name"], "name") : std::nullopt) {
        test.name = *name;
      } else {
        if (!t["name"]) Error(t, "a test needs a 'name'");
        continue;
      }
      if (!names.insert(test.name).second)
        Error(t["name"], fmt::format("two tests are named '{}'", test.name));
      if (YAML::Node n = t["customer_name"]) test.customer_name = Scalar(n, "customer_name");
      if (YAML::Node calls = t["calls"]) Calls(calls, test);
      YAML::Node turns = t["turns"];
      if (!turns || !turns.IsSequence() || turns.size() == 0) {
        Error(turns ? turns : YAML::Node(t),
              fmt::format("test '{}' needs 'turns': a list", test.name));
        continue;
      }
      for (const auto& turn : turns) Turn(turn, test);
      out_.tests.push_back(std::move(test));
    }
  }

  void Calls(const YAML::Node& calls, ConversationTest& test) {
    if (!calls.IsMap()) return Error(calls, "calls must map a call's URL (or \"*\") to its answer");
    for (const auto& kv : calls) {
      std::string url = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!Keys(kv.second, {"slots", "replies", "fail"}, "a call's answer")) continue;
      CallStub stub;
      if (YAML::Node f = kv.second["fail"]) {
        stub.fail = f.IsScalar() && f.Scalar() == "true";
        if (!f.IsScalar() || (f.Scalar() != "true" && f.Scalar() != "false"))
          Error(f, "fail must be true or false");
      }
      if (YAML::Node s = kv.second["slots"]) {
        if (!s.IsMap()) Error(s, "a call's slots must be a mapping");
        stub.response["slots"] = ToJsonValue(s);
      }
      if (YAML::Node r = kv.second["replies"]) {
        if (!r.IsSequence()) Error(r, "a call's replies must be a list");
        stub.response["replies"] = ToJsonValue(r);
      }
      test.calls[url] = std::move(stub);
    }
  }

  void Turn(const YAML::Node& n, ConversationTest& test) {
    if (!Keys(n,
              {"say", "postback", "context_data", "intent", "not_understood", "slots", "escalate",
               "replies"},
              "a turn"))
      return;
    TestTurn turn;
    turn.line = LineOf(n);
    if (YAML::Node s = n["say"]) turn.say = Scalar(s, "say");
    if (YAML::Node p = n["postback"]) turn.postback = Scalar(p, "postback");
    if (static_cast<bool>(n["say"]) == static_cast<bool>(n["postback"])) {
      Error(n, "a turn needs 'say' (the customer's text) or 'postback' (a tapped payload)");
      return;
    }
    if (YAML::Node c = n["context_data"]) {
      json::value v = ToJsonValue(c);
      if (!v.is_object())
        Error(c, "context_data must be a mapping");
      else
        turn.context = v.as_object();
    }
    if (YAML::Node i = n["intent"]) turn.intent = Scalar(i, "intent");
    if (YAML::Node u = n["not_understood"]) {
      turn.not_understood = u.IsScalar() && u.Scalar() == "true";
      if (!u.IsScalar() || (u.Scalar() != "true" && u.Scalar() != "false"))
        Error(u, "not_understood must be true or false");
    }
    if (YAML::Node s = n["slots"]) {
      if (!s.IsMap()) {
        Error(s, "slots must map a slot to its expected value");
      } else {
        for (const auto& kv : s) {
          if (kv.first.IsScalar() && kv.second.IsScalar())
            turn.slots[kv.first.Scalar()] = kv.second.Scalar();
          else
            Error(kv.first, "a slot's expected value must be a string");
        }
      }
    }
    if (YAML::Node e = n["escalate"]) turn.escalate = Scalar(e, "escalate");
    if (YAML::Node r = n["replies"]) {
      turn.replies.emplace();
      if (!r.IsSequence()) {
        Error(r, "replies must be a list of expected replies");
      } else {
        for (const auto& item : r) {
          if (auto expected = Expected(item)) turn.replies->push_back(std::move(*expected));
        }
      }
    }
    test.turns.push_back(std::move(turn));
  }

  std::optional<ExpectedReply> Expected(const YAML::Node& n) {
    ExpectedReply e;
    e.line = LineOf(n);
    if (n.IsScalar()) {  // a bare string: the whole text
      e.text = n.Scalar();
      return e;
    }
    if (!Keys(n, {"text", "contains", "type", "menu", "carousel"}, "an expected reply")) {
      return std::nullopt;
    }
    if (n.size() != 1) {
      Error(n, "an expected reply has exactly one of text, contains, type, menu and carousel");
      return std::nullopt;
    }
    if (YAML::Node t = n["text"]) {
      e.kind = ExpectedReply::Kind::kText;
      if (t.IsSequence()) {
        for (const auto& line : Strings(t, "text")) e.text += (e.text.empty() ? "" : "\n") + line;
      } else if (auto s = Scalar(t, "text")) {
        e.text = *s;
      }
    } else if (YAML::Node c = n["contains"]) {
      e.kind = ExpectedReply::Kind::kContains;
      e.text = Scalar(c, "contains").value_or("");
    } else if (YAML::Node ty = n["type"]) {
      e.kind = ExpectedReply::Kind::kType;
      e.text = Scalar(ty, "type").value_or("");
      static const std::set<std::string> kTypes = {"text", "menu", "carousel", "link_button"};
      if (!kTypes.contains(e.text)) Error(ty, "type must be text, menu, carousel or link_button");
    } else if (YAML::Node m = n["menu"]) {
      e.kind = ExpectedReply::Kind::kMenu;
      e.items = Strings(m, "menu (the items' texts)");
    } else if (YAML::Node c2 = n["carousel"]) {
      e.kind = ExpectedReply::Kind::kCarousel;
      e.items = Strings(c2, "carousel (the cards' titles)");
    }
    return e;
  }

 private:
  ConversationTestFile& out_;
};

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out + "\"";
}

std::string JoinedText(const channel::TextBody& t) {
  std::string out;
  for (size_t i = 0; i < t.text.size(); ++i) out += (i ? "\n" : "") + t.text[i];
  return out;
}

std::string DescribeExpected(const ExpectedReply& e) {
  auto list = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : " | ") + i;
    return "[" + out + "]";
  };
  switch (e.kind) {
    case ExpectedReply::Kind::kText:
      return "text " + Quote(e.text);
    case ExpectedReply::Kind::kContains:
      return "a text containing " + Quote(e.text);
    case ExpectedReply::Kind::kType:
      return "a " + e.text;
    case ExpectedReply::Kind::kMenu:
      return "menu " + list(e.items);
    case ExpectedReply::Kind::kCarousel:
      return "carousel " + list(e.items);
  }
  return "";
}

bool Matches(const ExpectedReply& e, const channel::OutboundBody& body) {
  switch (e.kind) {
    case ExpectedReply::Kind::kText:
      if (const auto* t = std::get_if<channel::TextBody>(&body)) return JoinedText(*t) == e.text;
      return false;
    case ExpectedReply::Kind::kContains:
      if (const auto* t = std::get_if<channel::TextBody>(&body))
        return JoinedText(*t).find(e.text) != std::string::npos;
      return false;
    case ExpectedReply::Kind::kType:
      return channel::TypeName(body) == e.text;
    case ExpectedReply::Kind::kMenu:
      if (const auto* m = std::get_if<channel::MenuBody>(&body)) {
        if (m->items.size() != e.items.size()) return false;
        for (size_t i = 0; i < e.items.size(); ++i) {
          if (m->items[i].text != e.items[i]) return false;
        }
        return true;
      }
      return false;
    case ExpectedReply::Kind::kCarousel:
      if (const auto* c = std::get_if<channel::CarouselBody>(&body)) {
        if (c->items.size() != e.items.size()) return false;
        for (size_t i = 0; i < e.items.size(); ++i) {
          if (c->items[i].title != e.items[i]) return false;
        }
        return true;
      }
      return false;
  }
  return false;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // Control characters other than tab and newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

// One conversation, turn by turn.
std::vector<std::string> RunOne(const DialogBot& bot, const ConversationTest& test) {
  std::vector<std::string> failures;
  CustomerTurn customer;
  customer.conversation_id = "test:" + test.name;
  customer.customer_id = "test-customer";
  customer.customer_name = test.customer_name;
  json::value state;
  for (size_t t = 0; t < test.turns.size(); ++t) {
    const TestTurn& turn = test.turns[t];
    const std::string said = turn.say ? "> " + *turn.say : "> (postback " + *turn.postback + ")";
    const std::string where = fmt::format("turn {} (line {}) {}", t + 1, turn.line, said);
    customer.first_turn = t == 0;
    customer.text.clear();
    customer.postback.reset();
    if (turn.say) customer.text = {*turn.say};
    if (turn.postback) customer.postback = *turn.postback;
    for (const auto& kv : turn.context) customer.context[kv.key()] = kv.value();

    BotReply reply = bot.OnCustomerTurn(customer, state);
    std::vector<channel::OutboundBody> messages = std::move(reply.messages);
    std::optional<TurnNote> note = reply.note;
    std::vector<std::pair<std::string, std::string>> slots = reply.slots_set;
    std::vector<std::string> problems;
    state = reply.state;
    for (int calls = 0; reply.call; ++calls) {
      if (calls >= kMaxCallsPerTurn) {
        problems.push_back("more than 10 calls in one turn");
        break;
      }
      auto stub = test.calls.find(reply.call->url);
      if (stub == test.calls.end()) stub = test.calls.find("*");
      CallOutcome outcome;
      if (stub == test.calls.end()) {
        problems.push_back(
            fmt::format("no stub answers the call to {} (add it under 'calls')", reply.call->url));
        outcome.error = "no stub";
      } else if (stub->second.fail) {
        outcome.error = "the stub fails";
      } else {
        outcome.ok = true;
        outcome.response = stub->second.response;
      }
      BotReply next = bot.OnCallResult(customer, outcome, state);
      for (auto& m : next.messages) messages.push_back(std::move(m));
      for (auto& s : next.slots_set) slots.push_back(std::move(s));
      state = next.state;
      reply.call = std::move(next.call);
      reply.next = next.next;
      reply.queue = next.queue;
    }

    if (turn.intent) {
      if (!note || note->kind != "intent" || note->intent != *turn.intent) {
        problems.push_back(
            fmt::format("expected intent {}, got {}", *turn.intent,
                        !note ? std::string("nothing")
                        : note->kind == "intent"
                            ? fmt::format("intent {} ({:.2f})", note->intent, note->confidence)
                            : note->kind + (note->intent.empty()
                                                ? std::string()
                                                : fmt::format(" (best guess {} {:.2f})",
                                                              note->intent, note->confidence))));
      }
    }
    if (turn.not_understood &&
        (!note || (note->kind != "not_understood" && note->kind != "retry"))) {
      problems.push_back(fmt::format(
          "expected not_understood, got {}",
          note ? note->kind + (note->intent.empty() ? "" : " " + note->intent) : "nothing"));
    }
    for (const auto& [slot, value] : turn.slots) {
      std::optional<std::string> got;
      for (const auto& [name, v] : slots) {
        if (name == slot) got = v;
      }
      if (got != value)
        problems.push_back(fmt::format("expected slot {} = {}, got {}", slot, Quote(value),
                                       got ? Quote(*got) : std::string("no value")));
    }
    const bool escalated = reply.next == BotReply::Next::kEscalate;
    if (turn.escalate && (!escalated || reply.queue.value_or("") != *turn.escalate)) {
      problems.push_back(
          fmt::format("expected a handover to queue {}, got {}", *turn.escalate,
                      escalated ? "a handover to queue " + reply.queue.value_or("") : "none"));
    }
    if (turn.replies) {
      const auto& expected = *turn.replies;
      bool same = expected.size() == messages.size();
      for (size_t i = 0; same && i < expected.size(); ++i) same = Matches(expected[i], messages[i]);
      if (!same) {
        std::string detail = "the replies differ\n    expected:";
        for (size_t i = 0; i < expected.size(); ++i)
          detail += fmt::format(
              "\n      {}. {}{}", i + 1, DescribeExpected(expected[i]),
              i < messages.size() && !Matches(expected[i], messages[i]) ? "   <- differs" : "");
        if (expected.empty()) detail += " (none)";
        detail += "\n    actual:";
        for (size_t i = 0; i < messages.size(); ++i)
          detail += fmt::format("\n      {}. {}", i + 1, DescribeReply(messages[i]));
        if (messages.empty()) detail += " (none)";
        problems.push_back(detail);
      }
    }
    for (const auto& p : problems) failures.push_back(where + ": " + p);
    if (escalated && t + 1 < test.turns.size()) {
      failures.push_back(
          fmt::format("{}: the bot handed the conversation to queue {}; the {} "
                      "turns after it cannot be run",
                      where, reply.queue.value_or(""), test.turns.size() - t - 1));
      break;
    }
  }
  return failures;
}

}  // namespace

ConversationTestFile ParseConversationTests(std::string_view yaml, std::string_view file) {
  ConversationTestFile out;
  out.file = std::string(file);
  TestParser parser(out);
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    parser.File(root);
  } catch (const YAML::Exception& e) {
    out.errors.push_back({out.file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg});
  }
  return out;
}

ConversationTestFile LoadConversationTests(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConversationTestFile out;
    out.file = path;
    out.errors.push_back({path, 0, "cannot read the file"});
    return out;
  }
  std::string text;
  text.resize(kMaxTestFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTestFileBytes) {
    ConversationTestFile out;
    out.file = path;
    out.errors.push_back({path, 0, "the file is larger than 4 MiB"});
    return out;
  }
  return ParseConversationTests(text, path);
}

std::vector<TestOutcome> RunConversationTests(const DialogBot& bot,
                                              const ConversationTestFile& tests) {
  std::vector<TestOutcome> out;
  for (const auto& test : tests.tests) {
    auto start = std::chrono::steady_clock::now();
    TestOutcome o;
    o.name = test.name;
    o.file = tests.file;
    o.line = test.line;
    o.failures = RunOne(bot, test);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.push_back(std::move(o));
  }
  return out;
}

std::string DescribeReply(const channel::OutboundBody& body) {
  if (const auto* t = std::get_if<channel::TextBody>(&body)) return "text " + Quote(JoinedText(*t));
  if (const auto* m = std::get_if<channel::MenuBody>(&body)) {
    std::string items;
    for (const auto& i : m->items) items += (items.empty() ? "" : " | ") + i.text;
    return "menu " + Quote(m->title) + " [" + items + "]";
  }
  if (const auto* c = std::get_if<channel::CarouselBody>(&body)) {
    std::string cards;
    for (const auto& i : c->items) cards += (cards.empty() ? "" : " | ") + i.title;
    return "carousel " + Quote(c->title.value_or("")) + " [" + cards + "]";
  }
  if (const auto* l = std::get_if<channel::LinkButtonBody>(&body))
    return "link_button " + Quote(l->title) + " (" + l->label + ": " + l->url + ")";
  return channel::TypeName(body);
}

std::string JUnitXml(const std::string& suite, const std::vector<TestOutcome>& outcomes) {
  size_t failures = 0;
  double seconds = 0;
  for (const auto& o : outcomes) {
    failures += o.passed() ? 0 : 1;
    seconds += o.seconds;
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<testsuites tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n", outcomes.size(),
                     failures, seconds);
  xml += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                     XmlEscape(suite), outcomes.size(), failures, seconds);
  for (const auto& o : outcomes) {
    xml += fmt::format(
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\" time=\"{:.3f}\"",
        XmlEscape(o.name), XmlEscape(suite), XmlEscape(o.file), o.line, o.seconds);
    if (o.passed()) {
      xml += "/>\n";
      continue;
    }
    std::string text;
    for (const auto& f : o.failures) text += f + "\n";
    xml += fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                       XmlEscape(o.failures.front().substr(0, o.failures.front().find('\n'))),
                       XmlEscape(text));
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

std::string DefaultTestsPath(const std::string& bot_file) {
  const std::string ext = ".yaml";
  if (bot_file.size() > ext.size() && bot_file.ends_with(ext))
    return bot_file.substr(0, bot_file.size() - ext.size()) + ".test.yaml";
  return bot_file + ".test.yaml";
}

}  // namespace parley::bot

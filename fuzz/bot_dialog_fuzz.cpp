// libFuzzer target: a customer's turns, and the outcomes of the bot's external calls, driven
// through the dialog engine (DialogBot) of a fixed set of bot definitions, each parsed and
// built once per process. The definitions themselves are fuzzed by bot_loader_fuzz: parsing a
// fuzzed definition for every input cost more than its turns (docs/testing.md, "Fuzzing").
//
// The input: its first byte picks the definition (its low three bits: the shop six times in
// eight, the two bots with a classifier once each) and whether the customer has a name (bit 3);
// the rest is one line a step, at most kMaxSteps, each cut at kMaxLineBytes (a customer's text
// to a bot with a classifier at kMaxClassifiedLineBytes):
//   >PAYLOAD   a postback (flow:X, menu:X, intent:X, queue:X, action:escalate, a menu's item)
//   !TEXT      the pending call failed (TEXT the error)
//   =BODY      the pending call answered 200 with BODY (judged by CallOutcomeFromHttp)
//   ~          the clock moves past any call's timeout and grace
//   TEXT       the customer's message; tabs split it into several messages of one turn
// A line that is not valid UTF-8 is skipped: the server only passes on what JSON decoding gave.
// An outcome with no call pending is sent anyway (a stale or repeated outcome). Between steps
// the dialog state goes through JSON text, as the store keeps it.
//
// Checked on every reply: at most kMaxMessagesPerReply messages, each a message body whose
// links pass the URL rule of agents' messages (the same rule for every sender, issue 17); an
// escalation's queue is one of the definition's; a call has a URL; the state is an object.
// Build with -DPARLEY_FUZZ=ON and clang.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "channel/outbound.hpp"
#include "core/clock.hpp"

namespace {

namespace bot = parley::bot;
namespace channel = parley::channel;
namespace json = boost::json;

constexpr size_t kMaxSteps = 12;
// Slot patterns only look at answers up to 128 bytes; a longer text mostly made the engine try
// every span of its words against every pattern.
constexpr size_t kMaxLineBytes = 160;
// Classifying a text (character n-grams, the gibberish check) was 60 % of a turn's time on the
// two bots with a classifier, and it grows with the text; intent_classifier_fuzz feeds it texts
// up to 160 bytes. Here a customer's text only has to pick an intent or answer a question
// (the caller's and bank's patterns are a few digits), which 64 bytes hold.
constexpr size_t kMaxClassifiedLineBytes = 64;
constexpr int64_t kPastAnyCallMs = 60'000 + bot::kCallGraceMs + 1;

// A shop assistant written for this target: no examples (so no classifier: classifying each
// text is intent_classifier_fuzz's work and cost most of a turn), so every flow, menu and
// intent is reached by its postback or an offered item's text. Every step kind, guards on
// slots set by a call, a flow that cannot be interrupted, cancel words with their own replies,
// placeholders in texts and in links, and a fallback that offers a person after two misses.
constexpr const char* kShop = R"(name: Shopper
greeting:
  - text: "Hello {customer_name|there}, on the {context.plan|basic} plan."
  - menu: main
interrupt_threshold: 0.9
cancel:
  words: [cancel, forget it]
  replies: [{text: "Dropped."}, {menu: main}]
fallback:
  replies: [{text: "Sorry?"}]
  escalate_after: 2
  offer: "Shall I find a person, {customer_name|friend}?"
intents:
  - name: hours
    examples: [hours]
    replies: [{text: ["9 to 5", "{context.plan}"]}]
  - name: order
    examples: [order]
    flow: order
  - name: human
    examples: [person]
    action: escalate
menus:
  main:
    title: "Pick one"
    items:
      - {text: Order, payload: "flow:order"}
      - {text: Size, payload: "flow:size", image_url: "https://img.example/size.png"}
      - {text: Hours, payload: "intent:hours"}
      - {text: More, payload: "menu:more"}
      - {text: Person, payload: "action:escalate"}
  more:
    title: More
    items:
      - {text: Back, payload: "menu:main"}
      - {text: Stop, payload: "action:cancel"}
flows:
  order:
    interruptible: false
    steps:
      - ask: "Order number?"
        slot: order
        pattern: '^[A-Z]{2}[0-9]{3,6}$'
        retry: "Like AB1234."
        retries: 1
      - ask: {menu: {title: "Which part of {order}?", items: [{text: All, payload: all}, {text: One item, payload: one}]}}
        slot: part
        synonyms: {all: [everything, whole], one: [single, "just one"]}
      - call: {url: "https://shop.example/orders", timeout_ms: 2000, on_error: [{text: "No luck with {order}."}, {menu: main}]}
      - when: {status: shipped}
        replies:
          - link_button: {title: "Track {order}", label: Track, url: "https://track.example/{order}?p={part|all}"}
      - when: {status: lost, part: all}
        replies:
          - carousel:
              title: "{order|Your order}"
              items:
                - title: "Refund"
                  subtitle: "{amount|some} back"
                  image_url: "https://img.example/{order}.png"
                  buttons:
                    - {text: Yes, payload: "intent:hours"}
                    - {text: Page, url: "https://shop.example/refund/{order}"}
      - replies: [{text: "{order}: {status|unknown}, {note|no note}."}]
  size:
    steps:
      - ask: "Size?"
        slot: size
        choices: [S, M, L]
        synonyms: {S: [small], L: [large, big]}
      - ask: "Colour?"
        slot: colour
        pattern: '[a-z]+'
      - when: {size: L}
        replies: [{text: "Large {colour}."}]
      - replies: [{menu: main}]
escalation:
  replies: [{text: "Passing you on, {customer_name|friend}."}]
  title: "Who?"
  queues:
    - {queue: sales, text: Sales}
    - {queue: returns, text: Returns}
)";

// A small bot with examples, so that the classifier (trained once, at start) chooses intents
// and interrupts a flow, and a call whose answer fills the slots its guards test.
constexpr const char* kCaller = R"(name: Caller
fallback:
  replies: [{text: "Not understood."}]
intents:
  - name: balance
    examples: [my balance, how much money, what is in my account]
    flow: balance
  - name: hello
    examples: [hello, hi there, good morning]
    replies: [{text: "Hi {customer_name|you}."}]
  - name: person
    examples: [talk to a person, a human please]
    action: escalate
flows:
  balance:
    steps:
      - ask: {menu: {title: "Which account?", items: [{text: Current, payload: current}, {text: Savings, payload: savings}]}}
        slot: account
        synonyms: {current: [checking, everyday]}
      - ask: "Last four digits of {account}?"
        slot: last4
        pattern: '[0-9]{4}'
      - call: {url: "https://bank.example/balance", timeout_ms: 3000, on_error: [{text: "No balance for {account|your account}."}]}
      - when: {found: "yes"}
        replies: [{text: "{account} ending {last4}: {balance|unknown}."}]
      - replies: [{menu: {title: "Anything else?", items: [{text: "Person", payload: "action:escalate"}]}}]
escalation:
  replies: [{text: "Passing you on."}]
  queues:
    - {queue: support, text: Support}
)";

struct Definition {
  const char* name;
  const char* yaml;  // nullptr: read from `path`
  const char* path;  // relative to the source tree
  bool train;        // keep the examples (and so train a classifier)
};

// bots/bank.yaml is the sample every designer starts from: its classifier is trained once.
constexpr Definition kDefinitions[] = {
    {"shop", kShop, nullptr, false},
    {"caller", kCaller, nullptr, true},
    {"bank", nullptr, "bots/bank.yaml", true},
};
// The definition of each value of the first byte's low three bits. The shop reaches the most
// branches of the engine and costs least (no classifier): six inputs in eight, where it had two
// in four; the classifier's own branches are intent_classifier_fuzz's.
constexpr size_t kSlots[] = {0, 1, 2, 0, 0, 0, 0, 0};
constexpr size_t kSlotCount = std::size(kSlots);
static_assert((kSlotCount & (kSlotCount - 1)) == 0, "picked by the low bits");
constexpr uint8_t kNamedBit = 8;

struct Loaded {
  std::unique_ptr<parley::ManualClock> clock;
  std::shared_ptr<const bot::DialogBot> bot;
  bool classifies = false;
};

Loaded Load(const Definition& d) {
  Loaded out;
  out.clock = std::make_unique<parley::ManualClock>(1'000'000);
  bot::DefinitionResult r =
      d.yaml ? bot::ParseDefinition(d.yaml, d.name)
             : bot::LoadDefinitionFile(std::string(PARLEY_SOURCE_DIR) + "/" + d.path);
  if (!r.definition) {
    for (const auto& e : r.errors) fprintf(stderr, "%s\n", e.ToString().c_str());
    std::abort();  // a definition of this target no longer loads: fix it here
  }
  if (!d.train)
    for (auto& intent : r.definition->intents) intent.examples.clear();
  out.classifies = d.train && !r.definition->intents.empty();
  auto created = bot::DialogBot::Create(std::move(*r.definition), *out.clock);
  if (!created) std::abort();
  out.bot = *created;
  return out;
}

void Require(bool holds) {
  if (!holds) std::abort();
}

void CheckUrl(const std::string& url) { Require(!channel::UrlProblem(url)); }

void CheckBody(const channel::OutboundBody& body) {
  Require(channel::IsMessage(body));
  if (const auto* l = std::get_if<channel::LinkButtonBody>(&body)) CheckUrl(l->url);
  if (const auto* m = std::get_if<channel::MenuBody>(&body))
    for (const auto& i : m->items)
      if (i.image_url) CheckUrl(*i.image_url);
  if (const auto* c = std::get_if<channel::CarouselBody>(&body))
    for (const auto& i : c->items) {
      if (i.image_url) CheckUrl(*i.image_url);
      for (const auto& b : i.buttons)
        if (b.url) CheckUrl(*b.url);
    }
  if (const auto* t = std::get_if<channel::TextBody>(&body))
    for (const auto& a : t->attachments) CheckUrl(a.url);
}

void CheckReply(const bot::BotDefinition& def, const bot::BotReply& reply) {
  Require(reply.messages.size() <= bot::kMaxMessagesPerReply);
  for (const auto& m : reply.messages) CheckBody(m);
  if (reply.queue) Require(def.FindQueue(*reply.queue) != nullptr);
  if (reply.call) Require(!reply.call->url.empty() && reply.call->timeout_ms > 0);
  Require(reply.state.is_null() || reply.state.is_object());
}

// The server decodes customer text, postbacks and action answers from JSON, so what reaches the
// engine is valid UTF-8; a step whose line is not is skipped (the engine keeps texts in its
// state, and JSON text cannot hold invalid UTF-8).
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// The stored form of the state: JSON text, read back for the next turn.
json::value Stored(const json::value& state) {
  if (state.is_null()) return state;
  return json::parse(json::serialize(state));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Loaded> loaded = [] {
    std::vector<Loaded> all;
    for (const auto& d : kDefinitions) all.push_back(Load(d));
    return all;
  }();
  if (size == 0) return 0;
  const Loaded& l = loaded[kSlots[data[0] % kSlotCount]];
  const bot::DialogBot& engine = *l.bot;
  const bot::BotDefinition& def = engine.definition();
  l.clock->Set(1'000'000);

  bot::CustomerTurn turn;
  turn.conversation_id = "c1";
  turn.customer_id = "u1";
  if (data[0] & kNamedBit) turn.customer_name = "Ann";
  turn.context = json::object{{"plan", "gold"}};
  turn.first_turn = true;

  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  json::value state;
  for (size_t step = 0; step < kMaxSteps && !rest.empty(); ++step) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    line = line.substr(0, kMaxLineBytes);
    if (l.classifies && !line.empty() && line[0] != '>' && line[0] != '!' && line[0] != '=')
      line = line.substr(0, kMaxClassifiedLineBytes);
    if (!IsUtf8(line)) continue;
    bot::BotReply reply;
    if (!line.empty() && line[0] == '~') {
      l.clock->Advance(kPastAnyCallMs);
      continue;
    } else if (!line.empty() && (line[0] == '!' || line[0] == '=')) {
      bot::CallOutcome outcome;
      if (line[0] == '=') {
        outcome = bot::CallOutcomeFromHttp(200, line.substr(1));
      } else {
        outcome.error = std::string(line.substr(1));
      }
      reply = engine.OnCallResult(turn, outcome, state);
    } else {
      turn.text.clear();
      turn.postback.reset();
      if (!line.empty() && line[0] == '>') {
        turn.postback = std::string(line.substr(1));
      } else {
        for (size_t start = 0; start <= line.size();) {
          size_t tab = line.find('\t', start);
          if (tab == std::string_view::npos) tab = line.size();
          turn.text.emplace_back(line.substr(start, tab - start));
          start = tab + 1;
        }
      }
      reply = engine.OnCustomerTurn(turn, state);
      turn.first_turn = false;
    }
    CheckReply(def, reply);
    state = Stored(reply.state);
  }
  return 0;
}

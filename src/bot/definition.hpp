#pragma once
// Bot definitions: the YAML a conversation designer writes (docs/bot-authoring.md), parsed and
// checked into an immutable BotDefinition. Every refusal names the file, the line and the
// reason ("bots/bank.yaml:12: unknown key 'replys' in intent 'opening_hours'"), so a designer
// can fix it without reading the loader.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bot/intent_classifier.hpp"
#include "channel/outbound.hpp"
#include "core/result.hpp"

namespace YAML {
class Node;
}

namespace parley::bot {

struct Diagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem is not tied to a line (e.g. unreadable file)
  std::string reason;
  // "file:line: reason" (or "file: reason" without a line).
  std::string ToString() const;
};

// One reply as written: a body whose strings may hold {placeholders}. Menus named by reference
// are resolved at load, so `body` is always complete.
struct Reply {
  channel::OutboundBody body;  // TextBody, MenuBody, CarouselBody or LinkButtonBody
  std::string menu_name;       // the named menu this came from; empty otherwise
  int line = 0;
};

struct Intent {
  std::string name;
  std::vector<std::string> examples;
  std::vector<Reply> replies;  // exactly one of replies, flow and escalate is set
  std::string flow;
  bool escalate = false;
  int line = 0;
};

// A slot pattern, checked at load against constructs that make backtracking explode (see
// definition.cpp), and run only on answers of at most kMaxAnswerForPattern bytes.
struct SlotPattern {
  std::string source;
  std::shared_ptr<const std::regex> regex;
};

inline constexpr size_t kMaxAnswerForPattern = 128;

struct AskStep {
  Reply question;  // a text or a menu (any reply kind is accepted)
  std::string slot;
  std::optional<SlotPattern> pattern;
  std::optional<std::string> retry;  // said when the answer does not fit; default: ask again
  // Accepted answers. When empty and the question is a menu without a pattern, the menu items'
  // payloads are the accepted answers.
  std::vector<std::string> choices;
  // (what the customer may say, the choice or menu payload it stands for), from `synonyms`.
  std::vector<std::pair<std::string, std::string>> synonyms;
  // Answers that do not fit get `retry` this many times; the next one gets the bot's fallback
  // and the flow ends.
  int retries = 2;
};

inline constexpr const char* kDefaultOnErrorText = "Sorry, I can't do that right now.";

struct CallStep {
  std::string url;
  int64_t timeout_ms = 3000;
  // Said when the call times out, fails or answers with something other than a 2xx JSON
  // object; the flow then ends. YAML `on_error` (or its older name `fallback`); empty: one
  // text, kDefaultOnErrorText.
  std::vector<Reply> fallback;
};

struct FlowStep {
  enum class Kind { kAsk, kCall, kReplies } kind = Kind::kReplies;
  std::vector<std::pair<std::string, std::string>> when;  // all must hold: slot == value
  AskStep ask;
  CallStep call;
  std::vector<Reply> replies;
  int line = 0;
};

struct Flow {
  std::string name;
  std::vector<FlowStep> steps;
  // Whether a clearly recognised other intent or a postback may take the customer out of the
  // flow while it asks something. The cancel words always may.
  bool interruptible = true;
  int line = 0;
};

struct Fallback {
  std::vector<Reply> replies;
  int escalate_after = 3;  // consecutive misunderstandings before offering a person; 0: never
  std::string offer = "Would you like to talk to a person?";
};

struct EscalationQueue {
  std::string queue;
  std::string text;
};

struct Escalation {
  std::vector<Reply> replies;
  std::string title = "Who would you like to talk to?";  // the queue menu's title
  std::vector<EscalationQueue> queues;                   // at least one
};

struct BotDefinition {
  std::string file;  // where it was loaded from, for messages
  std::string name;  // display name, the sender of the bot's messages
  std::vector<Reply> greeting;
  // Below this confidence a message is not understood. When the file sets none
  // (threshold_set false), DialogBot::Create uses its classifier's DefaultThreshold().
  double threshold = kDefaultIntentThreshold;
  bool threshold_set = false;
  // Inside a flow, an answer that does not fit the question leaves the flow for another intent
  // only at this confidence or above; nullopt: halfway between threshold and 1
  // (InterruptThreshold()).
  std::optional<double> interrupt_threshold;
  // Texts that leave a flow (compared ignoring case, punctuation and extra spaces), and what
  // is said then; empty replies: kCancelledText, then the menu named "main" if there is one.
  std::vector<std::string> cancel_words = {"cancel", "stop", "never mind"};
  std::vector<Reply> cancel_replies;
  Fallback fallback;
  std::vector<Intent> intents;
  std::map<std::string, channel::MenuBody> menus;
  std::map<std::string, Flow> flows;
  std::optional<Escalation> escalation;

  double InterruptThreshold() const {
    return interrupt_threshold ? *interrupt_threshold : threshold + (1.0 - threshold) / 2.0;
  }
  const Intent* FindIntent(std::string_view name) const;
  const Flow* FindFlow(std::string_view name) const;
  const channel::MenuBody* FindMenu(std::string_view name) const;
  const EscalationQueue* FindQueue(std::string_view name) const;
};

inline constexpr const char* kCancelledText = "OK, what else can I help you with?";

struct DefinitionOptions {
  // Lets `call` steps use http:// and private addresses (as --allow-insecure-webhooks does).
  bool allow_insecure_calls = false;
  size_t max_file_bytes = 1 << 20;
};

struct DefinitionResult {
  std::optional<BotDefinition> definition;  // set when errors is empty
  std::vector<Diagnostic> errors;           // in file order, at most kMaxDiagnostics
};

inline constexpr size_t kMaxDiagnostics = 50;

// Parses and checks a definition from YAML text; `file` is used in the diagnostics. Never
// throws. Thread-safe.
DefinitionResult ParseDefinition(std::string_view yaml, std::string_view file,
                                 const DefinitionOptions& options = {});

// ParseDefinition's checks on a YAML tree already parsed (by yaml-cpp, or built node by node
// as bot_loader_fuzz does): the same definition or diagnostics as the tree's text would give,
// less the text's own problems (size, YAML syntax). Lines are the nodes' marks, 0 for nodes
// built in memory. Never throws. Thread-safe.
DefinitionResult ParseDefinitionNode(const YAML::Node& root, std::string_view file,
                                     const DefinitionOptions& options = {});

// Reads the file, then ParseDefinition. An unreadable or oversized file is one diagnostic.
DefinitionResult LoadDefinitionFile(const std::string& path, const DefinitionOptions& options = {});

// The diagnostics as an Error (kInvalidArgument, "invalid_bot_definition"), the message being
// the "file:line: reason" lines joined with '\n'.
Error DiagnosticsError(const std::vector<Diagnostic>& errors);

// The routing forms a payload (a postback, or an offered item's payload) can take.
struct Postback {
  enum class Kind { kNone, kIntent, kFlow, kMenu, kEscalate, kCancel, kQueue } kind = Kind::kNone;
  std::string target;  // the intent, flow, menu or queue name
};

// `intent:X`, `flow:X`, `menu:X`, `queue:X`, `action:escalate`, `action:cancel`; anything else
// (e.g. "yes") is kNone: a plain answer.
Postback ParsePostback(std::string_view payload);

}  // namespace parley::bot

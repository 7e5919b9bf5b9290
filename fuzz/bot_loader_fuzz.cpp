// libFuzzer target: bot definition files (untrusted YAML from a designer's folder) through the
// loader only: the YAML parse and every check of the definition format. The dialog engine is
// bot_dialog_fuzz's: running a fuzzed definition's turns cost more than its parse and held a
// target doing both near 2,000 executions a CPU second (docs/testing.md, "Fuzzing").
//
// Two kinds of input, told apart by the first byte:
// - its low three bits equal to those of 'n' (so every input starting "name:", one byte value
//   in eight): the input is YAML text, through yaml-cpp's parser and ParseDefinition, so our
//   handling of its syntax errors, aliases and sizes stays fuzzed;
// - otherwise the rest encodes a YAML tree (kinds of node, the format's keys and typical values
//   from the tables below, or raw strings), built in memory and given to ParseDefinitionNode.
//   yaml-cpp's scanner was most of an execution's cost (it alone allowed 1,780-4,400 a CPU
//   second without instrumentation, docs/testing.md round 5), and a tree reaches the checks
//   without a mutation first having to keep the YAML well-formed.
// The tree encoding (fuzz/make-seeds.mjs writes seeds in it): one byte a node, b & 7 its kind:
//   0 null | 1, 6 a scalar from kValues, index the next byte | 2, 7 a raw scalar, length the next
//   byte % 64, then the bytes | 3 a map of b >> 3 entries, each a key byte (below 0xF0: kKeys,
//   index % size; else a raw key, length the next byte % 32, then the bytes) and a node |
//   4 a sequence of b >> 3 nodes | 5 a node built before (an alias), index the next byte.
// Missing bytes end the tree (a missing node is null); at most kMaxDepth levels and kMaxNodes
// nodes, deeper maps and sequences are null.
//
// Beyond "no crash, no sanitizer report", what the loader promises is checked: a definition or
// diagnostics, never both, at most kMaxDiagnostics of them, each naming the file; and a
// definition that loads has everything it names (flows, menus, queues), a compiled regex for
// each slot pattern, call timeouts within bounds and links that pass the URL rule of agents'
// messages. Build with -DPARLEY_FUZZ=ON and clang.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bot/definition.hpp"
#include "bot/template.hpp"
#include "channel/outbound.hpp"

namespace {

using parley::bot::BotDefinition;
using parley::bot::Reply;

void Require(bool holds) {
  if (!holds) std::abort();
}

// A loaded link is a template: its placeholders are filled when a reply is sent (and
// bot_dialog_fuzz checks the filled links). The loader's promise is the one LinkUrlProblem
// checks: filled with any value ("x", missing ones empty), it passes the agents' URL rule.
// (Checking the template itself refused every link with a placeholder, e.g.
// https://x.example/{order}, which the format allows: the tree seeds of round 6 had one.)
void CheckUrl(const std::string& url) {
  const std::string probe =
      parley::bot::FillTemplate(url, parley::bot::TemplateValues{"x", nullptr, nullptr});
  Require(!parley::channel::UrlProblem(probe));
}

// A reply that loaded: its links pass the URL rule, and a menu by name is one of the file's.
void CheckReply(const BotDefinition& def, const Reply& r) {
  using namespace parley::channel;
  if (!r.menu_name.empty()) Require(def.FindMenu(r.menu_name) != nullptr);
  if (const auto* l = std::get_if<LinkButtonBody>(&r.body)) CheckUrl(l->url);
  if (const auto* m = std::get_if<MenuBody>(&r.body)) {
    Require(!m->items.empty());
    for (const auto& i : m->items)
      if (i.image_url) CheckUrl(*i.image_url);
  }
  if (const auto* c = std::get_if<CarouselBody>(&r.body)) {
    for (const auto& i : c->items) {
      if (i.image_url) CheckUrl(*i.image_url);
      for (const auto& b : i.buttons)
        if (b.url) CheckUrl(*b.url);
    }
  }
}

void CheckReplies(const BotDefinition& def, const std::vector<Reply>& replies) {
  for (const auto& r : replies) CheckReply(def, r);
}

// What a definition that loaded must hold, whatever the file said.
void CheckDefinition(const BotDefinition& def) {
  Require(!def.name.empty() && def.file == "fuzz.yaml");
  Require(def.threshold >= 0.0 && def.threshold <= 1.0);
  CheckReplies(def, def.greeting);
  CheckReplies(def, def.fallback.replies);
  Require(!def.fallback.replies.empty() && def.fallback.escalate_after >= 0);
  CheckReplies(def, def.cancel_replies);
  for (const auto& intent : def.intents) {
    const int kinds = !intent.replies.empty() + !intent.flow.empty() + intent.escalate;
    Require(kinds == 1);
    if (!intent.flow.empty()) Require(def.FindFlow(intent.flow) != nullptr);
    if (intent.escalate) Require(def.escalation.has_value());
    CheckReplies(def, intent.replies);
  }
  for (const auto& [name, flow] : def.flows) {
    Require(name == flow.name && !flow.steps.empty());
    for (const auto& step : flow.steps) {
      using Kind = parley::bot::FlowStep::Kind;
      if (step.kind == Kind::kAsk) {
        Require(!step.ask.slot.empty() && step.ask.retries >= 0);
        if (step.ask.pattern) Require(step.ask.pattern->regex != nullptr);
        CheckReply(def, step.ask.question);
      } else if (step.kind == Kind::kCall) {
        Require(!step.call.url.empty());
        Require(step.call.timeout_ms > 0 && step.call.timeout_ms <= 60'000);
        CheckReplies(def, step.call.fallback);
      } else {
        CheckReplies(def, step.replies);
      }
    }
  }
  if (def.escalation) {
    Require(!def.escalation->queues.empty());
    CheckReplies(def, def.escalation->replies);
  }
}

// The keys of the definition format (bot/definition_*.cpp's CheckKeys lists and lookups).
// clang-format off
constexpr const char* kKeys[] = {
    "name", "greeting", "threshold", "interrupt_threshold", "cancel", "fallback", "intents",
    "menus", "flows", "escalation", "words", "replies", "escalate_after", "offer", "title",
    "queues", "queue", "text", "examples", "flow", "action", "steps", "interruptible", "ask",
    "slot", "pattern", "retry", "retries", "choices", "synonyms", "call", "when", "url",
    "timeout_ms", "on_error", "items", "payload", "image_url", "menu", "carousel", "link_button",
    "label", "subtitle", "buttons", "f", "m", "q", "s"};
// Values the checks look for: names the keys above refer to (a flow f, a menu m, a queue q, a
// slot s), payloads, placeholders, links allowed and refused, patterns, numbers and booleans.
constexpr const char* kValues[] = {
    "f", "m", "q", "s", "i", "Hi {s}", "escalate", "action:escalate", "action:cancel",
    "flow:f", "menu:m", "intent:i", "queue:q", "x:y", "{customer_name|you}", "{context.plan}",
    "{s|none}", "{t}", "{", "https://x.example/{s}", "https://x.example/a.png",
    "http://10.0.0.1/", "http://x.example/", "javascript:alert(1)", "//x", "^[0-9]{4}$",
    "(a*)*b", "[", "a*a*a*a*$", "0", "1", "0.5", "1.5", "-1", "2000", "60001", "true", "false",
    "yes", "~", "", " ", "hours", "main"};
// clang-format on
// At most kMaxNodes nodes (about what 1 KiB of YAML text holds, -max_len) and kMaxAliases
// aliases: each execution's cost follows the tree's size, aliases multiply it.
constexpr size_t kMaxDepth = 12;
constexpr size_t kMaxNodes = 160;
constexpr size_t kMaxAliases = 2;

// Builds the YAML tree the bytes encode (see the top of this file) as yaml-cpp's own parser does
// (its NodeBuilder): every node is made in the tree's one memory and linked into its parent, a
// map or a sequence before its entries are read. Made as YAML::Nodes, each node and each key came
// with a memory of its own, merged into the tree's when inserted: building the tree was 1,454 of
// a tree input's 1,610 heap allocations (1,048 after round 8) and two thirds of its CPU under ASan
// (docs/testing.md, "Fuzzing", round 8). The tree and the order the bytes are read in are those
// of the YAML::Node reader (for each of 2,003 inputs, the same YAML emitted and the same loader
// result). Since round 9 a table key or value, and the null, is one node an input, linked
// wherever the input names it (Shared, Null): about 420 fewer heap allocations a tree input
// (1,082 -> 663), and for each of 2,746 inputs the same tree walked and the same loader result.
// yaml-cpp's detail API (node, memory_holder) is what its NodeBuilder uses; Debian's yaml-cpp
// is 0.7.
class TreeReader {
 public:
  explicit TreeReader(std::string_view bytes)
      : in_(bytes), memory_(std::make_shared<YAML::detail::memory_holder>()) {}

  YAML::Node Root() {
    // A root of nothing (no bytes, a null, or an alias with nothing built yet to refer to) is
    // an empty YAML::Node.
    if (in_.empty() || (static_cast<uint8_t>(in_[0]) & 7) == 0 ||
        (static_cast<uint8_t>(in_[0]) & 7) == 5)
      return YAML::Node();
    YAML::detail::node& root = Node(0, nullptr, nullptr);
    // YAML::Node's constructor from a node is private; an iterator over a sequence holding the
    // root makes the same Node (the root, in the tree's memory).
    YAML::detail::node& holder = memory_->create_node();
    holder.set_type(YAML::NodeType::Sequence);
    holder.push_back(root, memory_);
    return YAML::Node(*YAML::iterator(holder.begin(), memory_));
  }

 private:
  // Reads one node and links it into `parent` (under `key` in a map, at the end of a sequence;
  // the root has none) before reading its entries.
  YAML::detail::node& Node(size_t depth, YAML::detail::node* parent, YAML::detail::node* key) {
    const auto place = [&](YAML::detail::node& n) -> YAML::detail::node& {
      if (parent && key) {
        parent->insert(*key, n, memory_);
      } else if (parent) {
        parent->push_back(n, memory_);
      }
      return n;
    };
    if (in_.empty() || nodes_ >= kMaxNodes) return place(Null());
    ++nodes_;
    const uint8_t b = Byte();
    switch (b & 7) {
      case 0:
        return place(Null());
      case 1:
      case 6:
        return Built(place(Shared(values_, kValues, Byte() % std::size(kValues))));
      case 2:
      case 7: {
        YAML::detail::node& out = memory_->create_node();
        out.set_scalar(Raw(Byte() % 64));
        return Built(place(out));
      }
      case 3: {
        if (depth >= kMaxDepth) return place(Null());
        YAML::detail::node& out = memory_->create_node();
        out.set_type(YAML::NodeType::Map);
        place(out);
        for (size_t n = b >> 3; n > 0 && !in_.empty(); --n) {
          const uint8_t k = Byte();
          if (k < 0xF0) {
            Node(depth + 1, &out, &Shared(keys_, kKeys, k % std::size(kKeys)));
          } else {
            YAML::detail::node& raw = memory_->create_node();
            raw.set_scalar(Raw(Byte() % 32));
            Node(depth + 1, &out, &raw);
          }
        }
        return Built(out);
      }
      case 4: {
        if (depth >= kMaxDepth) return place(Null());
        YAML::detail::node& out = memory_->create_node();
        out.set_type(YAML::NodeType::Sequence);
        place(out);
        for (size_t n = b >> 3; n > 0 && !in_.empty(); --n) Node(depth + 1, &out, nullptr);
        return Built(out);
      }
      default: {  // 5
        const uint8_t i = Byte();
        if (built_.empty() || aliases_ >= kMaxAliases) return place(Null());
        ++aliases_;
        return place(*built_[i % built_.size()]);
      }
    }
  }

  // A finished node, which an alias may name from now on.
  YAML::detail::node& Built(YAML::detail::node& n) {
    built_.push_back(&n);
    return n;
  }

  // The scalar of table entry i, and the null node: made the first time the input needs them
  // and linked wherever it needs them again, as an alias is. The loader reads nodes by value,
  // so the tree it walks is the same, and each costs its half a dozen heap allocations (node,
  // reference, data, their shared_ptrs, the memory's set entry) once an input instead of at
  // every use.
  template <size_t N>
  YAML::detail::node& Shared(std::array<YAML::detail::node*, N>& made,
                             const char* const (&table)[N], size_t i) {
    if (!made[i]) {
      made[i] = &memory_->create_node();
      made[i]->set_scalar(table[i]);
    }
    return *made[i];
  }
  YAML::detail::node& Null() {
    if (!null_) {
      null_ = &memory_->create_node();
      null_->set_null();
    }
    return *null_;
  }

  uint8_t Byte() {
    if (in_.empty()) return 0;
    const auto b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return b;
  }
  std::string Raw(size_t n) {
    n = std::min(n, in_.size());
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }

  std::string_view in_;
  YAML::detail::shared_memory_holder memory_;
  size_t nodes_ = 0;
  size_t aliases_ = 0;
  std::vector<YAML::detail::node*> built_;  // finished nodes only, so an alias never makes a cycle
  std::array<YAML::detail::node*, std::size(kKeys)> keys_{};
  std::array<YAML::detail::node*, std::size(kValues)> values_{};
  YAML::detail::node* null_ = nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  parley::bot::DefinitionOptions options;
  options.max_file_bytes = 64 * 1024;
  parley::bot::DefinitionResult r;
  if ((data[0] & 7) == ('n' & 7)) {
    r = parley::bot::ParseDefinition(input, "fuzz.yaml", options);
  } else {
    YAML::Node root = TreeReader(input.substr(1)).Root();
    r = parley::bot::ParseDefinitionNode(root, "fuzz.yaml", options);
  }
  Require(r.definition.has_value() != !r.errors.empty());
  Require(r.errors.size() <= parley::bot::kMaxDiagnostics);
  for (const auto& d : r.errors) {
    Require(d.file == "fuzz.yaml" && !d.reason.empty() && d.line >= 0);
    Require(d.ToString().starts_with("fuzz.yaml"));
  }
  if (r.definition) CheckDefinition(*r.definition);
  return 0;
}

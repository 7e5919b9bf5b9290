// libFuzzer target: bot definition files (untrusted YAML from a designer's folder) through the
// loader only: the YAML parse and every check of the definition format. The dialog engine is
// bot_dialog_fuzz's: running a fuzzed definition's turns cost more than its parse and held a
// target doing both near 2,000 executions a CPU second (docs/testing.md, "Fuzzing").
//
// Beyond "no crash, no sanitizer report", what the loader promises is checked: a definition or
// diagnostics, never both, at most kMaxDiagnostics of them, each naming the file; and a
// definition that loads has everything it names (flows, menus, queues), a compiled regex for
// each slot pattern, call timeouts within bounds and links that pass the URL rule of agents'
// messages. Build with -DPARLEY_FUZZ=ON and clang.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "bot/definition.hpp"
#include "channel/outbound.hpp"

namespace {

using parley::bot::BotDefinition;
using parley::bot::Reply;

void Require(bool holds) {
  if (!holds) std::abort();
}

void CheckUrl(const std::string& url) { Require(!parley::channel::UrlProblem(url)); }

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  parley::bot::DefinitionOptions options;
  options.max_file_bytes = 64 * 1024;
  parley::bot::DefinitionResult r = parley::bot::ParseDefinition(input, "fuzz.yaml", options);
  Require(r.definition.has_value() != !r.errors.empty());
  Require(r.errors.size() <= parley::bot::kMaxDiagnostics);
  for (const auto& d : r.errors) {
    Require(d.file == "fuzz.yaml" && !d.reason.empty() && d.line >= 0);
    Require(d.ToString().starts_with("fuzz.yaml"));
  }
  if (r.definition) CheckDefinition(*r.definition);
  return 0;
}

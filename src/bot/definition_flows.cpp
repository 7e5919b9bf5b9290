// Flows: their steps (ask, call, replies), the `when` conditions over slots, and which slots a
// step may name at its point of the flow.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>

#include "bot/definition_parser.hpp"
#include "delivery/address_guard.hpp"

namespace parley::bot::detail {

using channel::MenuBody;

// The webhook address rules (delivery/address_guard.hpp): https unless insecure calls are
// allowed, a host, no credentials, no literal private address. Names are not resolved here:
// loading a bot does no network I/O; the HTTP client checks resolved addresses when it calls.
std::optional<std::string> CallUrlProblem(std::string_view url, bool allow_insecure) {
  auto checked = delivery::ValidateWebhookUrl(url, allow_insecure);
  if (!checked) return checked.error().message;
  return std::nullopt;
}

void Parser::ParseFlows(const YAML::Node& flows) {
  if (!IsMap(flows, "flows")) return;
  for (const auto& kv : flows) {
    if (!Visit(kv.first)) return;
    std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!IsIdentifier(name, true)) {
      Error(kv.first, "a flow name must be 1 to 64 letters, digits, '_', '-' or '.'");
      continue;
    }
    std::string where = fmt::format("flow '{}'", name);
    const YAML::Node f = kv.second;
    if (!IsMap(f, where)) continue;
    CheckKeys(f, {"steps", "interruptible"}, where);
    Flow flow;
    flow.name = name;
    flow.line = LineOf(kv.first);
    if (YAML::Node i = f["interruptible"]) {
      bool ok = false;
      if (Visit(i) && i.IsScalar()) {
        try {
          flow.interruptible = i.as<bool>();
          ok = true;
        } catch (const YAML::Exception&) {
        }
      }
      if (!ok) Error(i, "interruptible must be true or false");
    }
    auto steps = Need(f, "steps", where);
    if (!steps || !IsSeq(*steps, where + " steps")) continue;
    std::set<std::string> slots;
    std::map<std::string, std::vector<std::string>> choices_of;
    bool after_call = false;
    for (const auto& s : *steps) {
      if (!IsMap(s, "a step of " + where)) continue;
      FlowStep step;
      step.line = LineOf(s);
      CheckKeys(s,
                {"ask", "slot", "pattern", "retry", "retries", "choices", "synonyms", "call",
                 "replies", "when"},
                "a step of " + where);
      Scope scope{&slots, after_call, name};
      if (YAML::Node w = s["when"]) {
        if (IsMap(w, "when")) {
          for (const auto& cond : w) {
            if (!Visit(cond.first)) break;
            std::string slot = cond.first.IsScalar() ? cond.first.Scalar() : "";
            auto value = Str(cond.second, "a when value");
            if (!value) continue;
            if (!slots.contains(slot) && !after_call) {
              Error(cond.first, fmt::format("when names slot '{}', which no earlier step of {} "
                                            "asks",
                                            slot, where));
            } else if (auto c = choices_of.find(slot);
                       c != choices_of.end() && !c->second.empty() &&
                       std::find(c->second.begin(), c->second.end(), *value) == c->second.end()) {
              Error(cond.second,
                    fmt::format("'{}' is not one of the choices of slot '{}'", *value, slot));
            }
            step.when.emplace_back(slot, *value);
          }
        }
      }
      int kinds = (s["ask"] ? 1 : 0) + (s["call"] ? 1 : 0) + (s["replies"] ? 1 : 0);
      if (kinds != 1) {
        Error(s, "a step must have exactly one of ask, call and replies");
        continue;
      }
      if (!s["ask"]) {
        for (const char* k : {"slot", "pattern", "retry", "retries", "choices", "synonyms"}) {
          if (s[k]) Error(s[k], fmt::format("'{}' belongs to an ask step", k));
        }
      }
      if (YAML::Node r = s["replies"]) {
        step.kind = FlowStep::Kind::kReplies;
        step.replies = Replies(r, where, scope);
      } else if (YAML::Node c = s["call"]) {
        step.kind = FlowStep::Kind::kCall;
        ParseCall(c, step.call, where, scope);
        after_call = true;
      } else {
        step.kind = FlowStep::Kind::kAsk;
        ParseAsk(s, step.ask, where, scope);
        if (!step.ask.slot.empty()) {
          slots.insert(step.ask.slot);
          std::vector<std::string> accepted = step.ask.choices;
          if (accepted.empty() && !step.ask.pattern) {
            if (const auto* m = std::get_if<MenuBody>(&step.ask.question.body)) {
              for (const auto& item : m->items) accepted.push_back(item.payload);
            }
          }
          choices_of[step.ask.slot] = std::move(accepted);
        }
      }
      flow.steps.push_back(std::move(step));
    }
    def_.flows[name] = std::move(flow);
  }
}

void Parser::ParseAsk(const YAML::Node& s, AskStep& ask, const std::string& where,
                      const Scope& scope) {
  const YAML::Node q = s["ask"];
  if (Visit(q) && q.IsScalar()) {
    if (auto text = Str(q, "ask")) {
      ask.question.body = channel::TextBody{{*text}, {}};
      ask.question.line = LineOf(q);
      CheckPlaceholders(q, *text, scope);
    }
  } else if (auto r = OneReply(q, where, scope)) {
    ask.question = std::move(*r);
  }
  if (auto slot = Str(Need(s, "slot", "an ask step"), "slot", kMaxNameLength)) {
    if (!IsSlotName(*slot) || *slot == "customer_name" || *slot == "context") {
      Error(s["slot"], fmt::format("slot '{}' must be letters, digits and '_', not starting with "
                                   "a digit, and not customer_name or context",
                                   *slot));
    } else {
      ask.slot = *slot;
    }
  }
  if (YAML::Node p = s["pattern"]) {
    if (auto src = Str(p, "pattern", kMaxPatternLength * 4)) {
      if (auto why = PatternRisk(*src)) {
        Error(p, fmt::format("pattern '{}' {}", *src, *why));
      } else {
        try {
          ask.pattern =
              SlotPattern{*src, std::make_shared<const std::regex>(*src, std::regex::ECMAScript)};
        } catch (const std::regex_error& e) {
          Error(p, fmt::format("invalid regular expression '{}': {}", *src, e.what()));
        }
      }
    }
  }
  if (YAML::Node r = s["retry"]) {
    if (auto text = Str(r, "retry")) {
      ask.retry = *text;
      CheckPlaceholders(r, *text, scope);
    }
  }
  if (YAML::Node r = s["retries"]) {
    int v = -1;
    if (Visit(r) && r.IsScalar()) {
      try {
        v = r.as<int>();
      } catch (const YAML::Exception&) {
      }
    }
    if (v < 0 || v > 10)
      Error(r, "retries must be an integer from 0 to 10");
    else
      ask.retries = v;
  }
  if (YAML::Node c = s["choices"]) {
    if (s["pattern"]) Error(c, "an ask step takes either pattern or choices, not both");
    if (IsSeq(c, "choices")) {
      for (const auto& v : c) {
        if (auto choice = Str(v, "a choice", kMaxPayloadLength)) ask.choices.push_back(*choice);
      }
    }
  }
  if (YAML::Node syn = s["synonyms"]) {
    // What a customer may say for a choice (or, for a menu question without choices, for an
    // item's payload): {savings: [saver, savings account]}.
    std::vector<std::string> accepted = ask.choices;
    if (accepted.empty()) {
      if (const auto* m = std::get_if<MenuBody>(&ask.question.body)) {
        for (const auto& item : m->items) accepted.push_back(item.payload);
      }
    }
    if (s["pattern"]) Error(syn, "synonyms belong to choices or a menu question, not a pattern");
    if (IsMap(syn, "synonyms")) {
      for (const auto& kv : syn) {
        if (!Visit(kv.first)) break;
        std::string value = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) {
          Error(kv.first, fmt::format("synonyms name '{}', which is not one of this question's "
                                      "choices (or menu payloads)",
                                      value));
          continue;
        }
        if (!IsSeq(kv.second, "synonyms of '" + value + "'")) continue;
        for (const auto& w : kv.second) {
          if (auto word = Str(w, "a synonym", kMaxPayloadLength)) {
            if (word->find_first_not_of(" \t") == std::string::npos) {
              Error(w, "a synonym must not be empty");
              continue;
            }
            ask.synonyms.emplace_back(*word, value);
          }
        }
      }
    }
  }
}

void Parser::ParseCall(const YAML::Node& c, CallStep& call, const std::string& where,
                       const Scope& scope) {
  if (!IsMap(c, "call")) return;
  CheckKeys(c, {"url", "timeout_ms", "on_error", "fallback"}, "call");
  if (auto url = Str(Need(c, "url", "call"), "call url", kMaxUrlLength)) {
    if (auto why = CallUrlProblem(*url, options_.allow_insecure_calls))
      Error(c["url"], fmt::format("call url '{}' is refused: {}", *url, *why));
    call.url = *url;
  }
  if (YAML::Node t = c["timeout_ms"]) {
    int64_t v = -1;
    if (Visit(t) && t.IsScalar()) {
      try {
        v = t.as<int64_t>();
      } catch (const YAML::Exception&) {
      }
    }
    if (v < 1 || v > kMaxCallTimeoutMs)
      Error(t, fmt::format("timeout_ms must be an integer from 1 to {}", kMaxCallTimeoutMs));
    else
      call.timeout_ms = v;
  }
  if (c["on_error"] && c["fallback"])
    Error(c["fallback"], "a call takes on_error or its older name fallback, not both");
  if (YAML::Node f = c["on_error"]) call.fallback = Replies(f, where + " call on_error", scope);
  if (YAML::Node f = c["fallback"]) call.fallback = Replies(f, where + " call fallback", scope);
}

}  // namespace parley::bot::detail

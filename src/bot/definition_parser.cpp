// The walk over the YAML tree: budgets, shape checks, diagnostics, and the top level of a bot
// definition. The sections have their own files (see definition_parser.hpp).
#include "bot/definition_parser.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <exception>

namespace parley::bot::detail {

bool IsIdentifier(std::string_view s, bool allow_dash_dot) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (allow_dash_dot && (c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

// Slot names are placeholders too, so they follow the placeholder grammar without dots.
bool IsSlotName(std::string_view s) {
  return IsIdentifier(s, false) && !(s[0] >= '0' && s[0] <= '9');
}

int LineOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

DefinitionResult Parser::Run(std::string_view yaml) {
  if (yaml.size() > options_.max_file_bytes) {
    Error(0, fmt::format("the file is larger than {} bytes", options_.max_file_bytes));
    return Finish();
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    Error(e.mark.is_null() ? 0 : e.mark.line + 1, "invalid YAML: " + e.msg);
    return Finish();
  } catch (const std::exception& e) {
    Error(0, std::string("invalid YAML: ") + e.what());
    return Finish();
  }
  return RunNode(root);
}

DefinitionResult Parser::RunNode(const YAML::Node& root) {
  try {
    ParseRoot(root);
  } catch (const std::exception& e) {
    // yaml-cpp accessors throw on shapes we did not expect; report rather than crash.
    Error(0, std::string("unexpected structure: ") + e.what());
  }
  return Finish();
}

DefinitionResult Parser::Finish() {
  DefinitionResult result;
  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
  if (errors_.size() > kMaxDiagnostics) errors_.resize(kMaxDiagnostics);
  result.errors = std::move(errors_);
  if (result.errors.empty()) result.definition = std::move(def_);
  return result;
}

void Parser::Error(int line, std::string reason) {
  if (errors_.size() < kMaxDiagnostics * 2) errors_.push_back({file_, line, std::move(reason)});
}

void Parser::Error(const YAML::Node& n, std::string reason) { Error(LineOf(n), std::move(reason)); }

// Counts a visited node against the budgets; false once they are spent.
bool Parser::Visit(const YAML::Node& n) {
  if (over_budget_) return false;
  ++nodes_;
  if (n.IsScalar()) scalar_bytes_ += n.Scalar().size();
  if (nodes_ > kMaxNodes || scalar_bytes_ > kMaxScalarBytes) {
    over_budget_ = true;
    Error(n, "the file expands to too many values (check aliases)");
    return false;
  }
  return true;
}

// Refuses keys outside `allowed`, each at its own line.
void Parser::CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                       std::string_view where) {
  for (const auto& kv : map) {
    if (!Visit(kv.first)) return;
    const std::string_view key = kv.first.IsScalar() ? std::string_view(kv.first.Scalar())
                                                     : std::string_view("<non-scalar>");
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      Error(kv.first, fmt::format("unknown key '{}' in {} (allowed: {})", key, where,
                                  fmt::join(allowed, ", ")));
  }
}

bool Parser::IsMap(const YAML::Node& n, std::string_view what) {
  if (!Visit(n)) return false;
  if (n.IsMap()) return true;
  Error(n, fmt::format("{} must be a mapping", what));
  return false;
}

bool Parser::IsSeq(const YAML::Node& n, std::string_view what, bool non_empty) {
  if (!Visit(n)) return false;
  if (!n.IsSequence()) {
    Error(n, fmt::format("{} must be a list", what));
    return false;
  }
  if (non_empty && n.size() == 0) {
    Error(n, fmt::format("{} must not be empty", what));
    return false;
  }
  return true;
}

std::optional<std::string> Parser::Str(const std::optional<YAML::Node>& n, std::string_view what,
                                       size_t max) {
  if (!n) return std::nullopt;
  return Str(*n, what, max);
}

std::optional<std::string> Parser::Str(const YAML::Node& n, std::string_view what, size_t max) {
  if (!Visit(n)) return std::nullopt;
  if (!n.IsScalar()) {
    Error(n, fmt::format("{} must be a string", what));
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  if (s.empty()) {
    Error(n, fmt::format("{} must not be empty", what));
    return std::nullopt;
  }
  if (s.size() > max) {
    Error(n, fmt::format("{} is longer than {} characters", what, max));
    return std::nullopt;
  }
  return s;
}

// A required key: reports it missing at the map's line.
std::optional<YAML::Node> Parser::Need(const YAML::Node& map, const char* key,
                                       std::string_view where) {
  YAML::Node n = map[key];
  if (!n || n.IsNull()) {
    Error(map, fmt::format("{} needs '{}'", where, key));
    return std::nullopt;
  }
  return n;
}

// First pass: the names that payloads and references may point at.
void Parser::CollectNames(const YAML::Node& root) {
  if (YAML::Node intents = root["intents"]; intents && intents.IsSequence()) {
    for (const auto& i : intents) {
      if (!Visit(i)) return;
      if (i.IsMap() && i["name"] && i["name"].IsScalar()) intent_names_.insert(i["name"].Scalar());
    }
  }
  if (YAML::Node flows = root["flows"]; flows && flows.IsMap()) {
    for (const auto& kv : flows) {
      if (!Visit(kv.first)) return;
      if (kv.first.IsScalar()) flow_names_.insert(kv.first.Scalar());
    }
  }
  if (YAML::Node menus = root["menus"]; menus && menus.IsMap()) {
    for (const auto& kv : menus) {
      if (!Visit(kv.first)) return;
      if (kv.first.IsScalar()) menu_names_.insert(kv.first.Scalar());
    }
  }
  if (YAML::Node esc = root["escalation"]; esc && esc.IsMap()) {
    has_escalation_ = true;
    if (YAML::Node queues = esc["queues"]; queues && queues.IsSequence()) {
      for (const auto& q : queues) {
        if (!Visit(q)) return;
        if (q.IsMap() && q["queue"] && q["queue"].IsScalar())
          queue_names_.insert(q["queue"].Scalar());
      }
    }
  }
}

void Parser::ParseRoot(const YAML::Node& root) {
  if (!root || root.IsNull()) {
    Error(0, "the file is empty: a bot needs at least 'name' and 'fallback'");
    return;
  }
  if (!IsMap(root, "the bot definition")) return;
  CheckKeys(root,
            {"name", "greeting", "threshold", "interrupt_threshold", "cancel", "fallback",
             "intents", "menus", "flows", "escalation"},
            "the bot definition");
  CollectNames(root);
  if (auto name = Str(Need(root, "name", "the bot definition"), "name", kMaxNameLength * 2))
    def_.name = *name;
  for (const char* key : {"threshold", "interrupt_threshold"}) {
    YAML::Node t = root[key];
    if (!t) continue;
    double v = -1;
    if (Visit(t) && t.IsScalar()) {
      try {
        v = t.as<double>();
      } catch (const YAML::Exception&) {
      }
    }
    if (!(v >= 0.0 && v <= 1.0)) {
      Error(t, fmt::format("{} must be a number between 0 and 1", key));
    } else if (std::string_view(key) == "threshold") {
      def_.threshold = v;
      def_.threshold_set = true;
    } else {
      def_.interrupt_threshold = v;
    }
  }
  Scope top;
  if (YAML::Node menus = root["menus"]) ParseMenus(menus);
  if (YAML::Node c = root["cancel"]; c && IsMap(c, "cancel")) {
    CheckKeys(c, {"words", "replies"}, "cancel");
    if (YAML::Node w = c["words"]; w && IsSeq(w, "cancel words", false)) {
      def_.cancel_words.clear();
      for (const auto& v : w) {
        if (auto word = Str(v, "a cancel word", kMaxNameLength * 2)) {
          if (word->find_first_not_of(" \t") == std::string::npos)
            Error(v, "a cancel word must not be empty");
          else
            def_.cancel_words.push_back(*word);
        }
      }
    }
    if (YAML::Node r = c["replies"]) def_.cancel_replies = Replies(r, "cancel replies", top);
  }
  if (YAML::Node g = root["greeting"]) def_.greeting = Replies(g, "greeting", top);
  if (auto f = Need(root, "fallback", "the bot definition")) ParseFallback(*f);
  if (YAML::Node e = root["escalation"]) ParseEscalation(e);
  if (YAML::Node flows = root["flows"]) ParseFlows(flows);
  if (YAML::Node intents = root["intents"]) ParseIntents(intents);
}

}  // namespace parley::bot::detail

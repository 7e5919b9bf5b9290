// What the bot understands and how it hands over: intents, the fallback for what it does not
// understand, and the escalation to queues.
#include <fmt/format.h>

#include <map>

#include "bot/definition_parser.hpp"

namespace parley::bot::detail {

void Parser::ParseFallback(const YAML::Node& f) {
  if (!IsMap(f, "fallback")) return;
  CheckKeys(f, {"replies", "escalate_after", "offer"}, "fallback");
  if (auto r = Need(f, "replies", "fallback")) def_.fallback.replies = Replies(*r, "fallback", {});
  if (YAML::Node e = f["escalate_after"]) {
    int v = -1;
    if (Visit(e) && e.IsScalar()) {
      try {
        v = e.as<int>();
      } catch (const YAML::Exception&) {
      }
    }
    if (v < 0 || v > 100)
      Error(e, "escalate_after must be an integer from 0 to 100");
    else
      def_.fallback.escalate_after = v;
    if (v > 0 && !has_escalation_)
      Error(e,
            "escalate_after offers a person, which needs an 'escalation' section "
            "(or set it to 0)");
  } else if (!has_escalation_) {
    def_.fallback.escalate_after = 0;  // nobody to offer
  }
  if (YAML::Node o = f["offer"]) {
    if (auto s = Str(o, "fallback offer")) {
      def_.fallback.offer = *s;
      CheckPlaceholders(o, *s, {});
    }
  }
}

void Parser::ParseEscalation(const YAML::Node& e) {
  if (!IsMap(e, "escalation")) return;
  CheckKeys(e, {"replies", "title", "queues"}, "escalation");
  Escalation esc;
  if (auto r = Need(e, "replies", "escalation")) esc.replies = Replies(*r, "escalation", {});
  if (YAML::Node t = e["title"]) {
    if (auto s = Str(t, "escalation title")) esc.title = *s;
  }
  auto queues = Need(e, "queues", "escalation");
  std::set<std::string> seen;
  if (queues && IsSeq(*queues, "escalation queues")) {
    for (const auto& q : *queues) {
      if (!IsMap(q, "an escalation queue")) continue;
      CheckKeys(q, {"queue", "text"}, "escalation queue");
      auto name = Str(Need(q, "queue", "an escalation queue"), "queue", kMaxNameLength);
      auto text = Str(Need(q, "text", "an escalation queue"), "queue text");
      if (!name || !text) continue;
      if (!IsIdentifier(*name, true)) {
        Error(q["queue"], "a queue name must be 1 to 64 letters, digits, '_', '-' or '.'");
        continue;
      }
      if (!seen.insert(*name).second) {
        Error(q["queue"], fmt::format("queue '{}' is listed twice", *name));
        continue;
      }
      esc.queues.push_back({*name, *text});
    }
  }
  def_.escalation = std::move(esc);
}

void Parser::ParseIntents(const YAML::Node& intents) {
  if (!IsSeq(intents, "intents", false)) return;
  std::map<std::string, int> first_line;
  for (const auto& n : intents) {
    if (!IsMap(n, "an intent")) continue;
    Intent intent;
    intent.line = LineOf(n);
    auto name = Str(Need(n, "name", "an intent"), "intent name", kMaxNameLength);
    std::string where = name ? fmt::format("intent '{}'", *name) : "an intent";
    CheckKeys(n, {"name", "examples", "replies", "flow", "action"}, where);
    if (name) {
      if (!IsIdentifier(*name, true)) {
        Error(n["name"], "an intent name must be 1 to 64 letters, digits, '_', '-' or '.'");
      } else if (auto [it, fresh] = first_line.emplace(*name, LineOf(n["name"])); !fresh) {
        Error(n["name"], fmt::format("duplicate intent name '{}' (first defined at line {})", *name,
                                     it->second));
      }
      intent.name = *name;
    }
    if (auto ex = Need(n, "examples", where); ex && IsSeq(*ex, where + " examples")) {
      for (const auto& e : *ex) {
        if (auto s = Str(e, "an example")) intent.examples.push_back(*s);
      }
    }
    int actions = (n["replies"] ? 1 : 0) + (n["flow"] ? 1 : 0) + (n["action"] ? 1 : 0);
    if (actions == 0) {
      Error(n, fmt::format("{} needs replies, a flow or action: escalate", where));
    } else if (actions > 1) {
      Error(n, fmt::format("{} must have only one of replies, flow and action", where));
    } else if (YAML::Node r = n["replies"]) {
      intent.replies = Replies(r, where, {});
    } else if (YAML::Node f = n["flow"]) {
      if (auto s = Str(f, "flow", kMaxNameLength)) {
        if (!flow_names_.contains(*s))
          Error(f, fmt::format("{} names an unknown flow '{}'", where, *s));
        intent.flow = *s;
      }
    } else if (YAML::Node a = n["action"]) {
      if (auto s = Str(a, "action", kMaxNameLength)) {
        if (*s != "escalate") {
          Error(a, fmt::format("unknown action '{}' (the only action is escalate)", *s));
        } else if (!has_escalation_) {
          Error(a, "action: escalate needs an 'escalation' section");
        }
        intent.escalate = true;
      }
    }
    def_.intents.push_back(std::move(intent));
  }
}

}  // namespace parley::bot::detail

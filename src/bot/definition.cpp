// The public side of bot definitions (bot/definition.hpp); the parser itself is in
// definition_parser.hpp and the files it names.
#include "bot/definition.hpp"

#include <fmt/format.h>

#include <fstream>

#include "bot/definition_parser.hpp"

namespace parley::bot {

std::string Diagnostic::ToString() const {
  if (line > 0) return fmt::format("{}:{}: {}", file, line, reason);
  return fmt::format("{}: {}", file, reason);
}

const Intent* BotDefinition::FindIntent(std::string_view n) const {
  for (const auto& i : intents) {
    if (i.name == n) return &i;
  }
  return nullptr;
}

const Flow* BotDefinition::FindFlow(std::string_view n) const {
  auto it = flows.find(std::string(n));
  return it == flows.end() ? nullptr : &it->second;
}

const channel::MenuBody* BotDefinition::FindMenu(std::string_view n) const {
  auto it = menus.find(std::string(n));
  return it == menus.end() ? nullptr : &it->second;
}

const EscalationQueue* BotDefinition::FindQueue(std::string_view n) const {
  if (!escalation) return nullptr;
  for (const auto& q : escalation->queues) {
    if (q.queue == n) return &q;
  }
  return nullptr;
}

DefinitionResult ParseDefinition(std::string_view yaml, std::string_view file,
                                 const DefinitionOptions& options) {
  DefinitionResult r = detail::Parser(file, options).Run(yaml);
  if (r.definition) r.definition->file = std::string(file);
  return r;
}

DefinitionResult ParseDefinitionNode(const YAML::Node& root, std::string_view file,
                                     const DefinitionOptions& options) {
  DefinitionResult r = detail::Parser(file, options).RunNode(root);
  if (r.definition) r.definition->file = std::string(file);
  return r;
}

DefinitionResult LoadDefinitionFile(const std::string& path, const DefinitionOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    DefinitionResult r;
    r.errors.push_back({path, 0, "cannot read the file"});
    return r;
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > options.max_file_bytes) break;  // ParseDefinition reports the size
  }
  return ParseDefinition(text, path, options);
}

Error DiagnosticsError(const std::vector<Diagnostic>& errors) {
  std::string message;
  for (const auto& d : errors) {
    if (!message.empty()) message += '\n';
    message += d.ToString();
  }
  if (message.empty()) message = "The bot definition is invalid.";
  return Error{Errc::kInvalidArgument, "invalid_bot_definition", std::move(message)};
}

Postback ParsePostback(std::string_view payload) {
  auto target = [&](std::string_view prefix) -> std::optional<std::string> {
    if (!payload.starts_with(prefix) || payload.size() == prefix.size()) return std::nullopt;
    return std::string(payload.substr(prefix.size()));
  };
  if (auto t = target("intent:")) return {Postback::Kind::kIntent, *t};
  if (auto t = target("flow:")) return {Postback::Kind::kFlow, *t};
  if (auto t = target("menu:")) return {Postback::Kind::kMenu, *t};
  if (auto t = target("queue:")) return {Postback::Kind::kQueue, *t};
  if (payload == "action:escalate") return {Postback::Kind::kEscalate, ""};
  if (payload == "action:cancel") return {Postback::Kind::kCancel, ""};
  return {};
}

}  // namespace parley::bot

#pragma once
// Internals of the bot definition parser (bot/definition.hpp is the interface), shared by its
// parts: definition_parser.cpp (the walk over the YAML and the top level),
// definition_replies.cpp (replies, menus, carousels, payloads, placeholders),
// definition_intents.cpp (intents, fallback, escalation), definition_flows.cpp (flows and their
// ask and call steps) and definition_pattern.cpp (which slot patterns are safe to run).
// Include it only from those files.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bot/definition.hpp"

namespace parley::bot::detail {

// Aliases let a small file describe a huge tree (a "billion laughs"); the walk counts what it
// visits and stops past these budgets, whatever the file's own size.
inline constexpr size_t kMaxNodes = 200'000;
inline constexpr size_t kMaxScalarBytes = 16 << 20;
inline constexpr size_t kMaxNameLength = 64;
inline constexpr size_t kMaxTextLength = 4096;
inline constexpr size_t kMaxPayloadLength = 1024;
inline constexpr size_t kMaxUrlLength = 2048;
inline constexpr size_t kMaxPatternLength = 256;
inline constexpr int kMaxRepeatingQuantifiers = 4;
inline constexpr int kMaxBraceCount = 256;
inline constexpr int64_t kMaxCallTimeoutMs = 60'000;

// 1 to 64 letters, digits and '_' (and '-', '.' when allowed).
bool IsIdentifier(std::string_view s, bool allow_dash_dot);
// An identifier without '-' or '.' that does not start with a digit.
bool IsSlotName(std::string_view s);
// The node's 1-based line, or 0 when it has none.
int LineOf(const YAML::Node& n);

// Why a slot pattern is refused (see definition_pattern.cpp), or nullopt.
std::optional<std::string> PatternRisk(std::string_view p);
// Why a `call` URL is refused, or nullopt.
std::optional<std::string> CallUrlProblem(std::string_view url, bool allow_insecure);
// Why a link shown to customers is refused, or nullopt.
std::optional<std::string> LinkUrlProblem(std::string_view url);

// Which placeholders a reply may use where it appears.
struct Scope {
  const std::set<std::string>* slots = nullptr;  // slots filled before this point of a flow
  bool any_slot = false;                         // after a call, which may set any slot
  std::string flow;                              // empty outside flows
};

// One parse of one file: collects every problem as a Diagnostic instead of stopping at the
// first. Single use, not thread-safe (ParseDefinition makes one per call).
class Parser {
 public:
  Parser(std::string_view file, const DefinitionOptions& options)
      : file_(file), options_(options) {}

  // The YAML parse, then RunNode.
  DefinitionResult Run(std::string_view yaml);
  // Every check of the format on a tree already parsed (or built by a program).
  DefinitionResult RunNode(const YAML::Node& root);

 private:
  // The walk (definition_parser.cpp).
  DefinitionResult Finish();
  void Error(int line, std::string reason);
  void Error(const YAML::Node& n, std::string reason);
  bool Visit(const YAML::Node& n);
  void CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                 std::string_view where);
  bool IsMap(const YAML::Node& n, std::string_view what);
  bool IsSeq(const YAML::Node& n, std::string_view what, bool non_empty = true);
  std::optional<std::string> Str(const std::optional<YAML::Node>& n, std::string_view what,
                                 size_t max = kMaxTextLength);
  std::optional<std::string> Str(const YAML::Node& n, std::string_view what,
                                 size_t max = kMaxTextLength);
  std::optional<YAML::Node> Need(const YAML::Node& map, const char* key, std::string_view where);
  void CollectNames(const YAML::Node& root);
  void ParseRoot(const YAML::Node& root);

  // Replies (definition_replies.cpp).
  void ParseMenus(const YAML::Node& menus);
  std::optional<channel::MenuBody> MenuDef(const YAML::Node& n, const std::string& where);
  void CheckPayload(const YAML::Node& at, const std::string& payload);
  void CheckPlaceholders(const YAML::Node& at, const Reply& reply, const Scope& scope);
  void CheckPlaceholders(const YAML::Node& at, const std::string& text, const Scope& scope);
  std::vector<Reply> Replies(const YAML::Node& n, const std::string& where, const Scope& scope);
  std::optional<Reply> OneReply(const YAML::Node& r, const std::string& where, const Scope& scope);
  std::optional<channel::CarouselBody> Carousel(const YAML::Node& v);

  // Intents, fallback and escalation (definition_intents.cpp).
  void ParseFallback(const YAML::Node& f);
  void ParseEscalation(const YAML::Node& e);
  void ParseIntents(const YAML::Node& intents);

  // Flows (definition_flows.cpp).
  void ParseFlows(const YAML::Node& flows);
  void ParseAsk(const YAML::Node& s, AskStep& ask, const std::string& where, const Scope& scope);
  void ParseCall(const YAML::Node& c, CallStep& call, const std::string& where, const Scope& scope);

  std::string file_;
  DefinitionOptions options_;
  BotDefinition def_;
  std::vector<Diagnostic> errors_;
  std::set<std::string> intent_names_, flow_names_, menu_names_, queue_names_;
  bool has_escalation_ = false;
  size_t nodes_ = 0;
  size_t scalar_bytes_ = 0;
  bool over_budget_ = false;
};

}  // namespace parley::bot::detail

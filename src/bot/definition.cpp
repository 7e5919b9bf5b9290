#include "bot/definition.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "bot/template.hpp"
#include "delivery/address_guard.hpp"

namespace parley::bot {
namespace {

using channel::MenuBody;

// Aliases let a small file describe a huge tree (a "billion laughs"); the walk below counts
// what it visits and stops past these budgets, whatever the file's own size.
constexpr size_t kMaxNodes = 200'000;
constexpr size_t kMaxScalarBytes = 16 << 20;
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxTextLength = 4096;
constexpr size_t kMaxPayloadLength = 1024;
constexpr size_t kMaxUrlLength = 2048;
constexpr size_t kMaxPatternLength = 256;
constexpr int kMaxRepeatingQuantifiers = 4;
constexpr int kMaxBraceCount = 256;
constexpr int64_t kMaxCallTimeoutMs = 60'000;

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

// Why a slot pattern is refused, or nullopt. std::regex backtracks, recursively, with no step
// limit, and it runs on the store's writer thread: a pattern such as `(a+)+$` or `(a|a)*`
// could stall every conversation. So we refuse the constructs that make backtracking
// exponential (a repeated group that itself repeats or alternates, backreferences), bound the
// number of repeating quantifiers (which bounds the polynomial degree) and the repeat counts,
// and the engine only ever sees answers of at most kMaxAnswerForPattern bytes.
std::optional<std::string> PatternRisk(std::string_view p) {
  if (p.size() > kMaxPatternLength)
    return fmt::format("is longer than {} characters", kMaxPatternLength);
  struct Group {
    bool has_repeat = false;  // contains a quantifier that can repeat more than once
    bool has_alternation = false;
  };
  std::vector<Group> stack(1);
  int repeating = 0;
  // What a following quantifier applies to: a closed group (with its flags) or an atom.
  std::optional<Group> last_group;
  auto quantifier = [&](size_t& i) -> std::optional<std::string> {
    // i points at '*', '+', '?' or '{'. Returns a reason on refusal; advances i past it.
    bool repeats = false;
    if (p[i] == '*' || p[i] == '+') {
      repeats = true;
      ++i;
    } else if (p[i] == '?') {
      ++i;
    } else {
      size_t close = p.find('}', i);
      std::string_view body = p.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
      int lo = -1, hi = -1;
      bool comma = false;
      std::string digits;
      for (char c : body) {
        if (c >= '0' && c <= '9') {
          digits.push_back(c);
          if (digits.size() > 4)
            return "has a repeat count above " + std::to_string(kMaxBraceCount);
        } else if (c == ',' && !comma) {
          comma = true;
          lo = digits.empty() ? -1 : std::stoi(digits);
          digits.clear();
        } else {
          ++i;  // a literal '{', not a quantifier: the compiler decides
          last_group.reset();
          return std::nullopt;
        }
      }
      if (close == std::string_view::npos) {
        ++i;
        last_group.reset();
        return std::nullopt;
      }
      if (!comma) {
        lo = hi = digits.empty() ? -1 : std::stoi(digits);
      } else {
        hi = digits.empty() ? -2 : std::stoi(digits);  // -2: unbounded
      }
      if (lo > kMaxBraceCount || hi > kMaxBraceCount)
        return "has a repeat count above " + std::to_string(kMaxBraceCount);
      repeats = hi == -2 || hi > std::max(lo, 1);
      i = close + 1;
    }
    if (i < p.size() && p[i] == '?') ++i;  // lazy form
    if (repeats) {
      ++repeating;
      if (last_group && (last_group->has_repeat || last_group->has_alternation))
        return std::string(
            "repeats a group that itself repeats or alternates, which can make "
            "matching take exponential time");
      stack.back().has_repeat = true;
    }
    last_group.reset();
    return std::nullopt;
  };
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 < p.size() && p[i + 1] >= '1' && p[i + 1] <= '9')
        return std::string("uses a backreference, which can make matching take exponential time");
      last_group.reset();
      i += 2;
    } else if (c == '[') {
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      last_group.reset();
      i = j + 1;
    } else if (c == '(') {
      stack.emplace_back();
      last_group.reset();
      ++i;
      if (i < p.size() && p[i] == '?') i += 2;  // (?: (?= (?!
    } else if (c == ')') {
      if (stack.size() == 1) return std::nullopt;  // unbalanced: the compiler reports it
      Group g = stack.back();
      stack.pop_back();
      stack.back().has_repeat |= g.has_repeat;
      stack.back().has_alternation |= g.has_alternation;
      last_group = g;
      ++i;
    } else if (c == '|') {
      stack.back().has_alternation = true;
      last_group.reset();
      ++i;
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
      if (auto why = quantifier(i)) return why;
    } else {
      last_group.reset();
      ++i;
    }
  }
  if (repeating > kMaxRepeatingQuantifiers)
    return fmt::format("has more than {} repeating quantifiers", kMaxRepeatingQuantifiers);
  return std::nullopt;
}

// The webhook address rules (delivery/address_guard.hpp): https unless insecure calls are
// allowed, a host, no credentials, no literal private address. Names are not resolved here:
// loading a bot does no network I/O; the HTTP client checks resolved addresses when it calls.
std::optional<std::string> CallUrlProblem(std::string_view url, bool allow_insecure) {
  auto checked = delivery::ValidateWebhookUrl(url, allow_insecure);
  if (!checked) return checked.error().message;
  return std::nullopt;
}

// Links shown to customers: http(s) with a host. Placeholders are allowed in them.
std::optional<std::string> LinkUrlProblem(std::string_view url) {
  if (url.size() > kMaxUrlLength) return "is longer than 2048 characters";
  std::string probe = FillTemplate(url, TemplateValues{"x", nullptr, nullptr});
  // A missing placeholder renders empty; keep the probe parseable for a host check.
  auto parsed = boost::urls::parse_absolute_uri(probe);
  if (!parsed) return "is not an absolute URL";
  std::string scheme = parsed->scheme();
  if (scheme != "https" && scheme != "http") return "must use http or https";
  if (!parsed->has_authority()) return "has no host";
  return std::nullopt;
}

// Which placeholders a reply may use where it appears.
struct Scope {
  const std::set<std::string>* slots = nullptr;  // slots filled before this point of a flow
  bool any_slot = false;                         // after a call, which may set any slot
  std::string flow;                              // empty outside flows
};

class Parser {
 public:
  Parser(std::string_view file, const DefinitionOptions& options)
      : file_(file), options_(options) {}

  DefinitionResult Run(std::string_view yaml) {
    DefinitionResult result;
    if (yaml.size() > options_.max_file_bytes) {
      Error(0, fmt::format("the file is larger than {} bytes", options_.max_file_bytes));
    } else {
      YAML::Node root;
      bool loaded = false;
      try {
        root = YAML::Load(std::string(yaml));
        loaded = true;
      } catch (const YAML::Exception& e) {
        Error(e.mark.is_null() ? 0 : e.mark.line + 1, "invalid YAML: " + e.msg);
      } catch (const std::exception& e) {
        Error(0, std::string("invalid YAML: ") + e.what());
      }
      if (loaded) {
        try {
          ParseRoot(root);
        } catch (const std::exception& e) {
          // yaml-cpp accessors throw on shapes we did not expect; report rather than crash.
          Error(0, std::string("unexpected structure: ") + e.what());
        }
      }
    }
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    if (errors_.size() > kMaxDiagnostics) errors_.resize(kMaxDiagnostics);
    result.errors = std::move(errors_);
    if (result.errors.empty()) result.definition = std::move(def_);
    return result;
  }

 private:
  void Error(int line, std::string reason) {
    if (errors_.size() < kMaxDiagnostics * 2) errors_.push_back({file_, line, std::move(reason)});
  }
  void Error(const YAML::Node& n, std::string reason) { Error(LineOf(n), std::move(reason)); }

  // Counts a visited node against the budgets; false once they are spent.
  bool Visit(const YAML::Node& n) {
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
  void CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                 std::string_view where) {
    for (const auto& kv : map) {
      if (!Visit(kv.first)) return;
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar>");
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Error(kv.first, fmt::format("unknown key '{}' in {} (allowed: {})", key, where, list));
      }
    }
  }

  bool IsMap(const YAML::Node& n, std::string_view what) {
    if (!Visit(n)) return false;
    if (n.IsMap()) return true;
    Error(n, fmt::format("{} must be a mapping", what));
    return false;
  }

  bool IsSeq(const YAML::Node& n, std::string_view what, bool non_empty = true) {
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

  std::optional<std::string> Str(const std::optional<YAML::Node>& n, std::string_view what,
                                 size_t max = kMaxTextLength) {
    if (!n) return std::nullopt;
    return Str(*n, what, max);
  }

  std::optional<std::string> Str(const YAML::Node& n, std::string_view what,
                                 size_t max = kMaxTextLength) {
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
  std::optional<YAML::Node> Need(const YAML::Node& map, const char* key, std::string_view where) {
    YAML::Node n = map[key];
    if (!n || n.IsNull()) {
      Error(map, fmt::format("{} needs '{}'", where, key));
      return std::nullopt;
    }
    return n;
  }

  // First pass: the names that payloads and references may point at.
  void CollectNames(const YAML::Node& root) {
    if (YAML::Node intents = root["intents"]; intents && intents.IsSequence()) {
      for (const auto& i : intents) {
        if (!Visit(i)) return;
        if (i.IsMap() && i["name"] && i["name"].IsScalar())
          intent_names_.insert(i["name"].Scalar());
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

  void ParseRoot(const YAML::Node& root) {
    if (!root || root.IsNull()) {
      Error(0, "the file is empty: a bot needs at least 'name' and 'fallback'");
      return;
    }
    if (!IsMap(root, "the bot definition")) return;
    CheckKeys(
        root,
        {"name", "greeting", "threshold", "fallback", "intents", "menus", "flows", "escalation"},
        "the bot definition");
    CollectNames(root);
    if (auto name = Str(Need(root, "name", "the bot definition"), "name", kMaxNameLength * 2))
      def_.name = *name;
    if (YAML::Node t = root["threshold"]) {
      double v = -1;
      if (Visit(t) && t.IsScalar()) {
        try {
          v = t.as<double>();
        } catch (const YAML::Exception&) {
        }
      }
      if (!(v >= 0.0 && v <= 1.0))
        Error(t, "threshold must be a number between 0 and 1");
      else
        def_.threshold = v;
    }
    Scope top;
    if (YAML::Node menus = root["menus"]) ParseMenus(menus);
    if (YAML::Node g = root["greeting"]) def_.greeting = Replies(g, "greeting", top);
    if (auto f = Need(root, "fallback", "the bot definition")) ParseFallback(*f);
    if (YAML::Node e = root["escalation"]) ParseEscalation(e);
    if (YAML::Node flows = root["flows"]) ParseFlows(flows);
    if (YAML::Node intents = root["intents"]) ParseIntents(intents);
  }

  void ParseMenus(const YAML::Node& menus) {
    if (!IsMap(menus, "menus")) return;
    for (const auto& kv : menus) {
      if (!Visit(kv.first)) return;
      std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!IsIdentifier(name, true)) {
        Error(kv.first, "a menu name must be 1 to 64 letters, digits, '_', '-' or '.'");
        continue;
      }
      if (auto body = MenuDef(kv.second, fmt::format("menu '{}'", name)))
        def_.menus[name] = std::move(*body);
    }
  }

  std::optional<MenuBody> MenuDef(const YAML::Node& n, const std::string& where) {
    if (!IsMap(n, where)) return std::nullopt;
    CheckKeys(n, {"title", "items"}, where);
    MenuBody m;
    bool ok = true;
    if (auto title = Str(Need(n, "title", where), where + " title"))
      m.title = *title;
    else
      ok = false;
    auto items = Need(n, "items", where);
    if (!items || !IsSeq(*items, where + " items")) return std::nullopt;
    for (const auto& it : *items) {
      std::string iw = where + " item";
      if (!IsMap(it, iw)) {
        ok = false;
        continue;
      }
      CheckKeys(it, {"text", "payload", "image_url"}, iw);
      channel::MenuItem item;
      auto text = Str(Need(it, "text", iw), iw + " text");
      auto payload = Str(Need(it, "payload", iw), iw + " payload", kMaxPayloadLength);
      if (!text || !payload) {
        ok = false;
        continue;
      }
      item.text = *text;
      item.payload = *payload;
      CheckPayload(it["payload"], item.payload);
      if (YAML::Node img = it["image_url"]) {
        if (auto url = Str(img, iw + " image_url", kMaxUrlLength)) {
          if (auto why = LinkUrlProblem(*url)) Error(img, "image_url " + *why);
          item.image_url = *url;
        }
      }
      m.items.push_back(std::move(item));
    }
    if (!ok) return std::nullopt;
    return m;
  }

  // A payload in a menu or a carousel button: a routing form must name something that exists.
  void CheckPayload(const YAML::Node& at, const std::string& payload) {
    Postback pb = ParsePostback(payload);
    switch (pb.kind) {
      case Postback::Kind::kIntent:
        if (!intent_names_.contains(pb.target))
          Error(at, fmt::format("payload '{}' names an unknown intent", payload));
        break;
      case Postback::Kind::kFlow:
        if (!flow_names_.contains(pb.target))
          Error(at, fmt::format("payload '{}' names an unknown flow", payload));
        break;
      case Postback::Kind::kMenu:
        if (!menu_names_.contains(pb.target))
          Error(at, fmt::format("payload '{}' names an unknown menu", payload));
        break;
      case Postback::Kind::kQueue:
        if (!queue_names_.contains(pb.target))
          Error(at,
                fmt::format("payload '{}' names a queue that escalation does not list", payload));
        break;
      case Postback::Kind::kEscalate:
        if (!has_escalation_) Error(at, "payload 'action:escalate' needs an 'escalation' section");
        break;
      case Postback::Kind::kCancel:
        break;
      case Postback::Kind::kNone:
        if (payload.starts_with("action:"))
          Error(at, fmt::format("payload '{}' names an unknown action (use action:escalate or "
                                "action:cancel)",
                                payload));
        break;
    }
  }

  void CheckPlaceholders(const YAML::Node& at, const Reply& reply, const Scope& scope) {
    for (const std::string& s : BodyTemplateStrings(reply.body)) CheckPlaceholders(at, s, scope);
  }

  void CheckPlaceholders(const YAML::Node& at, const std::string& text, const Scope& scope) {
    for (const std::string& name : TemplatePlaceholders(text)) {
      if (name == "customer_name" || (name.starts_with("context.") && name.size() > 8)) continue;
      if (scope.flow.empty()) {
        Error(at, fmt::format("placeholder {{{}}} is not available here: outside a flow use "
                              "{{customer_name}} or {{context.key}}",
                              name));
      } else if (!scope.any_slot && !(scope.slots && scope.slots->contains(name))) {
        Error(at, fmt::format("placeholder {{{}}} names no slot of flow '{}' filled before this "
                              "point",
                              name, scope.flow));
      }
    }
  }

  std::vector<Reply> Replies(const YAML::Node& n, const std::string& where, const Scope& scope) {
    std::vector<Reply> out;
    if (!IsSeq(n, where + " replies")) return out;
    for (const auto& r : n) {
      if (auto reply = OneReply(r, where, scope)) out.push_back(std::move(*reply));
    }
    return out;
  }

  std::optional<Reply> OneReply(const YAML::Node& r, const std::string& where, const Scope& scope) {
    if (!IsMap(r, "a reply in " + where)) return std::nullopt;
    if (r.size() != 1) {
      Error(r, fmt::format("a reply in {} must have exactly one of text, menu, carousel, "
                           "link_button",
                           where));
      CheckKeys(r, {"text", "menu", "carousel", "link_button"}, "a reply");
      return std::nullopt;
    }
    auto kv = *r.begin();
    if (!Visit(kv.first)) return std::nullopt;
    std::string kind = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const YAML::Node v = kv.second;
    Reply reply;
    reply.line = LineOf(r);
    if (kind == "text") {
      channel::TextBody t;
      if (Visit(v) && v.IsSequence()) {
        if (!IsSeq(v, "text")) return std::nullopt;
        for (const auto& line : v) {
          if (auto s = Str(line, "a text line")) t.text.push_back(*s);
        }
        if (t.text.size() != v.size()) return std::nullopt;
      } else if (auto s = Str(v, "text")) {
        t.text.push_back(*s);
      } else {
        return std::nullopt;
      }
      reply.body = std::move(t);
    } else if (kind == "menu") {
      if (Visit(v) && v.IsScalar()) {
        const MenuBody* m = def_.FindMenu(v.Scalar());
        if (!m) {
          if (!menu_names_.contains(v.Scalar()))  // else it was refused already
            Error(v, fmt::format("unknown menu '{}'", v.Scalar()));
          return std::nullopt;
        }
        reply.body = *m;
        reply.menu_name = v.Scalar();
      } else {
        auto m = MenuDef(v, "an inline menu");
        if (!m) return std::nullopt;
        reply.body = std::move(*m);
      }
    } else if (kind == "carousel") {
      auto c = Carousel(v);
      if (!c) return std::nullopt;
      reply.body = std::move(*c);
    } else if (kind == "link_button") {
      if (!IsMap(v, "link_button")) return std::nullopt;
      CheckKeys(v, {"title", "label", "url"}, "link_button");
      auto title = Str(Need(v, "title", "link_button"), "link_button title");
      auto label = Str(Need(v, "label", "link_button"), "link_button label");
      auto url = Str(Need(v, "url", "link_button"), "link_button url", kMaxUrlLength);
      if (!title || !label || !url) return std::nullopt;
      if (auto why = LinkUrlProblem(*url)) Error(v["url"], "link_button url " + *why);
      reply.body = channel::LinkButtonBody{*title, *label, *url};
    } else {
      Error(kv.first, fmt::format("unknown reply kind '{}' in {} (use text, menu, carousel or "
                                  "link_button)",
                                  kind, where));
      return std::nullopt;
    }
    CheckPlaceholders(r, reply, scope);
    return reply;
  }

  std::optional<channel::CarouselBody> Carousel(const YAML::Node& v) {
    if (!IsMap(v, "carousel")) return std::nullopt;
    CheckKeys(v, {"title", "items"}, "carousel");
    channel::CarouselBody c;
    bool ok = true;
    if (YAML::Node t = v["title"]) {
      if (auto s = Str(t, "carousel title"))
        c.title = *s;
      else
        ok = false;
    }
    auto items = Need(v, "items", "carousel");
    if (!items || !IsSeq(*items, "carousel items")) return std::nullopt;
    for (const auto& it : *items) {
      if (!IsMap(it, "a carousel item")) {
        ok = false;
        continue;
      }
      CheckKeys(it, {"title", "subtitle", "image_url", "buttons"}, "carousel item");
      channel::CarouselItem item;
      if (auto s = Str(Need(it, "title", "a carousel item"), "carousel item title"))
        item.title = *s;
      else
        ok = false;
      if (YAML::Node s = it["subtitle"]) {
        if (auto sv = Str(s, "carousel item subtitle"))
          item.subtitle = *sv;
        else
          ok = false;
      }
      if (YAML::Node img = it["image_url"]) {
        if (auto url = Str(img, "image_url", kMaxUrlLength)) {
          if (auto why = LinkUrlProblem(*url)) Error(img, "image_url " + *why);
          item.image_url = *url;
        } else {
          ok = false;
        }
      }
      auto buttons = Need(it, "buttons", "a carousel item");
      if (buttons && IsSeq(*buttons, "carousel item buttons")) {
        for (const auto& b : *buttons) {
          if (!IsMap(b, "a carousel button")) {
            ok = false;
            continue;
          }
          CheckKeys(b, {"text", "payload", "url"}, "carousel button");
          channel::Button button;
          if (auto s = Str(Need(b, "text", "a carousel button"), "button text"))
            button.text = *s;
          else
            ok = false;
          YAML::Node payload = b["payload"];
          YAML::Node url = b["url"];
          if (static_cast<bool>(payload) == static_cast<bool>(url)) {
            Error(b, "a carousel button needs exactly one of 'payload' and 'url'");
            ok = false;
          } else if (payload) {
            if (auto s = Str(payload, "button payload", kMaxPayloadLength)) {
              CheckPayload(payload, *s);
              button.payload = *s;
            } else {
              ok = false;
            }
          } else if (auto s = Str(url, "button url", kMaxUrlLength)) {
            if (auto why = LinkUrlProblem(*s)) Error(url, "button url " + *why);
            button.url = *s;
          } else {
            ok = false;
          }
          item.buttons.push_back(std::move(button));
        }
      } else {
        ok = false;
      }
      c.items.push_back(std::move(item));
    }
    if (!ok) return std::nullopt;
    return c;
  }

  void ParseFallback(const YAML::Node& f) {
    if (!IsMap(f, "fallback")) return;
    CheckKeys(f, {"replies", "escalate_after", "offer"}, "fallback");
    if (auto r = Need(f, "replies", "fallback"))
      def_.fallback.replies = Replies(*r, "fallback", {});
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

  void ParseEscalation(const YAML::Node& e) {
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

  void ParseIntents(const YAML::Node& intents) {
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
          Error(n["name"], fmt::format("duplicate intent name '{}' (first defined at line {})",
                                       *name, it->second));
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

  void ParseFlows(const YAML::Node& flows) {
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
      CheckKeys(f, {"steps"}, where);
      Flow flow;
      flow.name = name;
      flow.line = LineOf(kv.first);
      auto steps = Need(f, "steps", where);
      if (!steps || !IsSeq(*steps, where + " steps")) continue;
      std::set<std::string> slots;
      std::map<std::string, std::vector<std::string>> choices_of;
      bool after_call = false;
      for (const auto& s : *steps) {
        if (!IsMap(s, "a step of " + where)) continue;
        FlowStep step;
        step.line = LineOf(s);
        CheckKeys(s, {"ask", "slot", "pattern", "retry", "choices", "call", "replies", "when"},
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
          for (const char* k : {"slot", "pattern", "retry", "choices"}) {
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

  void ParseAsk(const YAML::Node& s, AskStep& ask, const std::string& where, const Scope& scope) {
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
    if (YAML::Node c = s["choices"]) {
      if (s["pattern"]) Error(c, "an ask step takes either pattern or choices, not both");
      if (IsSeq(c, "choices")) {
        for (const auto& v : c) {
          if (auto choice = Str(v, "a choice", kMaxPayloadLength)) ask.choices.push_back(*choice);
        }
      }
    }
  }

  void ParseCall(const YAML::Node& c, CallStep& call, const std::string& where,
                 const Scope& scope) {
    if (!IsMap(c, "call")) return;
    CheckKeys(c, {"url", "timeout_ms", "fallback"}, "call");
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
    if (YAML::Node f = c["fallback"]) call.fallback = Replies(f, where + " call fallback", scope);
  }

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

}  // namespace

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
  DefinitionResult r = Parser(file, options).Run(yaml);
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

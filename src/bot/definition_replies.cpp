// Replies as written in a bot file (text, menu, carousel, link_button), named menus, the payloads
// of their items and buttons, and the placeholders their strings may use.
#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "bot/definition_parser.hpp"
#include "bot/template.hpp"

namespace parley::bot::detail {

using channel::MenuBody;

// Links shown to customers: http(s) with a host. Placeholders are allowed in them.
std::optional<std::string> LinkUrlProblem(std::string_view url) {
  if (url.size() > kMaxUrlLength) return "is longer than 2048 characters";
  // The scheme is written out: a placeholder before "://" (`{slot|https}://...`) would let a
  // customer's words choose it (javascript:, data:) after the check below has passed.
  size_t scheme_end = url.find("://");
  if (url.substr(0, scheme_end).find('{') != std::string_view::npos)
    return "must start with http:// or https:// written out (no placeholder before \"://\")";
  std::string probe = FillTemplate(url, TemplateValues{"x", nullptr, nullptr});
  // A missing placeholder renders empty; keep the probe parseable for a host check.
  auto parsed = boost::urls::parse_absolute_uri(probe);
  if (!parsed) return "is not an absolute URL";
  std::string scheme = parsed->scheme();
  if (scheme != "https" && scheme != "http") return "must use http or https";
  if (!parsed->has_authority()) return "has no host";
  return std::nullopt;
}

void Parser::ParseMenus(const YAML::Node& menus) {
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

std::optional<MenuBody> Parser::MenuDef(const YAML::Node& n, const std::string& where) {
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
void Parser::CheckPayload(const YAML::Node& at, const std::string& payload) {
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
        Error(at, fmt::format("payload '{}' names a queue that escalation does not list", payload));
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

void Parser::CheckPlaceholders(const YAML::Node& at, const Reply& reply, const Scope& scope) {
  for (const std::string& s : BodyTemplateStrings(reply.body)) CheckPlaceholders(at, s, scope);
}

void Parser::CheckPlaceholders(const YAML::Node& at, const std::string& text, const Scope& scope) {
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

std::vector<Reply> Parser::Replies(const YAML::Node& n, const std::string& where,
                                   const Scope& scope) {
  std::vector<Reply> out;
  if (!IsSeq(n, where + " replies")) return out;
  for (const auto& r : n) {
    if (auto reply = OneReply(r, where, scope)) out.push_back(std::move(*reply));
  }
  return out;
}

std::optional<Reply> Parser::OneReply(const YAML::Node& r, const std::string& where,
                                      const Scope& scope) {
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

std::optional<channel::CarouselBody> Parser::Carousel(const YAML::Node& v) {
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

}  // namespace parley::bot::detail

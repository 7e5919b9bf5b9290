#include "channel/capabilities.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cctype>

namespace parley::channel {
namespace json = boost::json;
namespace {

constexpr std::string_view kNames[] = {"menu", "carousel", "link_button", "typing_indicator"};

bool* Field(Capabilities& c, std::string_view name) {
  if (name == "menu") return &c.menu;
  if (name == "carousel") return &c.carousel;
  if (name == "link_button") return &c.link_button;
  if (name == "typing_indicator") return &c.typing_indicator;
  return nullptr;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

bool SameText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> CapabilityNames(const Capabilities& c) {
  std::vector<std::string> out;
  Capabilities copy = c;
  for (std::string_view name : kNames) {
    if (*Field(copy, name)) out.emplace_back(name);
  }
  return out;
}

json::array CapabilitiesToJson(const Capabilities& c) {
  json::array out;
  for (const auto& name : CapabilityNames(c)) out.emplace_back(name);
  return out;
}

Result<Capabilities> CapabilitiesFromJson(const json::value& v) {
  auto invalid = [](const std::string& what) {
    return Fail(Errc::kInvalidArgument, "invalid_capabilities",
                fmt::format("capabilities must be an array of menu, carousel, link_button and "
                            "typing_indicator{}.",
                            what));
  };
  if (!v.is_array()) return invalid("");
  if (v.as_array().size() > 16) return invalid(" (at most 16 entries)");
  Capabilities c = Capabilities::None();
  for (const auto& item : v.as_array()) {
    if (!item.is_string()) return invalid("; every entry must be a string");
    bool* field = Field(c, item.as_string());
    if (!field) {
      std::string shown(std::string_view(item.as_string()).substr(0, 64));
      return invalid(fmt::format("; '{}' is not one of them", shown));
    }
    *field = true;
  }
  return c;
}

std::string CapabilitiesToText(const Capabilities& c) {
  std::string out;
  for (const auto& name : CapabilityNames(c)) {
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

Capabilities CapabilitiesFromText(std::string_view text) {
  Capabilities c = Capabilities::None();
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string name = Trim(text.substr(0, comma));
    if (bool* field = Field(c, name)) *field = true;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return c;
}

Adapted Adapt(const OutboundBody& body, const Capabilities& caps, int first_number) {
  Adapted out;
  int n = first_number;
  if (const auto* m = std::get_if<MenuBody>(&body); m && !caps.menu) {
    TextBody t;
    t.text.push_back(m->title);
    for (const auto& item : m->items) {
      out.choices.push_back({n, item.text, item.payload});
      t.text.push_back(fmt::format("{}. {}", n++, item.text));
    }
    out.bodies.emplace_back(std::move(t));
    return out;
  }
  if (const auto* c = std::get_if<CarouselBody>(&body); c && !caps.carousel) {
    if (c->title && !c->title->empty()) out.bodies.emplace_back(TextBody{{*c->title}, {}});
    for (const auto& item : c->items) {
      TextBody t;
      t.text.push_back(item.title);
      if (item.subtitle) t.text.push_back(*item.subtitle);
      if (item.image_url) t.text.push_back(*item.image_url);
      for (const auto& b : item.buttons) {
        if (b.payload) {
          out.choices.push_back({n, b.text, *b.payload});
          t.text.push_back(fmt::format("{}. {}", n++, b.text));
        } else if (b.url) {
          t.text.push_back(fmt::format("{}: {}", b.text, *b.url));
        }
      }
      out.bodies.emplace_back(std::move(t));
    }
    return out;
  }
  if (const auto* l = std::get_if<LinkButtonBody>(&body); l && !caps.link_button) {
    out.bodies.emplace_back(TextBody{{l->title, fmt::format("{}: {}", l->label, l->url)}, {}});
    return out;
  }
  if (std::holds_alternative<TypingBody>(body) && !caps.typing_indicator) return out;
  out.bodies.push_back(body);
  return out;
}

std::vector<OutboundBody> AdaptToCapabilities(const OutboundBody& body, const Capabilities& caps) {
  return Adapt(body, caps).bodies;
}

const TextChoice* ChoiceFor(const std::vector<TextChoice>& choices, std::string_view text) {
  std::string said = Trim(text);
  if (said.empty() || said.size() > 1024) return nullptr;
  std::string digits = said;
  if (!digits.empty() && digits.front() == '#') digits.erase(0, 1);
  if (!digits.empty() && (digits.back() == '.' || digits.back() == ')')) digits.pop_back();
  if (!digits.empty() && digits.size() <= 4 &&
      digits.find_first_not_of("0123456789") == std::string::npos) {
    int number = std::stoi(digits);
    for (const auto& c : choices) {
      if (c.number == number) return &c;
    }
    return nullptr;
  }
  for (const auto& c : choices) {
    if (SameText(Trim(c.text), said)) return &c;
  }
  return nullptr;
}

json::array ChoicesToJson(const std::vector<TextChoice>& choices) {
  json::array out;
  for (const auto& c : choices)
    out.push_back(json::object{{"number", c.number}, {"text", c.text}, {"payload", c.payload}});
  return out;
}

std::vector<TextChoice> ChoicesFromJson(const json::value& v) {
  std::vector<TextChoice> out;
  if (!v.is_array()) return out;
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    const json::value* n = o.if_contains("number");
    const json::value* t = o.if_contains("text");
    const json::value* p = o.if_contains("payload");
    if (!n || !n->is_int64() || !t || !t->is_string() || !p || !p->is_string()) continue;
    out.push_back({static_cast<int>(n->as_int64()), std::string(t->as_string()),
                   std::string(p->as_string())});
  }
  return out;
}

}  // namespace parley::channel

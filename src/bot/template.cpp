#include "bot/template.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace parley::bot {
namespace json = boost::json;
namespace {

constexpr size_t kMaxPlaceholderName = 64;
constexpr size_t kMaxFallback = 256;

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

// A placeholder found at text[pos] (just after '{'): `name}` or `name|fallback}`.
struct Placeholder {
  std::string_view name;      // empty: no placeholder here
  std::string_view fallback;  // shown when the value is missing or empty
  size_t length = 0;          // characters after the '{', the closing '}' included
};

Placeholder PlaceholderAt(std::string_view text, size_t pos) {
  if (pos >= text.size() || !IsNameStart(text[pos])) return {};
  size_t end = pos;
  while (end < text.size() && IsNameChar(text[end]) && end - pos < kMaxPlaceholderName + 1) ++end;
  if (end >= text.size() || end - pos > kMaxPlaceholderName) return {};
  std::string_view name = text.substr(pos, end - pos);
  if (text[end] == '}') return {name, {}, end - pos + 1};
  if (text[end] != '|') return {};
  size_t close = text.find_first_of("{}", end + 1);
  if (close == std::string_view::npos || text[close] != '}' || close - end - 1 > kMaxFallback)
    return {};
  return {name, text.substr(end + 1, close - end - 1), close - pos + 1};
}

std::string Render(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_number() || v.is_bool()) return json::serialize(v);
  return "";
}

std::string LookupContext(const json::object& context, std::string_view key) {
  if (const json::value* v = context.if_contains(key)) return Render(*v);
  // Nested path: context.address.city -> context["address"]["city"].
  const json::object* obj = &context;
  while (true) {
    size_t dot = key.find('.');
    std::string_view head = key.substr(0, dot);
    const json::value* v = obj->if_contains(head);
    if (!v) return "";
    if (dot == std::string_view::npos) return Render(*v);
    if (!v->is_object()) return "";
    obj = &v->as_object();
    key = key.substr(dot + 1);
  }
}

std::string Lookup(std::string_view name, const TemplateValues& values) {
  if (name == "customer_name") return values.customer_name.value_or("");
  if (name.starts_with("context.")) {
    return values.context ? LookupContext(*values.context, name.substr(8)) : "";
  }
  if (values.slots) {
    if (const json::value* v = values.slots->if_contains(name)) return Render(*v);
  }
  return "";
}

}  // namespace

std::string FillTemplate(std::string_view text, const TemplateValues& values) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    Placeholder p = PlaceholderAt(text, open + 1);
    if (p.name.empty()) {
      out.push_back('{');
      i = open + 1;
      continue;
    }
    const std::string value = Lookup(p.name, values);
    if (value.empty())
      out.append(p.fallback);
    else
      out.append(value);
    i = open + 1 + p.length;
  }
  return out;
}

std::vector<std::string> TemplatePlaceholders(std::string_view text) {
  std::vector<std::string> names;
  size_t i = 0;
  while ((i = text.find('{', i)) != std::string_view::npos) {
    Placeholder p = PlaceholderAt(text, i + 1);
    if (!p.name.empty()) {
      names.emplace_back(p.name);
      i += 1 + p.length;
    } else {
      ++i;
    }
  }
  return names;
}

channel::OutboundBody FillBody(const channel::OutboundBody& body, const TemplateValues& values) {
  // Most strings of a reply have no placeholder: they keep the copy made with the body, as
  // FillTemplate would give them back unchanged, and cost no second string.
  auto fill = [&](std::string& s) {
    if (s.find('{') != std::string::npos) s = FillTemplate(s, values);
  };
  auto fill_opt = [&](std::optional<std::string>& s) {
    if (s) fill(*s);
  };
  channel::OutboundBody out = body;
  if (auto* t = std::get_if<channel::TextBody>(&out)) {
    for (auto& line : t->text) fill(line);
  } else if (auto* m = std::get_if<channel::MenuBody>(&out)) {
    fill(m->title);
    for (auto& item : m->items) {
      fill(item.text);
      fill_opt(item.image_url);
    }
  } else if (auto* c = std::get_if<channel::CarouselBody>(&out)) {
    fill_opt(c->title);
    for (auto& item : c->items) {
      fill(item.title);
      fill_opt(item.subtitle);
      fill_opt(item.image_url);
      for (auto& b : item.buttons) {
        fill(b.text);
        fill_opt(b.url);
      }
    }
  } else if (auto* l = std::get_if<channel::LinkButtonBody>(&out)) {
    fill(l->title);
    fill(l->label);
    fill(l->url);
  }
  return out;
}

std::vector<std::string> BodyTemplateStrings(const channel::OutboundBody& body) {
  std::vector<std::string> out;
  auto add_opt = [&](const std::optional<std::string>& s) {
    if (s) out.push_back(*s);
  };
  if (const auto* t = std::get_if<channel::TextBody>(&body)) {
    out.insert(out.end(), t->text.begin(), t->text.end());
  } else if (const auto* m = std::get_if<channel::MenuBody>(&body)) {
    out.push_back(m->title);
    for (const auto& item : m->items) {
      out.push_back(item.text);
      add_opt(item.image_url);
    }
  } else if (const auto* c = std::get_if<channel::CarouselBody>(&body)) {
    add_opt(c->title);
    for (const auto& item : c->items) {
      out.push_back(item.title);
      add_opt(item.subtitle);
      add_opt(item.image_url);
      for (const auto& b : item.buttons) {
        out.push_back(b.text);
        add_opt(b.url);
      }
    }
  } else if (const auto* l = std::get_if<channel::LinkButtonBody>(&body)) {
    out.push_back(l->title);
    out.push_back(l->label);
    out.push_back(l->url);
  }
  return out;
}

}  // namespace parley::bot

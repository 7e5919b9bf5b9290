#pragma once
// Reply templates: `{customer_name}`, `{slot}` and `{context.key}` filled from the turn and the
// dialog's slots. A placeholder whose value is missing renders its fallback or nothing (the
// customer never sees raw braces); any other text, including braces that do not form a
// placeholder, is kept as is.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channel/outbound.hpp"

namespace parley::bot {

// Where placeholder values come from. Pointers may be null (no slots, no context).
struct TemplateValues {
  std::optional<std::string> customer_name;
  const boost::json::object* slots = nullptr;
  const boost::json::object* context = nullptr;
};

// A placeholder is `{name}` or `{name|fallback}` where name starts with a letter or '_' and
// holds letters, digits, '_', '-' and '.', at most 64 characters; the fallback (up to 256
// characters, no braces) renders instead of a missing or empty value. `context.a.b` looks up the
// key "a.b" first, then the nested path a -> b. Strings render as they are, numbers and booleans as
// JSON; other values (null, objects, arrays) render empty.
std::string FillTemplate(std::string_view text, const TemplateValues& values);

// The placeholder names in `text`, in order of appearance (for load-time checks).
std::vector<std::string> TemplatePlaceholders(std::string_view text);

// Fills every customer-visible string of a reply body (titles, lines, item and button texts,
// labels and URLs). Payloads are kept literal: they are routing keys, not prose.
channel::OutboundBody FillBody(const channel::OutboundBody& body, const TemplateValues& values);

// Every template string of a body, for load-time checks.
std::vector<std::string> BodyTemplateStrings(const channel::OutboundBody& body);

}  // namespace parley::bot

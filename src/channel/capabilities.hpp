#pragma once
// What a connection's channel can show (a connection's `capabilities`), and how a reply it
// cannot show is sent instead: as text that still works. A menu becomes numbered lines, a
// carousel one text per card with its payload buttons numbered, a link button "label: url";
// a typing indicator is not sent. The customer answers a numbered list by its number or by the
// item's text (ChoiceFor), which the conversation layer turns into the item's postback.

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channel/outbound.hpp"
#include "core/result.hpp"

namespace parley::channel {

struct Capabilities {
  bool menu = true;
  bool carousel = true;
  bool link_button = true;
  bool typing_indicator = true;

  static Capabilities All() { return {}; }
  static Capabilities None() { return {false, false, false, false}; }
  bool operator==(const Capabilities&) const = default;
};

// The names, in this order: menu, carousel, link_button, typing_indicator.
std::vector<std::string> CapabilityNames(const Capabilities& c);
boost::json::array CapabilitiesToJson(const Capabilities& c);
// From a JSON array of those names (repeats allowed, any order; [] means plain text only).
// kInvalidArgument "invalid_capabilities" for anything else, naming the unknown value.
Result<Capabilities> CapabilitiesFromJson(const boost::json::value& v);
// The stored form: the names joined with ','; "" is none. Unknown names are ignored.
std::string CapabilitiesToText(const Capabilities& c);
Capabilities CapabilitiesFromText(std::string_view text);

// One numbered item of a list sent as text.
struct TextChoice {
  int number = 0;
  std::string text;
  std::string payload;
};

struct Adapted {
  std::vector<OutboundBody> bodies;  // what to send instead (empty: send nothing)
  std::vector<TextChoice> choices;   // the numbered items the texts offer
};

// `body` as the channel can show it. `first_number` numbers the first item (a burst of
// messages said together continues its numbering, so "2" is never ambiguous in it).
Adapted Adapt(const OutboundBody& body, const Capabilities& caps, int first_number = 1);
// The bodies only, numbered from 1.
std::vector<OutboundBody> AdaptToCapabilities(const OutboundBody& body, const Capabilities& caps);

// The choice a customer's text picks among `choices`: its number ("2", "2.", "#2") or its text
// (case and surrounding spaces aside); nullptr when none.
const TextChoice* ChoiceFor(const std::vector<TextChoice>& choices, std::string_view text);

boost::json::array ChoicesToJson(const std::vector<TextChoice>& choices);
std::vector<TextChoice> ChoicesFromJson(const boost::json::value& v);

}  // namespace parley::channel

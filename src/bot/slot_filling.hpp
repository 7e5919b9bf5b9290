#pragma once
// Slot filling for the dialog engine (dialog_bot.cpp): whether a customer's answer fits an ask
// step, and the value of an ask step found inside a longer text ("it ends 4321", "is there a
// branch in manchester?") with the words it came from. Pure functions. Internal to src/bot.

#include <optional>
#include <string>
#include <string_view>

#include "bot/definition.hpp"

namespace parley::bot::detail {

// Spaces, tabs and line ends removed from both ends (a view into `s`).
std::string_view Trim(std::string_view s);
// ASCII case aside.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Lower-case ASCII letters and digits, runs of anything else as one space, trimmed: "Never
// mind!" and "never  mind" are the same cancel word.
std::string Simplify(std::string_view s);

// A slot value found inside a customer's words, and the words it came from.
struct Found {
  std::string value;
  std::string words;
};

// The slot value for an answer as a whole (a choice, synonym, pattern match, menu item or free
// text), or nullopt when it does not fit the question.
std::optional<std::string> AcceptAnswer(const AskStep& ask, const std::string& raw);

// The value of an ask step found inside `text`: a choice, item or synonym said as whole words
// (the longest one; nothing when the text names two different values), or a span of up to
// three words the step's pattern matches. Free-text questions take nothing from inside a text.
std::optional<Found> ExtractAnswer(const AskStep& ask, std::string_view text);

}  // namespace parley::bot::detail

// Which slot patterns are safe to run (see PatternRisk).
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "bot/definition_parser.hpp"

namespace parley::bot::detail {

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

}  // namespace parley::bot::detail

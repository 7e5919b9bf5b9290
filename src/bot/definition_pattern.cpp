// Which slot patterns are safe to run (see PatternRisk).
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <optional>
#include <string>

#include "bot/definition_parser.hpp"

namespace parley::bot::detail {
namespace {

// std::regex backtracks, recursively, with no step limit, and it runs on the store's writer
// thread: one slow match stalls every conversation. So a pattern is refused unless the number
// of ways it can try to match an answer (of at most kMaxAnswerForPattern bytes) is small. The
// walk below estimates log2 of that number ("bits"):
// - a repeat (`*`, `+`, `{2,}`) of a simple part can end at any of the answer's bytes: 7 bits
//   (log2 of 128), fewer for a bounded `{m,n}`;
// - an optional part (`?`) and each doubling of alternatives (`a|b`) cost 2 bits: they double the
//   paths, and every path is walked to its end (`a?a?...a?aa...a` is exponential);
// - a pattern without a leading `^` is tried at every start of the answer: 7 more bits;
// - a repeat of a part that itself branches (`(a+)+`, `(a|ab)*`, `(a?)*`) is exponential and
//   refused outright, and so are backreferences.
// 21 bits (three unanchored-free repeats, as in an e-mail pattern) stays in the tens of
// milliseconds; the fuzz run found `[a-z]*[a-z]*[a-z]*[a-z]*[0-9]` (35 bits) taking 28 s on
// a 128-byte answer under the older rule, which only counted repeats.
constexpr int kRepeatBits = std::bit_width(kMaxAnswerForPattern) - 1;
constexpr int kBranchBits = 2;
constexpr int kMaxMatchBits = 3 * kRepeatBits;
constexpr int kBitsCap = 1 << 20;  // saturate instead of overflowing on nested fixed repeats

struct Cost {
  int bits = 0;
  bool repeats = false;     // contains a repeat
  bool alternates = false;  // contains an alternation
  bool optional = false;    // contains an optional part
  bool Branches() const { return repeats || alternates || optional; }
};

int CeilLog2(int n) { return n <= 1 ? 0 : std::bit_width(static_cast<unsigned>(n - 1)); }

class PatternWalk {
 public:
  explicit PatternWalk(std::string_view p) : p_(p) {}

  std::optional<std::string> Run() {
    Cost total = Alternation();
    if (refusal_) return refusal_;
    // A ')' without its '(' stops the walk early; the compiler reports it.
    if (i_ < p_.size()) return std::nullopt;
    if (repeating_ > kMaxRepeatingQuantifiers)
      return fmt::format("has more than {} repeating quantifiers", kMaxRepeatingQuantifiers);
    const bool anchored = !p_.empty() && p_.front() == '^' && !top_level_alternation_;
    int bits = std::min(kBitsCap, total.bits + (anchored ? 0 : kRepeatBits));
    if (bits > kMaxMatchBits)
      return fmt::format(
          "can take too long to match (about 2^{} steps on a {}-byte answer, at most 2^{} are "
          "allowed): use fewer repeats and optional parts, or anchor it with ^",
          bits, kMaxAnswerForPattern, kMaxMatchBits);
    return std::nullopt;
  }

 private:
  bool AtEnd() const { return i_ >= p_.size() || refusal_.has_value(); }

  // alternative ('|' alternative)*, up to a ')' or the end.
  Cost Alternation() {
    const bool top = depth_ == 0;
    Cost c = Sequence();
    int alternatives = 1;
    while (!AtEnd() && p_[i_] == '|') {
      ++i_;
      Cost next = Sequence();
      c.bits = std::max(c.bits, next.bits);
      c.repeats |= next.repeats;
      c.alternates |= next.alternates;
      c.optional |= next.optional;
      ++alternatives;
    }
    if (alternatives > 1) {
      c.bits = std::min(kBitsCap, c.bits + kBranchBits * CeilLog2(alternatives));
      c.alternates = true;
      if (top) top_level_alternation_ = true;
    }
    return c;
  }

  Cost Sequence() {
    Cost c;
    while (!AtEnd() && p_[i_] != '|' && p_[i_] != ')') {
      Cost part = Atom();
      while (!AtEnd() && IsQuantifierStart()) {
        if (!Quantify(part)) break;  // a literal '{'
      }
      c.bits = std::min(kBitsCap, c.bits + part.bits);
      c.repeats |= part.repeats;
      c.alternates |= part.alternates;
      c.optional |= part.optional;
    }
    return c;
  }

  bool IsQuantifierStart() const {
    char ch = p_[i_];
    return ch == '*' || ch == '+' || ch == '?' || ch == '{';
  }

  Cost Atom() {
    char ch = p_[i_];
    if (ch == '\\') {
      if (i_ + 1 < p_.size() && p_[i_ + 1] >= '1' && p_[i_ + 1] <= '9')
        refusal_ = "uses a backreference, which can make matching take exponential time";
      i_ += 2;
    } else if (ch == '[') {
      size_t j = i_ + 1;
      if (j < p_.size() && p_[j] == '^') ++j;
      while (j < p_.size() && p_[j] != ']') j += p_[j] == '\\' ? 2 : 1;
      i_ = j + 1;
    } else if (ch == '(') {
      ++i_;
      if (i_ < p_.size() && p_[i_] == '?') i_ += 2;  // (?: (?= (?!
      ++depth_;
      Cost inner = Alternation();
      --depth_;
      if (!AtEnd() && p_[i_] == ')') ++i_;  // unclosed: the compiler reports it
      return inner;
    } else if (IsQuantifierStart()) {
      ++i_;  // a quantifier with nothing to repeat: the compiler reports it
    } else {
      ++i_;
    }
    return {};
  }

  // Applies the quantifier at i_ to `part`. False (and i_ past the '{') for a '{' that is not
  // a repeat count, which the compiler then reads as it likes.
  bool Quantify(Cost& part) {
    int lo = 0, hi = 0;  // hi -1: unbounded
    if (p_[i_] == '*' || p_[i_] == '+') {
      lo = p_[i_] == '+' ? 1 : 0;
      hi = -1;
      ++i_;
    } else if (p_[i_] == '?') {
      hi = 1;
      ++i_;
    } else if (!BraceCount(lo, hi)) {
      return false;
    }
    if (refusal_) return true;
    if (i_ < p_.size() && p_[i_] == '?') ++i_;  // lazy form
    const bool repeats = hi == -1 || hi > std::max(lo, 1);
    if (repeats) {
      ++repeating_;
      if (part.repeats || part.alternates) {
        refusal_ =
            "repeats a group that itself repeats or alternates, which can make matching take "
            "exponential time";
      } else if (part.optional) {
        refusal_ =
            "repeats a group with an optional part, which can make matching take exponential "
            "time";
      }
      int span = hi == -1 ? static_cast<int>(kMaxAnswerForPattern) : hi - lo + 1;
      part.bits = std::min(kRepeatBits, CeilLog2(span));
      part.repeats = true;
      return true;
    }
    // A fixed count repeats the part's own choices that many times.
    const int times = std::max(lo, hi);
    part.bits = static_cast<int>(std::min<int64_t>(kBitsCap, int64_t{part.bits} * times));
    if (lo == 0 && hi == 1) {
      part.bits = std::min(kBitsCap, part.bits + kBranchBits);
      part.optional = true;
    }
    return true;
  }

  // Reads `{n}`, `{n,}` or `{n,m}` at i_. False for a '{' that is not a repeat count.
  bool BraceCount(int& lo, int& hi) {
    size_t close = p_.find('}', i_);
    std::string_view body = p_.substr(i_ + 1, close == std::string_view::npos ? 0 : close - i_ - 1);
    bool comma = false;
    std::string digits;
    lo = hi = -1;
    for (char c : body) {
      if (c >= '0' && c <= '9') {
        digits.push_back(c);
        if (digits.size() > 4) {
          refusal_ = "has a repeat count above " + std::to_string(kMaxBraceCount);
          return true;
        }
      } else if (c == ',' && !comma) {
        comma = true;
        lo = digits.empty() ? -1 : std::stoi(digits);
        digits.clear();
      } else {
        ++i_;
        return false;
      }
    }
    if (close == std::string_view::npos) {
      ++i_;
      return false;
    }
    i_ = close + 1;
    if (!comma) {
      lo = hi = digits.empty() ? 1 : std::stoi(digits);  // `{}`: the compiler refuses it
    } else {
      hi = digits.empty() ? -1 : std::stoi(digits);
    }
    if (lo > kMaxBraceCount || hi > kMaxBraceCount) {
      refusal_ = "has a repeat count above " + std::to_string(kMaxBraceCount);
      return true;
    }
    if (lo < 0) lo = 0;  // `{,n}`: the compiler refuses it
    return true;
  }

  std::string_view p_;
  size_t i_ = 0;
  int depth_ = 0;
  int repeating_ = 0;
  bool top_level_alternation_ = false;
  std::optional<std::string> refusal_;
};

}  // namespace

// Why a slot pattern is refused, or nullopt (see PatternWalk for the rules).
std::optional<std::string> PatternRisk(std::string_view p) {
  if (p.size() > kMaxPatternLength)
    return fmt::format("is longer than {} characters", kMaxPatternLength);
  return PatternWalk(p).Run();
}

}  // namespace parley::bot::detail

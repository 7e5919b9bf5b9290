#include "bot/slot_filling.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <utility>
#include <vector>

#include "bot/dialog_bot.hpp"

namespace parley::bot::detail {
namespace {

// Slots are looked for in at most this much of a message, and a pattern is tried on spans of at
// most kMaxSpanWords of its first kMaxSpanTokens words: a bound on the writer thread's work.
constexpr size_t kMaxFillBytes = 512;
constexpr size_t kMaxSpanWords = 3;
constexpr size_t kMaxSpanTokens = 64;

// The words of a text as written, without the punctuation around them ("4321." -> "4321").
std::vector<std::string_view> Tokens(std::string_view s) {
  std::vector<std::string_view> out;
  auto edge = [](unsigned char c) { return std::ispunct(c) && c != '#' && c != '+' && c != '@'; };
  size_t i = 0;
  while (i < s.size() && out.size() < kMaxSpanTokens) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view w = s.substr(i, j - i);
    while (!w.empty() && edge(static_cast<unsigned char>(w.front()))) w.remove_prefix(1);
    while (!w.empty() && edge(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
    if (!w.empty()) out.push_back(w);
    i = j;
  }
  return out;
}

// What an ask step's answer may be called, as (phrase, value): its choices (and the texts of the
// menu items whose payload is a choice), or for a menu question without choices its items' texts
// and payloads; and the step's synonyms. Views into `ask`.
std::vector<std::pair<std::string_view, std::string_view>> Phrases(const AskStep& ask) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  const auto* menu = std::get_if<channel::MenuBody>(&ask.question.body);
  out.reserve(ask.choices.size() + 2 * (menu ? menu->items.size() : 0) + ask.synonyms.size());
  if (!ask.choices.empty()) {
    for (const auto& c : ask.choices) out.emplace_back(c, c);
    if (menu) {
      for (const auto& item : menu->items) {
        if (std::find(ask.choices.begin(), ask.choices.end(), item.payload) != ask.choices.end())
          out.emplace_back(item.text, item.payload);
      }
    }
  } else if (menu && !ask.pattern) {
    for (const auto& item : menu->items) {
      out.emplace_back(item.text, item.payload);
      out.emplace_back(item.payload, item.payload);
    }
  }
  for (const auto& [word, value] : ask.synonyms) out.emplace_back(word, value);
  return out;
}

// Whether `words` (simplified, not empty) is whole words of `text` (simplified): "one" in "just
// one", not in "phone".
bool HasWords(std::string_view text, std::string_view words) {
  for (size_t at = text.find(words); at != std::string_view::npos; at = text.find(words, at + 1)) {
    const size_t end = at + words.size();
    if ((at == 0 || text[at - 1] == ' ') && (end == text.size() || text[end] == ' ')) return true;
  }
  return false;
}

}  // namespace

std::string_view Trim(std::string_view s) {
  auto space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string Simplify(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c >= 0x80) {
      out.push_back(static_cast<char>(std::tolower(c)));
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::optional<std::string> AcceptAnswer(const AskStep& ask, const std::string& raw) {
  const std::string_view answer = Trim(raw);
  if (answer.empty()) return std::nullopt;
  for (const auto& [word, value] : ask.synonyms) {
    if (EqualsIgnoreCase(Trim(word), answer)) return value;
  }
  if (!ask.choices.empty()) {
    for (const auto& c : ask.choices) {
      if (EqualsIgnoreCase(c, answer)) return c;
    }
    return std::nullopt;
  }
  if (ask.pattern) {
    if (answer.size() > kMaxAnswerForPattern) return std::nullopt;
    try {
      std::match_results<std::string_view::const_iterator> m;
      if (!std::regex_search(answer.begin(), answer.end(), m, *ask.pattern->regex))
        return std::nullopt;
      // An unanchored pattern keeps the part that matched ("ends in 1234" -> "1234").
      return m.length(0) > 0 ? m.str(0) : std::string(answer);
    } catch (const std::regex_error&) {
      return std::nullopt;  // complexity or stack limit of the engine
    }
  }
  if (const auto* menu = std::get_if<channel::MenuBody>(&ask.question.body)) {
    for (const auto& item : menu->items) {
      if (item.payload == answer || EqualsIgnoreCase(item.text, answer)) return item.payload;
    }
    return std::nullopt;
  }
  if (answer.size() > kMaxSlotValueBytes) return std::nullopt;
  return std::string(answer);
}

std::optional<Found> ExtractAnswer(const AskStep& ask, std::string_view text) {
  if (text.empty() || text.size() > kMaxFillBytes) return std::nullopt;
  auto phrases = Phrases(ask);
  if (!phrases.empty()) {
    const std::string said = Simplify(text);
    std::optional<Found> best;
    bool ambiguous = false;
    for (const auto& [phrase, value] : phrases) {
      const std::string needle = Simplify(phrase);
      if (needle.empty() || !HasWords(said, needle)) continue;
      if (!best) {
        best = Found{std::string(value), needle};
      } else if (best->value != value) {
        // "current account" inside "current account or savings": two answers, so neither.
        if (best->words.find(needle) != std::string::npos) continue;
        if (needle.find(best->words) != std::string::npos) {
          best = Found{std::string(value), needle};
          continue;
        }
        ambiguous = true;
      } else if (needle.size() > best->words.size()) {
        best->words = needle;
      }
    }
    if (ambiguous) return std::nullopt;
    return best;
  }
  if (!ask.pattern) return std::nullopt;
  const std::vector<std::string_view> tokens = Tokens(text);
  std::string span;
  for (size_t len = 1; len <= kMaxSpanWords; ++len) {
    for (size_t start = 0; start + len <= tokens.size(); ++start) {
      span.assign(tokens[start]);
      for (size_t k = 1; k < len; ++k) {
        span += ' ';
        span += tokens[start + k];
      }
      if (span.size() > kMaxAnswerForPattern) continue;
      try {
        std::smatch m;
        if (std::regex_search(span, m, *ask.pattern->regex) && m.length(0) > 0)
          return Found{m.str(0), span};
      } catch (const std::regex_error&) {
        return std::nullopt;  // complexity or stack limit of the engine
      }
    }
  }
  return std::nullopt;
}

}  // namespace parley::bot::detail

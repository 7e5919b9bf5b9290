#include "bot/intent_vocabulary.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "bot/intent_features.hpp"
#include "bot/intent_model.hpp"

namespace parley::bot::detail {
namespace {

// Whether a and b are at most `max` edits apart (insertions, deletions, substitutions and swaps
// of neighbours: the optimal string alignment distance). Words longer than 32 bytes never are.
bool WithinEdits(std::string_view a, std::string_view b, size_t max) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > max || n > 32 || m > 32) return false;
  // Rows i - 2, i - 1 and i of the distance table, at i % 3: 792 bytes of stack instead of
  // the whole table's 8.7 KB, for each known word a near miss is looked for in.
  size_t rows[3][33];
  for (size_t j = 0; j <= m; ++j) rows[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    size_t* d = rows[i % 3];
    const size_t* up = rows[(i - 1) % 3];
    const size_t* up2 = rows[(i + 1) % 3];  // row i - 2
    d[0] = i;
    size_t row_min = d[0];
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[j] = std::min({up[j] + 1, d[j - 1] + 1, up[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[j] = std::min(d[j], up2[j - 2] + 1);
      row_min = std::min(row_min, d[j]);
    }
    if (row_min > max) return false;
  }
  return rows[n % 3][m] <= max;
}

bool IsNumber(std::string_view w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether one word is the other with at most `suffix` bytes added at its end, the shorter one
// at least 4 bytes long ("fast" and "faster"; not "car" and "card").
bool SameStem(std::string_view a, std::string_view b, size_t suffix) {
  if (a.size() > b.size()) std::swap(a, b);
  return a.size() >= 4 && b.size() - a.size() <= suffix && b.substr(0, a.size()) == a;
}

}  // namespace

Vocabulary::Vocabulary(const std::vector<IntentExample>& examples, int stem_suffix,
                       bool numbers_neutral)
    : stem_suffix_(std::max(stem_suffix, 0)), numbers_neutral_(numbers_neutral) {
  for (const auto& e : examples) {
    const std::string norm = NormalizeIntentText(e.text);
    for (std::string_view w : Words(norm, std::numeric_limits<size_t>::max())) {
      words_.emplace_back(w);
      has_numbers_ = has_numbers_ || IsNumber(w);
    }
  }
  std::sort(words_.begin(), words_.end());
  words_.erase(std::unique(words_.begin(), words_.end()), words_.end());
}

bool Vocabulary::Gibberish(std::string_view text, double share) const {
  return NormalizedGibberish(NormalizeIntentText(text), share);
}

bool Vocabulary::NormalizedGibberish(std::string_view norm, double share) const {
  // Its first kMaxWords words, without the numbers when they are neutral.
  std::array<std::string_view, kMaxWords> words;
  size_t count = 0;
  bool only_numbers = true;
  ForEachWord(norm, [&](std::string_view w) {
    words[count++] = w;
    only_numbers = only_numbers && IsNumber(w);
    return count < kMaxWords;
  });
  if (numbers_neutral_ && has_numbers_ && !only_numbers) {
    const auto kept = std::remove_if(words.begin(), words.begin() + count, IsNumber);
    count = static_cast<size_t>(kept - words.begin());
  }
  if (count == 0) return false;
  // Exact look-ups first: most texts share a content word with the examples, or have too
  // few unknown words, and never pay for the near-miss scan. The unseen words are moved to
  // the front.
  size_t unseen = 0;
  for (size_t i = 0; i < count; ++i) {
    const std::string_view w = words[i];
    if (!std::binary_search(words_.begin(), words_.end(), w))
      words[unseen++] = w;
    else if (!IsFunctionWord(w))
      return false;  // shares a word that means something with the examples
  }
  const double limit = share * static_cast<double>(count);
  if (static_cast<double>(unseen) <= limit) return false;
  size_t unknown = 0;
  for (size_t i = 0; i < unseen; ++i) {
    if (!NearMiss(words[i]))
      ++unknown;
    else if (!IsFunctionWord(words[i]))
      return false;  // a misspelt content word ("crad")
  }
  return static_cast<double>(unknown) > limit;
}

bool Vocabulary::NearMiss(std::string_view w) const {
  const size_t edits = w.size() >= 8 ? 2 : w.size() >= 4 ? 1 : 0;
  if (edits == 0 && (stem_suffix_ == 0 || w.size() < 4)) return false;
  const auto suffix = static_cast<size_t>(stem_suffix_);
  for (const auto& known : words_) {
    if (suffix > 0 && SameStem(w, known, suffix)) return true;
    if (edits > 0 && known.size() >= 4 && WithinEdits(w, known, edits)) return true;
  }
  return false;
}

}  // namespace parley::bot::detail

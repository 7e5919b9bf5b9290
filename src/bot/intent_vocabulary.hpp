#pragma once
// The gibberish gate of the intent classifier (issue 18): the words of a bot's examples, and
// whether a text is made mostly of words the bot never saw. Internal to src/bot.

#include <string>
#include <string_view>
#include <vector>

#include "bot/intent_classifier.hpp"

namespace parley::bot::detail {

// The words of a bot's examples, to tell gibberish ("vrop klesh dwimmer", "asdfgh") from new
// phrasings: a word is known when an example has it or it is a near miss of one ("crad").
class Vocabulary {
 public:
  Vocabulary() = default;
  // `stem_suffix` and `numbers_neutral`: IntentModelConfig's unknown_stem_suffix and
  // unknown_numbers_neutral.
  Vocabulary(const std::vector<IntentExample>& examples, int stem_suffix, bool numbers_neutral);

  // Whether the text is gibberish to the bot: more than `share` of its words (its first 64)
  // are neither known nor a near miss or another form of a known word, and none of its known
  // words says anything ("the", "my": function words), so it is close to no example. A text
  // without words is not (the content factor already gives it 0). Numbers count as no word
  // at all when the examples have numbers too, unless the text is only numbers.
  bool Gibberish(std::string_view text, double share) const;
  // The same, of text already normalised (NormalizeIntentText): a query normalises once.
  bool NormalizedGibberish(std::string_view norm, double share) const;

 private:
  static constexpr size_t kMaxWords = 64;  // the words of a text looked at

  // One edit from a known word of 4 bytes or more for words of 4 to 7 bytes, two from 8; or
  // another form of one (at most stem_suffix_ bytes added to or taken from its end, the
  // shorter word at least 4 bytes long).
  bool NearMiss(std::string_view w) const;

  std::vector<std::string> words_;  // sorted, unique
  int stem_suffix_ = 0;
  bool numbers_neutral_ = false;
  bool has_numbers_ = false;  // an example has a word made of digits only
};

}  // namespace parley::bot::detail

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
  explicit Vocabulary(const std::vector<IntentExample>& examples);

  // Whether the text is gibberish to the bot: more than `share` of its words (its first 64)
  // are neither known nor a near miss of a known word, and none of its known words says
  // anything ("the", "my": function words), so it is close to no example. A text without
  // words is not (the content factor already gives it 0).
  bool Gibberish(std::string_view text, double share) const;

 private:
  // One edit from a known word of 4 bytes or more for words of 4 to 7 bytes, two from 8.
  bool NearMiss(std::string_view w) const;

  std::vector<std::string> words_;  // sorted, unique
};

}  // namespace parley::bot::detail

#pragma once
// Internals of the intent classifier, exposed so that the evaluator, tests and tuning drivers
// can train with non-default hyper-parameters. Product code calls IntentClassifier::Train.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bot/intent_classifier.hpp"

namespace parley::bot::detail {

// Hyper-parameters. The defaults are what measured best on CLINC150 train/val (see
// docs/intent-classifier.md); they also behave sensibly on a bot's handful of examples.
struct IntentModelConfig {
  bool word_unigrams = true;
  bool word_bigrams = true;
  int char_min = 2;          // character n-grams (bytes) of "<word>", lengths char_min..char_max;
  int char_max = 5;          // char_max < char_min turns them off
  double word_weight = 1.0;  // relative weight of the word block against the character block
  double small_set_word_weight = 0.8;  // ...for sets of at most small_set examples (bots)
  double char_weight = 1.0;
  int min_df = 2;             // features seen in fewer training examples are dropped...
  size_t min_df_from = 2000;  // ...when there are at least this many examples
  double svm_c = 4.0;         // cost of the one-vs-rest L2-loss linear SVMs
  double bias = 1.0;          // value of the constant feature
  double eps = 0.1;           // stopping tolerance of dual coordinate descent
  int max_epochs = 200;
  // Calibration: the temperature of the softmax over the SVM scores is fitted on held-out
  // examples (one stratified fold in `calibration_folds`, or all folds for small sets).
  int calibration_folds = 5;
  // Epochs of the held-out models: the temperature needs roughly right scores, not the optimum
  // (on CLINC150 val, 3 epochs gave the same fit and figures as full convergence). The last
  // one warm-starts the final model, so little of its work is lost.
  int calibration_epochs = 5;  // (small sets: max_epochs, they are cheap)
  size_t small_set = 2000;     // at or below this many examples, every fold is held out once
  // Add a fixed logit 0 ("none of the intents") to the softmax. Off: it made confidences
  // under-confident on CLINC150 val (mean 0.84 at 93.7 % accuracy, against 0.95 without).
  bool null_logit = false;
  // Novelty: the confidence is the calibrated probability times
  // min(1, s / typical)^novelty_power * min(1, c / typical_c)^novelty_content_power, where s
  // is the cosine of the text to the nearest example of the intent, c the same between
  // content vectors (function words left out), and typical, typical_c the medians of those
  // cosines for held-out examples (the calibration folds). novelty_power 0 turns it off; it is
  // off for a model with an oos class. See docs/intent-classifier.md for the choice.
  double novelty_power = 0.25;
  double novelty_content_power = 0.3;
  // A text of at least this many words, all function words ("what can you do for me"), has no
  // content factor: it names no subject to compare. Shorter ones ("a", "how do i") keep it,
  // and with it a confidence of 0. 0 turns the exemption off.
  size_t no_subject_min_words = 4;
  // Unknown words: a text more than `unknown_share` of whose words are in no example, and not
  // a near miss of a word that is (one edit for words of 4 to 7 bytes, two from 8: "crad" is
  // "card"; or another form of it, below), is gibberish to the bot (invented words, mashing,
  // digits, emoji, another script): its confidence is multiplied by `unknown_factor`, so it stays
  // below 0.1 whatever a bot's threshold. Part of the novelty factor (off with it). unknown_share 1
  // turns it off.
  double unknown_share = 0.5;
  double unknown_factor = 0.09;
  // A word is also known when it is a known word of at least 4 bytes with at most this many
  // bytes added at the end, or the other way round ("faster" and "fast", "speak" and
  // "speaker"): another form of a word the bot was taught. 0 turns it off.
  int unknown_stem_suffix = 3;
  // When the examples have numbers, the numbers in a text with other words are neither known
  // nor unknown words ("what is 1100 minus 2347" to a calculator taught other numbers); a text
  // of numbers only is still gibberish. False counts them as unknown words.
  bool unknown_numbers_neutral = true;
  uint64_t seed = 0x5eed;
  unsigned threads = 2;  // training threads (the classes are independent)
};

// Lower-cases ASCII letters, drops apostrophes, turns other ASCII punctuation and control
// characters into spaces and keeps every byte >= 0x80 as part of a word (so any UTF-8, valid
// or not, survives). Bounded: input beyond kMaxInputBytes is ignored.
inline constexpr size_t kMaxInputBytes = 16 * 1024;
std::string NormalizeIntentText(std::string_view text);

Result<std::shared_ptr<const IntentClassifier>> TrainIntentModel(
    const std::vector<IntentExample>& examples, const IntentTrainOptions& options,
    const IntentModelConfig& config);

// The model's typical held-out similarity (0 for a model not made by TrainIntentModel).
double TypicalSimilarity(const IntentClassifier& model);
// The same between content vectors (function words left out).
double TypicalContentSimilarity(const IntentClassifier& model);

}  // namespace parley::bot::detail

#pragma once
// The intent classifier's view of a text (intent_classifier.cpp): words, hashed word and
// character n-gram features, and the TF-IDF feature space learnt from the training examples,
// shared by training and prediction. Internal to src/bot.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bot/intent_classifier.hpp"
#include "bot/intent_model.hpp"

namespace parley::bot::detail {

// A 64-bit finaliser (MurmurHash3's): feature hashing, and the per-intent training seeds.
uint64_t Mix(uint64_t h);

// Whether a normalised word is one of about a hundred English function words ("how", "do",
// "i", "the"), which say nothing about a text's subject.
bool IsFunctionWord(std::string_view w);

// Calls `f` with each word of normalised text (NormalizeIntentText), in order, while it returns
// true.
template <class F>
void ForEachWord(std::string_view norm, F&& f) {
  size_t pos = 0;
  while (pos < norm.size()) {
    size_t end = norm.find(' ', pos);
    if (end == std::string_view::npos) end = norm.size();
    if (end > pos && !f(norm.substr(pos, end - pos))) return;
    pos = end + 1;
  }
}

// The words of normalised text (NormalizeIntentText), at most `max` of them.
std::vector<std::string_view> Words(std::string_view norm, size_t max);

// Whether a text (not normalised) has at least `min_words` words (and at least one) and all of
// them are function words ("what can you do for me"): its content vector is empty because it
// names no subject, not because it is far from the examples.
bool OnlyFunctionWords(std::string_view text, size_t min_words);
// The same, of text already normalised (NormalizeIntentText): a query normalises once.
bool NormalizedOnlyFunctionWords(std::string_view norm, size_t min_words);

struct SparseEntry {
  uint32_t index;
  float value;
};

// The features seen in training, with their idf, shared by training and prediction so both
// see the same vectors.
class FeatureSpace {
 public:
  FeatureSpace(IntentModelConfig config, std::unordered_map<uint64_t, uint32_t> index,
               std::vector<float> idf)
      : config_(std::move(config)), index_(std::move(index)), idf_(std::move(idf)) {}

  size_t size() const { return idf_.size(); }

  // Sublinear tf times idf, each block L2-normalised and weighted, then the whole vector
  // L2-normalised. Unknown features are dropped.
  void Vectorize(std::string_view text, std::vector<SparseEntry>& out,
                 bool content_only = false) const;
  // The same, of text already normalised (NormalizeIntentText), with `keys` a buffer for the
  // hashed features that a caller vectorizing more than once reuses.
  void VectorizeNormalized(std::string_view norm, std::vector<uint64_t>& keys,
                           std::vector<SparseEntry>& out, bool content_only = false) const;

 private:
  IntentModelConfig config_;
  std::unordered_map<uint64_t, uint32_t> index_;
  std::vector<float> idf_;
};

FeatureSpace BuildFeatureSpace(const std::vector<IntentExample>& examples,
                               const IntentModelConfig& config);

}  // namespace parley::bot::detail

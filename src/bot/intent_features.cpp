#include "bot/intent_features.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace parley::bot::detail {
namespace {

constexpr int kWordBlock = 0;
constexpr int kCharBlock = 1;
constexpr int kBlocks = 2;
constexpr int kBlockShift = 62;

// FNV-1a over the bytes added, then a finaliser; the top bits carry the feature block so that
// the block of a dictionary entry is known from its key. Fed piece by piece, so that a bigram or
// a padded n-gram is hashed without being built.
class FeatureHash {
 public:
  explicit FeatureHash(uint64_t seed) : h_(0xcbf29ce484222325ULL ^ seed) {}
  void Add(unsigned char ch) {
    h_ ^= ch;
    h_ *= 0x100000001b3ULL;
  }
  void Add(std::string_view bytes) {
    for (unsigned char ch : bytes) Add(ch);
  }
  uint64_t Key(int block) const {
    const uint64_t h = Mix(h_);
    return (h & ~(uint64_t{3} << kBlockShift)) | (static_cast<uint64_t>(block) << kBlockShift);
  }

 private:
  uint64_t h_;
};

int BlockOf(uint64_t key) { return static_cast<int>(key >> kBlockShift); }

constexpr uint64_t kUnigramSeed = 0x1;
constexpr uint64_t kBigramSeed = 0x2;
constexpr uint64_t kCharSeed = 0x3;

// Appends the hashed features of normalised text (with repeats, which become the counts) in no
// particular order; with `content_only`, of its words other than function words.
void ExtractKeys(std::string_view norm, const IntentModelConfig& config, std::vector<uint64_t>& out,
                 bool content_only = false) {
  out.clear();
  // At most five keys a byte (a word of n bytes and its space give a unigram, a bigram and
  // 4n - 2 n-grams), so the vector is allocated once, not at each of a dozen growths.
  out.reserve(5 * norm.size() + 8);
  const bool chars = config.char_max >= config.char_min && config.char_min > 0;
  std::string_view previous;  // the word before, for bigrams
  ForEachWord(norm, [&](std::string_view w) {
    if (content_only && IsFunctionWord(w)) return true;
    if (config.word_unigrams) {
      FeatureHash h(kUnigramSeed);
      h.Add(w);
      out.push_back(h.Key(kWordBlock));
    }
    if (config.word_bigrams && !previous.empty()) {
      FeatureHash h(kBigramSeed);
      h.Add(previous);
      h.Add(' ');
      h.Add(w);
      out.push_back(h.Key(kWordBlock));
    }
    previous = w;
    if (!chars) return true;
    // The n-grams of "<w>": byte p of the padded word is '<', w[p - 1] or '>'.
    const size_t padded = w.size() + 2;
    for (int n = config.char_min; n <= config.char_max; ++n) {
      const size_t len = static_cast<size_t>(n);
      if (len > padded) break;
      for (size_t start = 0; start + len <= padded; ++start) {
        FeatureHash h(kCharSeed + len);
        for (size_t p = start; p < start + len; ++p)
          h.Add(p == 0 ? '<' : p == padded - 1 ? '>' : static_cast<unsigned char>(w[p - 1]));
        out.push_back(h.Key(kCharBlock));
      }
    }
    return true;
  });
}

}  // namespace

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

// English function words (normalised: lower case, no apostrophes), written for Parley. With a
// bot's handful of examples, TF-IDF cannot tell that "how do i" says nothing about the
// subject, so the novelty similarity leaves these words out ("how do i bake bread" is not
// like "how much money do i have").
bool IsFunctionWord(std::string_view w) {
  static constexpr std::string_view kWords[] = {
      "a",     "about", "am",    "an",    "and",  "any",    "are",   "as",     "at",    "be",
      "been",  "but",   "by",    "can",   "cant", "could",  "did",   "do",     "does",  "dont",
      "for",   "from",  "get",   "got",   "had",  "has",    "have",  "he",     "her",   "here",
      "him",   "his",   "how",   "i",     "id",   "if",     "im",    "in",     "into",  "is",
      "it",    "its",   "ive",   "just",  "like", "me",     "might", "my",     "need",  "no",
      "not",   "of",    "on",    "or",    "our",  "please", "she",   "should", "so",    "some",
      "tell",  "than",  "that",  "thats", "the",  "their",  "them",  "then",   "there", "these",
      "they",  "this",  "to",    "up",    "us",   "want",   "was",   "we",     "were",  "what",
      "whats", "when",  "where", "which", "who",  "why",    "will",  "with",   "would", "you",
      "your",  "youre", "yours",
  };
  for (std::string_view k : kWords) {
    if (k == w) return true;
  }
  return false;
}

// The words of normalised text, at most `max` of them.
std::vector<std::string_view> Words(std::string_view norm, size_t max) {
  std::vector<std::string_view> words;
  if (max == 0) return words;
  ForEachWord(norm, [&](std::string_view w) {
    words.push_back(w);
    return words.size() < max;
  });
  return words;
}

bool OnlyFunctionWords(std::string_view text, size_t min_words) {
  return NormalizedOnlyFunctionWords(NormalizeIntentText(text), min_words);
}

bool NormalizedOnlyFunctionWords(std::string_view norm, size_t min_words) {
  size_t words = 0;
  bool all = true;
  ForEachWord(norm, [&](std::string_view w) {
    ++words;
    all = IsFunctionWord(w);
    return all;
  });
  return all && words > 0 && words >= min_words;
}

void FeatureSpace::Vectorize(std::string_view text, std::vector<SparseEntry>& out,
                             bool content_only) const {
  std::vector<uint64_t> keys;
  VectorizeNormalized(NormalizeIntentText(text), keys, out, content_only);
}

void FeatureSpace::VectorizeNormalized(std::string_view norm, std::vector<uint64_t>& keys,
                                       std::vector<SparseEntry>& out, bool content_only) const {
  out.clear();
  ExtractKeys(norm, config_, keys, content_only);
  std::sort(keys.begin(), keys.end());
  out.reserve(keys.size());
  // Each run of equal keys is one feature and its count. The block is in a key's top bits, so
  // the sorted keys, and the entries made from them, hold the word block before the character
  // block.
  double block_sq[kBlocks] = {0.0, 0.0};
  size_t word_entries = 0;
  for (size_t i = 0; i < keys.size();) {
    size_t j = i + 1;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    const auto it = index_.find(keys[i]);
    if (it != index_.end()) {
      double v = (1.0 + std::log(static_cast<double>(j - i))) * idf_[it->second];
      const int block = BlockOf(keys[i]);
      block_sq[block] += v * v;
      out.push_back({it->second, static_cast<float>(v)});
      if (block == kWordBlock) ++word_entries;
    }
    i = j;
  }
  const double block_weight[kBlocks] = {config_.word_weight, config_.char_weight};
  double scale[kBlocks];
  for (int b = 0; b < kBlocks; ++b) {
    scale[b] = block_sq[b] > 0.0 ? block_weight[b] / std::sqrt(block_sq[b]) : 0.0;
  }
  double total = 0.0;
  for (size_t i = 0; i < out.size(); ++i) {
    double v = out[i].value * scale[i < word_entries ? kWordBlock : kCharBlock];
    out[i].value = static_cast<float>(v);
    total += v * v;
  }
  if (total > 0.0) {
    const double inv = 1.0 / std::sqrt(total);
    for (auto& e : out) e.value = static_cast<float>(e.value * inv);
  }
  std::erase_if(out, [](const SparseEntry& e) { return e.value == 0.0f; });
  std::sort(out.begin(), out.end(),
            [](const SparseEntry& a, const SparseEntry& b) { return a.index < b.index; });
}

FeatureSpace BuildFeatureSpace(const std::vector<IntentExample>& examples,
                               const IntentModelConfig& config) {
  std::unordered_map<uint64_t, uint32_t> df;
  std::vector<uint64_t> keys;
  for (const auto& example : examples) {
    ExtractKeys(NormalizeIntentText(example.text), config, keys);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (uint64_t key : keys) ++df[key];
  }
  // A feature seen once in a large set mostly memorises that example; in a bot's handful of
  // examples it may be all there is.
  const auto min_df =
      static_cast<uint32_t>(examples.size() >= config.min_df_from ? std::max(config.min_df, 1) : 1);
  std::vector<std::pair<uint64_t, uint32_t>> kept;
  for (const auto& entry : df) {
    if (entry.second >= min_df) kept.push_back(entry);
  }
  // Frequent features first, so the weights most rows touch share cache lines; ties by key,
  // so the order does not depend on hash-map iteration.
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::unordered_map<uint64_t, uint32_t> index;
  index.reserve(kept.size());
  std::vector<float> idf(kept.size());
  const double n = static_cast<double>(examples.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    index.emplace(kept[i].first, static_cast<uint32_t>(i));
    idf[i] = static_cast<float>(std::log((1.0 + n) / (1.0 + kept[i].second)) + 1.0);
  }
  return FeatureSpace(config, std::move(index), std::move(idf));
}

std::string NormalizeIntentText(std::string_view text) {
  text = text.substr(0, std::min(text.size(), kMaxInputBytes));
  std::string out;
  out.reserve(text.size());
  auto space = [&out] {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const auto ch = static_cast<unsigned char>(text[i]);
    if (ch >= 'A' && ch <= 'Z') {
      out.push_back(static_cast<char>(ch - 'A' + 'a'));
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
      out.push_back(static_cast<char>(ch));
    } else if (ch == '\'') {
      // "what's" and "whats" are the same word to a customer.
    } else if (ch < 0x80) {
      space();
    } else if (ch == 0xE2 && i + 2 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               static_cast<unsigned char>(text[i + 2]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 2]) <= 0xBF) {
      // U+2000..U+203F: typographic spaces, dashes, quotes; U+2018/U+2019 are apostrophes.
      const auto third = static_cast<unsigned char>(text[i + 2]);
      if (third != 0x98 && third != 0x99) space();
      i += 2;
    } else if (ch == 0xC2 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) == 0xA0 ||
                static_cast<unsigned char>(text[i + 1]) == 0xA1 ||
                static_cast<unsigned char>(text[i + 1]) == 0xBF)) {
      space();  // no-break space, inverted exclamation and question marks
      i += 1;
    } else {
      out.push_back(static_cast<char>(ch));  // any other byte, valid UTF-8 or not
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace parley::bot::detail

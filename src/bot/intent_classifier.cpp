#include "bot/intent_classifier.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <unordered_map>
#include <utility>

#include "bot/intent_model.hpp"

namespace parley::bot {
namespace detail {
namespace {

// splitmix64: a small, fully specified generator, so shuffles are the same on every
// standard library (std::shuffle's algorithm is not specified).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

template <class T>
void Shuffle(std::vector<T>& v, size_t n, Rng& rng) {
  for (size_t i = n; i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
}

constexpr int kWordBlock = 0;
constexpr int kCharBlock = 1;
constexpr int kBlocks = 2;
constexpr int kBlockShift = 62;

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

// FNV-1a, then a finaliser; the top bits carry the feature block so that the block of a
// dictionary entry is known from its key.
uint64_t HashBytes(uint64_t seed, std::string_view bytes, int block) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char ch : bytes) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  h = Mix(h);
  return (h & ~(uint64_t{3} << kBlockShift)) | (static_cast<uint64_t>(block) << kBlockShift);
}

int BlockOf(uint64_t key) { return static_cast<int>(key >> kBlockShift); }

constexpr uint64_t kUnigramSeed = 0x1;
constexpr uint64_t kBigramSeed = 0x2;
constexpr uint64_t kCharSeed = 0x3;

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

// Appends the hashed features of normalised text (with repeats, which become the counts);
// with `content_only`, of its words other than function words.
void ExtractKeys(std::string_view norm, const IntentModelConfig& config, std::vector<uint64_t>& out,
                 bool content_only = false) {
  out.clear();
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < norm.size()) {
    size_t end = norm.find(' ', pos);
    if (end == std::string_view::npos) end = norm.size();
    if (end > pos) {
      std::string_view w = norm.substr(pos, end - pos);
      if (!content_only || !IsFunctionWord(w)) words.push_back(w);
    }
    pos = end + 1;
  }
  std::string buffer;
  for (size_t i = 0; i < words.size(); ++i) {
    if (config.word_unigrams) out.push_back(HashBytes(kUnigramSeed, words[i], kWordBlock));
    if (config.word_bigrams && i + 1 < words.size()) {
      buffer.assign(words[i]);
      buffer.push_back(' ');
      buffer.append(words[i + 1]);
      out.push_back(HashBytes(kBigramSeed, buffer, kWordBlock));
    }
    if (config.char_max >= config.char_min && config.char_min > 0) {
      buffer.assign("<");
      buffer.append(words[i]);
      buffer.push_back('>');
      std::string_view padded(buffer);
      for (int n = config.char_min; n <= config.char_max; ++n) {
        const size_t len = static_cast<size_t>(n);
        if (len > padded.size()) break;
        for (size_t start = 0; start + len <= padded.size(); ++start) {
          out.push_back(HashBytes(kCharSeed + len, padded.substr(start, len), kCharBlock));
        }
      }
    }
  }
}

// Sorted (key, count) runs of a key list.
void CountKeys(std::vector<uint64_t>& keys, std::vector<std::pair<uint64_t, uint32_t>>& out) {
  out.clear();
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < keys.size();) {
    size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    out.emplace_back(keys[i], static_cast<uint32_t>(j - i));
    i = j;
  }
}

struct SparseEntry {
  uint32_t index;
  float value;
};

// The words of normalised text, at most `max` of them.
std::vector<std::string_view> Words(std::string_view norm, size_t max) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < norm.size() && words.size() < max) {
    size_t end = norm.find(' ', pos);
    if (end == std::string_view::npos) end = norm.size();
    if (end > pos) words.push_back(norm.substr(pos, end - pos));
    pos = end + 1;
  }
  return words;
}

// Whether a and b are at most `max` edits apart (insertions, deletions, substitutions and swaps
// of neighbours: the optimal string alignment distance). Words longer than 32 bytes never are.
bool WithinEdits(std::string_view a, std::string_view b, size_t max) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > max || n > 32 || m > 32) return false;
  size_t d[33][33];
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    size_t row_min = d[i][0];
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      row_min = std::min(row_min, d[i][j]);
    }
    if (row_min > max) return false;
  }
  return d[n][m] <= max;
}

// The words of a bot's examples, to tell gibberish ("vrop klesh dwimmer", "asdfgh") from new
// phrasings: a word is known when an example has it or it is a near miss of one ("crad").
class Vocabulary {
 public:
  Vocabulary() = default;
  explicit Vocabulary(const std::vector<IntentExample>& examples) {
    for (const auto& e : examples) {
      const std::string norm = NormalizeIntentText(e.text);
      for (std::string_view w : Words(norm, std::numeric_limits<size_t>::max()))
        words_.emplace_back(w);
    }
    std::sort(words_.begin(), words_.end());
    words_.erase(std::unique(words_.begin(), words_.end()), words_.end());
  }

  // Whether the text is gibberish to the bot: more than `share` of its words (its first 64)
  // are neither known nor a near miss of a known word, and none of its known words says
  // anything ("the", "my": function words), so it is close to no example. A text without
  // words is not (the content factor already gives it 0).
  bool Gibberish(std::string_view text, double share) const {
    const std::string norm = NormalizeIntentText(text);
    const std::vector<std::string_view> words = Words(norm, 64);
    if (words.empty()) return false;
    // Exact look-ups first: most texts share a content word with the examples, or have too
    // few unknown words, and never pay for the near-miss scan.
    std::vector<std::string_view> unseen;
    for (std::string_view w : words) {
      if (!std::binary_search(words_.begin(), words_.end(), w))
        unseen.push_back(w);
      else if (!IsFunctionWord(w))
        return false;  // shares a word that means something with the examples
    }
    const double limit = share * static_cast<double>(words.size());
    if (static_cast<double>(unseen.size()) <= limit) return false;
    size_t unknown = 0;
    for (std::string_view w : unseen) {
      if (!NearMiss(w))
        ++unknown;
      else if (!IsFunctionWord(w))
        return false;  // a misspelt content word ("crad")
    }
    return static_cast<double>(unknown) > limit;
  }

 private:
  // One edit from a known word of 4 bytes or more for words of 4 to 7 bytes, two from 8.
  bool NearMiss(std::string_view w) const {
    const size_t edits = w.size() >= 8 ? 2 : w.size() >= 4 ? 1 : 0;
    if (edits == 0) return false;
    for (const auto& known : words_) {
      if (known.size() >= 4 && WithinEdits(w, known, edits)) return true;
    }
    return false;
  }

  std::vector<std::string> words_;
};

// The vocabulary with its idf, shared by training and prediction so both see the same vectors.
class FeatureSpace {
 public:
  FeatureSpace(IntentModelConfig config, std::unordered_map<uint64_t, uint32_t> index,
               std::vector<float> idf)
      : config_(std::move(config)), index_(std::move(index)), idf_(std::move(idf)) {}

  size_t size() const { return idf_.size(); }

  // Sublinear tf times idf, each block L2-normalised and weighted, then the whole vector
  // L2-normalised. Unknown features are dropped.
  void Vectorize(std::string_view text, std::vector<SparseEntry>& out,
                 bool content_only = false) const {
    out.clear();
    std::string norm = NormalizeIntentText(text);
    std::vector<uint64_t> keys;
    ExtractKeys(norm, config_, keys, content_only);
    std::vector<std::pair<uint64_t, uint32_t>> counts;
    CountKeys(keys, counts);
    std::vector<int> blocks;
    double block_sq[kBlocks] = {0.0, 0.0};
    for (const auto& [key, count] : counts) {
      auto it = index_.find(key);
      if (it == index_.end()) continue;
      double v = (1.0 + std::log(static_cast<double>(count))) * idf_[it->second];
      int block = BlockOf(key);
      block_sq[block] += v * v;
      out.push_back({it->second, static_cast<float>(v)});
      blocks.push_back(block);
    }
    const double block_weight[kBlocks] = {config_.word_weight, config_.char_weight};
    double scale[kBlocks];
    for (int b = 0; b < kBlocks; ++b) {
      scale[b] = block_sq[b] > 0.0 ? block_weight[b] / std::sqrt(block_sq[b]) : 0.0;
    }
    double total = 0.0;
    for (size_t i = 0; i < out.size(); ++i) {
      double v = out[i].value * scale[blocks[i]];
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

 private:
  IntentModelConfig config_;
  std::unordered_map<uint64_t, uint32_t> index_;
  std::vector<float> idf_;
};

FeatureSpace BuildFeatureSpace(const std::vector<IntentExample>& examples,
                               const IntentModelConfig& config) {
  std::unordered_map<uint64_t, uint32_t> df;
  std::vector<uint64_t> keys;
  std::vector<std::pair<uint64_t, uint32_t>> counts;
  for (const auto& example : examples) {
    ExtractKeys(NormalizeIntentText(example.text), config, keys);
    CountKeys(keys, counts);
    for (const auto& entry : counts) ++df[entry.first];
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

// Training rows in compressed form.
struct Rows {
  std::vector<size_t> start;  // size n + 1
  std::vector<SparseEntry> entries;
  std::vector<uint32_t> label;

  size_t size() const { return label.size(); }
};

// The state of the one-vs-rest dual problems: class-major weights (num_classes rows of
// num_features + 1 floats, the last being the bias weight) and the dual variables
// (num_classes rows of one alpha per training row). Invariant: each class's weights are the
// sum of alpha * y * x over the rows, so a solution on a subset warm-starts the full problem.
struct OneVsRest {
  std::vector<float> weights;
  std::vector<double> alphas;
};

// One-vs-rest L2-regularised L2-loss linear SVMs by dual coordinate descent with shrinking
// (Hsieh et al., ICML 2008), on the rows listed in `subset`, continuing from `state`.
void TrainOneVsRest(const Rows& rows, const std::vector<uint32_t>& subset, size_t num_features,
                    size_t num_classes, const IntentModelConfig& config, int max_epochs,
                    OneVsRest& state) {
  const size_t stride = num_features + 1;
  std::vector<float>& weights = state.weights;
  weights.resize(num_classes * stride, 0.0f);
  state.alphas.resize(num_classes * rows.size(), 0.0);
  const double diag = 0.5 / config.svm_c;
  const double bias = config.bias;
  std::vector<double> qd(subset.size());
  for (size_t s = 0; s < subset.size(); ++s) {
    const uint32_t i = subset[s];
    double sq = bias * bias + diag;
    for (size_t e = rows.start[i]; e < rows.start[i + 1]; ++e) {
      sq += static_cast<double>(rows.entries[e].value) * rows.entries[e].value;
    }
    qd[s] = sq;
  }

  auto train_class = [&](size_t c) {
    float* w = weights.data() + c * stride;
    double* all_alpha = state.alphas.data() + c * rows.size();
    const size_t n = subset.size();
    std::vector<double> alpha(n);
    for (size_t k = 0; k < n; ++k) alpha[k] = all_alpha[subset[k]];
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    Rng rng(config.seed ^ Mix(c + 1));
    size_t active = n;
    double pg_max_old = std::numeric_limits<double>::infinity();
    for (int epoch = 0; epoch < max_epochs; ++epoch) {
      double pg_max = -std::numeric_limits<double>::infinity();
      double pg_min = std::numeric_limits<double>::infinity();
      Shuffle(order, active, rng);
      for (size_t s = 0; s < active; ++s) {
        const uint32_t k = order[s];
        const uint32_t i = subset[k];
        const double y = rows.label[i] == c ? 1.0 : -1.0;
        const SparseEntry* begin = rows.entries.data() + rows.start[i];
        const SparseEntry* end = rows.entries.data() + rows.start[i + 1];
        float dot = 0.0f;
        for (const SparseEntry* e = begin; e != end; ++e) dot += w[e->index] * e->value;
        dot += w[num_features] * static_cast<float>(bias);
        const double g = y * dot - 1.0 + diag * alpha[k];
        double pg = 0.0;
        if (alpha[k] == 0.0) {
          if (g > pg_max_old) {
            --active;
            std::swap(order[s], order[active]);
            --s;
            continue;
          }
          if (g < 0.0) pg = g;
        } else {
          pg = g;
        }
        pg_max = std::max(pg_max, pg);
        pg_min = std::min(pg_min, pg);
        if (std::fabs(pg) > 1e-12) {
          const double old = alpha[k];
          alpha[k] = std::max(old - g / qd[k], 0.0);
          const float d = static_cast<float>((alpha[k] - old) * y);
          for (const SparseEntry* e = begin; e != end; ++e) w[e->index] += d * e->value;
          w[num_features] += static_cast<float>(d * bias);
        }
      }
      if (pg_max - pg_min <= config.eps) {
        if (active == n) break;
        active = n;
        pg_max_old = std::numeric_limits<double>::infinity();
        continue;
      }
      // With no upper bound on alpha (L2 loss), only the lower bound shrinks.
      pg_max_old = pg_max <= 0.0 ? std::numeric_limits<double>::infinity() : pg_max;
    }
    for (size_t k = 0; k < n; ++k) all_alpha[subset[k]] = alpha[k];
  };

  const unsigned threads =
      std::max(1u, std::min<unsigned>(config.threads, static_cast<unsigned>(num_classes)));
  if (threads == 1) {
    for (size_t c = 0; c < num_classes; ++c) train_class(c);
  } else {
    // Each class writes only its own row of `weights`, so the result does not depend on the
    // interleaving.
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (size_t c = t; c < num_classes; c += threads) train_class(c);
      });
    }
    for (auto& thread : pool) thread.join();
  }
}

void Scores(const std::vector<float>& class_major, size_t num_features, size_t num_classes,
            double bias, const SparseEntry* begin, const SparseEntry* end,
            std::vector<double>& out) {
  const size_t stride = num_features + 1;
  out.assign(num_classes, 0.0);
  for (size_t c = 0; c < num_classes; ++c) {
    const float* w = class_major.data() + c * stride;
    double s = w[num_features] * bias;
    for (const SparseEntry* e = begin; e != end; ++e) s += w[e->index] * e->value;
    out[c] = s;
  }
}

// Softmax of scores * inv_temperature, with an extra fixed logit 0 when null_logit is set
// (its probability is not returned). Stable for any finite scores.
void Softmax(const std::vector<double>& scores, double inv_temperature, bool null_logit,
             std::vector<double>& probs) {
  double top = null_logit ? 0.0 : -std::numeric_limits<double>::infinity();
  for (double s : scores) top = std::max(top, s * inv_temperature);
  double sum = null_logit ? std::exp(-top) : 0.0;
  probs.resize(scores.size());
  for (size_t c = 0; c < scores.size(); ++c) {
    probs[c] = std::exp(scores[c] * inv_temperature - top);
    sum += probs[c];
  }
  for (double& p : probs) p /= sum;
}

double HeldOutLogLoss(const std::vector<std::vector<double>>& scores,
                      const std::vector<uint32_t>& labels, double inv_temperature,
                      bool null_logit) {
  double loss = 0.0;
  std::vector<double> probs;
  for (size_t i = 0; i < scores.size(); ++i) {
    Softmax(scores[i], inv_temperature, null_logit, probs);
    loss -= std::log(std::max(probs[labels[i]], 1e-300));
  }
  return loss;
}

// The temperature that minimises the held-out log loss, by golden-section search on its log
// (the loss is unimodal in practice). Bounded to [0.01, 100].
double FitTemperature(const std::vector<std::vector<double>>& scores,
                      const std::vector<uint32_t>& labels, bool null_logit) {
  if (scores.empty()) return 1.0;
  double lo = std::log(0.01);
  double hi = std::log(100.0);
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  auto loss = [&](double log_t) {
    return HeldOutLogLoss(scores, labels, std::exp(-log_t), null_logit);
  };
  double a = hi - phi * (hi - lo);
  double b = lo + phi * (hi - lo);
  double fa = loss(a);
  double fb = loss(b);
  for (int i = 0; i < 60 && hi - lo > 1e-4; ++i) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = loss(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = loss(b);
    }
  }
  return std::exp((lo + hi) / 2.0);
}

double SparseDot(const SparseEntry* a, const SparseEntry* a_end, const SparseEntry* b,
                 const SparseEntry* b_end) {
  double s = 0.0;
  while (a != a_end && b != b_end) {
    if (a->index < b->index) {
      ++a;
    } else if (b->index < a->index) {
      ++b;
    } else {
      s += static_cast<double>(a->value) * b->value;
      ++a;
      ++b;
    }
  }
  return s;
}

// The cosine of a unit vector to the nearest of the given rows (unit vectors).
double NearestCosine(const Rows& rows, const std::vector<uint32_t>& members,
                     const SparseEntry* begin, const SparseEntry* end) {
  double best = 0.0;
  for (uint32_t i : members) {
    best = std::max(best, SparseDot(rows.entries.data() + rows.start[i],
                                    rows.entries.data() + rows.start[i + 1], begin, end));
  }
  return best;
}

// What the novelty factor needs: the training vectors in two views (all features, and the
// content features without function words), each intent's rows, and the median held-out
// similarity in each view.
struct Novelty {
  double power = 0.0;          // exponent of the full-vector factor (0: no novelty factor)
  double content_power = 0.0;  // exponent of the content factor
  double unknown_share = 1.0, unknown_factor = 1.0;  // see the config
  Vocabulary vocabulary;
  Rows full, content;
  std::vector<std::vector<uint32_t>> members;
  double typical = 0.0, typical_content = 0.0;
};

// A cosine this close to 1 is the same text as an example, after normalisation.
constexpr double kSameText = 0.9999;

class LinearIntentModel final : public IntentClassifier {
 public:
  LinearIntentModel(FeatureSpace space, std::vector<std::string> labels,
                    const std::vector<float>& class_major, double bias, double temperature,
                    bool null_logit, Novelty novelty, bool has_oos)
      : space_(std::move(space)),
        labels_(std::move(labels)),
        inv_temperature_(1.0 / temperature),
        null_logit_(null_logit),
        novelty_(std::move(novelty)),
        has_oos_(has_oos) {
    // Feature-major storage: a query touches a few hundred contiguous rows.
    const size_t num_features = space_.size();
    const size_t num_classes = labels_.size();
    weights_.resize(num_features * num_classes);
    bias_.resize(num_classes);
    for (size_t c = 0; c < num_classes; ++c) {
      const float* w = class_major.data() + c * (num_features + 1);
      for (size_t f = 0; f < num_features; ++f) weights_[f * num_classes + c] = w[f];
      bias_[c] = w[num_features] * bias;
    }
  }

  double typical_similarity() const { return novelty_.typical; }

  double DefaultThreshold() const override {
    return has_oos_ ? kDefaultOosClassThreshold : kDefaultIntentThreshold;
  }

  IntentPrediction Predict(std::string_view text) const override {
    std::vector<IntentPrediction> top = TopK(text, 1);
    return top.empty() ? IntentPrediction{} : top.front();
  }

  std::vector<IntentPrediction> TopK(std::string_view text, size_t k) const override {
    const size_t num_classes = labels_.size();
    std::vector<SparseEntry> x;
    space_.Vectorize(text, x);
    std::vector<double> scores(bias_.begin(), bias_.end());
    for (const SparseEntry& e : x) {
      const float* row = weights_.data() + static_cast<size_t>(e.index) * num_classes;
      for (size_t c = 0; c < num_classes; ++c) scores[c] += row[c] * e.value;
    }
    std::vector<double> probs;
    Softmax(scores, inv_temperature_, null_logit_, probs);
    std::vector<uint32_t> order(num_classes);
    std::iota(order.begin(), order.end(), 0u);
    k = std::min(k, num_classes);
    std::partial_sort(
        order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
        [&](uint32_t a, uint32_t b) { return probs[a] != probs[b] ? probs[a] > probs[b] : a < b; });
    std::vector<IntentPrediction> out;
    out.reserve(k);
    std::vector<SparseEntry> content;
    bool unknown = false;  // mostly words the bot never saw, not even misspelt
    for (size_t i = 0; i < k; ++i) {
      IntentPrediction p;
      p.intent = labels_[order[i]];
      p.probability = std::clamp(probs[order[i]], 0.0, 1.0);
      p.confidence = p.probability;
      if (novelty_.power > 0.0) {
        if (i == 0) space_.Vectorize(text, content, true);
        const auto& members = novelty_.members[order[i]];
        p.similarity = std::clamp(
            NearestCosine(novelty_.full, members, x.data(), x.data() + x.size()), 0.0, 1.0);
        p.content_similarity = std::clamp(NearestCosine(novelty_.content, members, content.data(),
                                                        content.data() + content.size()),
                                          0.0, 1.0);
        p.confidence *=
            Factor(p.similarity, novelty_.typical, novelty_.power) *
            Factor(p.content_similarity, novelty_.typical_content, novelty_.content_power);
        // One of the intent's own examples, as written, is understood whatever the
        // calibration says (with a handful of examples it can leave every probability near
        // 1 / intents).
        if (i == 0 && p.similarity >= kSameText) p.confidence = 1.0;
        if (i == 0) unknown = novelty_.vocabulary.Gibberish(text, novelty_.unknown_share);
        if (unknown) p.confidence *= novelty_.unknown_factor;
      }
      out.push_back(std::move(p));
    }
    return out;
  }

 private:
  // 1 for a text at least as close to an intent's examples as a typical new phrasing of it,
  // falling as (similarity / typical)^power below that, to 0 for a text that shares nothing.
  static double Factor(double similarity, double typical, double power) {
    if (power <= 0.0 || typical <= 0.0) return 1.0;
    return std::pow(std::min(1.0, similarity / typical), power);
  }

  FeatureSpace space_;
  std::vector<std::string> labels_;
  std::vector<float> weights_;  // [feature * num_classes + class]
  std::vector<double> bias_;
  double inv_temperature_;
  bool null_logit_;
  Novelty novelty_;
  bool has_oos_;
};

}  // namespace

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

Result<std::shared_ptr<const IntentClassifier>> TrainIntentModel(
    const std::vector<IntentExample>& examples, const IntentTrainOptions& options,
    const IntentModelConfig& config) {
  if (examples.empty()) {
    return Fail(Errc::kInvalidArgument, "no_training_examples",
                "Give at least one example to train the intent classifier.");
  }
  std::vector<std::string> labels;
  for (const auto& example : examples) {
    if (example.intent.empty()) {
      return Fail(Errc::kInvalidArgument, "empty_intent",
                  "Give every training example a non-empty intent name.");
    }
    labels.push_back(example.intent);
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (config.svm_c <= 0.0 || config.max_epochs <= 0 || config.calibration_epochs <= 0) {
    return Fail(Errc::kInvalidArgument, "bad_intent_config",
                "Use a positive SVM cost and epoch count.");
  }

  FeatureSpace space = BuildFeatureSpace(examples, config);
  const size_t num_features = space.size();
  const size_t num_classes = labels.size();
  Rows rows;
  rows.start.push_back(0);
  std::vector<SparseEntry> x;
  for (const auto& example : examples) {
    space.Vectorize(example.text, x);
    rows.entries.insert(rows.entries.end(), x.begin(), x.end());
    rows.start.push_back(rows.entries.size());
    rows.label.push_back(static_cast<uint32_t>(
        std::lower_bound(labels.begin(), labels.end(), example.intent) - labels.begin()));
  }
  const auto oos_class = static_cast<uint32_t>(
      std::lower_bound(labels.begin(), labels.end(), options.oos_label) - labels.begin());
  const bool has_oos = oos_class < num_classes && labels[oos_class] == options.oos_label;
  // A model taught out-of-scope examples (an `oos` class) recognises what it does not know
  // through that class; the novelty factor is for models without one. Its similarity is
  // between content vectors: the same features without function words.
  const bool novelty = !has_oos && config.novelty_power > 0.0;
  Rows content;
  content.start.push_back(0);
  if (novelty) {
    for (size_t i = 0; i < examples.size(); ++i) {
      space.Vectorize(examples[i].text, x, true);
      content.entries.insert(content.entries.end(), x.begin(), x.end());
      content.start.push_back(content.entries.size());
      content.label.push_back(rows.label[i]);
    }
  }

  // Stratified folds: each class's examples, shuffled, dealt round-robin.
  const int folds = std::max(config.calibration_folds, 2);
  std::vector<int> fold_of(rows.size());
  {
    std::vector<std::vector<uint32_t>> by_class(num_classes);
    for (uint32_t i = 0; i < rows.size(); ++i) by_class[rows.label[i]].push_back(i);
    Rng rng(config.seed);
    for (auto& members : by_class) {
      Shuffle(members, members.size(), rng);
      for (size_t r = 0; r < members.size(); ++r) {
        fold_of[members[r]] = static_cast<int>(r % static_cast<size_t>(folds));
      }
    }
  }
  const bool small = rows.size() <= config.small_set;
  const int held_out_folds = small ? folds : 1;
  const int held_out_epochs = small ? config.max_epochs : config.calibration_epochs;
  std::vector<std::vector<double>> held_scores;
  std::vector<uint32_t> held_labels;
  // Cosine of each held-out example to the nearest example of its own intent, the example
  // left out: how far from what it was taught a new phrasing of an intent falls.
  std::vector<double> held_sims, held_content;
  OneVsRest state;  // the last fold's solution warm-starts the final model
  for (int f = 0; f < held_out_folds; ++f) {
    std::vector<uint32_t> train_subset;
    std::vector<uint32_t> held;
    for (uint32_t i = 0; i < rows.size(); ++i) (fold_of[i] == f ? held : train_subset).push_back(i);
    if (held.empty() || train_subset.empty()) continue;
    state = OneVsRest{};
    TrainOneVsRest(rows, train_subset, num_features, num_classes, config, held_out_epochs, state);
    std::vector<std::vector<uint32_t>> fold_members(num_classes);
    if (novelty) {
      for (uint32_t i : train_subset) fold_members[rows.label[i]].push_back(i);
    }
    for (uint32_t i : held) {
      if (novelty) {
        const auto& members = fold_members[rows.label[i]];
        held_sims.push_back(NearestCosine(rows, members, rows.entries.data() + rows.start[i],
                                          rows.entries.data() + rows.start[i + 1]));
        held_content.push_back(NearestCosine(content, members,
                                             content.entries.data() + content.start[i],
                                             content.entries.data() + content.start[i + 1]));
      }
      held_scores.emplace_back();
      Scores(state.weights, num_features, num_classes, config.bias,
             rows.entries.data() + rows.start[i], rows.entries.data() + rows.start[i + 1],
             held_scores.back());
      held_labels.push_back(rows.label[i]);
    }
  }
  const double temperature = FitTemperature(held_scores, held_labels, config.null_logit);

  std::vector<uint32_t> all(rows.size());
  std::iota(all.begin(), all.end(), 0u);
  TrainOneVsRest(rows, all, num_features, num_classes, config, config.max_epochs, state);
  auto median = [](std::vector<double>& v) {
    if (v.empty()) return 0.0;
    auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
  };
  Novelty nov;
  if (novelty) {
    nov.power = config.novelty_power;
    nov.content_power = config.novelty_content_power;
    nov.unknown_share = config.unknown_share;
    nov.unknown_factor = config.unknown_factor;
    if (config.unknown_share < 1.0) nov.vocabulary = Vocabulary(examples);
    nov.typical = median(held_sims);
    nov.typical_content = median(held_content);
    nov.members.resize(num_classes);
    for (uint32_t i = 0; i < rows.size(); ++i) nov.members[rows.label[i]].push_back(i);
    nov.full = std::move(rows);
    nov.content = std::move(content);
  }
  return std::make_shared<const LinearIntentModel>(std::move(space), std::move(labels),
                                                   state.weights, config.bias, temperature,
                                                   config.null_logit, std::move(nov), has_oos);
}

double TypicalSimilarity(const IntentClassifier& model) {
  const auto* linear = dynamic_cast<const LinearIntentModel*>(&model);
  return linear ? linear->typical_similarity() : 0.0;
}

}  // namespace detail

Result<std::shared_ptr<const IntentClassifier>> IntentClassifier::Train(
    const std::vector<IntentExample>& examples, const IntentTrainOptions& options) {
  return detail::TrainIntentModel(examples, options, detail::IntentModelConfig{});
}

}  // namespace parley::bot

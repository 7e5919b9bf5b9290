#include "bot/intent_classifier.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <utility>

#include "bot/intent_features.hpp"
#include "bot/intent_model.hpp"
#include "bot/intent_vocabulary.hpp"

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
  size_t no_subject_min_words = 0;                   // see the config
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
  double typical_content_similarity() const { return novelty_.typical_content; }

  double DefaultThreshold() const override {
    return has_oos_ ? kDefaultOosClassThreshold : kDefaultIntentThreshold;
  }

  IntentPrediction Predict(std::string_view text) const override {
    std::vector<IntentPrediction> top = TopK(text, 1);
    return top.empty() ? IntentPrediction{} : top.front();
  }

  std::vector<IntentPrediction> TopK(std::string_view text, size_t k) const override {
    const size_t num_classes = labels_.size();
    // Normalised once for both views and the gibberish check, with one buffer of hashed
    // features for both views.
    const std::string norm = NormalizeIntentText(text);
    std::vector<uint64_t> keys;
    std::vector<SparseEntry> x;
    space_.VectorizeNormalized(norm, keys, x);
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
    bool unknown = false;     // mostly words the bot never saw, not even misspelt
    bool no_subject = false;  // only function words: the content view has nothing to compare
    for (size_t i = 0; i < k; ++i) {
      IntentPrediction p;
      p.intent = labels_[order[i]];
      p.probability = std::clamp(probs[order[i]], 0.0, 1.0);
      p.confidence = p.probability;
      if (novelty_.power > 0.0) {
        if (i == 0) {
          space_.VectorizeNormalized(norm, keys, content, true);
          no_subject = novelty_.no_subject_min_words > 0 &&
                       NormalizedOnlyFunctionWords(norm, novelty_.no_subject_min_words);
        }
        const auto& members = novelty_.members[order[i]];
        p.similarity = std::clamp(
            NearestCosine(novelty_.full, members, x.data(), x.data() + x.size()), 0.0, 1.0);
        p.content_similarity = std::clamp(NearestCosine(novelty_.content, members, content.data(),
                                                        content.data() + content.size()),
                                          0.0, 1.0);
        // A sentence of function words only ("what can you do for me") has an empty content
        // vector because it names no subject, not because it is far from the examples: only
        // the full view judges it.
        p.confidence *= Factor(p.similarity, novelty_.typical, novelty_.power) *
                        (no_subject ? 1.0
                                    : Factor(p.content_similarity, novelty_.typical_content,
                                             novelty_.content_power));
        // One of the intent's own examples, as written, is understood whatever the
        // calibration says (with a handful of examples it can leave every probability near
        // 1 / intents).
        if (i == 0 && p.similarity >= kSameText) p.confidence = 1.0;
        if (i == 0) unknown = novelty_.vocabulary.NormalizedGibberish(norm, novelty_.unknown_share);
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

  // With a bot's handful of examples per intent, character n-grams generalise better than
  // whole words (other forms, typos), so a small set gives the word block less weight.
  const bool small = examples.size() <= config.small_set;
  IntentModelConfig features_config = config;
  if (small) features_config.word_weight = config.small_set_word_weight;
  FeatureSpace space = BuildFeatureSpace(examples, features_config);
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
    nov.no_subject_min_words = config.no_subject_min_words;
    if (config.unknown_share < 1.0) {
      nov.vocabulary =
          Vocabulary(examples, config.unknown_stem_suffix, config.unknown_numbers_neutral);
    }
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

double TypicalContentSimilarity(const IntentClassifier& model) {
  const auto* linear = dynamic_cast<const LinearIntentModel*>(&model);
  return linear ? linear->typical_content_similarity() : 0.0;
}

}  // namespace detail

Result<std::shared_ptr<const IntentClassifier>> IntentClassifier::Train(
    const std::vector<IntentExample>& examples, const IntentTrainOptions& options) {
  return detail::TrainIntentModel(examples, options, detail::IntentModelConfig{});
}

}  // namespace parley::bot

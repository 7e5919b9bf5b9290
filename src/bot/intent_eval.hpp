#pragma once
// Evaluation of the intent classifier on a dataset in the CLINC150 format (Larson et al.,
// 2019): a JSON object with the keys train, val, test, oos_train, oos_val, oos_test, each an
// array of [query, intent] pairs. Used by `parley bot eval-intents` and the tests.

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bot/intent_classifier.hpp"
#include "core/result.hpp"

namespace parley::bot {

struct IntentEvalReport {
  double in_scope_accuracy = 0.0;  // percent of test queries given their intent, confidently
  double oos_recall = 0.0;         // percent of oos_test queries predicted oos or below threshold
  double train_seconds = 0.0;
  double us_per_query = 0.0;  // mean Predict time over test + oos_test
  double threshold = 0.0;
  size_t train_examples = 0;
  size_t test_queries = 0;
};

struct IntentDataset {
  std::vector<IntentExample> train, val, test, oos_train, oos_val, oos_test;
};

// Reads and checks a CLINC150-format file. Fails with kNotFound when it cannot be read and
// kInvalidArgument (naming the key and entry) when it is not of that shape.
Result<IntentDataset> LoadIntentDataset(const std::string& path);

struct IntentScore {
  double in_scope_accuracy = 0.0;  // percent
  double oos_recall = 0.0;         // percent
};

// Scores a trained model: an in-scope query is right when its intent is predicted with
// confidence >= threshold; an out-of-scope one when it is predicted as `oos_label` or its
// confidence is below threshold. An empty list scores 0.
IntentScore ScoreIntents(const IntentClassifier& model, const std::vector<IntentExample>& in_scope,
                         const std::vector<IntentExample>& out_of_scope, double threshold,
                         const std::string& oos_label = "oos");

// The confidence threshold that maximises in-scope accuracy + oos recall of `model` on the
// given queries (the midpoint of the best gap between observed confidences). With a finite
// `max_accuracy_loss` (percentage points), it instead maximises oos recall among thresholds
// that keep in-scope accuracy within that loss of its value at threshold 0.
double BestThreshold(const IntentClassifier& model, const std::vector<IntentExample>& in_scope,
                     const std::vector<IntentExample>& out_of_scope,
                     const std::string& oos_label = "oos",
                     double max_accuracy_loss = std::numeric_limits<double>::infinity());

// Trains on train + oos_train and reports on test and oos_test, at `threshold` or, without
// one, at the trained model's DefaultThreshold(): the same rule (IsUnderstood) and default
// as a bot file that sets no threshold.
Result<IntentEvalReport> EvalIntents(const std::string& dataset_path,
                                     std::optional<double> threshold = std::nullopt);

// The threshold that maximises in-scope accuracy + oos recall on val + oos_val (never test),
// training on train + oos_train.
Result<double> TuneThreshold(const std::string& dataset_path);

}  // namespace parley::bot

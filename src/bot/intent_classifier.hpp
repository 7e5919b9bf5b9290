#pragma once
// Intent recognition trained at load time from a bot's examples: no downloaded model.
// Train once, then Predict from any thread.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace parley::bot {

struct IntentExample {
  std::string text;
  std::string intent;
};

struct IntentPrediction {
  std::string intent;       // the best intent ("" when the model has no intents)
  double confidence = 0.0;  // calibrated probability in [0, 1]
};

struct IntentTrainOptions {
  // Label of out-of-scope examples, when the training set has them (CLINC150: "oos").
  std::string oos_label = "oos";
};

class IntentClassifier {
 public:
  // Trains on the examples. Fails (kInvalidArgument) when there are no examples or an example
  // has an empty intent. Deterministic for the same input.
  static Result<std::shared_ptr<const IntentClassifier>> Train(
      const std::vector<IntentExample>& examples, const IntentTrainOptions& options = {});

  virtual ~IntentClassifier() = default;
  // The top intent and its confidence. Any UTF-8 (or invalid) text is accepted. Thread-safe.
  virtual IntentPrediction Predict(std::string_view text) const = 0;
  // The k best, best first. Thread-safe.
  virtual std::vector<IntentPrediction> TopK(std::string_view text, size_t k) const = 0;
};

}  // namespace parley::bot

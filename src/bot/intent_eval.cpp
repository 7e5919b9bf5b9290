#include "bot/intent_eval.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

namespace parley::bot {
namespace {

constexpr size_t kMaxDatasetBytes = 256 * 1024 * 1024;

Result<std::vector<IntentExample>> ReadSplit(const boost::json::object& root, const char* key) {
  const boost::json::value* split = root.if_contains(key);
  if (split == nullptr || !split->is_array()) {
    return Fail(Errc::kInvalidArgument, "bad_dataset",
                std::string("The dataset needs an array under \"") + key + "\".");
  }
  std::vector<IntentExample> out;
  out.reserve(split->get_array().size());
  size_t n = 0;
  for (const boost::json::value& entry : split->get_array()) {
    const boost::json::array* pair = entry.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() ||
        !(*pair)[1].is_string() || (*pair)[1].get_string().empty()) {
      return Fail(Errc::kInvalidArgument, "bad_dataset",
                  std::string("Entry ") + std::to_string(n) + " of \"" + key +
                      "\" must be a [query, intent] pair of strings with a non-empty intent.");
    }
    out.push_back({std::string((*pair)[0].get_string()), std::string((*pair)[1].get_string())});
    ++n;
  }
  return out;
}

struct Judged {
  bool right_intent = false;  // in scope: the predicted intent is the label
  bool predicted_oos = false;
  IntentPrediction prediction;
};

std::vector<Judged> Judge(const IntentClassifier& model, const std::vector<IntentExample>& queries,
                          const std::string& oos_label) {
  std::vector<Judged> out;
  out.reserve(queries.size());
  for (const auto& query : queries) {
    IntentPrediction p = model.Predict(query.text);
    const bool right = p.intent == query.intent;
    const bool oos = p.intent == oos_label;
    out.push_back({right, oos, std::move(p)});
  }
  return out;
}

IntentScore ScoreJudged(const std::vector<Judged>& in_scope, const std::vector<Judged>& oos,
                        double threshold) {
  size_t right = 0;
  // The same rule as a bot's: IsUnderstood.
  for (const Judged& j : in_scope) right += j.right_intent && IsUnderstood(j.prediction, threshold);
  size_t caught = 0;
  for (const Judged& j : oos) caught += j.predicted_oos || !IsUnderstood(j.prediction, threshold);
  IntentScore score;
  if (!in_scope.empty()) score.in_scope_accuracy = 100.0 * right / in_scope.size();
  if (!oos.empty()) score.oos_recall = 100.0 * caught / oos.size();
  return score;
}

std::vector<IntentExample> Concat(const std::vector<IntentExample>& a,
                                  const std::vector<IntentExample>& b) {
  std::vector<IntentExample> out(a);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

}  // namespace

Result<IntentDataset> LoadIntentDataset(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(Errc::kNotFound, "dataset_not_found",
                "Cannot read the dataset file " + path + "; check the --dataset path.");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = std::move(buffer).str();
  if (text.size() > kMaxDatasetBytes) {
    return Fail(Errc::kPayloadTooLarge, "dataset_too_large",
                "The dataset file is larger than 256 MiB; use a smaller one.");
  }
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text, ec);
  if (ec || !root.is_object()) {
    return Fail(Errc::kInvalidArgument, "bad_dataset",
                "The dataset file is not a JSON object in the CLINC150 format.");
  }
  const auto& object = root.get_object();
  IntentDataset data;
  struct Slot {
    const char* key;
    std::vector<IntentExample>* target;
  };
  for (Slot slot : {Slot{"train", &data.train}, Slot{"val", &data.val}, Slot{"test", &data.test},
                    Slot{"oos_train", &data.oos_train}, Slot{"oos_val", &data.oos_val},
                    Slot{"oos_test", &data.oos_test}}) {
    auto split = ReadSplit(object, slot.key);
    if (!split) return Fail(split.error());
    *slot.target = std::move(*split);
  }
  if (data.train.empty()) {
    return Fail(Errc::kInvalidArgument, "bad_dataset",
                "The dataset's \"train\" split is empty; it needs examples to train on.");
  }
  return data;
}

IntentScore ScoreIntents(const IntentClassifier& model, const std::vector<IntentExample>& in_scope,
                         const std::vector<IntentExample>& out_of_scope, double threshold,
                         const std::string& oos_label) {
  return ScoreJudged(Judge(model, in_scope, oos_label), Judge(model, out_of_scope, oos_label),
                     threshold);
}

double BestThreshold(const IntentClassifier& model, const std::vector<IntentExample>& in_scope,
                     const std::vector<IntentExample>& out_of_scope, const std::string& oos_label,
                     double max_accuracy_loss) {
  std::vector<Judged> in = Judge(model, in_scope, oos_label);
  std::vector<Judged> oos = Judge(model, out_of_scope, oos_label);
  std::vector<double> confidences;
  for (const auto& j : in) confidences.push_back(j.prediction.confidence);
  for (const auto& j : oos) confidences.push_back(j.prediction.confidence);
  std::sort(confidences.begin(), confidences.end());
  confidences.erase(std::unique(confidences.begin(), confidences.end()), confidences.end());
  // Candidates sit between observed confidences, so a small shift in calibration on unseen
  // data moves as few queries as possible across the threshold.
  std::vector<double> candidates{0.0};
  for (size_t i = 0; i + 1 < confidences.size(); ++i) {
    candidates.push_back((confidences[i] + confidences[i + 1]) / 2.0);
  }
  const double floor = ScoreJudged(in, oos, 0.0).in_scope_accuracy - max_accuracy_loss;
  const bool constrained = std::isfinite(max_accuracy_loss);
  double best = 0.0;
  double best_value = -1.0;
  for (double t : candidates) {
    IntentScore s = ScoreJudged(in, oos, t);
    if (constrained && s.in_scope_accuracy < floor) continue;
    double value = constrained ? s.oos_recall : s.in_scope_accuracy + s.oos_recall;
    if (value > best_value) {
      best_value = value;
      best = t;
    }
  }
  return best;
}

Result<IntentEvalReport> EvalIntents(const std::string& dataset_path,
                                     std::optional<double> given_threshold) {
  auto data = LoadIntentDataset(dataset_path);
  if (!data) return Fail(data.error());
  std::vector<IntentExample> training = Concat(data->train, data->oos_train);
  const auto train_start = std::chrono::steady_clock::now();
  auto model = IntentClassifier::Train(training);
  const auto train_end = std::chrono::steady_clock::now();
  if (!model) return Fail(model.error());

  const IntentTrainOptions options;
  const auto query_start = std::chrono::steady_clock::now();
  std::vector<Judged> in = Judge(**model, data->test, options.oos_label);
  std::vector<Judged> oos = Judge(**model, data->oos_test, options.oos_label);
  const auto query_end = std::chrono::steady_clock::now();

  const double threshold = given_threshold ? *given_threshold : (*model)->DefaultThreshold();
  IntentScore score = ScoreJudged(in, oos, threshold);
  IntentEvalReport report;
  report.in_scope_accuracy = score.in_scope_accuracy;
  report.oos_recall = score.oos_recall;
  report.train_seconds = std::chrono::duration<double>(train_end - train_start).count();
  report.test_queries = in.size() + oos.size();
  if (report.test_queries > 0) {
    report.us_per_query =
        std::chrono::duration<double, std::micro>(query_end - query_start).count() /
        static_cast<double>(report.test_queries);
  }
  report.threshold = threshold;
  report.train_examples = training.size();
  return report;
}

Result<double> TuneThreshold(const std::string& dataset_path) {
  auto data = LoadIntentDataset(dataset_path);
  if (!data) return Fail(data.error());
  auto model = IntentClassifier::Train(Concat(data->train, data->oos_train));
  if (!model) return Fail(model.error());
  return BestThreshold(**model, data->val, data->oos_val, IntentTrainOptions{}.oos_label);
}

}  // namespace parley::bot

// libFuzzer target: any bytes as customer text must give a probability and never crash.
// Two models are trained once per process, on first use, from a fixed handful of examples: one
// with an `oos` class, one without (a bot's: its confidence includes the novelty factor). The
// input's first byte picks the model (odd: with `oos`), the rest is the text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "bot/intent_classifier.hpp"

namespace {

std::shared_ptr<const parley::bot::IntentClassifier> TinyModel(bool with_oos) {
  std::vector<parley::bot::IntentExample> examples{
      {"when are you open", "opening_hours"}, {"what time do you close today", "opening_hours"},
      {"i lost my card", "lost_card"},        {"my card was stolen", "lost_card"},
      {"talk to a person", "agent"},          {"i want a human", "agent"},
  };
  if (with_oos) examples.push_back({"what is the weather like", "oos"});
  auto model = parley::bot::IntentClassifier::Train(examples);
  if (!model) std::abort();
  return *model;
}

bool InRange(double v) { return v >= 0.0 && v <= 1.0; }

// Every class ranked, each prediction in range, and Predict giving the first of the ranking
// (it is TopK(1)).
void Check(const parley::bot::IntentClassifier& model, std::string_view text, size_t classes) {
  auto top = model.TopK(text, 5);
  if (top.size() != classes) std::abort();
  for (const auto& p : top) {
    if (p.intent.empty() || !InRange(p.confidence) || !InRange(p.probability) ||
        !InRange(p.similarity) || (p.confidence > p.probability && p.confidence != 1.0))
      std::abort();
  }
  auto best = model.Predict(text);
  if (best.intent != top.front().intent || best.confidence != top.front().confidence) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const parley::bot::IntentClassifier> with_oos = TinyModel(true);
  static const std::shared_ptr<const parley::bot::IntentClassifier> bot = TinyModel(false);
  // The first byte picks the model, so each execution classifies the text once (TopK and
  // Predict) instead of with both models: half the cost, and over a run both see every kind of
  // text.
  if (size == 0) {
    Check(*with_oos, "", 4);
    Check(*bot, "", 3);
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1)
    Check(*with_oos, text, 4);
  else
    Check(*bot, text, 3);
  return 0;
}

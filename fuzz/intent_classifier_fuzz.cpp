// libFuzzer target: any bytes as customer text must give a probability and never crash.
// The model is trained once, on first use, from a fixed handful of examples.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "bot/intent_classifier.hpp"

namespace {

std::shared_ptr<const parley::bot::IntentClassifier> TinyModel() {
  auto model = parley::bot::IntentClassifier::Train({
      {"when are you open", "opening_hours"},
      {"what time do you close today", "opening_hours"},
      {"i lost my card", "lost_card"},
      {"my card was stolen", "lost_card"},
      {"talk to a person", "agent"},
      {"i want a human", "agent"},
      {"what is the weather like", "oos"},
  });
  if (!model) std::abort();
  return *model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const parley::bot::IntentClassifier> model = TinyModel();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto best = model->Predict(text);
  if (best.intent.empty() || !(best.confidence >= 0.0 && best.confidence <= 1.0)) std::abort();
  auto top = model->TopK(text, 5);
  if (top.size() != 4 || top.front().intent != best.intent) std::abort();
  return 0;
}

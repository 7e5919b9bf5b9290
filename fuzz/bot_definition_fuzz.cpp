// libFuzzer target: bot definitions (untrusted YAML from a designer's folder) through the
// loader, and, when a definition loads, the dialog engine: the input's last line (its first
// 160 bytes, without a leading "# ") as customer text, sent twice; then the first flow (by
// name) started by its postback and answered with that text twice; each call's outcome both
// ways (failed, then a JSON answer); an escalation. Build with -DPARLEY_FUZZ=ON and clang.
//
// The engine runs without the intent classifier: training one on the input's examples
// (5 calibration folds) cost several milliseconds an input and held the target near 300
// executions a second. The classifier is fuzzed by intent_classifier_fuzz; here the examples
// are dropped before DialogBot::Create (as for a bot without examples) and every flow is
// reached by its `flow:NAME` postback instead of by words. The committed seeds keep their
// customer text in a YAML comment on the last line, so that they load.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "core/clock.hpp"

namespace {

constexpr int kFlowsTried = 1;
// The customer's text is the input's last line, at most this long: slot patterns only look at
// answers up to 128 bytes, and a longer line mostly made the engine try every span of words
// of it against every pattern (a few milliseconds an input under the sanitizers).
constexpr size_t kMaxTextBytes = 160;

// The reply's call, if any, answered as failed and then as an action that fills a slot.
parley::bot::BotReply AnswerCall(const parley::bot::DialogBot& bot,
                                 const parley::bot::CustomerTurn& turn,
                                 parley::bot::BotReply reply) {
  if (!reply.call) return reply;
  parley::bot::CallOutcome failed;
  failed.error = "fuzz: the action failed";
  (void)bot.OnCallResult(turn, failed, reply.state);
  parley::bot::CallOutcome ok;
  ok.ok = true;
  ok.response = boost::json::object{{"slots", boost::json::object{{"found", "yes"}}},
                                    {"replies", boost::json::array{"From the action."}}};
  return bot.OnCallResult(turn, ok, reply.state);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  parley::bot::DefinitionOptions options;
  options.max_file_bytes = 64 * 1024;
  parley::bot::DefinitionResult r = parley::bot::ParseDefinition(input, "fuzz.yaml", options);
  if (!r.definition) {
    for (const auto& d : r.errors) (void)d.ToString();
    return 0;
  }
  for (auto& intent : r.definition->intents) intent.examples.clear();
  std::vector<std::string> flows;
  for (const auto& [name, flow] : r.definition->flows) {
    if (flows.size() == kFlowsTried) break;
    flows.push_back(name);
  }
  parley::ManualClock clock(0);
  auto created = parley::bot::DialogBot::Create(std::move(*r.definition), clock);
  if (!created) return 0;
  const parley::bot::DialogBot& bot = **created;

  size_t nl = input.rfind('\n');
  parley::bot::CustomerTurn turn;
  std::string_view last = nl == std::string_view::npos ? input : input.substr(nl + 1);
  // A seed keeps its customer text in a YAML comment ("# 1234"), so that it still loads.
  if (last.starts_with("# ")) last.remove_prefix(2);
  turn.text = {std::string(last.substr(0, kMaxTextBytes))};
  turn.first_turn = true;  // greeted, and its slots looked for in the text
  parley::bot::BotReply reply = AnswerCall(bot, turn, bot.OnCustomerTurn(turn, nullptr));
  turn.first_turn = false;
  reply = AnswerCall(bot, turn, bot.OnCustomerTurn(turn, reply.state));
  for (const std::string& flow : flows) {
    // The flow's first question, then the same text answering it and whatever comes next
    // (a slot pattern, choices, a menu), so the fuzzer reaches the flow's steps.
    parley::bot::CustomerTurn start;
    start.postback = "flow:" + flow;
    reply = AnswerCall(bot, start, bot.OnCustomerTurn(start, reply.state));
    for (int i = 0; i < 2; ++i)
      reply = AnswerCall(bot, turn, bot.OnCustomerTurn(turn, reply.state));
  }
  turn.postback = "action:escalate";
  (void)bot.OnCustomerTurn(turn, reply.state);
  return 0;
}

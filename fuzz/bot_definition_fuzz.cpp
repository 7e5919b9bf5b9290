// libFuzzer target: bot definitions (untrusted YAML from a designer's folder) through the
// loader, and, when a definition loads, the dialog engine with the input's last line as
// customer text, sent twice, then an escalation. Build with -DPARLEY_FUZZ=ON and clang.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "core/clock.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  parley::bot::DefinitionOptions options;
  options.max_file_bytes = 64 * 1024;
  parley::bot::DefinitionResult r = parley::bot::ParseDefinition(input, "fuzz.yaml", options);
  if (!r.definition) {
    for (const auto& d : r.errors) (void)d.ToString();
    return 0;
  }
  parley::ManualClock clock(0);
  auto bot = parley::bot::DialogBot::Create(std::move(*r.definition), clock);
  if (!bot) return 0;
  size_t nl = input.rfind('\n');
  parley::bot::CustomerTurn turn;
  turn.text = {std::string(nl == std::string_view::npos ? input : input.substr(nl + 1))};
  turn.first_turn = true;  // greeted, and its slots looked for in the text
  parley::bot::BotReply reply = (*bot)->OnCustomerTurn(turn, nullptr);
  turn.first_turn = false;
  // The same text again answers whatever the first turn asked (a slot pattern, choices, a
  // menu), so the fuzzer reaches the flow steps; then the customer asks for a person.
  reply = (*bot)->OnCustomerTurn(turn, reply.state);
  turn.postback = "action:escalate";
  (void)(*bot)->OnCustomerTurn(turn, reply.state);
  return 0;
}

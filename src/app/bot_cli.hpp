#pragma once
// `parley bot check|chat|eval-intents`: the conversation designer's tools. They need no server
// and no database. The functions behind the commands take their streams so tests can drive them.

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "bot/bot.hpp"

namespace parley::app {

// Adds the `bot` command and its subcommands to `app`. A failing subcommand throws
// CLI::RuntimeError with its exit code (1), which CLI11's app.exit() turns into the process's
// exit status.
void AddBotCommands(CLI::App& app);

// `bot check FILE`: 0 and a one-line summary on `out`, or 1 and "file:line: reason" lines on
// `err`. Also trains the classifier, as loading the bot in the server would.
int RunBotCheck(const std::string& file, bool allow_insecure_calls, std::ostream& out,
                std::ostream& err);

struct ChatOptions {
  std::string customer_name = "Customer";
  bool allow_insecure_calls = false;  // http:// and private addresses for `call` steps
  bool show_intents = true;
  bool echo_input = false;  // print each line read after the prompt (stdin is not a terminal)
};

// `bot chat FILE`: reads customer lines from `in` until EOF and prints the bot's replies on
// `out`: menus as numbered choices, each menu from 1 (typing a number chooses that item of the
// latest menu or carousel), the recognised intent
// and its confidence, and each `call` step, which is performed for real over HTTP(S).
int RunBotChat(const std::string& file, const ChatOptions& options, std::istream& in,
               std::ostream& out, std::ostream& err);

// Performs a flow's `call` as the conversation layer does: POST the request JSON, with the
// webhook client's TLS and address rules; ok when the answer is 2xx with a JSON object body
// within the timeout. Blocks the calling thread (fine for the CLI and tests only).
bot::CallOutcome PerformCall(const bot::ExternalCall& call, bool allow_insecure);

// `bot test FILE [TESTS...] [--junit OUT]`: runs the bot's conversation tests (TESTS, or
// FILE's NAME.test.yaml beside it) and prints each failing turn with the expected and actual
// replies. 0 when every test passes; 1 on a failure, a bot or test file that does not load, or
// no tests. `junit`: also write a JUnit XML report there.
int RunBotTest(const std::string& file, const std::vector<std::string>& tests,
               const std::optional<std::string>& junit, std::ostream& out, std::ostream& err);

// `bot eval-intents --dataset FILE [--json] [--threshold X]`.
int RunEvalIntents(const std::string& dataset, bool json, std::optional<double> threshold,
                   std::ostream& out, std::ostream& err);

}  // namespace parley::app

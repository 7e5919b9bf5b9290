#include "app/bot_cli.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "bot/conversation_tests.hpp"
#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "bot/intent_eval.hpp"
#include "core/clock.hpp"
#include "delivery/webhook_client.hpp"

namespace parley::app {
namespace json = boost::json;
namespace {

// Loads and builds a bot, printing diagnostics on failure.
std::shared_ptr<const bot::DialogBot> LoadBot(const std::string& file, bool allow_insecure,
                                              const Clock& clock, std::ostream& err) {
  bot::DefinitionOptions options;
  options.allow_insecure_calls = allow_insecure;
  bot::DefinitionResult parsed = bot::LoadDefinitionFile(file, options);
  if (!parsed.definition) {
    for (const auto& d : parsed.errors) err << d.ToString() << '\n';
    return nullptr;
  }
  auto built = bot::DialogBot::Create(std::move(*parsed.definition), clock);
  if (!built) {
    err << file << ": the intents could not be trained: " << built.error().message << '\n';
    return nullptr;
  }
  return *built;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Prints one bot turn; numbers the choices (menu items, carousel payload buttons) of each menu
// or carousel from 1 and records the payloads of the last one, so that the next line picks
// one of the latest choices by number (an older menu's items are chosen by their text).
void PrintReply(const bot::BotReply& reply, const std::string& sender, std::ostream& out,
                std::map<int, std::string>& choices) {
  if (reply.messages.empty()) return;
  choices.clear();
  int n = 0;
  for (const auto& body : reply.messages) {
    if (const auto* t = std::get_if<channel::TextBody>(&body)) {
      for (size_t i = 0; i < t->text.size(); ++i)
        out << (i == 0 ? sender + ": " : std::string(sender.size() + 2, ' ')) << t->text[i] << '\n';
    } else if (const auto* m = std::get_if<channel::MenuBody>(&body)) {
      out << sender << ": " << m->title << '\n';
      choices.clear();
      n = 0;
      for (const auto& item : m->items) {
        choices[++n] = item.payload;
        out << "  " << n << ") " << item.text << '\n';
      }
    } else if (const auto* c = std::get_if<channel::CarouselBody>(&body)) {
      out << sender << ": " << (c->title ? *c->title : std::string("[carousel]")) << '\n';
      choices.clear();
      n = 0;
      for (const auto& item : c->items) {
        out << "  * " << item.title;
        if (item.subtitle) out << " - " << *item.subtitle;
        out << '\n';
        if (item.image_url) out << "    image: " << *item.image_url << '\n';
        for (const auto& b : item.buttons) {
          if (b.payload) {
            choices[++n] = *b.payload;
            out << "    " << n << ") " << b.text << '\n';
          } else if (b.url) {
            out << "    [" << b.text << "] " << *b.url << '\n';
          }
        }
      }
    } else if (const auto* l = std::get_if<channel::LinkButtonBody>(&body)) {
      out << sender << ": " << l->title << '\n' << "  [" << l->label << "] " << l->url << '\n';
    } else {
      out << sender << ": (" << channel::TypeName(body) << ")\n";
    }
  }
}

}  // namespace

int RunBotCheck(const std::string& file, bool allow_insecure_calls, std::ostream& out,
                std::ostream& err) {
  SystemClock clock;
  auto bot = LoadBot(file, allow_insecure_calls, clock, err);
  if (!bot) return 1;
  const bot::BotDefinition& d = bot->definition();
  size_t examples = 0;
  for (const auto& i : d.intents) examples += i.examples.size();
  out << fmt::format(
      "{}: OK: bot '{}', {} intents ({} examples), {} flows, {} menus, {} "
      "escalation queues\n",
      file, d.name, d.intents.size(), examples, d.flows.size(), d.menus.size(),
      d.escalation ? d.escalation->queues.size() : 0);
  return 0;
}

bot::CallOutcome PerformCall(const bot::ExternalCall& call, bool allow_insecure) {
  namespace asio = boost::asio;
  bot::CallOutcome outcome;
  asio::io_context io;
  delivery::WebhookClientOptions options;
  options.allow_insecure = allow_insecure;
  delivery::WebhookClient client(io.get_executor(), options);
  delivery::HttpRequest req;
  req.url = call.url;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = json::serialize(call.request);
  req.timeout = std::chrono::milliseconds(call.timeout_ms);
  std::optional<Result<delivery::HttpResponse>> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await client.Post(std::move(req));
        client.Close();
      },
      asio::detached);
  io.run();
  if (!result) {
    outcome.error = "the call did not finish";
  } else if (!*result) {
    outcome.error = result->error().code + ": " + result->error().message;
  } else if ((*result)->cut && (*result)->status / 100 == 2) {
    outcome.error = "the action's answer is longer than Parley reads of an answer (64 KiB)";
  } else {
    outcome = bot::CallOutcomeFromHttp((*result)->status, (*result)->body);
  }
  return outcome;
}

int RunBotChat(const std::string& file, const ChatOptions& options, std::istream& in,
               std::ostream& out, std::ostream& err) {
  SystemClock clock;
  auto bot = LoadBot(file, options.allow_insecure_calls, clock, err);
  if (!bot) return 1;
  const std::string sender = bot->definition().name;
  out << fmt::format(
      "Chatting with {} ({}). Type a message; a number picks a choice; end with "
      "Ctrl-D.\n",
      sender, file);
  bot::CustomerTurn turn;
  turn.conversation_id = "chat";
  turn.customer_id = "chat-customer";
  turn.customer_name = options.customer_name;
  json::value state;
  std::map<int, std::string> choices;
  std::string line;
  while (out << "> " << std::flush, std::getline(in, line)) {
    line = Trim(line);
    // Piped input is not shown by a terminal: echo it, so the transcript reads as a dialogue.
    if (options.echo_input) out << line << '\n';
    if (line.empty()) continue;
    turn.first_turn = state.is_null();
    turn.text.clear();
    turn.postback.reset();
    int number = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), number);
    if (ec == std::errc() && end == line.data() + line.size() && choices.contains(number)) {
      turn.postback = choices[number];
      out << "  (chose " << *turn.postback << ")\n";
    } else {
      turn.text = {line};
    }
    bot::DialogBot::Traced traced = bot->Trace(turn, state);
    if (options.show_intents && traced.recognised) {
      const auto& p = *traced.recognised;
      bool understood = bot::IsUnderstood(p, bot->definition().threshold);
      out << fmt::format("  ({}: {} {:.2f}, probability {:.2f}, similarity {:.2f})\n",
                         understood ? "intent" : "not understood, best guess",
                         p.intent.empty() ? "-" : p.intent, p.confidence, p.probability,
                         p.similarity);
    }
    if (traced.reply.note) {
      for (const auto& f : traced.reply.note->filled)
        out << fmt::format("  (slot {} = {}, from \"{}\")\n", f.slot, f.value, f.words);
    }
    bot::BotReply reply = std::move(traced.reply);
    state = reply.state;
    PrintReply(reply, sender, out, choices);
    // A call step is run now, as the conversation layer would after the commit.
    for (int calls = 0; reply.call && calls < 10; ++calls) {
      out << "  (call POST " << reply.call->url << ")\n";
      bot::CallOutcome outcome = PerformCall(*reply.call, options.allow_insecure_calls);
      out << (outcome.ok ? std::string("  (call ok)\n")
                         : "  (call failed: " + outcome.error + ")\n");
      reply = bot->OnCallResult(turn, outcome, state);
      state = reply.state;
      PrintReply(reply, sender, out, choices);
    }
    if (reply.next == bot::BotReply::Next::kEscalate) {
      out << "  (handed over to queue '" << reply.queue.value_or("") << "': a person takes it from "
          << "here; the bot is done with this conversation)\n";
      return 0;
    }
  }
  out << '\n';
  return 0;
}

int RunBotTest(const std::string& file, const std::vector<std::string>& tests,
               const std::optional<std::string>& junit, std::ostream& out, std::ostream& err) {
  SystemClock clock;
  // Calls are answered by the tests' stubs and never made, so any call URL may load.
  auto bot = LoadBot(file, true, clock, err);
  if (!bot) return 1;
  std::vector<std::string> paths = tests;
  if (paths.empty()) paths.push_back(bot::DefaultTestsPath(file));
  std::vector<bot::TestOutcome> all;
  bool broken = false;
  for (const auto& path : paths) {
    bot::ConversationTestFile parsed = bot::LoadConversationTests(path);
    if (!parsed.errors.empty()) {
      for (const auto& d : parsed.errors) err << d.ToString() << '\n';
      broken = true;
      continue;
    }
    out << path << ": " << parsed.tests.size() << " tests\n";
    for (auto& outcome : bot::RunConversationTests(*bot, parsed)) {
      if (outcome.passed()) {
        out << "  ok    " << outcome.name << '\n';
      } else {
        out << "  FAIL  " << outcome.name << " (" << path << ":" << outcome.line << ")\n";
        for (const auto& f : outcome.failures) out << "    " << f << '\n';
      }
      all.push_back(std::move(outcome));
    }
  }
  size_t failed = 0;
  for (const auto& o : all) failed += o.passed() ? 0 : 1;
  out << fmt::format("{} tests, {} passed, {} failed\n", all.size(), all.size() - failed, failed);
  if (junit) {
    std::ofstream xml(*junit, std::ios::binary | std::ios::trunc);
    std::string suite = std::filesystem::path(file).stem().string();
    xml << bot::JUnitXml(suite, all);
    if (!xml) {
      err << *junit << ": cannot write the JUnit report\n";
      return 1;
    }
  }
  if (all.empty() && !broken) err << "no tests were found\n";
  return broken || failed > 0 || all.empty() ? 1 : 0;
}

int RunEvalIntents(const std::string& dataset, bool as_json, std::optional<double> threshold,
                   std::ostream& out, std::ostream& err) {
  auto report = bot::EvalIntents(dataset, threshold);
  if (!report) {
    err << report.error().message << '\n';
    return 1;
  }
  if (as_json) {
    json::object o{{"in_scope_accuracy", report->in_scope_accuracy},
                   {"oos_recall", report->oos_recall},
                   {"train_seconds", report->train_seconds},
                   {"us_per_query", report->us_per_query}};
    out << json::serialize(o) << '\n';
  } else {
    out << fmt::format(
        "in-scope accuracy {:.2f} %\nout-of-scope recall {:.2f} %\ntraining {:.2f} s\nquery "
        "{:.1f} us\nthreshold {:.3f}\n",
        report->in_scope_accuracy, report->oos_recall, report->train_seconds, report->us_per_query,
        report->threshold);
  }
  return 0;
}

void AddBotCommands(CLI::App& app) {
  CLI::App* bot = app.add_subcommand("bot", "Check, try and evaluate bot definitions");
  bot->require_subcommand(1);

  struct CheckArgs {
    std::string file;
    bool insecure = false;
  };
  auto check_args = std::make_shared<CheckArgs>();
  CLI::App* check = bot->add_subcommand("check",
                                        "Validate a bot file (exit 1 with file:line: "
                                        "reason on errors)");
  check->add_option("FILE", check_args->file, "The bot's YAML file")->required();
  check->add_flag("--allow-insecure-calls", check_args->insecure,
                  "Accept http:// and private addresses in call steps");
  check->callback([check_args] {
    int rc = RunBotCheck(check_args->file, check_args->insecure, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  struct ChatArgs {
    std::string file;
    ChatOptions options;
  };
  auto chat_args = std::make_shared<ChatArgs>();
  CLI::App* chat = bot->add_subcommand("chat", "Talk to a bot in the terminal, no server needed");
  chat->add_option("FILE", chat_args->file, "The bot's YAML file")->required();
  chat->add_option("--name", chat_args->options.customer_name, "The customer's name")
      ->capture_default_str();
  chat->add_flag("--allow-insecure-calls", chat_args->options.allow_insecure_calls,
                 "Let call steps use http:// and private addresses");
  chat->callback([chat_args] {
    chat_args->options.echo_input = !::isatty(STDIN_FILENO);
    int rc = RunBotChat(chat_args->file, chat_args->options, std::cin, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  struct TestArgs {
    std::string file;
    std::vector<std::string> tests;
    std::string junit;
  };
  auto test_args = std::make_shared<TestArgs>();
  CLI::App* test = bot->add_subcommand(
      "test", "Run a bot's conversation tests (FILE's NAME.test.yaml beside it, or TESTS)");
  test->add_option("FILE", test_args->file, "The bot's YAML file")->required();
  test->add_option("TESTS", test_args->tests, "Test files (default: NAME.test.yaml beside FILE)");
  auto* junit = test->add_option("--junit", test_args->junit, "Also write a JUnit XML report");
  test->callback([test_args, junit] {
    std::optional<std::string> report;
    if (junit->count() > 0) report = test_args->junit;
    int rc = RunBotTest(test_args->file, test_args->tests, report, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  struct EvalArgs {
    std::string dataset;
    bool json = false;
    double threshold = bot::kDefaultIntentThreshold;
  };
  auto eval_args = std::make_shared<EvalArgs>();
  CLI::App* eval = bot->add_subcommand(
      "eval-intents", "Train and score the intent classifier on a CLINC150-format dataset");
  eval->add_option("--dataset", eval_args->dataset, "The dataset (JSON, CLINC150 format)")
      ->required();
  eval->add_flag("--json", eval_args->json, "Print one JSON object");
  auto* threshold = eval->add_option("--threshold", eval_args->threshold,
                                     "Confidence below which a query is out of scope (default: "
                                     "what a bot file without a threshold gets)")
                        ->check(CLI::Range(0.0, 1.0));
  eval->callback([eval_args, threshold] {
    std::optional<double> t;
    if (threshold->count() > 0) t = eval_args->threshold;
    int rc = RunEvalIntents(eval_args->dataset, eval_args->json, t, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace parley::app

#include "app/connection_cli.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "app/cli_output.hpp"
#include "app/rest_client.hpp"
#include "channel/capabilities.hpp"

namespace parley::app {
namespace json = boost::json;

namespace {

struct Target {
  std::string server;
  std::string token;
};

// Prints the answer: the JSON body on stdout for 2xx, the error on stderr otherwise.
int Report(const Result<RestResponse>& r) {
  if (!r) {
    std::cerr << "parley: " << r.error().message << "\n";
    return 1;
  }
  if (r->status >= 200 && r->status < 300) {
    std::cout << r->body << "\n";
    return 0;
  }
  std::cerr << ErrorLines(r->status, r->body) << "\n";
  return 1;
}

// CLI11 turns a RuntimeError into the process's exit status.
void Finish(int rc) {
  if (rc != 0) throw CLI::RuntimeError(rc);
}

// `--capabilities menu,link_button`: the names separated by commas, or `none` for a channel that
// shows only text. The JSON array the API takes, or an error saying what to write instead.
std::optional<json::array> CapabilityList(const std::string& text, std::string& error) {
  const std::vector<std::string> known = channel::CapabilityNames(channel::Capabilities::All());
  json::array out;
  std::string trimmed;
  for (char ch : text) {
    if (ch != ' ') trimmed.push_back(ch);
  }
  if (trimmed == "none") return out;
  size_t pos = 0;
  while (pos <= trimmed.size()) {
    size_t end = trimmed.find(',', pos);
    if (end == std::string::npos) end = trimmed.size();
    const std::string name = trimmed.substr(pos, end - pos);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      error =
          "write menu, carousel, link_button and typing_indicator separated by commas, or "
          "none for text only";
      error += name.empty() ? " (an empty name)" : "; '" + name.substr(0, 64) + "' is none of them";
      return std::nullopt;
    }
    out.emplace_back(name);
    pos = end + 1;
  }
  return out;
}

CLI::Validator CapabilityListValidator() {
  return CLI::Validator(
      [](std::string& value) {
        std::string error;
        return CapabilityList(value, error) ? std::string() : error;
      },
      "LIST");
}

constexpr const char* kCapabilitiesHelp =
    "what the channel can show: menu,carousel,link_button,typing_indicator (comma-separated), "
    "or none for text only; the rest is sent as text";

void AddTargetOptions(CLI::App* cmd, Target& t) {
  cmd->add_option("--server", t.server, "Parley base URL (env PARLEY_URL)")
      ->default_str("http://127.0.0.1:8080");
  cmd->add_option("--admin-token", t.token, "admin token (env PARLEY_ADMIN_TOKEN)");
}

}  // namespace

void AddConnectionCommands(CLI::App& app) {
  auto* conn = app.add_subcommand("connection", "Manage connections (Digital Messaging Manager)");
  conn->require_subcommand(1);
  auto target = std::make_shared<Target>(
      Target{EnvOr("PARLEY_URL", "http://127.0.0.1:8080"), EnvOr("PARLEY_ADMIN_TOKEN")});
  auto fields = std::make_shared<json::object>();
  auto id = std::make_shared<std::string>();

  auto* create = conn->add_subcommand("create", "Create a connection; prints its four settings");
  AddTargetOptions(create, *target);
  auto name = std::make_shared<std::string>();
  auto webhook = std::make_shared<std::string>();
  auto bot = std::make_shared<std::string>();
  auto queue = std::make_shared<std::string>();
  create->add_option("--name", *name, "unique name, 1-100 characters")->required();
  create->add_option("--webhook", *webhook, "the client webhook (https://...)")->required();
  create->add_option("--bot", *bot,
                     "bot name, or none (default: the only loaded bot when there is one, else "
                     "none)");
  create->add_option("--queue", *queue,
                     "where its customers wait without a bot or when the bot names no queue "
                     "(default: default)");
  auto capabilities = std::make_shared<std::optional<std::string>>();
  create
      ->add_option_function<std::string>(
          "--capabilities", [=](const std::string& v) { *capabilities = v; },
          std::string(kCapabilitiesHelp) + " (default: all)")
      ->check(CapabilityListValidator());
  create->callback([=] {
    json::object body{{"name", *name}, {"client_webhook", *webhook}};
    if (!bot->empty()) body["bot"] = *bot;
    if (!queue->empty()) body["queue"] = *queue;
    std::string unused;
    if (*capabilities) body["capabilities"] = *CapabilityList(**capabilities, unused);
    Finish(Report(RestCall("POST", target->server, "/api/v1/connections", target->token,
                           json::serialize(body))));
  });

  auto* list = conn->add_subcommand("list", "List connections (no secrets): a table, or --json");
  AddTargetOptions(list, *target);
  auto as_json = std::make_shared<bool>(false);
  AddJsonFlag(list, *as_json);
  list->callback([=] {
    std::vector<Column> columns{{"ID", Field("connection_id")},
                                {"NAME", Field("name")},
                                {"BOT", Field("bot")},
                                {"ENABLED", Field("enabled")},
                                {"CLIENT WEBHOOK", Field("client_webhook")}};
    Finish(ReportList(RestCall("GET", target->server, "/api/v1/connections", target->token),
                      "connections", columns, *as_json));
  });

  auto* show = conn->add_subcommand("show", "Show one connection, with its secret");
  AddTargetOptions(show, *target);
  show->add_option("id", *id, "connection ID")->required();
  show->callback([=] {
    Finish(Report(RestCall("GET", target->server, "/api/v1/connections/" + *id, target->token)));
  });

  auto* update =
      conn->add_subcommand("update", "Change name, webhook, bot, queue, enabled or capabilities");
  AddTargetOptions(update, *target);
  update->add_option("id", *id, "connection ID")->required();
  auto new_name = std::make_shared<std::optional<std::string>>();
  auto new_hook = std::make_shared<std::optional<std::string>>();
  auto new_bot = std::make_shared<std::optional<std::string>>();
  auto new_queue = std::make_shared<std::optional<std::string>>();
  auto enabled = std::make_shared<std::optional<bool>>();
  update->add_option_function<std::string>("--name", [=](const std::string& v) { *new_name = v; });
  update->add_option_function<std::string>("--webhook",
                                           [=](const std::string& v) { *new_hook = v; });
  update->add_option_function<std::string>("--bot", [=](const std::string& v) { *new_bot = v; });
  update->add_option_function<std::string>("--queue",
                                           [=](const std::string& v) { *new_queue = v; });
  update->add_flag_function("--enable", [=](int64_t) { *enabled = true; });
  update->add_flag_function("--disable", [=](int64_t) { *enabled = false; });
  auto new_capabilities = std::make_shared<std::optional<std::string>>();
  update
      ->add_option_function<std::string>(
          "--capabilities", [=](const std::string& v) { *new_capabilities = v; }, kCapabilitiesHelp)
      ->check(CapabilityListValidator());
  update->callback([=] {
    json::object body;
    std::string unused;
    if (*new_capabilities) body["capabilities"] = *CapabilityList(**new_capabilities, unused);
    if (*new_name) body["name"] = **new_name;
    if (*new_hook) body["client_webhook"] = **new_hook;
    if (*new_bot) body["bot"] = **new_bot;
    if (*new_queue) body["queue"] = **new_queue;
    if (*enabled) body["enabled"] = **enabled;
    Finish(Report(RestCall("PATCH", target->server, "/api/v1/connections/" + *id, target->token,
                           json::serialize(body))));
  });

  auto* rotate = conn->add_subcommand(
      "rotate-secret", "Make a new JWT secret (the old one keeps working for the grace period)");
  AddTargetOptions(rotate, *target);
  rotate->add_option("id", *id, "connection ID")->required();
  rotate->callback([=] {
    Finish(Report(RestCall("POST", target->server, "/api/v1/connections/" + *id + "/rotate-secret",
                           target->token)));
  });

  auto* del = conn->add_subcommand("delete", "Delete a connection");
  AddTargetOptions(del, *target);
  del->add_option("id", *id, "connection ID")->required();
  del->callback([=] {
    Finish(Report(RestCall("DELETE", target->server, "/api/v1/connections/" + *id, target->token)));
  });
}

}  // namespace parley::app

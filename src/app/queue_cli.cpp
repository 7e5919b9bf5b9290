#include "app/queue_cli.hpp"

#include <boost/json.hpp>
#include <memory>
#include <optional>

#include "app/cli_output.hpp"
#include "app/user_cli.hpp"

namespace parley::app {
namespace json = boost::json;

void AddQueueCommands(CLI::App& app) {
  auto* queue = app.add_subcommand("queue", "Manage the queues customers wait in for a person");
  queue->require_subcommand(1);
  auto target = std::make_shared<RestTarget>(DefaultRestTarget());
  auto name = std::make_shared<std::string>();

  auto* create = queue->add_subcommand("create", "Create a queue");
  AddRestTargetOptions(create, *target);
  struct Args {
    std::string display_name;
    bool auto_accept = false;
    std::optional<int64_t> max_wait_s;
    std::optional<std::string> closed_text;
  };
  auto a = std::make_shared<Args>();
  create->add_option("name", *name, "1-64 of a-z 0-9 . _ -")->required();
  create->add_option("--display-name", a->display_name, "the queue's name for people")->required();
  create->add_flag("--auto-accept", a->auto_accept,
                   "assign conversations to agents without an offer to accept");
  create->add_option_function<int64_t>(
      "--max-wait-s", [=](int64_t v) { a->max_wait_s = v; },
      "customers expected to wait longer are not queued");
  create->add_option_function<std::string>(
      "--closed-text", [=](const std::string& v) { a->closed_text = v; },
      "what a customer who is not queued because of --max-wait-s is told");
  create->callback([=] {
    json::object body{
        {"name", *name}, {"display_name", a->display_name}, {"auto_accept", a->auto_accept}};
    if (a->max_wait_s) body["max_wait_s"] = *a->max_wait_s;
    if (a->closed_text) body["closed_text"] = *a->closed_text;
    FinishRest(ReportRest(
        RestCall("POST", target->server, "/api/v1/queues", target->token, json::serialize(body))));
  });

  auto* list = queue->add_subcommand("list", "List queues: a table, or --json");
  AddRestTargetOptions(list, *target);
  auto as_json = std::make_shared<bool>(false);
  AddJsonFlag(list, *as_json);
  list->callback([=] {
    std::vector<Column> columns{{"NAME", Field("name")},
                                {"DISPLAY NAME", Field("display_name")},
                                {"WAITING", Field("waiting")},
                                {"AGENTS AVAILABLE", Field("agents_available")},
                                {"AUTO-ACCEPT", Field("auto_accept")}};
    FinishRest(ReportList(RestCall("GET", target->server, "/api/v1/queues", target->token),
                          "queues", columns, *as_json));
  });

  auto* del = queue->add_subcommand("delete", "Delete a queue");
  AddRestTargetOptions(del, *target);
  del->add_option("name", *name, "the queue's name")->required();
  del->callback([=] {
    FinishRest(ReportRest(
        RestCall("DELETE", target->server, "/api/v1/queues/" + PathSegment(*name), target->token)));
  });
}

}  // namespace parley::app

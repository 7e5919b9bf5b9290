#include "app/user_cli.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "app/cli_output.hpp"

namespace parley::app {
namespace json = boost::json;

namespace {

// The first line of standard input, without its line ending; nothing when stdin is empty.
std::optional<std::string> ReadPasswordLine() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return std::nullopt;
  return line;
}

std::string PasswordOrFail() {
  auto pw = ReadPasswordLine();
  if (!pw) {
    std::cerr << "parley: no password on standard input; pipe it in, e.g. "
                 "`printf '%s\\n' \"$PW\" | parley user ... --password-stdin`\n";
    throw CLI::RuntimeError(1);
  }
  return *pw;
}

json::array QueueArray(const std::vector<std::string>& queues) {
  json::array a;
  for (const auto& q : queues) a.emplace_back(q);
  return a;
}

}  // namespace

RestTarget DefaultRestTarget() {
  return RestTarget{EnvOr("PARLEY_URL", "http://127.0.0.1:8080"), EnvOr("PARLEY_ADMIN_TOKEN")};
}

void AddRestTargetOptions(CLI::App* cmd, RestTarget& t) {
  cmd->add_option("--server", t.server, "Parley base URL (env PARLEY_URL)")
      ->default_str("http://127.0.0.1:8080");
  cmd->add_option("--admin-token", t.token, "admin token (env PARLEY_ADMIN_TOKEN)");
}

int ReportRest(const Result<RestResponse>& r) {
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

void FinishRest(int rc) {
  if (rc != 0) throw CLI::RuntimeError(rc);
}

std::string PathSegment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void AddUserCommands(CLI::App& app) {
  auto* user =
      app.add_subcommand("user", "Manage the people who sign in (admins, supervisors and agents)");
  user->require_subcommand(1);
  auto target = std::make_shared<RestTarget>(DefaultRestTarget());
  auto username = std::make_shared<std::string>();

  auto* create = user->add_subcommand(
      "create", "Create a user; the password is read from standard input (--password-stdin)");
  AddRestTargetOptions(create, *target);
  struct NewUserArgs {
    std::string display_name;
    std::string role = "agent";
    std::vector<std::string> queues;
    int64_t max_chats = 3;
    bool password_stdin = false;
    bool disabled = false;
  };
  auto nu = std::make_shared<NewUserArgs>();
  create->add_option("--username", *username, "1-64 of a-z 0-9 . _ -")->required();
  create->add_option("--display-name", nu->display_name, "name shown to customers")->required();
  create->add_option("--role", nu->role, "agent, supervisor or admin")->capture_default_str();
  create->add_option("--queue", nu->queues, "a queue the user serves (repeat for more)");
  create->add_option("--max-chats", nu->max_chats, "chats at once, 1-20")->capture_default_str();
  create
      ->add_flag("--password-stdin", nu->password_stdin,
                 "read the password (10+ characters) from the first line of stdin")
      ->required();
  create->add_flag("--disabled", nu->disabled, "create the user switched off");
  create->callback([=] {
    json::object body{{"username", *username},
                      {"password", PasswordOrFail()},
                      {"display_name", nu->display_name},
                      {"role", nu->role},
                      {"queues", QueueArray(nu->queues)},
                      {"max_chats", nu->max_chats},
                      {"enabled", !nu->disabled}};
    FinishRest(ReportRest(
        RestCall("POST", target->server, "/api/v1/users", target->token, json::serialize(body))));
  });

  auto* list = user->add_subcommand("list", "List users: a table, or --json");
  AddRestTargetOptions(list, *target);
  auto as_json = std::make_shared<bool>(false);
  AddJsonFlag(list, *as_json);
  list->callback([=] {
    std::vector<Column> columns{{"USERNAME", Field("username")},   {"NAME", Field("display_name")},
                                {"ROLE", Field("role")},           {"QUEUES", Field("queues")},
                                {"MAX CHATS", Field("max_chats")}, {"ENABLED", Field("enabled")}};
    FinishRest(ReportList(RestCall("GET", target->server, "/api/v1/users", target->token), "users",
                          columns, *as_json));
  });

  auto* show = user->add_subcommand("show", "Show one user");
  AddRestTargetOptions(show, *target);
  show->add_option("username", *username, "the username")->required();
  show->callback([=] {
    FinishRest(ReportRest(
        RestCall("GET", target->server, "/api/v1/users/" + PathSegment(*username), target->token)));
  });

  auto* update = user->add_subcommand(
      "update", "Change display name, role, queues, max chats, or enable/disable a user");
  AddRestTargetOptions(update, *target);
  update->add_option("username", *username, "the username")->required();
  struct Changes {
    std::optional<std::string> display_name;
    std::optional<std::string> role;
    std::vector<std::string> queues;
    bool clear_queues = false;
    std::optional<int64_t> max_chats;
    std::optional<bool> enabled;
  };
  auto ch = std::make_shared<Changes>();
  update->add_option_function<std::string>("--display-name",
                                           [=](const std::string& v) { ch->display_name = v; });
  update->add_option_function<std::string>("--role", [=](const std::string& v) { ch->role = v; });
  update->add_option("--queue", ch->queues, "the user's queues (replaces the list; repeat)");
  update->add_flag("--no-queues", ch->clear_queues, "take the user out of every queue");
  update->add_option_function<int64_t>("--max-chats", [=](int64_t v) { ch->max_chats = v; });
  update->add_flag_function("--enable", [=](int64_t) { ch->enabled = true; });
  update->add_flag_function(
      "--disable", [=](int64_t) { ch->enabled = false; },
      "switch the user off and end their sessions");
  update->callback([=] {
    json::object body;
    if (ch->display_name) body["display_name"] = *ch->display_name;
    if (ch->role) body["role"] = *ch->role;
    if (!ch->queues.empty() || ch->clear_queues) body["queues"] = QueueArray(ch->queues);
    if (ch->max_chats) body["max_chats"] = *ch->max_chats;
    if (ch->enabled) body["enabled"] = *ch->enabled;
    if (body.empty()) {
      std::cerr << "parley: nothing to change; give --display-name, --role, --queue, "
                   "--no-queues, --max-chats, --enable or --disable\n";
      throw CLI::RuntimeError(1);
    }
    FinishRest(
        ReportRest(RestCall("PATCH", target->server, "/api/v1/users/" + PathSegment(*username),
                            target->token, json::serialize(body))));
  });

  auto* del = user->add_subcommand("delete", "Delete a user (ends their sessions)");
  AddRestTargetOptions(del, *target);
  del->add_option("username", *username, "the username")->required();
  del->callback([=] {
    FinishRest(ReportRest(RestCall("DELETE", target->server,
                                   "/api/v1/users/" + PathSegment(*username), target->token)));
  });

  auto* password = user->add_subcommand(
      "password", "Set a user's password from standard input (ends their sessions)");
  AddRestTargetOptions(password, *target);
  password->add_option("username", *username, "the username")->required();
  // CLI11 writes the flag through the reference it was given, after this function returns:
  // the callback holds the shared_ptr so the bool lives as long as the command (ASan caught a
  // write into freed memory when nothing captured it).
  auto from_stdin = std::make_shared<bool>(false);
  password
      ->add_flag("--password-stdin", *from_stdin,
                 "read the new password (10+ characters) from the first line of stdin")
      ->required();
  password->callback([=] {
    if (!*from_stdin) throw CLI::RuntimeError(1);  // required() makes this unreachable
    json::object body{{"password", PasswordOrFail()}};
    FinishRest(ReportRest(RestCall("POST", target->server,
                                   "/api/v1/users/" + PathSegment(*username) + "/password",
                                   target->token, json::serialize(body))));
  });
}

}  // namespace parley::app

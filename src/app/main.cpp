// parley: one binary, many subcommands (DESIGN.md "CLI"). main only parses and wires.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "app/bot_cli.hpp"
#include "app/client_cli.hpp"
#include "app/config.hpp"
#include "app/connection_cli.hpp"
#include "app/demo.hpp"
#include "app/key_cli.hpp"
#include "app/ops_cli.hpp"
#include "app/queue_cli.hpp"
#include "app/serve.hpp"
#include "app/user_cli.hpp"
#include "core/json_log.hpp"
#include "storage/store.hpp"

namespace {

void UseStderrLogging(const std::string& level, const std::string& format = "text") {
  auto logger = spdlog::get("parley");
  if (!logger) logger = spdlog::stderr_color_mt("parley");
  if (format == "json")
    logger->set_formatter(std::make_unique<parley::JsonLogFormatter>());
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Parley: a digital messaging service speaking the Client Channel API"};
  app.set_version_flag("--version", std::string("parley ") + PARLEY_VERSION);
  app.require_subcommand(1);

  // serve
  parley::app::Config config;
  std::string config_file;
  std::optional<std::string> listen, database, public_url, bots_dir, ca_file, log_level, log_format,
      node_id;
  std::optional<int64_t> retry_initial, retry_max, retry_for, webhook_timeout, header_timeout,
      body_timeout, max_body, io_threads, rate_limit;
  bool insecure = false;
  bool test_clock = false;
  auto* serve = app.add_subcommand("serve", "Run the server");
  serve->add_option("--config", config_file, "YAML config file");
  serve->add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks a free one)");
  serve->add_option("--database", database, "sqlite:///path/parley.db");
  serve->add_option("--public-url", public_url, "URL the integration layer reaches this server at");
  serve->add_flag("--allow-insecure-webhooks", insecure,
                  "allow http:// and private/loopback webhooks (development and tests only)");
  serve->add_flag("--test-clock", test_clock,
                  "let an admin move the server's clock with PUT /api/v1/test/clock (tests only)");
  serve->add_option("--bots", bots_dir, "folder of bot definitions (*.yaml)");
  serve->add_option("--webhook-ca-file", ca_file, "extra CA bundle (PEM) for webhook TLS");
  serve->add_option("--retry-initial-ms", retry_initial, "first retry delay");
  serve->add_option("--retry-max-ms", retry_max, "longest retry delay");
  serve->add_option("--retry-for-seconds", retry_for, "dead-letter after this long");
  serve->add_option("--webhook-timeout-ms", webhook_timeout, "webhook answer deadline");
  serve->add_option("--header-timeout-ms", header_timeout, "request header deadline");
  serve->add_option("--body-timeout-ms", body_timeout, "request body deadline");
  serve->add_option("--max-body-bytes", max_body, "largest accepted request body");
  serve->add_option("--io-threads", io_threads, "I/O threads");
  serve->add_option("--rate-limit", rate_limit, "inbound events a second per connection (0: none)");
  serve->add_option("--node-id", node_id,
                    "this node's id among several on one database (default: generated)");
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error");
  serve->add_option("--log-format", log_format, "text (default) or json: one JSON object a line");
  int exit_code = 0;
  serve->callback([&] {
    if (!config_file.empty()) {
      auto loaded = parley::app::LoadConfigFile(config_file, config);
      if (!loaded) {
        UseStderrLogging("info");
        spdlog::error("{}", loaded.error().message);
        throw CLI::RuntimeError(1);
      }
    }
    parley::app::ApplyEnvironment(config);
    if (listen) config.listen = *listen;
    if (database) config.database = *database;
    if (public_url) config.public_url = *public_url;
    if (insecure) config.allow_insecure_webhooks = true;
    if (test_clock) config.test_clock = true;
    if (bots_dir) config.bots_dir = *bots_dir;
    if (ca_file) config.webhook_ca_file = *ca_file;
    if (retry_initial) config.retry_initial_ms = *retry_initial;
    if (retry_max) config.retry_max_ms = *retry_max;
    if (retry_for) config.retry_for_seconds = *retry_for;
    if (webhook_timeout) config.webhook_timeout_ms = *webhook_timeout;
    if (header_timeout) config.header_timeout_ms = *header_timeout;
    if (body_timeout) config.body_timeout_ms = *body_timeout;
    if (max_body) config.max_body_bytes = *max_body;
    if (io_threads) config.io_threads = *io_threads;
    if (rate_limit) config.rate_limit_per_second = *rate_limit;
    if (node_id) config.node_id = *node_id;
    if (log_level) config.log_level = *log_level;
    if (log_format) config.log_format = *log_format;
    UseStderrLogging(config.log_level, config.log_format == "json" ? "json" : "text");
    exit_code = parley::app::RunServe(config);
    if (exit_code != 0) throw CLI::RuntimeError(exit_code);
  });

  // migrate
  std::string migrate_db = "sqlite://parley.db";
  auto* migrate = app.add_subcommand("migrate", "Create or upgrade the database schema, then exit");
  migrate->add_option("--database", migrate_db, "sqlite:///path/parley.db")->capture_default_str();
  migrate->callback([&] {
    UseStderrLogging("info");
    auto store = parley::storage::OpenStore(migrate_db, "");
    if (!store) {
      spdlog::error("{}", store.error().message);
      throw CLI::RuntimeError(1);
    }
    (*store)->Close();
    spdlog::info("database {} is up to date", migrate_db);
  });

  parley::app::AddConnectionCommands(app);
  parley::app::AddBotCommands(app);
  parley::app::AddClientCommands(app);
  parley::app::AddUserCommands(app);
  parley::app::AddQueueCommands(app);
  parley::app::AddDemoCommand(app);
  parley::app::AddKeyCommands(app);
  parley::app::AddOpsCommands(app);

  CLI11_PARSE(app, argc, argv);
  return exit_code;
}

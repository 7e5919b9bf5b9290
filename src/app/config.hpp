#pragma once
// Server configuration: defaults, then the YAML file (--config), then PARLEY_* environment
// variables, then command-line flags — each overriding the one before.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "routing/routing.hpp"

namespace parley::app {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string database = "sqlite://parley.db";
  std::string public_url;  // empty: http://<listen address>
  bool allow_insecure_webhooks = false;
  // Tests only (`serve --test-clock`): PUT /api/v1/test/clock moves the server's clock.
  bool test_clock = false;
  std::string admin_token;
  std::string master_key;  // PARLEY_MASTER_KEY: seals secrets at rest
  // PARLEY_MASTER_KEY_FILE: a file holding the key (mode 0600); default for SQLite: the
  // database's path + ".key", created on first start (docs/architecture.md, "Secrets at rest").
  std::string master_key_file;
  // CIDRs (comma-separated, or a YAML list) whose X-Forwarded-For is believed.
  std::string trusted_proxies;
  std::string bots_dir;
  std::string webhook_ca_file;
  int64_t max_body_bytes = 64 * 1024;
  int64_t header_timeout_ms = 10'000;
  int64_t body_timeout_ms = 30'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t max_connections = 10'000;
  int64_t webhook_timeout_ms = 10'000;
  int64_t retry_initial_ms = 1'000;
  int64_t retry_max_ms = 300'000;
  int64_t retry_for_seconds = 72 * 3600;
  int64_t max_backlog = 1'000'000;
  int64_t secret_grace_seconds = 24 * 3600;
  int64_t io_threads = 2;
  int64_t rate_limit_per_second = 0;  // inbound events per connection; 0 = no limit
  int64_t rate_limit_burst = 0;       // 0 = twice the rate
  // Several nodes on one PostgreSQL database (docs/operations-multinode.md): this node's id
  // (empty: generated at start, host name and a random suffix) and how long its delivery
  // leases last before another node may take a conversation over.
  std::string node_id;
  int64_t delivery_lease_s = 30;
  std::string log_level = "info";
  std::string log_format = "text";  // text | json (one JSON object a line)

  // Agents and routing (docs/api.md, "Agents and routing").
  int64_t session_idle_s = 12 * 3600;      // a sign-in ends after this long without use
  int64_t agent_offline_after_s = 120;     // no open event stream this long: offline
  int64_t offer_timeout_s = 30;            // an offer not accepted within this moves on
  int64_t customer_idle_reminder_s = 600;  // a silent customer is reminded after this
  int64_t customer_idle_end_s = 900;       // and the conversation ends after this
  int64_t default_handle_s = 300;          // handle time until a queue has 10 ended chats
  int64_t wait_time_interval_s = 10;       // wait_time updates at most this often
  routing::Texts texts;                    // assigned_text, transfer_text, … in the YAML file
  // What an agent may give as the reason of being away: a YAML list or "a, b, c".
  std::vector<std::string> away_reasons = {"break", "lunch", "training", "meeting"};
};

// Reads a YAML file of the keys above (same names). Unknown keys and wrong types are refused
// with the file, line and key.
Result<void> LoadConfigFile(const std::string& path, Config& config);

// Applies PARLEY_LISTEN, PARLEY_DATABASE, PARLEY_PUBLIC_URL, PARLEY_ADMIN_TOKEN,
// PARLEY_MASTER_KEY, PARLEY_MASTER_KEY_FILE, PARLEY_TRUSTED_PROXIES, PARLEY_BOTS_DIR,
// PARLEY_WEBHOOK_CA_FILE, PARLEY_ALLOW_INSECURE_WEBHOOKS, PARLEY_LOG_LEVEL, PARLEY_LOG_FORMAT when
// set.
void ApplyEnvironment(Config& config);

// Checks ranges and formats; the message names the setting.
Result<void> Validate(const Config& config);

// Splits "host:port" ("[::1]:8080" for IPv6).
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& listen);

}  // namespace parley::app

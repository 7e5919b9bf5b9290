#include "app/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>

#include "http/client_address.hpp"

namespace parley::app {
namespace {

Failure Bad(std::string message) {
  return Fail(Errc::kInvalidArgument, "invalid_config", std::move(message));
}

}  // namespace

Result<void> LoadConfigFile(const std::string& path, Config& c) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Bad(fmt::format("{}: cannot read the config file.", path));
  } catch (const YAML::Exception& e) {
    return Bad(fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) return Bad(fmt::format("{}: the config must be a mapping of settings.", path));

  std::map<std::string, std::function<void(const YAML::Node&)>> strings = {
      {"listen", [&](const YAML::Node& n) { c.listen = n.as<std::string>(); }},
      {"database", [&](const YAML::Node& n) { c.database = n.as<std::string>(); }},
      {"public_url", [&](const YAML::Node& n) { c.public_url = n.as<std::string>(); }},
      {"admin_token", [&](const YAML::Node& n) { c.admin_token = n.as<std::string>(); }},
      {"master_key", [&](const YAML::Node& n) { c.master_key = n.as<std::string>(); }},
      {"master_key_file", [&](const YAML::Node& n) { c.master_key_file = n.as<std::string>(); }},
      {"trusted_proxies",
       [&](const YAML::Node& n) {
         if (!n.IsSequence()) {
           c.trusted_proxies = n.as<std::string>();
           return;
         }
         c.trusted_proxies.clear();
         for (const auto& item : n) c.trusted_proxies += item.as<std::string>() + ",";
       }},
      {"bots_dir", [&](const YAML::Node& n) { c.bots_dir = n.as<std::string>(); }},
      {"webhook_ca_file", [&](const YAML::Node& n) { c.webhook_ca_file = n.as<std::string>(); }},
      {"log_level", [&](const YAML::Node& n) { c.log_level = n.as<std::string>(); }},
      {"log_format", [&](const YAML::Node& n) { c.log_format = n.as<std::string>(); }},
      {"assigned_text", [&](const YAML::Node& n) { c.texts.assigned_text = n.as<std::string>(); }},
      {"transfer_text", [&](const YAML::Node& n) { c.texts.transfer_text = n.as<std::string>(); }},
      {"requeue_text", [&](const YAML::Node& n) { c.texts.requeue_text = n.as<std::string>(); }},
      {"released_text", [&](const YAML::Node& n) { c.texts.released_text = n.as<std::string>(); }},
      {"idle_reminder_text",
       [&](const YAML::Node& n) { c.texts.idle_reminder_text = n.as<std::string>(); }},
      {"idle_end_text", [&](const YAML::Node& n) { c.texts.idle_end_text = n.as<std::string>(); }},
      {"no_agents_text",
       [&](const YAML::Node& n) { c.texts.no_agents_text = n.as<std::string>(); }},
      {"away_reasons",
       [&](const YAML::Node& n) {
         c.away_reasons.clear();
         if (n.IsSequence()) {
           for (const auto& item : n) c.away_reasons.push_back(item.as<std::string>());
           return;
         }
         std::string text = n.as<std::string>();
         for (size_t from = 0; from <= text.size();) {
           size_t comma = std::min(text.find(',', from), text.size());
           std::string item = text.substr(from, comma - from);
           item.erase(0, item.find_first_not_of(' '));
           item.erase(item.find_last_not_of(' ') + 1);
           if (!item.empty()) c.away_reasons.push_back(item);
           from = comma + 1;
         }
       }},
      {"node_id", [&](const YAML::Node& n) { c.node_id = n.as<std::string>(); }},
      {"allow_insecure_webhooks",
       [&](const YAML::Node& n) { c.allow_insecure_webhooks = n.as<bool>(); }},
  };
  std::map<std::string, int64_t*> numbers = {
      {"max_body_bytes", &c.max_body_bytes},
      {"header_timeout_ms", &c.header_timeout_ms},
      {"body_timeout_ms", &c.body_timeout_ms},
      {"idle_timeout_ms", &c.idle_timeout_ms},
      {"max_connections", &c.max_connections},
      {"webhook_timeout_ms", &c.webhook_timeout_ms},
      {"retry_initial_ms", &c.retry_initial_ms},
      {"retry_max_ms", &c.retry_max_ms},
      {"retry_for_seconds", &c.retry_for_seconds},
      {"max_backlog", &c.max_backlog},
      {"secret_grace_seconds", &c.secret_grace_seconds},
      {"io_threads", &c.io_threads},
      {"rate_limit_per_second", &c.rate_limit_per_second},
      {"rate_limit_burst", &c.rate_limit_burst},
      {"session_idle_s", &c.session_idle_s},
      {"agent_offline_after_s", &c.agent_offline_after_s},
      {"offer_timeout_s", &c.offer_timeout_s},
      {"customer_idle_reminder_s", &c.customer_idle_reminder_s},
      {"customer_idle_end_s", &c.customer_idle_end_s},
      {"default_handle_s", &c.default_handle_s},
      {"wait_time_interval_s", &c.wait_time_interval_s},
      {"delivery_lease_s", &c.delivery_lease_s},
  };
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    int line = kv.first.Mark().line + 1;
    try {
      if (auto s = strings.find(key); s != strings.end()) {
        s->second(kv.second);
      } else if (auto n = numbers.find(key); n != numbers.end()) {
        *n->second = kv.second.as<int64_t>();
      } else {
        return Bad(fmt::format("{}:{}: unknown setting '{}'.", path, line, key));
      }
    } catch (const YAML::Exception&) {
      return Bad(fmt::format("{}:{}: '{}' has a value of the wrong type.", path, line, key));
    }
  }
  return {};
}

void ApplyEnvironment(Config& c) {
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  if (auto v = env("PARLEY_LISTEN")) c.listen = *v;
  if (auto v = env("PARLEY_DATABASE")) c.database = *v;
  if (auto v = env("PARLEY_PUBLIC_URL")) c.public_url = *v;
  if (auto v = env("PARLEY_ADMIN_TOKEN")) c.admin_token = *v;
  if (auto v = env("PARLEY_MASTER_KEY")) c.master_key = *v;
  if (auto v = env("PARLEY_MASTER_KEY_FILE")) c.master_key_file = *v;
  if (auto v = env("PARLEY_TRUSTED_PROXIES")) c.trusted_proxies = *v;
  if (auto v = env("PARLEY_BOTS_DIR")) c.bots_dir = *v;
  if (auto v = env("PARLEY_WEBHOOK_CA_FILE")) c.webhook_ca_file = *v;
  if (auto v = env("PARLEY_LOG_LEVEL")) c.log_level = *v;
  if (auto v = env("PARLEY_LOG_FORMAT")) c.log_format = *v;
  if (auto v = env("PARLEY_ALLOW_INSECURE_WEBHOOKS"))
    c.allow_insecure_webhooks = *v == "1" || *v == "true" || *v == "yes";
}

Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    return Bad(fmt::format("listen '{}' must be HOST:PORT, e.g. 127.0.0.1:8080.", listen));
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = host.empty() ? "0.0.0.0" : "127.0.0.1";
  int port = -1;
  std::string digits = listen.substr(colon + 1);
  bool numeric = !digits.empty() && digits.size() <= 5 &&
                 digits.find_first_not_of("0123456789") == std::string::npos;
  if (numeric) port = std::stoi(digits);
  if (port < 0 || port > 65535) return Bad(fmt::format("listen '{}' has an invalid port.", listen));
  return std::pair{host, static_cast<uint16_t>(port)};
}

Result<void> Validate(const Config& c) {
  if (auto hp = SplitHostPort(c.listen); !hp) return Fail(hp.error());
  if (c.log_format != "text" && c.log_format != "json")
    return Fail(Errc::kInvalidArgument, "invalid_config", "log_format must be text or json.");
  struct Range {
    const char* name;
    int64_t value, min, max;
  };
  for (const Range& r : {
           Range{"max_body_bytes", c.max_body_bytes, 1024, 16 * 1024 * 1024},
           Range{"header_timeout_ms", c.header_timeout_ms, 10, 3'600'000},
           Range{"body_timeout_ms", c.body_timeout_ms, 10, 3'600'000},
           Range{"idle_timeout_ms", c.idle_timeout_ms, 10, 3'600'000},
           Range{"max_connections", c.max_connections, 1, 1'000'000},
           Range{"webhook_timeout_ms", c.webhook_timeout_ms, 10, 600'000},
           Range{"retry_initial_ms", c.retry_initial_ms, 1, 3'600'000},
           Range{"retry_max_ms", c.retry_max_ms, 1, 86'400'000},
           Range{"retry_for_seconds", c.retry_for_seconds, 1, 30LL * 86400},
           Range{"max_backlog", c.max_backlog, 1, 100'000'000},
           Range{"secret_grace_seconds", c.secret_grace_seconds, 0, 30LL * 86400},
           Range{"io_threads", c.io_threads, 1, 64},
           Range{"rate_limit_per_second", c.rate_limit_per_second, 0, 10'000'000},
           Range{"rate_limit_burst", c.rate_limit_burst, 0, 100'000'000},
           Range{"session_idle_s", c.session_idle_s, 60, 30LL * 86400},
           Range{"agent_offline_after_s", c.agent_offline_after_s, 1, 86400},
           Range{"offer_timeout_s", c.offer_timeout_s, 1, 3600},
           Range{"customer_idle_reminder_s", c.customer_idle_reminder_s, 1, 30LL * 86400},
           Range{"customer_idle_end_s", c.customer_idle_end_s, 1, 30LL * 86400},
           Range{"default_handle_s", c.default_handle_s, 1, 86400},
           Range{"wait_time_interval_s", c.wait_time_interval_s, 0, 3600},
           Range{"delivery_lease_s", c.delivery_lease_s, 2, 3600},
       }) {
    if (r.value < r.min || r.value > r.max)
      return Bad(
          fmt::format("{} must be between {} and {} (it is {}).", r.name, r.min, r.max, r.value));
  }
  if (auto proxies = http::ParseCidrList(c.trusted_proxies); !proxies)
    return Bad(proxies.error().message);
  if (c.customer_idle_end_s <= c.customer_idle_reminder_s)
    return Bad("customer_idle_end_s must be greater than customer_idle_reminder_s.");
  if (c.away_reasons.empty() || c.away_reasons.size() > 20)
    return Bad("away_reasons must list 1 to 20 reasons.");
  for (const auto& reason : c.away_reasons) {
    bool ok =
        !reason.empty() && reason.size() <= 32 &&
        reason.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
    if (!ok)
      return Bad(fmt::format(
          "away_reasons: '{}' must be 1 to 32 of a-z, 0-9, '_' and '-' (e.g. lunch).", reason));
  }
  if (!c.node_id.empty() &&
      (c.node_id.size() > 64 ||
       c.node_id.find_first_not_of(
           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
           std::string::npos))
    return Bad("node_id must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-' (e.g. parley-a).");
  if (c.retry_max_ms < c.retry_initial_ms)
    return Bad("retry_max_ms must be at least retry_initial_ms.");
  return {};
}

}  // namespace parley::app

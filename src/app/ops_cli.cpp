#include "app/ops_cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "app/rest_client.hpp"
#include "app/user_cli.hpp"
#include "storage/sqlite/backup.hpp"

namespace parley::app {
namespace {

std::string Duration(double seconds) {
  auto s = static_cast<int64_t>(seconds < 0 ? 0 : seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

// The value of `name` with all of `labels`, summed over the samples that match.
double Sum(const std::vector<MetricSample>& all, std::string_view name,
           const std::map<std::string, std::string>& labels = {}) {
  double total = 0;
  for (const auto& m : all) {
    if (m.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = m.labels.find(k);
      match = match && it != m.labels.end() && it->second == v;
    }
    if (match) total += m.value;
  }
  return total;
}

bool Has(const std::vector<MetricSample>& all, std::string_view name) {
  return std::any_of(all.begin(), all.end(), [&](const auto& m) { return m.name == name; });
}

int64_t Int(double v) { return static_cast<int64_t>(v); }

int PrintError(const std::string& message) {
  std::cerr << "parley: " << message << "\n";
  return 1;
}

}  // namespace

std::vector<MetricSample> ParseMetrics(const std::string& text) {
  std::vector<MetricSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    MetricSample m;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    m.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key(line.substr(i, eq - i));
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        m.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i < line.size() && line[i] == '}') ++i;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    std::string value(line.substr(i));
    char* stop = nullptr;
    m.value = std::strtod(value.c_str(), &stop);
    if (m.name.empty() || stop == value.c_str()) continue;
    out.push_back(std::move(m));
  }
  return out;
}

std::string StatusReport(const std::string& server, const std::vector<MetricSample>& metrics,
                         bool ready, int64_t now_ms) {
  std::string version = "?";
  for (const auto& m : metrics)
    if (m.name == "parley_build_info" && m.labels.count("version"))
      version = m.labels.at("version");
  std::string out;
  double started = Sum(metrics, "parley_process_start_time_seconds");
  out += fmt::format("Parley {} at {}: {}, up {}\n", version, server, ready ? "ready" : "NOT READY",
                     started > 0 ? Duration(static_cast<double>(now_ms) / 1e3 - started) : "?");
  out += fmt::format(
      "Store:       {} commits ({} failed), {} writes queued, WAL {} pages, {} checkpoints\n",
      Int(Sum(metrics, "parley_store_commits_total")),
      Int(Sum(metrics, "parley_store_failed_commits_total")),
      Int(Sum(metrics, "parley_store_queued_writes")), Int(Sum(metrics, "parley_store_wal_frames")),
      Int(Sum(metrics, "parley_store_checkpoints_total")));
  out += fmt::format(
      "Traffic:     {} messages accepted, {} refused, {} rate-limited; {} delivered, {} failed "
      "attempts\n",
      Int(Sum(metrics, "parley_inbound_total", {{"outcome", "accepted"}})),
      Int(Sum(metrics, "parley_inbound_total", {{"outcome", "refused"}})),
      Int(Sum(metrics, "parley_inbound_total", {{"outcome", "rate_limited"}})),
      Int(Sum(metrics, "parley_deliveries_total", {{"outcome", "delivered"}})),
      Int(Sum(metrics, "parley_deliveries_total", {{"outcome", "failed_attempt"}})));
  out +=
      fmt::format("People:      {} sessions, {} event streams open, {} sign-in failures\n",
                  Int(Sum(metrics, "parley_sessions")), Int(Sum(metrics, "parley_event_streams")),
                  Int(Sum(metrics, "parley_sign_in_failures_total")));
  out += fmt::format("Agents:      {} available, {} away, {} offline\n",
                     Int(Sum(metrics, "parley_agents", {{"status", "available"}})),
                     Int(Sum(metrics, "parley_agents", {{"status", "away"}})),
                     Int(Sum(metrics, "parley_agents", {{"status", "offline"}})));

  std::vector<std::string> queues;
  for (const auto& m : metrics)
    if (m.name == "parley_queue_waiting")
      queues.push_back(m.labels.count("queue") ? m.labels.at("queue") : "");
  std::sort(queues.begin(), queues.end());
  if (queues.empty()) {
    out += "Queues:      none\n";
  } else {
    out += fmt::format("Queues:      {:<16} {:>7} {:>9} {:>7} {:>13} {:>10}\n", "", "waiting",
                       "longest", "active", "agents avail", "est. wait");
    for (const auto& q : queues) {
      std::map<std::string, std::string> l{{"queue", q}};
      out += fmt::format("             {:<16} {:>7} {:>9} {:>7} {:>13} {:>10}\n", q,
                         Int(Sum(metrics, "parley_queue_waiting", l)),
                         Duration(Sum(metrics, "parley_queue_longest_wait_seconds", l)),
                         Int(Sum(metrics, "parley_queue_active", l)),
                         fmt::format("{}/{}", Int(Sum(metrics, "parley_queue_agents_available", l)),
                                     Int(Sum(metrics, "parley_queue_agents_signed_in", l))),
                         Duration(Sum(metrics, "parley_queue_estimated_wait_seconds", l)));
    }
  }

  out += fmt::format("Deliveries:  {} pending ({} failing), {} dead; {} in memory\n",
                     Int(Sum(metrics, "parley_deliveries", {{"state", "pending"}})),
                     Int(Sum(metrics, "parley_deliveries_failing")),
                     Int(Sum(metrics, "parley_deliveries", {{"state", "dead"}})),
                     Int(Sum(metrics, "parley_delivery_backlog")));
  // The connections with something undelivered, by name.
  for (const auto& m : metrics) {
    if (m.name != "parley_connection_info") continue;
    std::map<std::string, std::string> l{{"connection_id", m.labels.at("connection_id")}};
    int64_t pending = Int(Sum(metrics, "parley_deliveries", {{"state", "pending"}, *l.begin()}));
    int64_t dead = Int(Sum(metrics, "parley_deliveries", {{"state", "dead"}, *l.begin()}));
    if (pending == 0 && dead == 0) continue;
    out +=
        fmt::format("             {:<28} {} pending ({} failing, oldest {}), {} dead\n",
                    m.labels.count("name") ? m.labels.at("name") : l.begin()->second, pending,
                    Int(Sum(metrics, "parley_deliveries_failing", l)),
                    Duration(Sum(metrics, "parley_delivery_oldest_pending_age_seconds", l)), dead);
  }
  if (!Has(metrics, "parley_deliveries"))
    out += "             (this server does not report deliveries by connection)\n";
  return out;
}

void AddOpsCommands(CLI::App& app) {
  struct Args {
    std::string database = "sqlite://parley.db";
    std::string file;
    bool force = false;
    RestTarget target = DefaultRestTarget();
  };
  auto a = std::make_shared<Args>();

  auto* backup = app.add_subcommand(
      "backup", "Copy a (running) server's SQLite database into a file, consistently");
  backup->add_option("--database", a->database, "sqlite:///path/parley.db")->capture_default_str();
  backup->add_option("--to", a->file, "the backup file to write (must not exist)")->required();
  backup->add_flag("--force", a->force, "overwrite the backup file if it exists");
  backup->callback([a] {
    auto path = storage::sqlite::SqlitePathOf(a->database);
    if (!path) throw CLI::RuntimeError(PrintError(path.error().message));
    auto done = storage::sqlite::Backup(*path, a->file, a->force);
    if (!done) throw CLI::RuntimeError(PrintError(done.error().message));
    std::cout << fmt::format("backup of {} written to {}: {} bytes, {} pages, {} ms\n", *path,
                             a->file, done->bytes, done->pages, done->millis);
  });

  auto* restore = app.add_subcommand(
      "restore", "Put a backup back as the SQLite database (the server must be stopped)");
  restore->add_option("--database", a->database, "sqlite:///path/parley.db")->capture_default_str();
  restore->add_option("--from", a->file, "the backup file")->required();
  restore->add_flag("--force", a->force, "replace the database if it exists");
  restore->callback([a] {
    auto path = storage::sqlite::SqlitePathOf(a->database);
    if (!path) throw CLI::RuntimeError(PrintError(path.error().message));
    auto done = storage::sqlite::Restore(a->file, *path, a->force);
    if (!done) throw CLI::RuntimeError(PrintError(done.error().message));
    std::cout << fmt::format(
        "restored {} into {}: {} pages, {} ms. Start the server with the same PARLEY_MASTER_KEY "
        "as when the backup was taken.\n",
        a->file, *path, done->pages, done->millis);
  });

  auto* status =
      app.add_subcommand("status", "One screen about a running server (from /metrics, /readyz)");
  status->add_option("--server", a->target.server, "Parley base URL (env PARLEY_URL)")
      ->default_str("http://127.0.0.1:8080");
  status->callback([a] {
    auto metrics = RestCall("GET", a->target.server, "/metrics", "");
    if (!metrics) throw CLI::RuntimeError(PrintError(metrics.error().message));
    if (metrics->status != 200)
      throw CLI::RuntimeError(
          PrintError(fmt::format("{}/metrics answered {}", a->target.server, metrics->status)));
    auto ready = RestCall("GET", a->target.server, "/readyz", "");
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::cout << StatusReport(a->target.server, ParseMetrics(metrics->body),
                              ready && ready->status == 200, now);
  });
}

}  // namespace parley::app

#pragma once
// Operators' commands: `parley backup` and `parley restore` (a SQLite database, one node) and
// `parley status` (a one-screen summary of a running server, read from /metrics and /readyz).

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

namespace parley::app {

void AddOpsCommands(CLI::App& app);

// One sample of a Prometheus text exposition.
struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
// Parses the text format (comments and malformed lines are skipped).
std::vector<MetricSample> ParseMetrics(const std::string& text);

// The summary `parley status` prints, from a /metrics scrape and whether /readyz said ready.
std::string StatusReport(const std::string& server, const std::vector<MetricSample>& metrics,
                         bool ready, int64_t now_ms);

}  // namespace parley::app

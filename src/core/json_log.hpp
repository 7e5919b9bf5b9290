#pragma once
// `log_format: json`: one JSON object a line, for log shippers. Fields: `time` (UTC, ms),
// `level`, `msg`, and `conversation_id` / `connection_id` when the message names one
// ("conversation <uuid>", "connection <uuid>": how Parley's log lines name them).

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace parley {

// One log line as a JSON object (no trailing newline). `time_ms`: Unix milliseconds.
std::string JsonLogLine(int64_t time_ms, std::string_view level, std::string_view message);

// The spdlog formatter writing JsonLogLine and a newline. Thread-safe (stateless).
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace parley

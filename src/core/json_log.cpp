#include "core/json_log.hpp"

#include <boost/json.hpp>
#include <chrono>

#include "core/clock.hpp"

namespace parley {
namespace {

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A lowercase 8-4-4-4-12 UUID at the start of `s`.
bool StartsWithUuid(std::string_view s) {
  if (s.size() < 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return s.size() == 36 || !IsHex(s[36]);
}

// The UUID following the first "<word> " in `message`, or empty.
std::string_view IdAfter(std::string_view message, std::string_view word) {
  size_t from = 0;
  while ((from = message.find(word, from)) != std::string_view::npos) {
    std::string_view rest = message.substr(from + word.size());
    if (StartsWithUuid(rest)) return rest.substr(0, 36);
    from += word.size();
  }
  return {};
}

}  // namespace

std::string JsonLogLine(int64_t time_ms, std::string_view level, std::string_view message) {
  boost::json::object o;
  o["time"] = FormatTimestamp(time_ms);
  o["level"] = level;
  o["msg"] = message;
  if (auto id = IdAfter(message, "conversation "); !id.empty()) o["conversation_id"] = id;
  if (auto id = IdAfter(message, "connection "); !id.empty()) o["connection_id"] = id;
  return boost::json::serialize(o);
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
  auto level = spdlog::level::to_string_view(msg.level);
  std::string line = JsonLogLine(ms, std::string_view(level.data(), level.size()),
                                 std::string_view(msg.payload.data(), msg.payload.size()));
  line += '\n';
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace parley

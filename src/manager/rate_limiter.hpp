#pragma once
// Per-connection rate limit of inbound events (PROTOCOL.md §3.4: 429 with Retry-After).
// A token bucket per connection: `per_second` tokens a second, up to `burst`. Thread-safe.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::manager {

class RateLimiter {
 public:
  // per_second 0 turns the limit off.
  RateLimiter(double per_second, double burst) : per_second_(per_second), burst_(burst) {}

  // True when the event may pass; false when the connection is over its rate.
  bool Allow(const std::string& connection_id, int64_t now_ms);
  // Seconds until one more event would pass (at least 1), for Retry-After.
  int64_t RetryAfterSeconds() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  double per_second_;
  double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // one per connection: bounded by them
};

}  // namespace parley::manager

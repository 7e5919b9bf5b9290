#include "manager/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace parley::manager {

bool RateLimiter::Allow(const std::string& connection_id, int64_t now_ms) {
  if (per_second_ <= 0) return true;
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(connection_id);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst_;
  } else {
    double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - b.updated_ms)) / 1000.0;
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
  }
  b.updated_ms = now_ms;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

int64_t RateLimiter::RetryAfterSeconds() const {
  if (per_second_ <= 0) return 1;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(1.0 / per_second_)));
}

}  // namespace parley::manager

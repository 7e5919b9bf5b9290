#include "delivery/retry_policy.hpp"

#include <algorithm>

namespace parley::delivery {

int64_t RetryPolicy::DelayMs(int64_t attempts, double unit_random) const {
  double base = static_cast<double>(initial_ms);
  for (int64_t i = 1; i < attempts && base < static_cast<double>(max_ms); ++i) base *= 2;
  base = std::min(base, static_cast<double>(max_ms));
  double factor = 1.0 - jitter + 2.0 * jitter * unit_random;
  // The cap holds after jitter too: no delay is ever longer than max_ms.
  double delay = std::min(base * factor, static_cast<double>(max_ms));
  return std::max<int64_t>(1, static_cast<int64_t>(delay));
}

}  // namespace parley::delivery

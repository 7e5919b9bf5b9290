#include "routing/wait_time.hpp"

#include <algorithm>
#include <cmath>

namespace parley::routing {

double AverageHandleSeconds(const std::vector<int64_t>& recent_handle_ms,
                            int64_t default_handle_s) {
  if (recent_handle_ms.size() < kMinHandleSamples) return static_cast<double>(default_handle_s);
  size_t n = std::min(recent_handle_ms.size(), kHandleSamples);
  double sum = 0;
  for (size_t i = 0; i < n; ++i)
    sum += static_cast<double>(std::max<int64_t>(0, recent_handle_ms[i]));
  return sum / static_cast<double>(n) / 1000.0;
}

int64_t EstimateWaitSeconds(double average_handle_s, int64_t active, int64_t ahead,
                            double average_concurrency, int64_t available_agents) {
  double load = static_cast<double>(std::max<int64_t>(0, active)) / 2.0 +
                static_cast<double>(std::max<int64_t>(0, ahead)) + 1.0;
  double concurrency = std::max(1.0, average_concurrency);
  double agents = static_cast<double>(std::max<int64_t>(1, available_agents));
  double estimate = std::max(0.0, average_handle_s) * load / concurrency / agents;
  return static_cast<int64_t>(std::ceil(estimate));
}

}  // namespace parley::routing

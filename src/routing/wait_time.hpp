#pragma once
// The estimated wait of a customer in a queue, by the contact-centre formula Pega's Digital
// Messaging also publishes:
//   ((average handle time × (active / 2 + ahead + 1)) / average concurrency) / available agents
// Pure functions of counts and means the caller measured.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace parley::routing {

inline constexpr size_t kHandleSamples = 100;    // the last this many ended chats count
inline constexpr size_t kMinHandleSamples = 10;  // fewer: the default handle time instead

// The mean of the handle times (assigned to ended, ms) in seconds, or `default_handle_s` while
// there are fewer than kMinHandleSamples of them.
double AverageHandleSeconds(const std::vector<int64_t>& recent_handle_ms, int64_t default_handle_s);

// Whole seconds, >= 0, rounded up. `active`: conversations of the queue with an agent now;
// `ahead`: customers before this one; `average_concurrency`: chats an agent of the queue takes at
// once (below 1 counts as 1); `available_agents`: 0 counts as 1, so an estimate is always given.
int64_t EstimateWaitSeconds(double average_handle_s, int64_t active, int64_t ahead,
                            double average_concurrency, int64_t available_agents);

}  // namespace parley::routing

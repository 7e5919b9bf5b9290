#pragma once
// When to try a failed webhook delivery again (PROTOCOL.md §4): exponential backoff from
// `initial_ms`, doubled per attempt, capped at `max_ms`, with jitter, for up to
// `give_up_after_ms` after the event was created; then the event is dead-lettered.

#include <cstdint>

namespace parley::delivery {

struct RetryPolicy {
  int64_t initial_ms = 1000;
  int64_t max_ms = 300'000;
  int64_t give_up_after_ms = 72LL * 3600 * 1000;
  double jitter = 0.2;  // each delay is scaled by a factor in [1 - jitter, 1 + jitter]

  // Delay before the next try after `attempts` failed tries (attempts >= 1). `unit_random` is
  // uniform in [0, 1): injected so tests are deterministic. Never below 1 ms.
  int64_t DelayMs(int64_t attempts, double unit_random) const;
  // True when an event created at `created_ms` should be dead-lettered at `now_ms` instead of
  // tried again.
  bool GiveUp(int64_t created_ms, int64_t now_ms) const {
    return now_ms - created_ms >= give_up_after_ms;
  }
};

}  // namespace parley::delivery

#pragma once
// A histogram of human-scale waits (an agent taking an offer: seconds to minutes), with the same
// thread-safety as Histogram (relaxed atomics; a reader may see a count before its sum).
// Rendered as a Prometheus histogram by the /metrics handler.

#include <array>
#include <atomic>
#include <cstdint>

namespace parley {

class WaitHistogram {
 public:
  // Upper bounds in milliseconds; the last bucket (+Inf) is implicit.
  static constexpr std::array<int64_t, 11> kBoundsMs = {500,   1000,  2000,  3000,  5000,  10000,
                                                        15000, 20000, 30000, 60000, 120000};

  void Record(int64_t ms) {
    if (ms < 0) ms = 0;
    size_t i = 0;
    while (i < kBoundsMs.size() && ms > kBoundsMs[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ms_.fetch_add(ms, std::memory_order_relaxed);
  }

  struct Snapshot {
    std::array<uint64_t, kBoundsMs.size() + 1> counts{};  // per bucket, not cumulative
    uint64_t sum_ms = 0;
  };
  Snapshot Read() const {
    Snapshot s;
    for (size_t i = 0; i < counts_.size(); ++i)
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.sum_ms = sum_ms_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBoundsMs.size() + 1> counts_{};
  std::atomic<int64_t> sum_ms_{0};
};

}  // namespace parley

#pragma once
// A latency histogram with fixed buckets, safe to record into from one thread while others
// read it (relaxed atomics: a reader may see a count a moment before the matching sum).
// Rendered as a Prometheus histogram by the /metrics handler.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace parley {

class Histogram {
 public:
  // Upper bounds in microseconds; the last bucket (+Inf) is implicit.
  static constexpr std::array<int64_t, 12> kBoundsUs = {
      250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 500000, 1000000};

  void Record(std::chrono::microseconds d) {
    int64_t us = d.count();
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
  }

  struct Snapshot {
    std::array<uint64_t, kBoundsUs.size() + 1> counts{};  // per bucket, not cumulative
    uint64_t sum_us = 0;
  };
  Snapshot Read() const {
    Snapshot s;
    for (size_t i = 0; i < counts_.size(); ++i)
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace parley

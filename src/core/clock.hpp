#pragma once
// The clock is injected everywhere time matters, so tests can control it.

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <string>

namespace parley {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch. Thread-safe.
  virtual int64_t NowMs() const = 0;
  int64_t NowSeconds() const { return NowMs() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

// The system clock moved by an offset that tests set (`parley serve --test-clock`,
// PUT /api/v1/test/clock): the server's notion of now, for business hours and reports on a
// scripted day. The offset is 0 unless a test sets it; without the flag nothing can set it. A
// test may also freeze it at one instant (exact waits and handle times), until it is set again.
class OffsetClock final : public Clock {
 public:
  int64_t NowMs() const override {
    int64_t frozen = frozen_ms_.load();
    return frozen != kNotFrozen ? frozen : system_.NowMs() + offset_ms_.load();
  }
  // Runs from `now_ms` on (frozen: stays there).
  void Set(int64_t now_ms, bool frozen) {
    offset_ms_.store(now_ms - system_.NowMs());
    frozen_ms_.store(frozen ? now_ms : kNotFrozen);
  }
  void SetOffsetMs(int64_t ms) {
    offset_ms_.store(ms);
    frozen_ms_.store(kNotFrozen);
  }
  int64_t OffsetMs() const { return offset_ms_.load(); }
  bool Frozen() const { return frozen_ms_.load() != kNotFrozen; }

 private:
  static constexpr int64_t kNotFrozen = INT64_MIN;
  SystemClock system_;
  std::atomic<int64_t> offset_ms_{0};
  std::atomic<int64_t> frozen_ms_{kNotFrozen};
};

// A clock that stands still until told to move; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_; }
  void Set(int64_t now_ms) { now_ms_ = now_ms; }
  void Advance(int64_t ms) { now_ms_ += ms; }

 private:
  int64_t now_ms_;
};

// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-25T13:18:06.123Z.
std::string FormatTimestamp(int64_t unix_ms);

}  // namespace parley

// The retry schedule of PROTOCOL.md §4: 1 s, 2 s, 4 s ... capped at 5 min, with jitter, and
// dead-lettering after 72 h.

#include "delivery/retry_policy.hpp"

#include <gtest/gtest.h>

namespace parley::delivery {
namespace {

TEST(RetryPolicyTest, DefaultsMatchTheProtocol) {
  RetryPolicy p;
  EXPECT_EQ(p.initial_ms, 1000);
  EXPECT_EQ(p.max_ms, 300'000);
  EXPECT_EQ(p.give_up_after_ms, 72LL * 3600 * 1000);
  EXPECT_GT(p.jitter, 0.0);
  EXPECT_LT(p.jitter, 1.0);
}

TEST(RetryPolicyTest, DoublesWithoutJitterAtTheMiddle) {
  RetryPolicy p;
  // unit_random 0.5 gives the factor 1 exactly.
  const int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000};
  for (int64_t i = 0; i < 9; ++i)
    EXPECT_EQ(p.DelayMs(i + 1, 0.5), expected[i]) << "attempt " << i + 1;
}

TEST(RetryPolicyTest, CappedAtFiveMinutes) {
  RetryPolicy p;
  for (int64_t attempts : {10, 11, 20, 50, 1000, 1'000'000})
    EXPECT_EQ(p.DelayMs(attempts, 0.5), 300'000) << attempts;
}

TEST(RetryPolicyTest, JitterStaysWithinBounds) {
  RetryPolicy p;
  for (int64_t attempts = 1; attempts <= 30; ++attempts) {
    double base = std::min(1000.0 * static_cast<double>(1LL << std::min<int64_t>(attempts - 1, 20)),
                           300'000.0);
    int64_t lo = p.DelayMs(attempts, 0.0);
    int64_t hi = p.DelayMs(attempts, 0.999999);
    EXPECT_EQ(lo, static_cast<int64_t>(base * (1 - p.jitter))) << attempts;
    // The cap holds after jitter too.
    int64_t top = std::min<int64_t>(static_cast<int64_t>(base * (1 + p.jitter)), 300'000);
    EXPECT_LE(hi, top) << attempts;
    EXPECT_GE(hi, top - 1) << attempts;
    for (double u = 0.0; u < 1.0; u += 0.05) {
      int64_t d = p.DelayMs(attempts, u);
      EXPECT_GE(d, lo);
      EXPECT_LE(d, hi);
    }
  }
  // Monotonic in the random draw.
  EXPECT_LT(p.DelayMs(3, 0.1), p.DelayMs(3, 0.9));
}

TEST(RetryPolicyTest, NeverBelowOneMillisecond) {
  RetryPolicy p;
  p.initial_ms = 1;
  p.jitter = 0.9;
  EXPECT_EQ(p.DelayMs(1, 0.0), 1);
  p.initial_ms = 0;
  EXPECT_EQ(p.DelayMs(1, 0.5), 1);
}

TEST(RetryPolicyTest, CustomFastPolicy) {
  RetryPolicy p{5, 20, 1000, 0.0};
  EXPECT_EQ(p.DelayMs(1, 0.3), 5);
  EXPECT_EQ(p.DelayMs(2, 0.3), 10);
  EXPECT_EQ(p.DelayMs(3, 0.3), 20);
  EXPECT_EQ(p.DelayMs(4, 0.3), 20);
}

TEST(RetryPolicyTest, GivesUpAfterSeventyTwoHours) {
  RetryPolicy p;
  const int64_t created = 1'764'000'000'000;
  const int64_t h72 = 72LL * 3600 * 1000;
  EXPECT_FALSE(p.GiveUp(created, created));
  EXPECT_FALSE(p.GiveUp(created, created + h72 - 1));
  EXPECT_TRUE(p.GiveUp(created, created + h72));
  EXPECT_TRUE(p.GiveUp(created, created + h72 + 1));
}

TEST(RetryPolicyTest, ScheduleReachesSeventyTwoHoursInAboutNineHundredTries) {
  // The sum of the schedule: after the cap, one try every 5 minutes.
  RetryPolicy p;
  int64_t t = 0;
  int64_t tries = 0;
  while (!p.GiveUp(0, t)) {
    ++tries;
    t += p.DelayMs(tries, 0.5);
  }
  EXPECT_GT(tries, 850);
  EXPECT_LT(tries, 880);
}

}  // namespace
}  // namespace parley::delivery

// The wait-time formula: ((AHT × (active / 2 + ahead + 1)) / concurrency) / available agents,
// in whole seconds rounded up, and the average handle time it uses.

#include "routing/wait_time.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley::routing {
namespace {

TEST(WaitTimeTest, PublishedFormulaWithWorkedNumbers) {
  // 300 s × (4 / 2 + 3 + 1) = 1800; / 2 chats at once = 900; / 3 agents = 300.
  EXPECT_EQ(EstimateWaitSeconds(300, 4, 3, 2, 3), 300);
  // 120 s × (0 / 2 + 0 + 1) / 1 / 1: the next customer with nobody busy waits one handle time.
  EXPECT_EQ(EstimateWaitSeconds(120, 0, 0, 1, 1), 120);
  // 200 s × (6 / 2 + 1 + 1) = 1000; / 2.5 = 400; / 4 = 100.
  EXPECT_EQ(EstimateWaitSeconds(200, 6, 1, 2.5, 4), 100);
  // An odd number of active chats counts half: 100 × (3 / 2 + 0 + 1) = 250.
  EXPECT_EQ(EstimateWaitSeconds(100, 3, 0, 1, 1), 250);
}

TEST(WaitTimeTest, EachCustomerAheadAddsOneHandleTimeShared) {
  // 90 s per chat, 3 at once, 1 agent: 30 s more per customer ahead.
  EXPECT_EQ(EstimateWaitSeconds(90, 0, 0, 3, 1), 30);
  EXPECT_EQ(EstimateWaitSeconds(90, 0, 1, 3, 1), 60);
  EXPECT_EQ(EstimateWaitSeconds(90, 0, 2, 3, 1), 90);
  // Twice the agents, half the wait.
  EXPECT_EQ(EstimateWaitSeconds(90, 0, 2, 3, 2), 45);
}

TEST(WaitTimeTest, RoundsUpToWholeSeconds) {
  // 10 / 3 = 3.33 s → 4.
  EXPECT_EQ(EstimateWaitSeconds(10, 0, 0, 3, 1), 4);
  // 0.001 s → 1: a wait is never shown as zero while there is any.
  EXPECT_EQ(EstimateWaitSeconds(0.001, 0, 0, 1, 1), 1);
  // Exact values are not pushed up: 100 × 1.5 / 3 = 50.
  EXPECT_EQ(EstimateWaitSeconds(100, 1, 0, 3, 1), 50);
  EXPECT_EQ(EstimateWaitSeconds(0, 5, 5, 1, 1), 0);
}

TEST(WaitTimeTest, NoAgentAvailableCountsAsOneAndNeverDividesByZero) {
  EXPECT_EQ(EstimateWaitSeconds(300, 2, 1, 2, 0), EstimateWaitSeconds(300, 2, 1, 2, 1));
  EXPECT_EQ(EstimateWaitSeconds(300, 2, 1, 2, 0), 450);  // 300 × 3 / 2
  EXPECT_EQ(EstimateWaitSeconds(300, 0, 0, 1, -2), 300);
  // A concurrency below 1 (or 0: no agent in the queue) counts as 1.
  EXPECT_EQ(EstimateWaitSeconds(300, 0, 0, 0, 1), 300);
  EXPECT_EQ(EstimateWaitSeconds(300, 0, 0, 0.5, 1), 300);
  // Negative counts and handle times are treated as zero.
  EXPECT_EQ(EstimateWaitSeconds(-50, 0, 0, 1, 1), 0);
  EXPECT_EQ(EstimateWaitSeconds(60, -4, -3, 1, 1), 60);
}

TEST(WaitTimeTest, DefaultHandleTimeBelowTenSamples) {
  EXPECT_DOUBLE_EQ(AverageHandleSeconds({}, 300), 300.0);
  std::vector<int64_t> nine(9, 60'000);
  EXPECT_DOUBLE_EQ(AverageHandleSeconds(nine, 300), 300.0);
  std::vector<int64_t> ten(10, 60'000);
  EXPECT_DOUBLE_EQ(AverageHandleSeconds(ten, 300), 60.0);
}

TEST(WaitTimeTest, MeanOfTheSamplesInSeconds) {
  // 10 samples: 30 s … 120 s in 10 s steps; mean 75 s.
  std::vector<int64_t> samples;
  for (int i = 0; i < 10; ++i) samples.push_back(30'000 + i * 10'000);
  EXPECT_DOUBLE_EQ(AverageHandleSeconds(samples, 300), 75.0);
  // Milliseconds are kept: 10 × 1.5 s.
  EXPECT_DOUBLE_EQ(AverageHandleSeconds(std::vector<int64_t>(10, 1'500), 300), 1.5);
}

TEST(WaitTimeTest, OnlyTheLastHundredCount) {
  // The store gives the newest first: 100 chats of 2 minutes, then 50 older ones of 10 minutes.
  std::vector<int64_t> samples(100, 120'000);
  samples.insert(samples.end(), 50, 600'000);
  EXPECT_DOUBLE_EQ(AverageHandleSeconds(samples, 300), 120.0);
  EXPECT_EQ(kHandleSamples, 100u);
  EXPECT_EQ(kMinHandleSamples, 10u);
}

TEST(WaitTimeTest, NegativeHandleTimesCountAsZero) {
  // A clock step back could make ended_at < assigned_at; such a chat counts as 0 s, not less.
  std::vector<int64_t> samples(10, 100'000);
  samples[0] = -900'000;
  EXPECT_DOUBLE_EQ(AverageHandleSeconds(samples, 300), 90.0);
}

TEST(WaitTimeTest, FormulaWithMeasuredHandleTime) {
  // 20 ended chats averaging 4 minutes; 2 active, 1 ahead, 2 at once, 1 agent available:
  // 240 × (1 + 1 + 1) / 2 / 1 = 360.
  std::vector<int64_t> samples(20, 240'000);
  double aht = AverageHandleSeconds(samples, 300);
  EXPECT_EQ(EstimateWaitSeconds(aht, 2, 1, 2, 1), 360);
}

}  // namespace
}  // namespace parley::routing

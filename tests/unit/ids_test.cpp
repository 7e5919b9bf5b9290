// Ids: a v4 for what must not be guessed or ordered (connections), a v7 for the rows the store
// indexes by id (events, conversations), which sorts by the time it was made.

#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>

namespace parley {
namespace {

const std::regex kV4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
const std::regex kV7("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

int64_t MsOf(const std::string& v7) {
  std::string hex = v7.substr(0, 8) + v7.substr(9, 4);
  return static_cast<int64_t>(std::stoull(hex, nullptr, 16));
}

TEST(IdsTest, OrderedUuidsAreV7CarryTheTimeAndSortByIt) {
  RandomIdGenerator ids;
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::string first = ids.OrderedUuid();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  std::string second = ids.OrderedUuid();
  auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  EXPECT_TRUE(std::regex_match(first, kV7)) << first;
  EXPECT_TRUE(std::regex_match(second, kV7)) << second;
  EXPECT_GE(MsOf(first), before);
  EXPECT_LE(MsOf(second), after);
  EXPECT_LT(first, second);  // as text, which is how the store's indexes compare them
}

TEST(IdsTest, OrderedUuidsOfTheSameMillisecondStayDistinct) {
  RandomIdGenerator ids;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(ids.OrderedUuid());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(IdsTest, PlainUuidsStayRandomV4) {
  RandomIdGenerator ids;
  std::string a = ids.Uuid();
  std::string b = ids.Uuid();
  EXPECT_TRUE(std::regex_match(a, kV4)) << a;
  EXPECT_TRUE(std::regex_match(b, kV4)) << b;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace parley

#include <gtest/gtest.h>

#include "http/request.hpp"

namespace parley::http {
namespace {

TEST(HttpQueryTest, DecodesPercentAndPlus) {
  auto q = ParseQuery("state=bot&connection_id=ab-12&name=a%20b+c&empty=&flag");
  EXPECT_EQ(q["state"], "bot");
  EXPECT_EQ(q["connection_id"], "ab-12");
  EXPECT_EQ(q["name"], "a b c");
  EXPECT_EQ(q["empty"], "");
  EXPECT_EQ(q.count("flag"), 1u);
}

TEST(HttpQueryTest, KeepsMalformedEscapesAndFirstOfRepeatedKeys) {
  auto q = ParseQuery("a=%zz&a=second&b=%4&c=%41");
  EXPECT_EQ(q["a"], "%zz");
  EXPECT_EQ(q["b"], "%4");
  EXPECT_EQ(q["c"], "A");
  EXPECT_TRUE(ParseQuery("").empty());
  EXPECT_TRUE(ParseQuery("&&&").empty());
}

}  // namespace
}  // namespace parley::http

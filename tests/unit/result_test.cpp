// The stand-in for std::expected that Result<T> becomes where the standard library lacks it
// (clang 14 with libstdc++ 12, the fuzz build). g++ builds these tests against the stand-in
// directly, so it behaves like std::expected wherever the code base relies on it.

#include "core/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace parley {
namespace {

template <class T>
using Fallback = result_detail::Expected<T, Error>;
using FallbackFailure = result_detail::Unexpected<Error>;

FallbackFailure Refuse(std::string code) {
  return FallbackFailure(Error{Errc::kInvalidArgument, std::move(code), "Try again."});
}

Fallback<int> Half(int n) {
  if (n % 2 != 0) return Refuse("odd");
  return n / 2;
}

Fallback<void> Check(bool ok) {
  if (!ok) return Refuse("not_ok");
  return {};
}

TEST(ResultFallbackTest, HoldsAValueOrAnError) {
  Fallback<int> good = Half(8);
  ASSERT_TRUE(good.has_value());
  EXPECT_TRUE(static_cast<bool>(good));
  EXPECT_EQ(*good, 4);
  EXPECT_EQ(good.value(), 4);
  EXPECT_EQ(good.value_or(-1), 4);
  EXPECT_TRUE(good == 4);

  Fallback<int> bad = Half(7);
  ASSERT_FALSE(bad.has_value());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error().code, "odd");
  EXPECT_EQ(bad.error().errc, Errc::kInvalidArgument);
  EXPECT_EQ(bad.value_or(-1), -1);
  EXPECT_FALSE(bad == 4);
  EXPECT_THROW((void)bad.value(), result_detail::BadAccess);
}

TEST(ResultFallbackTest, VoidResult) {
  EXPECT_TRUE(Check(true).has_value());
  Fallback<void> bad = Check(false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "not_ok");
  EXPECT_THROW(bad.value(), result_detail::BadAccess);
  EXPECT_NO_THROW(Check(true).value());
}

TEST(ResultFallbackTest, ConvertsValuesAndMovesOutMoveOnlyTypes) {
  Fallback<std::string> text = "literal";  // const char* builds a std::string
  EXPECT_EQ(text->size(), 7u);
  Fallback<std::unique_ptr<int>> owned = std::make_unique<int>(5);
  std::unique_ptr<int> taken = std::move(owned).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 5);
  Fallback<std::vector<int>> built(std::in_place, 3, 9);
  EXPECT_EQ(*built, (std::vector<int>{9, 9, 9}));
  Fallback<std::unique_ptr<const int>> widened = Fallback<std::unique_ptr<int>>(nullptr);
  EXPECT_TRUE(widened.has_value());
  Fallback<std::unique_ptr<const int>> failed = Fallback<std::unique_ptr<int>>(Refuse("x"));
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, "x");
}

TEST(ResultFallbackTest, ErrorMovesOut) {
  Fallback<int> bad = Half(1);
  Error e = std::move(bad).error();
  EXPECT_EQ(e.code, "odd");
  EXPECT_EQ(e.message, "Try again.");
}

// Fail() and Failure are what domain code writes; they work with whichever Result is in use.
TEST(ResultFallbackTest, FailBuildsTheResultInUse) {
  Result<int> r = Fail(Errc::kNotFound, "missing", "Create it first.");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "missing");
  Failure f = Fail(Error{Errc::kConflict, "taken", "Pick another name."});
  Result<void> v = f;
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().errc, Errc::kConflict);
}

}  // namespace
}  // namespace parley

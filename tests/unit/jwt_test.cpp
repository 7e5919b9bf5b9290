#include "channel/jwt.hpp"

#include <gtest/gtest.h>

#include "core/ids.hpp"

namespace parley::channel {
namespace {

constexpr std::string_view kJwtSecret = "0123456789abcdef0123456789abcdef0123456789a";
constexpr std::string_view kJwtIss = "2f1c6c8e-5b7a-4d2e-9f51-0a1b2c3d4e5f";

TEST(JwtTest, SignedTokenParsesAndVerifies) {
  std::string token = SignJwt(kJwtIss, 1'700'000'000, kJwtSecret);
  auto parsed = ParseJwt(token);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->claims.iss, kJwtIss);
  EXPECT_EQ(parsed->claims.iat, 1'700'000'000);
  EXPECT_TRUE(SignatureMatches(*parsed, kJwtSecret));
  EXPECT_FALSE(SignatureMatches(*parsed, "another-secret-another-secret-another"));
  EXPECT_TRUE(CheckTokenTimes(parsed->claims, 1'700'000'000 + 300));
  EXPECT_FALSE(CheckTokenTimes(parsed->claims, 1'700'000'000 + 301));
}

TEST(JwtTest, Base64UrlRoundTrips) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\xfe\x00\x01"}) {
    std::string back;
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(s), back));
    EXPECT_EQ(back, s);
  }
}

}  // namespace
}  // namespace parley::channel

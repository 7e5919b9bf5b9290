#include "delivery/address_guard.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::delivery {
namespace {

bool Public(const char* text) { return IsPublicAddress(boost::asio::ip::make_address(text)); }

TEST(AddressGuardTest, PublicAddressesPass) {
  for (const char* a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1",
                        "172.15.255.255", "172.32.0.1", "2606:4700:4700::1111", "2a00:1450::1",
                        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"}) {
    EXPECT_TRUE(Public(a)) << a;
  }
}

TEST(AddressGuardTest, NonPublicAddressesAreRefused) {
  for (const char* a : {"0.0.0.0",
                        "0.1.2.3",
                        "127.0.0.1",
                        "127.255.255.254",
                        "10.0.0.1",
                        "10.255.255.255",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "100.127.255.255",
                        "224.0.0.1",
                        "239.255.255.250",
                        "240.0.0.1",
                        "255.255.255.255",
                        "192.0.2.1",
                        "198.18.0.1",
                        "::",
                        "::1",
                        "fe80::1",
                        "febf::1",
                        "fec0::1",
                        "fc00::1",
                        "fd12:3456::1",
                        "ff02::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.1.2.3",
                        "::ffff:169.254.169.254",
                        "::127.0.0.1",
                        "64:ff9b::7f00:1",
                        "2002:7f00:1::1",
                        "2002:c0a8:101::1",
                        "2001:db8::1",
                        "100::1"}) {
    EXPECT_FALSE(Public(a)) << a;
  }
}

TEST(AddressGuardTest, AcceptsHttpsUrls) {
  for (const char* u :
       {"https://example.com/hook", "https://EXAMPLE.com:8443/a/b?c=d", "https://8.8.8.8/x",
        "https://[2606:4700:4700::1111]/x", "HTTPS://example.com"}) {
    auto r = ValidateWebhookUrl(u, false);
    EXPECT_TRUE(r) << u << ": " << (r ? "" : r.error().message);
  }
  auto r = ValidateWebhookUrl("HTTPS://Example.COM:8443/Path", false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->buffer(), "https://example.com:8443/Path");
}

void ExpectRefused(std::string_view url, bool allow_insecure) {
  auto r = ValidateWebhookUrl(url, allow_insecure);
  ASSERT_FALSE(r) << url;
  EXPECT_EQ(r.error().errc, Errc::kInvalidArgument) << url;
  EXPECT_EQ(r.error().code, "invalid_webhook") << url;
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_EQ(r.error().message.back(), '.') << "one sentence: " << r.error().message;
}

TEST(AddressGuardTest, RefusesMalformedUrls) {
  for (const char* u :
       {"", "example.com/hook", "/hook", "ftp://example.com/", "https://", "https:///path",
        "https://user:pw@example.com/", "https://user@example.com/", "https://example.com:0/",
        "https://example.com:99999/", "https://exa mple.com/", "https://ex%41mple.com/",
        "javascript:alert(1)", "https://[v1.fe]/"}) {
    ExpectRefused(u, false);
    ExpectRefused(u, true);
  }
  std::string long_url = "https://example.com/" + std::string(2048, 'a');
  ExpectRefused(long_url, true);
  std::string just_fits = "https://example.com/";
  just_fits += std::string(kMaxWebhookUrlLength - just_fits.size(), 'a');
  EXPECT_TRUE(ValidateWebhookUrl(just_fits, false));
}

TEST(AddressGuardTest, HttpOnlyWhenInsecureAllowed) {
  ExpectRefused("http://example.com/hook", false);
  EXPECT_TRUE(ValidateWebhookUrl("http://example.com/hook", true));
}

TEST(AddressGuardTest, PrivateLiteralsOnlyWhenInsecureAllowed) {
  for (const char* u :
       {"https://127.0.0.1/", "https://10.1.2.3:8443/h", "https://169.254.169.254/latest",
        "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://[fd00::1]/",
        "https://100.64.1.1/", "https://0.0.0.0/", "https://2130706433/", "https://127.1/",
        "https://0x7f.0.0.1/", "https://017700000001/"}) {
    ExpectRefused(u, false);
    EXPECT_TRUE(ValidateWebhookUrl(u, true)) << u;
  }
}

TEST(AddressGuardTest, LocalhostNamesOnlyWhenInsecureAllowed) {
  for (const char* u :
       {"https://localhost:8443/hook", "https://LOCALHOST./", "https://a.localhost/",
        "https://localhost.localdomain/", "https://ip6-localhost/"}) {
    ExpectRefused(u, false);
    EXPECT_TRUE(ValidateWebhookUrl(u, true)) << u;
  }
}

TEST(AddressGuardTest, OtherNamesAreLeftToTheConnectTimeCheck) {
  // A name is only judged once resolved; the webhook client test covers that step.
  EXPECT_TRUE(ValidateWebhookUrl("https://hooks.example.com:8443/hook", false));
  EXPECT_TRUE(ValidateWebhookUrl("https://notlocalhost.example/", false));
}

}  // namespace
}  // namespace parley::delivery

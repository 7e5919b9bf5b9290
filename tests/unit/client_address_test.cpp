// X-Forwarded-For believed only from trusted proxies (issue 17, defect 3).
#include "http/client_address.hpp"

#include <gtest/gtest.h>

namespace parley::http {
namespace {

std::vector<Cidr> Trusted(std::string_view text) { return ParseCidrList(text).value(); }

TEST(ClientAddressTest, CidrsParseAndMatch) {
  auto c = ParseCidr("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->Contains(boost::asio::ip::make_address("10.200.1.2")));
  EXPECT_FALSE(c->Contains(boost::asio::ip::make_address("11.0.0.1")));
  EXPECT_TRUE(c->Contains(boost::asio::ip::make_address("::ffff:10.1.1.1")));
  auto six = ParseCidr("2001:db8::/32");
  ASSERT_TRUE(six);
  EXPECT_TRUE(six->Contains(boost::asio::ip::make_address("2001:db8:1::5")));
  EXPECT_FALSE(six->Contains(boost::asio::ip::make_address("2001:db9::5")));
  EXPECT_TRUE(ParseCidr("127.0.0.1"));
  for (const char* bad :
       {"", "10.0.0.0/33", "::/129", "10.0.0/8", "example.com", "10.0.0.0/", "1.2.3.4/x"}) {
    auto r = ParseCidr(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid_trusted_proxy");
  }
  EXPECT_EQ(Trusted("10.0.0.0/8, 192.168.0.1 ::1").size(), 3u);
  EXPECT_TRUE(Trusted("").empty());
}

TEST(ClientAddressTest, ForwardedForIsBelievedOnlyFromATrustedProxy) {
  auto proxies = Trusted("10.0.0.0/8");
  // An untrusted peer's header is ignored: it cannot pick its address.
  EXPECT_EQ(ClientAddress("203.0.113.5", {"198.51.100.1"}, proxies), "203.0.113.5");
  EXPECT_EQ(ClientAddress("10.0.0.2", {"198.51.100.1"}, {}), "10.0.0.2") << "no proxies set";
  // From the proxy: the rightmost address that is not a trusted proxy.
  EXPECT_EQ(ClientAddress("10.0.0.2", {"198.51.100.1"}, proxies), "198.51.100.1");
  EXPECT_EQ(ClientAddress("10.0.0.2", {"6.6.6.6, 198.51.100.1, 10.0.0.9"}, proxies), "198.51.100.1")
      << "what the client wrote itself (6.6.6.6) is not believed";
  EXPECT_EQ(ClientAddress("10.0.0.2", {"6.6.6.6", "198.51.100.1"}, proxies), "198.51.100.1")
      << "several headers are one list";
  EXPECT_EQ(ClientAddress("10.0.0.2", {}, proxies), "10.0.0.2");
  EXPECT_EQ(ClientAddress("10.0.0.2", {"garbage, 198.51.100.1"}, proxies), "198.51.100.1");
  EXPECT_EQ(ClientAddress("10.0.0.2", {"198.51.100.1, garbage"}, proxies), "10.0.0.2")
      << "garbage next to the proxy stops the walk at the proxy";
  EXPECT_EQ(ClientAddress("10.0.0.2", {"[2001:db8::1]:443"}, proxies), "2001:db8::1");
  EXPECT_EQ(ClientAddress("10.0.0.2", {"198.51.100.1:5555"}, proxies), "198.51.100.1");
  EXPECT_EQ(ClientAddress("::ffff:10.0.0.2", {"198.51.100.1"}, proxies), "198.51.100.1");
  EXPECT_EQ(ClientAddress("10.0.0.2", {"10.0.0.3, 10.0.0.4"}, proxies), "10.0.0.3")
      << "all trusted: the leftmost";
}

}  // namespace
}  // namespace parley::http

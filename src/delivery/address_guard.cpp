#include "delivery/address_guard.hpp"

#include <arpa/inet.h>

#include <array>
#include <boost/url/parse.hpp>
#include <cstdint>
#include <string>

namespace parley::delivery {
namespace {

Failure Invalid(std::string message) {
  return Fail(Errc::kInvalidArgument, "invalid_webhook", std::move(message));
}

bool InV4Range(uint32_t a, uint32_t net, int prefix) {
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (a & mask) == (net & mask);
}

constexpr uint32_t V4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

bool IsPublicV4(uint32_t a) {
  struct Range {
    uint32_t net;
    int prefix;
  };
  static constexpr std::array<Range, 17> kBlocked{{
      {V4(0, 0, 0, 0), 8},        // "this network", unspecified
      {V4(10, 0, 0, 0), 8},       // private
      {V4(100, 64, 0, 0), 10},    // carrier-grade NAT
      {V4(127, 0, 0, 0), 8},      // loopback
      {V4(169, 254, 0, 0), 16},   // link-local, cloud metadata services
      {V4(172, 16, 0, 0), 12},    // private
      {V4(192, 0, 0, 0), 24},     // IETF protocol assignments
      {V4(192, 0, 2, 0), 24},     // documentation
      {V4(192, 88, 99, 0), 24},   // deprecated 6to4 relay anycast
      {V4(192, 168, 0, 0), 16},   // private
      {V4(198, 18, 0, 0), 15},    // benchmarking
      {V4(198, 51, 100, 0), 24},  // documentation
      {V4(203, 0, 113, 0), 24},   // documentation
      {V4(224, 0, 0, 0), 4},      // multicast
      {V4(240, 0, 0, 0), 4},      // reserved, broadcast
      {V4(255, 255, 255, 255), 32},
      {V4(0, 0, 0, 0), 32},
  }};
  for (const Range& r : kBlocked) {
    if (InV4Range(a, r.net, r.prefix)) return false;
  }
  return true;
}

uint32_t V4FromBytes(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

bool IsPublicV6(const boost::asio::ip::address_v6& address) {
  const auto b = address.to_bytes();
  auto all_zero = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      if (b[i] != 0) return false;
    }
    return true;
  };
  // Forms that carry an IPv4 address are judged by that address, so ::ffff:127.0.0.1 and
  // 64:ff9b::a00:1 cannot smuggle a private target past the guard.
  if (all_zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return IsPublicV4(V4FromBytes(&b[12]));
  if (all_zero(0, 12)) {
    // ::, ::1 and the deprecated IPv4-compatible form ::a.b.c.d.
    return !address.is_unspecified() && !address.is_loopback() && IsPublicV4(V4FromBytes(&b[12]));
  }
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && all_zero(4, 12))
    return IsPublicV4(V4FromBytes(&b[12]));                                 // NAT64 64:ff9b::/96
  if (b[0] == 0x20 && b[1] == 0x02) return IsPublicV4(V4FromBytes(&b[2]));  // 6to4 2002::/16
  if (b[0] == 0xff) return false;                                           // multicast
  if ((b[0] & 0xfe) == 0xfc) return false;                                  // unique local fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;                  // link-local fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return false;                  // site-local fec0::/10
  if (b[0] == 0x01 && b[1] == 0x00 && all_zero(2, 8)) return false;         // discard 100::/64
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32
  return true;
}

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

bool IsPublicAddress(const boost::asio::ip::address& address) {
  if (address.is_v4()) return IsPublicV4(address.to_v4().to_uint());
  return IsPublicV6(address.to_v6());
}

Result<boost::urls::url> ValidateWebhookUrl(std::string_view text, bool allow_insecure) {
  namespace urls = boost::urls;
  if (text.empty()) return Invalid("Give the client webhook as an absolute https:// URL.");
  if (text.size() > kMaxWebhookUrlLength)
    return Invalid("Shorten the client webhook URL to at most 2048 characters.");
  auto parsed = urls::parse_absolute_uri(text);
  if (!parsed)
    return Invalid("Give the client webhook as an absolute URL such as https://example.com/hook.");
  urls::url u(*parsed);
  const bool https = u.scheme_id() == urls::scheme::https;
  const bool http = u.scheme_id() == urls::scheme::http;
  if (!https && !(http && allow_insecure)) {
    return Invalid(http ? "Use an https:// client webhook; plain http:// is allowed only when the "
                          "server runs with allow_insecure_webhooks."
                        : "Use an https:// URL for the client webhook.");
  }
  if (!u.has_authority() || u.encoded_host().empty())
    return Invalid("Put a host name in the client webhook URL.");
  if (u.has_userinfo())
    return Invalid("Remove the user name and password from the client webhook URL.");
  if (u.has_port() && !u.port().empty()) {
    // port_number() does not refuse values past 65535, so read the digits here.
    uint32_t port = 0;
    for (char c : u.port()) {
      port = port * 10 + static_cast<uint32_t>(c - '0');
      if (port > 65535) break;
    }
    if (port == 0 || port > 65535)
      return Invalid("Use a port between 1 and 65535 in the client webhook URL.");
  }

  boost::asio::ip::address literal;
  bool is_literal = false;
  switch (u.host_type()) {
    case urls::host_type::ipv4:
      literal = boost::asio::ip::make_address_v4(u.host_ipv4_address().to_uint());
      is_literal = true;
      break;
    case urls::host_type::ipv6:
      literal = boost::asio::ip::make_address_v6(u.host_ipv6_address().to_bytes());
      is_literal = true;
      break;
    case urls::host_type::name: {
      std::string_view host = u.encoded_host();
      for (char c : host) {
        if (!IsHostNameChar(c))
          return Invalid(
              "Use an ASCII host name in the client webhook URL (punycode for international "
              "names).");
      }
      u.set_encoded_host(Lower(host));
      // Names that always mean this machine (RFC 6761 reserves .localhost) are loopback
      // targets, refused here rather than only when a delivery is attempted.
      std::string lower = Lower(host);
      while (!lower.empty() && lower.back() == '.') lower.pop_back();
      if (!allow_insecure &&
          (lower == "localhost" || lower.ends_with(".localhost") ||
           lower == "localhost.localdomain" || lower == "ip6-localhost" || lower == "ip6-loopback"))
        return Invalid(
            "Use a public host for the client webhook; localhost is allowed only when the server "
            "runs with allow_insecure_webhooks.");
      // The resolver also reads numeric shorthands like 2130706433 or 0x7f.1 as IPv4, so judge
      // them as the address they name.
      in_addr v4{};
      if (inet_aton(std::string(host).c_str(), &v4) == 1) {
        literal = boost::asio::ip::make_address_v4(ntohl(v4.s_addr));
        is_literal = true;
      }
      break;
    }
    default:
      return Invalid("Use a DNS name or an IPv4/IPv6 address as the client webhook host.");
  }
  if (is_literal && !allow_insecure && !IsPublicAddress(literal)) {
    return Invalid(
        "Use a public address for the client webhook; loopback, private, link-local and other "
        "non-public targets are allowed only when the server runs with allow_insecure_webhooks.");
  }
  u.normalize_scheme();
  return u;
}

}  // namespace parley::delivery

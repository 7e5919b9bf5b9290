#include "http/client_address.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "http/request.hpp"

namespace parley::http {
namespace ip = boost::asio::ip;

namespace {

ip::address Unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

std::optional<ip::address> ParseAddress(std::string_view text) {
  text = TrimSpaces(text);
  // "[2001:db8::1]" or "[2001:db8::1]:443" (some proxies add the port), "1.2.3.4:5678".
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                            text.find(':', colon + 1) == std::string_view::npos) {
    text = text.substr(0, colon);
  }
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return Unmapped(a);
}

}  // namespace

bool Cidr::Contains(const ip::address& raw) const {
  ip::address a = Unmapped(raw);
  if (a.is_v4() != network.is_v4()) return false;
  if (a.is_v4()) {
    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    return (a.to_v4().to_uint() & mask) == (network.to_v4().to_uint() & mask);
  }
  auto x = a.to_v6().to_bytes();
  auto n = network.to_v6().to_bytes();
  unsigned bits = prefix;
  for (size_t i = 0; i < x.size() && bits > 0; ++i) {
    unsigned take = bits >= 8 ? 8 : bits;
    auto mask = static_cast<unsigned char>(0xFF << (8 - take));
    if ((x[i] & mask) != (n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

Result<Cidr> ParseCidr(std::string_view text) {
  auto bad = [&] {
    return Fail(Errc::kInvalidArgument, "invalid_trusted_proxy",
                fmt::format("trusted_proxies: '{}' is not an address or CIDR such as 10.0.0.0/8 "
                            "or 2001:db8::/32.",
                            text));
  };
  std::string_view t = TrimSpaces(text);
  size_t slash = t.find('/');
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(t.substr(0, slash)), ec);
  if (ec) return bad();
  Cidr c{Unmapped(a), 0};
  unsigned max = c.network.is_v4() ? 32 : 128;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = t.substr(slash + 1);
    unsigned n = 0;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() || n > max)
      return bad();
    c.prefix = n;
  }
  return c;
}

Result<std::vector<Cidr>> ParseCidrList(std::string_view text) {
  std::vector<Cidr> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find_first_of(", \t", i);
    if (end == std::string_view::npos) end = text.size();
    if (end > i) {
      auto c = ParseCidr(text.substr(i, end - i));
      if (!c) return Fail(c.error());
      out.push_back(*c);
    }
    i = end + 1;
  }
  return out;
}

std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded_for,
                          const std::vector<Cidr>& trusted_proxies) {
  auto trusted = [&](const ip::address& a) {
    for (const auto& c : trusted_proxies)
      if (c.Contains(a)) return true;
    return false;
  };
  auto peer_address = ParseAddress(peer);
  if (!peer_address) return peer;
  if (trusted_proxies.empty() || !trusted(*peer_address)) return peer_address->to_string();
  std::vector<std::string_view> hops;
  for (const auto& header : forwarded_for) {
    std::string_view rest = header;
    while (true) {
      size_t comma = rest.find(',');
      hops.push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  }
  ip::address current = *peer_address;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    auto hop = ParseAddress(*it);
    if (!hop) break;  // garbage: keep the last hop a trusted proxy vouched for
    current = *hop;
    if (!trusted(current)) break;
  }
  return current.to_string();
}

}  // namespace parley::http

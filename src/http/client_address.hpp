#pragma once
// Who is really calling when Parley sits behind a reverse proxy: the TCP peer is the proxy, and
// the client is in X-Forwarded-For. The header is believed only from `trusted_proxies`
// (CIDRs); from anyone else it is ignored, so a client cannot pick its own address for the
// sign-in throttle or the audit log.

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace parley::http {

struct Cidr {
  boost::asio::ip::address network;
  unsigned prefix = 0;  // 0..32 (IPv4) or 0..128 (IPv6)
  bool Contains(const boost::asio::ip::address& a) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a single address ("10.0.0.7" = /32). kInvalidArgument
// invalid_trusted_proxy naming the text when it is neither.
Result<Cidr> ParseCidr(std::string_view text);
// Comma- or space-separated CIDRs (the PARLEY_TRUSTED_PROXIES form).
Result<std::vector<Cidr>> ParseCidrList(std::string_view text);

// The client's address: `peer` when it is not a trusted proxy; otherwise the X-Forwarded-For
// chain (`forwarded_for`: every header's value, in order) read from the right, skipping the
// trusted proxies, up to the first address that is not one — that address. An entry that is
// not an IP address stops the walk at the last trusted hop (a proxy never writes one). An
// IPv4-mapped IPv6 address is shown as IPv4.
std::string ClientAddress(const std::string& peer, const std::vector<std::string>& forwarded_for,
                          const std::vector<Cidr>& trusted_proxies);

}  // namespace parley::http

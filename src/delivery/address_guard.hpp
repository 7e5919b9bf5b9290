#pragma once
// The SSRF guard for client webhooks: which URLs Parley will POST to, and which addresses it will
// connect to once a host name is resolved. A webhook is chosen by whoever creates a connection,
// so without this guard Parley could be pointed at its own admin port, a cloud metadata service
// or anything else on the private network. Pure functions, thread-safe.

#include <boost/asio/ip/address.hpp>
#include <boost/url/url.hpp>
#include <cstddef>
#include <string_view>

#include "core/result.hpp"

namespace parley::delivery {

inline constexpr size_t kMaxWebhookUrlLength = 2048;

// Checks a client webhook URL: absolute, scheme `https` (or `http` only when `allow_insecure`),
// a host (an ASCII DNS name or an IP literal), no userinfo, a non-zero port if one is given, at
// most 2048 characters. An IP-literal host (also the numeric forms `inet_aton` accepts, such as
// `2130706433` or `127.1`) must be public unless `allow_insecure`; so must the name, which may not
// be `localhost` or end in `.localhost`. Other names are not resolved here: the webhook client
// checks every resolved address with IsPublicAddress at connect time.
// Returns the parsed URL (scheme and host lower-cased), or kInvalidArgument `invalid_webhook`
// with one sentence saying what to fix.
Result<boost::urls::url> ValidateWebhookUrl(std::string_view url, bool allow_insecure);

// True for globally routable unicast addresses. False for unspecified, loopback, private
// (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10), link-local (169.254/16, fe80::/10),
// multicast, broadcast and reserved (0/8, 240/4), IETF and documentation ranges, benchmarking
// (198.18/15), IPv6 unique-local (fc00::/7), site-local (fec0::/10), discard (100::/64), and for
// IPv6 forms that embed an IPv4 address (mapped ::ffff:0:0/96, compatible ::/96, NAT64
// 64:ff9b::/96, 6to4 2002::/16) when the embedded address is not public.
bool IsPublicAddress(const boost::asio::ip::address& address);

}  // namespace parley::delivery

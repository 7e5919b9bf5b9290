#pragma once
// Authorization of inbound requests (PROTOCOL.md §2): the whole check, given a way to look up
// a connection's secrets. Pure apart from the lookup; thread-safe if the lookup is.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace parley::channel {

struct Credentials {
  std::string connection_id;
  std::string secret;
  std::optional<std::string> previous_secret;  // accepted until previous_valid_until_ms
  int64_t previous_valid_until_ms = 0;
  bool enabled = true;
};

using CredentialLookup =
    std::function<std::optional<Credentials>(const std::string& connection_id)>;

// Checks the Authorization and connection_id headers. Returns the connection id.
// 401 (kUnauthenticated) for a missing, malformed, badly signed, expired or unknown-issuer
// token — an unknown issuer is refused exactly like a bad signature, so callers cannot learn
// which connection ids exist; 403 (kPermissionDenied) for a disabled connection or a
// connection_id header that differs from the issuer.
Result<std::string> AuthenticateRequest(std::string_view authorization,
                                        std::optional<std::string_view> connection_id_header,
                                        int64_t now_ms, const CredentialLookup& lookup);

}  // namespace parley::channel

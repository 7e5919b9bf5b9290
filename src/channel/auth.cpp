#include "channel/auth.hpp"

#include "channel/jwt.hpp"

namespace parley::channel {

Result<std::string> AuthenticateRequest(std::string_view authorization,
                                        std::optional<std::string_view> connection_id_header,
                                        int64_t now_ms, const CredentialLookup& lookup) {
  auto token = BearerToken(authorization);
  if (!token) return Fail(token.error());
  auto jwt = ParseJwt(*token);
  if (!jwt) return Fail(jwt.error());

  auto bad_signature = [] {
    return Fail(Errc::kUnauthenticated, "invalid_signature",
                "The token's signature does not verify: sign it with this connection's JWT "
                "secret, and set iss to the connection ID.");
  };
  std::optional<Credentials> creds;
  if (!jwt->claims.iss.empty()) creds = lookup(jwt->claims.iss);
  if (!creds) {
    // Same work and the same answer as a wrong secret.
    (void)SignatureMatches(*jwt, "parley-unknown-issuer-parley-unknown-issuer");
    return bad_signature();
  }
  bool ok = SignatureMatches(*jwt, creds->secret);
  if (!ok && creds->previous_secret && now_ms < creds->previous_valid_until_ms)
    ok = SignatureMatches(*jwt, *creds->previous_secret);
  if (!ok) return bad_signature();

  auto times = CheckTokenTimes(jwt->claims, now_ms / 1000);
  if (!times) return Fail(times.error());
  if (connection_id_header && *connection_id_header != jwt->claims.iss)
    return Fail(Errc::kPermissionDenied, "connection_mismatch",
                "The connection_id header must equal the token's iss claim.");
  if (!creds->enabled)
    return Fail(Errc::kPermissionDenied, "connection_disabled",
                "This connection is disabled; an administrator can enable it in the manager.");
  return std::move(jwt->claims.iss);
}

}  // namespace parley::channel

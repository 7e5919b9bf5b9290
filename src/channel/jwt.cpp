#include "channel/jwt.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "core/ids.hpp"

namespace parley::channel {
namespace json = boost::json;
namespace {

constexpr std::string_view kHeaderB64 =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";  // {"alg":"HS256","typ":"JWT"}

Failure Malformed(std::string message) {
  return Fail(Errc::kUnauthenticated, "malformed_token", std::move(message));
}

// A NumericDate: JSON integer, or a number with a fraction (truncated).
std::optional<int64_t> NumericDate(const json::value* v, bool& bad) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(v->as_uint64());
  // Seconds beyond ±2^53 are no real time; refusing them also keeps the arithmetic safe.
  if (v->is_double() && std::abs(v->as_double()) < 9007199254740992.0)
    return static_cast<int64_t>(v->as_double());
  bad = true;
  return std::nullopt;
}

bool InRange(const std::optional<int64_t>& t) {
  constexpr int64_t kMax = 9007199254740992;  // 2^53
  return !t || (*t > -kMax && *t < kMax);
}

}  // namespace

std::string HmacSha256(std::string_view secret, std::string_view data) {
  // libsodium's HMAC-SHA256 takes a key of any length and, unlike OpenSSL 3's one-shot HMAC(),
  // does not fetch a digest and build a MAC context on every call (a hot path: every request).
  crypto_auth_hmacsha256_state state;
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  crypto_auth_hmacsha256_final(&state, out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string SignJwt(std::string_view iss, int64_t iat, std::string_view secret) {
  json::object claims;
  claims["iss"] = iss;
  claims["iat"] = iat;
  std::string input = fmt::format("{}.{}", kHeaderB64, Base64UrlEncode(json::serialize(claims)));
  std::string sig = HmacSha256(secret, input);
  input.push_back('.');
  input += Base64UrlEncode(sig);
  return input;
}

Result<ParsedJwt> ParseJwt(std::string_view token) {
  if (token.size() > 8192) return Malformed("The token is longer than 8 KiB.");
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return Malformed("The token must have three base64url parts separated by dots.");
  std::string header_raw, payload_raw;
  ParsedJwt out;
  if (!Base64UrlDecode(token.substr(0, d1), header_raw) ||
      !Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1), payload_raw) ||
      !Base64UrlDecode(token.substr(d2 + 1), out.signature))
    return Malformed("The token's parts are not valid base64url.");

  boost::system::error_code ec;
  json::value header = json::parse(header_raw, ec);
  if (ec || !header.is_object()) return Malformed("The token's header is not a JSON object.");
  const json::value* alg = header.as_object().if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "HS256")
    return Fail(Errc::kUnauthenticated, "unsupported_algorithm",
                "Sign the token with HS256; other algorithms, none included, are refused.");

  json::value payload = json::parse(payload_raw, ec);
  if (ec || !payload.is_object()) return Malformed("The token's claims are not a JSON object.");
  const json::object& c = payload.as_object();
  if (const json::value* iss = c.if_contains("iss"); iss && iss->is_string())
    out.claims.iss = std::string(iss->as_string());
  bool bad = false;
  out.claims.iat = NumericDate(c.if_contains("iat"), bad);
  out.claims.exp = NumericDate(c.if_contains("exp"), bad);
  out.claims.nbf = NumericDate(c.if_contains("nbf"), bad);
  if (bad || !InRange(out.claims.iat) || !InRange(out.claims.exp) || !InRange(out.claims.nbf))
    return Malformed("The claims iat, exp and nbf must be numbers of seconds since 1970.");
  out.signing_input = std::string(token.substr(0, d2));
  return out;
}

bool SignatureMatches(const ParsedJwt& jwt, std::string_view secret) {
  std::string expected = HmacSha256(secret, jwt.signing_input);
  if (expected.size() != jwt.signature.size()) return false;
  return CRYPTO_memcmp(expected.data(), jwt.signature.data(), expected.size()) == 0;
}

Result<void> CheckTokenTimes(const JwtClaims& claims, int64_t now) {
  if (!claims.iat)
    return Fail(Errc::kUnauthenticated, "missing_iat",
                "Add an iat claim (issued-at, in Unix seconds) to the token.");
  if (now - *claims.iat > kTokenLifeSeconds ||
      (claims.exp && now > *claims.exp + kClockSkewSeconds))
    return Fail(Errc::kUnauthenticated, "token_expired",
                "The token is expired: tokens live five minutes; sign a fresh one per request.");
  if (*claims.iat > now + kClockSkewSeconds ||
      (claims.nbf && *claims.nbf > now + kClockSkewSeconds))
    return Fail(Errc::kUnauthenticated, "token_not_yet_valid",
                "The token is issued in the future; check the sender's clock.");
  return {};
}

Result<std::string_view> BearerToken(std::string_view authorization) {
  // The scheme in any capitalisation (RFC 7235), then one or more spaces, then the token.
  constexpr std::string_view kScheme = "bearer";
  bool scheme = authorization.size() > kScheme.size() && authorization[kScheme.size()] == ' ';
  for (size_t i = 0; scheme && i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    scheme = c == kScheme[i];
  }
  std::string_view token;
  if (scheme) {
    token = authorization.substr(kScheme.size());
    token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  }
  if (token.empty())
    return Fail(Errc::kUnauthenticated, "missing_token",
                "Send 'Authorization: Bearer <JWT>' signed with the connection's JWT secret.");
  return token;
}

}  // namespace parley::channel

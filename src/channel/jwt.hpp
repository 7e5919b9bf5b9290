#pragma once
// JWT (compact JWS, HS256 only) as the Client Channel API uses it: PROTOCOL.md §2.
// Pure functions, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace parley::channel {

struct JwtClaims {
  std::string iss;
  std::optional<int64_t> iat;
  std::optional<int64_t> exp;
  std::optional<int64_t> nbf;
};

// A token split and decoded, its signature not yet checked.
struct ParsedJwt {
  std::string signing_input;  // "header.payload", as received
  std::string signature;      // raw bytes
  JwtClaims claims;
};

inline constexpr int64_t kTokenLifeSeconds = 300;
inline constexpr int64_t kClockSkewSeconds = 30;

// Makes `{"alg":"HS256","typ":"JWT"}.{"iss":iss,"iat":iat}` signed with `secret` (raw UTF-8).
std::string SignJwt(std::string_view iss, int64_t iat, std::string_view secret);

// HMAC-SHA256 of `data` keyed with `secret`, 32 raw bytes.
std::string HmacSha256(std::string_view secret, std::string_view data);

// Splits and decodes a token; checks three base64url parts, JSON header and claims, alg HS256.
// Fails with kUnauthenticated and code malformed_token or unsupported_algorithm.
Result<ParsedJwt> ParseJwt(std::string_view token);

// Constant-time check of the signature against `secret`.
bool SignatureMatches(const ParsedJwt& jwt, std::string_view secret);

// iat present, now - iat <= 300 s, iat <= now + 30 s; exp and nbf honoured with the same skew.
// Fails with kUnauthenticated: missing_iat, token_expired or token_not_yet_valid.
Result<void> CheckTokenTimes(const JwtClaims& claims, int64_t now_seconds);

// The token of an `Authorization: Bearer <token>` header, or an error (missing_token).
Result<std::string_view> BearerToken(std::string_view authorization);

}  // namespace parley::channel

#pragma once
// Result<T>: the value of a domain or storage call, or an Error saying what went wrong.
// Domain code returns these instead of throwing; the HTTP layer maps Errc to a status.

#include <expected>
#include <string>
#include <utility>

namespace parley {

enum class Errc {
  kInvalidArgument,   // 400: the caller sent something malformed or out of bounds
  kUnauthenticated,   // 401
  kPermissionDenied,  // 403
  kNotFound,          // 404
  kConflict,          // 409: a unique name taken, a state that forbids the change
  kPayloadTooLarge,   // 413
  kUnsupportedMedia,  // 415
  kRateLimited,       // 429
  kUnavailable,       // 503: shutting down, overloaded, store unreachable
  kInternal,          // 500
};

struct Error {
  Errc errc = Errc::kInternal;
  std::string code;     // snake_case, shown to the caller
  std::string message;  // one sentence the caller can act on; never secrets or internals
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(Errc errc, std::string code, std::string message) {
  return std::unexpected(Error{errc, std::move(code), std::move(message)});
}

inline std::unexpected<Error> Fail(Error e) { return std::unexpected(std::move(e)); }

// HTTP status for an error class.
int HttpStatus(Errc errc);

}  // namespace parley

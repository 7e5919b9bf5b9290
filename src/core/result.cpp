#include "core/result.hpp"

namespace parley {

int HttpStatus(Errc errc) {
  switch (errc) {
    case Errc::kInvalidArgument:
      return 400;
    case Errc::kUnauthenticated:
      return 401;
    case Errc::kPermissionDenied:
      return 403;
    case Errc::kNotFound:
      return 404;
    case Errc::kConflict:
      return 409;
    case Errc::kPayloadTooLarge:
      return 413;
    case Errc::kUnsupportedMedia:
      return 415;
    case Errc::kRateLimited:
      return 429;
    case Errc::kUnavailable:
      return 503;
    case Errc::kInternal:
      return 500;
  }
  return 500;
}

}  // namespace parley

#pragma once
// A small blocking HTTP(S) client for the CLI's talks with a running server (admin REST).
// Not for the server's own use: it blocks the calling thread.

#include <chrono>
#include <string>

#include "core/result.hpp"

namespace parley::app {

struct RestResponse {
  int status = 0;
  std::string body;
};

// Sends `method` `base_url + path` with a bearer token and an optional JSON body. Fails with
// kUnavailable naming the step (resolve, connect, TLS, write, read) when no answer came.
Result<RestResponse> RestCall(const std::string& method, const std::string& base_url,
                              const std::string& path, const std::string& bearer,
                              const std::string& json_body = "",
                              std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace parley::app

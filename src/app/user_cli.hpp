#pragma once
// `parley user create|list|show|update|delete|password`: the people who sign in, managed from
// the terminal through a running server's REST API (like `parley connection`).

#include <CLI/CLI.hpp>
#include <string>

#include "app/rest_client.hpp"
#include "core/result.hpp"

namespace parley::app {

void AddUserCommands(CLI::App& app);

// Shared with the queue commands: where the server is and the admin token.
struct RestTarget {
  std::string server;
  std::string token;
};
// The server from PARLEY_URL (or http://127.0.0.1:8080) and the token from PARLEY_ADMIN_TOKEN.
RestTarget DefaultRestTarget();
// --server and --admin-token on `cmd`, writing into `t`.
void AddRestTargetOptions(CLI::App* cmd, RestTarget& t);
// Prints a 2xx body on stdout and returns 0; prints the error on stderr and returns 1.
int ReportRest(const Result<RestResponse>& r);
// Throws CLI::RuntimeError for a non-zero status (CLI11 makes it the exit status).
void FinishRest(int rc);
// Percent-encodes one path segment.
std::string PathSegment(const std::string& s);

}  // namespace parley::app

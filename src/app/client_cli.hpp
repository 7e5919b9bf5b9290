#pragma once
// `parley client send|listen`: the integration developer's tools. `send` plays the integration
// layer posting a customer event to Parley (PROTOCOL.md §3); `listen` plays its webhook,
// verifying each of Parley's requests as §2 says and printing the events. The functions behind
// the commands take their streams, clock and id generator so tests can drive them in-process.

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"

namespace parley::app {

// Adds `client send` and `client listen` to `app`. A failing subcommand throws
// CLI::RuntimeError with its exit code (1), which CLI11's app.exit() turns into the exit status.
void AddClientCommands(CLI::App& app);

struct SendOptions {
  std::string url;            // Parley's base URL or its full /messages URL
  std::string connection_id;  // the JWT issuer and the connection_id header
  std::string secret;         // the connection's JWT secret (raw UTF-8)
  std::string customer_id;
  std::string customer_name;  // empty: not sent
  std::string message_id;     // empty: a fresh UUID
  std::string postback;       // empty: not sent
  std::string type = "text";  // text | typing_indicator | customer_end_session
  std::vector<std::string> text;
  std::string ca_file;  // extra CA bundle for https
  std::chrono::milliseconds timeout{10000};
};

// The /messages URL for `url`: "/messages" is appended when the path is empty or "/".
// Fails with kInvalidArgument invalid_url.
Result<std::string> MessagesUrl(std::string_view url);

// The JSON body of PROTOCOL.md §3 for the options. Fails with kInvalidArgument when a text
// event has neither text nor postback, or the type is unknown.
Result<std::string> BuildSendBody(const SendOptions& options, IdGenerator& ids);

// Signs a fresh token and POSTs the event. An accepted event (2xx) prints "HTTP <status>" and
// the body on `out` and returns 0; a refusal prints RefusalLine on `err`, and any other failure
// "error: <why>" there, and returns 1, so scripts can tell them apart by stream and status.
// Blocks the calling thread.
int RunSend(const SendOptions& options, std::ostream& out, std::ostream& err, const Clock& clock,
            IdGenerator& ids);

// One line for a refused send: "error: HTTP <status> <code>: <message>" from Parley's error
// body ({"error":{"code","message"}}), else "error: HTTP <status>: <body>" with the body's first
// 512 bytes on one line. Pure.
std::string RefusalLine(int status, std::string_view body);

// The checks of PROTOCOL.md §2 a webhook receiver makes: Bearer token, HS256, signature, token
// times, issuer equal to `expected_connection_id` (when not empty) and to the connection_id
// header (when sent). Fails with kUnauthenticated (answer 401) or kPermissionDenied (403:
// header/issuer mismatch), with the code and message to log. Pure; thread-safe.
Result<void> CheckWebhookRequest(std::string_view authorization,
                                 std::optional<std::string_view> connection_id_header,
                                 std::string_view secret, std::string_view expected_connection_id,
                                 int64_t now_seconds);

// A request body as one line of compact JSON, or kInvalidArgument invalid_json.
Result<std::string> EventLine(std::string_view body);

struct ListenOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0: a free port
  std::string secret;
  std::string connection_id;  // empty: any issuer whose token verifies with the secret
};

// The `client listen` receiver: a keep-alive HTTP/1.1 server on `ioc` that answers 200
// "success" to verified requests and prints each event as one JSON line on `events` (flushed),
// and answers 401/403/400/405 to the rest with a line on `log`. Not thread-safe: run `ioc` on
// one thread.
class WebhookListener {
 public:
  // Binds and starts accepting; fails with kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<WebhookListener>> Start(boost::asio::io_context& ioc,
                                                        ListenOptions options, std::ostream& events,
                                                        std::ostream& log, const Clock& clock);
  ~WebhookListener();
  unsigned short Port() const;
  std::string Url() const;  // http://HOST:PORT
  // Stops accepting and closes open connections; call on the io_context's thread.
  void Stop();

  class Impl;

 private:
  explicit WebhookListener(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Runs a listener until SIGINT or SIGTERM; 0 on a clean stop, 1 when it cannot start.
int RunListen(const ListenOptions& options, std::ostream& events, std::ostream& log);

}  // namespace parley::app

#pragma once
// The outbound HTTP/1.1 client that delivers events to client webhooks (PROTOCOL.md §4): a
// keep-alive pool per host, TLS with certificate and host-name verification, the SSRF guard on
// every resolved address, and one deadline over the whole exchange.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace parley::delivery {

struct WebhookClientOptions {
  bool allow_insecure = false;           // http:// and private targets allowed (tests, dev)
  std::string ca_file;                   // extra CA bundle (PEM); empty = system store only
  size_t max_connections_per_host = 16;  // busy plus idle connections to one scheme+host+port
  std::chrono::milliseconds idle_timeout{30000};  // pooled connection kept this long
  size_t max_response_body = 64 * 1024;           // a longer body is cut; the status still counts
};

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
};

struct HttpResponse {
  int status = 0;
  std::string body;  // at most max_response_body bytes
  bool cut = false;  // the body was longer than max_response_body: `body` is its beginning
};

struct WebhookClientStats {
  size_t idle_connections = 0;    // pooled now
  size_t busy_connections = 0;    // holding a request slot now
  size_t connections_opened = 0;  // since construction
  size_t stale_retries = 0;       // reused connections found dead and replaced
};

// Thread-safe: Post may be called concurrently from coroutines on a multi-threaded io_context.
// The client must outlive the Post calls it started (each also keeps the pool state alive).
class WebhookClient {
 public:
  WebhookClient(boost::asio::any_io_executor ex, WebhookClientOptions options);
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // Whether the TLS context could be built (the CA file read); when not, every Post fails with
  // the same error. Call at start-up to refuse a bad `webhook_ca_file` early.
  Result<void> Ready() const;

  // POSTs `req.body` to `req.url` with `req.headers` (plus Host, User-Agent, Content-Length).
  // Validates the URL with ValidateWebhookUrl, resolves the host and refuses it unless every
  // resolved address is public (unless allow_insecure), connects (TLS: peer certificate and host
  // name verified, SNI sent for names), or reuses an idle keep-alive connection of the same
  // scheme+host+port, one request per connection at a time. When max_connections_per_host are
  // busy, waits for one to free up. Everything, the wait included, obeys `req.timeout`.
  // A reused connection that fails before any response byte arrives is retried once on a fresh
  // connection. Any HTTP status is a successful result; the caller decides what 5xx means.
  // Fails (never throws) with kInvalidArgument `invalid_webhook`/`invalid_header` for a bad
  // request, or kUnavailable with code resolve_failed, blocked_address, connect_failed,
  // tls_failed, write_failed, read_failed, timeout or client_closed and a message naming the step.
  boost::asio::awaitable<Result<HttpResponse>> Post(HttpRequest req);

  // Closes idle pooled connections and refuses later Posts (at shutdown). Posts in flight finish;
  // their connections are closed instead of pooled. Thread-safe.
  void Close();

  WebhookClientStats Stats() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::delivery

#pragma once
// `parley client webchat`: a demo customer-side web chat whose server half is an integration
// layer of its own (docs/webchat.md). It talks to Parley only through the Client Channel API
// (PROTOCOL.md): the page's sends become signed POSTs to Parley's /messages, and Parley's
// webhook calls to /webhook are verified and pushed to the customer's browser over a WebSocket.

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"
#include "http/websocket.hpp"

namespace parley::app {

struct WebchatOptions {
  std::string listen = "127.0.0.1";
  uint16_t port = 0;                         // 0: a free port
  std::string parley_url;                    // Parley's base URL or its /messages URL
  std::string connection_id;                 // the JWT issuer both ways
  std::string secret;                        // the connection's JWT secret
  std::string ca_file;                       // extra CA bundle for an https Parley
  std::chrono::milliseconds timeout{10000};  // for each POST to Parley
  size_t backlog_per_customer = 200;         // events kept for a page that reconnects
  size_t max_customers = 10000;              // the least recently active is forgotten past it
  size_t max_sockets_per_customer = 8;       // browser tabs of one customer
};

// The events Parley sent to each customer, kept for that customer's pages: a bounded backlog
// numbered 1, 2, 3... per customer (the page's `after` cursor), repeats of an event_id dropped,
// and a live fan-out to the customer's open WebSockets. Frames are {"n":N,"event":{...}}.
// Thread-safe.
class WebchatHub {
 public:
  WebchatHub(size_t backlog, size_t max_customers, size_t max_sockets_per_customer);
  // Records and pushes an event as the frame {"n", "at": at_ms, "event"}. False when its
  // event_id was seen already (nothing is sent).
  bool Publish(const std::string& customer_id, const std::string& event_id,
               const boost::json::object& event, int64_t at_ms);
  // Adds a socket and sends it the backlog after `after`. False when the customer has the
  // most sockets already.
  bool Attach(const std::string& customer_id, std::shared_ptr<http::WebSocket> socket,
              uint64_t after);
  void Detach(const std::string& customer_id, const http::WebSocket* socket);
  size_t Customers() const;

 private:
  struct Customer {
    uint64_t next = 1;
    std::deque<std::pair<uint64_t, std::string>> backlog;  // (n, frame)
    std::deque<std::string> recent_ids;                    // for repeats; bounded
    std::vector<std::shared_ptr<http::WebSocket>> sockets;
    uint64_t last_used = 0;
  };
  Customer& Get(const std::string& customer_id);  // with mu_ held

  size_t backlog_;
  size_t max_customers_;
  size_t max_sockets_;
  mutable std::mutex mu_;
  std::map<std::string, Customer> customers_;
  uint64_t tick_ = 0;
};

// The running web chat: pages at /, POST /api/send|typing|end, WebSocket /api/events, and the
// client webhook at POST /webhook. Runs on `io` (one thread is enough).
class Webchat {
 public:
  static Result<std::unique_ptr<Webchat>> Start(boost::asio::io_context& io, WebchatOptions options,
                                                const Clock& clock, IdGenerator& ids);
  ~Webchat();
  uint16_t Port() const;
  std::string Url() const;  // http://HOST:PORT
  // Stops accepting, closes the WebSockets (1001) and the client; io.run() then returns.
  void Stop();

  class Impl;

 private:
  explicit Webchat(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs the web chat until SIGINT or SIGTERM; prints "webchat on http://HOST:PORT" on `out` when
// ready. 0 on a clean stop, 1 when it cannot start (the reason on `err`).
int RunWebchat(const WebchatOptions& options, std::ostream& out, std::ostream& err);

// Adds `webchat` under the `client` command.
void AddWebchatCommand(CLI::App& client);

}  // namespace parley::app

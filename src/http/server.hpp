#pragma once
// The HTTP/1.1 server: an acceptor and one coroutine a connection, on Boost.Beast.
// Bounds: header size, body size (a larger body gets 413), a deadline for the header and one
// for the body (slow clients are cut off), a keep-alive idle deadline, and a cap on open
// connections. Requests on one connection are answered in order, one at a time, which bounds
// pipelining to a single request in flight per connection. A GET upgrade request on a path
// registered with Router::AddWebSocket becomes a WebSocket connection (http/websocket.hpp):
// pinged every websocket_ping_ms, incoming messages bounded in size, outgoing queue in bytes.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "http/client_address.hpp"
#include "http/router.hpp"

namespace parley::http {
namespace detail {
struct WebSocketOptions;
}

struct ServerOptions {
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  // Bodies up to this size are read and discarded to answer 413 cleanly; larger ones make the
  // server answer 413 and close.
  size_t max_drained_body_bytes = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_connections = 10000;
  // WebSocket connections: the server pings every interval and drops a peer silent for one more.
  std::chrono::milliseconds websocket_ping_ms{20000};
  size_t websocket_max_buffered_bytes = 1024 * 1024;  // queued, unsent bytes; above: close 1013
  size_t websocket_max_message_bytes = 64 * 1024;     // one incoming message; above: close 1009
  std::chrono::milliseconds websocket_close_timeout{5000};  // for a peer to answer a close
  // Peers whose X-Forwarded-For is believed (http/client_address.hpp): Request::remote_address
  // is then the client's address, not the proxy's.
  std::vector<Cidr> trusted_proxies;
};

class Server {
 public:
  Server(boost::asio::io_context& io, const Router& router, ServerOptions options);
  ~Server();

  // Connections are served on these executors in turn (each an io_context run by one thread,
  // so a connection's work stays on one thread without a strand or a shared scheduler lock).
  // Without them, each connection gets a strand of the server's io_context. Before Listen.
  void ServeOn(std::vector<boost::asio::any_io_executor> executors) {
    session_executors_ = std::move(executors);
  }
  // Binds and starts accepting. Returns the bound endpoint (port 0 picks a free one).
  Result<boost::asio::ip::tcp::endpoint> Listen(const std::string& host, uint16_t port);
  // Stops accepting; idle connections are closed, busy ones after their current answer,
  // WebSockets with close code 1001 (going away). New requests on open connections get 503.
  // Thread-safe.
  void Shutdown();
  size_t OpenConnections() const { return open_.load(); }
  bool ShuttingDown() const { return stopping_.load(); }

  struct Session;

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(std::shared_ptr<Session> session);
  detail::WebSocketOptions WebSocketOptions() const;

  boost::asio::io_context& io_;
  const Router& router_;
  ServerOptions options_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::vector<boost::asio::any_io_executor> session_executors_;
  size_t next_executor_ = 0;  // used by the accept coroutine only
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};
  std::mutex sessions_mu_;
  std::list<std::weak_ptr<Session>> sessions_;
};

}  // namespace parley::http

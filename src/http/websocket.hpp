#pragma once
// WebSocket connections as a handler sees them: no Beast types. The server (http/server.cpp)
// does the handshake and the framing (http/websocket_session.*); a route registered with
// Router::AddWebSocket answers an Upgrade: a refusal, or a start function that receives the
// socket once the handshake is done and returns the handlers for what the client sends.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/request.hpp"

namespace parley::http {

// One accepted WebSocket connection as a handler sees it. Thread-safe: Send and Close may be
// called from any thread (they post to the connection's executor).
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // Queues one text frame and returns at once. Returns false when the socket is closed or
  // closing, or when the queued, unsent bytes would pass the bound
  // (ServerOptions::websocket_max_buffered_bytes, default 1 MiB): then the socket is closed
  // (close code 1013, "slow consumer") — a slow consumer never blocks the server; the client
  // reconnects.
  virtual bool Send(std::string text) = 0;
  // Sends a close frame (code, reason) after the frames already queued; idempotent. A peer that
  // does not answer the close within ServerOptions::websocket_close_timeout is disconnected.
  virtual void Close(uint16_t code = 1000, std::string reason = {}) = 0;
  // True until Close is called or the connection ends.
  virtual bool IsOpen() const = 0;
};

struct WebSocketHandlers {
  std::function<void(std::string text)> on_message;  // a text frame from the client (optional)
  std::function<void()> on_close;  // once, when the connection ends for any reason (optional)
};

// What an upgrade route answers: either a refusal (an ordinary Response, e.g. 401/403) or a start
// function, called once after the handshake with the socket; it returns the handlers.
struct Upgrade {
  std::optional<Response> refuse;
  std::function<WebSocketHandlers(std::shared_ptr<WebSocket>)> start;
};

using UpgradeHandler = std::function<boost::asio::awaitable<Upgrade>(Request&)>;

}  // namespace parley::http

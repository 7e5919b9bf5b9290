#pragma once
// The server side of one WebSocket connection on Boost.Beast: the handshake, a read loop that
// hands text frames to the handlers, and a writer that drains a byte-bounded queue. Internal to
// http::Server; handlers only see http::WebSocket.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "http/websocket.hpp"

namespace parley::http::detail {

struct WebSocketOptions {
  size_t max_buffered_bytes = 1024 * 1024;  // queued, unsent outgoing bytes
  size_t max_message_bytes = 64 * 1024;     // one incoming message
  std::chrono::milliseconds ping_interval{20000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds close_timeout{5000};  // for the peer to answer our close frame
};

// Completes the handshake for `request` on `stream`, calls `registered` with the socket (so the
// server can close it on shutdown), then `start`, and serves frames until the connection ends.
// Runs on the stream's executor; returns when the connection is closed and on_close has run.
boost::asio::awaitable<void> ServeWebSocket(
    boost::beast::tcp_stream stream,
    boost::beast::http::request<boost::beast::http::string_body> request,
    std::function<WebSocketHandlers(std::shared_ptr<WebSocket>)> start,
    const WebSocketOptions& options,
    const std::function<void(std::shared_ptr<WebSocket>)>& registered);

}  // namespace parley::http::detail

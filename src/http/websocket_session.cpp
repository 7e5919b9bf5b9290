#include "http/websocket_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <mutex>
#include <optional>

namespace parley::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace bhttp = beast::http;

namespace {

constexpr auto kUseEc = [](boost::system::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
};

class Connection final : public WebSocket, public std::enable_shared_from_this<Connection> {
 public:
  Connection(beast::tcp_stream stream, const WebSocketOptions& options)
      : ws_(std::move(stream)),
        executor_(ws_.get_executor()),
        options_(options),
        close_timer_(executor_) {}

  websocket::stream<beast::tcp_stream>& ws() { return ws_; }

  bool Send(std::string text) override {
    bool queued = false;
    bool spawn = false;
    {
      std::lock_guard lock(mu_);
      if (closing_ || !open_) return false;
      if (queued_bytes_ + text.size() <= options_.max_buffered_bytes) {
        queued_bytes_ += text.size();
        queue_.push_back(std::move(text));
        queued = true;
        spawn = !writing_;
        writing_ = true;
      } else {
        // A slow consumer: drop what it has not taken and close it; the client reconnects.
        queue_.clear();
        queued_bytes_ = in_flight_bytes_;
        spawn = BeginCloseLocked(1013, "slow consumer");
      }
    }
    if (queued) {
      if (spawn) SpawnWriter();
      return true;
    }
    AfterClose(spawn);
    return false;
  }

  void Close(uint16_t code, std::string reason) override {
    bool spawn = false;
    {
      std::lock_guard lock(mu_);
      if (closing_ || !open_) return;
      spawn = BeginCloseLocked(code, std::move(reason));
    }
    AfterClose(spawn);
  }

  bool IsOpen() const override {
    std::lock_guard lock(mu_);
    return open_ && !closing_;
  }

  // Reads frames until the connection ends, then runs on_close. On the connection's executor.
  asio::awaitable<void> Run(WebSocketHandlers handlers) {
    beast::flat_buffer buffer;
    for (;;) {
      boost::system::error_code ec;
      co_await ws_.async_read(buffer, kUseEc(ec));
      if (ec) break;
      if (!ws_.got_text()) {
        buffer.consume(buffer.size());
        Close(1003, "text frames only");
        continue;
      }
      std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      if (!handlers.on_message || !IsOpen()) continue;
      try {
        handlers.on_message(std::move(text));
      } catch (const std::exception& e) {
        spdlog::error("websocket message handler threw: {}", e.what());
        Close(1011, "internal error");
      }
    }
    {
      std::lock_guard lock(mu_);
      open_ = false;
      queue_.clear();
    }
    close_timer_.cancel();
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
    if (handlers.on_close) {
      try {
        handlers.on_close();
      } catch (const std::exception& e) {
        spdlog::error("websocket close handler threw: {}", e.what());
      }
    }
  }

 private:
  // Records the close; true when the caller must start the writer to send it.
  bool BeginCloseLocked(uint16_t code, std::string reason) {
    closing_ = true;
    if (reason.size() > 120) reason.resize(120);  // a close frame's reason is at most 123 bytes
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    if (writing_) return false;
    writing_ = true;
    return true;
  }

  void AfterClose(bool spawn) {
    if (spawn) SpawnWriter();
    // A peer that neither takes the queued frames nor answers the close is cut off.
    asio::post(executor_, [self = shared_from_this()] {
      {
        std::lock_guard lock(self->mu_);
        if (!self->open_) return;  // ended meanwhile: no timer to keep the executor busy
      }
      self->close_timer_.expires_after(self->options_.close_timeout);
      self->close_timer_.async_wait([self](boost::system::error_code ec) {
        if (ec) return;
        beast::get_lowest_layer(self->ws_).close();
      });
    });
  }

  void SpawnWriter() { asio::co_spawn(executor_, Write(shared_from_this()), asio::detached); }

  static asio::awaitable<void> Write(std::shared_ptr<Connection> self) {
    for (;;) {
      std::string frame;
      std::optional<websocket::close_reason> close;
      {
        std::lock_guard lock(self->mu_);
        if (!self->open_) {
          self->writing_ = false;
          co_return;
        }
        if (!self->queue_.empty()) {
          frame = std::move(self->queue_.front());
          self->queue_.pop_front();
          self->in_flight_bytes_ = frame.size();
        } else if (self->close_reason_ && !self->close_sent_) {
          close = self->close_reason_;
          self->close_sent_ = true;
        } else {
          self->writing_ = false;
          co_return;
        }
      }
      boost::system::error_code ec;
      if (close) {
        co_await self->ws_.async_close(*close, kUseEc(ec));
        if (ec) beast::get_lowest_layer(self->ws_).close();
        continue;  // the loop ends at the next turn: nothing is queued after a close
      }
      co_await self->ws_.async_write(asio::buffer(frame), kUseEc(ec));
      {
        std::lock_guard lock(self->mu_);
        self->queued_bytes_ -= self->in_flight_bytes_;
        self->in_flight_bytes_ = 0;
      }
      if (ec) {
        beast::get_lowest_layer(self->ws_).close();  // the read loop ends and cleans up
        std::lock_guard lock(self->mu_);
        self->writing_ = false;
        co_return;
      }
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  asio::any_io_executor executor_;
  WebSocketOptions options_;
  asio::steady_timer close_timer_;  // used on the executor only

  mutable std::mutex mu_;  // guards the fields below
  bool open_ = true;
  bool closing_ = false;
  bool writing_ = false;  // a writer coroutine is running
  bool close_sent_ = false;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;  // in queue_ plus the frame being written
  size_t in_flight_bytes_ = 0;
  std::optional<websocket::close_reason> close_reason_;
};

}  // namespace

asio::awaitable<void> ServeWebSocket(
    beast::tcp_stream stream, bhttp::request<bhttp::string_body> request,
    std::function<WebSocketHandlers(std::shared_ptr<WebSocket>)> start,
    const WebSocketOptions& options,
    const std::function<void(std::shared_ptr<WebSocket>)>& registered) {
  stream.expires_never();  // the websocket stream keeps its own timeouts
  auto conn = std::make_shared<Connection>(std::move(stream), options);
  auto& ws = conn->ws();
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = options.handshake_timeout;
  // Beast pings when half the idle timeout has passed without data, and closes the stream when
  // the whole of it passes: a ping every interval, and a peer silent for one more is dropped.
  timeouts.idle_timeout = 2 * options.ping_interval;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(bhttp::field::server, "parley"); }));
  ws.read_message_max(options.max_message_bytes);
  ws.text(true);
  boost::system::error_code ec;
  co_await ws.async_accept(request, kUseEc(ec));
  if (ec) {
    beast::get_lowest_layer(ws).close();
    co_return;
  }
  registered(conn);
  WebSocketHandlers handlers;
  try {
    handlers = start(conn);
  } catch (const std::exception& e) {
    spdlog::error("websocket start handler threw: {}", e.what());
    conn->Close(1011, "internal error");
  }
  co_await conn->Run(std::move(handlers));
}

}  // namespace parley::http::detail

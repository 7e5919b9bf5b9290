// http::Server's WebSocket support, with a real socket on 127.0.0.1 and a Beast client.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "http/router.hpp"
#include "http/server.hpp"
#include "test_support.hpp"

namespace parley::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using parley::testing::AwaitOn;
using parley::testing::WaitFor;

// An io_context run by its own thread until the object goes away.
struct IoThread {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  void Stop() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
  ~IoThread() { Stop(); }
};

// What the server side saw, shared between the handlers and the test.
struct Seen {
  std::mutex mu;
  std::shared_ptr<WebSocket> socket;
  std::string room;
  std::atomic<int> closes{0};
  std::shared_ptr<WebSocket> Socket() {
    std::lock_guard lock(mu);
    return socket;
  }
};

class WebSocketTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    router_.AddWebSocket("/ws/{room}", [this](Request& req) -> asio::awaitable<Upgrade> {
      Upgrade up;
      if (req.Query("token").value_or("") != "good") {
        up.refuse = ErrorResponse(Errc::kUnauthenticated, "unauthenticated", "Bad token.");
        co_return up;
      }
      std::string room = req.Param("room");
      up.start = [this, room](std::shared_ptr<WebSocket> ws) {
        {
          std::lock_guard lock(seen_.mu);
          seen_.socket = ws;
          seen_.room = room;
        }
        WebSocketHandlers h;
        std::weak_ptr<WebSocket> weak = ws;
        h.on_message = [weak, room](std::string text) {
          if (auto s = weak.lock()) s->Send(room + ":" + text);
        };
        h.on_close = [this] { ++seen_.closes; };
        return h;
      };
      co_return up;
    });
    router_.Add("GET", "/plain", [](Request&) -> asio::awaitable<Response> {
      Response r;
      r.body = "{\"plain\":true}";
      co_return r;
    });
    server_ = std::make_unique<Server>(server_io_.io, router_, options);
    auto bound = server_->Listen("127.0.0.1", 0);
    ASSERT_TRUE(bound.has_value());
    port_ = bound->port();
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown();
      EXPECT_TRUE(WaitFor([&] { return server_->OpenConnections() == 0; }));
    }
    // The server's coroutines run on server_io_: stop it before the server goes away.
    client_io_.Stop();
    server_io_.Stop();
    server_.reset();
  }

  using Ws = websocket::stream<beast::tcp_stream>;

  // Connects and does the handshake; the response is returned in `res`.
  std::unique_ptr<Ws> Connect(const std::string& target, websocket::response_type& res,
                              boost::system::error_code& ec) {
    auto ws = std::make_unique<Ws>(client_io_.io);
    ec = AwaitOn(client_io_.io.get_executor(), [&]() -> asio::awaitable<boost::system::error_code> {
      boost::system::error_code e;
      auto& tcp_layer = beast::get_lowest_layer(*ws);
      tcp_layer.expires_after(std::chrono::seconds(5));
      co_await tcp_layer.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                                       asio::redirect_error(asio::use_awaitable, e));
      if (e) co_return e;
      tcp_layer.expires_never();
      ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      co_await ws->async_handshake(res, "127.0.0.1", target,
                                   asio::redirect_error(asio::use_awaitable, e));
      co_return e;
    }());
    return ws;
  }

  std::unique_ptr<Ws> Connect(const std::string& target) {
    websocket::response_type res;
    boost::system::error_code ec;
    auto ws = Connect(target, res, ec);
    EXPECT_FALSE(ec) << ec.message();
    return ws;
  }

  // Reads one message; the error (websocket::error::closed after a close frame) in `ec`.
  std::string Read(Ws& ws, boost::system::error_code& ec) {
    return AwaitOn(client_io_.io.get_executor(), [&]() -> asio::awaitable<std::string> {
      beast::flat_buffer buffer;
      co_await ws.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      co_return beast::buffers_to_string(buffer.data());
    }());
  }

  void Write(Ws& ws, const std::string& text, bool binary = false) {
    auto ec =
        AwaitOn(client_io_.io.get_executor(), [&]() -> asio::awaitable<boost::system::error_code> {
          boost::system::error_code e;
          ws.binary(binary);
          co_await ws.async_write(asio::buffer(text), asio::redirect_error(asio::use_awaitable, e));
          co_return e;
        }());
    ASSERT_FALSE(ec) << ec.message();
  }

  // A plain HTTP GET; returns the status and fills `body`.
  int PlainGet(const std::string& target, bool upgrade_headers, std::string& body) {
    return AwaitOn(client_io_.io.get_executor(), [&]() -> asio::awaitable<int> {
      beast::tcp_stream stream(client_io_.io);
      stream.expires_after(std::chrono::seconds(5));
      co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                                    asio::use_awaitable);
      bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
      req.set(bhttp::field::host, "127.0.0.1");
      if (upgrade_headers) {
        req.set(bhttp::field::connection, "Upgrade");
        req.set(bhttp::field::upgrade, "websocket");
        req.set(bhttp::field::sec_websocket_version, "13");
        req.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
      }
      co_await bhttp::async_write(stream, req, asio::use_awaitable);
      beast::flat_buffer buffer;
      bhttp::response<bhttp::string_body> res;
      co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
      body = res.body();
      co_return res.result_int();
    }());
  }

  IoThread server_io_;
  IoThread client_io_;
  Router router_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  Seen seen_;
};

TEST_F(WebSocketTest, UpgradeIsAcceptedAndFramesEcho) {
  Start();
  auto ws = Connect("/ws/lobby?token=good");
  ASSERT_TRUE(WaitFor([&] { return seen_.Socket() != nullptr; }));
  EXPECT_EQ(seen_.room, "lobby");
  EXPECT_EQ(server_->OpenConnections(), 1u);  // a WebSocket counts while open
  Write(*ws, "hello");
  boost::system::error_code ec;
  EXPECT_EQ(Read(*ws, ec), "lobby:hello");
  EXPECT_FALSE(ec);
  Write(*ws, "again");
  EXPECT_EQ(Read(*ws, ec), "lobby:again");
  // The client closes; on_close runs once and the connection is no longer counted.
  AwaitOn(client_io_.io.get_executor(), [&]() -> asio::awaitable<void> {
    boost::system::error_code e;
    co_await ws->async_close(websocket::close_code::normal,
                             asio::redirect_error(asio::use_awaitable, e));
  }());
  EXPECT_TRUE(WaitFor([&] { return seen_.closes.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return server_->OpenConnections() == 0; }));
  EXPECT_FALSE(seen_.Socket()->IsOpen());
  EXPECT_FALSE(seen_.Socket()->Send("late"));
}

TEST_F(WebSocketTest, RefusalIsAnsweredWithItsStatus) {
  Start();
  websocket::response_type res;
  boost::system::error_code ec;
  auto ws = Connect("/ws/lobby?token=bad", res, ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(seen_.Socket(), nullptr);
}

TEST_F(WebSocketTest, PlainGetOnWebSocketRouteIs426AndUpgradeOnPlainRouteIsPlain) {
  Start();
  std::string body;
  EXPECT_EQ(PlainGet("/ws/lobby?token=good", false, body), 426);
  EXPECT_NE(body.find("\"upgrade_required\""), std::string::npos) << body;
  EXPECT_EQ(PlainGet("/plain", true, body), 200);
  EXPECT_EQ(body, "{\"plain\":true}");
  EXPECT_EQ(PlainGet("/nowhere", true, body), 404);
}

TEST_F(WebSocketTest, SendFromAnotherThread) {
  Start();
  auto ws = Connect("/ws/lobby?token=good");
  ASSERT_TRUE(WaitFor([&] { return seen_.Socket() != nullptr; }));
  auto socket = seen_.Socket();
  std::thread sender([socket] {
    for (int i = 0; i < 50; ++i) socket->Send("n" + std::to_string(i));
  });
  sender.join();
  boost::system::error_code ec;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Read(*ws, ec), "n" + std::to_string(i));  // in order, none lost
    ASSERT_FALSE(ec);
  }
  socket->Close(4000, "bye");
  Read(*ws, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws->reason().code, 4000);
  EXPECT_EQ(std::string(ws->reason().reason.c_str()), "bye");
  EXPECT_TRUE(WaitFor([&] { return seen_.closes.load() == 1; }));
}

TEST_F(WebSocketTest, SlowConsumerIsClosedWithoutBlocking) {
  ServerOptions options;
  options.websocket_max_buffered_bytes = 64 * 1024;
  options.websocket_close_timeout = std::chrono::milliseconds(300);
  Start(options);
  auto ws = Connect("/ws/lobby?token=good");  // and never read from
  ASSERT_TRUE(WaitFor([&] { return seen_.Socket() != nullptr; }));
  auto socket = seen_.Socket();
  std::string chunk(16 * 1024, 'x');
  int accepted = 0;
  auto began = std::chrono::steady_clock::now();
  // Kernel buffers take some megabytes; past them the bounded queue fills and Send says no.
  while (accepted < 100000 && socket->Send(chunk)) ++accepted;
  EXPECT_LT(accepted, 100000);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
  EXPECT_FALSE(socket->IsOpen());
  EXPECT_FALSE(socket->Send("more"));
  // The peer neither drains nor answers the close: it is cut off after the close timeout.
  EXPECT_TRUE(WaitFor([&] { return seen_.closes.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return server_->OpenConnections() == 0; }));
}

TEST_F(WebSocketTest, ShutdownClosesWithGoingAway) {
  Start();
  auto ws = Connect("/ws/lobby?token=good");
  ASSERT_TRUE(WaitFor([&] { return seen_.Socket() != nullptr; }));
  auto began = std::chrono::steady_clock::now();
  server_->Shutdown();
  boost::system::error_code ec;
  Read(*ws, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws->reason().code, websocket::close_code::going_away);
  EXPECT_TRUE(WaitFor([&] { return server_->OpenConnections() == 0; }));
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(2));
  EXPECT_EQ(seen_.closes.load(), 1);
}

TEST_F(WebSocketTest, BinaryFrameClosesWith1003) {
  Start();
  auto ws = Connect("/ws/lobby?token=good");
  Write(*ws, "bytes", /*binary=*/true);
  boost::system::error_code ec;
  Read(*ws, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws->reason().code, websocket::close_code::unknown_data);
}

TEST_F(WebSocketTest, OversizedMessageIsRefused) {
  Start();
  auto ws = Connect("/ws/lobby?token=good");
  Write(*ws, std::string(70 * 1024, 'y'));
  boost::system::error_code ec;
  Read(*ws, ec);
  EXPECT_TRUE(ec);
  EXPECT_TRUE(WaitFor([&] { return seen_.closes.load() == 1; }));
}

TEST_F(WebSocketTest, SilentPeerIsDroppedAfterMissedPings) {
  ServerOptions options;
  options.websocket_ping_ms = std::chrono::milliseconds(100);
  Start(options);
  // A raw TCP client that completes the handshake by hand and then never answers pings.
  std::string body;
  auto raw = std::make_unique<beast::tcp_stream>(client_io_.io);
  AwaitOn(client_io_.io.get_executor(), [&]() -> asio::awaitable<void> {
    co_await raw->async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                                asio::use_awaitable);
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/ws/x?token=good", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::connection, "Upgrade");
    req.set(bhttp::field::upgrade, "websocket");
    req.set(bhttp::field::sec_websocket_version, "13");
    req.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    co_await bhttp::async_write(*raw, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::empty_body> res;
    bhttp::response_parser<bhttp::empty_body> parser;
    parser.skip(true);
    co_await bhttp::async_read_header(*raw, buffer, parser, asio::use_awaitable);
    EXPECT_EQ(parser.get().result_int(), 101);
  }());
  ASSERT_TRUE(WaitFor([&] { return seen_.Socket() != nullptr; }));
  auto began = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor([&] { return seen_.closes.load() == 1; }, std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(2));
}

}  // namespace
}  // namespace parley::http

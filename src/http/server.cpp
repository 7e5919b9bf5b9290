#include "http/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http/websocket_session.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Server::Session {
  explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  std::atomic<bool> busy{false};
  std::mutex mu;                         // guards websocket
  std::shared_ptr<WebSocket> websocket;  // set once the connection became a WebSocket
};

namespace {

Request ToRequest(bhttp::request<bhttp::string_body>& msg) {
  Request req;
  req.method = std::string(msg.method_string());
  std::string_view target = msg.target();
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = ParseQuery(target.substr(q + 1));
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  req.body = std::move(msg.body());
  return req;
}

bhttp::response<bhttp::string_body> ToBeast(Response&& r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::server, "parley");
  res.set(bhttp::field::content_type, r.content_type);
  // Every answer, the API's JSON included: a browser never sniffs one into HTML or script.
  res.set("X-Content-Type-Options", "nosniff");
  for (auto& [k, v] : r.headers) res.set(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

}  // namespace

Server::Server(asio::io_context& io, const Router& router, ServerOptions options)
    : io_(io), router_(router), options_(options) {}

detail::WebSocketOptions Server::WebSocketOptions() const {
  detail::WebSocketOptions o;
  o.max_buffered_bytes = options_.websocket_max_buffered_bytes;
  o.max_message_bytes = options_.websocket_max_message_bytes;
  o.ping_interval = options_.websocket_ping_ms;
  o.handshake_timeout = options_.header_timeout;
  o.close_timeout = options_.websocket_close_timeout;
  return o;
}

Server::~Server() = default;

Result<tcp::endpoint> Server::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    return Fail(Errc::kInvalidArgument, "invalid_listen",
                fmt::format("Listen address '{}' is not an IP address.", host));
  tcp::endpoint endpoint(address, port);
  acceptor_ = std::make_unique<tcp::acceptor>(io_);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "listen_failed",
                fmt::format("Cannot listen on {}:{}: {}.", host, port, ec.message()));
  tcp::endpoint bound = acceptor_->local_endpoint(ec);
  asio::co_spawn(io_, Accept(), asio::detached);
  return bound;
}

void Server::Shutdown() {
  if (stopping_.exchange(true)) return;
  asio::post(io_, [this] {
    boost::system::error_code ec;
    if (acceptor_) acceptor_->close(ec);
  });
  std::lock_guard lock(sessions_mu_);
  for (auto& weak : sessions_) {
    auto s = weak.lock();
    if (!s) continue;
    std::shared_ptr<WebSocket> websocket;
    {
      std::lock_guard session_lock(s->mu);
      websocket = s->websocket;
    }
    if (websocket) {
      websocket->Close(1001, "server shutting down");
    } else if (!s->busy) {
      asio::post(s->stream.get_executor(), [s] {
        boost::system::error_code ec;
        s->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        s->stream.close();
      });
    }
  }
}

asio::awaitable<void> Server::Accept() {
  for (;;) {
    boost::system::error_code ec;
    asio::any_io_executor executor =
        session_executors_.empty()
            ? asio::any_io_executor(asio::make_strand(io_))
            : session_executors_[next_executor_++ % session_executors_.size()];
    tcp::socket socket =
        co_await acceptor_->async_accept(executor, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (open_.load() >= options_.max_connections) {
      socket.close(ec);  // over the cap: refuse rather than grow without bound
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<Session>(std::move(socket));
    ++open_;
    {
      std::lock_guard lock(sessions_mu_);
      // Drop entries of finished sessions as we go, so the list stays as long as the live set.
      sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
      sessions_.push_back(session);
    }
    asio::co_spawn(session->stream.get_executor(), Serve(session), asio::detached);
  }
}

asio::awaitable<void> Server::Serve(std::shared_ptr<Session> session) {
  beast::tcp_stream& stream = session->stream;
  beast::flat_buffer buffer;
  // Beast reads at most the buffer's free capacity (and at least 512 bytes) per call; a typical
  // signed POST /messages is 500-700 bytes, which took two reads with the default growth.
  buffer.reserve(4096);
  bool first = true;
  for (;;) {
    boost::system::error_code ec;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_drained_body_bytes);
    stream.expires_after(first ? options_.header_timeout : options_.idle_timeout);
    first = false;
    co_await bhttp::async_read_header(stream, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        Response r = ErrorResponse(Errc::kInvalidArgument, "headers_too_large",
                                   "The request headers exceed 16 KiB.");
        r.status = 431;
        auto res = ToBeast(std::move(r), 11, false);
        stream.expires_after(options_.body_timeout);
        co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      }
      break;
    }
    session->busy = true;
    unsigned version = parser.get().version();
    bool head = parser.get().method() == bhttp::verb::head;
    bool keep_alive = parser.get().keep_alive() && !stopping_;
    Response response;
    auto too_large = [&] {
      return ErrorResponse(Errc::kPayloadTooLarge, "payload_too_large",
                           fmt::format("The body exceeds the limit of {} bytes; send less.",
                                       options_.max_body_bytes));
    };
    if (stopping_) {
      response = ErrorResponse(Errc::kUnavailable, "shutting_down",
                               "The server is shutting down; retry on another node or shortly.");
      keep_alive = false;
    } else if (parser.content_length() &&
               *parser.content_length() > options_.max_drained_body_bytes) {
      response = too_large();
      keep_alive = false;
    } else {
      stream.expires_after(options_.body_timeout);
      co_await bhttp::async_read(stream, buffer, parser,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec == bhttp::error::body_limit) {
        response = too_large();
        keep_alive = false;
      } else if (ec) {
        break;
      } else if (parser.get().body().size() > options_.max_body_bytes) {
        response = too_large();
      } else {
        bool upgrade_requested = beast::websocket::is_upgrade(parser.get());
        Request req = ToRequest(parser.get());
        req.received_at = std::chrono::steady_clock::now();
        boost::system::error_code peer_ec;
        auto peer = stream.socket().remote_endpoint(peer_ec);
        if (!peer_ec) {
          std::vector<std::string> forwarded;
          if (!options_.trusted_proxies.empty())
            for (const auto& [k, v] : req.headers)
              if (k == "x-forwarded-for") forwarded.push_back(v);
          req.remote_address =
              ClientAddress(peer.address().to_string(), forwarded, options_.trusted_proxies);
        }
        const UpgradeHandler* upgrade = upgrade_requested ? router_.MatchWebSocket(req) : nullptr;
        Upgrade answer;
        try {
          if (upgrade)
            answer = co_await (*upgrade)(req);
          else
            response = co_await router_.Route(req);
        } catch (const std::exception& e) {
          spdlog::error("handler for {} {} threw: {}", req.method, req.path, e.what());
          upgrade = nullptr;
          response = ErrorResponse(Errc::kInternal, "internal_error",
                                   "The server failed to handle this request; it was logged.");
        }
        if (upgrade && answer.refuse) {
          response = std::move(*answer.refuse);
          keep_alive = false;
        } else if (upgrade && !answer.start) {
          response = ErrorResponse(Errc::kInternal, "internal_error",
                                   "The server failed to handle this request; it was logged.");
          keep_alive = false;
        } else if (upgrade) {
          // The connection becomes a WebSocket until it ends; it still counts in open_.
          // (Arguments are named first: g++ 12 destroys temporaries in a co_await twice.)
          std::function<void(std::shared_ptr<WebSocket>)> registered =
              [this, session](std::shared_ptr<WebSocket> websocket) {
                {
                  std::lock_guard lock(session->mu);
                  session->websocket = websocket;
                }
                if (stopping_) websocket->Close(1001, "server shutting down");
              };
          detail::WebSocketOptions ws_options = WebSocketOptions();
          co_await detail::ServeWebSocket(std::move(stream), parser.release(),
                                          std::move(answer.start), ws_options, registered);
          --open_;
          co_return;
        }
      }
    }
    keep_alive = keep_alive && !stopping_;
    auto res = ToBeast(std::move(response), version, keep_alive);
    if (head) res.body().clear();  // HEAD: the headers, Content-Length included, and no body
    stream.expires_after(options_.body_timeout);
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    session->busy = false;
    if (ec || !keep_alive) break;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
  --open_;
}

}  // namespace parley::http

#include "app/rest_client.hpp"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

namespace parley::app {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

template <class Stream>
Result<RestResponse> Exchange(Stream& stream, bhttp::request<bhttp::string_body>& req) {
  boost::system::error_code ec;
  bhttp::write(stream, req, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "write_failed", "Sending the request failed: " + ec.message());
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "read_failed", "Reading the answer failed: " + ec.message());
  return RestResponse{static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace

Result<RestResponse> RestCall(const std::string& method, const std::string& base_url,
                              const std::string& path, const std::string& bearer,
                              const std::string& json_body, std::chrono::milliseconds timeout) {
  auto url = boost::urls::parse_uri(base_url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty())
    return Fail(Errc::kInvalidArgument, "invalid_url",
                fmt::format("'{}' is not an http(s) URL of a Parley server.", base_url));
  bool tls = url->scheme() == "https";
  std::string host = url->host();
  std::string port = url->has_port() ? std::string(url->port()) : (tls ? "443" : "80");
  std::string prefix = url->path();
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();

  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), prefix + path, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::user_agent, "parley-cli");
  if (!bearer.empty()) req.set(bhttp::field::authorization, "Bearer " + bearer);
  if (!json_body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = json_body;
  }
  req.keep_alive(false);
  req.prepare_payload();

  asio::io_context io;
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "resolve_failed",
                fmt::format("Cannot resolve {}: {}", host, ec.message()));
  if (!tls) {
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(endpoints, ec);
    if (ec)
      return Fail(Errc::kUnavailable, "connect_failed",
                  fmt::format("Cannot connect to {}:{}: {}; is the server running?", host, port,
                              ec.message()));
    return Exchange(stream, req);
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  stream.set_verify_callback(asio::ssl::host_name_verification(host));
  beast::get_lowest_layer(stream).expires_after(timeout);
  beast::get_lowest_layer(stream).connect(endpoints, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "connect_failed",
                fmt::format("Cannot connect to {}:{}: {}", host, port, ec.message()));
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return Fail(Errc::kUnavailable, "tls_failed", "TLS handshake failed: " + ec.message());
  return Exchange(stream, req);
}

}  // namespace parley::app

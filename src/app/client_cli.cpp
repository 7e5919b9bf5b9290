#include "app/client_cli.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <ostream>
#include <set>

#include "app/webchat.hpp"
#include "channel/jwt.hpp"
#include "delivery/webhook_client.hpp"

namespace parley::app {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

constexpr size_t kMaxEventBody = 1024 * 1024;
constexpr size_t kMaxRequestHeader = 16 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr int kMaxRequestsPerConnection = 100000;
constexpr size_t kMaxRefusalBodyShown = 512;

std::string ErrorBody(const Error& e) {
  json::object inner{{"code", e.code}, {"message", e.message}};
  return json::serialize(json::object{{"error", std::move(inner)}});
}

}  // namespace

Result<std::string> MessagesUrl(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || !parsed->has_authority() || parsed->encoded_host().empty()) {
    return Fail(Errc::kInvalidArgument, "invalid_url",
                "Give --url as Parley's base URL (http://HOST:PORT) or its full /messages URL.");
  }
  boost::urls::url u(*parsed);
  if (u.encoded_path().empty() || u.encoded_path() == "/") u.set_path("/messages");
  return std::string(u.buffer());
}

Result<std::string> BuildSendBody(const SendOptions& o, IdGenerator& ids) {
  json::object body;
  body["type"] = o.type;
  body["customer_id"] = o.customer_id;
  if (o.type == "text") {
    if (o.text.empty() && o.postback.empty()) {
      return Fail(Errc::kInvalidArgument, "missing_text",
                  "Give the message text as arguments, or a --postback.");
    }
    body["message_id"] = o.message_id.empty() ? ids.Uuid() : o.message_id;
    json::array lines;
    for (const auto& line : o.text) lines.emplace_back(line);
    if (!lines.empty()) body["text"] = std::move(lines);
    if (!o.postback.empty()) body["postback"] = o.postback;
    if (!o.customer_name.empty()) body["customer_name"] = o.customer_name;
  } else if (o.type == "typing_indicator" || o.type == "customer_end_session") {
    if (!o.message_id.empty()) body["message_id"] = o.message_id;
  } else {
    return Fail(Errc::kInvalidArgument, "invalid_type",
                "Use --type text, typing_indicator or customer_end_session.");
  }
  return json::serialize(body);
}

int RunSend(const SendOptions& o, std::ostream& out, std::ostream& err, const Clock& clock,
            IdGenerator& ids) {
  auto url = MessagesUrl(o.url);
  if (!url) {
    err << "error: " << url.error().message << '\n';
    return 1;
  }
  auto body = BuildSendBody(o, ids);
  if (!body) {
    err << "error: " << body.error().message << '\n';
    return 1;
  }
  delivery::HttpRequest req;
  req.url = *url;
  req.body = std::move(*body);
  req.timeout = o.timeout;
  req.headers = {
      {"Authorization",
       "Bearer " + channel::SignJwt(o.connection_id, clock.NowSeconds(), o.secret)},
      {"connection_id", o.connection_id},
      {"Content-Type", "application/json"},
  };

  asio::io_context ioc;
  delivery::WebhookClientOptions client_options;
  // This tool talks to the developer's own server, often http://127.0.0.1; the address guard
  // protects Parley from its tenants, not a developer from their own URL.
  client_options.allow_insecure = true;
  client_options.ca_file = o.ca_file;
  client_options.max_connections_per_host = 1;
  delivery::WebhookClient client(ioc.get_executor(), client_options);
  if (auto ready = client.Ready(); !ready) {
    err << "error: " << ready.error().message << '\n';
    return 1;
  }
  std::optional<Result<delivery::HttpResponse>> result;
  asio::co_spawn(ioc, client.Post(std::move(req)),
                 [&result](std::exception_ptr e, Result<delivery::HttpResponse> r) {
                   if (e)
                     result = Fail(Errc::kInternal, "internal", "The request failed unexpectedly.");
                   else
                     result = std::move(r);
                 });
  ioc.run();
  if (!result || !*result) {
    err << "error: " << (result ? (*result).error().message : "the request did not finish.")
        << '\n';
    return 1;
  }
  const auto& res = **result;
  if (res.status / 100 == 2) {
    out << "HTTP " << res.status << '\n' << res.body << '\n' << std::flush;
    return 0;
  }
  err << RefusalLine(res.status, res.body) << '\n' << std::flush;
  return 1;
}

std::string RefusalLine(int status, std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::object* error = nullptr;
  if (!ec && v.is_object()) {
    if (const json::value* e = v.as_object().if_contains("error"); e && e->is_object())
      error = &e->as_object();
  }
  const json::value* code = error ? error->if_contains("code") : nullptr;
  const json::value* message = error ? error->if_contains("message") : nullptr;
  if (code && code->is_string() && message && message->is_string()) {
    return fmt::format("error: HTTP {} {}: {}", status, std::string_view(code->as_string()),
                       std::string_view(message->as_string()));
  }
  // Not Parley's error shape (a proxy's page, say): show its start, on one line.
  std::string shown(body.substr(0, kMaxRefusalBodyShown));
  for (char& c : shown) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (body.size() > kMaxRefusalBodyShown) shown += "...";
  if (shown.empty()) return fmt::format("error: HTTP {} with an empty body", status);
  return fmt::format("error: HTTP {}: {}", status, shown);
}

Result<void> CheckWebhookRequest(std::string_view authorization,
                                 std::optional<std::string_view> connection_id_header,
                                 std::string_view secret, std::string_view expected_connection_id,
                                 int64_t now_seconds) {
  auto token = channel::BearerToken(authorization);
  if (!token) return Fail(token.error());
  auto jwt = channel::ParseJwt(*token);
  if (!jwt) return Fail(jwt.error());
  if (!channel::SignatureMatches(*jwt, secret)) {
    return Fail(Errc::kUnauthenticated, "invalid_signature",
                "The token's signature does not verify with this JWT secret.");
  }
  if (auto times = channel::CheckTokenTimes(jwt->claims, now_seconds); !times) return times;
  if (jwt->claims.iss.empty() ||
      (!expected_connection_id.empty() && jwt->claims.iss != expected_connection_id)) {
    return Fail(Errc::kUnauthenticated, "unknown_issuer",
                "The token's iss is not the expected connection ID.");
  }
  if (connection_id_header && *connection_id_header != jwt->claims.iss) {
    return Fail(Errc::kPermissionDenied, "connection_mismatch",
                "The connection_id header does not match the token's iss.");
  }
  return {};
}

Result<std::string> EventLine(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    return Fail(Errc::kInvalidArgument, "invalid_json", "The request body is not valid JSON.");
  }
  return json::serialize(v);
}

class WebhookListener::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& ioc, ListenOptions options, std::ostream& events, std::ostream& log,
       const Clock& clock)
      : acceptor_(ioc), options_(std::move(options)), events_(events), log_(log), clock_(clock) {}

  Result<void> Bind() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) {
      return Fail(Errc::kInvalidArgument, "invalid_host",
                  "Give --host as an IP address such as 127.0.0.1.");
    }
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(Errc::kUnavailable, "listen_failed",
                  fmt::format("Cannot listen on {}:{} ({}); pick another --port.", options_.host,
                              options_.port, ec.message()));
    }
    return {};
  }

  void StartAccepting() {
    asio::co_spawn(acceptor_.get_executor(), Accept(shared_from_this()), asio::detached);
  }

  unsigned short Port() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  std::string Url() const {
    bool v6 = acceptor_.local_endpoint().address().is_v6();
    return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", options_.host, v6 ? "]" : "", Port());
  }

  void Stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (beast::tcp_stream* s : open_) s->socket().close(ignored);
  }

 private:
  static asio::awaitable<void> Accept(std::shared_ptr<Impl> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(kUseTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
        continue;  // a transient failure (EMFILE, a reset in the backlog) must not stop the loop
      }
      asio::co_spawn(self->acceptor_.get_executor(), Session(self, std::move(socket)),
                     asio::detached);
    }
  }

  static asio::awaitable<void> Session(std::shared_ptr<Impl> self, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    self->open_.insert(&stream);
    beast::flat_buffer buffer;
    for (int served = 0; served < kMaxRequestsPerConnection; ++served) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(kMaxRequestHeader);
      parser.body_limit(kMaxEventBody);
      stream.expires_after(kIdleTimeout);
      auto [ec, bytes] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          self->log_ << "refused 413: a request body is over " << kMaxEventBody << " bytes\n";
        }
        break;
      }
      bhttp::request<bhttp::string_body> req = parser.release();
      bhttp::response<bhttp::string_body> res = self->Handle(req);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, written] = co_await bhttp::async_write(stream, res, kUseTuple);
      if (wec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    self->open_.erase(&stream);
  }

  bhttp::response<bhttp::string_body> Handle(const bhttp::request<bhttp::string_body>& req) {
    bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
    auto refuse = [&](const Error& e) {
      int status = HttpStatus(e.errc);
      log_ << "refused " << status << ' ' << e.code << ": " << e.message << '\n' << std::flush;
      res.result(static_cast<unsigned>(status));
      res.set(bhttp::field::content_type, "application/json");
      res.body() = ErrorBody(e);
      return res;
    };
    if (req.method() != bhttp::verb::post) {
      res.set(bhttp::field::allow, "POST");
      res.result(bhttp::status::method_not_allowed);
      log_ << "refused 405: " << req.method_string() << ' ' << req.target() << '\n' << std::flush;
      res.body() = ErrorBody(
          Error{Errc::kInvalidArgument, "method_not_allowed", "Send webhook events with POST."});
      return res;
    }
    std::optional<std::string_view> connection_header;
    if (auto it = req.find("connection_id"); it != req.end()) connection_header = it->value();
    auto checked =
        CheckWebhookRequest(req[bhttp::field::authorization], connection_header, options_.secret,
                            options_.connection_id, clock_.NowSeconds());
    if (!checked) return refuse(checked.error());
    auto line = EventLine(req.body());
    if (!line) return refuse(line.error());
    events_ << *line << '\n' << std::flush;
    res.set(bhttp::field::content_type, "text/plain");
    res.body() = "success";
    return res;
  }

  tcp::acceptor acceptor_;
  ListenOptions options_;
  std::ostream& events_;
  std::ostream& log_;
  const Clock& clock_;
  std::set<beast::tcp_stream*> open_;  // to close on Stop; touched only on the io thread
};

Result<std::unique_ptr<WebhookListener>> WebhookListener::Start(asio::io_context& ioc,
                                                                ListenOptions options,
                                                                std::ostream& events,
                                                                std::ostream& log,
                                                                const Clock& clock) {
  if (options.secret.empty()) {
    return Fail(Errc::kInvalidArgument, "missing_secret",
                "Give --secret (or PARLEY_JWT_SECRET): the connection's JWT secret.");
  }
  auto impl = std::make_shared<Impl>(ioc, std::move(options), events, log, clock);
  if (auto bound = impl->Bind(); !bound) return Fail(bound.error());
  impl->StartAccepting();
  return std::unique_ptr<WebhookListener>(new WebhookListener(std::move(impl)));
}

WebhookListener::WebhookListener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebhookListener::~WebhookListener() = default;
unsigned short WebhookListener::Port() const { return impl_->Port(); }
std::string WebhookListener::Url() const { return impl_->Url(); }
void WebhookListener::Stop() { impl_->Stop(); }

int RunListen(const ListenOptions& options, std::ostream& events, std::ostream& log) {
  asio::io_context ioc;
  SystemClock clock;
  auto listener = WebhookListener::Start(ioc, options, events, log, clock);
  if (!listener) {
    log << "error: " << listener.error().message << '\n';
    return 1;
  }
  log << "listening on " << (*listener)->Url() << '\n' << std::flush;
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    (*listener)->Stop();
    ioc.stop();
  });
  ioc.run();
  return 0;
}

void AddClientCommands(CLI::App& app) {
  CLI::App* client = app.add_subcommand(
      "client", "Act as an integration layer: send events to Parley, receive its webhooks.");
  client->require_subcommand(1);

  auto send = std::make_shared<SendOptions>();
  auto timeout_ms = std::make_shared<int64_t>(10000);
  CLI::App* s = client->add_subcommand(
      "send", "Sign a fresh token and POST one customer event to Parley's /messages.");
  s->add_option("--url", send->url, "Parley's base URL or its /messages URL")
      ->envname("PARLEY_URL")
      ->required();
  s->add_option("--connection-id", send->connection_id, "The connection ID (the JWT issuer)")
      ->envname("PARLEY_CONNECTION_ID")
      ->required();
  s->add_option("--secret", send->secret,
                "The connection's JWT secret (prefer PARLEY_JWT_SECRET: arguments are visible "
                "to other users)")
      ->envname("PARLEY_JWT_SECRET")
      ->required();
  s->add_option("--customer", send->customer_id, "The customer's id in the channel")->required();
  s->add_option("--name", send->customer_name, "The customer's name, shown to agents");
  s->add_option("--message-id", send->message_id, "The message id (default: a fresh UUID)");
  s->add_option("--postback", send->postback, "The payload of a chosen menu item");
  s->add_option("--type", send->type, "The event type")
      ->check(CLI::IsMember({"text", "typing_indicator", "customer_end_session"}))
      ->capture_default_str();
  s->add_option("--ca-file", send->ca_file, "Extra CA bundle (PEM) to verify an https URL")
      ->check(CLI::ExistingFile);
  s->add_option("--timeout-ms", *timeout_ms, "Give up after this many milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  s->add_option("text", send->text, "The message lines");
  s->callback([send, timeout_ms] {
    send->timeout = std::chrono::milliseconds(*timeout_ms);
    SystemClock clock;
    RandomIdGenerator ids;
    if (int rc = RunSend(*send, std::cout, std::cerr, clock, ids); rc != 0)
      throw CLI::RuntimeError(rc);
  });

  auto listen = std::make_shared<ListenOptions>();
  CLI::App* l = client->add_subcommand(
      "listen",
      "Run a webhook receiver that verifies Parley's tokens and prints each event as a JSON line.");
  l->add_option("--port", listen->port, "Port to listen on (0: a free one)")->required();
  l->add_option("--host", listen->host, "Address to listen on")->capture_default_str();
  l->add_option("--secret", listen->secret, "The connection's JWT secret")
      ->envname("PARLEY_JWT_SECRET")
      ->required();
  l->add_option("--connection-id", listen->connection_id,
                "Accept only tokens issued for this connection")
      ->envname("PARLEY_CONNECTION_ID");
  l->callback([listen] {
    if (int rc = RunListen(*listen, std::cout, std::cerr); rc != 0) throw CLI::RuntimeError(rc);
  });

  AddWebchatCommand(*client);
}

}  // namespace parley::app

#include "app/webchat.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <csignal>
#include <iostream>
#include <ostream>

#include "app/client_cli.hpp"
#include "channel/jwt.hpp"
#include "delivery/webhook_client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"

namespace parley::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr size_t kMaxIdChars = 256;
constexpr size_t kMaxNameChars = 256;
constexpr size_t kMaxTextChars = 4096;
constexpr size_t kMaxPostbackChars = 1024;

http::Response Error(int status, std::string code, std::string message) {
  http::Response r =
      http::ErrorResponse(Errc::kInvalidArgument, std::move(code), std::move(message));
  r.status = status;
  return r;
}

// A JSON id (string or number, as PROTOCOL.md allows) as a string; empty when absent or other.
std::string IdString(const json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  return {};
}

// An optional string field; false (and `error` set) when present but not a string or too long.
bool OptionalString(const json::object& o, std::string_view key, size_t max, std::string& out,
                    http::Response& error) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  if (!v->is_string() || v->as_string().size() > max) {
    error = Error(400, "invalid_field",
                  fmt::format("'{}' must be a string of at most {} bytes.", key, max));
    return false;
  }
  out = std::string(v->as_string());
  return true;
}

// Whether a browser's Origin header names this server (the Host it asked for); pages of other
// sites must not read a customer's events.
bool SameOrigin(const http::Request& req) {
  auto origin = req.Header("origin");
  if (!origin) return true;  // not a browser
  auto host = req.Header("host");
  std::string_view o = *origin;
  size_t scheme = o.find("://");
  if (scheme == std::string_view::npos || !host) return false;
  return o.substr(scheme + 3) == *host;
}

}  // namespace

// ---- WebchatHub ----

WebchatHub::WebchatHub(size_t backlog, size_t max_customers, size_t max_sockets_per_customer)
    : backlog_(backlog), max_customers_(max_customers), max_sockets_(max_sockets_per_customer) {}

WebchatHub::Customer& WebchatHub::Get(const std::string& customer_id) {
  auto it = customers_.find(customer_id);
  if (it == customers_.end()) {
    if (customers_.size() >= max_customers_) {
      // Forget the least recently active customer without an open page.
      auto victim = customers_.end();
      for (auto c = customers_.begin(); c != customers_.end(); ++c) {
        if (!c->second.sockets.empty()) continue;
        if (victim == customers_.end() || c->second.last_used < victim->second.last_used)
          victim = c;
      }
      if (victim != customers_.end()) customers_.erase(victim);
    }
    it = customers_.emplace(customer_id, Customer{}).first;
  }
  it->second.last_used = ++tick_;
  return it->second;
}

bool WebchatHub::Publish(const std::string& customer_id, const std::string& event_id,
                         const json::object& event, int64_t at_ms) {
  std::lock_guard lock(mu_);
  Customer& c = Get(customer_id);
  if (!event_id.empty()) {
    if (std::find(c.recent_ids.begin(), c.recent_ids.end(), event_id) != c.recent_ids.end())
      return false;
    c.recent_ids.push_back(event_id);
    if (c.recent_ids.size() > 2 * backlog_) c.recent_ids.pop_front();
  }
  uint64_t n = c.next++;
  std::string frame = json::serialize(json::object{{"n", n}, {"at", at_ms}, {"event", event}});
  c.backlog.emplace_back(n, frame);
  if (c.backlog.size() > backlog_) c.backlog.pop_front();
  // Send never blocks: a page that does not keep up is closed and reconnects with ?after=.
  std::erase_if(c.sockets,
                [&](const std::shared_ptr<http::WebSocket>& s) { return !s->Send(frame); });
  return true;
}

bool WebchatHub::Attach(const std::string& customer_id, std::shared_ptr<http::WebSocket> socket,
                        uint64_t after) {
  std::lock_guard lock(mu_);
  Customer& c = Get(customer_id);
  std::erase_if(c.sockets, [](const auto& s) { return !s->IsOpen(); });
  if (c.sockets.size() >= max_sockets_) return false;
  for (const auto& [n, frame] : c.backlog)
    if (n > after && !socket->Send(frame)) return true;  // closed as too slow: it reconnects
  c.sockets.push_back(std::move(socket));
  return true;
}

void WebchatHub::Detach(const std::string& customer_id, const http::WebSocket* socket) {
  std::lock_guard lock(mu_);
  auto it = customers_.find(customer_id);
  if (it == customers_.end()) return;
  std::erase_if(it->second.sockets, [&](const auto& s) { return s.get() == socket; });
}

size_t WebchatHub::Customers() const {
  std::lock_guard lock(mu_);
  return customers_.size();
}

// ---- Webchat ----

class Webchat::Impl {
 public:
  Impl(asio::io_context& io, WebchatOptions options, std::string messages_url, const Clock& clock,
       IdGenerator& ids)
      : options_(std::move(options)),
        messages_url_(std::move(messages_url)),
        clock_(clock),
        ids_(ids),
        client_(io.get_executor(), ClientOptions(options_)),
        hub_(options_.backlog_per_customer, options_.max_customers,
             options_.max_sockets_per_customer),
        server_(io, router_, http::ServerOptions{}) {
    AddRoutes();
  }

  Result<void> Listen() {
    if (auto ready = client_.Ready(); !ready) return ready;
    auto bound = server_.Listen(options_.listen, options_.port);
    if (!bound) return Fail(bound.error());
    port_ = bound->port();
    return {};
  }

  uint16_t Port() const { return port_; }
  std::string Url() const {
    bool v6 = options_.listen.find(':') != std::string::npos;
    return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", options_.listen, v6 ? "]" : "", port_);
  }

  void Stop() {
    server_.Shutdown();
    client_.Close();
  }

 private:
  static delivery::WebhookClientOptions ClientOptions(const WebchatOptions& o) {
    delivery::WebhookClientOptions c;
    // Parley's URL is the operator's own choice (often http://127.0.0.1 in a demo); the
    // address guard protects a server from its tenants, not an operator from their own URL.
    c.allow_insecure = true;
    c.ca_file = o.ca_file;
    c.max_connections_per_host = 8;
    return c;
  }

  void AddRoutes() {
    for (auto [path, type] :
         {std::pair{"/api/send", "text"}, std::pair{"/api/typing", "typing_indicator"},
          std::pair{"/api/end", "customer_end_session"}}) {
      std::string event_type = type;
      router_.Add("POST", path,
                  [this, event_type](http::Request& req) { return ToParley(event_type, req); });
    }
    router_.Add("POST", "/webhook", [this](http::Request& req) { return Webhook(req); });
    router_.AddWebSocket("/api/events", [this](http::Request& req) { return Events(req); });
    http::StaticMount page;
    page.from = "chat/";  // web/chat/index.html at /, web/chat/main.js at /main.js, ...
    http::AddStaticRoutes(router_, http::EmbeddedWebFiles(), page);
  }

  // The page's action, as the integration layer sends it to Parley (PROTOCOL.md §3).
  asio::awaitable<http::Response> ToParley(std::string type, http::Request& req) {
    auto parsed = http::JsonBody(req);
    if (!parsed) co_return http::ErrorResponse(parsed.error());
    if (!parsed->is_object())
      co_return Error(400, "invalid_body", "Send a JSON object with a customer_id.");
    const json::object& o = parsed->as_object();
    SendOptions send;
    send.type = type;
    send.customer_id = IdString(o.if_contains("customer_id"));
    if (send.customer_id.empty() || send.customer_id.size() > kMaxIdChars)
      co_return Error(400, "invalid_customer_id",
                      "'customer_id' must be a string of 1 to 256 bytes.");
    http::Response bad;
    std::string text;
    if (!OptionalString(o, "customer_name", kMaxNameChars, send.customer_name, bad) ||
        !OptionalString(o, "text", kMaxTextChars, text, bad) ||
        !OptionalString(o, "postback", kMaxPostbackChars, send.postback, bad))
      co_return bad;
    // The page may choose the message id, so it can recognise its own message coming back.
    if (type == "text") {
      send.message_id = IdString(o.if_contains("message_id"));
      if (send.message_id.size() > kMaxIdChars)
        co_return Error(400, "invalid_message_id", "'message_id' must be at most 256 bytes.");
      if (send.message_id.empty()) send.message_id = ids_.Uuid();
    }
    if (!text.empty()) send.text.push_back(text);
    auto body = BuildSendBody(send, ids_);
    if (!body) co_return Error(400, body.error().code, body.error().message);
    // The customer's message goes into the backlog before Parley sees it: Parley's replies may
    // reach the webhook before its answer reaches us, and a reloaded page must show the
    // message before them.
    if (type == "text") RecordCustomerSide(send, text);

    delivery::HttpRequest out;
    out.url = messages_url_;
    out.timeout = options_.timeout;
    out.headers = {
        {"Authorization", "Bearer " + channel::SignJwt(options_.connection_id, clock_.NowSeconds(),
                                                       options_.secret)},
        {"connection_id", options_.connection_id},
        {"Content-Type", "application/json"},
    };
    out.body = *body;
    auto res = co_await client_.Post(std::move(out));
    if (type == "text" && (!res || res->status / 100 != 2)) RecordSendFailed(send);
    if (!res) {
      spdlog::warn("webchat: POST {} failed: {}", messages_url_, res.error().message);
      co_return Error(502, "parley_unreachable",
                      "Parley did not answer (" + res.error().message + "); try again.");
    }
    if (res->status / 100 == 2) {
      json::object answer{{"status", "accepted"}};
      std::error_code ec;
      json::value v = json::parse(res->body, ec);
      if (!ec && v.is_object())
        if (auto* s = v.as_object().if_contains("status"); s && s->is_string())
          answer["status"] = s->as_string();
      json::value sent = json::parse(*body);
      if (auto* id = sent.as_object().if_contains("message_id")) answer["message_id"] = *id;
      if (type == "customer_end_session") RecordCustomerSide(send, text);
      co_return http::Json(200, answer);
    }
    // Parley refused: pass its status and a readable error on to the page.
    std::string line = RefusalLine(res->status, res->body);
    if (line.rfind("error: ", 0) == 0) line.erase(0, 7);
    int status = res->status >= 400 && res->status < 600 ? res->status : 502;
    http::Response r = Error(status, "parley_refused", "Parley refused the message: " + line);
    co_return r;
  }

  // What the customer did, as a backlog event of its own (`from: "customer"`): their messages
  // and their end of the chat. Typing is not kept.
  void RecordCustomerSide(const SendOptions& send, const std::string& text) {
    json::object event{{"type", send.type}, {"from", "customer"}};
    std::string id;
    if (send.type == "text") {
      event["message_id"] = send.message_id;
      if (!text.empty()) event["text"] = json::array{json::value(text)};
      if (!send.postback.empty()) event["postback"] = send.postback;
      id = "customer:" + send.message_id;
    } else if (send.type != "customer_end_session") {
      return;
    }
    hub_.Publish(send.customer_id, id, event, clock_.NowMs());
  }

  // Parley did not take the customer's message: the pages mark it as not sent.
  void RecordSendFailed(const SendOptions& send) {
    json::object event{
        {"type", "send_failed"}, {"from", "customer"}, {"message_id", send.message_id}};
    hub_.Publish(send.customer_id, "", event, clock_.NowMs());
  }

  // Parley's webhook call (PROTOCOL.md §4), verified as §2 says. Parley always sends the
  // connection_id header, so a call without it is refused too; every refusal is a 401.
  asio::awaitable<http::Response> Webhook(http::Request& req) {
    parley::Error refused{Errc::kUnauthenticated, "missing_connection_id",
                          "The connection_id header is missing."};
    auto connection_header = req.Header("connection_id");
    if (connection_header) {
      auto ok = CheckWebhookRequest(req.Header("authorization").value_or(""), connection_header,
                                    options_.secret, options_.connection_id, clock_.NowSeconds());
      if (ok)
        refused.code.clear();
      else
        refused = parley::Error{Errc::kUnauthenticated, ok.error().code, ok.error().message};
    }
    if (!refused.code.empty()) {
      spdlog::warn("webchat: refused a webhook call: {}", refused.message);
      co_return http::ErrorResponse(refused);
    }
    auto parsed = http::JsonBody(req);
    if (!parsed) co_return http::ErrorResponse(parsed.error());
    if (!parsed->is_object())
      co_return Error(400, "invalid_body", "The event must be a JSON object.");
    const json::object& event = parsed->as_object();
    std::string customer = IdString(event.if_contains("customer_id"));
    if (customer.empty() || customer.size() > kMaxIdChars)
      co_return Error(400, "invalid_customer_id", "The event has no valid customer_id.");
    hub_.Publish(customer, IdString(event.if_contains("event_id")), event, clock_.NowMs());
    co_return http::Json(200, json::object{{"status", "success"}});
  }

  // The page's WebSocket: the customer's events, the backlog after ?after= first.
  asio::awaitable<http::Upgrade> Events(http::Request& req) {
    http::Upgrade up;
    std::string customer = req.Query("customer_id").value_or("");
    if (customer.empty() || customer.size() > kMaxIdChars) {
      up.refuse = Error(400, "invalid_customer_id", "Give ?customer_id= (1 to 256 bytes).");
      co_return up;
    }
    if (!SameOrigin(req)) {
      up.refuse = Error(403, "cross_origin", "Only this web chat's own pages may connect.");
      co_return up;
    }
    uint64_t after = 0;
    std::string after_text = req.Query("after").value_or("0");
    auto [end, ec] =
        std::from_chars(after_text.data(), after_text.data() + after_text.size(), after);
    if (ec != std::errc() || end != after_text.data() + after_text.size()) {
      up.refuse = Error(400, "invalid_after", "'after' must be a whole number.");
      co_return up;
    }
    up.start = [this, customer, after](std::shared_ptr<http::WebSocket> socket) {
      http::WebSocketHandlers handlers;
      if (!hub_.Attach(customer, socket, after)) {
        socket->Close(1013, "too many pages open for this customer");
        return handlers;
      }
      const http::WebSocket* raw = socket.get();
      handlers.on_close = [this, customer, raw] { hub_.Detach(customer, raw); };
      return handlers;
    };
    co_return up;
  }

  WebchatOptions options_;
  std::string messages_url_;
  const Clock& clock_;
  IdGenerator& ids_;
  delivery::WebhookClient client_;
  WebchatHub hub_;
  http::Router router_;
  http::Server server_;
  uint16_t port_ = 0;
};

Result<std::unique_ptr<Webchat>> Webchat::Start(asio::io_context& io, WebchatOptions options,
                                                const Clock& clock, IdGenerator& ids) {
  auto url = MessagesUrl(options.parley_url);
  if (!url) return Fail(url.error());
  if (options.connection_id.empty() || options.secret.empty())
    return Fail(Errc::kInvalidArgument, "missing_credentials",
                "Give --connection-id and the secret (--secret or PARLEY_WEBCHAT_SECRET).");
  auto impl = std::make_unique<Impl>(io, std::move(options), *url, clock, ids);
  if (auto listening = impl->Listen(); !listening) return Fail(listening.error());
  return std::unique_ptr<Webchat>(new Webchat(std::move(impl)));
}

Webchat::Webchat(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Webchat::~Webchat() = default;
uint16_t Webchat::Port() const { return impl_->Port(); }
std::string Webchat::Url() const { return impl_->Url(); }
void Webchat::Stop() { impl_->Stop(); }

int RunWebchat(const WebchatOptions& options, std::ostream& out, std::ostream& err) {
  asio::io_context io;
  SystemClock clock;
  RandomIdGenerator ids;
  auto chat = Webchat::Start(io, options, clock, ids);
  if (!chat) {
    err << "error: " << chat.error().message << '\n';
    return 1;
  }
  out << "webchat on " << (*chat)->Url() << '\n' << std::flush;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) (*chat)->Stop();
  });
  io.run();
  return 0;
}

void AddWebchatCommand(CLI::App& client) {
  auto options = std::make_shared<WebchatOptions>();
  auto timeout_ms = std::make_shared<int64_t>(10000);
  CLI::App* w = client.add_subcommand(
      "webchat",
      "Run a demo customer web chat: an integration layer that talks to Parley through the "
      "Client Channel API, with its page (docs/webchat.md).");
  w->add_option("--port", options->port, "Port to listen on (0: a free one)")->required();
  w->add_option("--listen", options->listen, "Address to listen on")->capture_default_str();
  w->add_option("--parley-url", options->parley_url, "Parley's base URL or its /messages URL")
      ->envname("PARLEY_URL")
      ->required();
  w->add_option("--connection-id", options->connection_id, "The connection ID (the JWT issuer)")
      ->envname("PARLEY_CONNECTION_ID")
      ->required();
  w->add_option("--secret", options->secret,
                "The connection's JWT secret (prefer PARLEY_WEBCHAT_SECRET: arguments are "
                "visible to other users)")
      ->envname("PARLEY_WEBCHAT_SECRET")
      ->required();
  w->add_option("--ca-file", options->ca_file, "Extra CA bundle (PEM) for an https Parley")
      ->check(CLI::ExistingFile);
  w->add_option("--timeout-ms", *timeout_ms, "Deadline of each POST to Parley")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  w->callback([options, timeout_ms] {
    // stdout carries the "webchat on" line only; logs go to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("webchat"));
    options->timeout = std::chrono::milliseconds(*timeout_ms);
    if (int rc = RunWebchat(*options, std::cout, std::cerr); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace parley::app

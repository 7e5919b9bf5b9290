#include "delivery/webhook_client.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <variant>

#include "delivery/address_guard.hpp"

namespace parley::delivery {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kMaxResponseHeader = 16 * 1024;
constexpr auto kSweepInterval = std::chrono::seconds(1);

// Where one request goes, derived once from the URL.
struct Target {
  bool tls = false;
  bool host_is_ip = false;
  std::string host;  // for the resolver, SNI and certificate checks; no brackets
  std::string port;  // numeric
  unsigned short port_number = 0;
  std::string host_header;  // host[:port] as the Host header wants it
  std::string path;         // origin-form request target
  std::string key;          // pool key: scheme://host:port
};

Result<Target> MakeTarget(std::string_view url, bool allow_insecure) {
  auto u = ValidateWebhookUrl(url, allow_insecure);
  if (!u) return Fail(u.error());
  namespace urls = boost::urls;
  Target t;
  t.tls = u->scheme_id() == urls::scheme::https;
  const unsigned short default_port = t.tls ? 443 : 80;
  t.port_number = u->has_port() && !u->port().empty() ? u->port_number() : default_port;
  t.port = std::to_string(t.port_number);
  switch (u->host_type()) {
    case urls::host_type::ipv4:
      t.host = u->host_ipv4_address().to_string();
      t.host_is_ip = true;
      t.host_header = t.host;
      break;
    case urls::host_type::ipv6:
      t.host = u->host_ipv6_address().to_string();
      t.host_is_ip = true;
      t.host_header = "[" + t.host + "]";
      break;
    default:
      t.host = std::string(u->encoded_host());
      t.host_header = t.host;
      break;
  }
  t.key = fmt::format("{}://{}:{}", t.tls ? "https" : "http", t.host_header, t.port);
  if (t.port_number != default_port) t.host_header += ":" + t.port;
  t.path = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) {
    t.path.push_back('?');
    t.path += u->encoded_query();
  }
  return t;
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A request as it goes on the wire: the head (request line and headers) and the body.
struct WireRequest {
  std::string head;
  std::string body;
};

// Header names must be tokens and values free of CR, LF and NUL, or a caller-supplied value could
// smuggle extra headers or a second request onto the connection. The head is written in one
// piece: Beast's serializer walked a chain of buffer views for each write, a sixth of a post.
Result<WireRequest> BuildRequest(const Target& t, HttpRequest& req) {
  WireRequest w;
  size_t size = t.path.size() + t.host_header.size() + 96;
  for (const auto& [name, value] : req.headers) size += name.size() + value.size() + 4;
  w.head.reserve(size);
  w.head.append("POST ").append(t.path).append(" HTTP/1.1\r\nHost: ").append(t.host_header);
  w.head.append("\r\nUser-Agent: parley-webhook/0.1\r\n");
  for (const auto& [name, value] : req.headers) {
    bool bad = name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar) ||
               value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos;
    if (bad) {
      return Fail(Errc::kInvalidArgument, "invalid_header",
                  "Use header names made of token characters and values without CR, LF or NUL.");
    }
    // The client sets these itself.
    if (beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
        beast::iequals(name, "transfer-encoding") || beast::iequals(name, "user-agent"))
      continue;
    w.head.append(name).append(": ").append(value).append("\r\n");
  }
  w.head.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n\r\n");
  w.body = std::move(req.body);
  return w;
}

Failure Unavailable(std::string code, std::string message) {
  return Fail(Errc::kUnavailable, std::move(code), std::move(message));
}

Failure TimedOut(std::string_view step, const Target& t, std::chrono::milliseconds timeout) {
  return Unavailable("timeout", fmt::format("timeout: {} {} did not finish within {} ms.", step,
                                            t.key, timeout.count()));
}

// The strand a new connection runs on: the caller's own when it runs on one (the dispatcher's
// coroutines all do), so that the exchange needs no hop to another strand and back; else a
// strand of its own.
asio::strand<asio::any_io_executor> StrandFor(const asio::any_io_executor& caller,
                                              const asio::any_io_executor& fallback) {
  if (const auto* s = caller.target<asio::strand<asio::any_io_executor>>()) return *s;
  return asio::make_strand(fallback);
}

// One pooled connection. Its strand serialises the coroutine that drives it with Beast's
// timeout handler, whatever threads run the io_context.
struct Connection {
  Connection(asio::strand<asio::any_io_executor> s, ssl::context* tls_context)
      : strand(std::move(s)) {
    if (tls_context)
      tls.emplace(strand, *tls_context);
    else
      plain.emplace(strand);
  }
  beast::tcp_stream& Tcp() { return plain ? *plain : tls->next_layer(); }

  // An idle socket that reads as closed (FIN) or readable (a close_notify, an unsolicited 408)
  // would fail the next request; finding that out now saves a write and a retry.
  bool LooksReusable() {
    char byte;
    ssize_t n = ::recv(Tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  asio::strand<asio::any_io_executor> strand;
  std::optional<beast::tcp_stream> plain;
  std::optional<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  SteadyClock::time_point idle_since;
};

struct ExchangeOutcome {
  Result<HttpResponse> result = Fail(Errc::kInternal, "internal", "The exchange did not run.");
  bool nothing_received = false;  // failed before any response byte: safe to retry elsewhere
  bool reusable = false;
};

// A coroutine waiting for a free connection slot of its host. It waits on one timer set to its
// deadline; a grant cancels the timer (on the timer's executor) to wake it sooner. One plain
// wait, where a channel raced against a timer cost a parallel group and a second operation.
struct Waiter {
  Waiter(const asio::any_io_executor& ex, SteadyClock::time_point deadline) : timer(ex, deadline) {}
  asio::steady_timer timer;
  bool granted = false;  // guarded by the pool mutex; true once a slot was handed over

  static void Wake(const std::shared_ptr<Waiter>& w) {
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
};

struct HostPool {
  size_t busy = 0;                                // slots held by Posts in flight
  std::vector<std::unique_ptr<Connection>> idle;  // back is the most recently used
  std::deque<std::shared_ptr<Waiter>> waiters;    // first come, first served
};

}  // namespace

class WebhookClient::Impl {
 public:
  Impl(asio::any_io_executor ex, WebhookClientOptions options)
      : ex_(std::move(ex)), options_(std::move(options)) {
    if (options_.max_connections_per_host == 0) options_.max_connections_per_host = 1;
    try {
      tls_.emplace(ssl::context::tls_client);
      tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      tls_->set_default_verify_paths();
      if (!options_.ca_file.empty()) tls_->load_verify_file(options_.ca_file);
      tls_->set_verify_mode(ssl::verify_peer);
    } catch (const std::exception& e) {
      init_error_ = Error{Errc::kInvalidArgument, "invalid_ca_file",
                          fmt::format("Give webhook_ca_file as a readable PEM bundle ({}: {}).",
                                      options_.ca_file, e.what())};
    }
  }

  static asio::awaitable<Result<HttpResponse>> Post(std::shared_ptr<Impl> self, HttpRequest req);

  void Close() {
    std::vector<std::unique_ptr<Connection>> doomed;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      for (auto& [key, pool] : hosts_) {
        for (auto& c : pool.idle) doomed.push_back(std::move(c));
        pool.idle.clear();
      }
    }
    for (auto& c : doomed) CloseSocket(*c);
  }

  WebhookClientStats Stats() const {
    std::lock_guard lock(mu_);
    WebhookClientStats s;
    for (const auto& [key, pool] : hosts_) {
      s.idle_connections += pool.idle.size();
      s.busy_connections += pool.busy;
    }
    s.connections_opened = opened_;
    s.stale_retries = stale_retries_;
    return s;
  }

  Result<void> Ready() const {
    if (init_error_) return Fail(*init_error_);
    return {};
  }

 private:
  // A held connection slot of one host; given back on every path out of Post.
  class Slot {
   public:
    Slot(Impl* impl, std::string key) : impl_(impl), key_(std::move(key)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (impl_) impl_->Release(key_, nullptr);
    }
    void Return(std::unique_ptr<Connection> c) {
      impl_->Release(key_, std::move(c));
      impl_ = nullptr;
    }

   private:
    Impl* impl_;
    std::string key_;
  };

  static void CloseSocket(Connection& c) {
    error_code ignored;
    c.Tcp().socket().close(ignored);
  }

  // Pops the freshest usable idle connection, or null (the caller then opens one).
  std::unique_ptr<Connection> TakeIdleLocked(HostPool& pool,
                                             std::vector<std::unique_ptr<Connection>>& doomed) {
    const auto now = SteadyClock::now();
    while (!pool.idle.empty()) {
      std::unique_ptr<Connection> c = std::move(pool.idle.back());
      pool.idle.pop_back();
      if (now - c->idle_since < options_.idle_timeout && c->LooksReusable()) return c;
      doomed.push_back(std::move(c));
    }
    return nullptr;
  }

  // Drops idle connections past idle_timeout in every host, at most once a second, so a host
  // that is never called again does not keep sockets open forever.
  void SweepLocked(std::vector<std::unique_ptr<Connection>>& doomed) {
    const auto now = SteadyClock::now();
    if (now - last_sweep_ < kSweepInterval) return;
    last_sweep_ = now;
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      auto& idle = it->second.idle;
      auto keep = std::stable_partition(idle.begin(), idle.end(), [&](const auto& c) {
        return now - c->idle_since < options_.idle_timeout;
      });
      for (auto i = keep; i != idle.end(); ++i) doomed.push_back(std::move(*i));
      idle.erase(keep, idle.end());
      if (it->second.busy == 0 && idle.empty() && it->second.waiters.empty())
        it = hosts_.erase(it);
      else
        ++it;
    }
  }

  // Waits until the host has a free slot (or the deadline passes) and takes it; yields an idle
  // connection to reuse, or null when the caller should open a new one.
  asio::awaitable<Result<std::unique_ptr<Connection>>> Acquire(const asio::any_io_executor& caller,
                                                               const Target& t,
                                                               SteadyClock::time_point deadline,
                                                               std::chrono::milliseconds timeout) {
    std::vector<std::unique_ptr<Connection>> doomed;
    std::shared_ptr<Waiter> waiter;
    {
      std::lock_guard lock(mu_);
      if (closed_) co_return Unavailable("client_closed", "The webhook client is shutting down.");
      SweepLocked(doomed);
      HostPool& pool = hosts_[t.key];
      if (pool.busy < options_.max_connections_per_host && pool.waiters.empty()) {
        ++pool.busy;
        auto c = TakeIdleLocked(pool, doomed);
        for (auto& d : doomed) CloseSocket(*d);
        co_return c;
      }
      waiter = std::make_shared<Waiter>(caller, deadline);
      pool.waiters.push_back(waiter);
    }
    for (auto& d : doomed) CloseSocket(*d);
    doomed.clear();

    co_await waiter->timer.async_wait(kUseTuple);

    // The grant flag, not which wait finished first, says whether the slot is ours: a grant can
    // race the timer, and a granted slot must be used or given back.
    std::unique_lock lock(mu_);
    HostPool& pool = hosts_[t.key];
    if (!waiter->granted) {
      std::erase(pool.waiters, waiter);
      co_return Unavailable("timeout",
                            fmt::format("timeout: all {} connections to {} stayed busy for {} ms.",
                                        options_.max_connections_per_host, t.key, timeout.count()));
    }
    if (closed_ || SteadyClock::now() >= deadline) {
      lock.unlock();
      Release(t.key, nullptr);
      if (closed_) co_return Unavailable("client_closed", "The webhook client is shutting down.");
      co_return TimedOut("waiting for a connection to", t, timeout);
    }
    auto c = TakeIdleLocked(pool, doomed);
    lock.unlock();
    for (auto& d : doomed) CloseSocket(*d);
    co_return c;
  }

  // Gives a slot back, pooling `c` when it is still good, and hands the slot to the first waiter.
  void Release(const std::string& key, std::unique_ptr<Connection> c) {
    std::unique_ptr<Connection> doomed;
    {
      std::lock_guard lock(mu_);
      HostPool& pool = hosts_[key];
      if (c && !closed_) {
        c->idle_since = SteadyClock::now();
        pool.idle.push_back(std::move(c));
        if (pool.idle.size() > options_.max_connections_per_host) {
          doomed = std::move(pool.idle.front());
          pool.idle.erase(pool.idle.begin());
        }
      } else {
        doomed = std::move(c);
      }
      if (!pool.waiters.empty()) {
        std::shared_ptr<Waiter> w = std::move(pool.waiters.front());
        pool.waiters.pop_front();
        w->granted = true;
        Waiter::Wake(w);
      } else if (pool.busy > 0) {
        --pool.busy;
      }
      if (pool.busy == 0 && pool.idle.empty() && pool.waiters.empty()) hosts_.erase(key);
    }
    if (doomed) CloseSocket(*doomed);
  }

  Result<void> CheckAddress(const Target& t, const asio::ip::address& address) const {
    if (options_.allow_insecure || IsPublicAddress(address)) return {};
    return Unavailable("blocked_address",
                       fmt::format("blocked address: {} resolves to {}, which is not a public "
                                   "address; use a public webhook or run with "
                                   "allow_insecure_webhooks.",
                                   t.host, address.to_string()));
  }

  // getaddrinfo cannot be cancelled, so the lookup runs on its own and reports through a
  // channel; on timeout the result is simply never read.
  asio::awaitable<Result<std::vector<tcp::endpoint>>> Resolve(const Target& t,
                                                              SteadyClock::time_point deadline,
                                                              std::chrono::milliseconds timeout) {
    if (t.host_is_ip) {
      // A literal needs no lookup, nor a trip through the resolver's thread.
      error_code ec;
      tcp::endpoint literal(asio::ip::make_address(t.host, ec), t.port_number);
      if (ec) co_return Unavailable("resolve_failed", "resolve: " + t.host + " is not an address.");
      if (auto allowed = CheckAddress(t, literal.address()); !allowed)
        co_return Fail(allowed.error());
      co_return std::vector<tcp::endpoint>{literal};
    }
    using Channel =
        asio::experimental::concurrent_channel<void(error_code, tcp::resolver::results_type)>;
    auto channel = std::make_shared<Channel>(ex_, 1);
    auto resolver = std::make_shared<tcp::resolver>(ex_);
    resolver->async_resolve(t.host, t.port,
                            [channel, resolver](error_code ec, tcp::resolver::results_type r) {
                              channel->try_send(ec, std::move(r));
                            });
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    auto done = co_await (channel->async_receive(kUseTuple) || timer.async_wait(kUseTuple));
    if (done.index() == 1) co_return TimedOut("resolving", t, timeout);
    auto [ec, results] = std::get<0>(std::move(done));
    if (ec) {
      co_return Unavailable("resolve_failed",
                            fmt::format("resolve: cannot resolve {} ({}).", t.host, ec.message()));
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) {
      // Every address is checked, not just the first, and the checked list is what we connect
      // to, so a second lookup (DNS rebinding) never gets a say.
      if (auto allowed = CheckAddress(t, entry.endpoint().address()); !allowed)
        co_return Fail(allowed.error());
      endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty())
      co_return Unavailable("resolve_failed", fmt::format("resolve: {} has no address.", t.host));
    co_return endpoints;
  }

  // Runs on c.strand.
  asio::awaitable<Result<void>> Connect(Connection& c, const Target& t,
                                        SteadyClock::time_point deadline,
                                        std::chrono::milliseconds timeout) {
    try {
      auto endpoints = co_await Resolve(t, deadline, timeout);
      if (!endpoints) co_return Fail(endpoints.error());
      c.Tcp().expires_at(deadline);
      auto [ec, ep] = co_await c.Tcp().async_connect(*endpoints, kUseTuple);
      if (ec == beast::error::timeout) co_return TimedOut("connecting to", t, timeout);
      if (ec) {
        co_return Unavailable("connect_failed", fmt::format("connect: cannot connect to {} ({}).",
                                                            t.key, ec.message()));
      }
      {
        std::lock_guard lock(mu_);
        ++opened_;
      }
      if (!c.tls) co_return Result<void>{};

      auto& stream = *c.tls;
      // SNI carries names only (RFC 6066); the certificate is checked against the IP otherwise.
      if (!t.host_is_ip && SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str()) != 1)
        co_return Unavailable("tls_failed", "tls: cannot set the server name for " + t.host + ".");
      stream.set_verify_mode(ssl::verify_peer, ec);
      if (!ec) stream.set_verify_callback(ssl::host_name_verification(t.host), ec);
      if (ec)
        co_return Unavailable("tls_failed", "tls: cannot set up verification: " + ec.message());
      auto [hs_ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
      if (hs_ec == beast::error::timeout) co_return TimedOut("TLS handshake with", t, timeout);
      if (hs_ec) {
        long verify = SSL_get_verify_result(stream.native_handle());
        std::string why =
            verify != X509_V_OK ? X509_verify_cert_error_string(verify) : hs_ec.message();
        co_return Unavailable(
            "tls_failed",
            fmt::format("tls: handshake with {} failed ({}); its certificate must chain to a "
                        "trusted CA and name {}.",
                        t.key, why, t.host));
      }
      co_return Result<void>{};
    } catch (const std::exception& e) {
      co_return Unavailable("connect_failed", fmt::format("connect: {} ({}).", t.key, e.what()));
    }
  }

  template <class Stream>
  asio::awaitable<ExchangeOutcome> Exchange(Stream& stream, Connection& c, const WireRequest& req,
                                            const Target& t, SteadyClock::time_point deadline,
                                            std::chrono::milliseconds timeout) {
    ExchangeOutcome out;
    c.Tcp().expires_at(deadline);
    const std::array<asio::const_buffer, 2> wire{asio::buffer(req.head), asio::buffer(req.body)};
    auto [wec, written] = co_await asio::async_write(stream, wire, kUseTuple);
    if (wec) {
      out.nothing_received = wec != beast::error::timeout;
      out.result =
          wec == beast::error::timeout
              ? TimedOut("sending the request to", t, timeout)
              : Unavailable("write_failed",
                            fmt::format("write: sending to {} failed ({}).", t.key, wec.message()));
      co_return out;
    }
    std::optional<http::response_parser<http::string_body>> parser;
    error_code rec;
    // A 100 Continue is not the answer; skip it (bounded, as every loop on peer input is).
    for (int interim = 0; interim < 4; ++interim) {
      parser.emplace();
      parser->header_limit(kMaxResponseHeader);
      parser->body_limit(options_.max_response_body);
      std::tie(rec, std::ignore) = co_await http::async_read(stream, c.buffer, *parser, kUseTuple);
      if (rec || parser->get().result_int() / 100 != 1) break;
    }
    if (rec == http::error::body_limit && parser->is_header_done()) {
      // The receiver answered; an oversized body does not change what its status says.
      out.result = HttpResponse{static_cast<int>(parser->get().result_int()),
                                std::move(parser->get().body()), true};
      co_return out;
    }
    if (rec) {
      out.nothing_received =
          rec != beast::error::timeout && !parser->got_some() && c.buffer.size() == 0;
      out.result = rec == beast::error::timeout
                       ? TimedOut("waiting for the response from", t, timeout)
                       : Unavailable("read_failed", fmt::format("read: reading the response from "
                                                                "{} failed ({}).",
                                                                t.key, rec.message()));
      co_return out;
    }
    if (parser->get().result_int() / 100 == 1) {
      out.result =
          Unavailable("read_failed", fmt::format("read: {} sent only interim responses.", t.key));
      co_return out;
    }
    auto& res = parser->get();
    out.reusable = res.keep_alive() && c.buffer.size() == 0;
    out.result = HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
    c.Tcp().expires_never();
    co_return out;
  }

  // Runs on c.strand.
  asio::awaitable<ExchangeOutcome> ExchangeOn(Connection& c, const WireRequest& req,
                                              const Target& t, SteadyClock::time_point deadline,
                                              std::chrono::milliseconds timeout) {
    try {
      if (c.tls) co_return co_await Exchange(*c.tls, c, req, t, deadline, timeout);
      co_return co_await Exchange(*c.plain, c, req, t, deadline, timeout);
    } catch (const std::exception& e) {
      co_return ExchangeOutcome{
          Unavailable("read_failed",
                      fmt::format("read: exchange with {} failed ({}).", t.key, e.what())),
          false, false};
    }
  }

  asio::any_io_executor ex_;
  WebhookClientOptions options_;
  std::optional<ssl::context> tls_;
  std::optional<Error> init_error_;

  // What a URL was validated and parsed into: a connection's webhook is the same URL for every
  // event, and parsing it again was a tenth of a post. Bounded: cleared when full.
  Result<Target> TargetOf(const std::string& url) {
    {
      std::lock_guard lock(targets_mu_);
      if (auto it = targets_.find(url); it != targets_.end()) return it->second;
    }
    auto t = MakeTarget(url, options_.allow_insecure);
    if (!t) return t;
    std::lock_guard lock(targets_mu_);
    if (targets_.size() >= kMaxTargets) targets_.clear();
    targets_.emplace(url, *t);
    return t;
  }

  static constexpr size_t kMaxTargets = 1024;
  std::mutex targets_mu_;
  std::unordered_map<std::string, Target> targets_;

  mutable std::mutex mu_;
  std::map<std::string, HostPool> hosts_;
  bool closed_ = false;
  size_t opened_ = 0;
  size_t stale_retries_ = 0;
  SteadyClock::time_point last_sweep_{};
};

asio::awaitable<Result<HttpResponse>> WebhookClient::Impl::Post(std::shared_ptr<Impl> self,
                                                                HttpRequest req) {
  try {
    if (self->init_error_) co_return Fail(*self->init_error_);
    const auto timeout = req.timeout;
    const auto deadline = SteadyClock::now() + timeout;
    auto target = self->TargetOf(req.url);
    if (!target) co_return Fail(target.error());
    auto request = BuildRequest(*target, req);
    if (!request) co_return Fail(request.error());

    const asio::any_io_executor caller = co_await asio::this_coro::executor;
    auto taken = co_await self->Acquire(caller, *target, deadline, timeout);
    if (!taken) co_return Fail(taken.error());
    Slot slot(self.get(), target->key);
    std::unique_ptr<Connection> conn = std::move(*taken);

    for (int attempt = 0;; ++attempt) {
      const bool reused = conn != nullptr;
      if (!conn) {
        conn = std::make_unique<Connection>(StrandFor(caller, self->ex_),
                                            target->tls ? &*self->tls_ : nullptr);
        auto connected = co_await asio::co_spawn(
            conn->strand, self->Connect(*conn, *target, deadline, timeout), asio::use_awaitable);
        if (!connected) co_return Fail(connected.error());
      }
      // On the connection's strand already (the usual case): no hop there and back.
      ExchangeOutcome outcome;
      if (asio::any_io_executor(conn->strand) == caller) {
        outcome = co_await self->ExchangeOn(*conn, *request, *target, deadline, timeout);
      } else {
        outcome = co_await asio::co_spawn(
            conn->strand, self->ExchangeOn(*conn, *request, *target, deadline, timeout),
            asio::use_awaitable);
      }
      if (outcome.result) {
        slot.Return(outcome.reusable ? std::move(conn) : nullptr);
        co_return std::move(outcome.result);
      }
      // The server closed a kept-alive connection just as we reused it; nothing was answered,
      // so one attempt on a fresh connection is owed before calling the webhook down.
      if (reused && outcome.nothing_received && attempt == 0 && SteadyClock::now() < deadline) {
        conn.reset();
        std::lock_guard lock(self->mu_);
        ++self->stale_retries_;
        continue;
      }
      co_return std::move(outcome.result);
    }
  } catch (const std::exception& e) {
    co_return Unavailable("connect_failed",
                          fmt::format("The webhook request failed ({}).", e.what()));
  }
}

WebhookClient::WebhookClient(boost::asio::any_io_executor ex, WebhookClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}

WebhookClient::~WebhookClient() { impl_->Close(); }

Result<void> WebhookClient::Ready() const { return impl_->Ready(); }

boost::asio::awaitable<Result<HttpResponse>> WebhookClient::Post(HttpRequest req) {
  return Impl::Post(impl_, std::move(req));
}

void WebhookClient::Close() { impl_->Close(); }

WebhookClientStats WebhookClient::Stats() const { return impl_->Stats(); }

}  // namespace parley::delivery

// Load generator for the Client Channel API: drives `POST /messages` with valid tokens and
// measures what an integration layer sees. Three modes:
//   closed  N keep-alive connections, each sends its next request when the previous answer
//           arrives: the most the server accepts (throughput) and the latency at that load.
//   open    a fixed schedule of R requests/s spread over the connections; latency counts from
//           the scheduled send time, so a stall is charged to every request it delayed
//           (no coordinated omission).
//   echo    a built-in webhook receiver and a connection with bot `echo`: the time from
//           sending a customer message to its echo arriving at the webhook.
// Loopback only; every loop is bounded by a count and a deadline.

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <bit>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "channel/jwt.hpp"

namespace parley::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;
using namespace std::chrono_literals;

constexpr auto kRequestTimeout = 10s;
constexpr auto kConnectTimeout = 5s;
constexpr auto kDrainTimeout = 5s;   // after the run, how long answers/echoes may still come
constexpr int kMaxReconnects = 100;  // per connection, so a dead server ends the run
constexpr int64_t kTokenRefreshSeconds = 60;  // tokens live 300 s (PROTOCOL.md §2)
constexpr size_t kMaxResponseBody = 64 * 1024;
constexpr std::string_view kEchoPrefix = "echo-probe ";

// Log-linear histogram of nanoseconds: 128 sub-buckets per power of two (< 1 % error),
// constant memory whatever the run length, mergeable across threads.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr int64_t kSub = int64_t{1} << kSubBits;

  Histogram() : counts_(static_cast<size_t>(kSub * 66), 0) {}

  void Record(int64_t ns) {
    uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
    ++counts_[Index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }

  void Merge(const Histogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t Count() const { return total_; }
  double MaxMs() const { return static_cast<double>(max_) / 1e6; }

  // The value at quantile q (0..1), in milliseconds, from the bucket's midpoint.
  double PercentileMs(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        double mid = Midpoint(i);
        return std::min(mid, static_cast<double>(max_)) / 1e6;
      }
    }
    return MaxMs();
  }

 private:
  static size_t Index(uint64_t v) {
    if (v < static_cast<uint64_t>(kSub)) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - kSubBits;
    return static_cast<size_t>(shift) * kSub + static_cast<size_t>(v >> shift);
  }
  static double Midpoint(size_t index) {
    auto i = static_cast<int64_t>(index);
    if (i < kSub) return static_cast<double>(i);
    int64_t shift = i / kSub - 1;
    int64_t mantissa = i - shift * kSub;
    double low = std::ldexp(static_cast<double>(mantissa), static_cast<int>(shift));
    return low + std::ldexp(0.5, static_cast<int>(shift)) - 0.5;
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

struct Options {
  std::string mode = "closed";
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string connection_id;
  std::string secret;
  std::string admin_token;  // echo mode: creates its own connection with bot echo
  int connections = 64;
  int threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
  double rate = 5000;
  int customers = 10000;
  bool new_customers = false;  // every request from a customer never seen (each joins a queue)
  bool json = false;
  std::string json_file;  // also append the JSON object to this file
};

// What one thread saw; merged at the end.
struct Stats {
  Histogram latency;       // request latency (closed: from send; open/echo: from schedule)
  Histogram service;       // open/echo: from the actual send, for comparison
  Histogram echo;          // echo: message sent -> echo at the webhook
  uint64_t completed = 0;  // answers received inside the measured window
  uint64_t accepted = 0;
  uint64_t duplicate = 0;
  uint64_t late_sends = 0;  // open loop: sent > 1 ms after their scheduled time
  uint64_t transport_errors = 0;
  uint64_t warmup_requests = 0;
  std::map<int, uint64_t> by_status;  // non-200 answers
  Clock::time_point last_done{};      // the last measured answer: a late run stretches the window

  void Merge(const Stats& o) {
    latency.Merge(o.latency);
    service.Merge(o.service);
    echo.Merge(o.echo);
    completed += o.completed;
    accepted += o.accepted;
    duplicate += o.duplicate;
    late_sends += o.late_sends;
    transport_errors += o.transport_errors;
    warmup_requests += o.warmup_requests;
    for (auto [k, v] : o.by_status) by_status[k] += v;
    last_done = std::max(last_done, o.last_done);
  }
};

// Everything a thread needs; one per io_context, so nothing here needs a lock.
struct Worker {
  Worker(const Options& o, int index, std::string run_id)
      : options(o),
        thread_index(index),
        run_id(std::move(run_id)),
        rng(0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(index + 1)) {}

  const Options& options;
  int thread_index;
  std::string run_id;
  asio::io_context io{1};
  Stats stats;
  uint64_t next_message = 0;
  uint64_t rng;
  std::string token;
  int64_t token_iat = 0;
  std::string connection_id;
  std::string secret;

  const std::string& Token() {
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (token.empty() || now - token_iat >= kTokenRefreshSeconds) {
      token = channel::SignJwt(connection_id, now, secret);
      token_iat = now;
    }
    return token;
  }

  uint64_t Random() {  // xorshift64: cheap, so the generator spends its CPU on I/O
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }
};

constexpr std::string_view kPhrases[] = {
    "Hi, where is my order? It was due yesterday.",
    "I would like to change the delivery address for order",
    "Can I get a refund for a damaged item?",
    "What are your opening hours on Saturday?",
    "My card was charged twice, can you check?",
    "I forgot my password and cannot log in.",
    "Do you ship to Norway?",
    "Thanks, that solved it!",
};

// A body like a real channel's: type text, a customer id and name, one line of text.
std::string MessageBody(std::string_view customer, std::string_view message_id,
                        std::string_view text) {
  return fmt::format(R"({{"type":"text","customer_id":"cust-{}","customer_name":"Customer {}",)"
                     R"("message_id":"{}","text":["{}"]}})",
                     customer, customer, message_id, text);
}
std::string MessageBody(uint64_t customer, std::string_view message_id, std::string_view text) {
  return MessageBody(std::to_string(customer), message_id, text);
}

std::string PostMessages(Worker& w, std::string_view body) {
  return fmt::format(
      "POST /messages HTTP/1.1\r\nHost: {}:{}\r\nAuthorization: Bearer {}\r\n"
      "connection_id: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
      w.options.host, w.options.port, w.Token(), w.connection_id, body.size(), body);
}

// The next ordinary message: unique id, a customer among `customers`, a line of text.
std::string NextRequest(Worker& w) {
  uint64_t n = w.next_message++;
  uint64_t customer = w.Random() % static_cast<uint64_t>(w.options.customers);
  std::string id = fmt::format("{}-{}-{}", w.run_id, w.thread_index, n);
  std::string text = fmt::format("{} #{}", kPhrases[n % std::size(kPhrases)], n);
  if (w.options.new_customers) return PostMessages(w, MessageBody(std::string_view(id), id, text));
  return PostMessages(w, MessageBody(customer, id, text));
}

asio::awaitable<bool> Connect(beast::tcp_stream& stream, const tcp::endpoint& ep) {
  boost::system::error_code ec;
  stream.expires_after(kConnectTimeout);
  co_await stream.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  stream.socket().set_option(tcp::no_delay(true), ec);
  co_return true;
}

struct Answer {
  bool ok = false;  // false: a transport error (connect, write, read, timeout)
  int status = 0;
  bool duplicate = false;
  bool keep_alive = true;
};

// Sends one request on a kept-alive stream and reads the answer.
asio::awaitable<Answer> Exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                 const std::string& request) {
  Answer a;
  boost::system::error_code ec;
  stream.expires_after(kRequestTimeout);
  co_await asio::async_write(stream, asio::buffer(request),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return a;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return a;
  a.ok = true;
  a.status = static_cast<int>(parser.get().result_int());
  a.duplicate = parser.get().body().find("duplicate") != std::string::npos;
  a.keep_alive = parser.get().keep_alive();
  co_return a;
}

void Tally(Stats& s, const Answer& a) {
  if (!a.ok) {
    ++s.transport_errors;
    return;
  }
  ++s.completed;
  if (a.status == 200) {
    if (a.duplicate)
      ++s.duplicate;
    else
      ++s.accepted;
  } else {
    ++s.by_status[a.status];
  }
}

struct Window {
  Clock::time_point start;    // run starts (warm-up begins)
  Clock::time_point measure;  // measured window starts
  Clock::time_point end;      // no request starts after this
};

// Closed loop: one connection sends back to back until the window ends.
asio::awaitable<void> ClosedLoopConnection(Worker& w, tcp::endpoint ep, Window win) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::flat_buffer buffer;
  bool connected = false;
  int reconnects = 0;
  while (Clock::now() < win.end) {
    if (!connected) {
      if (reconnects++ > kMaxReconnects) break;
      stream.close();
      buffer.clear();
      connected = co_await Connect(stream, ep);
      if (!connected) {
        ++w.stats.transport_errors;
        continue;
      }
    }
    std::string request = NextRequest(w);
    auto sent = Clock::now();
    Answer a = co_await Exchange(stream, buffer, request);
    auto done = Clock::now();
    if (sent >= win.measure && done <= win.end) {
      Tally(w.stats, a);
      if (a.ok) w.stats.latency.Record((done - sent).count());
    } else {
      ++w.stats.warmup_requests;
    }
    if (!a.ok || !a.keep_alive) connected = false;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.close();
}

// Open loop: request j (of all connections) is due at start + j / rate; this connection owns
// j = index, index + stride, ... Latency counts from the due time.
// `make_request(j)` builds request j; `on_sent(j, time)` notes when it left (echo mode).
template <class MakeRequest, class OnSent>
asio::awaitable<void> OpenLoopConnection(Worker& w, tcp::endpoint ep, Window win, uint64_t index,
                                         uint64_t stride, uint64_t total, MakeRequest make_request,
                                         OnSent on_sent) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::flat_buffer buffer;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool connected = false;
  int reconnects = 0;
  const double ns_per_request = 1e9 / w.options.rate;
  for (uint64_t j = index; j < total; j += stride) {
    auto due =
        win.start + nanoseconds(static_cast<int64_t>(static_cast<double>(j) * ns_per_request));
    if (due >= win.end) break;
    if (Clock::now() > win.end + kDrainTimeout) break;  // hopelessly behind: stop
    if (!connected) {
      if (reconnects++ > kMaxReconnects) break;
      stream.close();
      buffer.clear();
      connected = co_await Connect(stream, ep);
      if (!connected) {
        ++w.stats.transport_errors;
        continue;
      }
    }
    if (Clock::now() < due) {
      timer.expires_at(due);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::string request = make_request(j);
    auto sent = Clock::now();
    on_sent(j, sent);
    Answer a = co_await Exchange(stream, buffer, request);
    auto done = Clock::now();
    if (due >= win.measure) {
      Tally(w.stats, a);
      w.stats.last_done = std::max(w.stats.last_done, done);
      if (a.ok) {
        w.stats.latency.Record((done - due).count());
        w.stats.service.Record((done - sent).count());
      }
      if (sent - due > 1ms) ++w.stats.late_sends;
    } else {
      ++w.stats.warmup_requests;
    }
    if (!a.ok || !a.keep_alive) connected = false;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.close();
}

// Echo mode's webhook side: when each probe was sent, and when its echo came back.
struct EchoBook {
  std::vector<Clock::time_point> sent;  // by probe number; epoch = not sent
  std::vector<bool> received;
  Clock::time_point measure;
  uint64_t echoes = 0;      // probes whose echo arrived
  uint64_t repeats = 0;     // the same probe delivered again (at-least-once retries)
  uint64_t unexpected = 0;  // webhook calls that are not a probe's echo
  int active_senders = 0;
  uint64_t webhook_calls = 0;
};

// Answers 200 at once, then reads the echoed text to find the probe it belongs to.
asio::awaitable<void> WebhookSession(Worker& w, EchoBook& book, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    stream.expires_after(60s);
    co_await bhttp::async_read(stream, buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    auto arrived = Clock::now();
    bhttp::response<bhttp::string_body> res{bhttp::status::ok, parser.get().version()};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = "{}";
    res.keep_alive(parser.get().keep_alive());
    res.prepare_payload();
    stream.expires_after(kRequestTimeout);
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    ++book.webhook_calls;
    json::value body = json::parse(parser.get().body(), ec);
    std::optional<uint64_t> probe;
    if (!ec && body.is_object()) {
      const auto* text = body.as_object().if_contains("text");
      if (text && text->is_array() && !text->as_array().empty() &&
          text->as_array()[0].is_string()) {
        std::string_view line = text->as_array()[0].as_string();
        if (line.starts_with(kEchoPrefix)) {
          line.remove_prefix(kEchoPrefix.size());
          uint64_t n = 0;
          auto [p, err] = std::from_chars(line.data(), line.data() + line.size(), n);
          if (err == std::errc() && n < book.sent.size()) probe = n;
        }
      }
    }
    if (!probe || book.sent[*probe] == Clock::time_point{}) {
      ++book.unexpected;
    } else if (book.received[*probe]) {
      ++book.repeats;
    } else {
      book.received[*probe] = true;
      ++book.echoes;
      if (book.sent[*probe] >= book.measure)
        w.stats.echo.Record((arrived - book.sent[*probe]).count());
    }
    if (!parser.get().keep_alive()) break;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<void> WebhookAccept(Worker& w, EchoBook& book, tcp::acceptor& acceptor) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), WebhookSession(w, book, std::move(socket)),
                   asio::detached);
  }
}

// A blocking admin call (before the run starts): creates a connection, returns id and secret.
std::optional<std::pair<std::string, std::string>> CreateConnection(const Options& o,
                                                                    const std::string& webhook,
                                                                    const std::string& bot,
                                                                    std::string& error) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  stream.expires_after(kRequestTimeout);
  stream.connect(tcp::endpoint(asio::ip::make_address(o.host), o.port), ec);
  if (ec) {
    error = "connect: " + ec.message();
    return std::nullopt;
  }
  json::object body{
      {"name", fmt::format("bench-{}-{}-{}", bot, getpid(),
                           std::chrono::system_clock::now().time_since_epoch().count())},
      {"client_webhook", webhook},
      {"bot", bot}};
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/api/v1/connections", 11};
  req.set(bhttp::field::host, fmt::format("{}:{}", o.host, o.port));
  req.set(bhttp::field::authorization, "Bearer " + o.admin_token);
  req.set(bhttp::field::content_type, "application/json");
  req.body() = json::serialize(body);
  req.prepare_payload();
  bhttp::write(stream, req, ec);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  if (!ec) bhttp::read(stream, buffer, res, ec);
  if (ec) {
    error = "create connection: " + ec.message();
    return std::nullopt;
  }
  if (res.result_int() / 100 != 2) {
    error = fmt::format("create connection: HTTP {}: {}", res.result_int(), res.body());
    return std::nullopt;
  }
  json::value v = json::parse(res.body(), ec);
  if (ec || !v.is_object() || !v.as_object().contains("connection_id") ||
      !v.as_object().contains("jwt_secret")) {
    error = "create connection: unexpected answer " + res.body();
    return std::nullopt;
  }
  return std::pair{json::value_to<std::string>(v.at("connection_id")),
                   json::value_to<std::string>(v.at("jwt_secret"))};
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a.empty() ? "unknown" : fmt::format("{} {} {}", a, b, c);
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

json::object LatencyJson(const Histogram& h) {
  return {{"count", h.Count()},
          {"p50_ms", h.PercentileMs(0.50)},
          {"p90_ms", h.PercentileMs(0.90)},
          {"p99_ms", h.PercentileMs(0.99)},
          {"p999_ms", h.PercentileMs(0.999)},
          {"max_ms", h.MaxMs()}};
}

std::string LatencyLine(const Histogram& h) {
  return fmt::format("p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f} ms ({} samples)",
                     h.PercentileMs(0.50), h.PercentileMs(0.90), h.PercentileMs(0.99),
                     h.PercentileMs(0.999), h.MaxMs(), h.Count());
}

int Run(Options o) {
  auto address = asio::ip::make_address(o.host);
  if (!address.is_loopback()) {
    fmt::print(stderr, "loadgen: --host must be a loopback address, got {}\n", o.host);
    return 2;
  }
  tcp::endpoint ep(address, o.port);
  const bool echo = o.mode == "echo";
  if (echo) o.threads = 1;  // the receiver and the sender share one book
  std::string run_id = fmt::format("b{}-{}", getpid(),
                                   std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) workers.push_back(std::make_unique<Worker>(o, t, run_id));

  // Echo mode: the webhook receiver must be listening before the connection names it.
  tcp::acceptor acceptor(workers[0]->io);
  EchoBook book;
  if (echo) {
    acceptor.open(tcp::v4());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor.listen();
    std::string webhook =
        fmt::format("http://127.0.0.1:{}/webhook", acceptor.local_endpoint().port());
    std::string error;
    auto created = CreateConnection(o, webhook, "echo", error);
    if (!created) {
      fmt::print(stderr, "loadgen: {}\n", error);
      return 1;
    }
    o.connection_id = created->first;
    o.secret = created->second;
    asio::co_spawn(workers[0]->io, WebhookAccept(*workers[0], book, acceptor), asio::detached);
  }
  if (!echo && o.connection_id.empty() && !o.admin_token.empty()) {
    // Bot none: nothing is sent to this webhook, so it need not listen.
    std::string error;
    auto created = CreateConnection(o, "http://127.0.0.1:9/unused", "none", error);
    if (!created) {
      fmt::print(stderr, "loadgen: {}\n", error);
      return 1;
    }
    o.connection_id = created->first;
    o.secret = created->second;
  }
  if (o.connection_id.empty() || o.secret.empty()) {
    fmt::print(stderr, "loadgen: give --connection-id and --secret, or --admin-token\n");
    return 2;
  }
  for (auto& w : workers) {
    w->connection_id = o.connection_id;
    w->secret = o.secret;
  }

  auto total_requests = static_cast<uint64_t>(std::llround(o.rate * (o.warmup_s + o.duration_s)));
  if (echo) {
    book.sent.assign(total_requests, Clock::time_point{});
    book.received.assign(total_requests, false);
  }

  std::string load_before = LoadAverage();
  double cpu_before = CpuSeconds();
  Window win;
  win.start = Clock::now() + 50ms;  // time to connect before the first due request
  win.measure = win.start + nanoseconds(static_cast<int64_t>(o.warmup_s * 1e9));
  win.end = win.measure + nanoseconds(static_cast<int64_t>(o.duration_s * 1e9));
  book.measure = win.measure;

  for (int c = 0; c < o.connections; ++c) {
    Worker& w = *workers[static_cast<size_t>(c % o.threads)];
    if (o.mode == "closed") {
      asio::co_spawn(w.io, ClosedLoopConnection(w, ep, win), asio::detached);
    } else if (o.mode == "open") {
      asio::co_spawn(w.io,
                     OpenLoopConnection(
                         w, ep, win, static_cast<uint64_t>(c), static_cast<uint64_t>(o.connections),
                         total_requests, [&w](uint64_t) { return NextRequest(w); },
                         [](uint64_t, Clock::time_point) {}),
                     asio::detached);
    } else {
      auto make = [&w](uint64_t j) {
        uint64_t customer = w.Random() % static_cast<uint64_t>(w.options.customers);
        std::string id = fmt::format("{}-echo-{}", w.run_id, j);
        return PostMessages(w, MessageBody(customer, id, fmt::format("{}{}", kEchoPrefix, j)));
      };
      auto note = [&book](uint64_t j, Clock::time_point t) { book.sent[j] = t; };
      ++book.active_senders;
      asio::co_spawn(
          w.io,
          [&w, &book, ep, win, c, &o, total_requests, make, note]() -> asio::awaitable<void> {
            co_await OpenLoopConnection(w, ep, win, static_cast<uint64_t>(c),
                                        static_cast<uint64_t>(o.connections), total_requests, make,
                                        note);
            --book.active_senders;
          },
          asio::detached);
    }
  }

  // Echo mode: once the senders are done, wait for the last echoes (bounded), then stop.
  uint64_t sent_probes = 0;
  if (echo) {
    asio::co_spawn(
        workers[0]->io,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer timer(co_await asio::this_coro::executor);
          auto give_up = win.end + kRequestTimeout + kDrainTimeout;
          for (;;) {
            timer.expires_after(20ms);
            co_await timer.async_wait(asio::use_awaitable);
            auto now = Clock::now();
            if (now > give_up) break;
            if (book.active_senders > 0) continue;
            sent_probes = static_cast<uint64_t>(
                std::count_if(book.sent.begin(), book.sent.end(),
                              [](Clock::time_point t) { return t != Clock::time_point{}; }));
            if (book.echoes >= sent_probes) break;
          }
          boost::system::error_code ec;
          acceptor.close(ec);
          sent_probes = static_cast<uint64_t>(
              std::count_if(book.sent.begin(), book.sent.end(),
                            [](Clock::time_point t) { return t != Clock::time_point{}; }));
          workers[0]->io.stop();
        },
        asio::detached);
  }

  auto wall_start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers.size(); ++t)
    threads.emplace_back([&w = *workers[t]] { w.io.run(); });
  workers[0]->io.run();
  for (auto& t : threads) t.join();
  double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
  double cpu = CpuSeconds() - cpu_before;
  std::string load_after = LoadAverage();

  Stats s;
  for (auto& w : workers) s.Merge(w->stats);
  // Open loop: when the server falls behind, answers to requests due in the window keep coming
  // after it; dividing by the stretched window gives the rate the server really sustained.
  double window_s = o.duration_s;
  if (s.last_done > win.end)
    window_s = std::chrono::duration<double>(s.last_done - win.measure).count();
  double rate = static_cast<double>(s.accepted) / window_s;
  // Open loop: what the schedule asked for; fewer completed means the server fell behind so far
  // that the generator gave up (it stops sending kDrainTimeout after the window).
  auto due_in_window = static_cast<uint64_t>(std::llround(o.rate * o.duration_s));
  uint64_t all_requests = s.completed + s.warmup_requests + s.transport_errors;
  double cpu_us_per_request =
      all_requests > 0 ? cpu * 1e6 / static_cast<double>(all_requests) : 0.0;

  json::object out;
  {
    json::object errors;
    for (auto [k, v] : s.by_status) errors[std::to_string(k)] = v;
    out = {{"mode", o.mode},
           {"connections", o.connections},
           {"threads", o.threads},
           {"duration_s", o.duration_s},
           {"warmup_s", o.warmup_s},
           {"customers", o.customers},
           {"completed", s.completed},
           {"accepted", s.accepted},
           {"duplicate", s.duplicate},
           {"non_200", errors},
           {"transport_errors", s.transport_errors},
           {"accepted_per_s", rate},
           {"latency", LatencyJson(s.latency)},
           {"loadgen_cpu_cores", wall > 0 ? cpu / wall : 0.0},
           {"load_average_before", load_before},
           {"load_average_after", load_after}};
    if (o.mode != "closed") {
      out["target_rate"] = o.rate;
      out["due_in_window"] = due_in_window;
      out["service_time"] = LatencyJson(s.service);
      out["late_sends"] = s.late_sends;
    }
    if (echo) {
      out["echo"] = LatencyJson(s.echo);
      out["echo_sent"] = sent_probes;
      out["echo_received"] = book.echoes;
      out["echo_missing"] = sent_probes - std::min(sent_probes, book.echoes);
      out["echo_repeats"] = book.repeats;
      out["webhook_unexpected"] = book.unexpected;
    }
  }
  if (!o.json_file.empty()) {
    std::ofstream f(o.json_file, std::ios::app);
    f << json::serialize(out) << "\n";
  }
  if (o.json) {
    fmt::print("{}\n", json::serialize(out));
  } else {
    fmt::print(
        "mode {}: {} connection(s), {} thread(s), {:.1f} s measured after {:.1f} s warm-up\n",
        o.mode, o.connections, o.threads, o.duration_s, o.warmup_s);
    if (o.mode != "closed")
      fmt::print("  target rate      {:.0f} msgs/s: {} due in the measured window\n", o.rate,
                 due_in_window);
    fmt::print("  completed        {} ({} accepted, {} duplicate)\n", s.completed, s.accepted,
               s.duplicate);
    std::string errors;
    for (auto [k, v] : s.by_status) errors += fmt::format(" {}x{}", v, k);
    fmt::print("  non-200          {}\n", errors.empty() ? " none" : errors);
    fmt::print("  transport errors {}\n", s.transport_errors);
    fmt::print("  accepted         {:.0f} msgs/s (over {:.1f} s)\n", rate, window_s);
    fmt::print("  latency          {}\n", LatencyLine(s.latency));
    if (o.mode != "closed") {
      fmt::print("  service time     {}\n", LatencyLine(s.service));
      fmt::print("  late sends       {} (> 1 ms behind schedule)\n", s.late_sends);
    }
    if (echo) {
      fmt::print("  echo at webhook  {}\n", LatencyLine(s.echo));
      fmt::print("  echoes           {} of {} sent, {} repeated, {} unexpected webhook calls\n",
                 book.echoes, sent_probes, book.repeats, book.unexpected);
    }
    fmt::print("  loadgen CPU      {:.2f} cores, {:.1f} us per request\n",
               wall > 0 ? cpu / wall : 0.0, cpu_us_per_request);
    fmt::print("  load average     before {}, after {}\n", load_before, load_after);
  }
  bool failed = s.transport_errors > 0 || !s.by_status.empty() ||
                (echo && book.echoes < sent_probes) || s.completed == 0;
  return failed ? 3 : 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) {
  parley::bench::Options o;
  CLI::App app{"Parley load generator for POST /messages (loopback only)"};
  app.add_option("--mode", o.mode, "closed | open | echo")
      ->check(CLI::IsMember({"closed", "open", "echo"}));
  app.add_option("--host", o.host, "server address (loopback)");
  app.add_option("--port", o.port, "server port")->required();
  app.add_option("--connection-id", o.connection_id, "connection id (closed/open)");
  app.add_option("--secret", o.secret, "the connection's JWT secret (closed/open)");
  app.add_option("--admin-token", o.admin_token,
                 "admin token: creates a connection (bot echo in echo mode, else none)");
  app.add_option("--connections", o.connections, "keep-alive connections")
      ->check(CLI::Range(1, 1024));
  app.add_option("--threads", o.threads, "generator threads (echo: always 1)")
      ->check(CLI::Range(1, 16));
  app.add_option("--duration", o.duration_s, "measured seconds")->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", o.warmup_s, "seconds before measuring")->check(CLI::Range(0.0, 60.0));
  app.add_option("--rate", o.rate, "open/echo: requests per second")
      ->check(CLI::Range(1.0, 1'000'000.0));
  app.add_option("--customers", o.customers, "distinct customers")
      ->check(CLI::Range(1, 10'000'000));
  app.add_flag("--new-customers", o.new_customers,
               "closed/open: every request from a new customer (a new conversation each)");
  app.add_flag("--json", o.json, "print one JSON object instead of the summary");
  app.add_option("--json-file", o.json_file, "also append the JSON object to this file");
  CLI11_PARSE(app, argc, argv);
  if (o.mode == "echo" && o.admin_token.empty()) {
    fmt::print(stderr, "loadgen: echo mode needs --admin-token to create its connection\n");
    return 2;
  }
  if (o.mode == "echo" && o.rate * (o.duration_s + o.warmup_s) > 10'000'000) {
    fmt::print(stderr, "loadgen: echo mode keeps one slot per probe; lower --rate or --duration\n");
    return 2;
  }
  try {
    return parley::bench::Run(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "loadgen: {}\n", e.what());
    return 1;
  }
}

// What one webhook delivery costs the sender: Parley's WebhookClient POSTing a wait_time-sized
// body to a receiver (build/floor_server, which only answers) over keep-alive loopback
// connections, from --concurrency coroutines on one strand of one I/O thread, as the dispatcher
// sends (serve runs the dispatcher and the client on the first I/O thread's io_context).
// Prints the posts a second and this process's CPU a post (user and system). Next to the load
// generator's own CPU a request (bench/run prints it), the gap is what the client adds to the
// kernel's share. A benchmark tool, not part of the service.
//
// Usage: webhook_cost --url http://127.0.0.1:PORT/ [--concurrency 32] [--max-connections 16]
//                     [--seconds 3] [--warmup 1]

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "delivery/webhook_client.hpp"

namespace {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;
  int concurrency = 32;
  int max_connections = 16;
  double seconds = 3;
  double warmup = 1;
};

struct Counters {
  std::atomic<uint64_t> posts{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<bool> stop{false};
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

double SystemSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_stime.tv_sec) + u.ru_stime.tv_usec / 1e6;
}

// A wait_time as Parley sends it, with the headers the dispatcher adds.
parley::delivery::HttpRequest Request(const std::string& url, int n) {
  parley::delivery::HttpRequest req;
  req.url = url;
  req.timeout = std::chrono::milliseconds(10000);
  req.body = R"({"type":"wait_time","event_id":"0190f5c2-7d1e-7c3a-9b1f-)" + std::to_string(n) +
             R"(","customer_id":"cust-)" + std::to_string(n) +
             R"(","seq":1,"from":"system","waitTime":42,"queue_position":7})";
  req.headers = {{"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
                 {"connection_id", "0190f5c2-7d1e-7c3a-9b1f-connection"},
                 {"Content-Type", "application/json"}};
  return req;
}

asio::awaitable<void> Sender(parley::delivery::WebhookClient& client, const std::string& url,
                             int id, Counters& c) {
  int n = id;
  while (!c.stop.load(std::memory_order_relaxed)) {
    auto res = co_await client.Post(Request(url, n));
    n += 1000;
    if (c.stop.load(std::memory_order_relaxed)) break;  // the client closed under it
    if (!res || res->status != 200) {
      c.failures.fetch_add(1, std::memory_order_relaxed);
      if (!res) std::fprintf(stderr, "webhook_cost: %s\n", res.error().message.c_str());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
      co_await t.async_wait(asio::use_awaitable);
      continue;
    }
    c.posts.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"What one webhook delivery costs Parley's client (loopback only)"};
  app.add_option("--url", o.url, "the receiver, e.g. http://127.0.0.1:PORT/")->required();
  app.add_option("--concurrency", o.concurrency, "posts in flight")->check(CLI::Range(1, 1024));
  app.add_option("--max-connections", o.max_connections,
                 "the pool's connections to the receiver (serve's default: 16)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--seconds", o.seconds, "measured seconds")->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", o.warmup, "seconds before measuring")->check(CLI::Range(0.0, 60.0));
  CLI11_PARSE(app, argc, argv);

  asio::io_context io(1);
  parley::delivery::WebhookClientOptions options;
  options.allow_insecure = true;  // a loopback receiver
  options.max_connections_per_host = static_cast<size_t>(o.max_connections);
  parley::delivery::WebhookClient client(io.get_executor(), options);
  Counters c;
  // As the dispatcher: every sender on one strand.
  auto strand = asio::make_strand(asio::any_io_executor(io.get_executor()));
  for (int i = 0; i < o.concurrency; ++i)
    asio::co_spawn(strand, Sender(client, o.url, i, c), asio::detached);
  std::thread thread([&io] { io.run(); });

  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  const uint64_t p0 = c.posts.load();
  const double cpu0 = CpuSeconds();
  const double sys0 = SystemSeconds();
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  const uint64_t p1 = c.posts.load();
  const double cpu1 = CpuSeconds();
  const double sys1 = SystemSeconds();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  c.stop = true;
  client.Close();
  thread.join();

  const double n = static_cast<double>(p1 - p0);
  if (n <= 0) {
    std::fprintf(stderr, "webhook_cost: no post completed (failures: %llu)\n",
                 static_cast<unsigned long long>(c.failures.load()));
    return 1;
  }
  std::printf("  posts            %.0f/s over %.1f s (%llu failed)\n", n / wall, wall,
              static_cast<unsigned long long>(c.failures.load()));
  std::printf("  client CPU       %.1f us a post (user %.1f, system %.1f), %.2f cores\n",
              (cpu1 - cpu0) * 1e6 / n, ((cpu1 - cpu0) - (sys1 - sys0)) * 1e6 / n,
              (sys1 - sys0) * 1e6 / n, (cpu1 - cpu0) / wall);
  return 0;
}

#include "app/serve.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <cctype>
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include "bot/bot_loader.hpp"
#include "bot/dialog_bot.hpp"
#include "cluster/node_bus.hpp"
#include "conversation/conversation_service.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "delivery/action_client.hpp"
#include "delivery/dispatcher.hpp"
#include "delivery/webhook_client.hpp"
#include "http/api.hpp"
#include "http/audit.hpp"
#include "http/auth.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "http/users_api.hpp"
#include "manager/audit_log.hpp"
#include "manager/connection_directory.hpp"
#include "manager/connection_service.hpp"
#include "manager/rate_limiter.hpp"
#include "manager/session_service.hpp"
#include "manager/user_service.hpp"
#include "storage/secret_box.hpp"
#include "storage/secrets.hpp"
#include "storage/store.hpp"

namespace parley::app {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Runs a coroutine on the io_context (already running on other threads) and waits for it.
template <class T>
T RunSync(asio::io_context& io, asio::awaitable<T> task) {
  return asio::co_spawn(io, std::move(task), asio::use_future).get();
}

routing::Settings RoutingSettings(const Config& c) {
  routing::Settings s;
  s.offer_timeout_ms = c.offer_timeout_s * 1000;
  s.agent_offline_after_ms = c.agent_offline_after_s * 1000;
  s.customer_idle_reminder_ms = c.customer_idle_reminder_s * 1000;
  s.customer_idle_end_ms = c.customer_idle_end_s * 1000;
  s.default_handle_s = c.default_handle_s;
  s.wait_time_interval_ms = c.wait_time_interval_s * 1000;
  // A node's streams count while its lease lasts: the delivery lease as the dispatcher uses it.
  s.node_lease_ms = std::max<int64_t>(c.delivery_lease_s * 1000, 2 * c.webhook_timeout_ms + 3000);
  s.texts = c.texts;
  s.away_reasons = c.away_reasons;
  return s;
}

// The queues the loaded bots escalate to, created when missing (display name: the escalation
// item's text), so GET /api/v1/queues shows them before the first customer waits.
asio::awaitable<Result<bool>> EnsureBotQueues(conversation::ConversationService& conversations,
                                              const bot::BotRegistry& bots) {
  std::vector<std::pair<std::string, std::string>> wanted;
  for (const auto& info : bots.List()) {
    auto dialog = std::dynamic_pointer_cast<const bot::DialogBot>(bots.Find(info.name));
    if (!dialog || !dialog->definition().escalation) continue;
    for (const auto& q : dialog->definition().escalation->queues)
      wanted.emplace_back(q.queue, q.text);
  }
  auto& routing = conversations.routing();
  auto step = [&](storage::Tx& tx, int64_t now, routing::Effects&) -> Result<bool> {
    for (const auto& [name, text] : wanted) {
      auto ensured = routing.EnsureQueue(tx, name, text, now);
      if (!ensured) return Fail(ensured.error());
    }
    // No event stream of this node survives its restart (other nodes' streams still count):
    // agents left with none get agent_offline_after_s to come back.
    auto reset = routing.ResetStreams(tx, now);
    if (!reset) return Fail(reset.error());
    return true;
  };
  co_return co_await conversations.Act<bool>(step);
}

// This node's id among several on one database: the configured one, or the host name and a
// random suffix (a restarted node is a new node: its old leases simply expire).
std::string NodeId(const Config& c) {
  if (!c.node_id.empty()) return c.node_id;
  char host[64] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "node");
  std::string h(host);
  if (auto dot = h.find('.'); dot != std::string::npos) h.resize(dot);
  for (char& ch : h)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '-';
  unsigned char r[3];
  randombytes_buf(r, sizeof r);
  return fmt::format("{}-{:02x}{:02x}{:02x}", h, r[0], r[1], r[2]);
}

}  // namespace

int RunServe(Config config) {
  if (auto valid = Validate(config); !valid) {
    spdlog::error("{}", valid.error().message);
    return 1;
  }
  if (sodium_init() < 0) {
    spdlog::error("libsodium failed to initialise");
    return 1;
  }
  // Sealed by default: PARLEY_MASTER_KEY, master_key_file, or the key file beside the SQLite
  // database (created on the first start; storage/secrets.hpp).
  auto resolved =
      storage::ResolveMasterKey(config.database, config.master_key, config.master_key_file);
  if (!resolved) {
    spdlog::error("{}", resolved.error().message);
    return 1;
  }
  std::string master_key = std::move(resolved->raw);
  if (config.admin_token.empty())
    spdlog::warn("no admin token: set PARLEY_ADMIN_TOKEN to use the manager API");
  if (config.allow_insecure_webhooks)
    spdlog::warn("allow_insecure_webhooks is on: http:// and private webhook targets are allowed");

  const std::string node_id = NodeId(config);
  spdlog::info("node id {}", node_id);
  OffsetClock clock;  // offset 0 unless --test-clock lets a test move it
  if (config.test_clock)
    spdlog::warn("test_clock is on: an admin may move this server's clock (tests only)");
  RandomIdGenerator ids;
  auto store = storage::OpenStore(config.database, master_key);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  (*store)->SetNodeId(node_id);  // a shared store announces agents' events with it

  bot::BotRegistry bots;
  bots.Put({"echo", "Echo", "built-in", clock.NowMs()}, std::make_shared<bot::EchoBot>());
  if (!config.bots_dir.empty()) {
    auto loaded = bot::LoadBotsDir(config.bots_dir, bots, clock, config.allow_insecure_webhooks);
    if (!loaded) {
      spdlog::error("{}", loaded.error().message);
      return 1;
    }
    spdlog::info("loaded {} bot(s) from {}", *loaded, config.bots_dir);
  }

  // One io_context per I/O thread: a client connection lives on one of them, so its work
  // never crosses threads or contends for a shared scheduler. The first also runs the shared
  // parts (acceptor, dispatcher, webhook client, startup loads).
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<asio::any_io_executor> session_executors;
  for (int64_t i = 0; i < config.io_threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    guards.push_back(asio::make_work_guard(*contexts.back()));
    session_executors.push_back(contexts.back()->get_executor());
  }
  asio::io_context& io = *contexts.front();
  std::vector<std::thread> threads;
  for (int64_t i = 0; i < config.io_threads; ++i) {
    threads.emplace_back([context = contexts[static_cast<size_t>(i)].get(), i] {
      // Named so per-thread CPU (top -H, /proc/PID/task, perf) tells the layers apart.
      pthread_setname_np(pthread_self(), fmt::format("parley-io-{}", i).c_str());
      context->run();
    });
  }
  auto join = [&] {
    guards.clear();
    for (auto& context : contexts) context->stop();
    for (auto& t : threads) t.join();
  };

  auto host_port = SplitHostPort(config.listen);
  std::string public_url = config.public_url;

  delivery::WebhookClientOptions client_options;
  client_options.allow_insecure = config.allow_insecure_webhooks;
  client_options.ca_file = config.webhook_ca_file;
  delivery::WebhookClient client(io.get_executor(), client_options);
  if (auto ready = client.Ready(); !ready) {
    spdlog::error("{}", ready.error().message);
    join();
    return 1;
  }
  manager::ConnectionDirectory directory;
  delivery::DispatcherOptions dispatcher_options;
  dispatcher_options.retry.initial_ms = config.retry_initial_ms;
  dispatcher_options.retry.max_ms = config.retry_max_ms;
  dispatcher_options.retry.give_up_after_ms = config.retry_for_seconds * 1000;
  dispatcher_options.timeout = std::chrono::milliseconds(config.webhook_timeout_ms);
  dispatcher_options.max_backlog = static_cast<size_t>(config.max_backlog);
  dispatcher_options.node_id = node_id;
  dispatcher_options.lease = std::chrono::milliseconds(config.delivery_lease_s * 1000);
  delivery::Dispatcher dispatcher(io.get_executor(), **store, directory, client, clock,
                                  dispatcher_options);
  delivery::HttpActionRunner actions(client);
  routing::EventHub hub;
  conversation::ConversationService conversations(**store, bots, clock, ids, dispatcher, actions,
                                                  RoutingSettings(config), &hub);
  dispatcher.SetObserver(&conversations);

  http::ServerOptions server_options;
  server_options.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  // Bodies up to twice the limit are read and answered 413 cleanly (larger ones: 413, then the
  // connection closes), and never less than the default 1 MiB.
  server_options.max_drained_body_bytes =
      std::max(server_options.max_drained_body_bytes, 2 * server_options.max_body_bytes);
  server_options.header_timeout = std::chrono::milliseconds(config.header_timeout_ms);
  server_options.body_timeout = std::chrono::milliseconds(config.body_timeout_ms);
  server_options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  server_options.max_connections = static_cast<size_t>(config.max_connections);
  server_options.trusted_proxies = http::ParseCidrList(config.trusted_proxies).value();
  http::Router router;
  http::Server server(io, router, server_options);
  server.ServeOn(session_executors);
  auto bound = server.Listen(host_port->first, host_port->second);
  if (!bound) {
    spdlog::error("{}", bound.error().message);
    join();
    return 1;
  }
  std::string address = bound->address().is_v6()
                            ? fmt::format("[{}]:{}", bound->address().to_string(), bound->port())
                            : fmt::format("{}:{}", bound->address().to_string(), bound->port());
  if (public_url.empty()) public_url = "http://" + address;
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();

  manager::ConnectionOptions connection_options{public_url, config.allow_insecure_webhooks,
                                                config.secret_grace_seconds};
  manager::ConnectionService connections(**store, directory, bots, clock, ids, connection_options);
  if ((*store)->Shared()) connections.SetNodeId(node_id);

  asio::thread_pool blocking(1);
  http::ApiMetrics metrics;
  metrics.started_at_ms = clock.NowMs();
  metrics.session_idle_ms = config.session_idle_s * 1000;
  double rate = static_cast<double>(config.rate_limit_per_second);
  manager::RateLimiter rate_limiter(
      rate, config.rate_limit_burst > 0 ? static_cast<double>(config.rate_limit_burst) : 2 * rate);
  // Several nodes on one database: what the others announce is applied here (the bus runs
  // nothing on a SQLite store).
  cluster::BusHandlers bus_handlers;
  bus_handlers.reload_connection = [&connections, &io](const std::string& id) {
    asio::co_spawn(
        io,
        [&connections, id]() -> asio::awaitable<void> {
          auto r = co_await connections.ReloadOne(id);
          if (!r) spdlog::warn("connection {} changed on another node: {}", id, r.error().message);
        },
        asio::detached);
  };
  bus_handlers.reload_all_connections = [&connections, &io] {
    asio::co_spawn(
        io,
        [&connections]() -> asio::awaitable<void> {
          auto r = co_await connections.LoadDirectory();
          if (!r) spdlog::warn("reading the connections again: {}", r.error().message);
        },
        asio::detached);
  };
  bus_handlers.user_sessions_ended = [&hub](const std::string& username) {
    hub.Disconnect(username);
  };
  asio::thread_pool blocking_reloads(1);  // bots reloaded for other nodes, off the I/O threads
  if (!config.bots_dir.empty()) {
    bus_handlers.reload_bot = [&](const std::string& name) {
      asio::post(blocking_reloads, [&, name] {
        auto r = bot::ReloadBot(config.bots_dir, name, bots, clock, config.allow_insecure_webhooks);
        if (!r)
          spdlog::error("bot '{}' reloaded on another node, not here: {}", name, r.error().message);
        else
          spdlog::info("bot '{}' reloaded (announced by another node)", name);
      });
    };
  }
  cluster::NodeBus bus(**store, hub, io.get_executor(), node_id, bus_handlers);
  std::function<Result<bot::BotInfo>(const std::string&)> reload;
  if (!config.bots_dir.empty())
    reload = [&](const std::string& name) {
      auto r = bot::ReloadBot(config.bots_dir, name, bots, clock, config.allow_insecure_webhooks);
      if (r) bus.Announce("bot", name);
      return r;
    };
  manager::PasswordHasher hasher(blocking.get_executor());
  manager::UserService users(**store, hasher, clock);
  manager::SessionService sessions(**store, hasher, clock, {config.session_idle_s * 1000});
  // The scheme as parsed, in any case: `HTTPS://...` is https too (it once gave no Secure).
  bool https = http::IsHttpsUrl(public_url);
  http::Authenticator authenticator(sessions, config.admin_token, https);
  // A disabled or deleted user's live streams close with their sessions.
  users.SetOnSessionsEnded([&hub, &bus](const std::string& username) {
    hub.Disconnect(username);
    bus.Announce("user", username);  // and on the other nodes
  });
  // Deleting a user and putting their chats back in their queues is one transaction.
  users.SetRemover(
      [&conversations](std::string username,
                       manager::UserService::DeleteStep del) -> asio::awaitable<Result<bool>> {
        auto& routing = conversations.routing();
        auto step = [&routing, &username, &del](storage::Tx& tx, int64_t now,
                                                routing::Effects& fx) -> Result<bool> {
          auto deleted = del(tx);
          if (!deleted) return deleted;
          auto removed = routing.UserRemoved(tx, username, now, fx);
          if (!removed) return Fail(removed.error());
          return true;
        };
        co_return co_await conversations.Act<bool>(step);
      });
  http::ApiDeps deps{**store,       directory,
                     connections,   conversations,
                     dispatcher,    bots,
                     clock,         [&server] { return server.ShuttingDown(); },
                     reload,        blocking.get_executor(),
                     metrics,       rate_limiter,
                     authenticator, hub};
  manager::AuditLog audit(**store, clock);
  deps.audit = &audit;  // before the routes: Admin() takes it when a route is added
  if (config.test_clock) deps.test_clock = &clock;
  if ((*store)->Shared()) deps.bus = &bus;
  http::AddApiRoutes(router, deps);
  http::UsersApiDeps users_deps{users, sessions, authenticator, https, &audit, &metrics};
  http::AddUserRoutes(router, users_deps);
  http::AddAuditRoutes(router, authenticator, audit);
  http::StaticMount pages;  // web/, compiled in; web/chat is `client webchat`'s own page
  pages.exclude = {"chat/"};
  http::AddStaticRoutes(router, http::EmbeddedWebFiles(), pages);
  http::AddRedirect(router, "/", "/manager/");

  // Before the first request is served: the connection directory and the pending outbox.
  // Requests that arrive meanwhile wait in the accept queue (routes run on the io threads,
  // which are busy here only with these loads).
  auto loaded = RunSync(io, connections.LoadDirectory());
  if (!loaded) {
    spdlog::error("loading connections failed: {}", loaded.error().message);
    server.Shutdown();
    join();
    return 1;
  }
  if (bus.Start()) spdlog::info("node {}: listening to the other nodes on this database", node_id);
  auto pending = RunSync(io, dispatcher.LoadPending());
  if (!pending) {
    spdlog::error("loading pending deliveries failed: {}", pending.error().message);
    server.Shutdown();
    join();
    return 1;
  }
  spdlog::info("{} connection(s), {} pending deliveries; public URL {}", *loaded, *pending,
               public_url);
  if (auto queues = RunSync(io, EnsureBotQueues(conversations, bots)); !queues) {
    spdlog::error("preparing the queues failed: {}", queues.error().message);
    server.Shutdown();
    join();
    return 1;
  }

  // The routing timers (offers ringing out, agents going offline, idle customers, wait-time
  // updates) are due times in the store; this looks at them every second. One sweep job does
  // a bounded slice (Routing::kSweepBatch a part); while more is due the next slice follows at
  // once, each its own job in the store's background lane, so requests run ahead of them.
  asio::steady_timer sweep_timer(io);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto& routing = conversations.routing();
        auto step = [&routing](storage::Tx& tx, int64_t now, routing::Effects& fx) {
          return routing.Sweep(tx, now, fx);
        };
        // At most this many slices a second (64 wait-time looks each: 12,800 looks a second,
        // more than 100,000 waiting customers need at the shortest interval); the rest waits for
        // the next tick.
        constexpr int kMaxSlices = 200;
        while (!server.ShuttingDown()) {
          sweep_timer.expires_after(1s);
          boost::system::error_code ec;
          co_await sweep_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec || server.ShuttingDown()) break;
          for (int slice = 0; slice < kMaxSlices && !server.ShuttingDown(); ++slice) {
            auto more = co_await conversations.ActInBackground<bool>(step);
            if (!more) spdlog::warn("routing timers: {}", more.error().message);
            if (!more || !*more) break;
          }
        }
      },
      asio::detached);

  std::promise<void> stopped;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    server.Shutdown();
    sweep_timer.cancel();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          // Let in-flight requests finish (each is bounded by its own deadlines).
          asio::steady_timer timer(io);
          auto deadline = std::chrono::steady_clock::now() + 8s;
          while (server.OpenConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
            timer.expires_after(20ms);
            co_await timer.async_wait(asio::use_awaitable);
          }
          // Other nodes take this node's conversations at once (no lease left to expire).
          co_await dispatcher.StopAndRelease();
          stopped.set_value();
        },
        asio::detached);
  });
  asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (!config.bots_dir.empty()) {
        asio::post(blocking, [&] {
          // Good files replace their bots; a bad file is reported and its old version stays;
          // a deleted file's bot is unloaded and its conversations go to a person.
          auto r = bot::ReloadBotsDir(config.bots_dir, bots, clock, config.allow_insecure_webhooks);
          if (!r) {
            spdlog::error("reloading bots: {}", r.error().message);
            return;
          }
          if (r->refused) spdlog::error("reloading bots: {}", r->refused->message);
          for (const auto& name : r->unloaded)
            spdlog::warn(
                "bot '{}' unloaded: its file is gone from {}; its conversations go to a "
                "person at their next message",
                name, config.bots_dir);
          spdlog::info("reloaded {} bot(s) from {}", r->loaded, config.bots_dir);
        });
      }
      wait_hup();
    });
  };
  wait_hup();

  std::printf("listening on http://%s\n", address.c_str());
  std::fflush(stdout);

  stopped.get_future().wait();
  signals.cancel();
  hup.cancel();
  client.Close();
  bus.Stop();
  blocking_reloads.join();
  (*store)->Close();  // runs what is queued and commits
  blocking.join();
  join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace parley::app

// A node's ear for the other nodes (Store::Listen): LISTEN on a connection of its own (never
// one of the pool's, so a busy pool cannot deafen it), waiting on the socket with a timeout,
// reconnecting once a second while the server is away. After each (re)connection the handler
// is called once with an empty channel: what was announced in between is lost, so the owner
// catches up from the store.
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "storage/postgres/pg_store.hpp"

namespace parley::storage::postgres {
namespace {

class PgListener final : public Store::Listener {
 public:
  PgListener(std::string conninfo, std::vector<std::string> channels, Store::Notice on_notice)
      : conninfo_(std::move(conninfo)),
        channels_(std::move(channels)),
        on_notice_(std::move(on_notice)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~PgListener() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool Connected() const override { return connected_.load(); }

 private:
  PGconn* Connect() {
    PGconn* c = PQconnectdb(conninfo_.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      spdlog::warn("listener: cannot reach PostgreSQL: {}", PQerrorMessage(c));
      PQfinish(c);
      return nullptr;
    }
    for (const auto& ch : channels_) {
      char* quoted = PQescapeIdentifier(c, ch.c_str(), ch.size());
      std::string sql = std::string("LISTEN ") + (quoted ? quoted : "");
      PQfreemem(quoted);
      PGresult* r = PQexec(c, sql.c_str());
      bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (!ok) {
        spdlog::warn("listener: LISTEN {} failed: {}", ch, PQerrorMessage(c));
        PQfinish(c);
        return nullptr;
      }
    }
    return c;
  }

  void Run() {
    pthread_setname_np(pthread_self(), "parley-listen");
    PGconn* c = nullptr;
    auto last_try = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    while (!stop_) {
      if (!c) {
        if (std::chrono::steady_clock::now() - last_try < std::chrono::seconds(1)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        last_try = std::chrono::steady_clock::now();
        c = Connect();
        if (!c) continue;
        if (!connected_.exchange(true)) spdlog::info("listener: hearing the other nodes");
        on_notice_("", "");  // catch up on whatever was announced while not listening
      }
      pollfd p{PQsocket(c), POLLIN, 0};
      int ready = ::poll(&p, 1, 200);  // wakes often enough to see stop_
      if (ready < 0) continue;
      if (ready > 0 && !PQconsumeInput(c)) {
        spdlog::warn("listener: lost PostgreSQL ({}); reconnecting", PQerrorMessage(c));
        PQfinish(c);
        c = nullptr;
        connected_ = false;
        continue;
      }
      while (PGnotify* n = PQnotifies(c)) {
        std::string channel = n->relname ? n->relname : "";
        std::string payload = n->extra ? n->extra : "";
        PQfreemem(n);
        try {
          on_notice_(channel, payload);
        } catch (const std::exception& e) {
          spdlog::error("listener: handling a notice failed: {}", e.what());
        }
      }
      if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = nullptr;
        connected_ = false;
      }
    }
    if (c) PQfinish(c);
  }

  std::string conninfo_;
  std::vector<std::string> channels_;
  Store::Notice on_notice_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Store::Listener> PgStore::Listen(std::vector<std::string> channels,
                                                 Notice on_notice) {
  return std::make_unique<PgListener>(pool_.conninfo(), std::move(channels), std::move(on_notice));
}

}  // namespace parley::storage::postgres

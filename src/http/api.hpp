#pragma once
// The REST surface of DESIGN.md: POST /messages, the Digital Messaging Manager, deliveries,
// conversations, bots and operations. Handlers are thin: decode, call a domain service,
// encode. Nothing here knows Beast.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "bot/bot.hpp"
#include "conversation/conversation_service.hpp"
#include "core/clock.hpp"
#include "core/histogram.hpp"
#include "core/wait_histogram.hpp"
#include "delivery/dispatcher.hpp"
#include "http/auth.hpp"
#include "http/router.hpp"
#include "manager/audit_log.hpp"
#include "manager/connection_directory.hpp"
#include "manager/connection_service.hpp"
#include "manager/rate_limiter.hpp"
#include "routing/events.hpp"
#include "storage/store.hpp"

namespace parley::cluster {
class NodeBus;
}

namespace parley::http {

struct ApiMetrics {
  std::atomic<uint64_t> inbound_accepted{0};
  std::atomic<uint64_t> inbound_duplicate{0};
  std::atomic<uint64_t> inbound_refused{0};
  std::atomic<uint64_t> inbound_rate_limited{0};
  std::atomic<uint64_t> admin_requests{0};
  // Sign-ins refused: wrong credentials, and refused by the throttle (users_api.cpp).
  std::atomic<uint64_t> sign_in_invalid{0};
  std::atomic<uint64_t> sign_in_throttled{0};
  // From an offer to its accept, for offers accepted through the API (conversations_api.cpp).
  WaitHistogram accept_latency;
  // An accept's answer: from its request read to its answer ready (its session, its routing
  // step and the group commit that carries it), accepts answered 200 (conversations_api.cpp).
  Histogram accept_answer;
  int64_t started_at_ms = 0;    // when the process started (parley_process_start_time_seconds)
  int64_t session_idle_ms = 0;  // a session unused this long is over (parley_sessions)
};

struct ApiDeps {
  storage::Store& store;
  manager::ConnectionDirectory& directory;
  manager::ConnectionService& connections;
  conversation::ConversationService& conversations;
  delivery::Dispatcher& dispatcher;
  bot::BotRegistry& bots;
  const Clock& clock;
  std::function<bool()> shutting_down;
  // Reloads one bot from its file (runs off the I/O threads); empty when there is no bots dir.
  std::function<Result<bot::BotInfo>(const std::string& name)> reload_bot;
  boost::asio::any_io_executor blocking;  // where slow admin work runs
  ApiMetrics& metrics;
  manager::RateLimiter& rate_limiter;
  Authenticator& auth;
  routing::EventHub& hub;
  manager::AuditLog* audit = nullptr;  // admins' changes are recorded here (http/audit.hpp)
  // Set only with `serve --test-clock`: PUT /api/v1/test/clock moves it (reports_api.cpp).
  OffsetClock* test_clock = nullptr;
  // Several nodes on one database: what this node heard from the others (/metrics).
  const cluster::NodeBus* bus = nullptr;
};

// Adds every route. `deps` must outlive the router.
void AddApiRoutes(Router& router, ApiDeps& deps);

}  // namespace parley::http

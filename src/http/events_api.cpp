// GET /api/v1/events: a user's live events over a WebSocket. A client that reconnects with
// ?after=N first gets every kept event after N (or {"type":"reset"} when N is too old), then
// the live ones; each event exactly once, in seq order.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <functional>
#include <mutex>

#include "http/api_routes.hpp"
#include "http/websocket.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;
using storage::AgentEventRecord;
using storage::Tx;

namespace {

constexpr size_t kMaxReplay = 10'000;    // more missed than this: reset
constexpr size_t kMaxBuffered = 10'000;  // live events held while the replay is read
// A replay queues at most this many bytes at once, well under the socket's bound of unsent bytes
// (1 MiB, past which the socket drops its queue): a longer replay stops there and the stream is
// closed (1013) after what was queued, so the client gets a page and reconnects with ?after=N
// for the next one, instead of being cut off at the first frame every time.
constexpr size_t kMaxReplayBytes = 512 * 1024;

// One open stream: live events are held back while the replay is read, then sent in order.
class EventStream {
 public:
  EventStream(std::shared_ptr<WebSocket> ws, std::string username)
      : ws_(std::move(ws)), username_(std::move(username)) {}

  const std::string& username() const { return username_; }
  WebSocket& socket() { return *ws_; }

  // From the hub (the store's writer thread, or the node bus for events written on another
  // node). False drops the subscription.
  bool OnLive(const AgentEventRecord& e) {
    std::lock_guard lock(mu_);
    if (!ws_->IsOpen()) return false;
    if (!replaying_ && e.seq > last_sent_ + 1 && refill_) {
      // A gap: the events between were written on another node and have not reached this one
      // yet. They are in the store (a user's seqs commit in order): read them, holding this
      // one and what follows back meanwhile, so the stream never skips or reorders a seq.
      replaying_ = true;
      asio::post(ws_executor_, [refill = refill_, from = last_sent_] { refill(from); });
    }
    if (replaying_) {
      if (held_.size() >= kMaxBuffered) {
        ws_->Close(1013, "slow consumer");
        return false;
      }
      held_.push_back(e);
      return true;
    }
    return SendLocked(e);
  }

  // How a gap is filled (set once before the stream goes live).
  void SetRefill(asio::any_io_executor ex, std::function<void(int64_t after)> refill) {
    std::lock_guard lock(mu_);
    ws_executor_ = std::move(ex);
    refill_ = std::move(refill);
  }

  // The replay is read: sends it, then what was held back, then goes live.
  void Replayed(const std::vector<AgentEventRecord>& missed, std::optional<int64_t> reset_to) {
    std::lock_guard lock(mu_);
    if (reset_to) {
      last_sent_ = *reset_to;
      ws_->Send(json::serialize(json::object{{"type", "reset"}, {"after", *reset_to}}));
    }
    size_t bytes = 0;
    auto page = [&](const std::vector<AgentEventRecord>& events) {
      for (const auto& e : events) {
        if (e.seq <= last_sent_) continue;
        if (bytes > 0 && bytes + e.body_json.size() > kMaxReplayBytes) {
          ws_->Close(1013, "replay continues: reconnect with after");
          return false;
        }
        bytes += e.body_json.size();
        if (!SendLocked(e)) return false;
      }
      return true;
    };
    if (!page(missed) || !page(held_)) return;
    held_.clear();
    replaying_ = false;
  }

  void StartFrom(int64_t after) {
    std::lock_guard lock(mu_);
    last_sent_ = after;
  }

 private:
  bool SendLocked(const AgentEventRecord& e) {
    if (e.seq <= last_sent_) return true;  // a repeat: the replay and the live feed overlap
    last_sent_ = e.seq;
    return ws_->Send(e.body_json);
  }

  std::mutex mu_;
  std::shared_ptr<WebSocket> ws_;
  std::string username_;
  bool replaying_ = true;
  int64_t last_sent_ = 0;
  std::vector<AgentEventRecord> held_;
  asio::any_io_executor ws_executor_;
  std::function<void(int64_t after)> refill_;
};

struct Missed {
  std::vector<AgentEventRecord> events;
  std::optional<int64_t> reset_to;
};

asio::awaitable<void> Open(ApiDeps& deps, std::shared_ptr<EventStream> stream,
                           std::optional<int64_t> after) {
  auto& routing = deps.conversations.routing();
  const std::string& user = stream->username();
  // Without ?after, everything from the moment the stream opened: including what opening it
  // causes (its own agent.status, offers that now reach the agent).
  auto last_step = [&user](Tx& tx, int64_t) { return tx.LastAgentEventSeq(user); };
  auto last = co_await deps.conversations.Look<int64_t>(last_step);
  if (!last) {
    stream->socket().Close(1011, "store unavailable");
    co_return;
  }
  int64_t from = after.value_or(*last);
  stream->StartFrom(from);
  auto opened_step = [&](Tx& tx, int64_t now, routing::Effects& fx) -> Result<bool> {
    auto opened = routing.StreamOpened(tx, user, now, fx);
    if (!opened) return Fail(opened.error());
    return true;
  };
  auto opened = co_await deps.conversations.Act<bool>(opened_step);
  if (!opened)
    spdlog::warn("event stream of {}: presence not recorded: {}", user, opened.error().message);
  auto missed_step = [&user, from](Tx& tx, int64_t) -> Result<Missed> {
    Missed m;
    auto first = tx.FirstAgentEventSeq(user);
    if (!first) return Fail(first.error());
    auto newest = tx.LastAgentEventSeq(user);
    if (!newest) return Fail(newest.error());
    if (from > *newest || (*first > 0 && from < *first - 1) ||
        static_cast<size_t>(*newest - from) > kMaxReplay) {
      m.reset_to = *newest;
      return m;
    }
    auto events = tx.AgentEventsAfter(user, from, kMaxReplay);
    if (!events) return Fail(events.error());
    m.events = std::move(*events);
    return m;
  };
  auto missed = co_await deps.conversations.Look<Missed>(missed_step);
  if (!missed) {
    stream->socket().Close(1011, "store unavailable");
    co_return;
  }
  stream->Replayed(missed->events, missed->reset_to);
}

// Fills a gap in a live stream from the store (EventStream::OnLive).
asio::awaitable<void> Refill(ApiDeps& deps, std::shared_ptr<EventStream> stream, int64_t from) {
  std::string user = stream->username();
  auto step = [user, from](Tx& tx, int64_t) { return tx.AgentEventsAfter(user, from, kMaxReplay); };
  auto missed = co_await deps.conversations.Look<std::vector<AgentEventRecord>>(step);
  if (!missed) {
    stream->socket().Close(1013, "store unavailable: reconnect with after");
    co_return;
  }
  stream->Replayed(*missed, std::nullopt);
}

asio::awaitable<void> Closed(ApiDeps& deps, std::string user) {
  auto& routing = deps.conversations.routing();
  auto step = [&](Tx& tx, int64_t now, routing::Effects&) -> Result<bool> {
    auto closed = routing.StreamClosed(tx, user, now);
    if (!closed) return Fail(closed.error());
    return true;
  };
  auto r = co_await deps.conversations.Act<bool>(step);
  if (!r) spdlog::warn("event stream of {}: close not recorded: {}", user, r.error().message);
}

// A stream belongs to its session: it closes (1008) when the session idles out. Sign-out
// closes it through SessionWatchers; disable, delete and a new password through the hub. The
// timer sleeps until the session's expiry, then reads the session again: a REST request in the
// meantime moved the expiry on.
asio::awaitable<void> WatchExpiry(manager::SessionService& sessions, const Clock& clock,
                                  std::shared_ptr<asio::steady_timer> timer,
                                  std::shared_ptr<WebSocket> ws, std::string token) {
  while (ws->IsOpen()) {
    auto at = co_await sessions.ExpiresAt(token);
    if (!at) {
      if (at.error().errc == Errc::kUnauthenticated) {
        ws->Close(1008, "session ended");
        co_return;
      }
      at = clock.NowMs() + 1000;  // the store is busy: look again shortly
    }
    timer->expires_after(std::chrono::milliseconds(std::max<int64_t>(1, *at - clock.NowMs())));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // cancelled: the stream closed
  }
}

// A browser's stream comes with the session cookie; the page must be our own.
bool SameOrigin(const Request& req) {
  auto origin = req.Header("origin");
  auto host = req.Header("host");
  if (!origin || !host) return false;
  return *origin == "http://" + std::string(*host) || *origin == "https://" + std::string(*host);
}

}  // namespace

void AddEventRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  router.AddWebSocket("/api/v1/events", [d](Request& req) -> asio::awaitable<Upgrade> {
    Upgrade up;
    auto identity = co_await d->auth.Identify(req, /*csrf_exempt=*/true);
    if (!identity) {
      up.refuse = ErrorResponse(identity.error());
      co_return up;
    }
    const Caller* caller = &identity->caller;
    if (caller->username.empty()) {
      up.refuse = ErrorResponse(Errc::kPermissionDenied, "forbidden",
                                "The admin token has no event stream; sign in as a user.");
      co_return up;
    }
    if (caller->by_cookie && !SameOrigin(req)) {
      up.refuse = ErrorResponse(Errc::kPermissionDenied, "origin_refused",
                                "The event stream opens only from Parley's own pages.");
      co_return up;
    }
    std::optional<int64_t> after;
    if (auto a = req.Query("after")) {
      int64_t n = -1;
      auto [end, ec] = std::from_chars(a->data(), a->data() + a->size(), n);
      if (ec != std::errc() || end != a->data() + a->size() || n < 0) {
        up.refuse = ErrorResponse(Errc::kInvalidArgument, "invalid_after",
                                  "after must be the seq of the last event received (0 or more).");
        co_return up;
      }
      after = n;
    }
    auto ex = co_await asio::this_coro::executor;
    std::string username = caller->username;
    std::string token = identity->token;
    up.start = [d, ex, username, after, token](std::shared_ptr<WebSocket> ws) {
      auto stream = std::make_shared<EventStream>(ws, username);
      std::weak_ptr<EventStream> weak = stream;
      stream->SetRefill(ex, [d, ex, weak](int64_t from) {
        if (auto s = weak.lock()) asio::co_spawn(ex, Refill(*d, s, from), asio::detached);
      });
      uint64_t id = d->hub.Subscribe(
          username, [stream](const AgentEventRecord& e) { return stream->OnLive(e); },
          [ws] { ws->Close(1008, "signed out"); });
      auto& sessions = d->auth.sessions();
      uint64_t watch = sessions.Watchers().Watch(manager::HashSessionToken(token),
                                                 [ws] { ws->Close(1008, "signed out"); });
      auto timer = std::make_shared<asio::steady_timer>(ex);
      asio::co_spawn(ex, WatchExpiry(sessions, d->clock, timer, ws, token), asio::detached);
      asio::co_spawn(ex, Open(*d, stream, after), asio::detached);
      WebSocketHandlers h;
      h.on_close = [d, ex, id, username, watch, timer] {
        d->hub.Unsubscribe(id);
        d->auth.sessions().Watchers().Unwatch(watch);
        asio::post(ex, [timer] { timer->cancel(); });
        asio::co_spawn(ex, Closed(*d, username), asio::detached);
      };
      return h;
    };
    co_return up;
  });
}

}  // namespace parley::http

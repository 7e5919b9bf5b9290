// The outbox dispatcher against real local HTTP receivers: strict per-conversation order under
// failures, conversations in parallel, stable event_id across retries, a fresh valid token per
// request, dead-lettering, the store updated, and pending deliveries resumed after a re-open.

#include "delivery/dispatcher.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "channel/jwt.hpp"
#include "channel/outbound.hpp"
#include "test_support.hpp"

namespace parley::delivery {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using parley::testing::AwaitOn;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;
using parley::testing::WaitFor;
using storage::DeliveryRecord;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// One request the receiver saw, and what it answered.
struct Seen {
  std::string event_id;
  std::string customer_id;
  int64_t seq = 0;
  std::string authorization;
  std::string connection_id;
  std::string content_type;
  int status = 0;
  int64_t received_s = 0;  // wall clock, seconds
  int attempt = 0;         // 1 for the first request carrying this event_id
};

// A webhook receiver on 127.0.0.1:<free port>, on its own thread. A script decides the status
// of each request from the event and how many times that event_id has arrived.
class Receiver {
 public:
  using Script = std::function<int(const Seen&)>;

  Receiver() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    io_.stop();
    thread_.join();
  }

  std::string Url() const {
    return fmt::format("http://127.0.0.1:{}/hook", acceptor_.local_endpoint().port());
  }
  void SetScript(Script s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
  }
  std::vector<Seen> All() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Requests answered 2xx, in arrival order.
  std::vector<Seen> Accepted() const {
    std::vector<Seen> out;
    for (auto& s : All())
      if (s.status >= 200 && s.status < 300) out.push_back(s);
    return out;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      auto [ec, n] = co_await bhttp::async_read(socket, buffer, req, kTuple);
      if (ec) co_return;
      Seen s;
      boost::system::error_code jec;
      json::value body = json::parse(req.body(), jec);
      if (!jec && body.is_object()) {
        const json::object& o = body.as_object();
        if (auto* v = o.if_contains("event_id"); v && v->is_string())
          s.event_id = std::string(std::string_view(v->as_string()));
        if (auto* v = o.if_contains("customer_id"); v && v->is_string())
          s.customer_id = std::string(std::string_view(v->as_string()));
        if (auto* v = o.if_contains("seq"); v && v->is_int64()) s.seq = v->as_int64();
      }
      s.authorization = std::string(req[bhttp::field::authorization]);
      s.connection_id = std::string(req["connection_id"]);
      s.content_type = std::string(req[bhttp::field::content_type]);
      s.received_s = SystemClock().NowSeconds();
      {
        std::lock_guard lock(mu_);
        s.attempt = ++attempts_[s.event_id];
        s.status = script_ ? script_(s) : 200;
        seen_.push_back(s);
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(s.status), 11};
      res.set(bhttp::field::content_type, "application/json");
      res.body() = "{}";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await bhttp::async_write(socket, res, kTuple);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mu_;
  Script script_;
  std::vector<Seen> seen_;
  std::map<std::string, int> attempts_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : work_(asio::make_work_guard(io_)) {
    store_ = OpenSqlite(dir_.File("parley.db"));
    thread_ = std::thread([this] { io_.run(); });
    options_.retry = RetryPolicy{5, 20, 72LL * 3600 * 1000, 0.2};
    options_.timeout = std::chrono::milliseconds(2000);
  }
  ~DispatcherTest() override {
    Shutdown();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void Start() {
    WebhookClientOptions wo;
    wo.allow_insecure = true;
    client_ = std::make_unique<WebhookClient>(io_.get_executor(), wo);
    dispatcher_ = std::make_unique<Dispatcher>(io_.get_executor(), *store_, directory_, *client_,
                                               clock_, options_);
  }
  void Shutdown() {
    if (dispatcher_) dispatcher_->Stop();
    if (client_) client_->Close();
  }

  storage::ConnectionRecord AddConnection(const std::string& id, const std::string& url) {
    storage::ConnectionRecord c;
    c.id = id;
    c.name = id;
    c.client_webhook = url;
    c.bot = "echo";
    c.secret = "secret-of-" + id + "-0123456789abcdefghijklmnop";
    directory_.Put(c);
    auto job = [c](storage::Tx& tx) { return tx.InsertConnection(c); };
    auto r = AwaitOn(io_.get_executor(), store_->Write<void>(job));
    EXPECT_TRUE(r) << r.error().message;
    return c;
  }

  // Writes a conversation with `n` pending outbound text events (seq 1..n) and returns them.
  std::vector<DeliveryRecord> AddConversation(const std::string& connection_id,
                                              const std::string& conversation_id, int n) {
    std::vector<DeliveryRecord> out;
    int64_t now = clock_.NowMs();
    for (int i = 1; i <= n; ++i) {
      channel::OutboundEvent ev;
      ev.event_id = fmt::format("{}-ev{}", conversation_id, i);
      ev.customer_id = "cust-" + conversation_id;
      ev.seq = i;
      ev.body = channel::TextBody{{fmt::format("reply {}", i)}, {}};
      storage::EventRecord e;
      e.conversation_id = conversation_id;
      e.position = i;
      e.connection_id = connection_id;
      e.direction = "out";
      e.seq = i;
      e.sender = "bot";
      e.type = "text";
      e.event_id = ev.event_id;
      e.message_id = ev.event_id;
      e.payload_json = json::serialize(channel::ToJson(ev));
      e.created_at_ms = now;
      e.delivery_status = "pending";
      e.next_attempt_at_ms = now;
      out.push_back({e, ev.customer_id});
    }
    auto job = [&](storage::Tx& tx) -> Result<void> {
      storage::ConversationRecord c;
      c.id = conversation_id;
      c.connection_id = connection_id;
      c.customer_id = "cust-" + conversation_id;
      c.state = "bot";
      c.owner = "bot";
      c.last_out_seq = n;
      c.last_position = n;
      if (auto r = tx.InsertConversation(c); !r) return r;
      for (const auto& d : out)
        if (auto r = tx.InsertEvent(d.event); !r) return r;
      return {};
    };
    auto r = AwaitOn(io_.get_executor(), store_->Write<void>(job));
    EXPECT_TRUE(r) << r.error().message;
    return out;
  }

  // Starts the dispatcher with `rx` failing every request and waits until the only event of
  // conversation conv-1 (conv-1-ev1) is dead-lettered, `give_up_ms` after it was created.
  std::optional<storage::ConnectionRecord> DeadLetterOne(Receiver& rx, int64_t give_up_ms) {
    options_.retry.give_up_after_ms = give_up_ms;
    rx.SetScript([](const Seen&) { return 500; });
    auto conn = AddConnection("conn-1", rx.Url());
    Start();
    dispatcher_->Enqueue(AddConversation(conn.id, "conv-1", 1));
    if (!WaitFor([&] { return StoredStatusIs("conv-1-ev1", "dead"); })) return std::nullopt;
    return conn;
  }

  std::optional<DeliveryRecord> Stored(const std::string& event_id) {
    auto job = [event_id](storage::Tx& tx) { return tx.GetDelivery(event_id); };
    auto r = AwaitOn(io_.get_executor(), store_->Read<std::optional<DeliveryRecord>>(job));
    EXPECT_TRUE(r);
    return r ? *r : std::nullopt;
  }

  bool StoredStatusIs(const std::string& event_id, const std::string& status) {
    auto d = Stored(event_id);
    return d && d->event.delivery_status == status;
  }

  // Checks that the requests of each conversation never ran ahead: a request for seq k+1 is
  // sent only after seq k was answered 2xx (or dead-lettered, listed in `dead`).
  static void ExpectStrictOrder(const std::vector<Seen>& all,
                                const std::set<std::string>& dead = {}) {
    std::map<std::string, std::pair<int64_t, bool>> state;  // customer -> (seq, done)
    for (const Seen& s : all) {
      auto [it, fresh] = state.try_emplace(s.customer_id, 0, true);
      auto& [seq, done] = it->second;
      if (s.seq != seq) {
        EXPECT_TRUE(done) << s.customer_id << ": seq " << s.seq << " sent before seq " << seq
                          << " was delivered";
        EXPECT_EQ(s.seq, seq + 1) << s.customer_id << ": skipped from " << seq;
        seq = s.seq;
      }
      done = (s.status >= 200 && s.status < 300) || dead.count(s.event_id) > 0;
    }
  }

  TempDir dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  SystemClock clock_;
  DispatcherOptions options_;
  manager::ConnectionDirectory directory_;
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  std::unique_ptr<WebhookClient> client_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, DeliversInOrderWithSignedRequests) {
  Receiver rx;
  auto conn = AddConnection("conn-1", rx.Url());
  Start();
  auto events = AddConversation(conn.id, "conv-1", 5);
  dispatcher_->Enqueue(events);
  ASSERT_TRUE(WaitFor([&] { return rx.Accepted().size() == 5; }));
  auto seen = rx.All();
  ASSERT_EQ(seen.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(seen[i].seq, i + 1);
    EXPECT_EQ(seen[i].event_id, events[i].event.event_id);
    EXPECT_EQ(seen[i].customer_id, "cust-conv-1");
    EXPECT_EQ(seen[i].connection_id, conn.id);
    EXPECT_EQ(seen[i].content_type, "application/json");
    // A valid token, signed with the connection's secret, iss = the connection id.
    ASSERT_TRUE(seen[i].authorization.starts_with("Bearer ")) << seen[i].authorization;
    auto jwt = channel::ParseJwt(seen[i].authorization.substr(7));
    ASSERT_TRUE(jwt) << jwt.error().message;
    EXPECT_TRUE(channel::SignatureMatches(*jwt, conn.secret));
    EXPECT_FALSE(channel::SignatureMatches(*jwt, "another-secret"));
    EXPECT_EQ(jwt->claims.iss, conn.id);
    EXPECT_TRUE(channel::CheckTokenTimes(jwt->claims, seen[i].received_s));
  }
  ASSERT_TRUE(WaitFor([&] { return StoredStatusIs(*events[4].event.event_id, "delivered"); }));
  for (const auto& e : events) {
    auto d = Stored(*e.event.event_id);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->event.delivery_status, "delivered");
    EXPECT_EQ(d->event.attempts, 1);
    EXPECT_TRUE(d->event.delivered_at_ms);
  }
  EXPECT_TRUE(WaitFor([&] { return dispatcher_->Stats().backlog == 0; }));
  EXPECT_EQ(dispatcher_->Stats().delivered, 5u);
}

TEST_F(DispatcherTest, StrictOrderAndSameEventIdUnderFailures) {
  Receiver rx;
  // Every event fails twice (500, then 503) before it is taken; seq 3 fails four times.
  rx.SetScript([](const Seen& s) {
    int fails = s.seq == 3 ? 4 : 2;
    if (s.attempt <= fails) return s.attempt % 2 ? 500 : 503;
    return 200;
  });
  auto conn = AddConnection("conn-1", rx.Url());
  Start();
  auto a = AddConversation(conn.id, "conv-a", 6);
  auto b = AddConversation(conn.id, "conv-b", 6);
  dispatcher_->Enqueue(a);
  dispatcher_->Enqueue(b);
  ASSERT_TRUE(WaitFor([&] { return rx.Accepted().size() == 12; }, std::chrono::seconds(20)));
  auto all = rx.All();
  ExpectStrictOrder(all);
  // Each event came 3 times (5 for seq 3), always with the same event_id and body seq.
  std::map<std::string, int> per_event;
  for (const Seen& s : all) ++per_event[s.event_id];
  ASSERT_EQ(per_event.size(), 12u);
  for (const auto& list : {a, b})
    for (const auto& d : list)
      EXPECT_EQ(per_event[*d.event.event_id], d.event.seq == 3 ? 5 : 3) << *d.event.event_id;
  // Delivered in seq order per conversation.
  std::map<std::string, std::vector<int64_t>> order;
  for (const Seen& s : rx.Accepted()) order[s.customer_id].push_back(s.seq);
  for (const auto& [customer, seqs] : order)
    EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3, 4, 5, 6})) << customer;
  ASSERT_TRUE(WaitFor([&] { return StoredStatusIs("conv-b-ev6", "delivered"); }));
  auto d3 = Stored("conv-a-ev3");
  ASSERT_TRUE(d3);
  EXPECT_EQ(d3->event.attempts, 5);
  EXPECT_EQ(dispatcher_->Stats().failed_attempts, 2u * (5 * 2 + 4));
}

TEST_F(DispatcherTest, EveryRequestCarriesAFreshValidToken) {
  Receiver rx;
  rx.SetScript([](const Seen& s) { return s.attempt < 3 ? 500 : 200; });
  auto conn = AddConnection("conn-1", rx.Url());
  Start();
  dispatcher_->Enqueue(AddConversation(conn.id, "conv-1", 2));
  ASSERT_TRUE(WaitFor([&] { return rx.Accepted().size() == 2; }));
  for (const Seen& s : rx.All()) {
    auto jwt = channel::ParseJwt(s.authorization.substr(7));
    ASSERT_TRUE(jwt);
    EXPECT_TRUE(channel::SignatureMatches(*jwt, conn.secret));
    // Minted at send time: iat is the second the request was received (or just before).
    ASSERT_TRUE(jwt->claims.iat);
    EXPECT_LE(*jwt->claims.iat, s.received_s);
    EXPECT_GE(*jwt->claims.iat, s.received_s - 2);
  }
}

TEST_F(DispatcherTest, FailingWebhookDoesNotHoldOtherConversations) {
  Receiver down;
  Receiver up;
  down.SetScript([](const Seen&) { return 503; });
  auto c_down = AddConnection("conn-down", down.Url());
  auto c_up = AddConnection("conn-up", up.Url());
  Start();
  dispatcher_->Enqueue(AddConversation(c_down.id, "conv-down", 3));
  dispatcher_->Enqueue(AddConversation(c_up.id, "conv-up-1", 4));
  dispatcher_->Enqueue(AddConversation(c_up.id, "conv-up-2", 4));
  ASSERT_TRUE(WaitFor([&] { return up.Accepted().size() == 8; }));
  // The failing conversation kept retrying its first event only.
  ASSERT_TRUE(WaitFor([&] { return down.All().size() >= 3; }));
  for (const Seen& s : down.All()) EXPECT_EQ(s.seq, 1);
  EXPECT_TRUE(down.Accepted().empty());
  ExpectStrictOrder(up.All());
  EXPECT_TRUE(StoredStatusIs("conv-down-ev1", "pending"));
  EXPECT_TRUE(StoredStatusIs("conv-down-ev3", "pending"));
}

TEST_F(DispatcherTest, SlowWebhookDoesNotHoldOtherConversations) {
  // A webhook that never answers in time: the other connection is served meanwhile.
  options_.timeout = std::chrono::milliseconds(1500);
  asio::io_context silent_io;
  tcp::acceptor silent(silent_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  // Listening: the kernel accepts into the backlog, and nobody ever reads or answers.
  Receiver up;
  auto c_slow = AddConnection(
      "conn-slow", fmt::format("http://127.0.0.1:{}/hook", silent.local_endpoint().port()));
  auto c_up = AddConnection("conn-up", up.Url());
  Start();
  auto start = std::chrono::steady_clock::now();
  dispatcher_->Enqueue(AddConversation(c_slow.id, "conv-slow", 2));
  dispatcher_->Enqueue(AddConversation(c_up.id, "conv-up", 3));
  ASSERT_TRUE(WaitFor([&] { return up.Accepted().size() == 3; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000))
      << "the fast webhook waited for the slow one";
  // The slow one times out and is retried.
  ASSERT_TRUE(WaitFor([&] {
    auto d = Stored("conv-slow-ev1");
    return d && d->event.attempts >= 1 && d->event.last_error;
  }));
  EXPECT_TRUE(StoredStatusIs("conv-slow-ev1", "pending"));
}

TEST_F(DispatcherTest, DeadLettersAfterGiveUpThenMovesOn) {
  options_.retry.give_up_after_ms = 150;
  Receiver rx;
  rx.SetScript([](const Seen& s) { return s.event_id == "conv-1-ev1" ? 500 : 200; });
  auto conn = AddConnection("conn-1", rx.Url());
  Start();
  auto events = AddConversation(conn.id, "conv-1", 3);
  dispatcher_->Enqueue(events);
  ASSERT_TRUE(WaitFor([&] { return rx.Accepted().size() == 2; }));
  auto all = rx.All();
  ExpectStrictOrder(all, {"conv-1-ev1"});
  EXPECT_GE(all.size(), 3u);
  ASSERT_TRUE(WaitFor([&] { return StoredStatusIs("conv-1-ev1", "dead"); }));
  auto dead = Stored("conv-1-ev1");
  ASSERT_TRUE(dead);
  EXPECT_GE(dead->event.attempts, 1);
  EXPECT_EQ(dead->event.last_error, "the webhook answered 500");
  EXPECT_FALSE(dead->event.delivered_at_ms);
  EXPECT_FALSE(dead->event.next_attempt_at_ms);
  ASSERT_TRUE(WaitFor([&] { return StoredStatusIs("conv-1-ev3", "delivered"); }));
  EXPECT_TRUE(StoredStatusIs("conv-1-ev2", "delivered"));
  EXPECT_EQ(dispatcher_->Stats().dead, 1u);
  // Nothing more is sent for the dead event.
  size_t count = rx.All().size();
  auto extra = AddConversation(conn.id, "conv-2", 1);
  dispatcher_->Enqueue(extra);
  ASSERT_TRUE(WaitFor([&] { return rx.Accepted().size() == 3; }));
  EXPECT_EQ(rx.All().size(), count + 1);
}

TEST_F(DispatcherTest, ReplaySendsADeadEventAgain) {
  options_.retry.give_up_after_ms = 50;
  Receiver rx;
  std::atomic<bool> healthy{false};
  rx.SetScript([&](const Seen&) { return healthy ? 200 : 500; });
  auto conn = AddConnection("conn-1", rx.Url());
  Start();
  dispatcher_->Enqueue(AddConversation(conn.id, "conv-1", 1));
  ASSERT_TRUE(WaitFor([&] { return StoredStatusIs("conv-1-ev1", "dead"); }));
  healthy = true;
  auto replayed = AwaitOn(io_.get_executor(), dispatcher_->Replay("conv-1-ev1"));
  ASSERT_TRUE(replayed) << replayed.error().message;
  EXPECT_EQ(replayed->event.delivery_status, "pending");
  ASSERT_TRUE(WaitFor([&] { return rx.Accepted().size() == 1; }));
  EXPECT_EQ(rx.Accepted()[0].event_id, "conv-1-ev1");
  ASSERT_TRUE(WaitFor([&] { return StoredStatusIs("conv-1-ev1", "delivered"); }));
  auto again = AwaitOn(io_.get_executor(), dispatcher_->Replay("no-such-event"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().errc, Errc::kNotFound);
}

// A replay restarts the retry window from the replay, kept in the store (so a restart keeps
// it too), and leaves the creation time the transcript shows alone.
TEST_F(DispatcherTest, ReplayRestartsTheRetryWindowAndKeepsTheCreationTime) {
  Receiver rx;
  ASSERT_TRUE(DeadLetterOne(rx, 1000));
  int64_t created = Stored("conv-1-ev1")->event.created_at_ms;
  ASSERT_GT(clock_.NowMs() - created, 1000);  // a window from creation is over
  auto replayed = AwaitOn(io_.get_executor(), dispatcher_->Replay("conv-1-ev1"));
  ASSERT_TRUE(replayed) << replayed.error().message;
  // The replay's first attempt fails too, yet the event is retried, not dead at once.
  ASSERT_TRUE(WaitFor([&] {
    auto d = Stored("conv-1-ev1");
    return d && d->event.attempts >= 1 && d->event.delivery_status == "pending";
  }));
  auto d = Stored("conv-1-ev1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->event.created_at_ms, created);
  ASSERT_TRUE(d->event.retry_from_ms);
  EXPECT_GT(*d->event.retry_from_ms, created);
}

TEST_F(DispatcherTest, ReplayOfAnEventOfADeletedConnectionIsRefused) {
  Receiver rx;
  auto conn = DeadLetterOne(rx, 50);
  ASSERT_TRUE(conn);
  directory_.Remove(conn->id);
  auto r = AwaitOn(io_.get_executor(), dispatcher_->Replay("conv-1-ev1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "connection_not_found");
  EXPECT_TRUE(StoredStatusIs("conv-1-ev1", "dead"));  // nothing changed
}

TEST_F(DispatcherTest, ReplayOfPendingEventIsAConflict) {
  Receiver rx;
  rx.SetScript([](const Seen&) { return 500; });
  auto conn = AddConnection("conn-1", rx.Url());
  Start();
  dispatcher_->Enqueue(AddConversation(conn.id, "conv-1", 1));
  auto r = AwaitOn(io_.get_executor(), dispatcher_->Replay("conv-1-ev1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kConflict);
}

TEST_F(DispatcherTest, PendingDeliveriesResumeAfterReopen) {
  Receiver rx;
  auto conn = AddConnection("conn-1", rx.Url());
  // Written by a previous run that never delivered them.
  AddConversation(conn.id, "conv-1", 3);
  AddConversation(conn.id, "conv-2", 2);
  store_->Close();
  store_ = OpenSqlite(dir_.File("parley.db"));
  ASSERT_TRUE(store_);
  Start();
  auto loaded = AwaitOn(io_.get_executor(), dispatcher_->LoadPending());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, 5u);
  ASSERT_TRUE(WaitFor([&] { return rx.Accepted().size() == 5; }));
  ExpectStrictOrder(rx.All());
  ASSERT_TRUE(WaitFor([&] {
    return StoredStatusIs("conv-1-ev3", "delivered") && StoredStatusIs("conv-2-ev2", "delivered");
  }));
  // Nothing is pending any more.
  auto again = AwaitOn(io_.get_executor(), dispatcher_->LoadPending());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

TEST_F(DispatcherTest, DeletedConnectionIsRetriedNotSent) {
  Receiver rx;
  auto conn = AddConnection("conn-1", rx.Url());
  Start();
  auto events = AddConversation(conn.id, "conv-1", 1);
  directory_.Remove(conn.id);
  dispatcher_->Enqueue(events);
  ASSERT_TRUE(WaitFor([&] {
    auto d = Stored("conv-1-ev1");
    return d && d->event.attempts >= 1;
  }));
  EXPECT_EQ(Stored("conv-1-ev1")->event.last_error, "the connection was deleted");
  EXPECT_TRUE(rx.All().empty());
}

}  // namespace
}  // namespace parley::delivery

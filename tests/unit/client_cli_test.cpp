#include "app/client_cli.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "channel/jwt.hpp"
#include "core/ids.hpp"

namespace parley::app {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef0123456789a";
constexpr std::string_view kConn = "2f1c6c8e-5b7a-4d2e-9f51-0a1b2c3d4e5f";
constexpr int64_t kNow = 1'700'000'000;

std::string Bearer(std::string_view iss, int64_t iat, std::string_view secret = kSecret) {
  return "Bearer " + channel::SignJwt(iss, iat, secret);
}

TEST(ClientCliTest, MessagesUrlAppendsThePathOnlyWhenMissing) {
  EXPECT_EQ(*MessagesUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080/messages");
  EXPECT_EQ(*MessagesUrl("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/messages");
  EXPECT_EQ(*MessagesUrl("https://parley.example/messages"), "https://parley.example/messages");
  EXPECT_EQ(*MessagesUrl("https://parley.example/tenant/messages"),
            "https://parley.example/tenant/messages");
  EXPECT_FALSE(MessagesUrl("parley.example"));
  EXPECT_FALSE(MessagesUrl(""));
  EXPECT_EQ(MessagesUrl("nope").error().code, "invalid_url");
}

TEST(ClientCliTest, BuildsATextEvent) {
  SequentialIdGenerator ids;
  SendOptions o;
  o.customer_id = "cust-1";
  o.customer_name = "Ann";
  o.text = {"hello", "second line"};
  auto body = BuildSendBody(o, ids);
  ASSERT_TRUE(body) << body.error().message;
  json::value v = json::parse(*body);
  EXPECT_EQ(v.at("type"), "text");
  EXPECT_EQ(v.at("customer_id"), "cust-1");
  EXPECT_EQ(v.at("customer_name"), "Ann");
  EXPECT_EQ(v.at("message_id"), "00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(v.at("text"), (json::array{"hello", "second line"}));
  EXPECT_FALSE(v.as_object().contains("postback"));
}

TEST(ClientCliTest, BuildsPostbackAndControlEvents) {
  SequentialIdGenerator ids;
  SendOptions o;
  o.customer_id = "c";
  o.message_id = "m-7";
  o.postback = "intent:opening_hours";
  json::value v = json::parse(*BuildSendBody(o, ids));
  EXPECT_EQ(v.at("postback"), "intent:opening_hours");
  EXPECT_EQ(v.at("message_id"), "m-7");
  EXPECT_FALSE(v.as_object().contains("text"));

  o.type = "typing_indicator";
  o.message_id.clear();
  v = json::parse(*BuildSendBody(o, ids));
  EXPECT_EQ(v, (json::object{{"type", "typing_indicator"}, {"customer_id", "c"}}));
  o.type = "customer_end_session";
  v = json::parse(*BuildSendBody(o, ids));
  EXPECT_EQ(v, (json::object{{"type", "customer_end_session"}, {"customer_id", "c"}}));
}

TEST(ClientCliTest, TextEventNeedsTextOrPostback) {
  SequentialIdGenerator ids;
  SendOptions o;
  o.customer_id = "c";
  auto body = BuildSendBody(o, ids);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, "missing_text");
  o.type = "menu";
  o.text = {"x"};
  EXPECT_FALSE(BuildSendBody(o, ids));
}

TEST(ClientCliTest, AcceptsAValidRequest) {
  EXPECT_TRUE(CheckWebhookRequest(Bearer(kConn, kNow), kConn, kSecret, kConn, kNow));
  EXPECT_TRUE(CheckWebhookRequest(Bearer(kConn, kNow - 300), std::nullopt, kSecret, "", kNow));
  EXPECT_TRUE(CheckWebhookRequest("bearer " + channel::SignJwt(kConn, kNow, kSecret), kConn,
                                  kSecret, "", kNow + 30));
}

void ExpectRefused(const Result<void>& r, Errc errc, std::string_view code) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, errc);
  EXPECT_EQ(r.error().code, code) << r.error().message;
}

TEST(ClientCliTest, RefusesWhatProtocolSection2Refuses) {
  ExpectRefused(CheckWebhookRequest("", kConn, kSecret, "", kNow), Errc::kUnauthenticated,
                "missing_token");
  ExpectRefused(CheckWebhookRequest("Basic abc", kConn, kSecret, "", kNow), Errc::kUnauthenticated,
                "missing_token");
  ExpectRefused(CheckWebhookRequest("Bearer a.b", kConn, kSecret, "", kNow), Errc::kUnauthenticated,
                "malformed_token");
  // alg none, even with the right claims.
  std::string none = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                     Base64UrlEncode(json::serialize(json::object{{"iss", kConn}, {"iat", kNow}})) +
                     ".";
  auto r = CheckWebhookRequest("Bearer " + none, kConn, kSecret, "", kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kUnauthenticated);
  ExpectRefused(
      CheckWebhookRequest(Bearer(kConn, kNow, "another-secret-another-secret-another-secret"),
                          kConn, kSecret, "", kNow),
      Errc::kUnauthenticated, "invalid_signature");
  ExpectRefused(CheckWebhookRequest(Bearer(kConn, kNow - 301), kConn, kSecret, "", kNow),
                Errc::kUnauthenticated, "token_expired");
  ExpectRefused(CheckWebhookRequest(Bearer(kConn, kNow + 31), kConn, kSecret, "", kNow),
                Errc::kUnauthenticated, "token_not_yet_valid");
  ExpectRefused(
      CheckWebhookRequest(Bearer("someone-else", kNow), std::nullopt, kSecret, kConn, kNow),
      Errc::kUnauthenticated, "unknown_issuer");
  ExpectRefused(CheckWebhookRequest(Bearer(kConn, kNow), "other-id", kSecret, "", kNow),
                Errc::kPermissionDenied, "connection_mismatch");
  EXPECT_EQ(HttpStatus(Errc::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatus(Errc::kUnauthenticated), 401);
}

TEST(ClientCliTest, EventLineIsOneLineOfJson) {
  auto line = EventLine("{\n  \"type\": \"text\",\n  \"text\": [\"a\\nb\"]\n}\n");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, R"({"type":"text","text":["a\nb"]})");
  EXPECT_EQ(line->find('\n'), std::string::npos);
  EXPECT_FALSE(EventLine("{not json"));
  EXPECT_FALSE(EventLine(""));
}

// A listener on its own io thread, stopped and joined on destruction.
class RunningListener {
 public:
  RunningListener(ListenOptions options, const Clock& clock) {
    auto started = WebhookListener::Start(ioc_, std::move(options), events_, log_, clock);
    EXPECT_TRUE(started) << started.error().message;
    if (started) listener_ = std::move(*started);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~RunningListener() { StopAndJoin(); }
  void StopAndJoin() {
    if (!thread_.joinable()) return;
    boost::asio::post(ioc_, [this] {
      if (listener_) listener_->Stop();
      ioc_.stop();
    });
    thread_.join();
  }
  std::string Url() const { return listener_ ? listener_->Url() : ""; }
  // Read only after StopAndJoin: the io thread writes them.
  std::string Events() const { return events_.str(); }
  std::string Log() const { return log_.str(); }

 private:
  boost::asio::io_context ioc_;
  std::ostringstream events_;
  std::ostringstream log_;
  std::unique_ptr<WebhookListener> listener_;
  std::thread thread_;
};

TEST(ClientCliTest, SendTalksToListen) {
  ManualClock clock(kNow * 1000);
  ListenOptions lo;
  lo.secret = kSecret;
  lo.connection_id = kConn;
  RunningListener listener(lo, clock);
  ASSERT_NE(listener.Url().find("http://127.0.0.1:"), std::string::npos) << listener.Url();

  SequentialIdGenerator ids;
  SendOptions so;
  so.url = listener.Url();
  so.connection_id = kConn;
  so.secret = kSecret;
  so.customer_id = "cust-1";
  so.text = {"hi there"};
  std::ostringstream out, err;
  EXPECT_EQ(RunSend(so, out, err, clock, ids), 0) << err.str();
  EXPECT_EQ(out.str(), "HTTP 200\nsuccess\n");

  so.secret = "the-wrong-secret-the-wrong-secret-the-wrong";
  std::ostringstream out2, err2;
  EXPECT_EQ(RunSend(so, out2, err2, clock, ids), 1);
  EXPECT_EQ(out2.str(), "") << "a refusal is not printed as an answer";
  EXPECT_EQ(err2.str(),
            "error: HTTP 401 invalid_signature: The token's signature does not verify with this "
            "JWT secret.\n");

  listener.StopAndJoin();
  EXPECT_EQ(
      listener.Events(),
      R"({"type":"text","customer_id":"cust-1","message_id":"00000000-0000-4000-8000-000000000001","text":["hi there"]})"
      "\n");
  EXPECT_NE(listener.Log().find("refused 401 invalid_signature"), std::string::npos)
      << listener.Log();
}

TEST(ClientCliTest, RefusalLineNamesStatusCodeAndMessageOnOneLine) {
  EXPECT_EQ(RefusalLine(429, R"({"error":{"code":"rate_limited","message":"Slow down."}})"),
            "error: HTTP 429 rate_limited: Slow down.");
  EXPECT_EQ(RefusalLine(502, "<html>\r\nBad gateway\n</html>"),
            "error: HTTP 502: <html>  Bad gateway </html>");
  EXPECT_EQ(RefusalLine(500, R"({"error":"boom"})"), R"(error: HTTP 500: {"error":"boom"})");
  EXPECT_EQ(RefusalLine(503, ""), "error: HTTP 503 with an empty body");
  std::string long_body(2000, 'x');
  EXPECT_EQ(RefusalLine(500, long_body), "error: HTTP 500: " + std::string(512, 'x') + "...");
}

TEST(ClientCliTest, CommandLineSendExitsByStatus) {
  SystemClock clock;
  ListenOptions lo;
  lo.secret = kSecret;
  RunningListener listener(lo, clock);
  const std::string base = "client send --url " + listener.Url() + " --connection-id " +
                           std::string(kConn) + " --customer c1 ";
  {
    CLI::App app("parley");
    AddClientCommands(app);
    EXPECT_NO_THROW(app.parse(base + "--secret " + std::string(kSecret) + " hello world", false));
  }
  {
    CLI::App app("parley");
    AddClientCommands(app);
    try {
      app.parse(base + "--secret wrong-wrong-wrong-wrong-wrong-wrong hello", false);
      ADD_FAILURE() << "a refused send must fail";
    } catch (const CLI::ParseError& e) {
      EXPECT_EQ(app.exit(e), 1);
    }
  }
  {
    CLI::App app("parley");
    AddClientCommands(app);
    EXPECT_THROW(app.parse(base + "--secret x --type bogus hi", false), CLI::ValidationError);
  }
  listener.StopAndJoin();
  EXPECT_NE(listener.Events().find(R"("text":["hello","world"])"), std::string::npos)
      << listener.Events();
}

// One blocking request to the listener; the status it answered.
int RawRequest(const std::string& listener_url, bhttp::verb method, std::string body,
               std::string authorization) {
  auto colon = listener_url.rfind(':');
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(
      boost::asio::ip::make_address("127.0.0.1"),
      static_cast<unsigned short>(std::stoi(listener_url.substr(colon + 1)))));
  bhttp::request<bhttp::string_body> req{method, "/hook", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
  req.body() = std::move(body);
  req.prepare_payload();
  bhttp::write(stream, req);
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);
  return static_cast<int>(res.result_int());
}

TEST(ClientCliTest, ListenerRefusesWrongMethodAndNonJson) {
  ManualClock clock(kNow * 1000);
  ListenOptions lo;
  lo.secret = kSecret;
  RunningListener listener(lo, clock);
  EXPECT_EQ(RawRequest(listener.Url(), bhttp::verb::get, "", Bearer(kConn, kNow)), 405);
  EXPECT_EQ(RawRequest(listener.Url(), bhttp::verb::post, "{oops", Bearer(kConn, kNow)), 400);
  EXPECT_EQ(RawRequest(listener.Url(), bhttp::verb::post, "{}", ""), 401);
  EXPECT_EQ(RawRequest(listener.Url(), bhttp::verb::post, "{}", Bearer(kConn, kNow - 1000)), 401);
  EXPECT_EQ(RawRequest(listener.Url(), bhttp::verb::post, "[1, 2]", Bearer(kConn, kNow)), 200);
  listener.StopAndJoin();
  EXPECT_EQ(listener.Events(), "[1,2]\n");
  EXPECT_NE(listener.Log().find("refused 405"), std::string::npos) << listener.Log();
  EXPECT_NE(listener.Log().find("refused 400 invalid_json"), std::string::npos) << listener.Log();
  EXPECT_NE(listener.Log().find("refused 401 missing_token"), std::string::npos) << listener.Log();
  EXPECT_NE(listener.Log().find("refused 401 token_expired"), std::string::npos) << listener.Log();
}

TEST(ClientCliTest, ListenFailsOnABusyPort) {
  ManualClock clock(kNow * 1000);
  ListenOptions lo;
  lo.secret = kSecret;
  RunningListener first(lo, clock);
  auto port =
      static_cast<unsigned short>(std::stoi(first.Url().substr(first.Url().rfind(':') + 1)));
  boost::asio::io_context ioc;
  std::ostringstream events, log;
  lo.port = port;
  auto second = WebhookListener::Start(ioc, lo, events, log, clock);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, "listen_failed");
  lo.secret.clear();
  lo.port = 0;
  EXPECT_FALSE(WebhookListener::Start(ioc, lo, events, log, clock));
}

}  // namespace
}  // namespace parley::app

// The REST surface in-process: http::Router + AddApiRoutes driven with http::Request objects,
// no socket. Admin auth, connections CRUD with validation, POST /messages, operations.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "channel/jwt.hpp"
#include "http/api.hpp"
#include "http/paging.hpp"
#include "manager/session_service.hpp"
#include "manager/user_service.hpp"
#include "test_support.hpp"

namespace parley::http {
namespace {

namespace json = boost::json;
using parley::testing::Await;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;

constexpr const char* kRouterAdminToken = "admin-token-for-tests-0123456789";
constexpr const char* kPublicUrl = "https://parley.example";

class RouterApiTest : public ::testing::Test {
 protected:
  RouterApiTest()
      : clock_(1'764'000'000'000),
        store_(OpenSqlite(dir_.File("parley.db"))),
        client_(io_.get_executor(), delivery::WebhookClientOptions{}),
        connections_(*store_, directory_, bots_, clock_, ids_,
                     manager::ConnectionOptions{kPublicUrl, false, 24 * 3600}),
        dispatcher_(io_.get_executor(), *store_, directory_, client_, clock_, {}),
        conversations_(*store_, bots_, clock_, ids_, dispatcher_, actions_),
        rate_limiter_(std::in_place, 0, 0),
        hasher_(io_.get_executor()),
        sessions_(*store_, hasher_, clock_, {}),
        auth_(std::in_place, sessions_, kRouterAdminToken),
        deps_{*store_,      directory_,
              connections_, conversations_,
              dispatcher_,  bots_,
              clock_,       [this] { return shutting_down_; },
              {},           io_.get_executor(),
              metrics_,     *rate_limiter_,
              *auth_,       hub_} {
    bots_.Put({"echo", "Echo", "built-in", 0}, std::make_shared<bot::EchoBot>());
    AddApiRoutes(router_, deps_);
  }
  ~RouterApiTest() override {
    dispatcher_.Stop();
    client_.Close();
  }

  struct NoActions final : conversation::ActionRunner {
    boost::asio::awaitable<bot::CallOutcome> Run(bot::ExternalCall) override {
      co_return bot::CallOutcome{};
    }
  };

  Response Call(std::string method, std::string path, std::string body = "",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.body = std::move(body);
    req.headers = std::move(headers);
    return Await(io_, router_.Route(req));
  }
  Response Admin(std::string method, std::string path, std::string body = "",
                 std::string content_type = "application/json") {
    std::vector<std::pair<std::string, std::string>> h = {
        {"authorization", std::string("Bearer ") + kRouterAdminToken}};
    if (!content_type.empty()) h.emplace_back("content-type", content_type);
    return Call(std::move(method), std::move(path), std::move(body), std::move(h));
  }
  Response AdminGet(std::string path, std::map<std::string, std::string> query) {
    Request req;
    req.method = "GET";
    req.path = std::move(path);
    req.query = std::move(query);
    req.headers = {{"authorization", std::string("Bearer ") + kRouterAdminToken}};
    return Await(io_, router_.Route(req));
  }
  Response AdminJson(std::string method, std::string path, const json::value& body) {
    return Admin(std::move(method), std::move(path), json::serialize(body));
  }

  static json::object Body(const Response& r) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return v.is_object() ? v.as_object() : json::object();
  }
  static std::string ErrorCode(const Response& r) {
    json::object o = Body(r);
    if (!o.contains("error")) return "<no error: " + r.body + ">";
    const json::object& e = o.at("error").as_object();
    EXPECT_TRUE(e.contains("message"));
    EXPECT_FALSE(e.at("message").as_string().empty());
    return std::string(e.at("code").as_string());
  }

  // Creates a connection through the API and returns its JSON.
  json::object Create(std::string name, std::string bot = "echo",
                      std::string webhook = "https://hooks.example.com/parley") {
    Response r = AdminJson("POST", "/api/v1/connections",
                           json::object{{"name", name}, {"client_webhook", webhook}, {"bot", bot}});
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r);
  }

  Response PostMessage(const std::string& connection_id, const std::string& secret,
                       const json::value& body, std::string content_type = "application/json") {
    return Call("POST", "/messages", json::serialize(body),
                {{"authorization",
                  "Bearer " + channel::SignJwt(connection_id, clock_.NowSeconds(), secret)},
                 {"connection_id", connection_id},
                 {"content-type", std::move(content_type)}});
  }

  TempDir dir_;
  boost::asio::io_context io_;
  ManualClock clock_;
  SequentialIdGenerator ids_;
  bot::BotRegistry bots_;
  NoActions actions_;
  manager::ConnectionDirectory directory_;
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  delivery::WebhookClient client_;
  manager::ConnectionService connections_;
  delivery::Dispatcher dispatcher_;
  conversation::ConversationService conversations_;
  ApiMetrics metrics_;
  bool shutting_down_ = false;
  // Optional so a test can rebuild it in place with other limits (deps_ keeps referring to it).
  std::optional<manager::RateLimiter> rate_limiter_;
  manager::PasswordHasher hasher_;
  manager::SessionService sessions_;
  // Optional so a test can rebuild it with another admin token (deps_ keeps referring to it).
  std::optional<Authenticator> auth_;
  routing::EventHub hub_;
  ApiDeps deps_;
  Router router_;
};

TEST_F(RouterApiTest, UnknownPathIs404WithErrorBody) {
  Response r = Call("GET", "/no/such/thing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(ErrorCode(r), "not_found");
  EXPECT_EQ(Call("GET", "/api/v1/connections/x/y/z").status, 404);
}

TEST_F(RouterApiTest, WrongMethodIs405WithErrorBody) {
  Response r = Call("GET", "/messages");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(ErrorCode(r), "method_not_allowed");
  EXPECT_EQ(Call("DELETE", "/healthz").status, 405);
  Response put = Call("PUT", "/api/v1/connections/abc");
  EXPECT_EQ(put.status, 405);
  // The Allow header names what the path does accept (RFC 9110 asks for it with a 405).
  auto allow = [](const Response& res) {
    for (const auto& [k, v] : res.headers)
      if (k == "Allow") return v;
    return std::string("<none>");
  };
  EXPECT_EQ(allow(put), "GET, PATCH, DELETE");
  EXPECT_EQ(allow(r), "POST");
}

TEST_F(RouterApiTest, AConnectionCanBeCreatedSwitchedOff) {
  Response r = AdminJson("POST", "/api/v1/connections",
                         json::object{{"name", "later"},
                                      {"client_webhook", "https://hooks.example.com/p"},
                                      {"bot", "none"},
                                      {"enabled", false}});
  ASSERT_EQ(r.status, 201) << r.body;
  json::object c = Body(r);
  EXPECT_EQ(c.at("enabled"), false);
  std::string id = std::string(c.at("connection_id").as_string());
  EXPECT_FALSE(directory_.Find(id)->enabled);
  json::object msg{{"type", "text"}, {"customer_id", "c"}, {"message_id", "m"}, {"text", "hi"}};
  EXPECT_EQ(PostMessage(id, std::string(c.at("jwt_secret").as_string()), msg).status, 403);
  EXPECT_EQ(Body(Admin("GET", "/api/v1/connections/" + id)).at("enabled"), false);
}

TEST_F(RouterApiTest, PathParamsAndTrailingSlashes) {
  std::string id = std::string(Create("one").at("connection_id").as_string());
  EXPECT_EQ(Admin("GET", "/api/v1/connections/" + id).status, 200);
  EXPECT_EQ(Admin("GET", "/api/v1/connections/" + id + "/").status, 200);
  EXPECT_EQ(SplitPath("//a///b/"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(RouterApiTest, AdminEndpointsRequireTheToken) {
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/connections"},
           {"POST", "/api/v1/connections"},
           {"GET", "/api/v1/connections/x"},
           {"PATCH", "/api/v1/connections/x"},
           {"DELETE", "/api/v1/connections/x"},
           {"POST", "/api/v1/connections/x/rotate-secret"},
           {"GET", "/api/v1/connections/x/deliveries"},
           {"POST", "/api/v1/deliveries/x/replay"},
           {"GET", "/api/v1/conversations"},
           {"GET", "/api/v1/conversations/x"},
           {"GET", "/api/v1/bots"},
           {"POST", "/api/v1/bots/echo/reload"}}) {
    Response none = Call(method, path);
    EXPECT_EQ(none.status, 401) << method << " " << path;
    EXPECT_EQ(ErrorCode(none), "unauthenticated");
    Response wrong = Call(method, path, "", {{"authorization", "Bearer not-the-token"}});
    EXPECT_EQ(wrong.status, 401) << method << " " << path;
    Response prefix = Call(method, path, "",
                           {{"authorization", std::string("Bearer ") + kRouterAdminToken + "x"}});
    EXPECT_EQ(prefix.status, 401) << method << " " << path;
    Response basic =
        Call(method, path, "", {{"authorization", std::string("Basic ") + kRouterAdminToken}});
    EXPECT_EQ(basic.status, 401) << method << " " << path;
  }
  EXPECT_EQ(Admin("GET", "/api/v1/connections").status, 200);
}

TEST_F(RouterApiTest, EmptyAdminTokenRefusesEveryone) {
  auth_.emplace(sessions_, "");
  EXPECT_EQ(Call("GET", "/api/v1/connections", "", {{"authorization", "Bearer "}}).status, 401);
  EXPECT_EQ(Admin("GET", "/api/v1/connections").status, 401);
}

TEST_F(RouterApiTest, CreateReturnsTheFourSettings) {
  json::object c = Create("Acme Teams");
  std::string id = std::string(c.at("connection_id").as_string());
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(c.at("name"), "Acme Teams");
  EXPECT_EQ(c.at("client_webhook"), "https://hooks.example.com/parley");
  EXPECT_EQ(c.at("digital_messaging_webhook"), json::value(std::string(kPublicUrl) + "/messages"));
  EXPECT_GE(c.at("jwt_secret").as_string().size(), 43u);
  EXPECT_EQ(c.at("bot"), "echo");
  EXPECT_EQ(c.at("enabled"), true);
  ASSERT_TRUE(directory_.Find(id));
}

TEST_F(RouterApiTest, CreateValidation) {
  auto create = [&](json::object body) { return AdminJson("POST", "/api/v1/connections", body); };
  const std::string hook = "https://hooks.example.com/p";
  Response missing_name = create({{"client_webhook", hook}});
  EXPECT_EQ(missing_name.status, 400);
  EXPECT_EQ(ErrorCode(missing_name), "missing_field");
  Response missing_hook = create({{"name", "x"}});
  EXPECT_EQ(missing_hook.status, 400);
  EXPECT_EQ(ErrorCode(missing_hook), "missing_field");
  Response empty_name = create({{"name", ""}, {"client_webhook", hook}});
  EXPECT_EQ(empty_name.status, 400);
  EXPECT_EQ(ErrorCode(empty_name), "invalid_name");
  Response long_name = create({{"name", std::string(101, 'n')}, {"client_webhook", hook}});
  EXPECT_EQ(long_name.status, 400);
  EXPECT_EQ(ErrorCode(long_name), "invalid_name");
  EXPECT_EQ(create({{"name", std::string(100, 'n')}, {"client_webhook", hook}}).status, 201);
  Response numeric_name = create({{"name", 5}, {"client_webhook", hook}});
  EXPECT_EQ(numeric_name.status, 400);
  EXPECT_EQ(ErrorCode(numeric_name), "invalid_field");
  for (const char* bad : {"http://hooks.example.com/p", "https://127.0.0.1/p", "https://10.0.0.1/p",
                          "https://169.254.169.254/latest", "ftp://hooks.example.com/", "not a url",
                          "https://[::1]/p"}) {
    Response r = create({{"name", "n"}, {"client_webhook", bad}});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(ErrorCode(r), "invalid_webhook") << bad;
  }
  Response bot = create({{"name", "b"}, {"client_webhook", hook}, {"bot", "skynet"}});
  EXPECT_EQ(bot.status, 400);
  EXPECT_EQ(ErrorCode(bot), "unknown_bot");
  EXPECT_EQ(create({{"name", "none-bot"}, {"client_webhook", hook}, {"bot", "none"}}).status, 201);
  // Names are unique.
  Response taken = create({{"name", std::string(100, 'n')}, {"client_webhook", hook}});
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(ErrorCode(taken), "name_taken");
  // Body format.
  Response text = Admin("POST", "/api/v1/connections", R"({"name":"t"})", "text/plain");
  EXPECT_EQ(text.status, 415);
  Response not_json = Admin("POST", "/api/v1/connections", "{name: t}");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(ErrorCode(not_json), "invalid_json");
  Response array = Admin("POST", "/api/v1/connections", "[]");
  EXPECT_EQ(array.status, 400);
  EXPECT_EQ(ErrorCode(array), "invalid_payload");
  // Nothing was created by the refused requests.
  Response list = Admin("GET", "/api/v1/connections");
  EXPECT_EQ(Body(list).at("connections").as_array().size(), 2u);
}

TEST_F(RouterApiTest, ListHidesSecretsShowHasThem) {
  Create("a");
  std::string id = std::string(Create("b").at("connection_id").as_string());
  Response list = Admin("GET", "/api/v1/connections");
  ASSERT_EQ(list.status, 200);
  json::array all = Body(list).at("connections").as_array();
  ASSERT_EQ(all.size(), 2u);
  for (const auto& c : all) {
    EXPECT_FALSE(c.as_object().contains("jwt_secret"));
    EXPECT_EQ(list.body.find("secret"), std::string::npos) << list.body;
  }
  Response show = Admin("GET", "/api/v1/connections/" + id);
  ASSERT_EQ(show.status, 200);
  EXPECT_EQ(Body(show).at("name"), "b");
  EXPECT_TRUE(Body(show).contains("jwt_secret"));
  Response unknown = Admin("GET", "/api/v1/connections/00000000-0000-4000-8000-00000000ffff");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ErrorCode(unknown), "connection_not_found");
}

TEST_F(RouterApiTest, PatchUpdatesAndValidates) {
  std::string id = std::string(Create("old").at("connection_id").as_string());
  Create("other");
  std::string path = "/api/v1/connections/" + id;
  Response r = AdminJson("PATCH", path, json::object{{"name", "new"}, {"enabled", false}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r).at("name"), "new");
  EXPECT_EQ(Body(r).at("enabled"), false);
  EXPECT_FALSE(Body(r).contains("jwt_secret"));
  EXPECT_FALSE(directory_.Find(id)->enabled);
  EXPECT_EQ(directory_.Find(id)->name, "new");
  // Only the fields sent change.
  Response hook =
      AdminJson("PATCH", path, json::object{{"client_webhook", "https://h2.example.com/x"}});
  ASSERT_EQ(hook.status, 200);
  EXPECT_EQ(Body(hook).at("name"), "new");
  EXPECT_EQ(Body(hook).at("client_webhook"), "https://h2.example.com/x");

  EXPECT_EQ(
      ErrorCode(AdminJson("PATCH", path, json::object{{"client_webhook", "http://x.example"}})),
      "invalid_webhook");
  EXPECT_EQ(ErrorCode(AdminJson("PATCH", path, json::object{{"name", std::string(101, 'x')}})),
            "invalid_name");
  EXPECT_EQ(ErrorCode(AdminJson("PATCH", path, json::object{{"bot", "skynet"}})), "unknown_bot");
  EXPECT_EQ(ErrorCode(AdminJson("PATCH", path, json::object{{"enabled", "yes"}})), "invalid_field");
  Response taken = AdminJson("PATCH", path, json::object{{"name", "other"}});
  EXPECT_EQ(taken.status, 409);
  Response unknown = AdminJson("PATCH", "/api/v1/connections/nope", json::object{{"name", "z"}});
  EXPECT_EQ(unknown.status, 404);
  // The refused changes left it as it was.
  Response show = Admin("GET", path);
  EXPECT_EQ(Body(show).at("name"), "new");
  EXPECT_EQ(Body(show).at("bot"), "echo");
}

TEST_F(RouterApiTest, DeleteRemovesTheConnection) {
  std::string id = std::string(Create("gone").at("connection_id").as_string());
  Response del = Admin("DELETE", "/api/v1/connections/" + id);
  ASSERT_EQ(del.status, 200);
  EXPECT_EQ(Body(del).at("deleted"), true);
  EXPECT_FALSE(directory_.Find(id));
  EXPECT_EQ(Admin("GET", "/api/v1/connections/" + id).status, 404);
  Response again = Admin("DELETE", "/api/v1/connections/" + id);
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(ErrorCode(again), "connection_not_found");
}

TEST_F(RouterApiTest, RotateSecretKeepsTheOldOneForTheGracePeriod) {
  json::object c = Create("rot", "none");
  std::string id = std::string(c.at("connection_id").as_string());
  std::string old_secret = std::string(c.at("jwt_secret").as_string());
  Response r = Admin("POST", "/api/v1/connections/" + id + "/rotate-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string new_secret = std::string(Body(r).at("jwt_secret").as_string());
  EXPECT_NE(new_secret, old_secret);
  EXPECT_GE(new_secret.size(), 43u);
  EXPECT_EQ(Body(r).at("previous_secret_valid_until"),
            json::value(FormatTimestamp(clock_.NowMs() + 24LL * 3600 * 1000)));
  json::object msg{{"type", "text"}, {"customer_id", "c"}, {"message_id", "m1"}, {"text", "hi"}};
  EXPECT_EQ(PostMessage(id, new_secret, msg).status, 200);
  msg["message_id"] = "m2";
  EXPECT_EQ(PostMessage(id, old_secret, msg).status, 200);
  clock_.Advance(24LL * 3600 * 1000);
  msg["message_id"] = "m3";
  Response late = PostMessage(id, old_secret, msg);
  EXPECT_EQ(late.status, 401);
  EXPECT_EQ(ErrorCode(late), "invalid_signature");
  EXPECT_EQ(Admin("POST", "/api/v1/connections/nope/rotate-secret").status, 404);
}

TEST_F(RouterApiTest, MessagesAcceptedThenDuplicate) {
  json::object c = Create("chan", "none");
  std::string id = std::string(c.at("connection_id").as_string());
  std::string secret = std::string(c.at("jwt_secret").as_string());
  json::object msg{
      {"type", "text"}, {"customer_id", 42}, {"message_id", 1001}, {"text", json::array{"hi"}}};
  Response first = PostMessage(id, secret, msg);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Body(first), (json::object{{"status", "accepted"}}));
  Response again = PostMessage(id, secret, msg);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(Body(again), (json::object{{"status", "duplicate"}}));
  // The conversation is visible to the admin API, with the normalised customer id.
  Response list = Admin("GET", "/api/v1/conversations");
  ASSERT_EQ(list.status, 200);
  json::array convs = Body(list).at("conversations").as_array();
  ASSERT_EQ(convs.size(), 1u);
  EXPECT_EQ(convs[0].at("customer_id"), "42");
  EXPECT_EQ(convs[0].at("state"), "queued");
  std::string conv_id = std::string(convs[0].at("id").as_string());
  Response show = Admin("GET", "/api/v1/conversations/" + conv_id);
  ASSERT_EQ(show.status, 200);
  // The customer's message, and what the queue tells them at once: with no agent signed in,
  // their place rather than an estimate.
  json::array transcript = Body(show).at("transcript").as_array();
  ASSERT_EQ(transcript.size(), 2u);
  EXPECT_EQ(transcript[1].at("type"), "text");
  EXPECT_EQ(transcript[1].at("from"), "system");
  EXPECT_EQ(Admin("GET", "/api/v1/conversations/nope").status, 404);
  EXPECT_EQ(metrics_.inbound_accepted.load(), 1u);
  EXPECT_EQ(metrics_.inbound_duplicate.load(), 1u);
}

TEST_F(RouterApiTest, MessagesRefusals) {
  json::object c = Create("chan", "none");
  std::string id = std::string(c.at("connection_id").as_string());
  std::string secret = std::string(c.at("jwt_secret").as_string());
  json::object msg{{"type", "text"}, {"customer_id", "c"}, {"message_id", "m"}, {"text", "hi"}};

  Response plain = PostMessage(id, secret, msg, "text/plain");
  EXPECT_EQ(plain.status, 415);
  EXPECT_EQ(ErrorCode(plain), "unsupported_media_type");
  EXPECT_EQ(PostMessage(id, secret, msg, "application/json; charset=utf-8").status, 200);

  Response no_token =
      Call("POST", "/messages", json::serialize(msg), {{"content-type", "application/json"}});
  EXPECT_EQ(no_token.status, 401);
  EXPECT_EQ(ErrorCode(no_token), "missing_token");
  bool has_www = false;
  for (const auto& [k, v] : no_token.headers) has_www |= k == "WWW-Authenticate";
  EXPECT_TRUE(has_www);

  Response wrong = PostMessage(id, "wrong-secret", msg);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(ErrorCode(wrong), "invalid_signature");

  Response bad_json =
      Call("POST", "/messages", "{not json",
           {{"authorization", "Bearer " + channel::SignJwt(id, clock_.NowSeconds(), secret)},
            {"content-type", "application/json"}});
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(ErrorCode(bad_json), "invalid_json");
  Response bad_type =
      PostMessage(id, secret, json::object{{"type", "video"}, {"customer_id", "c"}});
  EXPECT_EQ(bad_type.status, 400);
  EXPECT_EQ(ErrorCode(bad_type), "unknown_type");

  // Disabled: 403.
  ASSERT_EQ(
      AdminJson("PATCH", "/api/v1/connections/" + id, json::object{{"enabled", false}}).status,
      200);
  msg["message_id"] = "m-disabled";
  Response disabled = PostMessage(id, secret, msg);
  EXPECT_EQ(disabled.status, 403);
  EXPECT_EQ(ErrorCode(disabled), "connection_disabled");

  // Shutting down: 503 with Retry-After, after authentication.
  ASSERT_EQ(AdminJson("PATCH", "/api/v1/connections/" + id, json::object{{"enabled", true}}).status,
            200);
  shutting_down_ = true;
  msg["message_id"] = "m-late";
  Response late = PostMessage(id, secret, msg);
  EXPECT_EQ(late.status, 503);
  bool has_retry = false;
  for (const auto& [k, v] : late.headers) has_retry |= k == "Retry-After";
  EXPECT_TRUE(has_retry);
  // Only the accepted message was recorded.
  Response list = Admin("GET", "/api/v1/conversations");
  json::array convs = Body(list).at("conversations").as_array();
  ASSERT_EQ(convs.size(), 1u);
  Response show = Admin(
      "GET", std::string("/api/v1/conversations/") + std::string(convs[0].at("id").as_string()));
  // The customer's message, and what the queue tells them at once: with no agent signed in,
  // their place rather than an estimate.
  json::array transcript = Body(show).at("transcript").as_array();
  ASSERT_EQ(transcript.size(), 2u);
  EXPECT_EQ(transcript[1].at("type"), "text");
  EXPECT_EQ(transcript[1].at("from"), "system");
}

TEST_F(RouterApiTest, RateLimitedConnectionGets429WithRetryAfter) {
  rate_limiter_.emplace(1, 2);  // one event a second, bursts of two
  json::object c = Create("chan", "none");
  std::string id = std::string(c.at("connection_id").as_string());
  std::string secret = std::string(c.at("jwt_secret").as_string());
  auto msg = [](int i) {
    return json::object{{"type", "text"},
                        {"customer_id", "c"},
                        {"message_id", "m" + std::to_string(i)},
                        {"text", "hi"}};
  };
  EXPECT_EQ(PostMessage(id, secret, msg(1)).status, 200);
  EXPECT_EQ(PostMessage(id, secret, msg(2)).status, 200);
  Response limited = PostMessage(id, secret, msg(3));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(ErrorCode(limited), "rate_limited");
  bool has_retry = false;
  for (const auto& [k, v] : limited.headers) has_retry |= k == "Retry-After" && std::stoi(v) >= 1;
  EXPECT_TRUE(has_retry);
  // A bad token is refused as such, not counted against the rate.
  EXPECT_EQ(PostMessage(id, "wrong", msg(4)).status, 401);
  clock_.Advance(1000);
  EXPECT_EQ(PostMessage(id, secret, msg(5)).status, 200);
  // The limited message was not recorded: m3 is new when sent again later.
  clock_.Advance(1000);
  Response again = PostMessage(id, secret, msg(3));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Body(again).at("status"), "accepted");
}

TEST_F(RouterApiTest, HealthAndReadiness) {
  Response health = Call("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health), (json::object{{"status", "ok"}}));
  EXPECT_EQ(Call("GET", "/readyz").status, 200);
  shutting_down_ = true;
  Response ready = Call("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ErrorCode(ready), "not_ready");
  EXPECT_EQ(Call("GET", "/healthz").status, 200);
  shutting_down_ = false;
  store_->Close();
  EXPECT_EQ(Call("GET", "/readyz").status, 503);
}

TEST_F(RouterApiTest, MetricsText) {
  json::object c = Create("chan", "none");
  std::string id = std::string(c.at("connection_id").as_string());
  std::string secret = std::string(c.at("jwt_secret").as_string());
  json::object msg{{"type", "text"}, {"customer_id", "c"}, {"message_id", "m"}, {"text", "hi"}};
  PostMessage(id, secret, msg);
  PostMessage(id, secret, msg);
  PostMessage(id, "bad", msg);
  // The first message queued its customer, whose wait_time goes out: the dispatcher's write of
  // that attempt may still be queued for a moment. Read again until the writer is at rest
  // (bounded), then check the text.
  Response m = Call("GET", "/metrics");
  for (int i = 0; i < 200 && m.body.find("parley_store_queued_writes 0\n") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m = Call("GET", "/metrics");
  }
  EXPECT_EQ(m.status, 200);
  EXPECT_TRUE(m.content_type.starts_with("text/plain")) << m.content_type;
  for (const char* line :
       {"parley_inbound_total{outcome=\"accepted\"} 1\n",
        "parley_inbound_total{outcome=\"duplicate\"} 1\n",
        "parley_inbound_total{outcome=\"refused\"} 1\n", "# TYPE parley_inbound_total counter\n",
        "parley_connections 1\n", "parley_delivery_backlog 1\n",
        "# TYPE parley_delivery_backlog gauge\n", "# TYPE parley_store_commit_seconds histogram\n",
        "parley_store_commit_seconds_bucket{le=\"+Inf\"} ",
        "# TYPE parley_store_commits_total counter\n", "parley_store_queued_writes 0\n"})
    EXPECT_NE(m.body.find(line), std::string::npos) << "missing " << line << " in\n" << m.body;
  // One TYPE line per metric.
  size_t first = m.body.find("# TYPE parley_inbound_total");
  EXPECT_EQ(m.body.find("# TYPE parley_inbound_total", first + 1), std::string::npos);
}

TEST_F(RouterApiTest, DeliveriesEndpoint) {
  std::string id = std::string(Create("d", "none").at("connection_id").as_string());
  Response list = Admin("GET", "/api/v1/connections/" + id + "/deliveries");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_TRUE(Body(list).at("deliveries").as_array().empty());
  Response unknown = Admin("GET", "/api/v1/connections/nope/deliveries");
  EXPECT_EQ(unknown.status, 404);
  Response replay = Admin("POST", "/api/v1/deliveries/nope/replay");
  EXPECT_EQ(replay.status, 404);
  EXPECT_EQ(ErrorCode(replay), "event_not_found");
}

TEST_F(RouterApiTest, DeliveriesStatusFilterValidated) {
  std::string id = std::string(Create("d", "none").at("connection_id").as_string());
  Request req;
  req.method = "GET";
  req.path = "/api/v1/connections/" + id + "/deliveries";
  req.headers = {{"authorization", std::string("Bearer ") + kRouterAdminToken}};
  req.query = {{"status", "bogus"}};
  Response bad = Await(io_, router_.Route(req));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ErrorCode(bad), "invalid_status");
  for (const char* ok : {"pending", "failed", "dead", "delivered"}) {
    req.query = {{"status", ok}, {"limit", "5"}};
    EXPECT_EQ(Await(io_, router_.Route(req)).status, 200) << ok;
  }
}

TEST_F(RouterApiTest, ConversationsComeInPagesWithANextCursor) {
  json::object c = Create("paged", "none");
  std::string id = std::string(c.at("connection_id").as_string());
  std::string secret = std::string(c.at("jwt_secret").as_string());
  // Seven customers; the last three write in the same millisecond (the id breaks the tie).
  for (int i = 1; i <= 7; ++i) {
    if (i <= 5) clock_.Advance(10);
    json::object msg{{"type", "text"},
                     {"customer_id", "cust-" + std::to_string(i)},
                     {"message_id", "m" + std::to_string(i)},
                     {"text", "hello"}};
    ASSERT_EQ(PostMessage(id, secret, msg).status, 200);
  }
  std::vector<std::string> seen;
  std::optional<std::string> after;
  int pages = 0;
  do {
    std::map<std::string, std::string> query{{"limit", "3"}, {"connection_id", id}};
    if (after) query["after"] = *after;
    Response page = AdminGet("/api/v1/conversations", query);
    ASSERT_EQ(page.status, 200) << page.body;
    json::object body = Body(page);
    const json::array& convs = body.at("conversations").as_array();
    EXPECT_LE(convs.size(), 3u);
    for (const auto& conv : convs) seen.emplace_back(conv.at("customer_id").as_string());
    after.reset();
    if (body.at("next").is_string()) after = std::string(body.at("next").as_string());
    ASSERT_LT(++pages, 10) << "paging does not end";
  } while (after);
  EXPECT_EQ(pages, 3);
  // Most recently updated first: 5, 6, 7 share the last time, then 4, 3, 2, 1.
  ASSERT_EQ(seen.size(), 7u);
  std::vector<std::string> tied(seen.begin(), seen.begin() + 3);
  std::sort(tied.begin(), tied.end());
  EXPECT_EQ(tied, (std::vector<std::string>{"cust-5", "cust-6", "cust-7"}));
  EXPECT_EQ(std::vector<std::string>(seen.begin() + 3, seen.end()),
            (std::vector<std::string>{"cust-4", "cust-3", "cust-2", "cust-1"}));
  // The whole list in one page ends with next: null.
  Response all = AdminGet("/api/v1/conversations", {{"limit", "7"}});
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(Body(all).at("conversations").as_array().size(), 7u);
  EXPECT_TRUE(Body(all).at("next").is_null());
}

TEST_F(RouterApiTest, ListsRefuseABadLimitOrCursor) {
  std::string id = std::string(Create("d", "none").at("connection_id").as_string());
  std::string deliveries = "/api/v1/connections/" + id + "/deliveries";
  for (const std::string& path : {deliveries, std::string("/api/v1/conversations")}) {
    for (const char* bad : {"0", "1001", "ten", ""}) {
      Response r = AdminGet(path, {{"limit", bad}});
      EXPECT_EQ(r.status, 400) << path << " limit=" << bad;
      EXPECT_EQ(ErrorCode(r), "invalid_limit");
    }
    Response r = AdminGet(path, {{"after", "not-a-cursor"}});
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(ErrorCode(r), "invalid_cursor");
    Response empty = AdminGet(path, {{"limit", "1000"}});
    ASSERT_EQ(empty.status, 200) << path;
    EXPECT_TRUE(Body(empty).at("next").is_null()) << path;
  }
  // A cursor belongs to its list: one from the conversations is refused by the deliveries,
  // and one for another filter by the same list.
  std::string cursor = EncodeCursor(ListId{ListKind::kConversations, "\n\n\n"}, {1, "x"});
  EXPECT_EQ(AdminGet("/api/v1/conversations", {{"after", cursor}}).status, 200);
  EXPECT_EQ(ErrorCode(AdminGet(deliveries, {{"after", cursor}})), "invalid_cursor");
  EXPECT_EQ(ErrorCode(AdminGet("/api/v1/conversations", {{"after", cursor}, {"state", "bot"}})),
            "invalid_cursor");
}

TEST_F(RouterApiTest, BotsListedAndReloadNeedsABotsDir) {
  Response bots = Admin("GET", "/api/v1/bots");
  ASSERT_EQ(bots.status, 200);
  json::array all = Body(bots).at("bots").as_array();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("name"), "echo");
  Response reload = Admin("POST", "/api/v1/bots/echo/reload");
  EXPECT_EQ(reload.status, 409);
  EXPECT_EQ(ErrorCode(reload), "no_bots_dir");
}

}  // namespace
}  // namespace parley::http

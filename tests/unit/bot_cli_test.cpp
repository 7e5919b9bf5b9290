#include "app/bot_cli.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace parley::app {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

// A real HTTP server on 127.0.0.1 (free port) standing in for an external action. The handler
// returns the status and body to answer, or nullopt to hold the request unanswered until the
// server stops (a hung action, for timeouts).
class ActionServer {
 public:
  using Handler = std::function<std::optional<std::pair<int, std::string>>(const std::string&)>;

  explicit ActionServer(Handler handler)
      : handler_(std::move(handler)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }

  ~ActionServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    // Wake the blocking accept with a connection of our own.
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  void Serve() {
    while (true) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      if (ec) continue;
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(req.body());
      }
      auto answer = handler_(req.body());
      if (!answer) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_; });
        return;
      }
      http::response<http::string_body> res{static_cast<http::status>(answer->first), 11};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(false);
      res.body() = answer->second;
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  Handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::string> bodies_;
};

bot::ExternalCall Call(const std::string& url, int64_t timeout_ms = 3000) {
  bot::ExternalCall call;
  call.url = url;
  call.timeout_ms = timeout_ms;
  call.request = json::object{{"conversation_id", "c1"},
                              {"customer_id", "u1"},
                              {"slots", json::object{{"account", "savings"}}},
                              {"context", json::object{}}};
  return call;
}

std::string BankPath() {
  return (fs::path(__FILE__).parent_path() / "../../bots/bank.yaml").string();
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("parley-cli-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(BotCliTest, PerformCallSucceedsWithAJsonObject) {
  ActionServer server([](const std::string&) {
    return std::pair<int, std::string>{200, R"({"slots":{"found":"yes"}})"};
  });
  bot::CallOutcome o = PerformCall(Call(server.Url("/balance")), true);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.response, (json::object{{"slots", json::object{{"found", "yes"}}}}));
  ASSERT_EQ(server.bodies().size(), 1u);
  EXPECT_EQ(json::parse(server.bodies()[0]).at("slots").at("account"), "savings");
}

TEST(BotCliTest, PerformCallFailsOnErrorsBadBodiesAndTimeouts) {
  {
    ActionServer server([](const std::string&) {
      return std::pair<int, std::string>{500, R"({"error":"down"})"};
    });
    bot::CallOutcome o = PerformCall(Call(server.Url("/x")), true);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error, "HTTP status 500");
  }
  {
    ActionServer server([](const std::string&) {
      return std::pair<int, std::string>{200, "[1,2]"};
    });
    bot::CallOutcome o = PerformCall(Call(server.Url("/x")), true);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error, "the answer is not a JSON object");
  }
  {
    ActionServer server([](const std::string&) { return std::nullopt; });
    auto start = std::chrono::steady_clock::now();
    bot::CallOutcome o = PerformCall(Call(server.Url("/x"), 300), true);
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.error.find("timeout"), std::string::npos) << o.error;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
  // The address rules apply: no loopback without insecure calls.
  bot::CallOutcome o = PerformCall(Call("http://127.0.0.1:1/x"), false);
  EXPECT_FALSE(o.ok);
}

TEST(BotCliTest, CheckPrintsASummaryOrTheDiagnostics) {
  std::ostringstream out, err;
  EXPECT_EQ(RunBotCheck(BankPath(), false, out, err), 0) << err.str();
  EXPECT_NE(out.str().find(": OK: bot 'Ava'"), std::string::npos) << out.str();
  EXPECT_TRUE(err.str().empty());

  TempDir dir;
  std::string bad = dir.Write("bad.yaml",
                              "name: X\nfallback:\n  replies: [{text: x}]\nintents:\n"
                              "  - {name: a, examples: [], replies: [{text: y}]}\n"
                              "oops: 1\n");
  std::ostringstream out2, err2;
  EXPECT_EQ(RunBotCheck(bad, false, out2, err2), 1);
  EXPECT_EQ(err2.str(), bad + ":5: intent 'a' examples must not be empty\n" + bad +
                            ":6: unknown key 'oops' in the bot definition (allowed: name, "
                            "greeting, threshold, interrupt_threshold, cancel, fallback, intents, "
                            "menus, flows, escalation)\n");
  EXPECT_TRUE(out2.str().empty());
}

TEST(BotCliTest, ChatShowsIntentsNumbersChoicesAndPerformsCalls) {
  ActionServer server([](const std::string&) {
    return std::pair<int, std::string>{200, R"({"slots":{"found":"yes","balance":"£10.00"}})"};
  });
  std::string yaml = ReadFile(BankPath());
  const std::string real = "https://api.parley-bank.example/v1/balance";
  ASSERT_NE(yaml.find(real), std::string::npos);
  yaml.replace(yaml.find(real), real.size(), server.Url("/balance"));
  TempDir dir;
  std::string file = dir.Write("bank.yaml", yaml);

  ChatOptions options;
  options.customer_name = "Sam";
  options.allow_insecure_calls = true;
  std::istringstream in("what is my balance\n2\ntalk to a person\n2\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunBotChat(file, options, in, out, err), 0) << err.str();
  std::string o = out.str();
  EXPECT_NE(o.find("(intent: balance "), std::string::npos) << o;
  EXPECT_NE(o.find("Ava: Hi Sam, I'm Ava"), std::string::npos) << o;
  // Each menu is numbered from 1, though the greeting's menu came in the same turn.
  EXPECT_NE(o.find("  2) Savings account"), std::string::npos) << o;
  EXPECT_NE(o.find("(chose savings)"), std::string::npos) << o;
  EXPECT_NE(o.find("Ava: The balance of your savings account is £10.00."), std::string::npos) << o;
  EXPECT_NE(o.find("(handed over to queue 'general'"), std::string::npos) << o;
  ASSERT_EQ(server.bodies().size(), 1u);
  json::value sent = json::parse(server.bodies()[0]);
  EXPECT_EQ(sent.at("slots").at("account"), "savings");
  EXPECT_EQ(sent.at("customer_id"), "chat-customer");
}

TEST(BotCliTest, ChatNumbersEachMenuFromOneAndEchoesPipedLines) {
  ChatOptions options;
  options.echo_input = true;
  // The first turn brings the greeting's main menu (6 items) and then the queue menu: "1" is
  // the latest menu's first item, not the main menu's.
  std::istringstream in("talk to a person\n1\n");
  std::ostringstream out, err;
  ASSERT_EQ(RunBotChat(BankPath(), options, in, out, err), 0) << err.str();
  std::string o = out.str();
  EXPECT_NE(o.find("> talk to a person\n"), std::string::npos) << o;
  EXPECT_NE(o.find("> 1\n"), std::string::npos) << o;
  EXPECT_NE(o.find("  1) Cards and payments\n  2) Something else\n"), std::string::npos) << o;
  EXPECT_NE(o.find("(chose queue:cards)"), std::string::npos) << o;
  EXPECT_NE(o.find("(handed over to queue 'cards'"), std::string::npos) << o;
}

TEST(BotCliTest, ChatRefusesABadFile) {
  TempDir dir;
  std::string bad = dir.Write("bad.yaml", "name: X\n");
  std::istringstream in("hi\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunBotChat(bad, {}, in, out, err), 1);
  EXPECT_EQ(err.str(), bad + ":1: the bot definition needs 'fallback'\n");
}

TEST(BotCliTest, EvalIntentsPrintsExactlyOneJsonObject) {
  TempDir dir;
  std::string data = dir.Write("tiny.json", R"({
    "train": [["when are you open", "hours"], ["opening hours please", "hours"],
              ["what time do you close", "hours"], ["i lost my card", "card"],
              ["my card was stolen", "card"], ["block my card", "card"]],
    "val": [["are you open today", "hours"]],
    "test": [["when do you open", "hours"], ["someone stole my card", "card"]],
    "oos_train": [["what is the weather", "oos"]],
    "oos_val": [["tell me a joke", "oos"]],
    "oos_test": [["how tall is everest", "oos"]]})");
  std::ostringstream out, err;
  ASSERT_EQ(RunEvalIntents(data, true, 0.3, out, err), 0) << err.str();
  std::string text = out.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);  // one line
  json::value v = json::parse(text);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 4u);
  for (const char* key : {"in_scope_accuracy", "oos_recall", "train_seconds", "us_per_query"}) {
    ASSERT_TRUE(v.as_object().contains(key)) << key;
    EXPECT_TRUE(v.at(key).is_number()) << key;
  }
  EXPECT_GE(v.at("in_scope_accuracy").to_number<double>(), 0.0);
  EXPECT_LE(v.at("in_scope_accuracy").to_number<double>(), 100.0);

  std::ostringstream out2, err2;
  EXPECT_EQ(RunEvalIntents(dir.Write("bad.json", "[]"), true, std::nullopt, out2, err2), 1);
  EXPECT_TRUE(out2.str().empty());
  EXPECT_FALSE(err2.str().empty());
}

TEST(BotCliTest, CommandsAreRegistered) {
  CLI::App app;
  AddBotCommands(app);
  std::ostringstream out, err;
  EXPECT_NO_THROW(app.parse(std::vector<std::string>{BankPath(), "check", "bot"}));
  CLI::App app2;
  AddBotCommands(app2);
  try {
    app2.parse(std::vector<std::string>{"/nonexistent.yaml", "check", "bot"});
    ADD_FAILURE() << "expected exit 1";
  } catch (const CLI::RuntimeError& e) {
    EXPECT_EQ(e.get_exit_code(), 1);
  }
}

}  // namespace
}  // namespace parley::app

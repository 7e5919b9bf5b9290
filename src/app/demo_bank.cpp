#include "app/demo_bank.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "http/router.hpp"
#include "http/server.hpp"

namespace parley::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string Slot(const json::object& body, std::string_view name) {
  const json::value* slots = body.if_contains("slots");
  if (!slots || !slots->is_object()) return {};
  const json::value* v = slots->as_object().if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

Result<json::object> DemoBankAnswer(const std::string& path, const json::object& body) {
  if (path == "/v1/balance") {
    std::string account = Slot(body, "account");
    if (account == "current")
      return json::object{{"slots", json::object{{"found", "yes"}, {"balance", "£1,234.56"}}}};
    if (account == "savings")
      return json::object{{"slots", json::object{{"found", "yes"}, {"balance", "£5,210.00"}}}};
    return json::object{{"slots", json::object{{"found", "no"}}},
                        {"replies", json::array{"I could not find that account."}}};
  }
  if (path == "/v1/cards/block") {
    std::string last4 = Slot(body, "last4");
    bool digits = last4.size() == 4 && last4.find_first_not_of("0123456789") == std::string::npos;
    if (!digits)
      return Fail(Errc::kInvalidArgument, "invalid_last4",
                  "Send slots.last4: the card's last four digits.");
    return json::object{{"slots", json::object{{"blocked", "yes"}}}};
  }
  return Fail(Errc::kNotFound, "not_found",
              "The demo bank answers /v1/balance and /v1/cards/block.");
}

std::string PointBankCallsAt(std::string text, const std::string& bank_url) {
  const std::string from = kDemoBankOrigin;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), bank_url);
    at += bank_url.size();
  }
  return text;
}

class DemoBank::Impl {
 public:
  Impl() : server_(io_, router_, http::ServerOptions{}) {
    for (const char* path : {"/v1/balance", "/v1/cards/block"}) {
      std::string p = path;
      router_.Add("POST", p, [p](http::Request& req) -> asio::awaitable<http::Response> {
        auto parsed = http::JsonBody(req);
        if (!parsed) co_return http::ErrorResponse(parsed.error());
        if (!parsed->is_object())
          co_return http::ErrorResponse(Errc::kInvalidArgument, "invalid_body",
                                        "Send the action request: a JSON object with slots.");
        auto answer = DemoBankAnswer(p, parsed->as_object());
        if (!answer) co_return http::ErrorResponse(answer.error());
        spdlog::info("demo bank: {} answered", p);
        co_return http::Json(200, *answer);
      });
    }
  }

  Result<void> Listen(uint16_t port) {
    auto bound = server_.Listen("127.0.0.1", port);
    if (!bound) return Fail(bound.error());
    port_ = bound->port();
    thread_ = std::thread([this] { io_.run(); });
    return {};
  }

  ~Impl() {
    server_.Shutdown();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  uint16_t port_ = 0;

 private:
  asio::io_context io_;
  http::Router router_;
  http::Server server_;
  std::thread thread_;
};

Result<std::unique_ptr<DemoBank>> DemoBank::Start(uint16_t port) {
  auto impl = std::make_unique<Impl>();
  if (auto listening = impl->Listen(port); !listening) return Fail(listening.error());
  return std::unique_ptr<DemoBank>(new DemoBank(std::move(impl)));
}

DemoBank::DemoBank(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DemoBank::~DemoBank() = default;
std::string DemoBank::Url() const { return "http://127.0.0.1:" + std::to_string(impl_->port_); }

}  // namespace parley::app

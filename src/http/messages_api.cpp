// POST /messages: the Client Channel API's inbound endpoint (PROTOCOL.md §2-3).
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "channel/auth.hpp"
#include "channel/inbound.hpp"
#include "http/api_routes.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

asio::awaitable<Response> PostMessages(Request& req, ApiDeps& deps) {
  auto refuse = [&](const Error& e) {
    ++deps.metrics.inbound_refused;
    return ErrorResponse(e);
  };
  auto type = req.Header("content-type");
  if (!type || type->substr(0, type->find(';')).find("json") == std::string_view::npos)
    co_return refuse({Errc::kUnsupportedMedia, "unsupported_media_type",
                      "Send the body as JSON with 'Content-Type: application/json'."});
  auto lookup = [&deps](const std::string& id) -> std::optional<channel::Credentials> {
    auto c = deps.directory.Find(id);
    if (!c) return std::nullopt;
    return channel::Credentials{c->id, c->secret, c->previous_secret,
                                c->previous_secret_valid_until_ms.value_or(0), c->enabled};
  };
  auto who = channel::AuthenticateRequest(req.Header("authorization").value_or(""),
                                          req.Header("connection_id"), deps.clock.NowMs(), lookup);
  if (!who) co_return refuse(who.error());
  if (!deps.rate_limiter.Allow(*who, deps.clock.NowMs())) {
    ++deps.metrics.inbound_rate_limited;
    Response r = ErrorResponse(Errc::kRateLimited, "rate_limited",
                               "This connection sends faster than its rate limit; slow down and "
                               "retry after the Retry-After seconds.");
    for (auto& [k, v] : r.headers)
      if (k == "Retry-After") v = std::to_string(deps.rate_limiter.RetryAfterSeconds());
    co_return r;
  }
  if (deps.shutting_down())
    co_return refuse(
        {Errc::kUnavailable, "shutting_down", "The server is shutting down; retry shortly."});
  if (deps.dispatcher.Overloaded())
    co_return refuse({Errc::kUnavailable, "overloaded",
                      "Too many replies are waiting for delivery; retry shortly."});
  auto event = channel::DecodeInbound(req.body);
  if (!event) co_return refuse(event.error());
  auto connection = deps.directory.Find(*who);
  if (!connection)
    co_return refuse(
        {Errc::kUnauthenticated, "invalid_signature", "The token's signature does not verify."});
  auto outcome = co_await deps.conversations.HandleInbound(*connection, std::move(*event));
  if (!outcome) co_return refuse(outcome.error());
  if (outcome->duplicate) {
    ++deps.metrics.inbound_duplicate;
    co_return Json(200, json::object{{"status", "duplicate"}});
  }
  ++deps.metrics.inbound_accepted;
  co_return Json(200, json::object{{"status", "accepted"}});
}

}  // namespace

void AddMessageRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  router.Add("POST", "/messages", [d](Request& req) { return PostMessages(req, *d); });
}

}  // namespace parley::http

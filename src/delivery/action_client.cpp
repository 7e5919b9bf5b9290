#include "delivery/action_client.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

namespace parley::delivery {

boost::asio::awaitable<bot::CallOutcome> HttpActionRunner::Run(bot::ExternalCall call) {
  HttpRequest req;
  req.url = call.url;
  req.timeout = std::chrono::milliseconds(call.timeout_ms);
  req.body = boost::json::serialize(call.request);
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  auto res = co_await client_.Post(std::move(req));
  bot::CallOutcome out;
  if (!res) {
    out.error = res.error().message;
    co_return out;
  }
  if (res->status < 200 || res->status > 299) {
    out.error = fmt::format("the action answered {}", res->status);
    co_return out;
  }
  // The beginning of a longer answer can be a valid JSON object on its own ("{...}" and then
  // 1 GiB of spaces): what the action meant is unknown, so it is a failed action.
  if (res->cut) {
    out.error = "the action's answer is longer than Parley reads of an answer (64 KiB)";
    co_return out;
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(res->body, ec);
  if (ec || !v.is_object()) {
    out.error = "the action did not answer with a JSON object";
    co_return out;
  }
  out.ok = true;
  out.response = std::move(v.as_object());
  co_return out;
}

}  // namespace parley::delivery

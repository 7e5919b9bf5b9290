// Bots (admin): the list and a reload from the bots folder.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "http/api_routes.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

void AddBotRoutes(Router& router, ApiDeps& deps) {
  ApiDeps* d = &deps;
  // Bots.
  router.Add("GET", "/api/v1/bots",
             Admin(deps, [d](Request&, const Caller&) -> asio::awaitable<Response> {
               json::array arr;
               for (const auto& b : d->bots.List())
                 arr.push_back(json::object{{"name", b.name},
                                            {"display_name", b.display_name},
                                            {"source", b.source},
                                            {"loaded_at", FormatTimestamp(b.loaded_at_ms)}});
               co_return Json(200, json::object{{"bots", std::move(arr)}});
             }));
  router.Add("POST", "/api/v1/bots/{name}/reload",
             Admin(deps, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
               if (!d->reload_bot)
                 co_return ErrorResponse(
                     Errc::kConflict, "no_bots_dir",
                     "The server runs without --bots; there is no file to reload.");
               std::string name = req.Param("name");
               // Loading and training are slow: they run on the blocking pool, and the answer comes
               // back here. (A post to the pool alone would resume this coroutine on its own I/O
               // thread.)
               auto load = [d, name]() -> asio::awaitable<Result<bot::BotInfo>> {
                 co_return d->reload_bot(name);
               };
               auto info = co_await asio::co_spawn(d->blocking, load, asio::use_awaitable);
               co_return Reply(200, info, [](const auto& b) {
                 return json::object{{"name", b.name},
                                     {"display_name", b.display_name},
                                     {"source", b.source},
                                     {"loaded_at", FormatTimestamp(b.loaded_at_ms)}};
               });
             }));
}

}  // namespace parley::http

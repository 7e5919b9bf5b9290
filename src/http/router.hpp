#pragma once
// Maps (method, path pattern) to a handler. Patterns are literal segments and {name}
// captures: "/api/v1/connections/{id}/deliveries". Unknown paths answer 404, known paths with
// another method 405, both with the JSON error body. WebSocket routes (AddWebSocket) are
// matched by the server for upgrade requests; a plain request on one answers 426.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "http/request.hpp"
#include "http/websocket.hpp"

namespace parley::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  // Finds the route, fills req.params and runs its handler. Thread-safe after set-up.
  boost::asio::awaitable<Response> Route(Request& req) const;

  // A WebSocket endpoint at `pattern` (same syntax as Add), for GET upgrade requests.
  void AddWebSocket(std::string pattern, UpgradeHandler handler);
  // The upgrade handler whose pattern matches req.path (and fills req.params), or null.
  const UpgradeHandler* MatchWebSocket(Request& req) const;

 private:
  struct Route_ {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route_> routes_;
  struct WebSocketRoute {
    std::vector<std::string> segments;
    UpgradeHandler handler;
  };
  std::vector<WebSocketRoute> websocket_routes_;
};

std::vector<std::string> SplitPath(std::string_view path);

}  // namespace parley::http

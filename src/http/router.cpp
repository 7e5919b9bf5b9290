#include "http/router.hpp"

namespace parley::http {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

namespace {

// Matches `segments` against a route pattern's segments; fills `params` on a match.
bool MatchSegments(const std::vector<std::string>& pattern,
                   const std::vector<std::string>& segments,
                   std::map<std::string, std::string>& params) {
  if (pattern.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& s = pattern[i];
    if (s.size() > 2 && s.front() == '{' && s.back() == '}')
      params[s.substr(1, s.size() - 2)] = segments[i];
    else if (s != segments[i])
      return false;
  }
  return true;
}

}  // namespace

void Router::AddWebSocket(std::string pattern, UpgradeHandler handler) {
  websocket_routes_.push_back({SplitPath(pattern), std::move(handler)});
}

const UpgradeHandler* Router::MatchWebSocket(Request& req) const {
  if (req.method != "GET") return nullptr;
  std::vector<std::string> segments = SplitPath(req.path);
  for (const auto& route : websocket_routes_) {
    std::map<std::string, std::string> params;
    if (!MatchSegments(route.segments, segments, params)) continue;
    req.params = std::move(params);
    return &route.handler;
  }
  return nullptr;
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
  routes_.push_back({std::move(method), SplitPath(pattern), std::move(handler)});
}

boost::asio::awaitable<Response> Router::Route(Request& req) const {
  std::vector<std::string> segments = SplitPath(req.path);
  bool path_known = false;
  std::string allowed;  // the methods the path accepts, for a 405's Allow header
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& s = route.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}')
        params[s.substr(1, s.size() - 2)] = segments[i];
      else
        match = s == segments[i];
    }
    if (!match) continue;
    path_known = true;
    if (route.method != req.method) {
      if (allowed.find(route.method) == std::string::npos)
        allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    req.params = std::move(params);
    co_return co_await route.handler(req);
  }
  if (!path_known) {
    std::map<std::string, std::string> params;
    for (const auto& route : websocket_routes_) {
      if (!MatchSegments(route.segments, segments, params)) continue;
      Response r = ErrorResponse(Errc::kInvalidArgument, "upgrade_required",
                                 "This is a WebSocket endpoint; connect with a WebSocket client.");
      r.status = 426;
      r.headers.emplace_back("Upgrade", "websocket");
      co_return r;
    }
  }
  if (path_known) {
    Response r = ErrorResponse(Errc::kInvalidArgument, "method_not_allowed",
                               "This path does not accept " + req.method.substr(0, 16) + ".");
    r.status = 405;
    r.headers.emplace_back("Allow", allowed);
    co_return r;
  }
  co_return ErrorResponse(Errc::kNotFound, "not_found",
                          "No such endpoint; docs/api.md lists them all.");
}

}  // namespace parley::http

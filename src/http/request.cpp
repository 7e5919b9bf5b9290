#include "http/request.hpp"

#include <boost/json.hpp>

namespace parley::http {

std::optional<std::string_view> Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return std::string_view(v);
  return std::nullopt;
}

std::optional<std::string> Request::Query(const std::string& key) const {
  auto it = query.find(key);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

const std::string& Request::Param(const std::string& key) const {
  static const std::string kEmpty;
  auto it = params.find(key);
  return it == params.end() ? kEmpty : it->second;
}

Response Json(int status, const boost::json::value& body) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

Response ErrorResponse(const Error& error) {
  boost::json::object inner{{"code", error.code}, {"message", error.message}};
  Response r = Json(HttpStatus(error.errc), boost::json::object{{"error", std::move(inner)}});
  if (error.errc == Errc::kRateLimited || error.errc == Errc::kUnavailable)
    r.headers.emplace_back("Retry-After", "1");
  if (error.errc == Errc::kUnauthenticated)
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Response ErrorResponse(Errc errc, std::string code, std::string message) {
  return ErrorResponse(Error{errc, std::move(code), std::move(message)});
}

Result<boost::json::value> JsonBody(const Request& req) {
  auto type = req.Header("content-type");
  if (!type || type->substr(0, type->find(';')).find("json") == std::string_view::npos)
    return Fail(Errc::kUnsupportedMedia, "unsupported_media_type",
                "Send the body as JSON with 'Content-Type: application/json'.");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(req.body, ec);
  if (ec) return Fail(Errc::kInvalidArgument, "invalid_json", "The body is not valid JSON.");
  return v;
}

}  // namespace parley::http

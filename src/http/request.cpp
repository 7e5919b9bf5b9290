#include "http/request.hpp"

#include <boost/json.hpp>

namespace parley::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX and '+' of one query component; a malformed escape is kept as written.
std::string DecodeComponent(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = DecodeComponent(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : DecodeComponent(pair.substr(eq + 1));
    out.emplace(std::move(key), std::move(value));  // the first of repeated keys wins
  }
  return out;
}

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
  if (error.errc == Errc::kUnauthenticated) r.headers.emplace_back("WWW-Authenticate", "Bearer");
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

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace parley::http

#pragma once
// What a handler sees of an HTTP exchange: plain strings, no Beast types.

#include <boost/json/value.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace parley::http {

struct Request {
  std::string method;  // upper case: GET, POST, ...
  std::string path;    // without the query
  std::map<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::map<std::string, std::string> params;  // from the route pattern, e.g. {id}
  std::string remote_address;                 // the client's IP address (http/client_address.hpp)
  // When the whole request had been read (server.cpp): a handler times its answer from here.
  std::chrono::steady_clock::time_point received_at{};

  // The first header of that (lower-case) name.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
  std::optional<std::string> Query(const std::string& key) const;
  const std::string& Param(const std::string& key) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Splits and percent-decodes a query string ("a=1&b=x%20y"); the first of repeated keys wins.
std::map<std::string, std::string> ParseQuery(std::string_view query);

Response Json(int status, const boost::json::value& body);
// The error body of PROTOCOL.md §3.4; 429 and 503 carry Retry-After.
Response ErrorResponse(const Error& error);
Response ErrorResponse(Errc errc, std::string code, std::string message);
// The answer for a Result: the error, or `status` with encode(value).
template <class T, class F>
Response Reply(int status, const Result<T>& r, F encode) {
  if (!r) return ErrorResponse(r.error());
  return Json(status, encode(*r));
}

// Parses a JSON body into a value, or the error to answer with (invalid_json, 415 when the
// content type is not JSON).
Result<boost::json::value> JsonBody(const Request& req);

// `s` without the spaces and tabs at either end (a header value's optional whitespace).
std::string_view TrimSpaces(std::string_view s);

}  // namespace parley::http

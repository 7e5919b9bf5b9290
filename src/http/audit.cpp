#include "http/audit.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <vector>

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string_view::npos) break;
    path = path.substr(slash + 1);
  }
  return out;
}

std::string Singular(std::string_view resource) {
  if (resource == "deliveries") return "delivery";
  if (resource == "queues") return "queue";
  std::string s(resource);
  if (!s.empty() && s.back() == 's') s.pop_back();
  return s;
}

std::string StringField(std::string_view body, std::string_view field) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  const json::value* f = v.as_object().if_contains(field);
  return f && f->is_string() ? std::string(f->as_string()) : "";
}

// The names of the body's top-level fields: what a change touched, never a value.
json::object Detail(const Request& req) {
  json::array fields;
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (!ec && v.is_object())
    for (const auto& kv : v.as_object()) fields.emplace_back(kv.key());
  json::object o;
  if (!fields.empty()) o["fields"] = std::move(fields);
  return o;
}

}  // namespace

AuditedAction ClassifyAdminRequest(const Request& req, const Response& res) {
  auto segs = Segments(req.path);
  // /api/v1/<resource>[/<id>[/<verb>]]
  if (segs.size() < 3 || segs[0] != "api" || segs[1] != "v1") return {};
  std::string kind = Singular(segs[2]);
  if (req.method == "GET" || req.method == "HEAD") {
    // The one read that hands out a secret.
    if (segs.size() == 4 && segs[2] == "connections")
      return {"connection.read_secret", std::string(segs[3])};
    return {};
  }
  if (segs.size() >= 5) {
    std::string verb(segs[4]);
    for (auto& c : verb)
      if (c == '-') c = '_';
    if (verb == "password") verb = "set_password";
    return {kind + "." + verb, std::string(segs[3])};
  }
  if (segs.size() == 4) {
    std::string verb = req.method == "DELETE" ? "delete" : "update";
    return {kind + "." + verb, std::string(segs[3])};
  }
  std::string target = StringField(req.body, "username");
  if (target.empty()) target = StringField(req.body, "name");
  if (target.empty()) target = StringField(res.body, "connection_id");
  return {kind + ".create", target};
}

CallerHandler Audited(manager::AuditLog* log, CallerHandler inner) {
  return [log, inner = std::move(inner)](Request& req,
                                         const Caller& caller) -> asio::awaitable<Response> {
    Response res = co_await inner(req, caller);
    if (!log) co_return res;
    AuditedAction what = ClassifyAdminRequest(req, res);
    if (what.action.empty()) co_return res;
    storage::AuditRecord entry;
    entry.actor = caller.static_admin ? "admin-token" : caller.username;
    entry.role = caller.role;
    entry.action = std::move(what.action);
    entry.target = std::move(what.target);
    entry.address = req.remote_address;
    entry.outcome = res.status;
    entry.detail = json::serialize(Detail(req));
    co_await log->Record(std::move(entry));
    co_return res;
  };
}

void AddAuditRoutes(Router& router, Authenticator& auth, manager::AuditLog& log) {
  manager::AuditLog* l = &log;
  router.Add(
      "GET", "/api/v1/audit",
      RequireAdmin(auth, [l](Request& req, const Caller&) -> asio::awaitable<Response> {
        auto number = [&](const char* key, int64_t fallback, int64_t min,
                          int64_t max) -> std::optional<int64_t> {
          auto text = req.Query(key);
          if (!text) return fallback;
          int64_t n = 0;
          auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
          if (ec != std::errc() || end != text->data() + text->size() || n < min || n > max)
            return std::nullopt;
          return n;
        };
        auto before = number("before", 0, 1, INT64_MAX);
        if (!before)
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_before",
                                  "before must be the id of an entry (a positive integer) from "
                                  "next_before of the previous page.");
        auto limit = number("limit", 100, 1, static_cast<int64_t>(manager::kMaxAuditPage));
        if (!limit)
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_limit",
                                  "limit must be an integer from 1 to 1000.");
        auto entries = co_await l->List(*before, static_cast<size_t>(*limit) + 1);
        if (!entries) co_return ErrorResponse(entries.error());
        json::array arr;
        size_t shown = std::min(entries->size(), static_cast<size_t>(*limit));
        for (size_t i = 0; i < shown; ++i) arr.push_back(manager::AuditLog::ToJson((*entries)[i]));
        json::value next = nullptr;
        if (entries->size() > shown) next = (*entries)[shown - 1].id;
        Response r = Json(200, json::object{{"entries", std::move(arr)}, {"next_before", next}});
        r.headers.emplace_back("Cache-Control", "no-store");
        co_return r;
      }));
}

}  // namespace parley::http

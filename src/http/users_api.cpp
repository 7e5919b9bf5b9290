#include "http/users_api.hpp"

#include <boost/json.hpp>

#include "http/audit.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::object CallerJson(const Caller& c) {
  json::array queues;
  for (const auto& q : c.queues) queues.emplace_back(q);
  json::object o{
      {"username", c.username},        {"display_name", c.display_name}, {"role", c.role},
      {"queues", std::move(queues)},   {"max_chats", c.max_chats},       {"enabled", true},
      {"static_admin", c.static_admin}};
  return o;
}

asio::awaitable<Response> Login(Request& req, UsersApiDeps& d) {
  auto body = JsonBody(req);
  if (!body) co_return ErrorResponse(body.error());
  const json::object* o = body->if_object();
  const json::value* user = o ? o->if_contains("username") : nullptr;
  const json::value* pass = o ? o->if_contains("password") : nullptr;
  if (!user || !user->is_string() || !pass || !pass->is_string())
    co_return ErrorResponse(Errc::kInvalidArgument, "invalid_payload",
                            "Send a JSON object with 'username' and 'password' strings.");
  int64_t retry_after = 0;
  auto done =
      co_await d.sessions.Login(std::string(user->as_string()), std::string(pass->as_string()),
                                req.remote_address, &retry_after);
  if (!done) {
    if (d.metrics && done.error().code == "invalid_credentials") ++d.metrics->sign_in_invalid;
    if (d.metrics && done.error().code == "too_many_attempts") ++d.metrics->sign_in_throttled;
    Response r = ErrorResponse(done.error());
    if (done.error().errc == Errc::kRateLimited)
      for (auto& [k, v] : r.headers)
        if (k == "Retry-After") v = std::to_string(retry_after);
    co_return r;
  }
  Response r = Json(200, json::object{{"token", done->token},
                                      {"csrf", done->csrf},
                                      {"user", manager::UserJson(done->user)}});
  r.headers.emplace_back("Set-Cookie", SessionCookie(done->token, d.secure_cookie));
  r.headers.emplace_back("Cache-Control", "no-store");
  co_return r;
}

asio::awaitable<Response> Logout(Request& req, UsersApiDeps& d) {
  auto id = co_await d.auth.Identify(req);
  if (!id) co_return ErrorResponse(id.error());
  if (!id->token.empty()) {
    auto done = co_await d.sessions.Logout(id->token);
    if (!done) co_return ErrorResponse(done.error());
  }
  Response r = Json(200, json::object{{"signed_out", true}});
  r.headers.emplace_back("Set-Cookie", ClearedSessionCookie(d.secure_cookie));
  co_return r;
}

asio::awaitable<Response> Me(Request& req, UsersApiDeps& d) {
  auto id = co_await d.auth.Identify(req, /*csrf_exempt=*/true);
  if (!id) co_return ErrorResponse(id.error());
  json::object user;
  if (id->caller.static_admin) {
    user = CallerJson(id->caller);
  } else {
    // The full record, with its timestamps, as the users API shows it.
    auto u = co_await d.users.Get(id->caller.username);
    if (!u) co_return ErrorResponse(u.error());
    user = manager::UserJson(*u);
  }
  Response r = Json(200, json::object{{"user", std::move(user)}, {"csrf", id->csrf}});
  r.headers.emplace_back("Cache-Control", "no-store");
  co_return r;
}

}  // namespace

void AddUserRoutes(Router& router, UsersApiDeps& deps) {
  UsersApiDeps* d = &deps;
  Authenticator& auth = deps.auth;

  router.Add("POST", "/api/v1/auth/login", [d](Request& req) { return Login(req, *d); });
  router.Add("POST", "/api/v1/auth/logout", [d](Request& req) { return Logout(req, *d); });
  router.Add("GET", "/api/v1/auth/me", [d](Request& req) { return Me(req, *d); });

  router.Add(
      "POST", "/api/v1/users",
      RequireAdmin(auth,
                   Audited(d->audit, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
                     auto body = JsonBody(req);
                     if (!body) co_return ErrorResponse(body.error());
                     auto input = manager::DecodeNewUser(*body);
                     if (!input) co_return ErrorResponse(input.error());
                     auto created = co_await d->users.Create(std::move(*input));
                     co_return Reply(201, created, manager::UserJson);
                   })));
  router.Add("GET", "/api/v1/users",
             RequireAdmin(
                 auth, Audited(d->audit, [d](Request&, const Caller&) -> asio::awaitable<Response> {
                   auto all = co_await d->users.List();
                   co_return Reply(200, all, [](const auto& list) {
                     json::array arr;
                     for (const auto& u : list) arr.push_back(manager::UserJson(u));
                     return json::object{{"users", std::move(arr)}};
                   });
                 })));
  router.Add(
      "GET", "/api/v1/users/{username}",
      RequireAdmin(auth,
                   Audited(d->audit, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
                     auto u = co_await d->users.Get(req.Param("username"));
                     co_return Reply(200, u, manager::UserJson);
                   })));
  router.Add(
      "PATCH", "/api/v1/users/{username}",
      RequireAdmin(auth,
                   Audited(d->audit, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
                     auto body = JsonBody(req);
                     if (!body) co_return ErrorResponse(body.error());
                     auto changes = manager::DecodeUserChanges(*body);
                     if (!changes) co_return ErrorResponse(changes.error());
                     auto u = co_await d->users.Update(req.Param("username"), std::move(*changes));
                     co_return Reply(200, u, manager::UserJson);
                   })));
  router.Add(
      "DELETE", "/api/v1/users/{username}",
      RequireAdmin(auth,
                   Audited(d->audit, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
                     auto r = co_await d->users.Delete(req.Param("username"));
                     if (!r) co_return ErrorResponse(r.error());
                     co_return Json(200, json::object{{"deleted", true}});
                   })));
  router.Add(
      "POST", "/api/v1/users/{username}/password",
      RequireAdmin(
          auth, Audited(d->audit, [d](Request& req, const Caller&) -> asio::awaitable<Response> {
            auto body = JsonBody(req);
            if (!body) co_return ErrorResponse(body.error());
            auto password = manager::DecodePassword(*body);
            if (!password) co_return ErrorResponse(password.error());
            auto r = co_await d->users.SetPassword(req.Param("username"), std::move(*password));
            if (!r) co_return ErrorResponse(r.error());
            co_return Json(200, json::object{{"password_changed", true}});
          })));
}

}  // namespace parley::http

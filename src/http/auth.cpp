#include "http/auth.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>
#include <cctype>

namespace parley::http {
namespace asio = boost::asio;

namespace {

Failure Unauthenticated() {
  return Fail(Errc::kUnauthenticated, "unauthenticated",
              "Sign in: send 'Authorization: Bearer <token>' or the session cookie.");
}

// The rule table: each role and what it may do.
constexpr unsigned Bit(Permission p) { return 1u << static_cast<unsigned>(p); }

struct RoleRule {
  std::string_view role;
  unsigned may;  // Bit(permission) of each permission the role has
};
constexpr RoleRule kRules[] = {
    {"agent", Bit(Permission::kAgentWork)},
    {"supervisor",
     Bit(Permission::kAgentWork) | Bit(Permission::kSeeAll) | Bit(Permission::kSupervise)},
    {"admin", Bit(Permission::kAgentWork) | Bit(Permission::kSeeAll) | Bit(Permission::kSupervise) |
                  Bit(Permission::kAdminister)},
};

std::string_view Needs(Permission p) {
  switch (p) {
    case Permission::kAgentWork:
      return "a signed-in user";
    case Permission::kSeeAll:
    case Permission::kSupervise:
      return "a supervisor or an administrator";
    case Permission::kAdminister:
      break;
  }
  return "an administrator";
}

Caller FromUser(const storage::UserRecord& u, bool by_cookie) {
  return Caller{u.username, u.display_name, u.role, u.queues, u.max_chats, false, by_cookie};
}

}  // namespace

std::optional<std::string> BearerToken(const Request& req) {
  auto auth = req.Header("authorization");
  if (!auth) return std::nullopt;
  std::string_view v = TrimSpaces(*auth);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() + 1 || (v[kScheme.size()] != ' ' && v[kScheme.size()] != '\t'))
    return std::nullopt;
  if (!std::equal(kScheme.begin(), kScheme.end(), v.begin(),
                  [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
    return std::nullopt;
  std::string_view token = TrimSpaces(v.substr(kScheme.size() + 1));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

std::optional<std::string> CookieValue(const Request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = TrimSpaces(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (TrimSpaces(pair.substr(0, eq)) != name) continue;
      std::string_view value = TrimSpaces(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (value.empty()) continue;
      return std::string(value);
    }
  }
  return std::nullopt;
}

bool IsHttpsUrl(std::string_view public_url) {
  auto parsed = boost::urls::parse_absolute_uri(public_url);
  return parsed && parsed->scheme_id() == boost::urls::scheme::https;
}

const char* SessionCookieName(bool secure) {
  return secure ? kSecureSessionCookie : kSessionCookie;
}

std::string SessionCookie(const std::string& token, bool secure) {
  return std::string(SessionCookieName(secure)) + "=" + token +
         "; HttpOnly; SameSite=Strict; Path=/" + (secure ? "; Secure" : "");
}

std::string ClearedSessionCookie(bool secure) {
  return std::string(SessionCookieName(secure)) +
         "=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/" + (secure ? "; Secure" : "");
}

Authenticator::Authenticator(manager::SessionService& sessions, std::string admin_token,
                             bool secure_cookie)
    : sessions_(sessions), admin_token_(std::move(admin_token)), secure_cookie_(secure_cookie) {}

asio::awaitable<Result<Identity>> Authenticator::Identify(const Request& req, bool csrf_exempt) {
  if (auto bearer = BearerToken(req)) {
    if (!admin_token_.empty() && manager::SameSecret(*bearer, admin_token_)) {
      Identity id;
      id.caller.display_name = "Administrator";
      id.caller.role = "admin";
      id.caller.static_admin = true;
      co_return id;
    }
    auto info = co_await sessions_.Resolve(*bearer);
    if (!info) co_return Fail(info.error());
    co_return Identity{FromUser(info->user, false), std::move(*bearer), info->session.csrf};
  }
  // An Authorization header that is not a bearer token does not fall back to the cookie.
  if (req.Header("authorization")) co_return Unauthenticated();
  auto cookie = CookieValue(req, SessionCookieName(secure_cookie_));
  if (!cookie) co_return Unauthenticated();
  auto info = co_await sessions_.Resolve(*cookie);
  if (!info) co_return Fail(info.error());
  if (!csrf_exempt) {
    auto sent = req.Header(kCsrfHeader);
    if (!sent || !manager::SameSecret(TrimSpaces(*sent), info->session.csrf))
      co_return Fail(Errc::kPermissionDenied, "csrf_failed",
                     "Send the 'X-Parley-CSRF' header with the csrf value from sign-in or "
                     "GET /api/v1/auth/me.");
  }
  co_return Identity{FromUser(info->user, true), std::move(*cookie), info->session.csrf};
}

asio::awaitable<Result<Caller>> Authenticator::Authenticate(const Request& req, bool csrf_exempt) {
  auto id = co_await Identify(req, csrf_exempt);
  if (!id) co_return Fail(id.error());
  co_return std::move(id->caller);
}

Handler RequireUser(Authenticator& auth, CallerHandler inner) {
  return [&auth, inner = std::move(inner)](Request& req) -> asio::awaitable<Response> {
    auto caller = co_await auth.Authenticate(req);
    if (!caller) co_return ErrorResponse(caller.error());
    co_return co_await inner(req, *caller);
  };
}

bool Allows(std::string_view role, Permission p) {
  for (const auto& rule : kRules)
    if (rule.role == role) return (rule.may & Bit(p)) != 0;
  return false;
}

Handler Require(Authenticator& auth, Permission p, CallerHandler inner) {
  return [&auth, p, inner = std::move(inner)](Request& req) -> asio::awaitable<Response> {
    auto caller = co_await auth.Authenticate(req);
    if (!caller) co_return ErrorResponse(caller.error());
    if (!Allows(*caller, p))
      co_return ErrorResponse(
          Errc::kPermissionDenied, "forbidden",
          fmt::format("This needs {}; your role ({}) cannot use it.", Needs(p), caller->role));
    co_return co_await inner(req, *caller);
  };
}

Handler RequireAdmin(Authenticator& auth, CallerHandler inner) {
  return Require(auth, Permission::kAdminister, std::move(inner));
}

}  // namespace parley::http

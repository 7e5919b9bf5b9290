#pragma once
// Who sends a request: the static admin token, a session token as a bearer, or the session
// cookie (then with the CSRF header). Every agent and admin handler goes through this.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "http/request.hpp"
#include "http/router.hpp"
#include "manager/session_service.hpp"

namespace parley::http {

inline constexpr const char* kSessionCookie = "parley_session";
// Under https the cookie carries the __Host- prefix: the browser then takes it only with
// Secure, Path=/ and no Domain, so no other host or plain-http page can set or overwrite it.
inline constexpr const char* kSecureSessionCookie = "__Host-parley_session";
inline constexpr const char* kCsrfHeader = "x-parley-csrf";

struct Caller {
  std::string username;  // empty for the static admin token
  std::string display_name;
  std::string role;  // "admin" | "supervisor" | "agent"
  std::vector<std::string> queues;
  int64_t max_chats = 0;
  bool static_admin = false;  // the PARLEY_ADMIN_TOKEN
  bool by_cookie = false;
};

// What Authenticate found, with the session's own details (for /auth/me and logout).
struct Identity {
  Caller caller;
  std::string token;  // the session token sent (empty for the static admin token)
  std::string csrf;   // the session's CSRF token (empty for the static admin token)
};

// The token of `Authorization: Bearer <token>` (scheme case-insensitive), or nothing.
std::optional<std::string> BearerToken(const Request& req);
// The value of cookie `name` across every Cookie header, or nothing.
std::optional<std::string> CookieValue(const Request& req, std::string_view name);
// True when `public_url`'s scheme is https, in any case (`HTTPS://...`); false for anything
// that does not parse as an absolute URL.
bool IsHttpsUrl(std::string_view public_url);
// The session cookie's name: kSecureSessionCookie when `secure`, else kSessionCookie.
const char* SessionCookieName(bool secure);
// The Set-Cookie value carrying a session token (`Secure` and the __Host- name when the server
// is reached by https).
std::string SessionCookie(const std::string& token, bool secure);
// The Set-Cookie value that removes the session cookie.
std::string ClearedSessionCookie(bool secure);

class Authenticator {  // thread-safe
 public:
  // `admin_token` empty: no static admin. `secure_cookie`: the public URL is https, so the
  // session cookie is the one named kSecureSessionCookie.
  Authenticator(manager::SessionService& sessions, std::string admin_token,
                bool secure_cookie = false);
  manager::SessionService& sessions() { return sessions_; }

  // Who sends `req`: `Authorization: Bearer <static admin token>` or `Bearer <session token>`
  // (scheme case-insensitive), or the session cookie — then `X-Parley-CSRF` must
  // equal the session's csrf unless `csrf_exempt` (GET /api/v1/auth/me and the WebSocket
  // upgrade, which checks Origin). Fails with 401 `unauthenticated` (no/invalid/expired
  // credentials, disabled or deleted user) or 403 `csrf_failed`. Every call reads the store:
  // nothing is cached, so a disabled user loses access at once.
  boost::asio::awaitable<Result<Caller>> Authenticate(const Request& req, bool csrf_exempt = false);
  boost::asio::awaitable<Result<Identity>> Identify(const Request& req, bool csrf_exempt = false);

 private:
  manager::SessionService& sessions_;
  std::string admin_token_;
  bool secure_cookie_;
};

// What a role may do. The one rule table is in auth.cpp (Allows); handlers ask it instead of
// comparing role names.
enum class Permission {
  kAgentWork,   // take and work chats, presence, one's own history: every role
  kSeeAll,      // every queue, agent and conversation, the overview: supervisors and admins
  kSupervise,   // monitor, whisper, join, transfer any chat, force away, sign out: the same
  kAdminister,  // connections, users, bots, deliveries, queue changes, the audit log: admins
};
// True when `role` ("admin", "supervisor", "agent") has `p`; an unknown role has nothing.
bool Allows(std::string_view role, Permission p);
inline bool Allows(const Caller& caller, Permission p) { return Allows(caller.role, p); }

// Handler wrappers: 401 without valid credentials; RequireAdmin answers 403 `forbidden` to an
// agent or a supervisor, Require to a caller whose role lacks `p`. `auth` must outlive the router.
using CallerHandler = std::function<boost::asio::awaitable<Response>(Request&, const Caller&)>;
Handler RequireAdmin(Authenticator& auth, CallerHandler inner);
Handler Require(Authenticator& auth, Permission p, CallerHandler inner);
Handler RequireUser(Authenticator& auth, CallerHandler inner);  // any signed-in user

}  // namespace parley::http

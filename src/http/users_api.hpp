#pragma once
// Users and sign-in over REST: POST /api/v1/auth/login, POST /api/v1/auth/logout,
// GET /api/v1/auth/me, and the admin's /api/v1/users CRUD with password changes.

#include "http/api.hpp"
#include "http/auth.hpp"
#include "http/router.hpp"
#include "manager/audit_log.hpp"
#include "manager/session_service.hpp"
#include "manager/user_service.hpp"

namespace parley::http {

struct UsersApiDeps {
  manager::UserService& users;
  manager::SessionService& sessions;
  Authenticator& auth;
  bool secure_cookie = false;          // the public URL is https: the session cookie gets `Secure`
  manager::AuditLog* audit = nullptr;  // admins' changes to users are recorded here
  ApiMetrics* metrics = nullptr;       // counts refused sign-ins when set
};

// Adds the routes. `deps` must outlive the router.
void AddUserRoutes(Router& router, UsersApiDeps& deps);

}  // namespace parley::http

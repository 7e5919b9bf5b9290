#pragma once
// The audit log over HTTP: the wrapper that records what an administrator's request did, and
// GET /api/v1/audit (admin).

#include <string>
#include <string_view>

#include "http/auth.hpp"
#include "http/router.hpp"
#include "manager/audit_log.hpp"

namespace parley::http {

// What an admin request is, for the log: `action` (connection.create, user.password,
// connection.rotate_secret, bot.reload, connection.read_secret, ...) and its `target`. Empty
// action: not recorded (reads, except a connection with its secret). Create actions take the
// target from the request's `username`/`name` or the answer's `connection_id`.
struct AuditedAction {
  std::string action;
  std::string target;
};
AuditedAction ClassifyAdminRequest(const Request& req, const Response& res);

// Wraps an admin handler: after it answers, records the action with the caller, the client's
// address, the status and the names of the JSON body's fields (never their values). `log` may
// be null (nothing recorded); it must outlive the router.
CallerHandler Audited(manager::AuditLog* log, CallerHandler inner);

// GET /api/v1/audit?before=ID&limit=N → {"entries":[...], "next_before": ID|null}.
void AddAuditRoutes(Router& router, Authenticator& auth, manager::AuditLog& log);

}  // namespace parley::http

#pragma once
// What the per-resource route files of http/ share (internal to http/).

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "http/api.hpp"

namespace parley::http {

// Wraps an admin handler: the admin check (static token or an admin user) and the request count.
Handler Admin(ApiDeps& deps, CallerHandler inner);
// Wraps a handler any signed-in user may call.
Handler User(ApiDeps& deps, CallerHandler inner);
// Wraps a handler for the roles with `p` (auth.hpp's rule table).
Handler Permitted(ApiDeps& deps, Permission p, CallerHandler inner);

// The rule of GET /api/v1/conversations/{id}: supervisors and admins read every conversation;
// an agent the ones they own or are offered, and those that wait in (or came from) their queues.
bool MayRead(const Caller& caller, const storage::ConversationRecord& c);

// The body of PUT /api/v1/agents/me and /api/v1/agents/{username}/status:
// {"status": "available"|"away", "reason"?: "..."} (the reason is checked by routing).
struct StatusChange {
  std::string status;
  std::optional<std::string> reason;
};
Result<StatusChange> DecodeStatus(const boost::json::value& body);

// Each adds one resource's routes (messages_api.cpp, operations_api.cpp, connections_api.cpp,
// conversations_api.cpp, queues_api.cpp, bots_api.cpp, events_api.cpp).
void AddMessageRoutes(Router& router, ApiDeps& deps);
void AddOperationRoutes(Router& router, ApiDeps& deps);
void AddConnectionRoutes(Router& router, ApiDeps& deps);
void AddConversationRoutes(Router& router, ApiDeps& deps);
void AddQueueRoutes(Router& router, ApiDeps& deps);
void AddBotRoutes(Router& router, ApiDeps& deps);
void AddEventRoutes(Router& router, ApiDeps& deps);
// Canned responses and internal notes (agent_tools_api.cpp).
void AddAgentToolRoutes(Router& router, ApiDeps& deps);
// Reports (issue 19) and, with --test-clock, the test clock (reports_api.cpp).
void AddReportRoutes(Router& router, ApiDeps& deps);
// Supervisors' actions: monitor, whisper, join, force away, sign out (supervisor_api.cpp).
void AddSupervisorRoutes(Router& router, ApiDeps& deps);

}  // namespace parley::http

#include "http/api.hpp"

#include <algorithm>

#include "http/api_routes.hpp"
#include "http/audit.hpp"

namespace parley::http {

Handler Admin(ApiDeps& deps, CallerHandler inner) {
  CallerHandler audited = Audited(deps.audit, std::move(inner));
  return RequireAdmin(deps.auth,
                      [&deps, inner = std::move(audited)](
                          Request& req, const Caller& caller) -> boost::asio::awaitable<Response> {
                        ++deps.metrics.admin_requests;
                        co_return co_await inner(req, caller);
                      });
}

Handler User(ApiDeps& deps, CallerHandler inner) {
  return RequireUser(deps.auth, std::move(inner));
}

Handler Permitted(ApiDeps& deps, Permission p, CallerHandler inner) {
  return Require(deps.auth, p, std::move(inner));
}

bool MayRead(const Caller& caller, const storage::ConversationRecord& c) {
  if (Allows(caller, Permission::kSeeAll)) return true;
  if (c.routing.agent == caller.username || c.routing.offered_to == caller.username) return true;
  return c.routing.queue && std::find(caller.queues.begin(), caller.queues.end(),
                                      *c.routing.queue) != caller.queues.end();
}

void AddApiRoutes(Router& router, ApiDeps& deps) {
  AddMessageRoutes(router, deps);
  AddOperationRoutes(router, deps);
  AddConnectionRoutes(router, deps);
  AddConversationRoutes(router, deps);
  AddQueueRoutes(router, deps);
  AddBotRoutes(router, deps);
  AddEventRoutes(router, deps);
  AddAgentToolRoutes(router, deps);
  AddReportRoutes(router, deps);
  AddSupervisorRoutes(router, deps);
}

}  // namespace parley::http

#include "http/api.hpp"

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
}

}  // namespace parley::http

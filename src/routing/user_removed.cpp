// Routing::UserRemoved: what deleting a user means to routing. Kept in its own file (issue 17)
// so it stays apart from the routing internals; it reuses AgentGone, the path of an agent going
// offline.
#include "routing/routing.hpp"

namespace parley::routing {

Result<void> Routing::UserRemoved(storage::Tx& tx, const std::string& username, int64_t now,
                                  Effects& fx) {
  // The user row is gone, so Agents() no longer lists them: nothing is offered back to them.
  auto gone = AgentGone(tx, username, now, fx);
  if (!gone) return Fail(gone.error());
  auto presence = tx.GetPresence(username);
  if (!presence) return Fail(presence.error());
  if (*presence) {
    storage::PresenceRecord p = std::move(**presence);
    p.status = "away";
    p.streams = 0;
    p.online = false;
    p.offline_due_at_ms.reset();
    p.updated_at_ms = now;
    if (auto put = SavePresence(tx, p, now); !put) return Fail(put.error());
  }
  return {};
}

}  // namespace parley::routing

// Routing facts (migration 0012): what each routing step decided, appended in its transaction,
// so the reports (reports.*) are computed from stored events, the same on every node and after
// a restart. One insert a fact; nothing is read.
#include "routing/routing.hpp"

namespace parley::routing {

Result<void> Routing::RecordFact(storage::Tx& tx, const std::string& kind, const std::string& queue,
                                 const std::optional<std::string>& agent,
                                 const std::string& conversation_id, int64_t now,
                                 std::optional<int64_t> wait_ms, std::optional<int64_t> handle_ms,
                                 std::optional<int64_t> value) {
  storage::RoutingFact f;
  f.at_ms = now;
  f.kind = kind;
  f.queue = queue;
  f.agent = agent;
  f.conversation_id = conversation_id;
  if (wait_ms) f.wait_ms = std::max<int64_t>(0, *wait_ms);
  if (handle_ms) f.handle_ms = std::max<int64_t>(0, *handle_ms);
  f.value = value;
  return tx.InsertFact(f);
}

}  // namespace parley::routing

// Operations figures for /metrics and `parley status` (SqliteTx, declared in sqlite_tx.hpp).
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

// One index range per (connection, status) of events_deliveries: the cost follows the number of
// undelivered events, never the whole transcript.
constexpr const char* kCountDeliveries =
    "SELECT count(*), coalesce(sum(attempts > 0), 0), min(created_at) FROM events "
    "WHERE connection_id = ?1 AND direction = 'out' AND delivery_status = ?2";
constexpr const char* kCountSessions = "SELECT count(*) FROM sessions WHERE last_used_at >= ?1";

}  // namespace

Result<std::vector<DeliveryCount>> SqliteTx::CountDeliveries(const std::string& connection_id) {
  std::vector<DeliveryCount> out;
  for (const char* status : {"pending", "dead"}) {
    PARLEY_TRY_STMT(s, kCountDeliveries);
    s.Bind(1, connection_id).Bind(2, status);
    if (s.Step() != SQLITE_ROW)
      return Fail(Errc::kUnavailable, "store_error", "Counting deliveries failed.");
    DeliveryCount c;
    c.status = status;
    c.count = s.Int(0);
    c.failing = s.Int(1);
    c.oldest_at_ms = s.OptInt(2);
    out.push_back(std::move(c));
  }
  return out;
}

Result<int64_t> SqliteTx::CountSessions(int64_t active_since_ms) {
  PARLEY_TRY_STMT(s, kCountSessions);
  s.Bind(1, active_since_ms);
  if (s.Step() != SQLITE_ROW)
    return Fail(Errc::kUnavailable, "store_error", "Counting sessions failed.");
  return s.Int(0);
}

}  // namespace parley::storage::sqlite

#pragma once
// The audit log: what administrators did (create, change, rotate, delete, replay, read a
// secret), who did it, from which address and when, kept in the store (migration 0007) and
// shown at GET /api/v1/audit. An entry names the fields a change carried, never their values,
// so no secret or password ever lands in it.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "storage/store.hpp"

namespace parley::manager {

inline constexpr size_t kMaxAuditPage = 1000;

class AuditLog {  // thread-safe (the store is)
 public:
  AuditLog(storage::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Writes one entry (its time is now). A store failure is logged, not returned: the action
  // itself already happened.
  boost::asio::awaitable<void> Record(storage::AuditRecord entry);
  // The newest entries first, those older than `before_id` (0: from the newest), at most
  // `limit` (1..kMaxAuditPage).
  boost::asio::awaitable<Result<std::vector<storage::AuditRecord>>> List(int64_t before_id,
                                                                         size_t limit);

  // {id, at, actor, role, action, target, address, outcome, detail}
  static boost::json::object ToJson(const storage::AuditRecord& a);

 private:
  storage::Store& store_;
  const Clock& clock_;
};

}  // namespace parley::manager

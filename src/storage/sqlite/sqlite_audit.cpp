// The audit log of the SQLite store (migration 0007).
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

constexpr const char* kInsertAudit =
    "INSERT INTO audit_log (at, actor, role, action, target, address, outcome, detail) "
    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";
constexpr const char* kListAudit =
    "SELECT id, at, actor, role, action, target, address, outcome, detail FROM audit_log "
    "WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2";

}  // namespace

Result<void> SqliteTx::InsertAudit(const AuditRecord& a) {
  PARLEY_TRY_STMT(s, kInsertAudit);
  s.Bind(1, a.at_ms).Bind(2, a.actor).Bind(3, a.role).Bind(4, a.action).Bind(5, a.target);
  s.Bind(6, a.address).Bind(7, a.outcome).Bind(8, a.detail);
  return db_.Run(s, "insert audit entry");
}

Result<std::vector<AuditRecord>> SqliteTx::ListAudit(int64_t before_id, size_t limit) {
  PARLEY_TRY_STMT(s, kListAudit);
  s.Bind(1, before_id).Bind(2, static_cast<int64_t>(limit));
  std::vector<AuditRecord> out;
  while (s.Step() == SQLITE_ROW) {
    AuditRecord a;
    a.id = s.Int(0);
    a.at_ms = s.Int(1);
    a.actor = s.Text(2);
    a.role = s.Text(3);
    a.action = s.Text(4);
    a.target = s.Text(5);
    a.address = s.Text(6);
    a.outcome = s.Int(7);
    a.detail = s.Text(8);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace parley::storage::sqlite

// The audit log (migration 0007) and canned responses (migration 0009) of the PostgreSQL store.
// The SQLite twins are sqlite_audit.cpp and sqlite_responses.cpp; both behave alike (the store
// contract suite runs the same cases against each).
#include <fmt/format.h>

#include <boost/json.hpp>

#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

namespace json = boost::json;

constexpr const char* kInsertAudit =
    "INSERT INTO audit_log (at, actor, role, action, target, address, outcome, detail) "
    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8)";
// Newest first through the primary key: a page costs its own rows, however long the log.
constexpr const char* kListAudit =
    "SELECT id, at, actor, role, action, target, address, outcome, detail FROM audit_log "
    "WHERE $1::bigint = 0 OR id < $1::bigint ORDER BY id DESC LIMIT $2";

#define PARLEY_PG_RESPONSE_COLUMNS \
  "id, owner, shortcut, title, text, queues, created_at, updated_at"
constexpr const char* kListResponses = "SELECT " PARLEY_PG_RESPONSE_COLUMNS
                                       " FROM responses WHERE $1::text = '' OR owner = '' OR owner "
                                       "= $1::text ORDER BY shortcut, owner";
constexpr const char* kGetResponse =
    "SELECT " PARLEY_PG_RESPONSE_COLUMNS " FROM responses WHERE id = $1";
// A shortcut the owner has already inserts nothing (an error would abort the whole group
// transaction); the caller answers response_exists.
constexpr const char* kInsertResponse = "INSERT INTO responses (" PARLEY_PG_RESPONSE_COLUMNS
                                        ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING";
constexpr const char* kShortcutTaken =
    "SELECT 1 FROM responses WHERE owner = $1 AND shortcut = $2 AND id <> $3";
constexpr const char* kUpdateResponse =
    "UPDATE responses SET shortcut=$2, title=$3, text=$4, queues=$5, updated_at=$6 WHERE id=$1";
constexpr const char* kDeleteResponse = "DELETE FROM responses WHERE id = $1";

std::string ListJson(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& x : v) a.emplace_back(x);
  return json::serialize(a);
}

std::vector<std::string> ParseList(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array())
    if (x.is_string()) out.emplace_back(x.as_string());
  return out;
}

ResponseRecord ReadResponse(const Rows& r, int i) {
  ResponseRecord x;
  x.id = r.Text(i, 0);
  x.owner = r.Text(i, 1);
  x.shortcut = r.Text(i, 2);
  x.title = r.Text(i, 3);
  x.text = r.Text(i, 4);
  x.queues = ParseList(r.Text(i, 5));
  x.created_at_ms = r.Int(i, 6);
  x.updated_at_ms = r.Int(i, 7);
  return x;
}

Error Taken(const ResponseRecord& r) {
  return Error{Errc::kConflict, "response_exists",
               fmt::format("There is a {} response with the shortcut '{}' already; choose another.",
                           r.owner.empty() ? "shared" : "personal", r.shortcut)};
}

}  // namespace

const std::vector<HotStatement>& HotAdminStatements() {
  static const std::vector<HotStatement> kAll = {
      {"list audit", kListAudit, {"50", "100"}},
      {"get response", kGetResponse, {"r1"}},
      {"response shortcut taken", kShortcutTaken, {"ann", "hi", "r1"}},
  };
  return kAll;
}

Result<void> PgTx::InsertAudit(const AuditRecord& a) {
  Params p;
  p.Add(a.at_ms).Add(a.actor).Add(a.role).Add(a.action).Add(a.target);
  p.Add(a.address).Add(a.outcome).Add(a.detail);
  auto r = conn_->Run(kInsertAudit, p);
  if (!r) return Fail(r.error());
  return {};
}

Result<std::vector<AuditRecord>> PgTx::ListAudit(int64_t before_id, size_t limit) {
  auto r = conn_->Query(kListAudit, Params().Add(before_id).Add(static_cast<int64_t>(limit)));
  if (!r) return Fail(r.error());
  std::vector<AuditRecord> out;
  out.reserve(static_cast<size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    AuditRecord a;
    a.id = r->Int(i, 0);
    a.at_ms = r->Int(i, 1);
    a.actor = r->Text(i, 2);
    a.role = r->Text(i, 3);
    a.action = r->Text(i, 4);
    a.target = r->Text(i, 5);
    a.address = r->Text(i, 6);
    a.outcome = r->Int(i, 7);
    a.detail = r->Text(i, 8);
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<ResponseRecord>> PgTx::ListResponses(const std::string& owner) {
  auto r = conn_->Query(kListResponses, Params().Add(owner));
  if (!r) return Fail(r.error());
  std::vector<ResponseRecord> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(ReadResponse(*r, i));
  return out;
}

Result<std::optional<ResponseRecord>> PgTx::GetResponse(const std::string& id) {
  auto r = conn_->Query(kGetResponse, Params().Add(id));
  if (!r) return Fail(r.error());
  if (r->empty()) return std::optional<ResponseRecord>();
  return std::optional<ResponseRecord>(ReadResponse(*r, 0));
}

Result<void> PgTx::InsertResponse(const ResponseRecord& x) {
  Params p;
  p.Add(x.id).Add(x.owner).Add(x.shortcut).Add(x.title).Add(x.text);
  p.Add(ListJson(x.queues)).Add(x.created_at_ms).Add(x.updated_at_ms);
  auto r = conn_->Run(kInsertResponse, p);
  if (!r) return Fail(r.error());
  // Nothing inserted: the owner has this shortcut (also when another node inserted it just now).
  if (*r == 0) return Fail(Taken(x));
  return {};
}

Result<void> PgTx::UpdateResponse(const ResponseRecord& x) {
  auto taken = conn_->Query(kShortcutTaken, Params().Add(x.owner).Add(x.shortcut).Add(x.id));
  if (!taken) return Fail(taken.error());
  if (!taken->empty()) return Fail(Taken(x));
  Params p;
  p.Add(x.id).Add(x.shortcut).Add(x.title).Add(x.text).Add(ListJson(x.queues));
  p.Add(x.updated_at_ms);
  auto r = conn_->Run(kUpdateResponse, p);
  if (!r) {
    if (r.error().errc == Errc::kConflict) return Fail(Taken(x));
    return Fail(r.error());
  }
  return {};
}

Result<bool> PgTx::DeleteResponse(const std::string& id) {
  auto r = conn_->Run(kDeleteResponse, Params().Add(id));
  if (!r) return Fail(r.error());
  return *r > 0;
}

}  // namespace parley::storage::postgres

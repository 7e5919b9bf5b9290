// Canned responses of the SQLite store (migration 0009).
#include <fmt/format.h>

#include <boost/json.hpp>

#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

namespace json = boost::json;

#define PARLEY_RESPONSE_COLUMNS "id, owner, shortcut, title, text, queues, created_at, updated_at"
constexpr const char* kListResponses = "SELECT " PARLEY_RESPONSE_COLUMNS
                                       " FROM responses WHERE ?1 = '' OR owner = '' OR owner = ?1 "
                                       "ORDER BY shortcut, owner";
constexpr const char* kGetResponse =
    "SELECT " PARLEY_RESPONSE_COLUMNS " FROM responses WHERE id = ?1";
constexpr const char* kInsertResponse =
    "INSERT INTO responses (" PARLEY_RESPONSE_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";
constexpr const char* kUpdateResponse =
    "UPDATE responses SET shortcut=?3, title=?4, text=?5, queues=?6, updated_at=?8 WHERE id=?1";
constexpr const char* kDeleteResponse = "DELETE FROM responses WHERE id = ?1";

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

ResponseRecord ReadResponse(const Stmt& s) {
  ResponseRecord r;
  r.id = s.Text(0);
  r.owner = s.Text(1);
  r.shortcut = s.Text(2);
  r.title = s.Text(3);
  r.text = s.Text(4);
  r.queues = ParseList(s.Text(5));
  r.created_at_ms = s.Int(6);
  r.updated_at_ms = s.Int(7);
  return r;
}

void BindResponse(Stmt& s, const ResponseRecord& r) {
  s.Bind(1, r.id).Bind(2, r.owner).Bind(3, r.shortcut).Bind(4, r.title).Bind(5, r.text);
  s.Bind(6, ListJson(r.queues)).Bind(7, r.created_at_ms).Bind(8, r.updated_at_ms);
}

Error Taken(const ResponseRecord& r) {
  return Error{Errc::kConflict, "response_exists",
               fmt::format("There is a {} response with the shortcut '{}' already; choose another.",
                           r.owner.empty() ? "shared" : "personal", r.shortcut)};
}

}  // namespace

Result<std::vector<ResponseRecord>> SqliteTx::ListResponses(const std::string& owner) {
  PARLEY_TRY_STMT(s, kListResponses);
  s.Bind(1, owner);
  std::vector<ResponseRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadResponse(s));
  return out;
}

Result<std::optional<ResponseRecord>> SqliteTx::GetResponse(const std::string& id) {
  PARLEY_TRY_STMT(s, kGetResponse);
  s.Bind(1, id);
  if (s.Step() != SQLITE_ROW) return std::optional<ResponseRecord>();
  return std::optional<ResponseRecord>(ReadResponse(s));
}

Result<void> SqliteTx::InsertResponse(const ResponseRecord& r) {
  PARLEY_TRY_STMT(s, kInsertResponse);
  BindResponse(s, r);
  auto done = db_.Run(s, "insert response");
  if (!done && done.error().errc == Errc::kConflict) return Fail(Taken(r));
  return done;
}

Result<void> SqliteTx::UpdateResponse(const ResponseRecord& r) {
  PARLEY_TRY_STMT(s, kUpdateResponse);
  BindResponse(s, r);
  auto done = db_.Run(s, "update response");
  if (!done && done.error().errc == Errc::kConflict) return Fail(Taken(r));
  return done;
}

Result<bool> SqliteTx::DeleteResponse(const std::string& id) {
  PARLEY_TRY_STMT(s, kDeleteResponse);
  s.Bind(1, id);
  auto done = db_.Run(s, "delete response");
  if (!done) return Fail(done.error());
  return db_.Changes() > 0;
}

}  // namespace parley::storage::sqlite

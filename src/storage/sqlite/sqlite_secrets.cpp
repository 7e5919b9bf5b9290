#include "storage/sqlite/sqlite_secrets.hpp"

#include <string>
#include <vector>

namespace parley::storage::sqlite {
namespace {

constexpr const char* kCount =
    "SELECT "
    "(SELECT COUNT(*) FROM connections WHERE secret LIKE 'plain:%') + "
    "(SELECT COUNT(*) FROM connections WHERE previous_secret LIKE 'plain:%'), "
    "(SELECT COUNT(*) FROM connections WHERE secret LIKE 'sealed:%') + "
    "(SELECT COUNT(*) FROM connections WHERE previous_secret LIKE 'sealed:%')";
constexpr const char* kAll = "SELECT id, secret, previous_secret FROM connections";
constexpr const char* kPut =
    "UPDATE connections SET secret = ?2, previous_secret = ?3 WHERE id = ?1";

struct Row {
  std::string id;
  std::string secret;
  std::optional<std::string> previous;
};

}  // namespace

Result<SecretCounts> CountSecrets(Db& db) {
  auto s = db.Prepare(kCount);
  if (!s) return Fail(s.error());
  SecretCounts c;
  if ((*s)->Step() == SQLITE_ROW) {
    c.plain = static_cast<size_t>((*s)->Int(0));
    c.sealed = static_cast<size_t>((*s)->Int(1));
  }
  return c;
}

Result<size_t> ResealSecrets(Db& db, const SecretBox& from, const SecretBox& to, bool only_plain) {
  if (auto begin = db.Exec("BEGIN IMMEDIATE"); !begin) return Fail(begin.error());
  auto rollback = [&](Failure f) -> Result<size_t> {
    (void)db.Exec("ROLLBACK");
    return f;
  };
  std::vector<Row> rows;
  {
    auto all = db.Prepare(kAll);
    if (!all) return rollback(Fail(all.error()));
    while ((*all)->Step() == SQLITE_ROW)
      rows.push_back(Row{(*all)->Text(0), (*all)->Text(1), (*all)->OptText(2)});
  }
  size_t rewritten = 0;
  auto redo = [&](const std::string& stored, std::string& out) -> Result<bool> {
    if (only_plain && !stored.starts_with("plain:")) {
      out = stored;
      return false;
    }
    auto opened = from.Open(stored);
    if (!opened) return Fail(opened.error());
    out = to.Seal(*opened);
    return true;
  };
  for (const Row& r : rows) {
    std::string secret;
    auto a = redo(r.secret, secret);
    if (!a) return rollback(Fail(a.error()));
    std::optional<std::string> previous;
    bool b = false;
    if (r.previous) {
      previous.emplace();
      auto pb = redo(*r.previous, *previous);
      if (!pb) return rollback(Fail(pb.error()));
      b = *pb;
    }
    if (!*a && !b) continue;
    auto put = db.Prepare(kPut);
    if (!put) return rollback(Fail(put.error()));
    (*put)->Bind(1, r.id).Bind(2, secret).Bind(3, previous);
    if (auto done = db.Run(**put, "re-seal a secret"); !done) return rollback(Fail(done.error()));
    rewritten += (*a ? 1 : 0) + (b ? 1 : 0);
  }
  if (auto commit = db.Exec("COMMIT"); !commit) return rollback(Fail(commit.error()));
  return rewritten;
}

}  // namespace parley::storage::sqlite

// Routing facts and satisfaction surveys of the SQLite store (migration 0012).
#include "storage/sqlite/sqlite_tx.hpp"

namespace parley::storage::sqlite {
namespace {

constexpr const char* kInsertFact =
    "INSERT INTO routing_facts (at, kind, queue, agent, conversation_id, wait_ms, handle_ms, value)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";
constexpr const char* kListFacts =
    "SELECT at, kind, queue, agent, conversation_id, wait_ms, handle_ms, value FROM routing_facts"
    " INDEXED BY routing_facts_by_time WHERE at >= ?1 AND at < ?2 ORDER BY at, id LIMIT ?3";
#define PARLEY_CSAT_COLUMNS \
  "conversation_id, queue, agent, phase, asked_at, score, comment, answered_at"
constexpr const char* kGetCsat =
    "SELECT " PARLEY_CSAT_COLUMNS " FROM conversation_csat WHERE conversation_id = ?1";
constexpr const char* kPutCsat = "INSERT OR REPLACE INTO conversation_csat (" PARLEY_CSAT_COLUMNS
                                 ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";
constexpr const char* kCsatDay =
    "SELECT count, sum FROM queue_csat_day WHERE queue = ?1 AND day = ?2";
constexpr const char* kAddCsatDay =
    "INSERT INTO queue_csat_day (queue, day, count, sum) VALUES (?1, ?2, 1, ?3) "
    "ON CONFLICT (queue, day) DO UPDATE SET count = count + 1, sum = sum + excluded.sum";

}  // namespace

Result<void> SqliteTx::InsertFact(const RoutingFact& f) {
  PARLEY_TRY_STMT(s, kInsertFact);
  s.Bind(1, f.at_ms).Bind(2, f.kind).Bind(3, f.queue).Bind(4, f.agent).Bind(5, f.conversation_id);
  s.Bind(6, f.wait_ms).Bind(7, f.handle_ms).Bind(8, f.value);
  return db_.Run(s, "insert routing fact");
}

Result<std::vector<RoutingFact>> SqliteTx::ListFacts(int64_t from_ms, int64_t to_ms, size_t limit) {
  PARLEY_TRY_STMT(s, kListFacts);
  s.Bind(1, from_ms).Bind(2, to_ms).Bind(3, static_cast<int64_t>(limit));
  std::vector<RoutingFact> out;
  while (s.Step() == SQLITE_ROW) {
    RoutingFact f;
    f.at_ms = s.Int(0);
    f.kind = s.Text(1);
    f.queue = s.Text(2);
    f.agent = s.OptText(3);
    f.conversation_id = s.Text(4);
    f.wait_ms = s.OptInt(5);
    f.handle_ms = s.OptInt(6);
    f.value = s.OptInt(7);
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::optional<CsatRecord>> SqliteTx::GetCsat(const std::string& conversation_id) {
  PARLEY_TRY_STMT(s, kGetCsat);
  s.Bind(1, conversation_id);
  if (s.Step() != SQLITE_ROW) return std::optional<CsatRecord>();
  CsatRecord c;
  c.conversation_id = s.Text(0);
  c.queue = s.Text(1);
  c.agent = s.OptText(2);
  c.phase = s.Text(3);
  c.asked_at_ms = s.Int(4);
  c.score = s.OptInt(5);
  c.comment = s.OptText(6);
  c.answered_at_ms = s.OptInt(7);
  return std::optional<CsatRecord>(std::move(c));
}

Result<void> SqliteTx::PutCsat(const CsatRecord& c) {
  PARLEY_TRY_STMT(s, kPutCsat);
  s.Bind(1, c.conversation_id).Bind(2, c.queue).Bind(3, c.agent).Bind(4, c.phase);
  s.Bind(5, c.asked_at_ms).Bind(6, c.score).Bind(7, c.comment).Bind(8, c.answered_at_ms);
  return db_.Run(s, "put survey");
}

Result<std::pair<int64_t, int64_t>> SqliteTx::CsatDay(const std::string& queue, int64_t day) {
  PARLEY_TRY_STMT(s, kCsatDay);
  s.Bind(1, queue).Bind(2, day);
  if (s.Step() != SQLITE_ROW) return std::pair<int64_t, int64_t>{0, 0};
  return std::pair<int64_t, int64_t>{s.Int(0), s.Int(1)};
}

Result<void> SqliteTx::AddCsatDay(const std::string& queue, int64_t day, int64_t score) {
  PARLEY_TRY_STMT(s, kAddCsatDay);
  s.Bind(1, queue).Bind(2, day).Bind(3, score);
  return db_.Run(s, "count rating");
}

}  // namespace parley::storage::sqlite

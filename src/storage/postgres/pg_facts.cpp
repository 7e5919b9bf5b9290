// Routing facts and satisfaction surveys of the PostgreSQL store: the twin of
// sqlite/sqlite_facts.cpp over migration 0012.
#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

constexpr const char* kInsertFact =
    "INSERT INTO routing_facts (at, kind, queue, agent, conversation_id, wait_ms, handle_ms, value)"
    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8)";
constexpr const char* kListFacts =
    "SELECT at, kind, queue, agent, conversation_id, wait_ms, handle_ms, value FROM routing_facts"
    " WHERE at >= $1 AND at < $2 ORDER BY at, id LIMIT $3";
#define PARLEY_PG_CSAT_COLUMNS \
  "conversation_id, queue, agent, phase, asked_at, score, comment, answered_at"
constexpr const char* kGetCsat =
    "SELECT " PARLEY_PG_CSAT_COLUMNS " FROM conversation_csat WHERE conversation_id = $1";
constexpr const char* kPutCsat =
    "INSERT INTO conversation_csat (" PARLEY_PG_CSAT_COLUMNS
    ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (conversation_id) DO UPDATE SET "
    "queue = EXCLUDED.queue, agent = EXCLUDED.agent, phase = EXCLUDED.phase, "
    "asked_at = EXCLUDED.asked_at, score = EXCLUDED.score, comment = EXCLUDED.comment, "
    "answered_at = EXCLUDED.answered_at";
constexpr const char* kCsatDay =
    "SELECT count, sum FROM queue_csat_day WHERE queue = $1 AND day = $2";
constexpr const char* kAddCsatDay =
    "INSERT INTO queue_csat_day AS d (queue, day, count, sum) VALUES ($1, $2, 1, $3) "
    "ON CONFLICT (queue, day) DO UPDATE SET count = d.count + 1, sum = d.sum + EXCLUDED.sum";

Result<void> Done(Result<int64_t> r) {
  if (!r) return Fail(r.error());
  return {};
}

}  // namespace

const std::vector<HotStatement>& HotFactStatements() {
  static const std::vector<HotStatement> kAll = {
      {"get csat", kGetCsat, {"v1"}},
      {"csat day", kCsatDay, {"sales", "20000"}},
  };
  return kAll;
}

Result<void> PgTx::InsertFact(const RoutingFact& f) {
  Params p;
  p.Add(f.at_ms).Add(f.kind).Add(f.queue).Add(f.agent).Add(f.conversation_id);
  p.Add(f.wait_ms).Add(f.handle_ms).Add(f.value);
  return Done(conn_->Run(kInsertFact, p));
}

Result<std::vector<RoutingFact>> PgTx::ListFacts(int64_t from_ms, int64_t to_ms, size_t limit) {
  Params p;
  p.Add(from_ms).Add(to_ms).Add(static_cast<int64_t>(limit));
  auto r = conn_->Query(kListFacts, p);
  if (!r) return Fail(r.error());
  std::vector<RoutingFact> out;
  for (int i = 0; i < r->size(); ++i) {
    RoutingFact f;
    f.at_ms = r->Int(i, 0);
    f.kind = r->Text(i, 1);
    f.queue = r->Text(i, 2);
    f.agent = r->OptText(i, 3);
    f.conversation_id = r->Text(i, 4);
    f.wait_ms = r->OptInt(i, 5);
    f.handle_ms = r->OptInt(i, 6);
    f.value = r->OptInt(i, 7);
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::optional<CsatRecord>> PgTx::GetCsat(const std::string& conversation_id) {
  Params p;
  p.Add(conversation_id);
  auto r = conn_->Query(kGetCsat, p);
  if (!r) return Fail(r.error());
  if (r->size() == 0) return std::optional<CsatRecord>();
  CsatRecord c;
  c.conversation_id = r->Text(0, 0);
  c.queue = r->Text(0, 1);
  c.agent = r->OptText(0, 2);
  c.phase = r->Text(0, 3);
  c.asked_at_ms = r->Int(0, 4);
  c.score = r->OptInt(0, 5);
  c.comment = r->OptText(0, 6);
  c.answered_at_ms = r->OptInt(0, 7);
  return std::optional<CsatRecord>(std::move(c));
}

Result<void> PgTx::PutCsat(const CsatRecord& c) {
  Params p;
  p.Add(c.conversation_id).Add(c.queue).Add(c.agent).Add(c.phase).Add(c.asked_at_ms);
  p.Add(c.score).Add(c.comment).Add(c.answered_at_ms);
  return Done(conn_->Run(kPutCsat, p));
}

Result<std::pair<int64_t, int64_t>> PgTx::CsatDay(const std::string& queue, int64_t day) {
  Params p;
  p.Add(queue).Add(day);
  auto r = conn_->Query(kCsatDay, p);
  if (!r) return Fail(r.error());
  if (r->size() == 0) return std::pair<int64_t, int64_t>{0, 0};
  return std::pair<int64_t, int64_t>{r->Int(0, 0), r->Int(0, 1)};
}

Result<void> PgTx::AddCsatDay(const std::string& queue, int64_t day, int64_t score) {
  Params p;
  p.Add(queue).Add(day).Add(score);
  return Done(conn_->Run(kAddCsatDay, p));
}

}  // namespace parley::storage::postgres

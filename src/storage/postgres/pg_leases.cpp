// Delivery leases (issue 15, migration 0013): which node delivers a conversation's outbound
// events. A claim never waits for another node's claim: rows being claimed elsewhere are
// skipped (FOR UPDATE SKIP LOCKED); a lease row is created the first time a conversation is
// claimed (the insert waits at most for the other node's group commit, in id order, so two
// claims cannot deadlock on each other's new rows).
#include <algorithm>

#include "storage/postgres/pg_tx.hpp"

namespace parley::storage::postgres {
namespace {

// Conversations with pending outbound events whose lease is free (never taken, released with
// expires_at 0, or expired). The distinct ids are read from the events_pending index by a
// loose index scan: one index probe per conversation with pending events (the next id after
// the last), not a read of every pending event, so a dead webhook's growing backlog of
// undeliverable events in a few conversations does not slow the delivery look.
constexpr const char* kFreePending =
    "WITH RECURSIVE p(id) AS ("
    "  (SELECT conversation_id FROM events WHERE direction = 'out' AND delivery_status = 'pending'"
    "   ORDER BY conversation_id LIMIT 1)"
    "  UNION ALL"
    "  SELECT (SELECT e.conversation_id FROM events e WHERE e.direction = 'out'"
    "          AND e.delivery_status = 'pending' AND e.conversation_id > p.id"
    "          ORDER BY e.conversation_id LIMIT 1)"
    "  FROM p WHERE p.id IS NOT NULL) "
    "SELECT p.id FROM p LEFT JOIN delivery_leases l ON l.conversation_id = p.id "
    "WHERE p.id IS NOT NULL AND (l.conversation_id IS NULL OR l.expires_at < $1) "
    "LIMIT $2";
constexpr const char* kCreateLeases =
    "INSERT INTO delivery_leases (conversation_id, node_id, expires_at) "
    "SELECT id, '', 0 FROM unnest($1::text[]) AS w(id) ORDER BY id ON CONFLICT DO NOTHING";
constexpr const char* kTakeLeases =
    "WITH c AS (SELECT conversation_id, node_id, expires_at FROM delivery_leases "
    "  WHERE conversation_id = ANY($1::text[]) AND (expires_at < $3 OR node_id = $2) "
    "  ORDER BY conversation_id FOR UPDATE SKIP LOCKED) "
    "UPDATE delivery_leases l SET node_id = $2, expires_at = $4 FROM c "
    "WHERE l.conversation_id = c.conversation_id "
    "RETURNING l.conversation_id, c.node_id, c.expires_at";
constexpr const char* kRenewLeases =
    "UPDATE delivery_leases SET expires_at = $3 "
    "WHERE conversation_id = ANY($1::text[]) AND node_id = $2 AND expires_at > 0 "
    "RETURNING conversation_id";
constexpr const char* kReleaseLeases =
    "UPDATE delivery_leases SET expires_at = 0 "
    "WHERE conversation_id = ANY($1::text[]) AND node_id = $2";

}  // namespace

const std::vector<HotStatement>& HotLeaseStatements() {
  static const std::vector<HotStatement> kAll = {
      {"free pending (delivery look)", kFreePending, {"1000", "100"}},
      {"create leases", kCreateLeases, {"{v1,v2}"}},
      {"take leases", kTakeLeases, {"{v1,v2}", "n1", "1000", "2000"}},
      {"renew leases", kRenewLeases, {"{v1,v2}", "n1", "2000"}},
      {"release leases", kReleaseLeases, {"{v1,v2}", "n1"}},
  };
  return kAll;
}

Result<std::vector<LeaseClaim>> PgTx::ClaimDeliveries(const std::string& node_id, int64_t now_ms,
                                                      int64_t until_ms,
                                                      const std::vector<std::string>& wanted,
                                                      size_t limit) {
  std::vector<std::string> ids = wanted;
  if (ids.empty()) {
    auto free = conn_->Query(kFreePending, Params().Add(now_ms).Add(static_cast<int64_t>(limit)));
    if (!free) return Fail(free.error());
    for (int i = 0; i < free->size(); ++i) ids.push_back(free->Text(i, 0));
  }
  std::vector<LeaseClaim> out;
  if (ids.empty()) return out;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto created = conn_->Run(kCreateLeases, Params().AddTextArray(ids));
  if (!created) return Fail(created.error());
  auto taken =
      conn_->Query(kTakeLeases, Params().AddTextArray(ids).Add(node_id).Add(now_ms).Add(until_ms));
  if (!taken) return Fail(taken.error());
  for (int i = 0; i < taken->size(); ++i) {
    LeaseClaim c;
    c.conversation_id = taken->Text(i, 0);
    std::string was = taken->Text(i, 1);
    // An expired lease of another node (not a released one): a takeover.
    if (!was.empty() && was != node_id && taken->Int(i, 2) > 0) c.taken_from = was;
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<std::string>> PgTx::RenewDeliveries(
    const std::string& node_id, int64_t until_ms,
    const std::vector<std::string>& conversation_ids) {
  std::vector<std::string> out;
  if (conversation_ids.empty()) return out;
  auto r = conn_->Query(kRenewLeases,
                        Params().AddTextArray(conversation_ids).Add(node_id).Add(until_ms));
  if (!r) return Fail(r.error());
  for (int i = 0; i < r->size(); ++i) out.push_back(r->Text(i, 0));
  return out;
}

Result<void> PgTx::ReleaseDeliveries(const std::string& node_id,
                                     const std::vector<std::string>& conversation_ids) {
  if (conversation_ids.empty()) return {};
  auto r = conn_->Run(kReleaseLeases, Params().AddTextArray(conversation_ids).Add(node_id));
  if (!r) return Fail(r.error());
  return {};
}

}  // namespace parley::storage::postgres

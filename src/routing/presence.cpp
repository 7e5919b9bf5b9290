// What an agent's presence records for supervisors (issue 19): the status periods (time in
// each status and away reason) and the agent's figures of today. Every write of a presence in
// routing goes through SavePresence, so no path (a timer, a sign-out, a deleted user) can change
// a status without its period.
#include <algorithm>

#include "routing/routing.hpp"

namespace parley::routing {

std::string ShownStatus(const storage::PresenceRecord& p) {
  return p.online ? p.status : "offline";
}

Result<void> SavePresence(storage::Tx& tx, storage::PresenceRecord& p, int64_t now) {
  if (p.status != "away") p.away_reason.reset();
  std::string status = ShownStatus(p);
  std::optional<std::string> reason = status == "away" ? p.away_reason : std::nullopt;
  std::string period = status + "/" + reason.value_or("");
  if (period != p.status_period) {
    auto started = tx.StartStatusPeriod(p.username, status, reason, now);
    if (!started) return Fail(started.error());
    p.status_period = std::move(period);
    p.status_since_ms = now;
  }
  return tx.PutPresence(p);
}

void AddAgentToday(storage::PresenceRecord& p, int64_t now, int64_t chats,
                   std::optional<int64_t> handle_ms) {
  int64_t day = Routing::Day(now);
  if (p.day != day) {
    p.day = day;
    p.chats_today = p.handle_sum_today_ms = p.handle_count_today = 0;
  }
  p.chats_today += chats;
  if (handle_ms) {
    p.handle_sum_today_ms += std::max<int64_t>(0, *handle_ms);
    p.handle_count_today += 1;
  }
}

Result<void> CountAgentToday(storage::Tx& tx, const std::string& username, int64_t now,
                             int64_t chats, std::optional<int64_t> handle_ms) {
  auto found = tx.GetPresence(username);
  if (!found) return Fail(found.error());
  storage::PresenceRecord p = found->value_or(storage::PresenceRecord{});
  p.username = username;
  if (!*found) p.updated_at_ms = now;
  AddAgentToday(p, now, chats, handle_ms);
  return SavePresence(tx, p, now);
}

Result<void> Routing::CheckAwayReason(const std::string& status,
                                      const std::optional<std::string>& reason) const {
  if (!reason) return {};
  if (status != "away")
    return Fail(Errc::kInvalidArgument, "invalid_reason",
                "A reason goes with status away only; leave it out for available.");
  const auto& allowed = settings_.away_reasons;
  if (std::find(allowed.begin(), allowed.end(), *reason) != allowed.end()) return {};
  std::string list;
  for (const auto& r : allowed) list += (list.empty() ? "" : ", ") + r;
  return Fail(Errc::kInvalidArgument, "invalid_reason",
              "reason must be one of the server's away_reasons: " + list + ".");
}

}  // namespace parley::routing

// Business hours of queues (issue 19): whether a queue is open, when it opens, and what a
// customer who asks for a person outside them is told. The zone comes from the system's tz
// database through core/time_zone (no TZ environment, no global state).
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "routing/routing.hpp"

namespace parley::routing {
namespace json = boost::json;

Result<std::optional<std::string>> Routing::CheckHours(const json::value& v) const {
  if (v.is_null()) return std::optional<std::string>();
  auto parsed = ParseHours(v, zones_);
  if (!parsed) return Fail(parsed.error());
  return std::optional<std::string>(json::serialize(HoursToJson(*parsed)));
}

std::optional<Routing::QueueHours> Routing::HoursOf(const storage::QueueRecord& q,
                                                    int64_t now) const {
  if (!q.hours_json) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*q.hours_json, ec);
  auto parsed = ec ? Result<BusinessHours>(Fail(Errc::kInternal, "invalid_hours", "not JSON"))
                   : ParseHours(v, zones_);
  if (!parsed) {
    spdlog::warn("queue '{}': its hours no longer load ({}); it is taken as always open", q.name,
                 parsed.error().message);
    return std::nullopt;
  }
  auto zone = zones_.Get(parsed->time_zone);
  if (!zone) return std::nullopt;
  QueueHours out{std::move(*parsed), *zone, {}};
  out.at = OpenAt(out.hours, **zone, now);
  return out;
}

Result<void> Routing::Decorate(storage::Tx& tx, QueueView& v, int64_t now) const {
  if (auto hours = HoursOf(v.queue, now)) {
    v.open = hours->at.open;
    v.opens_at_ms = hours->at.opens_at_ms;
  }
  auto csat = tx.CsatDay(v.queue.name, Day(now));
  if (!csat) {
    if (csat.error().code == "reports_unsupported") return {};
    return Fail(csat.error());
  }
  v.csat_today_count = csat->first;
  v.csat_today_sum = csat->second;
  return {};
}

std::string Routing::ClosedText(const storage::QueueRecord& q, int64_t now) const {
  std::string text = q.closed_text.value_or(settings_.texts.closed_text);
  auto hours = HoursOf(q, now);
  if (!hours || hours->at.open) return text;
  std::string when = hours->at.opens_at_ms
                         ? FormatOpening(hours->hours, *hours->zone, *hours->at.opens_at_ms)
                         : std::string("a date not yet set");
  const std::string token = "{opens_at}";
  if (text.find(token) == std::string::npos) {
    std::string extra = settings_.texts.opens_at_text;
    text += (text.empty() ? "" : " ") + extra;
  }
  for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.replace(at, token.size(), when);
    at += when.size();
  }
  return text;
}

}  // namespace parley::routing

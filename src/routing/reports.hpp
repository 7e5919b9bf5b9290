#pragma once
// Reports from routing facts (issue 19): per queue or per agent, in total and per hour or day.
// Pure functions over storage::RoutingFact; docs/api.md "Reports" defines every figure.

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time_zone.hpp"
#include "storage/records.hpp"

namespace parley::routing {

// The span of a report: [from_ms, to_ms), cut in buckets at the local hours or midnights of
// `time_zone` (none: one bucket).
struct ReportRange {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  std::string interval;  // "hour" | "day" | "" (totals only)
  int64_t interval_ms = 0;
  std::string time_zone = "UTC";
  // With an interval: each bucket's start, ascending, from from_ms, then to_ms. A local day
  // is 23 or 25 hours long on the days the clocks change.
  std::vector<int64_t> bounds;
};

// Reads from/to (a date YYYY-MM-DD, a whole day of `zone` (UTC when null): `from` its start,
// `to` its end; or an RFC 3339 time) and interval (hour | day | none). 400
// invalid_report_range with a sentence when a value is malformed, `to` is not after `from`,
// the span passes 92 days, or hours are asked for more than 31 days.
Result<ReportRange> ParseReportRange(const std::optional<std::string>& from,
                                     const std::optional<std::string>& to,
                                     const std::optional<std::string>& interval,
                                     const TimeZone* zone = nullptr);

// A date (its start, or with `end_of_day` the next day's start) or an RFC 3339 time, as ms.
std::optional<int64_t> ParseReportTime(std::string_view s, bool end_of_day);

// The figures of one group (a queue or an agent) over one span.
struct Figures {
  int64_t offered = 0;
  int64_t answered = 0;
  int64_t answered_in_sl = 0;
  int64_t abandoned = 0;
  int64_t abandoned_short = 0;  // abandoned within kShortAbandonMs
  int64_t transfers = 0;
  int64_t handled = 0;  // chats ended with an agent (each with a handle time)
  int64_t handle_ms_sum = 0;
  int64_t csat_count = 0;
  int64_t csat_sum = 0;
  std::vector<int64_t> waits_ms;  // of the answered
};

constexpr int64_t kShortAbandonMs = 10'000;

// Adds one fact to `f`.
void Count(Figures& f, const storage::RoutingFact& fact);
// The 90th percentile (nearest rank: the smallest value with at least 90 % of the values at or
// below it) of `values`, which it sorts; none when empty.
std::optional<int64_t> Percentile90(std::vector<int64_t>& values);
// answered within service_level_s / (answered + abandoned); none when both are 0.
std::optional<double> ServiceLevel(const Figures& f);
// The figures as JSON (the waits as avg_wait_s and p90_wait_s).
boost::json::object FiguresJson(Figures f, bool per_agent);

// A report: one row per group with its totals and its buckets.
struct ReportRow {
  std::string name;
  Figures totals;
  std::map<int64_t, Figures> buckets;  // by bucket start (ms)
};

// Groups facts by queue (`by_agent` false) or by agent (facts with no agent are left out).
std::vector<ReportRow> BuildReport(const std::vector<storage::RoutingFact>& facts,
                                   const ReportRange& range, bool by_agent);

// A stretch of an agent's status (part A's agent_status_periods): open when `to_ms` is none.
struct StatusSpan {
  std::string agent;
  std::string status;  // available | away | after_chat | offline
  std::optional<std::string> reason;
  int64_t from_ms = 0;
  std::optional<int64_t> to_ms;
};

// Per agent, the time of `spans` inside the range (an open one counts up to `now_ms`), in
// seconds: {"available_s", "away_s", "away_by_reason":{reason: s}, "after_chat_s"}. A span
// away with no reason counts under "other".
std::map<std::string, boost::json::object> StatusTimes(const std::vector<StatusSpan>& spans,
                                                       const ReportRange& range, int64_t now_ms);

// The report as JSON ({from, to, interval, queues|agents:[{name…, totals, intervals}]}) and as
// CSV (one line per group and bucket, or per group without an interval).
boost::json::object ReportJson(const std::vector<ReportRow>& rows, const ReportRange& range,
                               bool by_agent,
                               const std::map<std::string, boost::json::object>& extra = {});
// Agents' CSV without an interval adds available_s, away_s, after_chat_s and away_by_reason
// ("break=600;lunch=1800") from `extra` (StatusTimes).
std::string ReportCsv(const std::vector<ReportRow>& rows, const ReportRange& range, bool by_agent,
                      const std::map<std::string, boost::json::object>& extra = {});

}  // namespace parley::routing

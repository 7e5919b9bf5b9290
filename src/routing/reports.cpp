#include "routing/reports.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "core/clock.hpp"
#include "core/time_zone.hpp"

namespace parley::routing {
namespace json = boost::json;
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kMaxDays = 92;
constexpr int64_t kMaxHourDays = 31;

Failure Invalid(std::string message) {
  return Fail(Errc::kInvalidArgument, "invalid_report_range", std::move(message));
}

bool Digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// A date (the day's start, or with `end` the next day's start) or an RFC 3339 time, as ms.
std::optional<int64_t> ParseWhen(std::string_view s, bool end) {
  int y, mo, d;
  if (!Digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || mo < 1 || mo > 12 || d < 1 || d > 31)
    return std::nullopt;
  int64_t day = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t yy;
  unsigned mm, dd;
  CivilFromDays(day, yy, mm, dd);
  if (yy != y || static_cast<int>(mm) != mo || static_cast<int>(dd) != d) return std::nullopt;
  if (s.size() == 10) return (day + (end ? 1 : 0)) * kDayMs;
  int h, mi, sec;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, h) || s.size() < 19 ||
      s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, sec) || h > 23 ||
      mi > 59 || sec > 60)
    return std::nullopt;
  size_t at = 19;
  int64_t ms = 0;
  if (at < s.size() && s[at] == '.') {
    size_t start = ++at;
    int64_t scale = 100;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      ms += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  std::string_view zone = s.substr(at);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh, om;
    if (!Digits(zone, 1, 2, oh) || !Digits(zone, 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (zone[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  return (day * 86400 + h * 3600 + mi * 60 + std::min(sec, 59) - offset_s) * 1000 + ms;
}

json::value Opt(const std::optional<double>& v) {
  return v ? json::value(std::round(*v * 1000.0) / 1000.0) : json::value(nullptr);
}

std::string CsvNumber(const json::value& v) {
  if (v.is_null()) return "";
  if (v.is_double()) return fmt::format("{}", v.as_double());
  if (v.is_int64()) return std::to_string(v.as_int64());
  return "";
}

// A CSV field: quoted when it holds a comma, quote or line break; a leading =, +, - or @ gets a
// quote mark first so that spreadsheets do not run it as a formula.
std::string CsvText(std::string s) {
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s = "'" + s;
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

const std::vector<std::string>& Columns(bool per_agent) {
  static const std::vector<std::string> kQueue = {
      "offered",       "answered",     "abandoned", "abandoned_10s", "avg_wait_s", "p90_wait_s",
      "service_level", "avg_handle_s", "transfers", "csat_avg",      "csat_count"};
  static const std::vector<std::string> kAgent = {"answered",  "handled",  "avg_handle_s",
                                                  "transfers", "csat_avg", "csat_count"};
  return per_agent ? kAgent : kQueue;
}

// The bucket starts of [from_ms, to_ms), cut from from_ms, then to_ms. Hours are 3,600 s
// apart. Days step by a day of the local clock of `zone` (UTC when null): from a local midnight
// to the next, so a day is 23 or 25 hours long when the clocks change.
std::vector<int64_t> BucketBounds(int64_t from_ms, int64_t to_ms, int64_t interval_ms,
                                  const TimeZone* zone) {
  std::vector<int64_t> out;
  bool local_days = zone && interval_ms == kDayMs;
  int64_t from_s = from_ms >= 0 ? from_ms / 1000 : (from_ms - 999) / 1000;
  int64_t sub_ms = from_ms - from_s * 1000;
  int64_t local0 = local_days ? from_s + zone->OffsetAt(from_s) : 0;
  int64_t t = from_ms;
  for (int64_t k = 1; t < to_ms; ++k) {
    out.push_back(t);
    int64_t next =
        local_days ? zone->ToUtc(local0 + k * 86'400) * 1000 + sub_ms : from_ms + k * interval_ms;
    t = std::min(std::max(next, t + 1), to_ms);
  }
  out.push_back(to_ms);
  return out;
}

}  // namespace

std::optional<int64_t> ParseReportTime(std::string_view s, bool end_of_day) {
  return ParseWhen(s, end_of_day);
}

Result<ReportRange> ParseReportRange(const std::optional<std::string>& from,
                                     const std::optional<std::string>& to,
                                     const std::optional<std::string>& interval,
                                     const TimeZone* zone) {
  if (!from || !to)
    return Invalid("Give from and to: dates (2026-12-02, whole days) or RFC 3339 times.");
  ReportRange r;
  if (zone) r.time_zone = zone->name();
  auto f = ParseWhen(*from, false);
  auto t = ParseWhen(*to, true);
  // A date is a whole day of the zone: its local midnight. A time carries its own offset.
  if (zone && f && from->size() == 10) f = zone->ToUtc(*f / 1000) * 1000;
  if (zone && t && to->size() == 10) t = zone->ToUtc(*t / 1000) * 1000;
  if (!f)
    return Invalid("from must be a date (2026-12-02) or an RFC 3339 time (2026-12-02T09:00:00Z).");
  if (!t)
    return Invalid("to must be a date (2026-12-02) or an RFC 3339 time (2026-12-02T17:00:00Z).");
  if (*t <= *f) return Invalid("to must be after from.");
  if (*t - *f > kMaxDays * kDayMs)
    return Invalid(fmt::format("A report spans at most {} days; narrow from and to.", kMaxDays));
  r.from_ms = *f;
  r.to_ms = *t;
  std::string iv = interval.value_or("");
  if (iv == "hour") {
    if (*t - *f > kMaxHourDays * kDayMs)
      return Invalid(
          fmt::format("interval=hour spans at most {} days; use interval=day.", kMaxHourDays));
    r.interval_ms = kHourMs;
  } else if (iv == "day") {
    r.interval_ms = kDayMs;
  } else if (!iv.empty() && iv != "none") {
    return Invalid("interval must be hour, day or none.");
  }
  r.interval = iv == "none" ? "" : iv;
  if (r.interval_ms > 0) r.bounds = BucketBounds(r.from_ms, r.to_ms, r.interval_ms, zone);
  return r;
}

void Count(Figures& f, const storage::RoutingFact& x) {
  if (x.kind == "offered") {
    ++f.offered;
  } else if (x.kind == "answered") {
    ++f.answered;
    int64_t wait = x.wait_ms.value_or(0);
    f.waits_ms.push_back(wait);
    if (x.value && wait <= *x.value * 1000) ++f.answered_in_sl;
  } else if (x.kind == "abandoned") {
    ++f.abandoned;
    if (x.wait_ms.value_or(0) <= kShortAbandonMs) ++f.abandoned_short;
  } else if (x.kind == "transferred") {
    ++f.transfers;
  } else if (x.kind == "ended") {
    ++f.handled;
    f.handle_ms_sum += x.handle_ms.value_or(0);
  } else if (x.kind == "csat" && x.value) {
    ++f.csat_count;
    f.csat_sum += *x.value;
  }
}

std::optional<int64_t> Percentile90(std::vector<int64_t>& values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  // Nearest rank: ceil(0.9 n), counted from 1; integer maths so 0.9 n is never 8.999….
  size_t rank = (values.size() * 9 + 9) / 10;
  return values[rank - 1];
}

std::optional<double> ServiceLevel(const Figures& f) {
  if (f.answered + f.abandoned == 0) return std::nullopt;
  return static_cast<double>(f.answered_in_sl) / static_cast<double>(f.answered + f.abandoned);
}

json::object FiguresJson(Figures f, bool per_agent) {
  json::object o;
  auto avg = [](int64_t sum, int64_t n) {
    return n > 0 ? std::optional<double>(static_cast<double>(sum) / static_cast<double>(n))
                 : std::nullopt;
  };
  int64_t wait_sum = 0;
  for (int64_t w : f.waits_ms) wait_sum += w;
  auto p90 = Percentile90(f.waits_ms);
  if (!per_agent) o["offered"] = f.offered;
  o["answered"] = f.answered;
  if (!per_agent) {
    o["abandoned"] = f.abandoned;
    o["abandoned_10s"] = f.abandoned_short;
    auto w = avg(wait_sum, f.answered);
    o["avg_wait_s"] = Opt(w ? std::optional<double>(*w / 1000.0) : std::nullopt);
    o["p90_wait_s"] = p90 ? json::value(static_cast<double>(*p90) / 1000.0) : json::value(nullptr);
    o["service_level"] = Opt(ServiceLevel(f));
  } else {
    o["handled"] = f.handled;
  }
  auto h = avg(f.handle_ms_sum, f.handled);
  o["avg_handle_s"] = Opt(h ? std::optional<double>(*h / 1000.0) : std::nullopt);
  o["transfers"] = f.transfers;
  o["csat_avg"] = Opt(avg(f.csat_sum, f.csat_count));
  o["csat_count"] = f.csat_count;
  return o;
}

std::vector<ReportRow> BuildReport(const std::vector<storage::RoutingFact>& facts,
                                   const ReportRange& range, bool by_agent) {
  std::map<std::string, ReportRow> rows;
  for (const auto& x : facts) {
    if (x.at_ms < range.from_ms || x.at_ms >= range.to_ms) continue;
    if (by_agent && !x.agent) continue;
    const std::string& name = by_agent ? *x.agent : x.queue;
    ReportRow& row = rows[name];
    row.name = name;
    Count(row.totals, x);
    if (range.bounds.size() > 1) {
      auto next = std::upper_bound(range.bounds.begin(), range.bounds.end(), x.at_ms);
      Count(row.buckets[*(next - 1)], x);
    }
  }
  std::vector<ReportRow> out;
  for (auto& [name, row] : rows) out.push_back(std::move(row));
  return out;
}

std::map<std::string, json::object> StatusTimes(const std::vector<StatusSpan>& spans,
                                                const ReportRange& range, int64_t now_ms) {
  struct Times {
    int64_t available = 0, away = 0, after_chat = 0;
    std::map<std::string, int64_t> reasons;
  };
  std::map<std::string, Times> by_agent;
  for (const auto& sp : spans) {
    int64_t from = std::max(sp.from_ms, range.from_ms);
    int64_t to = std::min(sp.to_ms.value_or(now_ms), range.to_ms);
    Times& t = by_agent[sp.agent];
    if (to <= from) continue;
    int64_t ms = to - from;
    if (sp.status == "available") {
      t.available += ms;
    } else if (sp.status == "away") {
      t.away += ms;
      t.reasons[sp.reason.value_or("other")] += ms;
    } else if (sp.status == "after_chat") {
      t.after_chat += ms;
    }
  }
  std::map<std::string, json::object> out;
  auto s = [](int64_t ms) { return json::value(static_cast<double>(ms) / 1000.0); };
  for (const auto& [agent, t] : by_agent) {
    json::object reasons;
    for (const auto& [reason, ms] : t.reasons) reasons[reason] = s(ms);
    out[agent] = json::object{{"available_s", s(t.available)},
                              {"away_s", s(t.away)},
                              {"away_by_reason", std::move(reasons)},
                              {"after_chat_s", s(t.after_chat)}};
  }
  return out;
}

json::object ReportJson(const std::vector<ReportRow>& rows, const ReportRange& range, bool by_agent,
                        const std::map<std::string, json::object>& extra) {
  std::vector<ReportRow> all = rows;
  for (const auto& [name, times] : extra) {
    (void)times;
    bool listed = false;
    for (const auto& row : rows) listed = listed || row.name == name;
    if (!listed) all.push_back(ReportRow{name, Figures{}, {}});
  }
  std::sort(all.begin(), all.end(),
            [](const ReportRow& a, const ReportRow& b) { return a.name < b.name; });
  json::array groups;
  for (const auto& row : all) {
    json::object g;
    g[by_agent ? "agent" : "queue"] = row.name;
    json::object totals = FiguresJson(row.totals, by_agent);
    if (auto it = extra.find(row.name); it != extra.end())
      for (const auto& kv : it->second) totals[kv.key()] = kv.value();
    g["totals"] = std::move(totals);
    if (range.bounds.size() > 1) {
      json::array intervals;
      // Every bucket of the span, empty ones too, so charts have no gaps.
      for (size_t i = 0; i + 1 < range.bounds.size(); ++i) {
        auto it = row.buckets.find(range.bounds[i]);
        json::object b = FiguresJson(it == row.buckets.end() ? Figures{} : it->second, by_agent);
        b["start"] = FormatTimestamp(range.bounds[i]);
        b["end"] = FormatTimestamp(range.bounds[i + 1]);
        intervals.push_back(std::move(b));
      }
      g["intervals"] = std::move(intervals);
    }
    groups.push_back(std::move(g));
  }
  return json::object{
      {"from", FormatTimestamp(range.from_ms)},
      {"to", FormatTimestamp(range.to_ms)},
      {"interval", range.interval.empty() ? json::value(nullptr) : json::value(range.interval)},
      {"time_zone", range.time_zone},
      {by_agent ? "agents" : "queues", std::move(groups)}};
}

std::string ReportCsv(const std::vector<ReportRow>& rows, const ReportRange& range, bool by_agent,
                      const std::map<std::string, json::object>& extra) {
  const auto& columns = Columns(by_agent);
  std::string out = by_agent ? "agent,start,end" : "queue,start,end";
  for (const auto& c : columns) out += "," + c;
  bool times = by_agent && range.interval_ms == 0 && !extra.empty();
  if (times) out += ",available_s,away_s,after_chat_s,away_by_reason";
  out += "\r\n";
  auto line = [&](const std::string& name, int64_t start, int64_t end, const Figures& f) {
    json::object o = FiguresJson(f, by_agent);
    out += CsvText(name) + "," + FormatTimestamp(start) + "," + FormatTimestamp(end);
    for (const auto& c : columns) out += "," + CsvNumber(o.at(c));
    if (times) {
      auto it = extra.find(name);
      if (it == extra.end()) {
        out += ",0,0,0,";
      } else {
        for (const char* k : {"available_s", "away_s", "after_chat_s"})
          out += "," + CsvNumber(it->second.at(k));
        std::string reasons;
        for (const auto& kv : it->second.at("away_by_reason").as_object())
          reasons +=
              (reasons.empty() ? "" : ";") + std::string(kv.key()) + "=" + CsvNumber(kv.value());
        out += "," + CsvText(reasons);
      }
    }
    out += "\r\n";
  };
  std::vector<ReportRow> all = rows;
  for (const auto& [name, times_of] : extra) {
    (void)times_of;
    bool listed = false;
    for (const auto& row : rows) listed = listed || row.name == name;
    if (!listed) all.push_back(ReportRow{name, Figures{}, {}});
  }
  std::sort(all.begin(), all.end(),
            [](const ReportRow& a, const ReportRow& b) { return a.name < b.name; });
  for (const auto& row : all) {
    if (range.bounds.size() < 2) {
      line(row.name, range.from_ms, range.to_ms, row.totals);
      continue;
    }
    for (size_t i = 0; i + 1 < range.bounds.size(); ++i) {
      auto it = row.buckets.find(range.bounds[i]);
      line(row.name, range.bounds[i], range.bounds[i + 1],
           it == row.buckets.end() ? Figures{} : it->second);
    }
  }
  return out;
}

}  // namespace parley::routing

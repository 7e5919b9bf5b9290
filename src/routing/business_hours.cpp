#include "routing/business_hours.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

namespace parley::routing {
namespace json = boost::json;
namespace {

constexpr std::array<const char*, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr std::array<const char*, 7> kDayNames = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                  "Friday", "Saturday", "Sunday"};
constexpr size_t kMaxRangesADay = 12;
constexpr size_t kMaxClosedDates = 400;
// How far ahead the next opening is looked for.
constexpr int64_t kLookAheadDays = 400;

Failure Invalid(std::string message) {
  return Fail(Errc::kInvalidArgument, "invalid_hours", std::move(message));
}

// "HH:MM" (00:00-23:59, or 24:00 as an end) as minutes.
std::optional<int> Minutes(const json::value& v, bool end) {
  if (!v.is_string() || v.as_string().size() != 5 || v.as_string()[2] != ':') return std::nullopt;
  std::string_view s = v.as_string();
  for (size_t i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end))) return std::nullopt;
  return h * 60 + m;
}

bool ValidDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  int64_t y = std::stoi(s.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
  unsigned d = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  int64_t yy;
  unsigned mm, dd;
  CivilFromDays(DaysFromCivil(y, m, d), yy, mm, dd);
  return yy == y && mm == m && dd == d;
}

std::string Hhmm(int minutes) { return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60); }

std::string DateOf(int64_t day) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, y, m, d);
  return fmt::format("{:04}-{:02}-{:02}", y, m, d);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Monday 0 … Sunday 6 of a day since the epoch (1970-01-01 was a Thursday).
int Weekday(int64_t day) { return static_cast<int>(((day % 7) + 7 + 3) % 7); }

}  // namespace

Result<BusinessHours> ParseHours(const json::value& v, const TimeZones& zones) {
  if (!v.is_object())
    return Invalid(
        "hours must be null (always open) or an object with time_zone, weekly and closed_on.");
  BusinessHours h;
  const json::object& o = v.as_object();
  for (const auto& kv : o)
    if (kv.key() != "time_zone" && kv.key() != "weekly" && kv.key() != "closed_on")
      return Invalid(fmt::format(
          "Unknown key '{}' in hours; they have time_zone, weekly and closed_on.", kv.key()));
  const json::value* zone = o.if_contains("time_zone");
  if (!zone || !zone->is_string())
    return Invalid("hours.time_zone is required: an IANA zone such as \"Europe/London\".");
  h.time_zone = std::string(zone->as_string());
  auto loaded = zones.Get(h.time_zone);
  if (!loaded)
    return Invalid(
        fmt::format("hours.time_zone '{}' is not an IANA time zone of this server "
                    "(e.g. \"Europe/London\").",
                    h.time_zone.substr(0, 64)));
  const json::value* weekly = o.if_contains("weekly");
  if (!weekly || !weekly->is_object())
    return Invalid(
        "hours.weekly is required: an object of days (mon … sun), each a list of "
        "[\"HH:MM\",\"HH:MM\"] ranges; a missing day is closed.");
  for (const auto& kv : weekly->as_object()) {
    auto it = std::find(kDays.begin(), kDays.end(), std::string_view(kv.key()));
    if (it == kDays.end())
      return Invalid(fmt::format(
          "hours.weekly has '{}'; the days are mon, tue, wed, thu, fri, sat and sun.", kv.key()));
    size_t day = static_cast<size_t>(it - kDays.begin());
    if (!kv.value().is_array() || kv.value().as_array().size() > kMaxRangesADay)
      return Invalid(fmt::format("hours.weekly.{} must be a list of at most {} ranges.", kv.key(),
                                 kMaxRangesADay));
    auto& ranges = h.weekly[day];
    for (const auto& r : kv.value().as_array()) {
      const json::array* pair = r.if_array();
      std::optional<int> from =
          pair && pair->size() == 2 ? Minutes((*pair)[0], false) : std::nullopt;
      std::optional<int> to = pair && pair->size() == 2 ? Minutes((*pair)[1], true) : std::nullopt;
      if (!from || !to)
        return Invalid(fmt::format(
            "Each range of hours.weekly.{} is [\"HH:MM\",\"HH:MM\"] with times 00:00-23:59 (24:00 "
            "may end a day).",
            kv.key()));
      if (*from >= *to)
        return Invalid(fmt::format("The range {}-{} of hours.weekly.{} must start before it ends.",
                                   Hhmm(*from), Hhmm(*to), kv.key()));
      ranges.emplace_back(*from, *to);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].first < ranges[i - 1].second)
        return Invalid(fmt::format("The ranges {}-{} and {}-{} of hours.weekly.{} overlap.",
                                   Hhmm(ranges[i - 1].first), Hhmm(ranges[i - 1].second),
                                   Hhmm(ranges[i].first), Hhmm(ranges[i].second), kv.key()));
  }
  if (const json::value* closed = o.if_contains("closed_on")) {
    if (!closed->is_array() || closed->as_array().size() > kMaxClosedDates)
      return Invalid(fmt::format("hours.closed_on must be a list of at most {} dates (YYYY-MM-DD).",
                                 kMaxClosedDates));
    for (const auto& d : closed->as_array()) {
      if (!d.is_string() || !ValidDate(std::string(d.as_string())))
        return Invalid("Each date of hours.closed_on must be a real date as YYYY-MM-DD.");
      h.closed_on.insert(std::string(d.as_string()));
    }
  }
  return h;
}

json::value HoursToJson(const BusinessHours& h) {
  json::object weekly;
  for (size_t d = 0; d < 7; ++d) {
    if (h.weekly[d].empty()) continue;
    json::array ranges;
    for (const auto& [from, to] : h.weekly[d])
      ranges.push_back(json::array{json::value(Hhmm(from)), json::value(Hhmm(to))});
    weekly[kDays[d]] = std::move(ranges);
  }
  json::array closed;
  for (const auto& d : h.closed_on) closed.emplace_back(d);
  return json::object{
      {"time_zone", h.time_zone}, {"weekly", std::move(weekly)}, {"closed_on", std::move(closed)}};
}

Openness OpenAt(const BusinessHours& h, const TimeZone& zone, int64_t now_ms) {
  int64_t now_s = FloorDiv(now_ms, 1000);
  int64_t local_s = now_s + zone.OffsetAt(now_s);
  int64_t today = FloorDiv(local_s, 86400);
  int minute = static_cast<int>((local_s - today * 86400) / 60);
  Openness out;
  out.open = false;
  if (!h.closed_on.contains(DateOf(today)))
    for (const auto& [from, to] : h.weekly[static_cast<size_t>(Weekday(today))])
      if (from <= minute && minute < to) out.open = true;
  if (out.open) return out;
  for (int64_t day = today; day <= today + kLookAheadDays; ++day) {
    if (h.closed_on.contains(DateOf(day))) continue;
    for (const auto& [from, to] : h.weekly[static_cast<size_t>(Weekday(day))]) {
      if (day == today && from <= minute) continue;
      out.opens_at_ms = zone.ToUtc(day * 86400 + from * 60) * 1000;
      return out;
    }
  }
  return out;
}

std::string FormatOpening(const BusinessHours& h, const TimeZone& zone, int64_t at_ms) {
  int64_t s = FloorDiv(at_ms, 1000);
  int64_t local = s + zone.OffsetAt(s);
  int64_t day = FloorDiv(local, 86400);
  int minute = static_cast<int>((local - day * 86400) / 60);
  return fmt::format("{} {} {} ({})", kDayNames[static_cast<size_t>(Weekday(day))], DateOf(day),
                     Hhmm(minute), h.time_zone);
}

}  // namespace parley::routing

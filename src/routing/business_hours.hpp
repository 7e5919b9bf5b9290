#pragma once
// A queue's business hours (issue 19): a weekly schedule in an IANA time zone plus dated
// closures, e.g. {"time_zone":"Europe/London","weekly":{"mon":[["09:00","17:30"]],"sun":[]},
// "closed_on":["2026-12-25"]}. A day missing from `weekly` is closed. Pure functions; the zone is
// read by core/time_zone.

#include <array>
#include <boost/json/value.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/time_zone.hpp"

namespace parley::routing {

struct BusinessHours {
  std::string time_zone;
  // Monday first; each day's ranges as minutes after local midnight [start, end), sorted and
  // not overlapping; end may be 1440 ("24:00").
  std::array<std::vector<std::pair<int, int>>, 7> weekly;
  std::set<std::string> closed_on;  // local dates, YYYY-MM-DD
};

// Where a queue stands at a moment.
struct Openness {
  bool open = true;
  std::optional<int64_t> opens_at_ms;  // when closed: the next opening (none within a year)
};

// Validates `v` (an object as above). Errors are kInvalidArgument invalid_hours with a sentence
// naming what is wrong (the zone, a time, an overlap, a date, an unknown key); the zone is
// checked against `zones`.
Result<BusinessHours> ParseHours(const boost::json::value& v, const TimeZones& zones);
// The canonical JSON of `h` (what is stored and shown).
boost::json::value HoursToJson(const BusinessHours& h);

// Open or closed at `now_ms`, and when it opens next.
Openness OpenAt(const BusinessHours& h, const TimeZone& zone, int64_t now_ms);

// "Monday 2026-12-07 09:00 (Europe/London)": a time as the customer is told it.
std::string FormatOpening(const BusinessHours& h, const TimeZone& zone, int64_t at_ms);

}  // namespace parley::routing

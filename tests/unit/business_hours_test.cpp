// Business hours: validation, open/closed and the next opening across days, closures and the
// daylight-saving changes of a real zone read from the system's tz database.

#include "routing/business_hours.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley::routing {
namespace {
namespace json = boost::json;

int64_t Utc(int y, unsigned m, unsigned d, int h, int mi) {
  return (DaysFromCivil(y, m, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

BusinessHours Parse(const std::string& text) {
  TimeZones zones;
  auto h = ParseHours(json::parse(text), zones);
  EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().message);
  return h ? *h : BusinessHours{};
}

std::string ErrorOf(const std::string& text) {
  TimeZones zones;
  auto h = ParseHours(json::parse(text), zones);
  EXPECT_FALSE(h.has_value());
  if (h) return "";
  EXPECT_EQ(h.error().code, "invalid_hours");
  return h.error().message;
}

const char* kLondon =
    R"({"time_zone":"Europe/London","weekly":{"mon":[["09:00","17:30"]],"tue":[["09:00","17:30"]],)"
    R"("wed":[["09:00","12:00"],["13:00","17:30"]],"thu":[["09:00","17:30"]],"fri":[["09:00","17:30"]],)"
    R"("sat":[],"sun":[]},"closed_on":["2026-12-25"]})";

TEST(TimeZoneTest, LondonOffsetsFollowSummerTime) {
  auto zone = TimeZone::Load("Europe/London");
  ASSERT_TRUE(zone.has_value());
  EXPECT_EQ((*zone)->OffsetAt(Utc(2026, 12, 7, 12, 0) / 1000), 0);
  EXPECT_EQ((*zone)->OffsetAt(Utc(2026, 7, 1, 12, 0) / 1000), 3600);
  // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
  EXPECT_EQ((*zone)->OffsetAt(Utc(2026, 3, 29, 0, 59) / 1000), 0);
  EXPECT_EQ((*zone)->OffsetAt(Utc(2026, 3, 29, 1, 0) / 1000), 3600);
  EXPECT_EQ((*zone)->OffsetAt(Utc(2026, 10, 25, 0, 59) / 1000), 3600);
  EXPECT_EQ((*zone)->OffsetAt(Utc(2026, 10, 25, 1, 0) / 1000), 0);
  // Far beyond the file's transitions, from the POSIX rule of its footer.
  EXPECT_EQ((*zone)->OffsetAt(Utc(2090, 7, 1, 12, 0) / 1000), 3600);
  EXPECT_EQ((*zone)->OffsetAt(Utc(2090, 1, 1, 12, 0) / 1000), 0);
}

TEST(TimeZoneTest, PosixRuleAlone) {
  PosixTz r;
  ASSERT_TRUE(ParsePosixTz("EST5EDT,M3.2.0,M11.1.0", r));
  EXPECT_EQ(r.std_offset_s, -5 * 3600);
  EXPECT_EQ(r.dst_offset_s, -4 * 3600);
  ASSERT_TRUE(ParsePosixTz("<+0530>-5:30", r));
  EXPECT_EQ(r.std_offset_s, 5 * 3600 + 1800);
  EXPECT_FALSE(r.has_dst);
  EXPECT_FALSE(ParsePosixTz("EST", r));
  EXPECT_FALSE(ParsePosixTz("EST5EDT,M13.1.0,M11.1.0", r));
}

TEST(TimeZoneTest, RefusesNamesOutsideTheDatabase) {
  EXPECT_FALSE(TimeZone::Load("Mars/Olympus").has_value());
  EXPECT_FALSE(TimeZone::Load("../etc/passwd").has_value());
  EXPECT_FALSE(TimeZone::Load("/etc/passwd").has_value());
  EXPECT_FALSE(TimeZone::Load("").has_value());
  EXPECT_TRUE(TimeZone::Load("America/New_York").has_value());
}

TEST(BusinessHoursTest, OpenWithinARangeAndClosedOutside) {
  BusinessHours h = Parse(kLondon);
  auto zone = *TimeZone::Load("Europe/London");
  // Monday 7 December 2026 (GMT: local = UTC).
  EXPECT_FALSE(OpenAt(h, *zone, Utc(2026, 12, 7, 8, 59)).open);
  EXPECT_EQ(OpenAt(h, *zone, Utc(2026, 12, 7, 8, 59)).opens_at_ms, Utc(2026, 12, 7, 9, 0));
  EXPECT_TRUE(OpenAt(h, *zone, Utc(2026, 12, 7, 9, 0)).open);
  EXPECT_TRUE(OpenAt(h, *zone, Utc(2026, 12, 7, 17, 29)).open);
  EXPECT_FALSE(OpenAt(h, *zone, Utc(2026, 12, 7, 17, 30)).open);
  EXPECT_EQ(OpenAt(h, *zone, Utc(2026, 12, 7, 17, 30)).opens_at_ms, Utc(2026, 12, 8, 9, 0));
  // Wednesday's lunch break.
  EXPECT_FALSE(OpenAt(h, *zone, Utc(2026, 12, 9, 12, 30)).open);
  EXPECT_EQ(OpenAt(h, *zone, Utc(2026, 12, 9, 12, 30)).opens_at_ms, Utc(2026, 12, 9, 13, 0));
}

TEST(BusinessHoursTest, WeekendsAndClosuresSkipToTheNextOpenDay) {
  BusinessHours h = Parse(kLondon);
  auto zone = *TimeZone::Load("Europe/London");
  // Friday evening 11 December → Monday 14 December 09:00.
  EXPECT_EQ(OpenAt(h, *zone, Utc(2026, 12, 11, 18, 0)).opens_at_ms, Utc(2026, 12, 14, 9, 0));
  // Thursday 24 December evening: Friday 25 is closed_on, then the weekend → Monday 28.
  EXPECT_EQ(OpenAt(h, *zone, Utc(2026, 12, 24, 18, 0)).opens_at_ms, Utc(2026, 12, 28, 9, 0));
  EXPECT_FALSE(OpenAt(h, *zone, Utc(2026, 12, 25, 10, 0)).open);
}

TEST(BusinessHoursTest, LocalTimeInSummerIsAnHourAheadOfUtc) {
  BusinessHours h = Parse(kLondon);
  auto zone = *TimeZone::Load("Europe/London");
  // Monday 6 July 2026, BST: 09:00 local is 08:00 UTC.
  EXPECT_FALSE(OpenAt(h, *zone, Utc(2026, 7, 6, 7, 59)).open);
  EXPECT_EQ(OpenAt(h, *zone, Utc(2026, 7, 6, 7, 59)).opens_at_ms, Utc(2026, 7, 6, 8, 0));
  EXPECT_TRUE(OpenAt(h, *zone, Utc(2026, 7, 6, 8, 0)).open);
  EXPECT_EQ(FormatOpening(h, *zone, Utc(2026, 7, 6, 8, 0)),
            "Monday 2026-07-06 09:00 (Europe/London)");
}

TEST(BusinessHoursTest, ADayMissingFromWeeklyIsClosedAndNoOpeningIsNone) {
  BusinessHours h = Parse(R"({"time_zone":"UTC","weekly":{}})");
  auto zone = *TimeZone::Load("UTC");
  Openness o = OpenAt(h, *zone, Utc(2026, 12, 7, 12, 0));
  EXPECT_FALSE(o.open);
  EXPECT_FALSE(o.opens_at_ms.has_value());
  BusinessHours all = Parse(R"({"time_zone":"UTC","weekly":{"sun":[["00:00","24:00"]]}})");
  EXPECT_TRUE(OpenAt(all, *zone, Utc(2026, 12, 6, 23, 59)).open);  // a Sunday
  EXPECT_FALSE(OpenAt(all, *zone, Utc(2026, 12, 7, 0, 0)).open);   // Monday
}

TEST(BusinessHoursTest, RefusesWhatIsWrongWithASentence) {
  EXPECT_NE(ErrorOf(R"({"time_zone":"Mars/Base","weekly":{}})").find("Mars/Base"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"weekly":{}})").find("time_zone"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC"})").find("weekly"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC","weekly":{"monday":[]}})").find("monday"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC","weekly":{"mon":[["9:00","17:00"]]}})").find("HH:MM"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC","weekly":{"mon":[["09:00","25:00"]]}})").find("HH:MM"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC","weekly":{"mon":[["17:00","09:00"]]}})").find("start"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC","weekly":{"mon":[["09:00","13:00"],["12:00","17:00"]]}})")
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC","weekly":{},"closed_on":["2026-02-30"]})").find("date"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"time_zone":"UTC","weekly":{},"holidays":[]})").find("holidays"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"([])").find("null"), std::string::npos);
  // Back-to-back ranges touch but do not overlap.
  Parse(R"({"time_zone":"UTC","weekly":{"mon":[["09:00","12:00"],["12:00","17:00"]]}})");
}

TEST(BusinessHoursTest, CanonicalJsonRoundTrips) {
  BusinessHours h = Parse(kLondon);
  json::value v = HoursToJson(h);
  EXPECT_EQ(v.at("time_zone").as_string(), "Europe/London");
  EXPECT_EQ(v.at("weekly").as_object().size(), 5u);  // empty days are left out: closed
  EXPECT_EQ(json::serialize(v.at("weekly").at("wed")), R"([["09:00","12:00"],["13:00","17:30"]])");
  EXPECT_EQ(json::serialize(v.at("closed_on")), R"(["2026-12-25"])");
}

}  // namespace
}  // namespace parley::routing

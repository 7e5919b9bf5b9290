// Report maths: the 90th percentile (nearest rank), the service level, the buckets and the
// range parsing, on hand-made facts with exact expected figures.

#include "routing/reports.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley::routing {
namespace {
namespace json = boost::json;

storage::RoutingFact F(int64_t at, std::string kind, std::string queue,
                       std::optional<std::string> agent = std::nullopt,
                       std::optional<int64_t> wait = std::nullopt,
                       std::optional<int64_t> handle = std::nullopt,
                       std::optional<int64_t> value = std::nullopt) {
  storage::RoutingFact f;
  f.at_ms = at;
  f.kind = std::move(kind);
  f.queue = std::move(queue);
  f.agent = std::move(agent);
  f.conversation_id = "c";
  f.wait_ms = wait;
  f.handle_ms = handle;
  f.value = value;
  return f;
}

TEST(ReportsTest, Percentile90IsTheNearestRank) {
  std::vector<int64_t> none;
  EXPECT_FALSE(Percentile90(none).has_value());
  std::vector<int64_t> one = {7};
  EXPECT_EQ(Percentile90(one), 7);
  std::vector<int64_t> ten = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
  EXPECT_EQ(Percentile90(ten), 9);  // rank ceil(9.0) = 9
  std::vector<int64_t> eleven = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  EXPECT_EQ(Percentile90(eleven), 10);  // rank ceil(9.9) = 10
  std::vector<int64_t> twenty(20);
  for (int i = 0; i < 20; ++i) twenty[i] = i + 1;
  EXPECT_EQ(Percentile90(twenty), 18);  // rank 18 exactly
}

TEST(ReportsTest, ServiceLevelCountsAbandonedAgainstIt) {
  Figures f;
  EXPECT_FALSE(ServiceLevel(f).has_value());
  Count(f, F(0, "answered", "q", "ann", 20'000, std::nullopt, 60));  // within 60 s
  Count(f, F(0, "answered", "q", "ann", 60'000, std::nullopt, 60));  // exactly 60 s: within
  Count(f, F(0, "answered", "q", "ann", 61'000, std::nullopt, 60));  // past it
  Count(f, F(0, "abandoned", "q", std::nullopt, 5'000));             // short abandon
  EXPECT_EQ(f.answered_in_sl, 2);
  EXPECT_DOUBLE_EQ(*ServiceLevel(f), 0.5);
  EXPECT_EQ(f.abandoned_short, 1);
}

TEST(ReportsTest, QueueFiguresOfAScriptedDay) {
  ReportRange range = *ParseReportRange("2026-12-02", "2026-12-02", "hour");
  const int64_t day = range.from_ms;
  const int64_t h9 = day + 9 * 3'600'000, h10 = day + 10 * 3'600'000;
  std::vector<storage::RoutingFact> facts = {
      F(h9, "offered", "sales"),
      F(h9 + 30'000, "answered", "sales", "ann", 30'000, std::nullopt, 60),
      F(h9 + 1'000, "offered", "sales"),
      F(h9 + 9'000, "abandoned", "sales", std::nullopt, 8'000),
      F(h9 + 2'000, "offered", "sales"),
      F(h9 + 92'000, "answered", "sales", "bob", 90'000, std::nullopt, 60),
      F(h10, "offered", "sales"),
      F(h10 + 40'000, "abandoned", "sales", std::nullopt, 40'000),
      F(h9 + 330'000, "ended", "sales", "ann", std::nullopt, 300'000),
      F(h9 + 330'000, "csat", "sales", "ann", std::nullopt, std::nullopt, 4),
      F(h10 + 60'000, "transferred", "sales", "bob", std::nullopt, 60'000),
      F(h10, "offered", "support"),
      F(day - 1, "offered", "sales"),  // the day before: left out
  };
  auto rows = BuildReport(facts, range, false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "sales");
  json::object t = FiguresJson(rows[0].totals, false);
  EXPECT_EQ(t.at("offered").as_int64(), 4);
  EXPECT_EQ(t.at("answered").as_int64(), 2);
  EXPECT_EQ(t.at("abandoned").as_int64(), 2);
  EXPECT_EQ(t.at("abandoned_10s").as_int64(), 1);
  EXPECT_DOUBLE_EQ(t.at("avg_wait_s").as_double(), 60.0);
  EXPECT_DOUBLE_EQ(t.at("p90_wait_s").as_double(), 90.0);
  EXPECT_DOUBLE_EQ(t.at("service_level").as_double(), 0.25);
  EXPECT_DOUBLE_EQ(t.at("avg_handle_s").as_double(), 300.0);
  EXPECT_EQ(t.at("transfers").as_int64(), 1);
  EXPECT_DOUBLE_EQ(t.at("csat_avg").as_double(), 4.0);
  EXPECT_EQ(t.at("csat_count").as_int64(), 1);

  json::object report = ReportJson(rows, range, false);
  const json::array& hours = report.at("queues").at(0).at("intervals").as_array();
  ASSERT_EQ(hours.size(), 24u);  // every hour of the day, empty ones too
  EXPECT_EQ(hours[9].at("offered").as_int64(), 3);
  EXPECT_EQ(hours[9].at("answered").as_int64(), 2);
  EXPECT_EQ(hours[10].at("offered").as_int64(), 1);
  EXPECT_EQ(hours[10].at("abandoned").as_int64(), 1);
  EXPECT_EQ(hours[8].at("offered").as_int64(), 0);
  EXPECT_TRUE(hours[8].at("service_level").is_null());
  EXPECT_EQ(hours[9].at("start").as_string(), "2026-12-02T09:00:00.000Z");

  std::string csv = ReportCsv(rows, range, false);
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "queue,start,end,offered,answered,abandoned,abandoned_10s,avg_wait_s,p90_wait_s,"
            "service_level,avg_handle_s,transfers,csat_avg,csat_count");
  EXPECT_NE(csv.find("sales,2026-12-02T09:00:00.000Z,2026-12-02T10:00:00.000Z,3,2,1,1,60,90,"
                     "0.333,300,0,4,1\r\n"),
            std::string::npos)
      << csv;
}

TEST(ReportsTest, AgentFigures) {
  ReportRange range = *ParseReportRange("2026-12-02", "2026-12-02", std::nullopt);
  int64_t t = range.from_ms + 1000;
  std::vector<storage::RoutingFact> facts = {
      F(t, "answered", "sales", "ann", 1000, std::nullopt, 60),
      F(t, "ended", "sales", "ann", std::nullopt, 120'000),
      F(t, "ended", "sales", "ann", std::nullopt, 240'000),
      F(t, "abandoned", "sales", std::nullopt, 1000),  // no agent: not in the agents' report
      F(t, "csat", "sales", "ann", std::nullopt, std::nullopt, 5),
      F(t, "csat", "sales", "ann", std::nullopt, std::nullopt, 2),
  };
  auto rows = BuildReport(facts, range, true);
  ASSERT_EQ(rows.size(), 1u);
  json::object a = FiguresJson(rows[0].totals, true);
  EXPECT_EQ(a.at("answered").as_int64(), 1);
  EXPECT_EQ(a.at("handled").as_int64(), 2);
  EXPECT_DOUBLE_EQ(a.at("avg_handle_s").as_double(), 180.0);
  EXPECT_DOUBLE_EQ(a.at("csat_avg").as_double(), 3.5);
  EXPECT_FALSE(a.contains("offered"));
}

TEST(ReportsTest, RangesAreDatesOrRfc3339Times) {
  auto whole = ParseReportRange("2026-12-02", "2026-12-03", "day");
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->to_ms - whole->from_ms, 2 * 86'400'000);
  auto times = ParseReportRange("2026-12-02T09:00:00Z", "2026-12-02T11:00:00+01:00", "hour");
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->to_ms - times->from_ms, 3'600'000);  // 11:00+01:00 is 10:00Z
  EXPECT_FALSE(
      ParseReportRange("2026-12-02T09:00:00Z", "2026-12-02T10:00:00+01:00", "").has_value());
  EXPECT_FALSE(ParseReportRange("2026-12-02T10:00:00Z", "2026-12-02T09:00:00Z", "").has_value());
  auto mixed = ParseReportRange("2026-12-02", "2026-12-02T09:00:00Z", "");
  ASSERT_TRUE(mixed.has_value());  // a date's start to a time
  EXPECT_EQ(mixed->to_ms - mixed->from_ms, 9 * 3'600'000);
  auto bad = ParseReportRange("02/12/2026", "2026-12-03", "day");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, "invalid_report_range");
  EXPECT_FALSE(ParseReportRange("2026-12-02", "2026-12-03", "week").has_value());
  EXPECT_FALSE(ParseReportRange("2026-01-01", "2026-12-31", "day").has_value());   // > 92 days
  EXPECT_FALSE(ParseReportRange("2026-01-01", "2026-03-01", "hour").has_value());  // > 31 days
  EXPECT_FALSE(ParseReportRange("2026-02-30", "2026-03-01", "").has_value());
  EXPECT_FALSE(ParseReportRange(std::nullopt, "2026-03-01", "").has_value());
}

// time_zone: dates are the zone's days, and day buckets run from local midnight to local
// midnight (23 and 25 hours on the days London's clocks change). Hours stay 3,600 s apart.
TEST(ReportsTest, DaysOfATimeZone) {
  auto london = TimeZone::Load("Europe/London");
  ASSERT_TRUE(london.has_value()) << london.error().message;
  const int64_t h = 3'600'000;
  // 2026-07-01 in London is 2026-06-30T23:00Z to 2026-07-01T23:00Z (BST, +01:00).
  auto july = ParseReportRange("2026-07-01", "2026-07-01", "hour", london->get());
  ASSERT_TRUE(july.has_value());
  EXPECT_EQ(july->from_ms, *ParseReportTime("2026-06-30T23:00:00Z", false));
  EXPECT_EQ(july->to_ms, *ParseReportTime("2026-07-01T23:00:00Z", false));
  EXPECT_EQ(july->time_zone, "Europe/London");
  ASSERT_EQ(july->bounds.size(), 25u);  // 24 hours, then the end
  EXPECT_EQ(july->bounds[1] - july->bounds[0], h);
  // The clocks go forward on 2026-03-29 and back on 2026-10-25.
  auto spring = ParseReportRange("2026-03-28", "2026-03-30", "day", london->get());
  ASSERT_TRUE(spring.has_value());
  ASSERT_EQ(spring->bounds.size(), 4u);
  EXPECT_EQ(spring->bounds[1] - spring->bounds[0], 24 * h);
  EXPECT_EQ(spring->bounds[2] - spring->bounds[1], 23 * h);
  EXPECT_EQ(spring->bounds[3] - spring->bounds[2], 24 * h);
  EXPECT_EQ(spring->bounds[3], *ParseReportTime("2026-03-30T23:00:00Z", false));
  auto autumn = ParseReportRange("2026-10-25", "2026-10-25", "day", london->get());
  ASSERT_TRUE(autumn.has_value());
  ASSERT_EQ(autumn->bounds.size(), 2u);
  EXPECT_EQ(autumn->bounds[1] - autumn->bounds[0], 25 * h);
  // A fact at 23:30Z on 2026-07-01 is on 2 July in London: the second day's bucket.
  auto two = ParseReportRange("2026-07-01", "2026-07-02", "day", london->get());
  ASSERT_TRUE(two.has_value());
  auto rows = BuildReport({F(*ParseReportTime("2026-07-01T23:30:00Z", false), "offered", "q")},
                          *two, false);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].buckets.size(), 1u);
  EXPECT_EQ(rows[0].buckets.begin()->first, *ParseReportTime("2026-07-01T23:00:00Z", false));
  json::object out = ReportJson(rows, *two, false);
  EXPECT_EQ(out.at("time_zone").as_string(), "Europe/London");
  const auto& intervals = out.at("queues").as_array()[0].as_object().at("intervals").as_array();
  ASSERT_EQ(intervals.size(), 2u);
  EXPECT_EQ(intervals[1].as_object().at("start").as_string(), "2026-07-01T23:00:00.000Z");
  EXPECT_EQ(intervals[1].as_object().at("offered").as_int64(), 1);
  // An RFC 3339 time keeps its own offset.
  auto times = ParseReportRange("2026-07-01T09:00:00Z", "2026-07-01T10:00:00Z", "", london->get());
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->to_ms - times->from_ms, h);
}

TEST(ReportsTest, StatusTimesAreClippedToTheRange) {
  ReportRange range = *ParseReportRange("2026-12-02", "2026-12-02", std::nullopt);
  const int64_t day = range.from_ms, h = 3'600'000;
  std::vector<StatusSpan> spans = {
      {"ann", "offline", std::nullopt, day - 10 * h, day + 8 * h},
      {"ann", "available", std::nullopt, day + 8 * h, day + 12 * h},
      {"ann", "away", std::string("lunch"), day + 12 * h, day + 13 * h},
      {"ann", "available", std::nullopt, day + 13 * h, day + 17 * h},
      {"ann", "away", std::nullopt, day + 17 * h, day + 17 * h + 60'000},
      {"ann", "after_chat", std::nullopt, day + 17 * h + 60'000, day + 17 * h + 90'000},
      {"bob", "away", std::string("break"), day + 23 * h, std::nullopt},  // still away
  };
  auto times = StatusTimes(spans, range, day + 24 * h + 5 * h);  // now: the next morning
  EXPECT_DOUBLE_EQ(times["ann"].at("available_s").as_double(), 8 * 3600.0);
  EXPECT_DOUBLE_EQ(times["ann"].at("away_s").as_double(), 3600.0 + 60.0);
  EXPECT_DOUBLE_EQ(times["ann"].at("away_by_reason").at("lunch").as_double(), 3600.0);
  EXPECT_DOUBLE_EQ(times["ann"].at("away_by_reason").at("other").as_double(), 60.0);
  EXPECT_DOUBLE_EQ(times["ann"].at("after_chat_s").as_double(), 30.0);
  EXPECT_DOUBLE_EQ(times["bob"].at("away_by_reason").at("break").as_double(), 3600.0);
  // An agent with time but no chats is listed too.
  json::object report = ReportJson({}, range, true, times);
  EXPECT_EQ(report.at("agents").as_array().size(), 2u);
  std::string csv = ReportCsv({}, range, true, times);
  EXPECT_NE(csv.find(",available_s,away_s,after_chat_s,away_by_reason\r\n"), std::string::npos);
  EXPECT_NE(
      csv.find(
          "bob,2026-12-02T00:00:00.000Z,2026-12-03T00:00:00.000Z,0,0,,0,,0,0,3600,0,break=3600"),
      std::string::npos)
      << csv;
}

TEST(ReportsTest, CsvNamesCannotBecomeFormulas) {
  ReportRange range = *ParseReportRange("2026-12-02", "2026-12-02", std::nullopt);
  auto rows = BuildReport({F(range.from_ms, "offered", "=cmd,\"x\"")}, range, false);
  std::string csv = ReportCsv(rows, range, false);
  EXPECT_NE(csv.find("\"'=cmd,\"\"x\"\"\","), std::string::npos) << csv;
}

}  // namespace
}  // namespace parley::routing

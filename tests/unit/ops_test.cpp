// log_format json lines, and what `parley status` makes of a /metrics scrape.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "app/ops_cli.hpp"
#include "core/json_log.hpp"

namespace parley {
namespace {

TEST(JsonLog, OneObjectWithTheIdsTheMessageNames) {
  std::string line = JsonLogLine(
      1795654803512, "warning",
      "event 74fdcd29-3100-47a7-9a79-5f19fb5c8add of conversation "
      "5bb25cbb-78b0-449b-b2e6-fe158f627eb8 dead-lettered after 3 attempts: \"quoted\"\nnext");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("level").as_string(), "warning");
  EXPECT_EQ(v.at("time").as_string(), "2026-11-26T01:00:03.512Z");
  EXPECT_EQ(v.at("conversation_id").as_string(), "5bb25cbb-78b0-449b-b2e6-fe158f627eb8");
  EXPECT_FALSE(v.contains("connection_id"));
  EXPECT_NE(std::string(v.at("msg").as_string()).find("\"quoted\"\nnext"), std::string::npos);
  auto c = boost::json::parse(JsonLogLine(0, "warning",
                                          "connection 9ff48bd3-a647-49ce-b7a9-d4e2214bd029 "
                                          "names bot 'x'"))
               .as_object();
  EXPECT_EQ(c.at("connection_id").as_string(), "9ff48bd3-a647-49ce-b7a9-d4e2214bd029");
  // Not an ID: nothing added.
  auto n = boost::json::parse(JsonLogLine(0, "info", "conversation abc ended")).as_object();
  EXPECT_FALSE(n.contains("conversation_id"));
}

TEST(Status, ParsesTheTextFormatAndSummarises) {
  std::string text =
      "# HELP parley_build_info x\n# TYPE parley_build_info gauge\n"
      "parley_build_info{version=\"0.1.0\"} 1\n"
      "parley_process_start_time_seconds 1000\n"
      "parley_queue_waiting{queue=\"cards\"} 2\n"
      "parley_queue_longest_wait_seconds{queue=\"cards\"} 75\n"
      "parley_queue_agents_available{queue=\"cards\"} 1\n"
      "parley_queue_agents_signed_in{queue=\"cards\"} 2\n"
      "parley_agents{status=\"available\"} 3\n"
      "parley_connection_info{connection_id=\"c1\",name=\"Acme \\\"Teams\\\"\"} 1\n"
      "parley_deliveries{connection_id=\"c1\",state=\"pending\"} 4\n"
      "parley_deliveries{connection_id=\"c1\",state=\"dead\"} 1\n"
      "parley_deliveries_failing{connection_id=\"c1\"} 2\n"
      "parley_delivery_oldest_pending_age_seconds{connection_id=\"c1\"} 125.5\n"
      "garbage line without value\n";
  auto m = app::ParseMetrics(text);
  ASSERT_EQ(m.size(), 12u);
  EXPECT_EQ(m[7].labels.at("name"), "Acme \"Teams\"");
  std::string out = app::StatusReport("http://x", m, true, 1000 * 1000 + 3'700'000);
  EXPECT_NE(out.find("Parley 0.1.0 at http://x: ready, up 1h 1m"), std::string::npos) << out;
  EXPECT_NE(out.find("cards"), std::string::npos) << out;
  EXPECT_NE(out.find("1m 15s"), std::string::npos) << out;
  EXPECT_NE(out.find("3 available"), std::string::npos) << out;
  EXPECT_NE(out.find("4 pending (2 failing), 1 dead"), std::string::npos) << out;
  EXPECT_NE(out.find("Acme \"Teams\""), std::string::npos) << out;
  EXPECT_NE(out.find("oldest 2m 5s"), std::string::npos) << out;
  EXPECT_NE(app::StatusReport("http://x", m, false, 0).find("NOT READY"), std::string::npos);
}

}  // namespace
}  // namespace parley

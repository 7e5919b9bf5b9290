// Reports (issue 19): GET /api/v1/reports/queues and /api/v1/reports/agents, computed on the
// reader from the routing facts (routing/reports.*), as JSON or ?format=csv. With
// `serve --test-clock` also PUT /api/v1/test/clock, which moves the server's clock.
#include <fmt/format.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "conversation/conversation_service.hpp"
#include "core/clock.hpp"
#include "core/time_zone.hpp"
#include "http/api_routes.hpp"
#include "routing/reports.hpp"

namespace parley::http {
namespace asio = boost::asio;
namespace json = boost::json;
using storage::Tx;

namespace {

// Facts read for one report at most; a span with more is refused (narrow it).
constexpr size_t kMaxFacts = 1'000'000;

// What a report reads: the span's facts and, for agents, their status periods (part A's
// agent_status_periods), with the time it was read.
struct ReportInput {
  std::vector<storage::RoutingFact> facts;
  std::vector<storage::StatusPeriodRecord> periods;
  int64_t now = 0;
};

Handler ReportRoute(ApiDeps& deps, bool by_agent) {
  ApiDeps* d = &deps;
  return Permitted(
      deps, Permission::kSeeAll,
      [d, by_agent](Request& req, const Caller&) -> asio::awaitable<Response> {
        // time_zone: the days of from/to and of day buckets are that zone's (default UTC).
        std::shared_ptr<const TimeZone> zone;
        if (auto name = req.Query("time_zone"); name && *name != "UTC") {
          auto loaded = d->conversations.routing().zones().Get(*name);
          if (!loaded) co_return ErrorResponse(loaded.error());
          zone = *loaded;
        }
        auto range = routing::ParseReportRange(req.Query("from"), req.Query("to"),
                                               req.Query("interval"), zone.get());
        if (!range) co_return ErrorResponse(range.error());
        std::string format = req.Query("format").value_or("json");
        if (format != "json" && format != "csv")
          co_return ErrorResponse(Errc::kInvalidArgument, "invalid_format",
                                  "format must be json (the default) or csv.");
        auto step = [&range, by_agent](Tx& tx, int64_t now) -> Result<ReportInput> {
          ReportInput in;
          in.now = now;
          auto facts = tx.ListFacts(range->from_ms, range->to_ms, kMaxFacts + 1);
          if (!facts) return Fail(facts.error());
          if (facts->size() > kMaxFacts)
            return Fail(
                Errc::kInvalidArgument, "report_too_large",
                fmt::format("More than {} routing facts fall in this span; narrow from and to.",
                            kMaxFacts));
          in.facts = std::move(*facts);
          if (by_agent) {
            auto periods = tx.ListStatusPeriods("", range->from_ms, range->to_ms);
            if (periods) in.periods = std::move(*periods);
          }
          return in;
        };
        auto input = co_await d->conversations.Look<ReportInput>(step);
        if (!input) co_return ErrorResponse(input.error());
        auto rows = routing::BuildReport(input->facts, *range, by_agent);
        std::map<std::string, json::object> extra;
        if (by_agent) {
          std::vector<routing::StatusSpan> spans;
          spans.reserve(input->periods.size());
          for (const auto& p : input->periods)
            spans.push_back({p.username, p.status, p.reason, p.started_at_ms, p.ended_at_ms});
          extra = routing::StatusTimes(spans, *range, input->now);
        }
        if (format == "csv") {
          Response r;
          r.status = 200;
          r.content_type = "text/csv; charset=utf-8";
          r.body = routing::ReportCsv(rows, *range, by_agent, extra);
          r.headers.emplace_back("Content-Disposition",
                                 fmt::format("attachment; filename=\"parley-{}-report.csv\"",
                                             by_agent ? "agents" : "queues"));
          co_return r;
        }
        co_return Json(200, routing::ReportJson(rows, *range, by_agent, extra));
      });
}

}  // namespace

void AddReportRoutes(Router& router, ApiDeps& deps) {
  router.Add("GET", "/api/v1/reports/queues", ReportRoute(deps, false));
  router.Add("GET", "/api/v1/reports/agents", ReportRoute(deps, true));
  if (!deps.test_clock) return;
  OffsetClock* clock = deps.test_clock;
  router.Add("PUT", "/api/v1/test/clock",
             Admin(deps, [clock](Request& req, const Caller&) -> asio::awaitable<Response> {
               auto body = JsonBody(req);
               if (!body) co_return ErrorResponse(body.error());
               const json::object* o = body->if_object();
               const json::value* now = o ? o->if_contains("now") : nullptr;
               const json::value* offset = o ? o->if_contains("offset_ms") : nullptr;
               const json::value* frozen = o ? o->if_contains("frozen") : nullptr;
               if (frozen && !frozen->is_bool())
                 co_return ErrorResponse(Errc::kInvalidArgument, "invalid_clock",
                                         "frozen must be true or false.");
               if (now && now->is_string()) {
                 auto at = routing::ParseReportTime(now->as_string(), false);
                 if (!at || now->as_string().size() <= 10)
                   co_return ErrorResponse(Errc::kInvalidArgument, "invalid_now",
                                           "now must be an RFC 3339 time (2026-12-07T08:59:00Z).");
                 clock->Set(*at, frozen && frozen->as_bool());
               } else if (offset && offset->is_int64()) {
                 clock->SetOffsetMs(offset->as_int64());
               } else {
                 co_return ErrorResponse(Errc::kInvalidArgument, "invalid_clock",
                                         "Send {\"now\": \"2026-12-07T08:59:00Z\", \"frozen\": "
                                         "false} or {\"offset_ms\": 0}.");
               }
               co_return Json(200, json::object{{"now", FormatTimestamp(clock->NowMs())},
                                                {"offset_ms", clock->OffsetMs()},
                                                {"frozen", clock->Frozen()}});
             }));
}

}  // namespace parley::http

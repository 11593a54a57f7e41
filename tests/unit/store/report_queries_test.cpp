// The report's queries: a report built from a small fixed store (report_fixture.h) and rendered
// in every format, the exact output checked; the JSON codec round-trips what the store built;
// every query runs on an index; StoreReports answers what BuildReport does.
#include "mesh/store/report_queries.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "mesh/telemetry/prometheus_text.h"
#include "mesh/telemetry/report.h"
#include "report_fixture.h"
#include "test_support.h"

namespace mesh {
namespace store_report_queries_test {

using testing::kReportSince;
using testing::kReportT0;

const char* const kTable = R"(services 2026-11-25T11:00:00.000Z to 2026-11-25T12:00:00.000Z (1h)

SERVICE  RPS   REQUESTS  ERROR %  P50   P95    P99    MAX IN-FLIGHT
api      0.50  1800      2.00     50ms  183ms  250ms  7
web      0.10  360       0.00     -     -      -      -
worker   -     -         -        -     -      -      -

slowest operations (spans, by p99; at most 5 per service)

SERVICE  OPERATION     SPANS  ERROR %  P50     P95    P99
api      POST /orders  2      0.00     101ms   200ms  200ms
api      GET /cart     3      33.33    20.4ms  30ms   30ms
api      op4           1      0.00     4ms     4ms    4ms
api      op3           1      0.00     3ms     3ms    3ms
api      op2           1      0.00     2ms     2ms    2ms
worker   nightly job   1      100.00   2s      2s     2s

top errors (log records at level error and above, by count; at most 5 per service)

SERVICE  COUNT  LAST                      MESSAGE
api      3      2026-11-25T11:58:20.000Z  db timeout
api      1      2026-11-25T11:35:00.000Z  conn reset
api      1      2026-11-25T11:40:00.000Z  panic: nil map
web      1      2026-11-25T11:45:00.000Z  bad "input", a|b
)";

const char* const kJson =
    R"({"since":"2026-11-25T11:00:00.000Z","until":"2026-11-25T12:00:00.000Z","since_ns":1795604400000000000,"until_ns":1795608000000000000,"window_seconds":3600.0,"services":[{"service":"api","metrics":true,"requests":1800,"requests_per_second":0.5,"error_percent":2.0,"p50_seconds":0.05,"p95_seconds":0.18333333333333335,"p99_seconds":0.25,"max_in_flight":7.0,"spans":9,"error_logs":5,"slowest_operations":[{"operation":"POST /orders","count":2,"errors":0,"p50_ns":100663295,"p95_ns":200000000,"p99_ns":200000000},{"operation":"GET /cart","count":3,"errors":1,"p50_ns":20447231,"p95_ns":30000000,"p99_ns":30000000},{"operation":"op4","count":1,"errors":0,"p50_ns":4000000,"p95_ns":4000000,"p99_ns":4000000},{"operation":"op3","count":1,"errors":0,"p50_ns":3000000,"p95_ns":3000000,"p99_ns":3000000},{"operation":"op2","count":1,"errors":0,"p50_ns":2000000,"p95_ns":2000000,"p99_ns":2000000}],"top_errors":[{"message":"db timeout","count":3,"last":"2026-11-25T11:58:20.000Z","last_ns":1795607900000000000},{"message":"conn reset","count":1,"last":"2026-11-25T11:35:00.000Z","last_ns":1795606500000000000},{"message":"panic: nil map","count":1,"last":"2026-11-25T11:40:00.000Z","last_ns":1795606800000000000}]},{"service":"web","metrics":true,"requests":360,"requests_per_second":0.1,"error_percent":0.0,"p50_seconds":null,"p95_seconds":null,"p99_seconds":null,"max_in_flight":null,"spans":0,"error_logs":1,"slowest_operations":[],"top_errors":[{"message":"bad \"input\", a|b","count":1,"last":"2026-11-25T11:45:00.000Z","last_ns":1795607100000000000}]},{"service":"worker","metrics":false,"requests":0,"requests_per_second":0.0,"error_percent":0.0,"p50_seconds":null,"p95_seconds":null,"p99_seconds":null,"max_in_flight":null,"spans":1,"error_logs":0,"slowest_operations":[{"operation":"nightly job","count":1,"errors":1,"p50_ns":2000000000,"p95_ns":2000000000,"p99_ns":2000000000}],"top_errors":[]}]}
)";

const char* const kCsv =
    R"(time,window_seconds,kind,service,name,count,rps,error_pct,p50_ms,p95_ms,p99_ms,max_in_flight
2026-11-25T12:00:00.000Z,3600,service,api,,1800,0.5000,2.000,50.000,183.333,250.000,7
2026-11-25T12:00:00.000Z,3600,service,web,,360,0.1000,0.000,,,,
2026-11-25T12:00:00.000Z,3600,service,worker,,,,,,,,
2026-11-25T12:00:00.000Z,3600,operation,api,POST /orders,2,,0.000,100.663,200.000,200.000,
2026-11-25T12:00:00.000Z,3600,operation,api,GET /cart,3,,33.333,20.447,30.000,30.000,
2026-11-25T12:00:00.000Z,3600,operation,api,op4,1,,0.000,4.000,4.000,4.000,
2026-11-25T12:00:00.000Z,3600,operation,api,op3,1,,0.000,3.000,3.000,3.000,
2026-11-25T12:00:00.000Z,3600,operation,api,op2,1,,0.000,2.000,2.000,2.000,
2026-11-25T12:00:00.000Z,3600,operation,worker,nightly job,1,,100.000,2000.000,2000.000,2000.000,
2026-11-25T12:00:00.000Z,3600,error,api,db timeout,3,,,,,,
2026-11-25T12:00:00.000Z,3600,error,api,conn reset,1,,,,,,
2026-11-25T12:00:00.000Z,3600,error,api,panic: nil map,1,,,,,,
2026-11-25T12:00:00.000Z,3600,error,web,"bad ""input"", a|b",1,,,,,,
)";

const char* const kProm = R"(# HELP meshstat_window_seconds Length of the report's window
# TYPE meshstat_window_seconds gauge
meshstat_window_seconds 3600
# HELP meshstat_report_end_timestamp_seconds End of the report's window, Unix seconds
# TYPE meshstat_report_end_timestamp_seconds gauge
meshstat_report_end_timestamp_seconds 1795608000
# HELP meshstat_requests_per_second Requests served per second over the window
# TYPE meshstat_requests_per_second gauge
meshstat_requests_per_second{service="api"} 0.5
meshstat_requests_per_second{service="web"} 0.1
# HELP meshstat_requests Requests served in the window
# TYPE meshstat_requests gauge
meshstat_requests{service="api"} 1800
meshstat_requests{service="web"} 360
# HELP meshstat_error_ratio Share of the requests answered with a 5xx status (0 to 1)
# TYPE meshstat_error_ratio gauge
meshstat_error_ratio{service="api"} 0.02
meshstat_error_ratio{service="web"} 0
# HELP meshstat_request_duration_p50_seconds Request latency, 50th percentile over the window, from the histogram buckets
# TYPE meshstat_request_duration_p50_seconds gauge
meshstat_request_duration_p50_seconds{service="api"} 0.05
# HELP meshstat_request_duration_p95_seconds Request latency, 95th percentile over the window, from the histogram buckets
# TYPE meshstat_request_duration_p95_seconds gauge
meshstat_request_duration_p95_seconds{service="api"} 0.18333333333333335
# HELP meshstat_request_duration_p99_seconds Request latency, 99th percentile over the window, from the histogram buckets
# TYPE meshstat_request_duration_p99_seconds gauge
meshstat_request_duration_p99_seconds{service="api"} 0.25
# HELP meshstat_requests_in_flight_max Highest number of requests in flight one instance reported in the window
# TYPE meshstat_requests_in_flight_max gauge
meshstat_requests_in_flight_max{service="api"} 7
# HELP meshstat_spans Spans started in the window
# TYPE meshstat_spans gauge
meshstat_spans{service="api"} 9
meshstat_spans{service="web"} 0
meshstat_spans{service="worker"} 1
# HELP meshstat_operation_duration_p50_seconds Span duration, 50th percentile, of the slowest operations (at most 5 per service, by p99)
# TYPE meshstat_operation_duration_p50_seconds gauge
meshstat_operation_duration_p50_seconds{operation="POST /orders",service="api"} 0.100663295
meshstat_operation_duration_p50_seconds{operation="GET /cart",service="api"} 0.020447231
meshstat_operation_duration_p50_seconds{operation="op4",service="api"} 0.004
meshstat_operation_duration_p50_seconds{operation="op3",service="api"} 0.003
meshstat_operation_duration_p50_seconds{operation="op2",service="api"} 0.002
meshstat_operation_duration_p50_seconds{operation="nightly job",service="worker"} 2
# HELP meshstat_operation_duration_p95_seconds Span duration, 95th percentile, of the slowest operations (at most 5 per service, by p99)
# TYPE meshstat_operation_duration_p95_seconds gauge
meshstat_operation_duration_p95_seconds{operation="POST /orders",service="api"} 0.2
meshstat_operation_duration_p95_seconds{operation="GET /cart",service="api"} 0.03
meshstat_operation_duration_p95_seconds{operation="op4",service="api"} 0.004
meshstat_operation_duration_p95_seconds{operation="op3",service="api"} 0.003
meshstat_operation_duration_p95_seconds{operation="op2",service="api"} 0.002
meshstat_operation_duration_p95_seconds{operation="nightly job",service="worker"} 2
# HELP meshstat_operation_duration_p99_seconds Span duration, 99th percentile, of the slowest operations (at most 5 per service, by p99)
# TYPE meshstat_operation_duration_p99_seconds gauge
meshstat_operation_duration_p99_seconds{operation="POST /orders",service="api"} 0.2
meshstat_operation_duration_p99_seconds{operation="GET /cart",service="api"} 0.03
meshstat_operation_duration_p99_seconds{operation="op4",service="api"} 0.004
meshstat_operation_duration_p99_seconds{operation="op3",service="api"} 0.003
meshstat_operation_duration_p99_seconds{operation="op2",service="api"} 0.002
meshstat_operation_duration_p99_seconds{operation="nightly job",service="worker"} 2
# HELP meshstat_operation_spans Spans of the slowest operations in the window
# TYPE meshstat_operation_spans gauge
meshstat_operation_spans{operation="POST /orders",service="api"} 2
meshstat_operation_spans{operation="GET /cart",service="api"} 3
meshstat_operation_spans{operation="op4",service="api"} 1
meshstat_operation_spans{operation="op3",service="api"} 1
meshstat_operation_spans{operation="op2",service="api"} 1
meshstat_operation_spans{operation="nightly job",service="worker"} 1
# HELP meshstat_error_logs Log records at level error and above in the window
# TYPE meshstat_error_logs gauge
meshstat_error_logs{service="api"} 5
meshstat_error_logs{service="web"} 1
meshstat_error_logs{service="worker"} 0
# HELP meshstat_error_log_messages Log records of the most frequent error messages (at most 5 per service)
# TYPE meshstat_error_log_messages gauge
meshstat_error_log_messages{message="db timeout",service="api"} 3
meshstat_error_log_messages{message="conn reset",service="api"} 1
meshstat_error_log_messages{message="panic: nil map",service="api"} 1
meshstat_error_log_messages{message="bad \"input\", a|b",service="web"} 1
)";

const char* const kMarkdown = R"(# meshstat report

2026-11-25T11:00:00.000Z to 2026-11-25T12:00:00.000Z (1h)

## Golden signals

| service | rps | requests | error % | p50 | p95 | p99 | max in-flight |
|---|---:|---:|---:|---:|---:|---:|---:|
| api | 0.50 | 1800 | 2.00 | 50ms | 183ms | 250ms | 7 |
| web | 0.10 | 360 | 0.00 | - | - | - | - |
| worker | - | - | - | - | - | - | - |

## Slowest operations

By p99 span duration, at most 5 per service.

| service | operation | spans | error % | p50 | p95 | p99 |
|---|---|---:|---:|---:|---:|---:|
| api | POST /orders | 2 | 0.00 | 101ms | 200ms | 200ms |
| api | GET /cart | 3 | 33.33 | 20.4ms | 30ms | 30ms |
| api | op4 | 1 | 0.00 | 4ms | 4ms | 4ms |
| api | op3 | 1 | 0.00 | 3ms | 3ms | 3ms |
| api | op2 | 1 | 0.00 | 2ms | 2ms | 2ms |
| worker | nightly job | 1 | 100.00 | 2s | 2s | 2s |

## Top errors

Log records at level error and above, by count, at most 5 per service.

| service | count | last | message |
|---|---:|---|---|
| api | 3 | 2026-11-25T11:58:20.000Z | db timeout |
| api | 1 | 2026-11-25T11:35:00.000Z | conn reset |
| api | 1 | 2026-11-25T11:40:00.000Z | panic: nil map |
| web | 1 | 2026-11-25T11:45:00.000Z | bad "input", a\|b |
)";

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    Status s = testing::FillReportFixture(*store_);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  Report Build(const std::string& service = "", int64_t since = kReportSince,
               int64_t until = kReportT0) {
    Result<Report> r = BuildReport(*store_, {since, until, service});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Report{};
  }

  const ServiceReport* Find(const Report& r, const std::string& service) {
    for (const ServiceReport& s : r.services) {
      if (s.service == service) return &s;
    }
    return nullptr;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ReportTest, GoldenSignalsComeFromInboundCountersAndBucketsInTheWindow) {
  const Report r = Build();
  EXPECT_EQ(r.since_ns, kReportSince);
  EXPECT_EQ(r.until_ns, kReportT0);
  const ServiceReport* api = Find(r, "api");
  ASSERT_NE(api, nullptr);
  EXPECT_TRUE(api->has_metrics);
  EXPECT_EQ(api->signals.requests, 1800);  // not the 9000 outbound ones
  EXPECT_DOUBLE_EQ(api->signals.requests_per_second, 0.5);
  EXPECT_DOUBLE_EQ(api->signals.error_percent, 2.0);
  ASSERT_TRUE(api->signals.p50_seconds && api->signals.p95_seconds && api->signals.p99_seconds);
  EXPECT_DOUBLE_EQ(*api->signals.p50_seconds, 0.05);
  EXPECT_NEAR(*api->signals.p95_seconds, 0.1 + 0.15 * 90 / 162, 1e-12);
  EXPECT_DOUBLE_EQ(*api->signals.p99_seconds, 0.25);
}

TEST_F(ReportTest, SaturationIsTheHighestInboundInFlightSampleInsideTheWindow) {
  const Report r = Build();
  const ServiceReport* api = Find(r, "api");
  ASSERT_NE(api, nullptr);
  ASSERT_TRUE(api->max_in_flight.has_value());
  EXPECT_EQ(*api->max_in_flight, 7);  // not 9 (before the window) nor 50 (outbound)
  EXPECT_FALSE(Find(r, "web")->max_in_flight.has_value());
}

TEST_F(ReportTest, SlowestOperationsAreTheFiveWithTheHighestP99) {
  const Report r = Build();
  const ServiceReport* api = Find(r, "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->spans, 9);  // the 5 s span before the window is not one of them
  std::vector<std::string> names;
  for (const SlowOperation& op : api->slowest) names.push_back(op.operation);
  EXPECT_EQ(names, (std::vector<std::string>{"POST /orders", "GET /cart", "op4", "op3", "op2"}));
  EXPECT_EQ(api->slowest[1].count, 3);
  EXPECT_EQ(api->slowest[1].errors, 1);
  EXPECT_EQ(api->slowest[1].p99_ns, 30'000'000);
}

TEST_F(ReportTest, TopErrorsGroupErrorAndFatalRecordsByMessageInTheWindow) {
  const Report r = Build();
  const ServiceReport* api = Find(r, "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->error_logs, 5);  // 3 + 1 + 1 fatal; not the warning, not the older timeout
  ASSERT_EQ(api->top_errors.size(), 3u);
  EXPECT_EQ(api->top_errors[0].message, "db timeout");
  EXPECT_EQ(api->top_errors[0].count, 3);
  EXPECT_EQ(api->top_errors[0].last_ns, kReportT0 - 100 * testing::kReportSecond);
  EXPECT_EQ(api->top_errors[1].message, "conn reset");  // ties by message
  EXPECT_EQ(api->top_errors[2].message, "panic: nil map");
}

TEST_F(ReportTest, ServicesWithoutMetricsAppearOnlyWithDataInTheWindow) {
  const Report r = Build();
  std::vector<std::string> names;
  for (const ServiceReport& s : r.services) names.push_back(s.service);
  EXPECT_EQ(names, (std::vector<std::string>{"api", "web", "worker"}));  // no ghost
  EXPECT_FALSE(Find(r, "worker")->has_metrics);
}

TEST_F(ReportTest, ANamedServiceIsReportedAloneEvenWithoutData) {
  Report r = Build("web");
  ASSERT_EQ(r.services.size(), 1u);
  EXPECT_EQ(r.services[0].signals.requests, 360);
  r = Build("nobody");
  ASSERT_EQ(r.services.size(), 1u);
  EXPECT_EQ(r.services[0].service, "nobody");
  EXPECT_FALSE(r.services[0].has_metrics);
  EXPECT_EQ(r.services[0].spans, 0);
}

TEST_F(ReportTest, AnEmptyWindowIsRefused) {
  Result<Report> r = BuildReport(*store_, {kReportT0, kReportT0, ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(ReportTest, RendersTheTableExactly) { EXPECT_EQ(RenderReportTable(Build()), kTable); }

TEST_F(ReportTest, RendersJsonExactly) { EXPECT_EQ(RenderReportJson(Build()), kJson); }

TEST_F(ReportTest, RendersCsvExactly) {
  const Report r = Build();
  EXPECT_EQ(RenderReportCsv(r, true), kCsv);
  const std::string csv = kCsv;
  EXPECT_EQ(RenderReportCsv(r, false), csv.substr(csv.find('\n') + 1));
}

TEST_F(ReportTest, RendersPrometheusTextExactly) {
  EXPECT_EQ(RenderReportPrometheus(Build()), kProm);
}

TEST_F(ReportTest, RendersMarkdownExactly) { EXPECT_EQ(RenderReportMarkdown(Build()), kMarkdown); }

// Every CSV row, whatever its kind, has the header's twelve columns (RFC 4180 quoting).
TEST_F(ReportTest, CsvRowsAllHaveTheHeadersColumns) {
  const std::string csv = RenderReportCsv(Build(), true);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), kReportCsvHeader);
  std::istringstream lines(csv);
  int rows = 0;
  for (std::string line; std::getline(lines, line); ++rows) {
    int fields = 1;
    bool quoted = false;
    for (char c : line) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        ++fields;
    }
    EXPECT_EQ(fields, 12) << line;
    EXPECT_EQ(line.rfind(rows == 0 ? "time," : "2026-11-25T12:00:00.000Z,3600,", 0), 0u) << line;
  }
  EXPECT_EQ(rows, 14);
}

TEST_F(ReportTest, PrometheusTextReadsBackAsGauges) {
  Result<std::vector<MetricFamily>> families = ParsePrometheusText(RenderReportPrometheus(Build()));
  ASSERT_TRUE(families.ok()) << families.status().message();
  for (const MetricFamily& f : *families) {
    EXPECT_EQ(f.type, MetricType::kGauge) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    for (const MetricSample& s : f.samples) {
      EXPECT_TRUE(LabelValue(s.labels, "quantile").empty()) << f.name;  // summaries only
      EXPECT_FALSE(s.timestamp_ms.has_value());
    }
  }
}

TEST_F(ReportTest, JsonRoundTripRendersTheSameInEveryFormat) {
  const Report original = Build();
  Result<Report> decoded = DecodeReportJson(EncodeReportJson(original));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(RenderReportTable(*decoded), RenderReportTable(original));
  EXPECT_EQ(RenderReportJson(*decoded), RenderReportJson(original));
  EXPECT_EQ(RenderReportCsv(*decoded, true), RenderReportCsv(original, true));
  EXPECT_EQ(RenderReportPrometheus(*decoded), RenderReportPrometheus(original));
  EXPECT_EQ(RenderReportMarkdown(*decoded), RenderReportMarkdown(original));
}

TEST_F(ReportTest, DecodeRefusesEveryTruncationAndNeverCrashesOnGarbage) {
  const std::string json = EncodeReportJson(Build());
  for (size_t n = 0; n < json.size(); ++n) {
    EXPECT_FALSE(DecodeReportJson(json.substr(0, n)).ok()) << n;
  }
  testing::Garbage garbage(7, "{}[]\":,0123456789.-abcdefghijklmnopqrstuvwxyz_ ");
  for (int i = 0; i < 2000; ++i) (void)DecodeReportJson(garbage.Next(200));
  EXPECT_FALSE(
      DecodeReportJson(R"({"since_ns":1,"until_ns":2,"services":[{"service":"a"}]})").ok());
  EXPECT_FALSE(DecodeReportJson("[]").ok());
}

TEST_F(ReportTest, AnEmptyStoreGivesAClearAnswerInEveryFormat) {
  testing::TempDir dir;
  Result<std::unique_ptr<Store>> empty = Store::Open({.path = dir.File("empty.db")});
  ASSERT_TRUE(empty.ok());
  Result<Report> r = BuildReport(**empty, {kReportSince, kReportT0, ""});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->services.empty());
  EXPECT_EQ(RenderReportTable(*r),
            "services 2026-11-25T11:00:00.000Z to 2026-11-25T12:00:00.000Z (1h)\n\n"
            "no metrics, spans or error logs in this window\n");
  EXPECT_EQ(RenderReportJson(*r),
            "{\"since\":\"2026-11-25T11:00:00.000Z\",\"until\":\"2026-11-25T12:00:00.000Z\","
            "\"since_ns\":1795604400000000000,\"until_ns\":1795608000000000000,"
            "\"window_seconds\":3600.0,\"services\":[]}\n");
  EXPECT_EQ(RenderReportCsv(*r, true), std::string(kReportCsvHeader) + "\n");
  EXPECT_EQ(RenderReportCsv(*r, false), "");
  EXPECT_EQ(
      RenderReportPrometheus(*r),
      "# HELP meshstat_window_seconds Length of the report's window\n"
      "# TYPE meshstat_window_seconds gauge\n"
      "meshstat_window_seconds 3600\n"
      "# HELP meshstat_report_end_timestamp_seconds End of the report's window, Unix seconds\n"
      "# TYPE meshstat_report_end_timestamp_seconds gauge\n"
      "meshstat_report_end_timestamp_seconds 1795608000\n");
  EXPECT_NE(RenderReportMarkdown(*r).find("no metrics, spans or error logs in this window"),
            std::string::npos);
}

TEST_F(ReportTest, StoreReportsAnswerWhatBuildReportComputes) {
  Result<std::unique_ptr<Store>> own = Store::Open({.path = store_->path()});
  ASSERT_TRUE(own.ok()) << own.status().message();
  StoreReports source(std::move(own).value());
  Result<Report> r = source.Get({kReportSince, kReportT0, ""});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(RenderReportJson(*r), kJson);
  EXPECT_EQ(source.Get({kReportT0, kReportT0, ""}).status().code(),
            Status::Code::kInvalidArgument);
}

// Every query BuildReport runs is answered from an index: no step scans a whole table.
TEST_F(ReportTest, EveryQueryUsesAnIndex) {
  for (ReportSql which : {ReportSql::kMetricServices, ReportSql::kSpanServices,
                          ReportSql::kLogServices, ReportSql::kSpans, ReportSql::kErrorLogs,
                          ReportSql::kInFlightSeries, ReportSql::kInFlightMax}) {
    SqlQuery q = BuildReportSql(which, "api", kReportSince, kReportT0);
    if (which == ReportSql::kInFlightMax) q.params.insert(q.params.begin(), int64_t{1});
    Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(q);
    ASSERT_TRUE(plan.ok()) << q.sql << ": " << plan.status().message();
    std::string all;
    for (const std::string& step : *plan) all += step + "\n";
    for (const std::string& step : *plan) {
      // "SCAN t ..." or "SEARCH t ...": a read of table t, which must go through an index.
      std::istringstream words(step);
      std::string verb, table;
      words >> verb >> table;
      if (verb != "SCAN" && verb != "SEARCH") continue;
      if (table != "spans" && table != "logs" && table != "metric_series" &&
          table != "metric_samples")
        continue;
      EXPECT_NE(step.find("INDEX"), std::string::npos) << q.sql << "\n" << all;
    }
    EXPECT_NE(all.find("INDEX"), std::string::npos) << q.sql << "\n" << all;
  }
}

}  // namespace
}  // namespace mesh

// A small fixed store for the report suites (report_test, meshstat_commands_test): the window is
// the hour before kReportT0 (2026-11-25T12:00:00Z), with data inside it and decoys outside it
// or on the outbound side, whose effect on the report is easy to work out by hand.
//
//   api    inbound 1764 x 200 + 36 x 500 in the hour (0.5 rps, 2% errors); buckets le 0.05/0.1/
//          0.25/+Inf rising 900/1620/1782/1800 (p50 50ms, p95 183ms, p99 250ms); in-flight 7
//          and 2 inside the window (9 just before it); outbound series that must not count
//          (9000 requests, 50 in flight); spans of six operations (and a 5 s one before the
//          window); error logs "db timeout" x3, "conn reset", fatal "panic: nil map", a warning
//          and an older "db timeout" that do not count
//   web    360 requests (0.1 rps), no histogram, no in-flight; one error log with a quote, a
//          comma and a pipe
//   worker one failed 2 s span, no metrics
//   ghost  a span and an error log before the window only: not reported
// The dates are fixed, and past any retention by the real clock: a meshd serving the fixture
// gets the test's fake clock (InProcessMeshd also keeps data 100 years unless told otherwise).
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/store/log_store.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/span_store.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/metric_sample.h"
#include "mesh/telemetry/span.h"

namespace mesh::testing {

constexpr int64_t kReportSecond = 1'000'000'000;
constexpr int64_t kReportT0 = 1795608000 * kReportSecond;  // 2026-11-25T12:00:00Z
constexpr int64_t kReportSince = kReportT0 - 3600 * kReportSecond;

inline Status FillReportFixture(Store& store) {
  const int64_t pushes[] = {kReportT0 - 3700 * kReportSecond, kReportT0 - 1800 * kReportSecond,
                            kReportT0 - 60 * kReportSecond};
  const auto series = [&](MetricFamily& f, const std::string& name, Labels labels,
                          std::vector<double> values) {
    std::sort(labels.begin(), labels.end());
    for (size_t i = 0; i < values.size(); ++i) {
      f.samples.push_back({name, labels, values[i], pushes[i] / 1'000'000});
    }
  };
  MetricFamily requests{
      "mesh_requests_total", "Requests through the proxy", MetricType::kCounter, {}};
  series(requests, "mesh_requests_total",
         {{"service", "api"}, {"direction", "inbound"}, {"code", "200"}, {"instance", "i1"}},
         {0, 1000, 1764});
  series(requests, "mesh_requests_total",
         {{"service", "api"}, {"direction", "inbound"}, {"code", "500"}, {"instance", "i1"}},
         {0, 20, 36});
  series(requests, "mesh_requests_total",
         {{"service", "api"}, {"direction", "outbound"}, {"code", "200"}, {"instance", "i1"}},
         {0, 5000, 9000});
  series(requests, "mesh_requests_total",
         {{"service", "web"}, {"direction", "inbound"}, {"code", "200"}, {"instance", "w1"}},
         {0, 100, 360});
  MetricFamily durations{
      "mesh_request_duration_seconds", "Request duration", MetricType::kHistogram, {}};
  const std::vector<std::pair<std::string, std::vector<double>>> buckets = {
      {"0.05", {0, 500, 900}},
      {"0.1", {0, 900, 1620}},
      {"0.25", {0, 990, 1782}},
      {"+Inf", {0, 1000, 1800}}};
  for (const auto& [le, values] : buckets) {
    series(durations, "mesh_request_duration_seconds_bucket",
           {{"service", "api"}, {"direction", "inbound"}, {"instance", "i1"}, {"le", le}}, values);
  }
  series(durations, "mesh_request_duration_seconds_sum",
         {{"service", "api"}, {"direction", "inbound"}, {"instance", "i1"}}, {0, 40, 75});
  series(durations, "mesh_request_duration_seconds_count",
         {{"service", "api"}, {"direction", "inbound"}, {"instance", "i1"}}, {0, 1000, 1800});
  MetricFamily in_flight{
      "mesh_requests_in_flight", "Requests being proxied", MetricType::kGauge, {}};
  series(in_flight, "mesh_requests_in_flight",
         {{"service", "api"}, {"direction", "inbound"}, {"instance", "i1"}}, {9, 7, 2});
  series(in_flight, "mesh_requests_in_flight",
         {{"service", "api"}, {"direction", "outbound"}, {"instance", "i1"}}, {50, 50, 50});
  Result<int64_t> stored =
      MetricStore(store).InsertRows({requests, durations, in_flight}, kReportT0);
  if (!stored.ok()) return stored.status();

  std::vector<Span> spans;
  int next_id = 1;
  const auto span = [&](const std::string& service, const std::string& name, int64_t ago_s,
                        int64_t duration_ms, bool error) {
    char trace[33], id[17];
    std::snprintf(trace, sizeof trace, "4bf92f3577b34da6a3ce929d0e%06x", next_id);
    std::snprintf(id, sizeof id, "00f067aa0b%06x", next_id);
    ++next_id;
    Span s;
    s.trace_id = trace;
    s.span_id = id;
    s.service = service;
    s.name = name;
    s.kind = SpanKind::kServer;
    s.start_ns = kReportT0 - ago_s * kReportSecond;
    s.duration_ns = duration_ms * 1'000'000;
    s.status = error ? SpanStatus::kError : SpanStatus::kUnset;
    spans.push_back(s);
  };
  span("api", "GET /cart", 3000, 10, false);
  span("api", "GET /cart", 2000, 20, true);
  span("api", "GET /cart", 1000, 30, false);
  span("api", "POST /orders", 2500, 100, false);
  span("api", "POST /orders", 1500, 200, false);
  for (int i = 1; i <= 4; ++i) span("api", "op" + std::to_string(i), 500, i, false);
  span("api", "GET /slow", 7200, 5000, false);
  span("worker", "nightly job", 600, 2000, true);
  span("ghost", "old", 10000, 1000, false);
  Result<int64_t> inserted = SpanStore(store).Insert(spans);
  if (!inserted.ok()) return inserted.status();

  std::vector<LogRecord> logs;
  const auto log = [&](const std::string& service, LogLevel level, const std::string& message,
                       int64_t ago_s) {
    LogRecord r;
    r.ts_ns = kReportT0 - ago_s * kReportSecond;
    r.service = service;
    r.level = level;
    r.message = message;
    logs.push_back(r);
  };
  log("api", LogLevel::kError, "db timeout", 3000);
  log("api", LogLevel::kError, "db timeout", 2000);
  log("api", LogLevel::kError, "db timeout", 100);
  log("api", LogLevel::kError, "conn reset", 1500);
  log("api", LogLevel::kFatal, "panic: nil map", 1200);
  log("api", LogLevel::kWarn, "slow query", 1100);
  log("api", LogLevel::kError, "db timeout", 4000);
  log("web", LogLevel::kError, "bad \"input\", a|b", 900);
  log("ghost", LogLevel::kError, "old error", 9000);
  return LogStore(store).Insert(logs);
}

}  // namespace mesh::testing

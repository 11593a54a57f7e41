// Report: what `meshstat report` prints and meshd's GET /v1/report answers. Per service, over
// a window [since, until):
//   - the golden signals from metric samples (requests, RPS, 5xx %, p50/p95/p99 from the
//     histogram buckets, as increase() and histogram_quantile() do it);
//   - saturation: the highest mesh_requests_in_flight (inbound) any one instance reported;
//   - the slowest operations from spans: at most kReportOperations per service, ranked by p99
//     span duration (then count, then name);
//   - the most frequent error messages from logs at level error and above, grouped by exact
//     message: at most kReportErrorMessages per service, by count (then message).
// This is the model, its JSON codec and its output formats; the store computes a report
// (store/report_queries.h). EncodeReportJson/DecodeReportJson carry a report from meshd to
// meshstat --server losslessly, so that both render the same bytes; the Render* functions are
// the output formats. All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/golden_signals.h"

namespace mesh {

inline constexpr size_t kReportOperations = 5;
inline constexpr size_t kReportErrorMessages = 5;

struct SlowOperation {
  std::string operation;
  int64_t count = 0;   // spans in the window
  int64_t errors = 0;  // ... with status ERROR
  int64_t p50_ns = 0;
  int64_t p95_ns = 0;
  int64_t p99_ns = 0;
};

struct ErrorMessageCount {
  std::string message;
  int64_t count = 0;
  int64_t last_ns = 0;  // the newest record with this message
};

struct ServiceReport {
  std::string service;
  bool has_metrics = false;  // false: known from spans or logs only (signals all zero)
  GoldenSignals signals;
  std::optional<double> max_in_flight;  // none: no in-flight gauge in the window
  int64_t spans = 0;                    // spans started in the window
  int64_t error_logs = 0;               // log records at level error and above
  std::vector<SlowOperation> slowest;
  std::vector<ErrorMessageCount> top_errors;
};

struct Report {
  int64_t since_ns = 0;
  int64_t until_ns = 0;
  std::vector<ServiceReport> services;  // by name
};

// {"since":RFC3339,"until":RFC3339,"since_ns":N,"until_ns":N,"window_seconds":X,
//  "services":[{"service":S,"metrics":B,"requests":N,"requests_per_second":X,"error_percent":X,
//  "p50_seconds":X|null,"p95_seconds":..,"p99_seconds":..,"max_in_flight":X|null,"spans":N,
//  "error_logs":N,"slowest_operations":[{"operation":S,"count":N,"errors":N,"p50_ns":N,
//  "p95_ns":N,"p99_ns":N}],"top_errors":[{"message":S,"count":N,"last":RFC3339,
//  "last_ns":N}]}]}. Doubles in their shortest round-trip form: Decode(Encode(r)) == r.
std::string EncodeReportJson(const Report& report);
// Errors: InvalidArgument naming what is missing or malformed.
Result<Report> DecodeReportJson(std::string_view json);

// A human table: golden signals, then slowest operations, then top error messages.
std::string RenderReportTable(const Report& report);
// Only the golden signals table, under a line naming the window (meshstat top's screen).
std::string RenderSignalsTable(const Report& report);
// One JSON document and a newline (EncodeReportJson).
std::string RenderReportJson(const Report& report);
// Stable columns, one row per service, operation and error message, each starting with the
// report's end time so that runs append to one history file:
//   time,window_seconds,kind,service,name,count,rps,error_pct,p50_ms,p95_ms,p99_ms,max_in_flight
// kind "service" (count: requests), "operation" (name: operation, count: spans, error_pct and
// quantiles of span durations), "error" (name: message, count: records). Empty cells for what
// does not apply or is unknown. `header`: start with the header line.
std::string RenderReportCsv(const Report& report, bool header);
inline constexpr std::string_view kReportCsvHeader =
    "time,window_seconds,kind,service,name,count,rps,error_pct,p50_ms,p95_ms,p99_ms,max_in_flight";
// Prometheus text exposition 0.0.4, gauges only and no timestamps (a node_exporter textfile
// collector takes it as is), valid under `promtool check metrics`.
std::string RenderReportPrometheus(const Report& report);
// GitHub-flavoured Markdown: a title, the window, three tables.
std::string RenderReportMarkdown(const Report& report);

}  // namespace mesh

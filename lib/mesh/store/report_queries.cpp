#include "mesh/store/report_queries.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include "mesh/store/metric_store.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/log_level.h"
#include "mesh/telemetry/metric_sample.h"
#include "mesh/telemetry/prometheus_text.h"
#include "mesh/telemetry/span.h"
#include "mesh/telemetry/span_stats.h"

namespace mesh {
namespace {

Result<std::vector<std::string>> Column(Store& store, const SqlQuery& query) {
  Result<Statement> stmt = PrepareQuery(store.db(), query);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> out;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(stmt->ColumnText(0));
  }
  return out;
}

Status MaxInFlight(Store& store, ServiceReport& r, int64_t since_ns, int64_t until_ns) {
  Result<Statement> series = PrepareQuery(
      store.db(), BuildReportSql(ReportSql::kInFlightSeries, r.service, since_ns, until_ns));
  if (!series.ok()) return series.status();
  std::vector<int64_t> ids;
  while (true) {
    Result<bool> row = series->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    // Like the golden signals: a sidecar's outbound side belongs to the services it calls.
    Result<Labels> labels = ParseLabelsText(series->ColumnText(1));
    if (labels.ok() && LabelValue(*labels, "direction") != "outbound")
      ids.push_back(series->ColumnInt64(0));
  }
  for (int64_t id : ids) {
    SqlQuery q = BuildReportSql(ReportSql::kInFlightMax, "", since_ns, until_ns);
    q.params.insert(q.params.begin(), id);
    Result<Statement> max = PrepareQuery(store.db(), q);
    if (!max.ok()) return max.status();
    Result<bool> row = max->Step();
    if (!row.ok()) return row.status();
    if (*row && !max->ColumnIsNull(0)) {
      const double v = max->ColumnDouble(0);
      r.max_in_flight = r.max_in_flight ? std::max(*r.max_in_flight, v) : v;
    }
  }
  return Status::Ok();
}

Status SlowestOperations(Store& store, ServiceReport& r, int64_t since_ns, int64_t until_ns) {
  Result<Statement> stmt =
      PrepareQuery(store.db(), BuildReportSql(ReportSql::kSpans, r.service, since_ns, until_ns));
  if (!stmt.ok()) return stmt.status();
  SpanStats stats;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    stats.AddSpan(r.service, stmt->ColumnText(0), stmt->ColumnInt64(1),
                  stmt->ColumnInt64(2) == static_cast<int64_t>(SpanStatus::kError));
  }
  std::vector<OperationStats> ops = stats.Operations();
  for (const OperationStats& op : ops) r.spans += op.count;
  std::sort(ops.begin(), ops.end(), [](const OperationStats& a, const OperationStats& b) {
    if (a.p99_ns != b.p99_ns) return a.p99_ns > b.p99_ns;
    if (a.count != b.count) return a.count > b.count;
    return a.operation < b.operation;
  });
  if (ops.size() > kReportOperations) ops.resize(kReportOperations);
  for (const OperationStats& op : ops) {
    r.slowest.push_back({op.operation, op.count, op.errors, op.p50_ns, op.p95_ns, op.p99_ns});
  }
  return Status::Ok();
}

Status TopErrors(Store& store, ServiceReport& r, int64_t since_ns, int64_t until_ns) {
  Result<Statement> stmt = PrepareQuery(
      store.db(), BuildReportSql(ReportSql::kErrorLogs, r.service, since_ns, until_ns));
  if (!stmt.ok()) return stmt.status();
  std::vector<ErrorMessageCount> all;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    all.push_back({stmt->ColumnText(0), stmt->ColumnInt64(1), stmt->ColumnInt64(2)});
    r.error_logs += all.back().count;
  }
  std::sort(all.begin(), all.end(), [](const ErrorMessageCount& a, const ErrorMessageCount& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.message < b.message;
  });
  if (all.size() > kReportErrorMessages) all.resize(kReportErrorMessages);
  r.top_errors = std::move(all);
  return Status::Ok();
}

// One service's share of the report, computed on whichever connection picks it up.
struct ServiceJob {
  std::string service;
  bool has_metrics = false;  // it has metric series
  bool required = false;     // reported even without spans or error logs
  ServiceReport report;
  bool keep = false;
  Status status;
};

Status RunJob(Store& store, MetricStore& metrics, const ReportQuery& q, ServiceJob& job) {
  ServiceReport& r = job.report;
  r.service = job.service;
  if (Status s = SlowestOperations(store, r, q.since_ns, q.until_ns); !s.ok()) return s;
  if (Status s = TopErrors(store, r, q.since_ns, q.until_ns); !s.ok()) return s;
  r.has_metrics = job.has_metrics;
  job.keep = job.required || r.spans > 0 || r.error_logs > 0;
  if (!job.has_metrics) return Status::Ok();
  Result<GoldenSignals> g = metrics.Signals(r.service, q.until_ns - q.since_ns, q.until_ns);
  if (!g.ok()) return g.status();
  r.signals = *g;
  return MaxInFlight(store, r, q.since_ns, q.until_ns);
}

// Services are independent and each one's reads are index walks bound by CPU (a day of 15 s
// samples is ~90,000 rows per service): they are spread over up to kMaxReportThreads
// connections to the same file (one per thread, as SQLite wants). Falls back to the caller's
// connection alone when no other opens (an in-memory store, a vanished file).
constexpr unsigned kMaxReportThreads = 4;

Status RunJobs(Store& store, const ReportQuery& q, std::vector<ServiceJob>& jobs) {
  std::atomic<size_t> next{0};
  const auto work = [&](Store& s) {
    MetricStore metrics(s);
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();)
      jobs[i].status = RunJob(s, metrics, q, jobs[i]);
  };
  const unsigned wanted =
      std::min<size_t>({std::max(1u, std::thread::hardware_concurrency()), kMaxReportThreads,
                        std::max<size_t>(1, jobs.size() / 2)});
  std::vector<std::unique_ptr<Store>> extra;
  struct stat st;
  if (wanted > 1 && stat(store.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    for (unsigned i = 1; i < wanted; ++i) {
      Result<std::unique_ptr<Store>> other =
          Store::Open({.path = store.path(), .create_if_missing = false, .read_only = true});
      if (!other.ok()) break;
      extra.push_back(std::move(other).value());
    }
  }
  std::vector<std::thread> threads;
  for (std::unique_ptr<Store>& s : extra) {
    // No thread to spare (std::system_error): the threads there are take the remaining jobs.
    try {
      threads.emplace_back([&work, &s] { work(*s); });
    } catch (const std::system_error&) {
      break;
    }
  }
  work(store);
  for (std::thread& t : threads) t.join();
  for (const ServiceJob& job : jobs) {
    if (!job.status.ok()) return job.status;
  }
  return Status::Ok();
}

}  // namespace

SqlQuery BuildReportSql(ReportSql which, const std::string& service, int64_t since_ns,
                        int64_t until_ns) {
  switch (which) {
    case ReportSql::kMetricServices:
      return {
          "SELECT DISTINCT service FROM metric_series WHERE service != '' AND name IN "
          "('mesh_requests_total', 'mesh_request_duration_seconds_bucket', "
          "'mesh_seed_requests_total', 'mesh_requests_in_flight') ORDER BY service",
          {}};
    case ReportSql::kSpanServices:
      // Each distinct service is one seek on the (service, start_ns, duration_ns) index (a loose
      // index scan), not a pass over every span.
      return {
          "WITH RECURSIVE s(service) AS (SELECT (SELECT MIN(service) FROM spans) UNION ALL "
          "SELECT (SELECT MIN(service) FROM spans WHERE service > s.service) FROM s "
          "WHERE s.service IS NOT NULL) SELECT service FROM s WHERE service IS NOT NULL",
          {}};
    case ReportSql::kLogServices:
      return {
          "WITH RECURSIVE s(service) AS (SELECT (SELECT MIN(service) FROM logs) UNION ALL "
          "SELECT (SELECT MIN(service) FROM logs WHERE service > s.service) FROM s "
          "WHERE s.service IS NOT NULL) SELECT service FROM s WHERE service IS NOT NULL",
          {}};
    case ReportSql::kSpans:
      return {
          "SELECT name, duration_ns, status FROM spans WHERE service = ? AND start_ns >= ? "
          "AND start_ns < ?",
          {service, since_ns, until_ns}};
    case ReportSql::kErrorLogs:
      return {
          "SELECT message, COUNT(*), MAX(ts_ns) FROM logs WHERE service = ? AND ts_ns >= ? "
          "AND ts_ns < ? AND level >= ? GROUP BY message",
          {service, since_ns, until_ns, static_cast<int64_t>(LogLevel::kError)}};
    case ReportSql::kInFlightSeries:
      return {
          "SELECT id, labels FROM metric_series WHERE service = ? AND name = "
          "'mesh_requests_in_flight'",
          {service}};
    case ReportSql::kInFlightMax:
      // The series id is the first parameter, inserted by the caller.
      return {
          "SELECT MAX(value) FROM metric_samples WHERE series_id = ? AND ts_ns >= ? AND ts_ns <= ? "
          "AND typeof(value) != 'text'",  // NaN samples (sample_value.h), as max_over_time skips them
          {since_ns, until_ns}};
  }
  return {};
}

Result<Report> BuildReport(Store& store, const ReportQuery& query) {
  if (query.until_ns <= query.since_ns)
    return Status::InvalidArgument("the window is empty (until must be after since)");
  Report report;
  report.since_ns = query.since_ns;
  report.until_ns = query.until_ns;
  // Services with metric series are always reported (zero traffic is news); services known
  // only from spans or logs when they have some in the window; a service asked for by name
  // always.
  Result<std::vector<std::string>> metric_services =
      Column(store, BuildReportSql(ReportSql::kMetricServices, "", 0, 0));
  if (!metric_services.ok())
    return metric_services.status().WithContext("cannot read " + store.path());
  const std::set<std::string> with_metrics(metric_services->begin(), metric_services->end());
  std::set<std::string> others;
  if (!query.service.empty()) {
    others.insert(query.service);
  } else {
    for (ReportSql which : {ReportSql::kSpanServices, ReportSql::kLogServices}) {
      Result<std::vector<std::string>> names = Column(store, BuildReportSql(which, "", 0, 0));
      if (!names.ok()) return names.status().WithContext("cannot read " + store.path());
      others.insert(names->begin(), names->end());
    }
    others.insert(with_metrics.begin(), with_metrics.end());
  }
  std::vector<ServiceJob> jobs;
  for (const std::string& s : others) {
    jobs.emplace_back();
    jobs.back().service = s;
    jobs.back().has_metrics = with_metrics.count(s) > 0;
    jobs.back().required = jobs.back().has_metrics || !query.service.empty();
  }
  if (Status s = RunJobs(store, query, jobs); !s.ok())
    return s.WithContext("cannot read " + store.path());
  for (ServiceJob& job : jobs) {
    if (job.keep) report.services.push_back(std::move(job.report));
  }
  std::sort(report.services.begin(), report.services.end(),
            [](const ServiceReport& a, const ServiceReport& b) { return a.service < b.service; });
  return report;
}

StoreReports::StoreReports(std::unique_ptr<Store> store) : store_(std::move(store)) {}

Result<Report> StoreReports::Get(const ReportQuery& query) { return BuildReport(*store_, query); }

}  // namespace mesh

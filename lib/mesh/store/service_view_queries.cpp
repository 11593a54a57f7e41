#include "mesh/store/service_view_queries.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "mesh/store/sample_value.h"
#include "mesh/store/span_rollup.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/golden_signals.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

constexpr int64_t kErrorStatus = static_cast<int64_t>(SpanStatus::kError);
constexpr size_t kSlowestOperations = 10;

// Runs the query and hands each row to `row`. Errors: the store's, with its path.
template <typename Row>
Status ForEachRow(Store& store, const SqlQuery& query, Row&& row) {
  Result<Statement> stmt = PrepareQuery(store.db(), query);
  if (!stmt.ok()) return stmt.status();
  while (true) {
    Result<bool> more = stmt->Step();
    if (!more.ok()) return more.status().WithContext("cannot read " + store.path());
    if (!*more) return Status::Ok();
    row(*stmt);
  }
}

// The status class index (0 for 2xx .. 3 for 5xx) of a code label; -1 for any other.
int StatusClass(const std::string& code) {
  if (code.size() != 3 || code[0] < '2' || code[0] > '5') return -1;
  return code[0] - '2';
}

// Request metrics: each rise of a counter between two samples counts in the step of the later
// sample (a drop is a restart from zero, as increase() has it). Bucket rises summed per step
// and le give each step's percentiles and, summed over the window, the distribution.
Status FillRequestMetrics(Store& store, const std::string& service, ServiceView& view) {
  struct Series {
    int64_t id;
    bool bucket;
    int status_class;
    double le;
  };
  std::vector<Series> series;
  Status s = ForEachRow(store, BuildServiceViewSql(ServiceViewSql::kRequestSeries, service, 0, 0),
                        [&](const Statement& row) {
    Result<Labels> labels = ParseLabelsText(row.ColumnText(2));
    // What a service serves: its sidecar's calls to others belong to the services called.
    if (!labels.ok() || LabelValue(*labels, "direction") == "outbound") return;
    const bool bucket = row.ColumnText(1) == "mesh_request_duration_seconds_bucket";
    const std::string& le = LabelValue(*labels, "le");
    series.push_back({row.ColumnInt64(0), bucket, StatusClass(LabelValue(*labels, "code")),
                      le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr)});
  });
  if (!s.ok()) return s;
  const int64_t step_ns = std::max<int64_t>((view.until_ns - view.since_ns) / kServiceViewSteps, 1);
  view.timeline.resize(kServiceViewSteps);
  for (int k = 0; k < kServiceViewSteps; ++k) view.timeline[k].start_ns = view.since_ns + k * step_ns;
  std::vector<std::map<double, double>> step_buckets(kServiceViewSteps);  // le -> cumulative rise
  std::map<double, double> window_buckets;
  for (const Series& one : series) {
    if (!one.bucket && one.status_class < 0) continue;
    std::optional<double> previous;
    SqlQuery q = BuildServiceViewSql(ServiceViewSql::kSeriesSamples, service, view.since_ns, view.until_ns);
    q.params[0] = one.id;
    s = ForEachRow(store, q, [&](const Statement& row) {
      const double value = SampleValueAt(row, 1);
      if (std::isnan(value)) return;  // counts nothing, and is no baseline either
      const int64_t ts = row.ColumnInt64(0);
      const double rise = !previous ? 0 : (value >= *previous ? value - *previous : value);
      previous = value;
      if (ts < view.since_ns || rise == 0) return;  // the baseline before the window
      const int64_t k = std::min<int64_t>((ts - view.since_ns) / step_ns, kServiceViewSteps - 1);
      if (one.bucket) {
        step_buckets[k][one.le] += rise;
        window_buckets[one.le] += rise;
      } else {
        view.timeline[k].by_class[one.status_class] += rise;
      }
    });
    if (!s.ok()) return s;
  }
  for (int k = 0; k < kServiceViewSteps; ++k) {
    const std::vector<std::pair<double, double>> cumulative(step_buckets[k].begin(), step_buckets[k].end());
    if (cumulative.empty() || !std::isinf(cumulative.back().first)) continue;
    view.timeline[k].p50_seconds = HistogramQuantile(0.50, cumulative);
    view.timeline[k].p95_seconds = HistogramQuantile(0.95, cumulative);
    view.timeline[k].p99_seconds = HistogramQuantile(0.99, cumulative);
  }
  double below = 0;
  for (const auto& [le, cumulative] : window_buckets) {
    view.latency.push_back({le, std::max(cumulative - below, 0.0)});
    below = std::max(below, cumulative);
  }
  return Status::Ok();
}

void FillOperations(const SpanTallies& tallies, ServiceView& view) {
  for (const auto& [key, tally] : tallies.ops) {
    if (key.first != view.service) continue;
    view.slowest.push_back({key.first, key.second, tally.durations.count(), tally.errors, tally.durations.Quantile(0.50),
                            tally.durations.Quantile(0.95), tally.durations.Quantile(0.99)});
  }
  std::stable_sort(view.slowest.begin(), view.slowest.end(),
                   [](const OperationStats& a, const OperationStats& b) { return a.p99_ns > b.p99_ns; });
  if (view.slowest.size() > kSlowestOperations) view.slowest.resize(kSlowestOperations);
}

Status FillErrors(Store& store, ServiceView& view) {
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  Status s = ForEachRow(store, BuildServiceViewSql(ServiceViewSql::kErrorSpans, view.service, view.since_ns, view.until_ns),
                        [&](const Statement& row) {
    bool named = false;
    const auto count = [&](const char* kind, const std::string& value) {
      ++counts[{kind, value}];
      named = true;
    };
    if (!row.ColumnIsNull(0)) count("http", row.ColumnText(0));
    if (!row.ColumnIsNull(1)) count("grpc", row.ColumnText(1));
    // Exception types, one per line (group_concat of the span's exception events).
    const std::string types = row.ColumnText(2);
    for (size_t at = 0; at < types.size();) {
      const size_t end = std::min(types.find('\n', at), types.size());
      if (end > at) count("exception", types.substr(at, end - at));
      at = end + 1;
    }
    if (!named) count("status", row.ColumnIsNull(3) ? "ERROR" : row.ColumnText(3));
  });
  if (!s.ok()) return s;
  for (const auto& [key, n] : counts) view.errors.push_back({key.first, key.second, n});
  std::stable_sort(view.errors.begin(), view.errors.end(),
                   [](const ErrorType& a, const ErrorType& b) { return a.count > b.count; });
  return Status::Ok();
}

ServiceEdge EdgeOf(const std::pair<std::string, std::string>& key, const SpanTallies::Tally& tally) {
  return {key.first, key.second, tally.durations.count(), tally.errors, tally.durations.Quantile(0.99)};
}

void FillNeighbours(const SpanTallies& tallies, ServiceView& view) {
  for (const auto& [key, tally] : tallies.edges) {
    if (key.second == view.service) view.callers.push_back(EdgeOf(key, tally));
    if (key.first == view.service) view.callees.push_back(EdgeOf(key, tally));
  }
  SortEdgesByCalls(view.callers);
  SortEdgesByCalls(view.callees);
}

}  // namespace

SqlQuery BuildServiceViewSql(ServiceViewSql which, const std::string& service, int64_t since_ns,
                             int64_t until_ns) {
  switch (which) {
    case ServiceViewSql::kRequestSeries:
      return {"SELECT id, name, labels FROM metric_series WHERE service = ?1 AND name IN "
              "('mesh_requests_total', 'mesh_request_duration_seconds_bucket')",
              {service}};
    case ServiceViewSql::kSeriesSamples:
      // The last sample before the window is the baseline of the first rise inside it.
      return {"SELECT ts_ns, value FROM (SELECT ts_ns, value FROM metric_samples WHERE series_id = ?1 "
              "AND ts_ns < ?2 ORDER BY ts_ns DESC LIMIT 1) UNION ALL SELECT ts_ns, value FROM "
              "(SELECT ts_ns, value FROM metric_samples WHERE series_id = ?1 AND ts_ns >= ?2 AND "
              "ts_ns < ?3 ORDER BY ts_ns)",
              {int64_t{0}, since_ns, until_ns}};
    case ServiceViewSql::kErrorSpans:
      // Attributes and events are JSON the store wrote; json_valid guards a damaged row, on
      // which json_extract would fail the whole query.
      return {"SELECT "
              "CASE WHEN json_valid(attributes) THEN coalesce("
              "  json_extract(attributes, '$.\"http.response.status_code\"'),"
              "  json_extract(attributes, '$.\"http.status_code\"')) END,"
              "CASE WHEN json_valid(attributes) THEN json_extract(attributes, '$.\"rpc.grpc.status_code\"') END,"
              "(SELECT group_concat(json_extract(e.value, '$.attributes.\"exception.type\"'), char(10)) "
              "  FROM json_each(CASE WHEN json_valid(events) THEN events ELSE '[]' END) e "
              "  WHERE json_extract(e.value, '$.name') = 'exception'),"
              "nullif(status_message, '') "
              "FROM spans WHERE service = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND status = " +
                  std::to_string(kErrorStatus),
              {service, since_ns, until_ns}};
  }
  return {};
}

Result<ServiceView> QueryServiceView(Store& store, const std::string& service, int64_t since_ns,
                                     int64_t until_ns) {
  ServiceView view;
  view.service = service;
  view.since_ns = since_ns;
  view.until_ns = until_ns;
  // One read transaction: the sections agree with each other while ingest goes on.
  if (Status s = store.db().Exec("BEGIN"); !s.ok()) return s;
  Status s = FillRequestMetrics(store, service, view);
  if (s.ok()) s = FillErrors(store, view);
  if (s.ok()) {
    Result<SpanTallies> tallies = QuerySpanTallies(store, since_ns, until_ns, {.service = service, .operation_durations = true});
    if (tallies.ok()) {
      FillOperations(*tallies, view);
      FillNeighbours(*tallies, view);
    } else {
      s = tallies.status();
    }
  }
  (void)store.db().Exec("COMMIT");
  if (!s.ok()) return s;
  return view;
}

Result<ServiceMap> QueryServiceMap(Store& store, int64_t since_ns, int64_t until_ns) {
  ServiceMap map;
  map.since_ns = since_ns;
  map.until_ns = until_ns;
  if (Status s = store.db().Exec("BEGIN"); !s.ok()) return s;
  // The map names the services with spans and draws the edges: no operation's percentiles.
  Result<SpanTallies> tallies = QuerySpanTallies(store, since_ns, until_ns, {.service = "", .operation_durations = false});
  (void)store.db().Exec("COMMIT");
  if (!tallies.ok()) return tallies.status();
  for (const auto& [key, tally] : tallies->ops) {
    if (map.services.empty() || map.services.back() != key.first) map.services.push_back(key.first);
  }
  for (const auto& [key, tally] : tallies->edges) map.edges.push_back(EdgeOf(key, tally));
  return map;
}

}  // namespace mesh

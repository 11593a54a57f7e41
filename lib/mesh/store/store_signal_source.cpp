#include "mesh/store/store_signal_source.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "mesh/store/metric_store.h"
#include "mesh/store/registry.h"
#include "mesh/store/sample_value.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

// The counters of work refused or dropped for lack of room that sidecars push: connections
// over the limit, requests the circuit breaker answered 503 at once, telemetry meshd could not
// take in time.
constexpr const char* kSaturationCounters[] = {"mesh_client_connections_refused_total",
                                               "mesh_upstream_overflow_total", "mesh_telemetry_dropped_total"};

Result<std::vector<std::string>> Strings(Db& db, const SqlQuery& query) {
  Result<Statement> stmt = PrepareQuery(db, query);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> out;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(stmt->ColumnText(0));
  }
}

}  // namespace

Result<std::vector<std::string>> StoreSignalSource::Services(const AlertSignal& signal) {
  Db& db = store_.db();
  switch (signal.kind) {
    case SignalKind::kLogRate:
      // A loose index scan: one index probe per distinct service, not one row per record.
      return Strings(db, {"WITH RECURSIVE s(name) AS (SELECT MIN(service) FROM logs UNION ALL "
                          "SELECT (SELECT MIN(service) FROM logs WHERE service > s.name) FROM s "
                          "WHERE s.name IS NOT NULL) SELECT name FROM s WHERE name IS NOT NULL AND name != ''",
                          {}});
    case SignalKind::kMetric:
      return Strings(db, {"SELECT DISTINCT service FROM metric_series WHERE name = ? AND service != '' "
                          "ORDER BY service",
                          {signal.metric}});
    case SignalKind::kHealthyInstances:
      return Strings(db, {"SELECT DISTINCT service FROM instances ORDER BY service", {}});
    case SignalKind::kSaturation:
      return Strings(db, {"SELECT DISTINCT service FROM metric_series WHERE service != '' AND name IN (?, ?, ?) "
                          "ORDER BY service",
                          {kSaturationCounters[0], kSaturationCounters[1], kSaturationCounters[2]}});
    default:
      return Strings(db, {"SELECT DISTINCT service FROM metric_series WHERE service != '' AND name IN "
                          "('mesh_requests_total', 'mesh_seed_requests_total') ORDER BY service",
                          {}});
  }
}

Result<std::optional<double>> StoreSignalSource::Measure(const AlertSignal& signal, const std::string& service,
                                                         int64_t window_ns, int64_t at_ns) {
  if (signal.kind == SignalKind::kLogRate) return LogRate(signal, service, window_ns, at_ns);
  if (signal.kind == SignalKind::kMetric) return MetricValue(signal, service, window_ns, at_ns);
  if (signal.kind == SignalKind::kHealthyInstances) return HealthyInstances(service, at_ns);
  if (signal.kind == SignalKind::kSaturation) return Saturation(service, window_ns, at_ns);
  Result<Requests> r = RequestSignals(service, window_ns, at_ns);
  if (!r.ok()) return r.status();
  if (!r->pushed) return std::optional<double>();
  const GoldenSignals& g = r->signals;
  switch (signal.kind) {
    case SignalKind::kRequestRate:
      return std::optional<double>(g.requests_per_second);
    case SignalKind::kErrorRate:
      return g.requests > 0 ? std::optional<double>(g.error_percent) : std::nullopt;
    default: {
      const std::optional<double>& seconds = signal.quantile <= 0.5   ? g.p50_seconds
                                             : signal.quantile <= 0.9 ? g.p90_seconds
                                             : signal.quantile <= 0.95 ? g.p95_seconds
                                                                       : g.p99_seconds;
      if (!seconds || g.requests == 0) return std::optional<double>();
      return std::optional<double>(*seconds * 1e3);
    }
  }
}

Result<StoreSignalSource::Requests> StoreSignalSource::RequestSignals(const std::string& service,
                                                                      int64_t window_ns, int64_t at_ns) {
  const auto key = std::make_tuple(service, window_ns, at_ns);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  Requests r;
  Result<int64_t> pushed = QueryInt64(
      store_.db(),
      {"SELECT EXISTS (SELECT 1 FROM metric_series s JOIN metric_samples m ON m.series_id = s.id "
       "WHERE s.service = ? AND s.name IN ('mesh_requests_total', 'mesh_seed_requests_total') "
       "AND m.ts_ns > ? AND m.ts_ns <= ?)",
       {service, at_ns - window_ns, at_ns}});
  if (!pushed.ok()) return pushed.status();
  r.pushed = *pushed != 0;
  if (r.pushed) {
    Result<GoldenSignals> g = MetricStore(store_).Signals(service, window_ns, at_ns);
    if (!g.ok()) return g.status();
    r.signals = *g;
  }
  cache_.emplace(key, r);
  return r;
}

Result<std::optional<double>> StoreSignalSource::LogRate(const AlertSignal& signal, const std::string& service,
                                                         int64_t window_ns, int64_t at_ns) {
  Db& db = store_.db();
  Result<int64_t> count = QueryInt64(
      db, {"SELECT COUNT(*) FROM logs WHERE service = ? AND ts_ns > ? AND ts_ns <= ? AND level >= ?",
           {service, at_ns - window_ns, at_ns, static_cast<int64_t>(signal.level)}});
  if (!count.ok()) return count.status();
  if (*count == 0) {
    // Zero records of a service that logs is a rate of zero; of one never heard of, no data.
    Result<int64_t> known = QueryInt64(db, {"SELECT EXISTS (SELECT 1 FROM logs WHERE service = ?)", {service}});
    if (!known.ok()) return known.status();
    if (*known == 0) return std::optional<double>();
  }
  return std::optional<double>(static_cast<double>(*count) / (static_cast<double>(window_ns) / 1e9));
}

Result<std::optional<double>> StoreSignalSource::HealthyInstances(const std::string& service, int64_t at_ns) {
  Result<std::vector<Instance>> instances = Registry(store_).Instances(service);
  if (!instances.ok()) return instances.status();
  // A service with no row left is not registered (meshd forgot it): no data, not zero.
  if (instances->empty()) return std::optional<double>();
  double healthy = 0;
  for (const Instance& i : *instances) healthy += IsHealthy(i, at_ns) ? 1 : 0;
  return std::optional<double>(healthy);
}

Result<std::optional<double>> StoreSignalSource::Saturation(const std::string& service, int64_t window_ns,
                                                            int64_t at_ns) {
  AlertSignal counter;
  counter.kind = SignalKind::kMetric;
  counter.aggregate = MetricAggregate::kRate;
  std::optional<double> total;
  for (const char* name : kSaturationCounters) {
    counter.metric = name;
    Result<std::optional<double>> rate = MetricValue(counter, service, window_ns, at_ns);
    if (!rate.ok()) return rate.status();
    if (*rate) total = total.value_or(0) + **rate;
  }
  return total;
}

Result<std::optional<double>> StoreSignalSource::MetricValue(const AlertSignal& signal, const std::string& service,
                                                             int64_t window_ns, int64_t at_ns) {
  Db& db = store_.db();
  Result<Statement> series = PrepareQuery(
      db, {"SELECT id, labels FROM metric_series WHERE name = ? AND service = ?", {signal.metric, service}});
  if (!series.ok()) return series.status();
  Result<Statement> samples = db.Prepare(
      "SELECT ts_ns, value FROM metric_samples WHERE series_id = ? AND ts_ns > ? AND ts_ns <= ? ORDER BY ts_ns");
  if (!samples.ok()) return samples.status();

  double sum = 0, min = std::numeric_limits<double>::infinity(), max = -min;
  int64_t count = 0, numbers = 0;
  double total = 0;  // sum of newest values, or of per-second rates
  bool any = false;
  while (true) {
    Result<bool> row = series->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Labels> labels = ParseLabelsText(series->ColumnText(1));
    if (!labels.ok()) continue;
    const bool matches = std::all_of(signal.match.begin(), signal.match.end(), [&](const auto& m) {
      return LabelValue(*labels, m.first) == m.second;
    });
    if (!matches) continue;
    samples->Bind(1, series->ColumnInt64(0));
    samples->Bind(2, at_ns - window_ns);
    samples->Bind(3, at_ns);
    std::vector<TimedValue> points;
    while (true) {
      Result<bool> s = samples->Step();
      if (!s.ok()) return s.status();
      if (!*s) break;
      points.push_back({samples->ColumnInt64(0), SampleValueAt(*samples, 1)});
    }
    samples->Reset();
    if (points.empty()) continue;
    any = true;
    // As PromQL's *_over_time: a NaN sample makes a sum or average NaN (a rule then compares
    // false and does not fire); min and max skip it unless every sample is NaN.
    for (const TimedValue& p : points) {
      sum += p.value;
      if (std::isnan(p.value)) continue;
      ++numbers;
      min = std::min(min, p.value);
      max = std::max(max, p.value);
    }
    count += static_cast<int64_t>(points.size());
    if (signal.aggregate == MetricAggregate::kSum) total += points.back().value;
    if (signal.aggregate == MetricAggregate::kRate && points.size() >= 2) {
      // Between the first and last sample seen: no extrapolation to the window's edges.
      const double seconds = static_cast<double>(points.back().ts_ns - points.front().ts_ns) / 1e9;
      if (seconds > 0) total += CounterIncrease(points) / seconds;
    }
  }
  if (!any) return std::optional<double>();
  switch (signal.aggregate) {
    case MetricAggregate::kAvg: return std::optional<double>(sum / static_cast<double>(count));
    case MetricAggregate::kMin: return std::optional<double>(numbers > 0 ? min : std::nan(""));
    case MetricAggregate::kMax: return std::optional<double>(numbers > 0 ? max : std::nan(""));
    default: return std::optional<double>(total);
  }
}

}  // namespace mesh

// MetricStore: metric samples in the SQLite store (series + samples, the Prometheus data
// model), what meshproxy and services push to meshd. Answers the golden signals of a service
// over a window from counters and histogram buckets, and the latest value of every series for
// re-exposition on meshd's /metrics.
//
// Not thread-safe: one MetricStore per Store connection.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mesh/store/store.h"
#include "mesh/telemetry/golden_signals.h"
#include "mesh/telemetry/metric_sample.h"
#include "mesh/telemetry/saturation.h"

namespace mesh {

class MetricStore {
 public:
  explicit MetricStore(Store& store) : store_(store) {}

  // Stores the samples (those without a timestamp at now_ns) inside the caller's transaction.
  // Returns how many samples were stored.
  Result<int64_t> InsertRows(const std::vector<MetricFamily>& families, int64_t now_ns);

  // How many of the families' distinct series are not stored yet, by their service label ("" for
  // series without one): one lookup on the (name, labels) index per series.
  Result<std::map<std::string, int64_t>> NewSeriesByService(
      const std::vector<MetricFamily>& families);
  // How many series the service has stored (a series leaves once retention removed its last
  // sample): a count over the (service, name) index.
  Result<int64_t> SeriesCount(const std::string& service);

  // The newest sample of every series updated since since_ns, grouped into families with the
  // type and help text they were pushed with.
  Result<std::vector<MetricFamily>> Latest(int64_t since_ns);

  // From mesh_requests_total{service,code} and mesh_request_duration_seconds (or, for services
  // that only push the seed's JSON, mesh_seed_requests_total / mesh_seed_errors_total).
  Result<GoldenSignals> Signals(const std::string& service, int64_t window_ns, int64_t now_ns);

  // Per instance (the instance label) of the service with a kSaturationSeries sample in
  // (now - window, now]: its CPU rate over the window, its newest gauges and a history of
  // kSaturationHistoryPoints buckets; ordered by instance. NaN samples are skipped. A window
  // over kSaturationExactWindowNs reads each series thinned (ThinnedWindow), so that 7 days
  // cost a few rows per bucket: the gauges and the history are the same, but the CPU rate
  // over the window misses a counter reset inside a bucket (the increase before it).
  Result<std::vector<InstanceSaturation>> Saturation(const std::string& service, int64_t window_ns, int64_t now_ns);
  static constexpr int64_t kSaturationExactWindowNs = int64_t{86400} * 1'000'000'000;
  // The non-NaN samples of a series Saturation needs of [from, to] cut in n equal parts: the
  // newest before from, and the first and the last of each part; at most 2n + 1 index seeks.
  Result<std::vector<TimedValue>> ThinnedWindow(int64_t series_id, int64_t from_ns, int64_t to_ns, int n);
  // The series lookup Saturation makes (one seek on the (service, name) index per name).
  static SqlQuery SaturationSeriesQuery(const std::string& service);

 private:
  Result<int64_t> SeriesId(const std::string& name, const Labels& labels, const MetricFamily& family,
                           std::map<std::string, int64_t>& known);
  Result<std::vector<TimedValue>> Window(int64_t series_id, int64_t from_ns, int64_t to_ns);

  Store& store_;
};

}  // namespace mesh

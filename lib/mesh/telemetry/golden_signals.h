// Golden signals of a service over a window (rate, errors, latency percentiles), computed the
// way PromQL's increase() and histogram_quantile() do it: from cumulative counters and
// histogram buckets, never from raw samples sorted in memory. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace mesh {

struct TimedValue {
  int64_t ts_ns;
  double value;
};

// How much a counter grew across `points` (ascending by time): the sum of the rises, where a
// drop means the counter restarted from zero (as increase() treats resets).
double CounterIncrease(const std::vector<TimedValue>& points);

// The q-quantile (0..1) of a histogram given as (upper bound, cumulative count) pairs in
// ascending bound order, the last being +Inf. Linear interpolation inside the bucket, as
// histogram_quantile does; nullopt when the histogram is empty.
std::optional<double> HistogramQuantile(double q, const std::vector<std::pair<double, double>>& buckets);

struct GoldenSignals {
  double requests_per_second = 0;
  double error_percent = 0;           // 5xx share of requests, 0..100
  std::optional<double> p50_seconds;
  std::optional<double> p90_seconds;
  std::optional<double> p95_seconds;
  std::optional<double> p99_seconds;
  int64_t requests = 0;               // in the window
};

}  // namespace mesh

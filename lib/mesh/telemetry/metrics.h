// MetricsRegistry: counters, gauges and histograms with labels, in the Prometheus model, for
// a program's own metrics (meshd's, and any C++ service's). Families hand out series by
// label values; the series is then updated without any lock (atomics), so callers on a hot
// path look a series up once and keep the reference. A family refuses new label sets past
// its cardinality cap instead of growing without bound. Collect() snapshots everything as
// MetricFamily values for prometheus_text.h, with the families of its collectors (figures read
// at collection time, like the process metrics). Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/metric_sample.h"

namespace mesh {

// Counters and histograms spread their updates over a few cache-line-sized cells, one per
// thread (handed out round-robin), so that threads updating the same series do not take turns
// owning one cache line; reading a value sums the cells.
inline constexpr size_t kMetricShards = 8;
inline size_t MetricShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kMetricShards;
  return shard;
}

class Counter {
 public:
  // Negative increments are ignored: a counter only goes up.
  void Inc(double by = 1) {
    if (by > 0) cells_[MetricShard()].value.fetch_add(by, std::memory_order_relaxed);
  }
  double Value() const {
    double sum = 0;
    for (const Cell& c : cells_) sum += c.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Cell {
    std::atomic<double> value{0};
  };
  Cell cells_[kMetricShards];
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  void Dec(double by = 1) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` are the finite upper bounds, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
    // The q-quantile (0..1) estimated from the buckets as histogram_quantile() does (linear
    // inside the bucket), for human output; nullopt when empty. Never exposed as a sample:
    // Prometheus computes its own from the buckets.
    std::optional<double> Quantile(double q) const;
  };
  Snapshot Collect() const;

 private:
  struct alignas(64) Line {
    std::atomic<uint64_t> counts[8];
  };
  struct alignas(64) Sum {
    std::atomic<double> value{0};
  };
  std::vector<double> bounds_;
  size_t lines_per_shard_;
  std::unique_ptr<Line[]> lines_;  // per shard, per bucket (not cumulative)
  Sum sums_[kMetricShards];
};

// Latency buckets in seconds, 1 ms to 10 s, as most Prometheus clients default to.
std::vector<double> DefaultLatencyBuckets();

template <typename Series>
class Family {
 public:
  // The series for these label values (one per label name, in order). Errors:
  // InvalidArgument for a wrong count of values, or once max_series series exist.
  Result<Series*> WithLabels(const std::vector<std::string>& values);

  const std::string& name() const { return name_; }

 private:
  friend class MetricsRegistry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         size_t max_series, std::vector<double> buckets)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        max_series_(max_series), buckets_(std::move(buckets)) {}

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  size_t max_series_;
  std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;
};

class MetricsRegistry {
 public:
  static constexpr size_t kDefaultMaxSeries = 1000;

  // Errors: InvalidArgument for an invalid metric or label name, or a name already used.
  Result<Family<Counter>*> AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels = {},
                                      size_t max_series = kDefaultMaxSeries);
  Result<Family<Gauge>*> AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels = {},
                                  size_t max_series = kDefaultMaxSeries);
  Result<Family<Histogram>*> AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels = {},
                                          std::vector<double> buckets = DefaultLatencyBuckets(),
                                          size_t max_series = kDefaultMaxSeries);

  // A function run at each Collect(), before the registry's own series are read and without the
  // registry's lock held: it may update those series (gauges copied from elsewhere) and returns
  // families of its own, appended after the registry's. It must be thread-safe (a scrape and a
  // push may collect at once) and may not call Collect().
  using Collector = std::function<std::vector<MetricFamily>()>;
  void AddCollector(Collector collector);

  std::vector<MetricFamily> Collect() const;

 private:
  Status CheckNames(const std::string& name, const std::vector<std::string>& labels);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<std::string> order_;  // family names in registration order
  std::vector<Collector> collectors_;
};

}  // namespace mesh

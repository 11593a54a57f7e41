#include "mesh/telemetry/metrics.h"

#include <algorithm>
#include <cmath>

#include "mesh/telemetry/golden_signals.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

template <typename Series>
Series* MakeSeries(const std::vector<double>&) {
  return new Series();
}
template <>
Histogram* MakeSeries<Histogram>(const std::vector<double>& buckets) {
  return new Histogram(buckets);
}

Labels LabelsOf(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  Labels labels;
  for (size_t i = 0; i < names.size(); ++i) labels.emplace_back(names[i], values[i]);
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      lines_per_shard_((bounds_.size() + 1 + 7) / 8),
      lines_(new Line[kMetricShards * lines_per_shard_]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i < kMetricShards * lines_per_shard_; ++i) {
    for (std::atomic<uint64_t>& c : lines_[i].counts) c.store(0, std::memory_order_relaxed);
  }
}

void Histogram::Observe(double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  const size_t shard = MetricShard();
  lines_[shard * lines_per_shard_ + bucket / 8].counts[bucket % 8].fetch_add(1, std::memory_order_relaxed);
  sums_[shard].value.fetch_add(value, std::memory_order_relaxed);
}

std::optional<double> Histogram::Snapshot::Quantile(double q) const {
  std::vector<std::pair<double, double>> buckets;
  for (size_t i = 0; i < cumulative.size(); ++i) {
    buckets.emplace_back(i < bounds.size() ? bounds[i] : INFINITY, static_cast<double>(cumulative[i]));
  }
  return HistogramQuantile(q, buckets);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t bucket = 0; bucket <= bounds_.size(); ++bucket) {
    for (size_t shard = 0; shard < kMetricShards; ++shard) {
      running += lines_[shard * lines_per_shard_ + bucket / 8].counts[bucket % 8].load(std::memory_order_relaxed);
    }
    s.cumulative.push_back(running);
  }
  s.count = running;
  for (const Sum& sum : sums_) s.sum += sum.value.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <typename Series>
Result<Series*> Family<Series>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    return Status::InvalidArgument(name_ + " takes " + std::to_string(label_names_.size()) +
                                   " label values, got " + std::to_string(values.size()));
  }
  std::lock_guard lock(mu_);
  auto it = series_.find(values);
  if (it != series_.end()) return it->second.get();
  if (series_.size() >= max_series_) {
    return Status::InvalidArgument(name_ + " already has " + std::to_string(max_series_) +
                                   " label sets (its cardinality cap): refusing a new one");
  }
  Series* s = MakeSeries<Series>(buckets_);
  series_.emplace(values, std::unique_ptr<Series>(s));
  return s;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Status MetricsRegistry::CheckNames(const std::string& name, const std::vector<std::string>& labels) {
  if (!IsValidMetricName(name)) return Status::InvalidArgument("invalid metric name '" + name + "'");
  for (const std::string& l : labels) {
    if (!IsValidLabelName(l) || l == "le") {
      return Status::InvalidArgument("invalid label name '" + l + "' for " + name);
    }
    // A label named twice would expose x{a="1",a="2"}, which Prometheus (and our own parser)
    // refuses as a duplicate label: refuse the family instead.
    if (std::count(labels.begin(), labels.end(), l) > 1) {
      return Status::InvalidArgument("label name '" + l + "' repeated for " + name);
    }
  }
  if (std::find(order_.begin(), order_.end(), name) != order_.end()) {
    return Status::InvalidArgument("metric " + name + " is already registered");
  }
  order_.push_back(name);
  return Status::Ok();
}

Result<Family<Counter>*> MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                                     std::vector<std::string> labels, size_t max_series) {
  std::lock_guard lock(mu_);
  if (Status s = CheckNames(name, labels); !s.ok()) return s;
  counters_.emplace_back(new Family<Counter>(name, help, std::move(labels), max_series, {}));
  return counters_.back().get();
}

Result<Family<Gauge>*> MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                                 std::vector<std::string> labels, size_t max_series) {
  std::lock_guard lock(mu_);
  if (Status s = CheckNames(name, labels); !s.ok()) return s;
  gauges_.emplace_back(new Family<Gauge>(name, help, std::move(labels), max_series, {}));
  return gauges_.back().get();
}

Result<Family<Histogram>*> MetricsRegistry::AddHistogram(const std::string& name,
                                                         const std::string& help,
                                                         std::vector<std::string> labels,
                                                         std::vector<double> buckets,
                                                         size_t max_series) {
  std::lock_guard lock(mu_);
  if (Status s = CheckNames(name, labels); !s.ok()) return s;
  histograms_.emplace_back(
      new Family<Histogram>(name, help, std::move(labels), max_series, std::move(buckets)));
  return histograms_.back().get();
}

void MetricsRegistry::AddCollector(Collector collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::vector<MetricFamily> MetricsRegistry::Collect() const {
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  std::vector<MetricFamily> collected;
  for (const Collector& collect : collectors) {
    for (MetricFamily& f : collect()) collected.push_back(std::move(f));
  }
  std::lock_guard lock(mu_);
  std::vector<MetricFamily> out;
  const auto simple = [&](const auto& family, MetricType type) {
    MetricFamily f{family->name_, family->help_, type, {}};
    std::lock_guard series_lock(family->mu_);
    for (const auto& [values, series] : family->series_) {
      f.samples.push_back({family->name_, LabelsOf(family->label_names_, values), series->Value(), {}});
    }
    out.push_back(std::move(f));
  };
  for (const std::string& name : order_) {
    for (const auto& c : counters_) {
      if (c->name_ == name) simple(c, MetricType::kCounter);
    }
    for (const auto& g : gauges_) {
      if (g->name_ == name) simple(g, MetricType::kGauge);
    }
    for (const auto& h : histograms_) {
      if (h->name_ != name) continue;
      MetricFamily f{h->name_, h->help_, MetricType::kHistogram, {}};
      std::lock_guard series_lock(h->mu_);
      for (const auto& [values, series] : h->series_) {
        const Labels base = LabelsOf(h->label_names_, values);
        const Histogram::Snapshot snap = series->Collect();
        for (size_t i = 0; i <= snap.bounds.size(); ++i) {
          Labels labels = base;
          labels.emplace_back("le", i < snap.bounds.size() ? FormatMetricValue(snap.bounds[i]) : "+Inf");
          std::sort(labels.begin(), labels.end());
          f.samples.push_back({h->name_ + "_bucket", labels, static_cast<double>(snap.cumulative[i]), {}});
        }
        f.samples.push_back({h->name_ + "_sum", base, snap.sum, {}});
        f.samples.push_back({h->name_ + "_count", base, static_cast<double>(snap.count), {}});
      }
      out.push_back(std::move(f));
    }
  }
  for (MetricFamily& f : collected) out.push_back(std::move(f));
  return out;
}

}  // namespace mesh

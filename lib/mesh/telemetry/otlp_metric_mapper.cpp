#include "mesh/telemetry/otlp_metric_mapper.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "mesh/base/utf8.h"
#include "mesh/telemetry/otel_prometheus_names.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

std::string Printable(std::string_view s) {
  std::string out;
  AppendSanitizedUtf8(out, s.substr(0, 64));
  return out;
}

MetricType TypeOf(const OtlpMetric& m) {
  switch (m.kind) {
    case OtlpMetricKind::kGauge:
      return MetricType::kGauge;
    case OtlpMetricKind::kSum:
      return m.monotonic ? MetricType::kCounter : MetricType::kGauge;
    case OtlpMetricKind::kHistogram:
      return MetricType::kHistogram;
    case OtlpMetricKind::kSummary:
      return MetricType::kSummary;
  }
  return MetricType::kUntyped;
}

PrometheusNameKind NameKindOf(MetricType type) {
  if (type == MetricType::kCounter) return PrometheusNameKind::kCounter;
  if (type == MetricType::kGauge) return PrometheusNameKind::kGauge;
  return PrometheusNameKind::kOther;
}

// The labels of a point: its attributes (sanitised, clashes joined, reserved names moved aside)
// and the resource's service and instance.
Labels PointLabels(const OtlpMetric& m, const OtlpMetricPoint& p) {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_name;
  for (const auto& [key, value] : p.attributes) {
    std::string name = PrometheusLabelName(key);
    if (name.empty()) continue;
    if (name == "service" || name == "instance" || name == "le" || name == "quantile") name = "exported_" + name;
    by_name[name].emplace_back(key, value);
  }
  Labels labels;
  for (auto& [name, pairs] : by_name) {
    std::sort(pairs.begin(), pairs.end());
    std::string joined;
    for (const auto& [key, value] : pairs) {
      if (&value != &pairs.front().second) joined += ';';
      joined += value;
    }
    labels.emplace_back(name, std::move(joined));
  }
  labels.emplace_back("service", m.service);
  if (!m.instance.empty()) labels.emplace_back("instance", m.instance);
  std::sort(labels.begin(), labels.end());
  return labels;
}

Labels With(Labels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  std::sort(labels.begin(), labels.end());
  return labels;
}

std::optional<int64_t> TimestampMs(const OtlpMetricPoint& p) {
  if (p.time_ns <= 0) return std::nullopt;
  return p.time_ns / 1'000'000;
}

// Why a histogram point cannot be exposed as Prometheus buckets, or "".
std::string HistogramProblem(const OtlpMetricPoint& p) {
  for (size_t i = 0; i < p.bounds.size(); ++i) {
    // An infinite bound would repeat le="+Inf", which the last bucket always is.
    if (!std::isfinite(p.bounds[i]) || (i > 0 && !(p.bounds[i - 1] < p.bounds[i]))) {
      return "explicit bounds must be ascending finite numbers";
    }
  }
  if (p.bucket_counts.empty() && !p.bounds.empty()) return "explicit bounds without bucket counts";
  if (!p.bucket_counts.empty() && p.bucket_counts.size() != p.bounds.size() + 1) {
    return std::to_string(p.bucket_counts.size()) + " bucket counts for " + std::to_string(p.bounds.size()) +
           " explicit bounds (expected one more count than bounds)";
  }
  uint64_t total = 0;
  for (uint64_t c : p.bucket_counts) total += c;
  if (!p.bucket_counts.empty() && total != p.count) {
    return "bucket counts add up to " + std::to_string(total) + ", not to the count " + std::to_string(p.count);
  }
  return {};
}

std::string SummaryProblem(const OtlpMetricPoint& p) {
  for (const auto& [q, value] : p.quantiles) {
    if (!(q >= 0 && q <= 1)) return "quantile " + FormatMetricValue(q) + " is outside [0, 1]";
  }
  return {};
}

void AppendHistogram(MetricFamily& f, const Labels& labels, const std::vector<double>& bounds,
                     const std::vector<uint64_t>& bucket_counts, std::optional<double> sum, uint64_t count,
                     std::optional<int64_t> ts) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += bucket_counts[i];
    f.samples.push_back({f.name + "_bucket", With(labels, "le", FormatMetricValue(bounds[i])),
                         static_cast<double>(cumulative), ts});
  }
  f.samples.push_back({f.name + "_bucket", With(labels, "le", "+Inf"), static_cast<double>(count), ts});
  if (sum) f.samples.push_back({f.name + "_sum", labels, *sum, ts});
  f.samples.push_back({f.name + "_count", labels, static_cast<double>(count), ts});
}

}  // namespace

OtlpMetricMapper::Mapped OtlpMetricMapper::Map(const OtlpMetrics& metrics) const {
  Mapped out;
  const auto reject = [&out](int64_t n, const std::string& why) {
    if (n <= 0) return;
    if (out.rejected == 0) out.first_error = why;
    out.rejected += n;
  };
  size_t new_delta_series = 0;
  // The running totals of a delta series so far (this export's included), or nullptr when a new
  // one would pass kMaxDeltaSeries.
  const auto totals_of = [&](const std::string& key) -> Totals* {
    if (auto it = out.totals.find(key); it != out.totals.end()) return &it->second;
    if (auto it = totals_.find(key); it != totals_.end()) return &out.totals.emplace(key, it->second).first->second;
    if (totals_.size() + new_delta_series >= kMaxDeltaSeries) return nullptr;
    ++new_delta_series;
    return &out.totals[key];
  };
  std::map<std::string, size_t> family_of;  // name -> index in out.families
  for (const OtlpMetric& m : metrics.metrics) {
    const int64_t points = static_cast<int64_t>(m.points.size());
    const MetricType type = TypeOf(m);
    const std::string name = PrometheusMetricName(m.name, m.unit, NameKindOf(type));
    const std::string what = "metric '" + Printable(name.empty() ? m.name : name) + "': ";
    if (name.empty()) {
      reject(points, what + "no character of the name is valid in a Prometheus name");
      continue;
    }
    const bool aggregated = m.kind == OtlpMetricKind::kSum || m.kind == OtlpMetricKind::kHistogram;
    if (aggregated && m.temporality == OtlpTemporality::kUnspecified) {
      reject(points, what + "aggregation temporality is unspecified (expected DELTA or CUMULATIVE)");
      continue;
    }
    const auto [at, fresh] = family_of.emplace(name, out.families.size());
    if (fresh) out.families.push_back({name, m.description, type, {}});
    MetricFamily& f = out.families[at->second];
    if (f.type != type) {
      reject(points, what + "sent as a " + std::string(MetricTypeName(type)) + " and as a " +
                         std::string(MetricTypeName(f.type)) + " in one export");
      continue;
    }
    const bool delta = aggregated && m.temporality == OtlpTemporality::kDelta;
    for (const OtlpMetricPoint& p : m.points) {
      const std::string problem = m.kind == OtlpMetricKind::kHistogram ? HistogramProblem(p)
                                  : m.kind == OtlpMetricKind::kSummary ? SummaryProblem(p)
                                                                       : std::string();
      if (!problem.empty()) {
        reject(1, what + problem);
        continue;
      }
      const Labels labels = PointLabels(m, p);
      const std::optional<int64_t> ts = TimestampMs(p);
      Totals* totals = nullptr;
      if (delta) {
        totals = totals_of(name + LabelsText(labels));
        if (totals == nullptr) {
          reject(1, what + "more than " + std::to_string(kMaxDeltaSeries) +
                        " delta series to add up: send CUMULATIVE temporality");
          continue;
        }
      }
      switch (m.kind) {
        case OtlpMetricKind::kGauge:
        case OtlpMetricKind::kSum: {
          double value = p.value;
          if (totals != nullptr) value = totals->value += p.value;
          f.samples.push_back({name, labels, value, ts});
          break;
        }
        case OtlpMetricKind::kHistogram: {
          if (totals == nullptr) {
            AppendHistogram(f, labels, p.bounds, p.bucket_counts, p.sum, p.count, ts);
            break;
          }
          // Bounds that change start the series over: counts of other buckets cannot be added.
          if (totals->bounds != p.bounds || totals->bucket_counts.size() != p.bucket_counts.size()) {
            *totals = Totals{0, p.bounds, std::vector<uint64_t>(p.bucket_counts.size()), 0, 0};
          }
          for (size_t i = 0; i < p.bucket_counts.size(); ++i) totals->bucket_counts[i] += p.bucket_counts[i];
          totals->sum += p.sum.value_or(0);
          totals->count += p.count;
          AppendHistogram(f, labels, totals->bounds, totals->bucket_counts,
                          p.sum ? std::optional<double>(totals->sum) : std::nullopt, totals->count, ts);
          break;
        }
        case OtlpMetricKind::kSummary: {
          for (const auto& [q, v] : p.quantiles) {
            f.samples.push_back({name, With(labels, "quantile", FormatMetricValue(q)), v, ts});
          }
          if (p.sum) f.samples.push_back({name + "_sum", labels, *p.sum, ts});
          f.samples.push_back({name + "_count", labels, static_cast<double>(p.count), ts});
          break;
        }
      }
    }
  }
  std::erase_if(out.families, [](const MetricFamily& f) { return f.samples.empty(); });
  return out;
}

void OtlpMetricMapper::Commit(Mapped& mapped) {
  for (auto& [key, totals] : mapped.totals) totals_[key] = std::move(totals);
  mapped.totals.clear();
}

}  // namespace mesh

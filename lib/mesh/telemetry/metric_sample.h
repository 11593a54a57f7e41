// Metric data in the Prometheus model: a sample is a metric name, a label set and a value;
// families group the samples of one metric with its type and help. Plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mesh {

enum class MetricType { kCounter, kGauge, kHistogram, kSummary, kUntyped };

std::string_view MetricTypeName(MetricType type);  // "counter", "gauge", ...

// Sorted by label name, so that equal label sets compare equal.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct MetricSample {
  std::string name;  // for histograms the full series name: x_bucket, x_sum, x_count
  Labels labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kUntyped;
  std::vector<MetricSample> samples;
};

// The label set as canonical text: {a="1",b="x\"y"} (empty labels: "{}").
std::string LabelsText(const Labels& labels);
// The value of a label, or "".
const std::string& LabelValue(const Labels& labels, std::string_view name);

}  // namespace mesh

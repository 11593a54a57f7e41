// OTLP metrics as decoded from an export (JSON or protobuf, mesh/otlp_proto/otlp_metrics_proto.h),
// before they are mapped into the Prometheus model (otlp_metric_mapper.h): the OpenTelemetry
// names, units and attributes as sent, one entry per metric of a resource and scope.
// Plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mesh {

enum class OtlpMetricKind { kGauge, kSum, kHistogram, kSummary };
enum class OtlpTemporality { kUnspecified, kDelta, kCumulative };

struct OtlpMetricPoint {
  // Attribute values as text: strings as they are, numbers and booleans as JSON writes them,
  // arrays and kvlists as JSON, bytes as base64.
  std::vector<std::pair<std::string, std::string>> attributes;
  int64_t time_ns = 0;  // 0: not given
  double value = 0;     // gauge and sum
  // Histogram and summary.
  uint64_t count = 0;
  std::optional<double> sum;
  std::vector<double> bounds;            // histogram: explicit bounds, ascending
  std::vector<uint64_t> bucket_counts;   // histogram: per bucket (not cumulative), bounds + 1 of them
  std::vector<std::pair<double, double>> quantiles;  // summary: (quantile, value)
};

struct OtlpMetric {
  std::string service;   // the resource's service.name, else "unknown_service"
  std::string instance;  // the resource's service.instance.id, or ""
  std::string name;
  std::string description;
  std::string unit;
  OtlpMetricKind kind = OtlpMetricKind::kGauge;
  OtlpTemporality temporality = OtlpTemporality::kCumulative;  // sums and histograms
  bool monotonic = false;                                      // sums
  std::vector<OtlpMetricPoint> points;
};

struct OtlpMetrics {
  std::vector<OtlpMetric> metrics;
  int64_t rejected = 0;     // data points refused while decoding (exponential histograms, no value)
  std::string first_error;  // why the first one was
};

}  // namespace mesh

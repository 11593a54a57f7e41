// OTLP metrics into the store's Prometheus model (metric_sample.h), as the OpenTelemetry
// "Prometheus and OpenMetrics compatibility" specification maps them:
//   gauge -> gauge; monotonic sum -> counter named ..._total; non-monotonic sum -> gauge;
//   histogram -> _bucket{le} (cumulative, ending in le="+Inf"), _sum, _count;
//   summary -> {quantile} series, _sum, _count.
// Names and units as otel_prometheus_names.h says; the resource's service.name is the label
// service and its service.instance.id the label instance; point attributes are labels (names
// sanitised; two attributes that sanitise to one name have their values joined with ';' in
// key order; an attribute named service, instance, le or quantile is kept as exported_<name>).
// DELTA sums and histograms are added up per series into the cumulative values Prometheus
// expects. Those running totals live in this object only: when meshd restarts they start
// again from zero, which a Prometheus rate() reads as a counter reset.
// Not thread-safe: the caller serializes Map and Commit (meshd holds a mutex from Map until
// the families are stored and committed, so two exports of one delta series add up).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mesh/telemetry/metric_sample.h"
#include "mesh/telemetry/otlp_metrics.h"

namespace mesh {

class OtlpMetricMapper {
 public:
  // How many delta series have running totals at most: past it, points of new delta series
  // are refused (counted in `rejected`) until meshd restarts.
  static constexpr size_t kMaxDeltaSeries = 100'000;

  // One series' running totals: a sum's value, or a histogram's buckets, sum and count.
  struct Totals {
    double value = 0;
    std::vector<double> bounds;
    std::vector<uint64_t> bucket_counts;
    double sum = 0;
    uint64_t count = 0;
  };

  struct Mapped {
    std::vector<MetricFamily> families;
    int64_t rejected = 0;      // data points refused by the mapping (not counting decoding's)
    std::string first_error;
    std::map<std::string, Totals> totals;  // delta series' new running totals, for Commit
  };

  // The families for `metrics` (one per name, in order of first appearance), the running totals
  // of delta series included; this object is unchanged until Commit. Points are refused, and
  // counted, for: a name with no valid character, an unspecified temporality, a histogram whose
  // bounds are not ascending or whose bucket counts do not match them or its count, a quantile
  // outside [0, 1], or two types under one name.
  Mapped Map(const OtlpMetrics& metrics) const;

  // Keeps the running totals of a mapping whose families were stored.
  void Commit(Mapped& mapped);

  size_t delta_series() const { return totals_.size(); }

 private:
  std::map<std::string, Totals> totals_;  // by metric name and LabelsText
};

}  // namespace mesh

// ExportMetrics: the series one exporter of meshd keeps for one signal in meshd's registry, in
// families every exporter shares (mesh_export_*{exporter, signal}), so that --remote-write and
// --export-otlp read alike on /metrics. ExportMetricFamilies registers the families once.
//
// Thread-safe as the registry's series are.
#pragma once

#include <string>

#include "mesh/base/status.h"
#include "mesh/telemetry/metrics.h"

namespace mesh {

struct ExportMetrics {
  Gauge* queue = nullptr;     // mesh_export_queue_samples: items waiting in the outbox
  Gauge* lag = nullptr;       // mesh_export_lag_seconds: age of the oldest
  Counter* sent = nullptr;    // mesh_export_sent_total
  Counter* failed = nullptr;  // mesh_export_failed_total: requests to retry
  Counter* dropped_too_old = nullptr;      // mesh_export_dropped_total{reason="too_old"}
  Counter* dropped_over_size = nullptr;    // {reason="queue_full"}
  Counter* dropped_rejected = nullptr;     // {reason="rejected"}: refused by the receiver
  Counter* dropped_sampled_out = nullptr;  // {reason="sampled_out"}: spans tail sampling left out (traces only)
};

class ExportMetricFamilies {
 public:
  // Errors: as MetricsRegistry (a name already registered).
  static Result<ExportMetricFamilies> Register(MetricsRegistry& registry);
  // The series of `exporter` ("remote_write", "otlp") for `signal` ("traces", "logs", "metrics").
  ExportMetrics For(const std::string& exporter, const std::string& signal) const;

 private:
  Family<Gauge>* queue_ = nullptr;
  Family<Gauge>* lag_ = nullptr;
  Family<Counter>* sent_ = nullptr;
  Family<Counter>* failed_ = nullptr;
  Family<Counter>* dropped_ = nullptr;
};

}  // namespace mesh

#include "mesh/controlplane/export_metrics.h"

#include <vector>

namespace mesh {

Result<ExportMetricFamilies> ExportMetricFamilies::Register(MetricsRegistry& registry) {
  const std::vector<std::string> labels = {"exporter", "signal"};
  Result<Family<Gauge>*> queue = registry.AddGauge(
      "mesh_export_queue_samples",
      "Items (samples, spans, log records) in an export outbox (in the store) waiting to be sent", labels);
  Result<Family<Gauge>*> lag = registry.AddGauge(
      "mesh_export_lag_seconds", "Age of the oldest item in an export outbox (0 when empty)", labels);
  Result<Family<Counter>*> sent =
      registry.AddCounter("mesh_export_sent_total", "Items the export receiver accepted", labels);
  Result<Family<Counter>*> failed = registry.AddCounter(
      "mesh_export_failed_total",
      "Export requests that failed (transport error, 5xx, 429) and will be retried", labels);
  Result<Family<Counter>*> dropped = registry.AddCounter(
      "mesh_export_dropped_total",
      "Items dropped from an export outbox: too_old, queue_full, rejected by the receiver (4xx, partial "
      "success), or sampled_out (trace tail sampling)",
      {"exporter", "signal", "reason"});
  for (const Status& s : {queue.status(), lag.status(), sent.status(), failed.status(), dropped.status()}) {
    if (!s.ok()) return s;
  }
  ExportMetricFamilies families;
  families.queue_ = *queue;
  families.lag_ = *lag;
  families.sent_ = *sent;
  families.failed_ = *failed;
  families.dropped_ = *dropped;
  return families;
}

ExportMetrics ExportMetricFamilies::For(const std::string& exporter, const std::string& signal) const {
  // Two label values for two label names: WithLabels cannot fail below the series bound, and an
  // exporter has at most three signals.
  ExportMetrics m;
  m.queue = *queue_->WithLabels({exporter, signal});
  m.lag = *lag_->WithLabels({exporter, signal});
  m.sent = *sent_->WithLabels({exporter, signal});
  m.failed = *failed_->WithLabels({exporter, signal});
  m.dropped_too_old = *dropped_->WithLabels({exporter, signal, "too_old"});
  m.dropped_over_size = *dropped_->WithLabels({exporter, signal, "queue_full"});
  m.dropped_rejected = *dropped_->WithLabels({exporter, signal, "rejected"});
  if (signal == "traces") m.dropped_sampled_out = *dropped_->WithLabels({exporter, signal, "sampled_out"});
  return m;
}

}  // namespace mesh

#include "mesh/telemetry/worker_pool_metrics.h"

namespace mesh {

std::vector<MetricFamily> ServerUsageFamilies(const std::vector<ListenerUsage>& listeners,
                                              const std::vector<WorkerPoolUsage>& pools) {
  MetricFamily connections{kClientConnectionsMetric, kClientConnectionsHelp, MetricType::kGauge, {}};
  for (const ListenerUsage& l : listeners) {
    connections.samples.push_back(
        {kClientConnectionsMetric, {{"listener", l.listener}}, static_cast<double>(l.connections), {}});
  }
  MetricFamily workers{kWorkersMetric, kWorkersHelp, MetricType::kGauge, {}};
  MetricFamily busy{kWorkerBusyMetric, kWorkerBusyHelp, MetricType::kCounter, {}};
  for (const WorkerPoolUsage& p : pools) {
    workers.samples.push_back({kWorkersMetric, {{"pool", p.pool}}, static_cast<double>(p.workers), {}});
    busy.samples.push_back({kWorkerBusyMetric, {{"pool", p.pool}}, static_cast<double>(p.busy_ns) / 1e9, {}});
  }
  std::vector<MetricFamily> out;
  for (MetricFamily* f : {&connections, &workers, &busy}) {
    if (!f->samples.empty()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace mesh

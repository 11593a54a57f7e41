// The saturation figures a server exports about itself, as metric families: how many client
// connections each listener holds, and for each pool of workers its size and the time they were
// busy. mesh_worker_busy_seconds_total / mesh_workers as rate(busy[5m]) / workers is the pool's
// utilisation (0 idle, 1 every worker busy all the time). Names and help are shared by meshd
// (its own /metrics) and meshproxy (its registry, pushed to meshd), so that meshd's exposition
// joins both in one family. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/telemetry/metric_sample.h"

namespace mesh {

inline constexpr char kClientConnectionsMetric[] = "mesh_client_connections";
inline constexpr char kClientConnectionsHelp[] = "Client connections open";
inline constexpr char kWorkersMetric[] = "mesh_workers";
inline constexpr char kWorkersHelp[] = "Threads of a worker pool (rate(mesh_worker_busy_seconds_total) / this: utilisation)";
inline constexpr char kWorkerBusyMetric[] = "mesh_worker_busy_seconds_total";
inline constexpr char kWorkerBusyHelp[] =
    "Time a pool's threads were busy, summed over threads (meshd's handler pools: inside a handler, waiting on the "
    "store included; meshproxy's I/O threads: on a CPU, not waiting for I/O)";

struct ListenerUsage {
  std::string listener;  // label value: "api", "otlp_grpc"
  int64_t connections = 0;
};

struct WorkerPoolUsage {
  std::string pool;  // label value: "http_handlers", "otlp_grpc_handlers"
  int64_t workers = 0;
  int64_t busy_ns = 0;
};

// mesh_client_connections{listener}, mesh_workers{pool} and mesh_worker_busy_seconds_total{pool};
// a family without samples is left out.
std::vector<MetricFamily> ServerUsageFamilies(const std::vector<ListenerUsage>& listeners,
                                              const std::vector<WorkerPoolUsage>& pools);

}  // namespace mesh

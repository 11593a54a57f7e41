// Saturation, the fourth golden signal, per instance of a service: how much CPU, memory, file
// descriptors, connections, worker time and queue room it uses, from the process_* and mesh_* series its
// sidecar pushes (process_metrics.h, telemetry_shipper.h). Holds the answer of
// GET /v1/services/{name}/saturation, its JSON, and the pure arithmetic over stored samples
// (a counter's rate as PromQL's rate() takes it, gauges bucketed for sparklines). Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/telemetry/golden_signals.h"

namespace mesh {

// The series an instance's saturation is read from (all labelled service and instance).
inline constexpr const char* kSaturationSeries[] = {
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
    "mesh_client_connections",   "mesh_telemetry_queue_depth",    "mesh_telemetry_queue_capacity",
    "mesh_workers",              "mesh_worker_busy_seconds_total"};

// Sparkline points per instance.
inline constexpr int kSaturationHistoryPoints = 30;

struct SaturationPoint {
  int64_t end_ns = 0;  // the end of the bucket
  std::optional<double> cpu_cores;
  std::optional<double> resident_bytes;
  std::optional<double> connections;
  std::optional<double> queue_depth;
  std::optional<double> workers;             // summed over pools
  std::optional<double> busy_workers;        // rate(mesh_worker_busy_seconds_total), summed over pools
  std::optional<double> worker_utilization;  // busy_workers / workers
};

struct InstanceSaturation {
  std::string instance;
  int64_t last_sample_ns = 0;
  // CPU seconds per second over the window (1.0: one core busy); nullopt with fewer than two samples.
  std::optional<double> cpu_cores;
  // The newest sample of each gauge; connections sum the listeners (inbound and outbound).
  std::optional<double> resident_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> connections;
  std::optional<double> queue_depth;
  std::optional<double> queue_capacity;
  // Worker pools (a proxy's I/O threads per listener): their threads (newest sample, summed),
  // how many were busy on average over the window (rate of the busy-seconds counters, summed),
  // and the ratio of the two (0: idle, 1: every worker busy all the time).
  std::optional<double> workers;
  std::optional<double> busy_workers;
  std::optional<double> worker_utilization;
  std::vector<SaturationPoint> history;  // kSaturationHistoryPoints, oldest first
};

// busy / workers, nullopt unless both are known and workers > 0.
std::optional<double> WorkerUtilization(std::optional<double> busy_workers, std::optional<double> workers);

// A counter's per-second rate across `points` (ascending; resets as CounterIncrease takes them);
// nullopt with fewer than two points or no time between them.
std::optional<double> CounterRate(const std::vector<TimedValue>& points);

// The window [from_ns, to_ns] cut in n equal buckets: the last point of each (nullopt for a
// bucket without one). Points outside the window are ignored.
std::vector<std::optional<TimedValue>> LastPerBucket(const std::vector<TimedValue>& points, int64_t from_ns,
                                                     int64_t to_ns, int n);

// Per bucket, the counter's rate up to the bucket's last point from the newest point before the
// bucket (in an earlier bucket or before the window) or, without one, from the bucket's first
// point; nullopt for a bucket without points, or with a single point and nothing before it.
std::vector<std::optional<double>> RatePerBucket(const std::vector<TimedValue>& points, int64_t from_ns,
                                                 int64_t to_ns, int n);

// {"service":..., "window_seconds":..., "instances":[{"instance", "last_sample" (RFC 3339),
// "cpu_cores", "resident_bytes", "open_fds", "max_fds", "connections", "queue_depth",
// "queue_capacity", "workers", "busy_workers", "worker_utilization", "history":[{"t",
// "cpu_cores", "resident_bytes", "connections", "queue_depth", "worker_utilization"}]}]};
// an unknown figure is null.
std::string SaturationJson(const std::string& service, int64_t window_ns,
                           const std::vector<InstanceSaturation>& instances);

}  // namespace mesh

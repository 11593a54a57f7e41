#include "mesh/telemetry/saturation.h"

#include <cmath>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

void AppendNumber(std::string& out, const char* key, const std::optional<double>& v) {
  out += ",\"";
  out += key;
  out += "\":";
  out += v && std::isfinite(*v) ? FormatMetricValue(*v) : "null";
}

}  // namespace

std::optional<double> CounterRate(const std::vector<TimedValue>& points) {
  if (points.size() < 2 || points.back().ts_ns <= points.front().ts_ns) return std::nullopt;
  return CounterIncrease(points) / (static_cast<double>(points.back().ts_ns - points.front().ts_ns) / 1e9);
}

std::vector<std::optional<TimedValue>> LastPerBucket(const std::vector<TimedValue>& points, int64_t from_ns,
                                                     int64_t to_ns, int n) {
  std::vector<std::optional<TimedValue>> buckets(n > 0 ? static_cast<size_t>(n) : 0);
  if (buckets.empty() || to_ns <= from_ns) return buckets;
  const double width = static_cast<double>(to_ns - from_ns) / n;
  for (const TimedValue& p : points) {
    if (p.ts_ns < from_ns || p.ts_ns > to_ns) continue;
    const auto k = std::min(static_cast<size_t>(static_cast<double>(p.ts_ns - from_ns) / width), buckets.size() - 1);
    if (!buckets[k] || buckets[k]->ts_ns <= p.ts_ns) buckets[k] = p;
  }
  return buckets;
}

std::vector<std::optional<double>> RatePerBucket(const std::vector<TimedValue>& points, int64_t from_ns,
                                                 int64_t to_ns, int n) {
  const std::vector<std::optional<TimedValue>> last = LastPerBucket(points, from_ns, to_ns, n);
  std::vector<std::optional<double>> rates(last.size());
  if (last.empty() || to_ns <= from_ns) return rates;
  // The first point of each bucket, for a bucket with nothing before it.
  std::vector<std::optional<TimedValue>> first(last.size());
  std::optional<TimedValue> before;  // the newest point before the window
  const double width = static_cast<double>(to_ns - from_ns) / n;
  for (const TimedValue& p : points) {
    if (p.ts_ns < from_ns) {
      if (!before || before->ts_ns <= p.ts_ns) before = p;
      continue;
    }
    if (p.ts_ns > to_ns) continue;
    const auto k = std::min(static_cast<size_t>(static_cast<double>(p.ts_ns - from_ns) / width), first.size() - 1);
    if (!first[k] || p.ts_ns < first[k]->ts_ns) first[k] = p;
  }
  std::optional<TimedValue> previous = before;
  for (size_t k = 0; k < last.size(); ++k) {
    if (!last[k]) continue;
    const std::optional<TimedValue>& start = previous ? previous : first[k];
    rates[k] = CounterRate({*start, *last[k]});
    previous = last[k];
  }
  return rates;
}

std::optional<double> WorkerUtilization(std::optional<double> busy_workers, std::optional<double> workers) {
  if (!busy_workers || !workers || *workers <= 0) return std::nullopt;
  return *busy_workers / *workers;
}

std::string SaturationJson(const std::string& service, int64_t window_ns,
                           const std::vector<InstanceSaturation>& instances) {
  std::string out = "{\"service\":";
  AppendJsonString(out, service);
  out += ",\"window_seconds\":" + FormatMetricValue(static_cast<double>(window_ns) / 1e9) + ",\"instances\":[";
  for (size_t i = 0; i < instances.size(); ++i) {
    const InstanceSaturation& s = instances[i];
    if (i) out += ',';
    out += "{\"instance\":";
    AppendJsonString(out, s.instance);
    out += ",\"last_sample\":";
    AppendJsonString(out, FormatRfc3339(s.last_sample_ns));
    AppendNumber(out, "cpu_cores", s.cpu_cores);
    AppendNumber(out, "resident_bytes", s.resident_bytes);
    AppendNumber(out, "open_fds", s.open_fds);
    AppendNumber(out, "max_fds", s.max_fds);
    AppendNumber(out, "connections", s.connections);
    AppendNumber(out, "queue_depth", s.queue_depth);
    AppendNumber(out, "queue_capacity", s.queue_capacity);
    AppendNumber(out, "workers", s.workers);
    AppendNumber(out, "busy_workers", s.busy_workers);
    AppendNumber(out, "worker_utilization", s.worker_utilization);
    out += ",\"history\":[";
    for (size_t k = 0; k < s.history.size(); ++k) {
      const SaturationPoint& p = s.history[k];
      if (k) out += ',';
      out += "{\"t\":";
      AppendJsonString(out, FormatRfc3339(p.end_ns));
      AppendNumber(out, "cpu_cores", p.cpu_cores);
      AppendNumber(out, "resident_bytes", p.resident_bytes);
      AppendNumber(out, "connections", p.connections);
      AppendNumber(out, "queue_depth", p.queue_depth);
      AppendNumber(out, "worker_utilization", p.worker_utilization);
      out += '}';
    }
    out += "]}";
  }
  return out + "]}";
}

}  // namespace mesh

// SignalSource: measures an alert signal (error rate, request rate, a latency quantile, a log
// rate, healthy instances, saturation, or an aggregate of any stored metric) for one service over a window ending at a given
// time. The alert engine only sees this interface; StoreSignalSource (store/) reads the SQLite
// store.
//
// Values and units: error_rate in % of requests, request_rate in requests/s, latency in ms
// (from histogram buckets, as histogram_quantile does), log_rate in records/s at or above the
// level, metrics as follows:
//   avg, min, max  over every sample of the matching series in the window;
//   sum            of each matching series' newest value in the window (e.g. in-flight
//                  requests across instances);
//   rate           per-second increase of a counter, summed over the matching series
//                  (PromQL's sum(rate(x[window]))).
// healthy_instances counts the service's registered instances whose last heartbeat is at most
// one TTL old at the time (the window plays no part); saturation is the per-second rate of work
// refused or dropped for lack of room (connections over the limit, circuit-breaker overflow,
// telemetry dropped), summed as rate is.
// nullopt means no data: nothing was pushed in the window, or no request to take a rate or a
// latency from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/alerting/alert_rule.h"
#include "mesh/base/status.h"

namespace mesh {

class SignalSource {
 public:
  virtual ~SignalSource() = default;
  // The services that have data of this kind, sorted.
  virtual Result<std::vector<std::string>> Services(const AlertSignal& signal) = 0;
  virtual Result<std::optional<double>> Measure(const AlertSignal& signal, const std::string& service,
                                                int64_t window_ns, int64_t at_ns) = 0;
};

}  // namespace mesh

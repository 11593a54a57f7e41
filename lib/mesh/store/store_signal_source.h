// StoreSignalSource: alerting's SignalSource (alerting/signal_source.h) read from the SQLite
// store, as Prometheus' rules engine reads through the storage interface that tsdb implements.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "mesh/alerting/signal_source.h"
#include "mesh/base/status.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/golden_signals.h"

namespace mesh {

// Not thread-safe. Caches the golden signals of a (service, window, time) so that many rules
// over the same service cost one computation.
class StoreSignalSource : public SignalSource {
 public:
  explicit StoreSignalSource(Store& store) : store_(store) {}
  Result<std::vector<std::string>> Services(const AlertSignal& signal) override;
  Result<std::optional<double>> Measure(const AlertSignal& signal, const std::string& service,
                                        int64_t window_ns, int64_t at_ns) override;

 private:
  struct Requests {
    bool pushed = false;  // a request series had a sample in the window
    GoldenSignals signals;
  };
  Result<Requests> RequestSignals(const std::string& service, int64_t window_ns, int64_t at_ns);
  Result<std::optional<double>> LogRate(const AlertSignal& signal, const std::string& service,
                                        int64_t window_ns, int64_t at_ns);
  Result<std::optional<double>> HealthyInstances(const std::string& service, int64_t at_ns);
  Result<std::optional<double>> Saturation(const std::string& service, int64_t window_ns, int64_t at_ns);
  Result<std::optional<double>> MetricValue(const AlertSignal& signal, const std::string& service,
                                            int64_t window_ns, int64_t at_ns);

  Store& store_;
  std::map<std::tuple<std::string, int64_t, int64_t>, Requests> cache_;
};

}  // namespace mesh

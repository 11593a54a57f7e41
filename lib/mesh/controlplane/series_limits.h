// SeriesLimits: meshd's cardinality bounds on pushed metrics, the counterparts of Prometheus'
// scrape `sample_limit` (series in one push) and Mimir's `max_global_series_per_user` (series
// stored per tenant; here per service label). A push over either is refused whole: nothing of
// it is stored. Pure functions over values; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mesh/http/http_message.h"
#include "mesh/telemetry/metric_sample.h"

namespace mesh {

struct SeriesLimits {
  size_t per_push = 10000;
  size_t per_service = 50000;
};

// Why a push was refused: the bound ("per_push" or "per_service"), the service (per_service
// only; "" stands for series without a service label), the limit and the series it would make.
struct SeriesRefusal {
  std::string reason;
  std::string service;
  size_t limit = 0;
  int64_t series = 0;  // the push's distinct series, or the service's total had it been stored
};

// The families' distinct series (name and label set), by their service label.
std::map<std::string, int64_t> DistinctSeriesByService(const std::vector<MetricFamily>& families);

// The per-push bound on the push's distinct series, before the store is asked anything.
std::optional<SeriesRefusal> CheckSeriesPerPush(const std::map<std::string, int64_t>& by_service,
                                                const SeriesLimits& limits);

// The per-service bound: `stored(service)` says how many series a service already has; it is
// asked only for services the push brings new series to (`fresh`, by service).
template <typename StoredCount>
std::optional<SeriesRefusal> CheckSeriesPerService(const std::map<std::string, int64_t>& fresh,
                                                   const SeriesLimits& limits, StoredCount stored) {
  for (const auto& [service, added] : fresh) {
    if (added <= 0) continue;
    const int64_t total = stored(service) + added;
    if (total > static_cast<int64_t>(limits.per_service)) {
      return SeriesRefusal{"per_service", service, limits.per_service, total};
    }
  }
  return std::nullopt;
}

// 400 with {"error", "bound", "service"?, "limit", "series"}: retrying the same push cannot
// succeed (Mimir answers its series limits with 400 too).
HttpResponse SeriesRefusalResponse(const SeriesRefusal& refusal);

}  // namespace mesh

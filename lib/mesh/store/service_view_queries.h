// The queries behind the dashboard's service page and service map (telemetry/service_view.h):
// the request timeline and latency distribution from a service's pushed request metrics, its
// slowest operations, errors and callers and callees from its spans, and the call graph of
// every service. Each reads through an index (BuildServiceViewSql's EXPLAIN QUERY PLAN test).
// Operations, callers, callees and the map come from the span roll-ups (span_rollup.h), so a
// long window costs per-minute and per-hour rows, not per-span ones; a call counts in the
// window its callee's span started in.
//
// Not thread-safe: one call at a time per Store connection.
#pragma once

#include <cstdint>
#include <string>

#include "mesh/store/store.h"
#include "mesh/telemetry/service_view.h"

namespace mesh {

enum class ServiceViewSql {
  kRequestSeries,   // ?1 service
  kSeriesSamples,   // ?1 series id, ?2 since, ?3 until
  kErrorSpans,      // ?1 service, ?2 since, ?3 until
};
// The statement and its parameters (series id 0, since and until as given).
SqlQuery BuildServiceViewSql(ServiceViewSql which, const std::string& service, int64_t since_ns,
                             int64_t until_ns);

// The service's view over [since, until), the timeline in kServiceViewSteps steps. A service
// that pushed no metrics has an empty latency and zero requests; one without spans, no
// operations, errors or edges. Errors: the store's.
Result<ServiceView> QueryServiceView(Store& store, const std::string& service, int64_t since_ns,
                                     int64_t until_ns);

// Every service with spans in [since, until), and the calls between services among spans that
// started then (a child's parent may have started earlier). Errors: the store's.
Result<ServiceMap> QueryServiceMap(Store& store, int64_t since_ns, int64_t until_ns);

}  // namespace mesh

// RequestMetrics: the golden signals of the requests a meshproxy relays, counted on the request
// path itself, so that they are exact at any load (the telemetry queue, which drops when full,
// carries only spans and access logs). Its series, registered in the MetricsRegistry given:
//   mesh_requests_total{service,direction,code,client_service}
//   mesh_request_duration_seconds{service,direction}
//   mesh_request_retries_total{service,direction}        (appears with the first retry)
//   mesh_proxy_errors_total{service,direction,code}      (appears with the first proxy error)
//   mesh_policy_denials_total{service,client_service}    (appears with the first denial)
//   mesh_policy_ambiguous_paths_total{service,client_service}  (denials for an ambiguous path)
//
// Count() takes no lock once a label set (direction, code, client_service) has been seen: its
// series are found in a lock-free table of immutable entries and updated with relaxed atomic adds
// into the series' per-thread cells (Counter and Histogram keep one cache line per shard), which
// a scrape or a push to meshd sums (MetricsRegistry::Collect). Only the first request of a label
// set resolves its series through the families, under their lock. Label sets beyond the table's
// capacity (past the families' cardinality caps anyway) take that locked path every time.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "mesh/proxy/http_proxy.h"
#include "mesh/telemetry/metrics.h"

namespace mesh {

// "inbound" or "outbound": the direction label of meshproxy's series.
const char* DirectionName(HttpProxy::Direction direction);

// A family's registration fails only on a programming error (a bad or reused name): it ends the
// process loudly.
template <typename T>
T* MustRegister(Result<T*> family) {
  if (!family.ok()) {
    std::fprintf(stderr, "meshproxy: %s\n", family.status().message().c_str());
    std::abort();
  }
  return *family;
}

class RequestMetrics {
 public:
  // Registers the families in `registry`, which must outlive this. Aborts if one of their names
  // is already registered there (a programming error).
  RequestMetrics(MetricsRegistry& registry, std::string service);
  ~RequestMetrics();
  RequestMetrics(const RequestMetrics&) = delete;
  RequestMetrics& operator=(const RequestMetrics&) = delete;

  // Counts one finished request. Called by the I/O threads for every request.
  void Count(const ProxiedRequest& request, HttpProxy::Direction direction);

  // The label sets held in the lock-free table (tests).
  size_t label_sets() const { return size_.load(std::memory_order_relaxed); }

 private:
  struct Series;
  static constexpr size_t kSlots = 4096;           // a power of two
  static constexpr size_t kMaxSeries = kSlots / 2;  // keeps probes short

  // The table's entry for the label set, inserted if new; nullptr when the table is full.
  Series* Find(HttpProxy::Direction direction, int status, std::string_view client_service);
  void Resolve(Series& series);
  void Apply(Series& series, const ProxiedRequest& request);

  const std::string service_;
  Family<Counter>* requests_;
  Family<Histogram>* durations_;
  Family<Counter>* retries_;
  Family<Counter>* proxy_errors_;
  Family<Counter>* denials_;
  Family<Counter>* ambiguous_paths_;
  std::unique_ptr<std::atomic<Series*>[]> slots_;
  std::atomic<size_t> size_{0};
};

}  // namespace mesh

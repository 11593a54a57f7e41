// SpanStats: per service and operation, how many spans, how many failed, and duration
// percentiles; plus the service dependency edges (a span whose parent belongs to another
// service is one call from the parent's service to its own), like `linkerd viz edges`.
// meshtrace stats and meshd's GET /v1/traces/stats compute them from the store the same way.
//
// Percentiles come from a log-linear histogram per operation (buckets 1/32 of a power of two
// wide: at most about 2% relative error, fixed memory whatever the count) instead of sorting
// every duration. Pure, not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/span.h"

namespace mesh {

// Durations in nanoseconds, from 1 ns to about 292 years.
class DurationHistogram {
 public:
  void Add(int64_t duration_ns);
  int64_t count() const { return count_; }
  // The q-quantile (0 < q <= 1): the upper bound of the bucket holding that rank, capped at the
  // largest value seen. 0 when empty.
  int64_t Quantile(double q) const;
  // Adds another histogram's counts: the quantiles of the sum are those of every duration
  // added to either, exactly (the store's span roll-ups rely on it).
  void Merge(const DurationHistogram& other);
  // "max;bucket:count,bucket:count..." and back. Decode refuses text Encode did not write
  // (InvalidArgument).
  std::string Encode() const;
  static Result<DurationHistogram> Decode(std::string_view text);

 private:
  std::map<int, int64_t> buckets_;  // sparse: bucket index -> count
  int64_t count_ = 0;
  int64_t max_ = 0;
};

struct OperationStats {
  std::string service;
  std::string operation;
  int64_t count = 0;
  int64_t errors = 0;
  int64_t p50_ns = 0;
  int64_t p95_ns = 0;
  int64_t p99_ns = 0;
};

struct EdgeStats {
  std::string caller;
  std::string callee;
  int64_t calls = 0;
  int64_t errors = 0;  // calls whose callee span failed
};

class SpanStats {
 public:
  // One span of `service` doing `operation`.
  void AddSpan(const std::string& service, const std::string& operation, int64_t duration_ns,
               bool error);
  // One call from a span of `caller` to a child span of `callee` (another service).
  void AddCall(const std::string& caller, const std::string& callee, bool error);
  // Adds one trace's spans and the calls between its services.
  void AddTrace(const std::vector<Span>& spans);

  // By service, then operation.
  std::vector<OperationStats> Operations() const;
  // By caller, then callee.
  std::vector<EdgeStats> Edges() const;

 private:
  struct Op {
    int64_t errors = 0;
    DurationHistogram durations;
  };
  std::map<std::pair<std::string, std::string>, Op> ops_;
  std::map<std::pair<std::string, std::string>, EdgeStats> edges_;
};

// {"operations":[{"service":..,"operation":..,"count":N,"errors":N,"error_rate":pct,
//   "p50_ms":..,"p95_ms":..,"p99_ms":..}],"edges":[{"caller":..,"callee":..,"calls":N,
//   "errors":N}]}: what meshd's GET /v1/traces/stats answers and `meshtrace stats -o json`
// prints. Decode accepts what Encode writes (durations back to whole nanoseconds).
std::string EncodeSpanStatsJson(const std::vector<OperationStats>& ops,
                                const std::vector<EdgeStats>& edges);
Status DecodeSpanStatsJson(std::string_view json, std::vector<OperationStats>& ops,
                           std::vector<EdgeStats>& edges);

}  // namespace mesh

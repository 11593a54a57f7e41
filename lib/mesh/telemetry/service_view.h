// ServiceView and ServiceMap: what the dashboard's service page and service map show, as
// values, and their JSON (meshd's GET /v1/services/{name}/dashboard and GET /v1/service-map).
// The store fills them (store/service_view_queries.h); meshd adds the registry's instances and
// the error logs. Pure, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/telemetry/span_stats.h"

namespace mesh {

// The windows the dashboard offers (15m, 1h, 6h, 24h, 7d), each drawn as kServiceViewSteps
// steps. Errors: InvalidArgument naming the accepted values.
constexpr int kServiceViewSteps = 60;
Result<int64_t> ParseServiceViewWindow(const std::string& text);

// One step of the request timeline, from mesh_requests_total and
// mesh_request_duration_seconds: requests by status class (2xx, 3xx, 4xx, 5xx; other codes
// are not drawn) and the latency percentiles of the step's histogram (nullopt: no requests).
struct RequestStep {
  int64_t start_ns = 0;
  std::array<double, 4> by_class{};
  std::optional<double> p50_seconds, p95_seconds, p99_seconds;
};

// One bucket of the latency distribution: the requests whose duration fell in (previous le,
// le] over the whole window (le is +Inf for the last).
struct LatencyBucket {
  double le = 0;
  double count = 0;
};

// Failed spans (status ERROR) by what failed: kind "http" (the HTTP status code attribute),
// "grpc" (rpc.grpc.status_code), "exception" (an exception event's exception.type) or "status"
// (none of those: the span's status message). A span may count under several kinds.
struct ErrorType {
  std::string kind;
  std::string value;
  int64_t count = 0;
};

// Calls from spans of `caller` to child spans of `callee` (another service): errors are failed
// child spans, p99 the child spans' duration.
struct ServiceEdge {
  std::string caller;
  std::string callee;
  int64_t calls = 0;
  int64_t errors = 0;
  int64_t p99_ns = 0;
};

struct ServiceView {
  std::string service;
  int64_t since_ns = 0;
  int64_t until_ns = 0;
  std::vector<RequestStep> timeline;       // oldest first
  std::vector<LatencyBucket> latency;      // by le
  std::vector<OperationStats> slowest;     // the 10 operations with the highest p99, highest first
  std::vector<ErrorType> errors;           // most frequent first
  std::vector<ServiceEdge> callers;        // busiest first
  std::vector<ServiceEdge> callees;        // busiest first
};

struct ServiceMap {
  int64_t since_ns = 0;
  int64_t until_ns = 0;
  std::vector<std::string> services;  // with spans in the window, by name
  std::vector<ServiceEdge> edges;     // by caller, then callee
};

// Sorted as ServiceView keeps them: busiest first, then by name.
void SortEdgesByCalls(std::vector<ServiceEdge>& edges);

// {"service":..,"since":RFC3339,"until":..,"window_seconds":N,"step_seconds":N,
//  "timeline":[{"t":..,"2xx":N,"3xx":N,"4xx":N,"5xx":N,"p50_ms":..,"p95_ms":..,"p99_ms":..}],
//  "latency":[{"le":N|"+Inf","count":N}],
//  "slowest":[{"operation":..,"count":N,"errors":N,"p50_ms":..,"p99_ms":..}],
//  "errors":[{"kind":..,"value":..,"count":N}],
//  "callers"|"callees":[{"service":..,"calls":N,"rps":..,"error_percent":..,"p99_ms":..}]}
// The closing brace is left off: meshd appends the members it knows (instances, error logs).
std::string EncodeServiceViewJsonOpen(const ServiceView& view);
// {"since":..,"until":..,"window_seconds":N,"services":[..],
//  "edges":[{"caller":..,"callee":..,"calls":N,"rps":..,"error_percent":..,"p99_ms":..}]}
std::string EncodeServiceMapJson(const ServiceMap& map);

}  // namespace mesh

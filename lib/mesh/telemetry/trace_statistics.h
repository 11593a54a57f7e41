// TraceStatistics: what one trace cost and where, from its TraceTree: total duration, span
// count, and per service its spans and self time (the time its spans spent not waiting on a
// child span: a span's display interval less the union of its children's). Display times are
// used, so a child shifted for clock skew is subtracted where it is drawn. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/telemetry/trace_tree.h"

namespace mesh {

struct ServiceTraceStatistics {
  std::string service;
  int64_t span_count = 0;
  int64_t self_time_ns = 0;
};

struct TraceStatistics {
  int64_t duration_ns = 0;  // earliest start to latest end
  int64_t span_count = 0;
  std::vector<ServiceTraceStatistics> services;  // most self time first, then by name
};

// A span's self time (nodes_index into tree.nodes(); 0 for a synthetic node).
int64_t SelfTimeNs(const TraceTree& tree, size_t node_index);

TraceStatistics ComputeTraceStatistics(const TraceTree& tree);

// {"duration_ns":N,"span_count":N,"services":[{"service":S,"span_count":N,"self_time_ns":N},...]}
void AppendJson(std::string& out, const TraceStatistics& statistics);

}  // namespace mesh

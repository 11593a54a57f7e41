#include "mesh/telemetry/trace_statistics.h"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

#include "mesh/base/json_text.h"

namespace mesh {
namespace {

// Times come from other hosts: an end (or a sum of durations) near INT64_MAX must not wrap.
// Durations are never negative, so only the upper bound can be crossed.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<int64_t>::max() : sum;
}

}  // namespace

int64_t SelfTimeNs(const TraceTree& tree, size_t node_index) {
  const TraceNode& node = tree.nodes()[node_index];
  if (node.span < 0) return 0;
  const int64_t start = node.display_start_ns;
  const int64_t end = SaturatingAdd(start, node.display_duration_ns);
  // Children are ordered by display start: one sweep merges their overlapping intervals,
  // clipped to the parent's (a child may still reach past it within the skew tolerance).
  int64_t covered = 0;
  int64_t reach = start;
  for (size_t c : node.children) {
    const TraceNode& child = tree.nodes()[c];
    const int64_t from = std::max(child.display_start_ns, reach);
    const int64_t to = std::min(SaturatingAdd(child.display_start_ns, child.display_duration_ns), end);
    if (to > from) {
      covered += to - from;
      reach = to;
    }
  }
  return std::max<int64_t>(node.display_duration_ns - covered, 0);
}

TraceStatistics ComputeTraceStatistics(const TraceTree& tree) {
  TraceStatistics out;
  out.span_count = static_cast<int64_t>(tree.spans().size());
  if (__builtin_sub_overflow(tree.end_ns(), tree.start_ns(), &out.duration_ns)) {
    out.duration_ns = std::numeric_limits<int64_t>::max();
  }
  std::map<std::string, ServiceTraceStatistics> by_service;
  for (size_t i = 0; i < tree.nodes().size(); ++i) {
    const TraceNode& node = tree.nodes()[i];
    if (node.span < 0) continue;
    const std::string& service = tree.spans()[node.span].service;
    ServiceTraceStatistics& s = by_service[service];
    s.service = service;
    ++s.span_count;
    s.self_time_ns = SaturatingAdd(s.self_time_ns, SelfTimeNs(tree, i));
  }
  for (auto& [name, s] : by_service) out.services.push_back(std::move(s));
  std::stable_sort(out.services.begin(), out.services.end(),
                   [](const ServiceTraceStatistics& a, const ServiceTraceStatistics& b) {
                     return a.self_time_ns > b.self_time_ns;
                   });
  return out;
}

void AppendJson(std::string& out, const TraceStatistics& statistics) {
  out += "{\"duration_ns\":" + std::to_string(statistics.duration_ns) +
         ",\"span_count\":" + std::to_string(statistics.span_count) + ",\"services\":[";
  for (size_t i = 0; i < statistics.services.size(); ++i) {
    const ServiceTraceStatistics& s = statistics.services[i];
    if (i) out += ',';
    out += "{\"service\":";
    AppendJsonString(out, s.service);
    out += ",\"span_count\":" + std::to_string(s.span_count) +
           ",\"self_time_ns\":" + std::to_string(s.self_time_ns) + "}";
  }
  out += "]}";
}

}  // namespace mesh

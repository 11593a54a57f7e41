// TraceTree: one trace's spans arranged by their parent links, for display and analysis.
//
// - Children are ordered by start time (then span id), whatever order the spans arrived in.
// - Spans whose parent never arrived hang under a synthetic "missing parent" node (one per
//   missing parent id), listed after the true roots.
// - A cycle in parent links (a → b → a, or a span naming itself) is broken: the span of the
//   cycle that starts first becomes a root of its own and is flagged.
// - Clock skew: a child that starts before its parent or ends after it by more than 2 ms (hosts'
//   clocks differ) gets a display start shifted into its parent's interval (its duration kept,
//   clamped to the parent's), and its own children move with it; the stored times are
//   untouched. Nothing is corrected within the tolerance (millisecond timestamps, NTP's
//   accuracy) nor between two spans whose resources name the same host.name: one host's
//   clock has no skew. (OpenTelemetry SDKs with a host detector send host.name; mesh's own
//   sidecar and SDK spans do not yet, so for them the tolerance alone applies.)
// - The critical path: from each root, the chain of spans that decides when the root ends
//   (walking back from the parent's end, the child that finished last before the current
//   point, then recursively), as Jaeger's critical path view does.
// Pure, no I/O; a 10,000-span trace builds in a few milliseconds, iteratively (no recursion
// depth limit on deep chains).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesh/telemetry/span.h"

namespace mesh {

struct TraceNode {
  // Index into TraceTree::spans(), or -1 for a synthetic missing-parent node.
  long span = -1;
  std::string missing_parent_id;  // the parent span id that never arrived (synthetic nodes)
  int depth = 0;                  // 0 for roots and synthetic nodes
  std::vector<size_t> children;   // indexes into nodes(), by display start
  int64_t display_start_ns = 0;   // start, shifted into the parent's interval under skew
  int64_t display_duration_ns = 0;
  bool skew_adjusted = false;
  bool cycle_broken = false;      // this span's parent link was part of a cycle
  bool on_critical_path = false;
};

class TraceTree {
 public:
  // Spans of one trace, in any order; duplicates (same span id) keep the first.
  static TraceTree Build(std::vector<Span> spans);

  const std::vector<Span>& spans() const { return spans_; }
  const std::vector<TraceNode>& nodes() const { return nodes_; }
  // True roots by start time, then one synthetic node per missing parent.
  const std::vector<size_t>& roots() const { return roots_; }
  // Every node in display order: depth first, children by start.
  const std::vector<size_t>& preorder() const { return preorder_; }
  // Earliest display start and latest display end over all spans (0, 0 when empty).
  int64_t start_ns() const { return start_ns_; }
  int64_t end_ns() const { return end_ns_; }
  // Span indexes (into spans()) on the critical path, root first.
  const std::vector<size_t>& critical_path() const { return critical_path_; }
  // The node of the span with this id, or -1.
  long FindSpan(const std::string& span_id) const;

 private:
  std::vector<Span> spans_;
  std::vector<TraceNode> nodes_;
  std::vector<size_t> roots_;
  std::vector<size_t> preorder_;
  std::vector<size_t> critical_path_;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  std::unordered_map<std::string, size_t> by_id_;  // span id -> node (== span) index
};

}  // namespace mesh

#include "mesh/telemetry/trace_tree.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "mesh/base/json_scan.h"

namespace mesh {
namespace {

constexpr long kNoParent = -1;

// Timestamps come from other hosts: a start near INT64_MAX must not wrap into a negative end.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t difference = 0;
  if (__builtin_sub_overflow(a, b, &difference)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return difference;
}

int64_t DisplayEnd(const TraceNode& node) {
  return SaturatingAdd(node.display_start_ns, node.display_duration_ns);
}

bool StartsEarlier(const Span& a, const Span& b) {
  if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
  return a.span_id < b.span_id;
}

// A child outside its parent by no more than this is not moved: timestamps truncated to
// milliseconds (Zipkin's and many SDKs') put a child up to 1 ms before its parent's start, and
// up to 2 ms past its end when the parent's start and duration were both truncated, with no
// skew at all; clocks that NTP keeps on a LAN agree to within about a millisecond too.
constexpr int64_t kSkewToleranceNs = 2'000'000;

// The host a span was recorded on: its resource's host.name, "" when it does not say.
std::string HostOf(const Span& span) {
  if (span.resource.find("\"host.name\"") == std::string::npos) return "";
  std::vector<JsonMember> members;
  if (!ScanJsonObject(span.resource, members).ok()) return "";
  for (const JsonMember& m : members) {
    if (m.key == "host.name" && m.kind == JsonKind::kString) return StringValue(m);
  }
  return "";
}

// Places the child once its parent's display interval is final. The child first moves by
// as much as its parent was moved: a subtree shifted for skew keeps its inner timing. Then, if
// it still lies outside its parent by more than the tolerance and the two were not recorded on
// the same host (one clock has no skew to correct), it is moved inside, keeping as much of its
// duration as fits.
void PlaceChild(TraceNode& child, const Span& child_span, const TraceNode& parent,
                const Span& parent_span, const std::vector<std::string>& hosts, size_t child_index,
                size_t parent_index) {
  const int64_t inherited = SaturatingSub(parent.display_start_ns, parent_span.start_ns);
  if (inherited != 0) {
    child.display_start_ns = SaturatingAdd(child_span.start_ns, inherited);
    child.skew_adjusted = true;
  }
  const int64_t parent_start = parent.display_start_ns;
  const int64_t parent_end = DisplayEnd(parent);
  const int64_t early = SaturatingSub(parent_start, child.display_start_ns);
  const int64_t late = SaturatingSub(DisplayEnd(child), parent_end);
  if (early <= kSkewToleranceNs && late <= kSkewToleranceNs) return;
  if (!hosts[child_index].empty() && hosts[child_index] == hosts[parent_index]) return;
  child.skew_adjusted = true;
  child.display_duration_ns = std::min(child.display_duration_ns, parent.display_duration_ns);
  child.display_start_ns = std::max(
      parent_start, std::min(child.display_start_ns, parent_end - child.display_duration_ns));
}

}  // namespace

TraceTree TraceTree::Build(std::vector<Span> spans) {
  TraceTree t;
  t.spans_.reserve(spans.size());
  for (Span& s : spans) {
    if (t.by_id_.emplace(s.span_id, t.spans_.size()).second) t.spans_.push_back(std::move(s));
  }
  const size_t n = t.spans_.size();
  if (n == 0) return t;

  t.nodes_.resize(n);
  std::vector<std::string> hosts(n);
  for (size_t i = 0; i < n; ++i) hosts[i] = HostOf(t.spans_[i]);
  std::vector<long> parent(n, kNoParent);
  for (size_t i = 0; i < n; ++i) {
    const Span& s = t.spans_[i];
    TraceNode& node = t.nodes_[i];
    node.span = static_cast<long>(i);
    node.display_start_ns = s.start_ns;
    node.display_duration_ns = std::max<int64_t>(s.duration_ns, 0);
    if (s.parent_span_id.empty()) continue;
    const auto it = t.by_id_.find(s.parent_span_id);
    if (it != t.by_id_.end()) parent[i] = static_cast<long>(it->second);
  }

  // Each span has at most one parent, so a walk up the links either ends at a root or runs
  // into itself; one pass with "on this walk" marks finds every cycle in O(n).
  enum : char { kUnseen, kOnWalk, kSettled };
  std::vector<char> state(n, kUnseen);
  std::vector<size_t> walk;
  for (size_t i = 0; i < n; ++i) {
    walk.clear();
    long v = static_cast<long>(i);
    while (v != kNoParent && state[v] == kUnseen) {
      state[v] = kOnWalk;
      walk.push_back(static_cast<size_t>(v));
      v = parent[v];
    }
    if (v != kNoParent && state[v] == kOnWalk) {
      const auto cycle = std::find(walk.begin(), walk.end(), static_cast<size_t>(v));
      const size_t head = *std::min_element(cycle, walk.end(), [&](size_t a, size_t b) {
        return StartsEarlier(t.spans_[a], t.spans_[b]);
      });
      parent[head] = kNoParent;
      t.nodes_[head].cycle_broken = true;
    }
    for (size_t w : walk) state[w] = kSettled;
  }

  std::vector<size_t> true_roots;
  std::vector<size_t> synthetic_roots;
  std::unordered_map<std::string, size_t> synthetic_by_id;
  for (size_t i = 0; i < n; ++i) {
    const std::string& parent_id = t.spans_[i].parent_span_id;
    if (parent[i] != kNoParent) {
      t.nodes_[parent[i]].children.push_back(i);
    } else if (parent_id.empty() || t.nodes_[i].cycle_broken) {
      true_roots.push_back(i);
    } else {
      const auto [it, added] = synthetic_by_id.emplace(parent_id, t.nodes_.size());
      if (added) {
        TraceNode synthetic;
        synthetic.missing_parent_id = parent_id;
        synthetic.display_start_ns = t.nodes_[i].display_start_ns;
        synthetic.display_duration_ns = t.nodes_[i].display_duration_ns;
        t.nodes_.push_back(std::move(synthetic));
        synthetic_roots.push_back(it->second);
      }
      TraceNode& missing = t.nodes_[it->second];
      const int64_t start = std::min(missing.display_start_ns, t.nodes_[i].display_start_ns);
      const int64_t end = std::max(DisplayEnd(missing), DisplayEnd(t.nodes_[i]));
      missing.display_start_ns = start;
      missing.display_duration_ns = SaturatingSub(end, start);
      missing.children.push_back(i);
    }
  }

  const auto by_display_start = [&t](size_t a, size_t b) {
    const TraceNode& x = t.nodes_[a];
    const TraceNode& y = t.nodes_[b];
    if (x.display_start_ns != y.display_start_ns) return x.display_start_ns < y.display_start_ns;
    const std::string& x_id = x.span >= 0 ? t.spans_[x.span].span_id : x.missing_parent_id;
    const std::string& y_id = y.span >= 0 ? t.spans_[y.span].span_id : y.missing_parent_id;
    return x_id < y_id;
  };
  std::sort(true_roots.begin(), true_roots.end(), by_display_start);
  std::sort(synthetic_roots.begin(), synthetic_roots.end(), by_display_start);
  t.roots_ = std::move(true_roots);
  t.roots_.insert(t.roots_.end(), synthetic_roots.begin(), synthetic_roots.end());

  // Depth first with an explicit stack: a parent's display interval is settled when it is
  // popped, so its children can be placed (and only then ordered by display start).
  t.preorder_.reserve(t.nodes_.size());
  std::vector<size_t> stack(t.roots_.rbegin(), t.roots_.rend());
  while (!stack.empty()) {
    const size_t u = stack.back();
    stack.pop_back();
    t.preorder_.push_back(u);
    TraceNode& node = t.nodes_[u];
    for (size_t c : node.children) {
      if (node.span >= 0) {
        PlaceChild(t.nodes_[c], t.spans_[t.nodes_[c].span], node, t.spans_[node.span], hosts,
                   static_cast<size_t>(t.nodes_[c].span), static_cast<size_t>(node.span));
      }
      t.nodes_[c].depth = node.depth + 1;
    }
    std::sort(node.children.begin(), node.children.end(), by_display_start);
    stack.insert(stack.end(), node.children.rbegin(), node.children.rend());
  }

  t.start_ns_ = std::numeric_limits<int64_t>::max();
  t.end_ns_ = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < n; ++i) {
    t.start_ns_ = std::min(t.start_ns_, t.nodes_[i].display_start_ns);
    t.end_ns_ = std::max(t.end_ns_, DisplayEnd(t.nodes_[i]));
  }

  // Jaeger's walk, unrolled onto a stack: from the parent's end, take the child that ended
  // last at or before the current point, descend into it, then resume from that child's start.
  // Children are scanned by end time, latest first; since the point only moves earlier, a
  // child skipped once stays skipped and each frame's cursor only moves forward.
  struct Frame {
    size_t node;
    int64_t point;
    std::vector<size_t> by_end;
    size_t next = 0;
  };
  const auto make_frame = [&t](size_t u) {
    Frame f{u, DisplayEnd(t.nodes_[u]), t.nodes_[u].children};
    std::sort(f.by_end.begin(), f.by_end.end(), [&t](size_t a, size_t b) {
      const TraceNode& x = t.nodes_[a];
      const TraceNode& y = t.nodes_[b];
      if (DisplayEnd(x) != DisplayEnd(y)) return DisplayEnd(x) > DisplayEnd(y);
      if (x.display_start_ns != y.display_start_ns) return x.display_start_ns < y.display_start_ns;
      return t.spans_[x.span].span_id < t.spans_[y.span].span_id;
    });
    return f;
  };
  const auto mark = [&t](size_t u) {
    if (t.nodes_[u].span < 0) return;
    t.nodes_[u].on_critical_path = true;
    t.critical_path_.push_back(static_cast<size_t>(t.nodes_[u].span));
  };
  std::vector<Frame> frames;
  for (size_t root : t.roots_) {
    mark(root);
    frames.push_back(make_frame(root));
    while (!frames.empty()) {
      Frame& f = frames.back();
      while (f.next < f.by_end.size() && DisplayEnd(t.nodes_[f.by_end[f.next]]) > f.point) {
        ++f.next;
      }
      if (f.next == f.by_end.size()) {
        frames.pop_back();
        continue;
      }
      const size_t child = f.by_end[f.next++];
      f.point = t.nodes_[child].display_start_ns;
      mark(child);
      frames.push_back(make_frame(child));
    }
  }
  return t;
}

long TraceTree::FindSpan(const std::string& span_id) const {
  const auto it = by_id_.find(span_id);
  return it == by_id_.end() ? -1 : static_cast<long>(it->second);
}

}  // namespace mesh

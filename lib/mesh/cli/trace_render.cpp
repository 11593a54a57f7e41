#include "mesh/cli/trace_render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <string_view>
#include <utility>

#include "mesh/base/json_scan.h"
#include "mesh/base/time_format.h"
#include "mesh/base/terminal_text.h"

namespace mesh {
namespace {

constexpr std::string_view kReset = "\x1b[0m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kBoldRed = "\x1b[1;31m";
constexpr int kMinBarWidth = 10;
constexpr int kMinLabelWidth = 20;
// Deeper levels are drawn as a leading "…": a 10,000-deep chain would otherwise print tens of
// megabytes of indentation.
constexpr int kMaxIndentLevels = 16;

// Terminal columns, counting one per code point (escaped text is valid UTF-8).
int Columns(std::string_view text) {
  int n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

// Cuts text to `columns` columns at a code point boundary, marking the cut with "…".
void FitToColumns(std::string& text, int columns) {
  if (Columns(text) <= columns) return;
  int kept = 0;
  size_t cut = 0;
  while (cut < text.size() && kept < columns - 1) {
    ++cut;
    while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) ++cut;
    ++kept;
  }
  text.resize(cut);
  text += "…";
}

void Pad(std::string& out, int columns) {
  if (columns > 0) out.append(static_cast<size_t>(columns), ' ');
}

std::string SignedDuration(int64_t ns) {
  return ns >= 0 ? "+" + FormatDuration(ns) : FormatDuration(ns);
}

// The JSON string's text, or the raw JSON of any other value.
std::string MemberText(const JsonMember& m) {
  return m.kind == JsonKind::kString ? StringValue(m) : std::string(m.value);
}

std::string MemberKey(const JsonMember& m) {
  return m.key_escaped ? UnescapeJsonString(m.key) : std::string(m.key);
}

// Appends " key=value" for each member of a JSON object; text that is not an object is shown
// as it is, escaped.
void AppendInlineAttributes(std::string& out, std::string_view json) {
  std::vector<JsonMember> members;
  if (!ScanJsonObject(json, members).ok()) {
    out += ' ';
    AppendTerminalSafe(out, json);
    return;
  }
  for (const JsonMember& m : members) {
    out += ' ';
    AppendTerminalSafe(out, MemberKey(m));
    out += '=';
    AppendTerminalSafe(out, MemberText(m));
  }
}

// Per-node facts the layout needs before any line is written.
struct Layout {
  std::vector<bool> last_child;    // the node is the last of its parent's children
  std::vector<std::string> label;  // tree glyphs, service and operation, escaped
  std::vector<std::string> duration;
  int label_width = 0;
  int duration_width = 0;
  int bar_width = kMinBarWidth;
};

// The glyph columns of a node's ancestors: "│  " where an ancestor has later siblings.
void AppendAncestorColumns(std::string& out, const std::vector<bool>& last_at_depth, int from,
                           int to) {
  if (from > 1) out += "…";
  for (int d = from; d <= to; ++d) out += last_at_depth[d] ? "   " : "│  ";
}

class Renderer {
 public:
  Renderer(const TraceTree& tree, const std::vector<LogRecord>& logs,
           const TraceRenderOptions& options)
      : tree_(tree), logs_(logs), options_(options) {}

  std::string Render() {
    AppendHeader();
    PlaceLogs();
    if (tree_.preorder().empty()) {
      for (size_t i : unplaced_logs_) AppendLog(logs_[i], "  ");
      return out_;
    }
    ComputeLayout();
    std::vector<bool> last_at_depth;
    for (size_t n : tree_.preorder()) {
      const TraceNode& node = tree_.nodes()[n];
      last_at_depth.resize(static_cast<size_t>(node.depth) + 1);
      last_at_depth[node.depth] = layout_.last_child[n];
      AppendSpanLine(n);
      std::string indent = "   ";
      AppendAncestorColumns(indent, last_at_depth, FirstDrawnLevel(node.depth), node.depth);
      indent += node.children.empty() ? "   " : "│  ";
      AppendDetails(n, indent);
    }
    return out_;
  }

 private:
  static int FirstDrawnLevel(int depth) { return std::max(1, depth - kMaxIndentLevels + 1); }

  const Span* SpanOf(size_t n) const {
    const long s = tree_.nodes()[n].span;
    return s >= 0 ? &tree_.spans()[s] : nullptr;
  }

  void AppendHeader() {
    const std::vector<Span>& spans = tree_.spans();
    out_ += "trace ";
    AppendTerminalSafe(out_, spans.empty() ? std::string_view("(no spans)") : spans[0].trace_id);
    out_ += "  " + std::to_string(spans.size()) + (spans.size() == 1 ? " span" : " spans");
    std::set<std::string> services;
    for (const Span& s : spans) services.insert(s.service);
    if (!services.empty()) {
      out_ += "  services: ";
      for (auto it = services.begin(); it != services.end(); ++it) {
        if (it != services.begin()) out_ += ", ";
        AppendTerminalSafe(out_, *it);
      }
    }
    if (!spans.empty()) {
      out_ +=
          "  duration " + FormatDuration(TotalNs()) + "  start " + FormatRfc3339(tree_.start_ns());
    }
    out_ += '\n';
  }

  int64_t TotalNs() const {
    int64_t total = 0;
    return __builtin_sub_overflow(tree_.end_ns(), tree_.start_ns(), &total)
               ? std::numeric_limits<int64_t>::max()
               : total;
  }

  // Logs by node, oldest first; records naming no span of this tree go under the first root.
  void PlaceLogs() {
    std::vector<size_t> order(logs_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [this](size_t a, size_t b) { return logs_[a].ts_ns < logs_[b].ts_ns; });
    logs_by_node_.resize(tree_.nodes().size());
    for (size_t i : order) {
      long n = logs_[i].span_id.empty() ? -1 : tree_.FindSpan(logs_[i].span_id);
      if (n < 0 && !tree_.roots().empty()) n = static_cast<long>(tree_.roots()[0]);
      if (n < 0) {
        unplaced_logs_.push_back(i);
      } else {
        logs_by_node_[n].push_back(i);
      }
    }
  }

  void ComputeLayout() {
    const std::vector<TraceNode>& nodes = tree_.nodes();
    layout_.last_child.assign(nodes.size(), true);
    for (const TraceNode& node : nodes) {
      for (size_t i = 0; i + 1 < node.children.size(); ++i) {
        layout_.last_child[node.children[i]] = false;
      }
    }
    layout_.label.resize(nodes.size());
    layout_.duration.resize(nodes.size());
    std::vector<bool> last_at_depth;
    int widest = 0;
    for (size_t n : tree_.preorder()) {
      const TraceNode& node = nodes[n];
      last_at_depth.resize(static_cast<size_t>(node.depth) + 1);
      last_at_depth[node.depth] = layout_.last_child[n];
      std::string& label = layout_.label[n];
      if (node.depth > 0) {
        AppendAncestorColumns(label, last_at_depth, FirstDrawnLevel(node.depth), node.depth - 1);
        label += layout_.last_child[n] ? "└─ " : "├─ ";
      }
      if (const Span* span = SpanOf(n)) {
        AppendTerminalSafe(label, span->service);
        label += ' ';
        AppendTerminalSafe(label, span->name);
        layout_.duration[n] = FormatDuration(span->duration_ns);
      } else {
        label += "(missing parent ";
        AppendTerminalSafe(label, node.missing_parent_id);
        label += ')';
        layout_.duration[n] = FormatDuration(node.display_duration_ns);
      }
      widest = std::max(widest, Columns(label));
      layout_.duration_width = std::max(layout_.duration_width, Columns(layout_.duration[n]));
    }
    // Markers, spaces and the bar's two borders.
    const int fixed = 2 + 1 + 1 + layout_.duration_width + 1 + 2;
    const int room = options_.width - fixed - kMinBarWidth;
    layout_.label_width = widest <= room ? widest : std::max(room, kMinLabelWidth);
    layout_.label_width = std::min(layout_.label_width, widest);
    layout_.bar_width = std::max(kMinBarWidth, options_.width - fixed - layout_.label_width);
  }

  // Cells [begin, end) of the bar covering the node's display interval; at least one cell.
  std::pair<int, int> BarCells(const TraceNode& node) const {
    const int width = layout_.bar_width;
    const double total = static_cast<double>(TotalNs());
    if (!(total > 0)) return {0, 1};
    const double origin = static_cast<double>(tree_.start_ns());
    const double start = static_cast<double>(node.display_start_ns) - origin;
    const double end = start + static_cast<double>(node.display_duration_ns);
    const double scale = width / total;
    const int begin = std::clamp(static_cast<int>(std::floor(start * scale)), 0, width - 1);
    const int finish = std::clamp(static_cast<int>(std::ceil(end * scale)), begin + 1, width);
    return {begin, finish};
  }

  void AppendSpanLine(size_t n) {
    const TraceNode& node = tree_.nodes()[n];
    const Span* span = SpanOf(n);
    const bool error = span != nullptr && span->status == SpanStatus::kError;
    const bool critical = node.on_critical_path;
    const std::string_view color = !options_.color     ? ""
                                   : error && critical ? kBoldRed
                                   : error             ? kRed
                                   : critical          ? kBold
                                                       : "";
    out_ += color;
    out_ += critical ? '*' : ' ';
    out_ += error ? "✗" : " ";
    out_ += ' ';
    std::string label = layout_.label[n];
    FitToColumns(label, layout_.label_width);
    out_ += label;
    Pad(out_, layout_.label_width - Columns(label) + 1);
    Pad(out_, layout_.duration_width - Columns(layout_.duration[n]));
    out_ += layout_.duration[n];
    out_ += " |";
    const auto [begin, end] = BarCells(node);
    const std::string_view cell = span != nullptr ? "█" : "░";
    Pad(out_, begin);
    for (int i = begin; i < end; ++i) out_ += cell;
    Pad(out_, layout_.bar_width - end);
    out_ += '|';
    if (error) {
      out_ += " error";
      if (!span->status_message.empty()) {
        out_ += ": ";
        AppendTerminalSafe(out_, span->status_message);
      }
    }
    if (node.skew_adjusted) out_ += " (clock skew: shifted into its parent)";
    if (node.cycle_broken) out_ += " (parent link cycle broken here)";
    if (!color.empty()) out_ += kReset;
    out_ += '\n';
  }

  void AppendDetails(size_t n, const std::string& indent) {
    const Span* span = SpanOf(n);
    if (options_.verbose && span != nullptr) {
      AppendScope(*span, indent);
      AppendAttributes(*span, indent);
      AppendEvents(*span, indent);
      AppendLinks(*span, indent);
    }
    for (size_t i : logs_by_node_[n]) AppendLog(logs_[i], indent);
  }

  // "scope <name> [<version>] [key=value...]": the instrumentation scope that recorded the span.
  void AppendScope(const Span& span, const std::string& indent) {
    if (span.scope.empty() && span.scope_version.empty() && span.scope_attributes.empty()) return;
    out_ += indent + "scope ";
    AppendTerminalSafe(out_, span.scope);
    if (!span.scope_version.empty()) {
      out_ += ' ';
      AppendTerminalSafe(out_, span.scope_version);
    }
    if (!span.scope_attributes.empty()) AppendInlineAttributes(out_, span.scope_attributes);
    out_ += '\n';
  }

  void AppendAttributes(const Span& span, const std::string& indent) {
    if (span.attributes.empty()) return;
    std::vector<JsonMember> members;
    if (!ScanJsonObject(span.attributes, members).ok()) {
      out_ += indent + "attributes: ";
      AppendTerminalSafe(out_, span.attributes);
      out_ += '\n';
      return;
    }
    for (const JsonMember& m : members) {
      out_ += indent;
      AppendTerminalSafe(out_, MemberKey(m));
      out_ += '=';
      AppendTerminalSafe(out_, MemberText(m));
      out_ += '\n';
    }
  }

  void AppendEvents(const Span& span, const std::string& indent) {
    if (span.events.empty()) return;
    std::vector<std::string_view> elements;
    if (!ScanJsonArray(span.events, elements).ok()) {
      out_ += indent + "events: ";
      AppendTerminalSafe(out_, span.events);
      out_ += '\n';
      return;
    }
    std::vector<JsonMember> members;
    for (std::string_view element : elements) {
      out_ += indent + "event ";
      if (!ScanJsonObject(element, members).ok()) {
        AppendTerminalSafe(out_, element);
        out_ += '\n';
        continue;
      }
      std::string name;
      std::string attributes;
      int64_t time_ns = span.start_ns;
      for (const JsonMember& m : members) {
        if (m.key == "time_ns" && m.kind == JsonKind::kNumber) {
          std::from_chars(m.value.data(), m.value.data() + m.value.size(), time_ns);
        } else if (m.key == "name") {
          name = MemberText(m);
        } else if (m.key == "attributes" && m.kind == JsonKind::kObject) {
          AppendInlineAttributes(attributes, m.value);
        }
      }
      int64_t offset = 0;
      if (__builtin_sub_overflow(time_ns, span.start_ns, &offset)) offset = 0;
      out_ += SignedDuration(offset) + ' ';
      AppendTerminalSafe(out_, name);
      out_ += attributes;
      out_ += '\n';
    }
  }

  // "link <trace id>/<span id> [trace_state] {attributes}", one line per link.
  void AppendLinks(const Span& span, const std::string& indent) {
    if (span.links.empty()) return;
    std::vector<std::string_view> elements;
    if (!ScanJsonArray(span.links, elements).ok()) {
      out_ += indent + "links: ";
      AppendTerminalSafe(out_, span.links);
      out_ += '\n';
      return;
    }
    std::vector<JsonMember> members;
    for (std::string_view element : elements) {
      out_ += indent + "link ";
      if (!ScanJsonObject(element, members).ok()) {
        AppendTerminalSafe(out_, element);
        out_ += '\n';
        continue;
      }
      std::string trace_id, span_id, trace_state, attributes;
      for (const JsonMember& m : members) {
        if (m.key == "trace_id") trace_id = MemberText(m);
        else if (m.key == "span_id") span_id = MemberText(m);
        else if (m.key == "trace_state") trace_state = MemberText(m);
        else if (m.key == "attributes" && m.kind == JsonKind::kObject) AppendInlineAttributes(attributes, m.value);
      }
      AppendTerminalSafe(out_, trace_id + "/" + span_id);
      if (!trace_state.empty()) {
        out_ += " tracestate=";
        AppendTerminalSafe(out_, trace_state);
      }
      out_ += attributes;
      out_ += '\n';
    }
  }

  void AppendLog(const LogRecord& log, std::string_view indent) {
    int64_t offset = 0;
    if (__builtin_sub_overflow(log.ts_ns, tree_.start_ns(), &offset)) offset = 0;
    out_ += indent;
    out_ += "log " + SignedDuration(offset) + ' ';
    std::string level(LevelName(log.level));
    level.resize(5, ' ');
    out_ += level + ' ';
    if (!log.service.empty()) {
      AppendTerminalSafe(out_, log.service);
      out_ += ": ";
    }
    AppendTerminalSafe(out_, log.message);
    out_ += '\n';
  }

  const TraceTree& tree_;
  const std::vector<LogRecord>& logs_;
  const TraceRenderOptions& options_;
  Layout layout_;
  std::vector<std::vector<size_t>> logs_by_node_;
  std::vector<size_t> unplaced_logs_;
  std::string out_;
};

}  // namespace

std::string RenderTrace(const TraceTree& tree, const std::vector<LogRecord>& logs,
                        const TraceRenderOptions& options) {
  return Renderer(tree, logs, options).Render();
}

}  // namespace mesh

#include "mesh/telemetry/service_view.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"

namespace mesh {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

void AppendMs(std::string& out, const char* key, std::optional<double> seconds) {
  out += ",\"";
  out += key;
  out += "\":";
  if (seconds) AppendJsonDouble(out, *seconds * 1e3);
  else out += "null";
}

double WindowSeconds(int64_t since_ns, int64_t until_ns) {
  return static_cast<double>(until_ns - since_ns) / 1e9;
}

// An edge as seen from one end: `other` is the service at the far end (empty on the map, which
// names both ends).
void AppendEdge(std::string& out, const ServiceEdge& e, double seconds, const std::string* other) {
  if (other) {
    out += "{\"service\":";
    AppendJsonString(out, *other);
  } else {
    out += "{\"caller\":";
    AppendJsonString(out, e.caller);
    out += ",\"callee\":";
    AppendJsonString(out, e.callee);
  }
  out += ",\"calls\":" + std::to_string(e.calls) + ",\"errors\":" + std::to_string(e.errors);
  out += ",\"rps\":";
  AppendJsonDouble(out, seconds > 0 ? static_cast<double>(e.calls) / seconds : 0);
  out += ",\"error_percent\":";
  AppendJsonDouble(out, e.calls > 0 ? 100.0 * static_cast<double>(e.errors) / static_cast<double>(e.calls) : 0);
  AppendMs(out, "p99_ms", static_cast<double>(e.p99_ns) / 1e9);
  out += '}';
}

void AppendWindow(std::string& out, int64_t since_ns, int64_t until_ns) {
  out += "\"since\":\"" + FormatRfc3339(since_ns) + "\",\"until\":\"" + FormatRfc3339(until_ns) +
         "\",\"window_seconds\":" + std::to_string((until_ns - since_ns) / kNsPerSecond);
}

}  // namespace

Result<int64_t> ParseServiceViewWindow(const std::string& text) {
  for (const char* accepted : {"15m", "1h", "6h", "24h", "7d"}) {
    if (text == accepted) return ParseDuration(text);
  }
  return Status::InvalidArgument("parameter window: expected one of 15m, 1h, 6h, 24h, 7d");
}

void SortEdgesByCalls(std::vector<ServiceEdge>& edges) {
  std::sort(edges.begin(), edges.end(), [](const ServiceEdge& a, const ServiceEdge& b) {
    if (a.calls != b.calls) return a.calls > b.calls;
    return std::tie(a.caller, a.callee) < std::tie(b.caller, b.callee);
  });
}

std::string EncodeServiceViewJsonOpen(const ServiceView& v) {
  std::string out = "{\"service\":";
  AppendJsonString(out, v.service);
  out += ',';
  AppendWindow(out, v.since_ns, v.until_ns);
  const int64_t step_ns = v.timeline.size() > 1 ? v.timeline[1].start_ns - v.timeline[0].start_ns : 0;
  out += ",\"step_seconds\":";
  AppendJsonDouble(out, static_cast<double>(step_ns) / 1e9);
  out += ",\"timeline\":[";
  static constexpr const char* kClasses[] = {"2xx", "3xx", "4xx", "5xx"};
  for (size_t i = 0; i < v.timeline.size(); ++i) {
    const RequestStep& s = v.timeline[i];
    if (i) out += ',';
    out += "{\"t\":\"" + FormatRfc3339(s.start_ns) + "\"";
    for (size_t c = 0; c < 4; ++c) {
      out += ",\"";
      out += kClasses[c];
      out += "\":";
      AppendJsonDouble(out, s.by_class[c]);
    }
    AppendMs(out, "p50_ms", s.p50_seconds);
    AppendMs(out, "p95_ms", s.p95_seconds);
    AppendMs(out, "p99_ms", s.p99_seconds);
    out += '}';
  }
  out += "],\"latency\":[";
  for (size_t i = 0; i < v.latency.size(); ++i) {
    if (i) out += ',';
    out += "{\"le\":";
    if (std::isinf(v.latency[i].le)) out += "\"+Inf\"";
    else AppendJsonDouble(out, v.latency[i].le);
    out += ",\"count\":";
    AppendJsonDouble(out, v.latency[i].count);
    out += '}';
  }
  out += "],\"slowest\":[";
  for (size_t i = 0; i < v.slowest.size(); ++i) {
    const OperationStats& o = v.slowest[i];
    if (i) out += ',';
    out += "{\"operation\":";
    AppendJsonString(out, o.operation);
    out += ",\"count\":" + std::to_string(o.count) + ",\"errors\":" + std::to_string(o.errors);
    AppendMs(out, "p50_ms", static_cast<double>(o.p50_ns) / 1e9);
    AppendMs(out, "p99_ms", static_cast<double>(o.p99_ns) / 1e9);
    out += '}';
  }
  out += "],\"errors\":[";
  for (size_t i = 0; i < v.errors.size(); ++i) {
    if (i) out += ',';
    out += "{\"kind\":";
    AppendJsonString(out, v.errors[i].kind);
    out += ",\"value\":";
    AppendJsonString(out, v.errors[i].value);
    out += ",\"count\":" + std::to_string(v.errors[i].count) + '}';
  }
  const double seconds = WindowSeconds(v.since_ns, v.until_ns);
  out += "],\"callers\":[";
  for (size_t i = 0; i < v.callers.size(); ++i) {
    if (i) out += ',';
    AppendEdge(out, v.callers[i], seconds, &v.callers[i].caller);
  }
  out += "],\"callees\":[";
  for (size_t i = 0; i < v.callees.size(); ++i) {
    if (i) out += ',';
    AppendEdge(out, v.callees[i], seconds, &v.callees[i].callee);
  }
  out += ']';
  return out;
}

std::string EncodeServiceMapJson(const ServiceMap& m) {
  std::string out = "{";
  AppendWindow(out, m.since_ns, m.until_ns);
  out += ",\"services\":[";
  for (size_t i = 0; i < m.services.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, m.services[i]);
  }
  out += "],\"edges\":[";
  const double seconds = WindowSeconds(m.since_ns, m.until_ns);
  for (size_t i = 0; i < m.edges.size(); ++i) {
    if (i) out += ',';
    AppendEdge(out, m.edges[i], seconds, nullptr);
  }
  out += "]}";
  return out;
}

}  // namespace mesh

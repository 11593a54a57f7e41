// ControlPlane: the trace routes: one trace, the trace list (telemetry/trace_api.h), trace
// statistics and the span scan.
#include "mesh/controlplane/control_plane.h"

#include <charconv>
#include <string>

#include "mesh/base/json_text.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/store/span_store.h"
#include "mesh/telemetry/span_stats.h"
#include "mesh/telemetry/trace_api.h"
#include "mesh/telemetry/trace_statistics.h"
#include "mesh/telemetry/trace_tree.h"

namespace mesh {

using namespace control_plane_internal;

HttpResponse ControlPlane::GetTrace(const HttpRequest& r) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<Span>> spans = SpanStore(**lease).GetTrace(r.PathParam("id"));
  if (!spans.ok()) return StoreError(spans.status());
  // The critical path and the statistics come from the TraceTree `meshtrace show` draws, so
  // the dashboard marks the same spans the terminal does.
  const TraceTree tree = TraceTree::Build(std::move(spans).value());
  std::string out = "{\"trace_id\":";
  AppendJsonString(out, tree.spans().front().trace_id);
  out += ",\"spans\":[";
  for (size_t i = 0; i < tree.spans().size(); ++i) {
    if (i) out += ',';
    AppendJson(out, tree.spans()[i]);
  }
  out += "],\"critical_path\":[";
  for (size_t i = 0; i < tree.critical_path().size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, tree.spans()[tree.critical_path()[i]].span_id);
  }
  out += "],\"statistics\":";
  AppendJson(out, ComputeTraceStatistics(tree));
  out += '}';
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::ListTraces(const HttpRequest& r) {
  const int64_t now = clock_.NowNs();
  Result<TraceFilter> filter = TraceFilterFromQuery(r.query, now);
  if (!filter.ok()) return HttpResponse::Error(400, filter.status().message());
  TraceFilter& f = *filter;
  // Like Jaeger's default lookback: without since, the last hour (an index range on start
  // time rather than a pass over every span stored). A trace id prefix is already an index
  // range, and the trace it names may be older.
  if (!f.since_ns && f.trace_id_prefix.empty()) f.since_ns = now - 3600 * kNsPerSecond;
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  // Each trace listed is read whole: keep a page to what a person looks at.
  *limit = std::min<size_t>(*limit, 1000);
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<TraceSummary>> traces = SpanStore(**lease).ListTraces(f, *limit);
  if (!traces.ok()) return StoreError(traces.status());
  return HttpResponse::Json(200, EncodeTraceList(*traces));
}

HttpResponse ControlPlane::TraceStats(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  SpanStats stats;
  if (Status s = SpanStore(**lease).CollectStats(window->first, window->second, stats); !s.ok()) {
    return StoreError(s);
  }
  return HttpResponse::Json(200, EncodeSpanStatsJson(stats.Operations(), stats.Edges()));
}

HttpResponse ControlPlane::ScanSpans(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  int64_t after = 0;
  if (const std::string& v = r.Query("after"); !v.empty()) {
    const auto res = std::from_chars(v.data(), v.data() + v.size(), after);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size() || after < 0) {
      return HttpResponse::Error(400, "parameter after='" + v + "' is not a cursor");
    }
  }
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<SpanStore::Page> page = SpanStore(**lease).ScanSpans(window->first, window->second, after, *limit);
  if (!page.ok()) return StoreError(page.status());
  std::string out = "{\"spans\":[";
  for (size_t i = 0; i < page->spans.size(); ++i) {
    if (i) out += ',';
    AppendJson(out, page->spans[i]);
  }
  out += "],\"next\":" + std::to_string(page->next) + "}";
  return HttpResponse::Json(200, std::move(out));
}

}  // namespace mesh

// ControlPlane: the logs API (GET /v1/logs, /v1/logs/stats), whose wire form is
// telemetry/log_api.h.
#include "mesh/controlplane/control_plane.h"

#include <charconv>
#include <string>

#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/store/log_store.h"
#include "mesh/telemetry/log_api.h"

namespace mesh {

using namespace control_plane_internal;

HttpResponse ControlPlane::QueryLogs(const HttpRequest& r) {
  Result<LogFilter> filter = LogFilterFromQuery(r.query, clock_.NowNs());
  if (!filter.ok()) return HttpResponse::Error(400, filter.status().message());
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  LogStore logs(**lease);
  Result<int64_t> latest = logs.LatestCursor();
  if (!latest.ok()) return StoreError(latest.status());

  const std::string& text = r.Query("q");
  if (!text.empty() && r.Query("count") == "true") {
    Result<int64_t> n = logs.CountMatches(text, *filter);
    if (!n.ok()) return StoreError(n.status());
    return HttpResponse::Json(200, "{\"count\":" + std::to_string(*n) + "}");
  }
  Result<std::vector<LogRecord>> records = Status::Ok();
  if (!text.empty()) {
    records = logs.Search(text, *filter, *limit, r.Query("order") == "asc");
  } else if (!r.Query("after").empty()) {
    int64_t after = 0;
    const std::string& v = r.Query("after");
    const auto res = std::from_chars(v.data(), v.data() + v.size(), after);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size()) {
      return HttpResponse::Error(400, "parameter after='" + v + "' is not a cursor");
    }
    records = logs.After(after, *filter, *limit);
  } else {
    records = logs.Tail(*filter, *limit);
  }
  if (!records.ok()) return StoreError(records.status());
  return HttpResponse::Json(200, EncodeLogPage(*records, *latest));
}

HttpResponse ControlPlane::LogStats(const HttpRequest& r) {
  Result<LogFilter> filter = LogFilterFromQuery(r.query, clock_.NowNs());
  if (!filter.ok()) return HttpResponse::Error(400, filter.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<LevelCount>> counts = LogStore(**lease).Stats(*filter);
  if (!counts.ok()) return StoreError(counts.status());
  return HttpResponse::Json(200, EncodeLevelCounts(*counts));
}

}  // namespace mesh

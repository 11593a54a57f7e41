// ControlPlane: what the dashboard's service page and service map read (telemetry/
// service_view.h): GET /v1/services/{name}/dashboard and GET /v1/service-map, over one of the
// windows the page offers (?window=15m|1h|6h|24h|7d, default 1h).
#include <algorithm>
#include <string>

#include "mesh/base/json_text.h"
#include "mesh/controlplane/control_plane.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/security/spiffe_id.h"
#include "mesh/store/log_store.h"
#include "mesh/store/registry.h"
#include "mesh/store/service_view_queries.h"

namespace mesh {

using namespace control_plane_internal;

namespace {

constexpr size_t kErrorLogs = 20;

}  // namespace

Result<std::pair<int64_t, int64_t>> ControlPlane::ServiceViewWindow(const HttpRequest& r) const {
  const std::string& text = r.Query("window");
  Result<int64_t> window = ParseServiceViewWindow(text.empty() ? "1h" : text);
  if (!window.ok()) return window.status();
  const int64_t now = clock_.NowNs();
  return std::make_pair(now - *window, now);
}

HttpResponse ControlPlane::ServiceDashboard(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = ServiceViewWindow(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  const auto [since, until] = *window;
  const std::string& name = r.PathParam("name");
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<ServiceView> view = QueryServiceView(**lease, name, since, until);
  if (!view.ok()) return StoreError(view.status());
  Result<std::vector<Instance>> instances = Registry(**lease).Instances(name);
  if (!instances.ok()) return StoreError(instances.status());
  LogFilter errors;
  errors.services = {name};
  errors.min_level = LogLevel::kError;
  errors.since_ns = since;
  errors.until_ns = until;
  Result<std::vector<LogRecord>> logs = LogStore(**lease).Tail(errors, kErrorLogs);
  if (!logs.ok()) return StoreError(logs.status());

  std::string out = EncodeServiceViewJsonOpen(*view);
  // The identity meshd's CA puts in the service's certificates (what mTLS peers verify); a
  // name the registry would refuse has none.
  out += ",\"identity\":";
  if (IsValidServiceName(name)) AppendJsonString(out, FormatSpiffeId({options_.trust_domain, name}));
  else out += "null";
  out += ",\"instances\":[";
  const InstanceLiveness::Judged judged = liveness_.Judge(*instances);
  for (size_t i = 0; i < instances->size(); ++i) {
    if (i) out += ',';
    AppendInstanceJson(out, (*instances)[i], judged.Healthy(i));
  }
  out += "],\"error_logs\":[";
  std::reverse(logs->begin(), logs->end());  // newest first
  for (size_t i = 0; i < logs->size(); ++i) {
    if (i) out += ',';
    AppendJson(out, (*logs)[i]);
  }
  out += "]}";
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::ServiceMapView(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = ServiceViewWindow(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<ServiceMap> map = QueryServiceMap(**lease, window->first, window->second);
  if (!map.ok()) return StoreError(map.status());
  return HttpResponse::Json(200, EncodeServiceMapJson(*map));
}

}  // namespace mesh

// ControlPlane: saturation per instance of a service (GET /v1/services/{name}/saturation), the
// dashboard service page's CPU, memory, descriptors, connections and queue depth.
#include <string>

#include "mesh/base/time_format.h"
#include "mesh/controlplane/control_plane.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/store/metric_store.h"
#include "mesh/telemetry/saturation.h"

namespace mesh {

using namespace control_plane_internal;

HttpResponse ControlPlane::Saturation(const HttpRequest& r) {
  // Any name, as on the service page: spans may name a service the registry would refuse, and
  // such a name simply has no pushed process metrics.
  const std::string name = r.PathParam("name");
  int64_t window = 3600 * kNsPerSecond;
  if (!r.Query("window").empty()) {
    Result<int64_t> w = ParseDuration(r.Query("window"));
    // The dashboard's widest choice is 7d; a week of 5 s pushes is ~120,000 samples per series.
    if (!w.ok() || *w < 60 * kNsPerSecond || *w > 7 * 86400 * kNsPerSecond) {
      return HttpResponse::Error(400, "parameter window: expected a duration from 1m to 7d, like 1h");
    }
    window = *w;
  }
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<InstanceSaturation>> instances = MetricStore(**lease).Saturation(name, window, clock_.NowNs());
  if (!instances.ok()) return StoreError(instances.status());
  return HttpResponse::Json(200, SaturationJson(name, window, *instances));
}

}  // namespace mesh

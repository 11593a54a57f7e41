// ControlPlane: meshd's own /metrics exposition, the golden signals per service and the
// report.
#include "mesh/controlplane/control_plane.h"

#include <charconv>
#include <string>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/registry.h"
#include "mesh/store/report_queries.h"
#include "mesh/store/store_info.h"
#include "mesh/telemetry/golden_signals.h"
#include "mesh/telemetry/prometheus_text.h"
#include "mesh/telemetry/report.h"
#include "mesh/telemetry/service_instance.h"
#include "mesh/telemetry/worker_pool_metrics.h"

namespace mesh {

using namespace control_plane_internal;

HttpResponse ControlPlane::Exposition(const HttpRequest& r) {
  std::vector<MetricFamily> families = registry_.Collect();
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  const int64_t now = clock_.NowNs();

  MetricFamily up{"mesh_instance_up", "1 when the instance heartbeats within its TTL", MetricType::kGauge, {}};
  if (Result<std::vector<Instance>> instances = Registry(**lease).Instances(""); instances.ok()) {
    const InstanceLiveness::Judged judged = liveness_.Judge(std::move(*instances));
    for (size_t k = 0; k < judged.instances.size(); ++k) {
      const Instance& i = judged.instances[k];
      up.samples.push_back({"mesh_instance_up",
                            {{"instance", i.host + ":" + std::to_string(i.port)}, {"service", i.service}},
                            judged.Healthy(k) ? 1.0 : 0.0, {}});
    }
  }
  families.push_back(std::move(up));

  MetricFamily bytes{"mesh_store_bytes", "Size of the SQLite store file", MetricType::kGauge, {}};
  if (Result<int64_t> size = StoreSizeBytes(**lease); size.ok()) {
    bytes.samples.push_back({"mesh_store_bytes", {}, static_cast<double>(*size), {}});
  }
  families.push_back(std::move(bytes));

  // What proxies and services pushed, as a Pushgateway would show it: the latest value of each
  // series seen in the last five minutes. Names meshd uses itself are not repeated, except the
  // process and saturation metrics: the pushed ones carry their service and instance, meshd's own
  // none (or listener, pool), so they join meshd's family.
  const size_t own_count = families.size();
  const auto own = [&](const std::string& name) -> MetricFamily* {
    for (size_t k = 0; k < own_count; ++k) {
      if (families[k].name == name) return &families[k];
    }
    return nullptr;
  };
  if (Result<std::vector<MetricFamily>> pushed =
          MetricStore(**lease).Latest(now - 5LL * 60 * kNsPerSecond);
      pushed.ok()) {
    for (MetricFamily& f : *pushed) {
      MetricFamily* mine = own(f.name);
      if (mine == nullptr) {
        families.push_back(std::move(f));
      } else if ((f.name.starts_with("process_") || f.name == kClientConnectionsMetric || f.name == kWorkersMetric ||
                  f.name == kWorkerBusyMetric) &&
                 f.type == mine->type) {
        for (MetricSample& sample : f.samples) {
          if (!sample.labels.empty()) mine->samples.push_back(std::move(sample));
        }
      }
    }
  }
  // Prometheus asks for OpenMetrics first; promtool and curl get the 0.0.4 text.
  auto exposed = ExposeMetrics(families, r.Header("accept"));
  HttpResponse response;
  response.content_type = std::string(exposed.content_type);
  response.body = std::move(exposed.body);
  return response;
}

void ControlPlane::AppendSignalsJson(std::string& out, Store& store, const std::string& service,
                                     int64_t window_ns) {
  Result<GoldenSignals> g = MetricStore(store).Signals(service, window_ns, clock_.NowNs());
  if (!g.ok()) {
    out += "null";
    return;
  }
  out += "{\"requests\":" + std::to_string(g->requests) +
         ",\"rps\":" + FormatMetricValue(g->requests_per_second) +
         ",\"error_percent\":" + FormatMetricValue(g->error_percent) +
         ",\"p50_ms\":" + OptionalNumber(g->p50_seconds ? std::optional<double>(*g->p50_seconds * 1e3) : std::nullopt) +
         ",\"p95_ms\":" + OptionalNumber(g->p95_seconds ? std::optional<double>(*g->p95_seconds * 1e3) : std::nullopt) +
         ",\"p99_ms\":" + OptionalNumber(g->p99_seconds ? std::optional<double>(*g->p99_seconds * 1e3) : std::nullopt) + "}";
}

HttpResponse ControlPlane::Signals(const HttpRequest& r) {
  int64_t window = 60 * kNsPerSecond;
  if (!r.Query("window").empty()) {
    Result<int64_t> w = ParseDuration(r.Query("window"));
    // Bounded so that window x history stays a sane amount of work (and of int64 nanoseconds).
    if (!w.ok() || *w <= 0 || *w > 86400 * kNsPerSecond) {
      return HttpResponse::Error(400, "parameter window: expected a duration from 1s to 24h, like 1m");
    }
    window = *w;
  }
  int64_t history = 0;
  if (!r.Query("history").empty()) {
    const std::string& v = r.Query("history");
    const auto res = std::from_chars(v.data(), v.data() + v.size(), history);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size() || history < 0 || history > 240) {
      return HttpResponse::Error(400, "parameter history: expected 0..240 points");
    }
  }
  const int64_t now = clock_.NowNs();
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  std::vector<std::string> services;
  if (!r.Query("service").empty()) {
    services.push_back(r.Query("service"));
  } else {
    Result<std::vector<std::string>> with_metrics = ServicesWithMetrics(**lease);
    if (!with_metrics.ok()) return StoreError(with_metrics.status());
    services = std::move(with_metrics).value();
  }
  std::string out = "{\"window_seconds\":" + FormatMetricValue(static_cast<double>(window) / 1e9) +
                    ",\"services\":[";
  for (size_t i = 0; i < services.size(); ++i) {
    if (i) out += ',';
    out += "{\"service\":";
    AppendJsonString(out, services[i]);
    out += ",\"signals\":";
    AppendSignalsJson(out, **lease, services[i], window);
    if (history > 0) {
      // One point per window, oldest first, for sparklines.
      out += ",\"history\":[";
      MetricStore metrics(**lease);
      for (int64_t k = history - 1; k >= 0; --k) {
        const int64_t end = now - k * window;
        Result<GoldenSignals> g = metrics.Signals(services[i], window, end);
        if (k != history - 1) out += ',';
        if (!g.ok()) {
          out += "null";
          continue;
        }
        out += "{\"t\":\"" + FormatRfc3339(end) + "\",\"rps\":" + FormatMetricValue(g->requests_per_second) +
               ",\"error_percent\":" + FormatMetricValue(g->error_percent) + ",\"p99_ms\":" +
               OptionalNumber(g->p99_seconds ? std::optional<double>(*g->p99_seconds * 1e3) : std::nullopt) + "}";
      }
      out += ']';
    }
    out += '}';
  }
  out += "]}";
  return HttpResponse::Json(200, std::move(out));
}

// meshstat --server: the report BuildReport computes on the file, over [since, until) (default:
// the last hour up to now), as JSON that meshstat renders in any of its formats.
HttpResponse ControlPlane::GetReport(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  ReportQuery query{window->first, window->second, r.Query("service")};
  if (query.until_ns == INT64_MAX) query.until_ns = clock_.NowNs();
  if (query.until_ns <= query.since_ns) return HttpResponse::Error(400, "parameter until must be after since");
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<Report> report = BuildReport(**lease, query);
  if (!report.ok()) return StoreError(report.status());
  return HttpResponse::Json(200, EncodeReportJson(*report));
}

}  // namespace mesh

#include "mesh/controlplane/control_plane.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "mesh/base/time_format.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/controlplane/dashboard.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/store/join_token_store.h"
#include "mesh/store/log_store.h"
#include "mesh/store/otlp_outbox.h"
#include "mesh/store/registry.h"
#include "mesh/store/span_rollup.h"
#include "mesh/store/store_upkeep.h"
#include "mesh/telemetry/process_metrics.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 10000;

}  // namespace

namespace control_plane_internal {

HttpResponse StoreError(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return HttpResponse::Error(400, s.message());
    case Status::Code::kNotFound: return HttpResponse::Error(404, s.message());
    default: break;
  }
  // SQLite's own words for SQLITE_FULL; a path that contains "full" must not match.
  const bool full = s.message().find("database or disk is full") != std::string::npos;
  return HttpResponse::Error(full ? 507 : 503, s.message());
}

Result<size_t> LimitParam(const HttpRequest& r) {
  const std::string& v = r.Query("limit");
  if (v.empty()) return kDefaultLimit;
  size_t n = 0;
  const auto res = std::from_chars(v.data(), v.data() + v.size(), n);
  if (res.ec != std::errc() || res.ptr != v.data() + v.size() || n == 0) {
    return Status::InvalidArgument("parameter limit='" + v + "' is not a positive integer");
  }
  return std::min(n, kMaxLimit);
}

bool IsProtobuf(const HttpRequest& r) {
  return r.Header("content-type").find("protobuf") != std::string::npos;
}

bool IsValidServiceName(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string OptionalNumber(const std::optional<double>& v) {
  return v ? FormatMetricValue(*v) : "null";
}

}  // namespace control_plane_internal

using namespace control_plane_internal;

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(const Options& options, const Clock& clock) {
  Result<std::unique_ptr<Store>> store =
      Store::Open({.path = options.db_path, .warn = options.warn});
  if (!store.ok()) return store.status();
  auto writer = std::make_unique<StoreWriter>(std::move(store).value());
  std::unique_ptr<ControlPlane> plane(new ControlPlane(options, clock, std::move(writer)));
  ControlPlane* raw = plane.get();
  // The registry versions start from what the store holds, before the sweep may remove any.
  {
    Result<ReadLease> lease = plane->AcquireReader();
    if (!lease.ok()) return lease.status();
    Result<std::vector<Instance>> instances = Registry(**lease).Instances("");
    if (!instances.ok()) return instances.status();
    plane->versions_.Seed(plane->liveness_.Judge(std::move(*instances)));
  }
  plane->writer_->SetIdleTask([raw](WriteContext& c) { raw->Upkeep(c); },
                              std::chrono::milliseconds(1000));
  plane->watch_thread_ = std::thread([raw] { raw->RunTicks(); });
  if (options.remote_write.url.empty() && options.export_otlp.url.empty()) return plane;
  Result<ExportMetricFamilies> families = ExportMetricFamilies::Register(plane->registry_);
  if (!families.ok()) return families.status();
  if (!options.remote_write.url.empty()) {
    plane->remote_write_ = std::make_unique<RemoteWriteExporter>(options.remote_write, *plane->writer_,
                                                                 std::make_unique<CurlHttpClient>(), clock,
                                                                 families->For("remote_write", "metrics"));
    plane->remote_write_->Start();
  }
  if (!options.export_otlp.url.empty()) {
    std::array<ExportMetrics, 3> metrics;
    for (OtlpSignal signal : kOtlpSignals) {
      metrics[static_cast<size_t>(signal)] = families->For("otlp", std::string(OtlpSignalName(signal)));
    }
    plane->otlp_sampled_out_ = metrics[static_cast<size_t>(OtlpSignal::kTraces)].dropped_sampled_out;
    plane->otlp_export_ = std::make_unique<OtlpExporter>(options.export_otlp, *plane->writer_,
                                                         std::make_unique<CurlHttpClient>(), clock, metrics);
    plane->otlp_export_->Start();
  }
  return plane;
}

ControlPlane::ControlPlane(Options options, const Clock& clock, std::unique_ptr<StoreWriter> writer)
    : options_(std::move(options)),
      clock_(clock),
      liveness_(clock),
      versions_(clock, clock.NowNs()),
      watches_(clock, options_.max_watchers, kNsPerSecond / 2),
      writer_(std::move(writer)) {
  RegisterOwnMetrics();
  auto find_token = [this](const std::string& id) -> Result<std::optional<JoinTokenRecord>> {
    Result<ReadLease> lease = AcquireReader();
    if (!lease.ok()) return lease.status();
    return JoinTokenStore(**lease).Find(id);
  };
  auto record_use = [this](const std::string& id, bool spend) {
    const int64_t now = clock_.NowNs();
    return writer_->Submit([&](WriteContext& c) { return JoinTokenStore(c.store).RecordUse(id, now, spend); });
  };
  access_ = std::make_unique<AccessControl>(
      CredentialResolver::Options{.write_token = options_.token,
                                  .read_token = options_.read_token,
                                  .trust_domain = options_.trust_domain}, find_token,
      record_use, clock_, own_.auth_refusals);
}

void ControlPlane::RegisterOwnMetrics() {
  // Names are fixed and valid, and label sets bounded (three signals): these cannot fail.
  own_.spans = *(*registry_.AddCounter("mesh_spans_ingested_total", "Spans stored by meshd"))->WithLabels({});
  own_.logs = *(*registry_.AddCounter("mesh_logs_ingested_total", "Log records stored by meshd"))->WithLabels({});
  own_.samples =
      *(*registry_.AddCounter("mesh_samples_ingested_total", "Metric samples stored by meshd"))->WithLabels({});
  own_.rejected = *registry_.AddCounter("mesh_ingest_rejected_total",
                                        "Spans, log records or samples meshd refused", {"signal"});
  own_.series_refused = *registry_.AddCounter(
      "mesh_series_refused_total", "Series of metric pushes refused whole for a cardinality bound",
      {"reason"});
  own_.ingest_seconds = *registry_.AddHistogram(
      "mesh_ingest_duration_seconds", "Time to decode and commit one ingest request", {"signal"});
  own_.auth_refusals = *registry_.AddCounter(
      "mesh_auth_refusals_total",
      "Requests refused for their credential, by route class (read, telemetry, registry, certs, admin) and "
      "reason (missing, unknown, expired, revoked, used_up, other_service, wrong_credential)",
      {"route_class", "reason"});
  registry_.AddCollector([process = std::shared_ptr<const ProcessInfoSource>(LinuxProcessInfo())] {
    return ProcessMetricFamilies(ReadProcessStats(*process));
  });
  Gauge* write_queue = *(*registry_.AddGauge(
      "mesh_store_write_queue_depth",
      "Write jobs (ingest requests, registrations) waiting for the store's single writer"))->WithLabels({});
  Gauge* watchers = *(*registry_.AddGauge(
      "mesh_registry_watchers",
      "Discovery long-polls (GET /v1/services/{name}?wait=) parked until their service changes"))->WithLabels({});
  registry_.AddCollector([this, watchers] {
    watchers->Set(static_cast<double>(watches_.parked()));
    return std::vector<MetricFamily>{};
  });
  registry_.AddCollector([this, write_queue] {
    if (writer_) write_queue->Set(static_cast<double>(writer_->queued()));
    return std::vector<MetricFamily>{};
  });
}

ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Stop() {
  StopWatches();
  FlushHeartbeats();  // those answered after StopWatches
  // The exporter writes through the writer: it stops first.
  if (remote_write_) remote_write_->Stop();
  if (otlp_export_) otlp_export_->Stop();
  if (writer_) writer_->Stop();
  std::lock_guard lock(readers_mu_);
  readers_.clear();
}

Result<ControlPlane::ReadLease> ControlPlane::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!readers_.empty()) {
      std::unique_ptr<Store> store = std::move(readers_.back());
      readers_.pop_back();
      return ReadLease(this, std::move(store));
    }
  }
  Result<std::unique_ptr<Store>> store =
      Store::Open({.path = options_.db_path, .create_if_missing = false, .read_only = true});
  if (!store.ok()) return store.status();
  return ReadLease(this, std::move(store).value());
}

void ControlPlane::ReleaseReader(std::unique_ptr<Store> store) {
  std::lock_guard lock(readers_mu_);
  readers_.push_back(std::move(store));
}

std::optional<HttpResponse> ControlPlane::Guard(const HttpRequest& r, const HttpRoute& route) {
  AccessControl::Outcome outcome = access_->Check(r, ClassifyRoute(route), "");
  if (outcome.allowed()) return std::nullopt;
  return std::move(outcome.refusal);
}

Status ControlPlane::EnqueueForExport(WriteContext& c, const std::vector<OtlpOutboxItem>& items, int64_t now_ns,
                                      int64_t* sampled_out) {
  if (!otlp_export_ || items.empty()) return Status::Ok();
  Result<OtlpOutboxEnqueued> enqueued = OtlpOutbox(c.store).Enqueue(items, now_ns);
  if (!enqueued.ok()) return enqueued.status();
  *sampled_out = enqueued->sampled_out;
  return Status::Ok();
}

void ControlPlane::CountSampledOut(int64_t spans) {
  if (otlp_sampled_out_ && spans > 0) otlp_sampled_out_->Inc(static_cast<double>(spans));
}

void ControlPlane::Upkeep(WriteContext& c) {
  const int64_t now = clock_.NowNs();
  if (Result<std::vector<Instance>> instances = Registry(c.store).Instances(""); instances.ok()) {
    const InstanceLiveness::Judged judged = liveness_.Judge(std::move(*instances));
    for (size_t i = 0; i < judged.instances.size(); ++i) {
      if (!judged.Expired(i)) continue;
      if (!Registry(c.store).Remove(judged.instances[i].id).ok()) continue;
      liveness_.Forget(judged.instances[i].id);
      versions_.Removed(judged.instances[i].id);
    }
  }
  c.logs.IndexPending(20'000);
  // Spans into the per-minute and per-hour roll-ups the dashboard reads; what a pass leaves,
  // readers count raw until the next.
  RollUpSpans(c.store);
  // Retention in small batches, oldest first, so that no pass holds the lock for long; what a
  // failed pass leaves, the next idle turn prunes.
  PruneBefore(c.store, now - options_.retention_ns);
  CheckpointPassive(c.store);
}

void ControlPlane::AddRoutes(HttpRouter& router) {
  router.SetGuard([this](const HttpRequest& r, const HttpRoute& route) { return Guard(r, route); });
  router.SetBodyInflation(options_.inflate_limits);
  const auto bind = [this](HttpResponse (ControlPlane::*fn)(const HttpRequest&)) {
    return [this, fn](const HttpRequest& r) { return (this->*fn)(r); };
  };
  router.Add("GET", "/healthz", bind(&ControlPlane::Health));
  router.Add("POST", "/v1/traces", bind(&ControlPlane::IngestTraces));
  router.Add("POST", "/v1/logs", bind(&ControlPlane::IngestLogs));
  router.Add("POST", "/api/v2/spans", bind(&ControlPlane::IngestZipkin));
  router.Add("GET", "/v1/logs", bind(&ControlPlane::QueryLogs));
  router.Add("GET", "/v1/logs/stats", bind(&ControlPlane::LogStats));
  router.Add("GET", "/v1/traces", bind(&ControlPlane::ListTraces));
  router.Add("GET", "/v1/traces/stats", bind(&ControlPlane::TraceStats));
  router.Add("GET", "/v1/traces/{id}", bind(&ControlPlane::GetTrace));
  router.Add("GET", "/v1/spans", bind(&ControlPlane::ScanSpans));
  router.Add("POST", "/v1/register", [this](const HttpRequest& r) { return Register(r, false); });
  router.Add("POST", "/register", [this](const HttpRequest& r) { return Register(r, true); });
  router.Add("POST", "/v1/instances/{id}/heartbeat", bind(&ControlPlane::Heartbeat));
  router.Add("DELETE", "/v1/instances/{id}", bind(&ControlPlane::Deregister));
  router.Add("GET", "/v1/services", [this](const HttpRequest& r) { return ListServices(r, false); });
  router.Add("GET", "/services", [this](const HttpRequest& r) { return ListServices(r, true); });
  router.Add("GET", "/v1/services/{name}", bind(&ControlPlane::GetService));
  router.Add("GET", "/v1/services/{name}/saturation", bind(&ControlPlane::Saturation));
  router.Add("GET", "/v1/services/{name}/dashboard", bind(&ControlPlane::ServiceDashboard));
  router.Add("GET", "/v1/service-map", bind(&ControlPlane::ServiceMapView));
  router.Add("GET", "/v1/prometheus/targets", bind(&ControlPlane::PrometheusTargets));
  router.Add("POST", "/v1/metrics", [this](const HttpRequest& r) { return IngestMetrics(r, false); });
  router.Add("POST", "/metrics", [this](const HttpRequest& r) { return IngestMetrics(r, true); });
  router.Add("GET", "/metrics", bind(&ControlPlane::Exposition));
  router.Add("GET", "/v1/metrics/signals", bind(&ControlPlane::Signals));
  router.Add("GET", "/v1/report", bind(&ControlPlane::GetReport));
  router.Add("POST", "/v1/alerts/check", bind(&ControlPlane::CheckAlerts));
  router.Add("GET", "/v1/alerts", bind(&ControlPlane::ListAlerts));
  router.Add("GET", "/v1/alerts/history", bind(&ControlPlane::AlertHistory));
  router.Add("GET", "/v1/silences", bind(&ControlPlane::ListSilences));
  router.Add("POST", "/v1/silences", bind(&ControlPlane::AddSilence));
  router.Add("DELETE", "/v1/silences/{id}", bind(&ControlPlane::ExpireSilence));
  const auto dashboard = [](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(DashboardHtml());
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
    return r;
  };
  router.Add("GET", "/", dashboard);
  router.Add("GET", "/dashboard", dashboard);
  router.Add("GET", "/dashboard/traces", dashboard);
  router.Add("GET", "/dashboard/traces/{id}", dashboard);
  router.Add("GET", "/dashboard/services/{name}", dashboard);
  router.Add("GET", "/dashboard/map", dashboard);
}

bool ControlPlane::AnswersWithoutTheStore(const HttpRequest& request) {
  return request.path == "/healthz" && (request.method == "GET" || request.method == "HEAD");
}

HttpResponse ControlPlane::Health(const HttpRequest&) {
  return HttpResponse::Json(200, "{\"status\":\"ok\"}");
}

Result<std::pair<int64_t, int64_t>> ControlPlane::WindowParams(const HttpRequest& r) const {
  const int64_t now = clock_.NowNs();
  int64_t since = now - 3600 * kNsPerSecond;  // the last hour, as GET /v1/traces
  int64_t until = INT64_MAX;
  for (const char* key : {"since", "until"}) {
    if (r.Query(key).empty()) continue;
    Result<int64_t> t = ParseTimeSpec(r.Query(key), now);
    if (!t.ok()) return Status::InvalidArgument("parameter " + std::string(key) + ": " + t.status().message());
    (std::string(key) == "since" ? since : until) = *t;
  }
  return std::make_pair(since, until);
}

}  // namespace mesh

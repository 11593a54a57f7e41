// ControlPlane: what meshd serves, as HTTP routes over the store. Telemetry ingest (OTLP/HTTP
// JSON traces and logs) goes through one StoreWriter (group commit: a 2xx means committed);
// reads use a pool of read connections, so any number of request threads query at once. The
// registry lives in the store. Handlers are thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/controlplane/access_control.h"
#include "mesh/controlplane/instance_liveness.h"
#include "mesh/controlplane/registry_versions.h"
#include "mesh/controlplane/otlp_exporter.h"
#include "mesh/controlplane/remote_write_exporter.h"
#include "mesh/controlplane/series_limits.h"
#include "mesh/controlplane/service_watches.h"
#include "mesh/base/status.h"
#include "mesh/http/http_router.h"
#include "mesh/http/url_allow_list.h"
#include "mesh/store/store.h"
#include "mesh/store/store_writer.h"
#include "mesh/telemetry/golden_signals.h"
#include "mesh/telemetry/metrics.h"
#include "mesh/telemetry/otlp_metric_mapper.h"

namespace mesh {

class ControlPlane {
 public:
  struct Options {
    std::string db_path;
    int64_t retention_ns = 7LL * 86400 * 1'000'000'000;
    std::string token;       // when set, writes need a credential (access_rules.h)
    std::string read_token;  // when set, reads need it or `token` (access_rules.h)
    std::string trust_domain = "mesh.local";  // of the client certificates that name a service
    int64_t default_ttl_ns = 15'000'000'000;
    // host:port meshd hands out for itself (meshd --advertise); "": the Host a request came to.
    std::string advertise;
    SeriesLimits series_limits;  // on every metrics push
    // Where alert checks posted to meshd may make it send (webhook, Alertmanager); empty: nowhere.
    UrlAllowList alert_urls;
    std::function<void(const std::string&)> warn = nullptr;  // the store's (Store::Options::warn)
    // Compressed bodies, inflated once their route and token are accepted.
    InflateLimits inflate_limits{.max_bytes_name = "--max-body",
                                 .max_ratio_name = "--max-inflate-ratio"};
    // meshd --remote-write: every metric sample stored is also queued in the store's outbox and
    // sent to this receiver; url "": none.
    RemoteWriteExporter::Options remote_write;
    // meshd --export-otlp: every span, log record and metric point stored that the policy
    // exports is also queued in the store's OTLP outbox and sent to this receiver; url "": none.
    OtlpExporter::Options export_otlp;
    // Discovery long-polls (GET /v1/services/{name}?wait=) parked at once; past it, 429.
    size_t max_watchers = 20000;
  };

  // Opens (creating or migrating) the store. Errors: as Store::Open.
  static Result<std::unique_ptr<ControlPlane>> Open(const Options& options, const Clock& clock);
  ~ControlPlane();

  // Adds the routes, the token guard (for the whole router) and the body inflation limits.
  void AddRoutes(HttpRouter& router);
  // Families of meshd's own joined to GET /metrics at each scrape (its servers' connections and
  // worker pools); thread-safe, as MetricsRegistry::AddCollector.
  void AddMetricsCollector(MetricsRegistry::Collector collector) { registry_.AddCollector(std::move(collector)); }
  // Who may do what (the store's scoped tokens, the write and read tokens): the routes' guard,
  // and SecurityApi's certificates.
  AccessControl& access() { return *access_; }
  // Whether the request's route never touches the store or blocks (GET /healthz): meshd answers
  // it on its I/O thread, so that liveness shows while every handler thread waits on SQLite.
  static bool AnswersWithoutTheStore(const HttpRequest& request);
  // Background upkeep, run by the writer when idle: registry sweep, full-text indexing,
  // retention in small batches, WAL checkpoints.
  void Upkeep(WriteContext& context);
  // Answers every parked discovery long-poll (304) and parks no more: meshd calls it before
  // stopping its HTTP server, so that watchers are answered rather than cut off. Idempotent.
  void StopWatches();
  // Commits what is queued (heartbeats not yet flushed too) and closes the store (StopWatches
  // first).
  void Stop();

 private:
  ControlPlane(Options options, const Clock& clock, std::unique_ptr<StoreWriter> writer);

  class ReadLease;
  Result<ReadLease> AcquireReader();
  void ReleaseReader(std::unique_ptr<Store> store);
  // The router's guard: the refusal (401, 403) for a route the request's credential does not
  // open, else nothing. Registry writes are decided again once their service is known.
  std::optional<HttpResponse> Guard(const HttpRequest& request, const HttpRoute& route);
  // Heartbeat and deregistration: `change` runs on instance `id` when the request's credential
  // may act for the instance's service (in the same transaction as the check).
  HttpResponse ChangeInstance(const HttpRequest& request, const std::function<Status(Store&, const std::string&)>& change);

  HttpResponse Health(const HttpRequest& request);
  HttpResponse IngestTraces(const HttpRequest& request);
  HttpResponse IngestLogs(const HttpRequest& request);
  HttpResponse IngestZipkin(const HttpRequest& request);
  HttpResponse QueryLogs(const HttpRequest& request);
  HttpResponse LogStats(const HttpRequest& request);
  HttpResponse GetTrace(const HttpRequest& request);
  HttpResponse ListTraces(const HttpRequest& request);
  HttpResponse TraceStats(const HttpRequest& request);
  HttpResponse ScanSpans(const HttpRequest& request);
  // since/until query parameters; since defaults to an hour ago, until to no bound.
  Result<std::pair<int64_t, int64_t>> WindowParams(const HttpRequest& request) const;
  HttpResponse Register(const HttpRequest& request, bool seed_payload);
  HttpResponse Heartbeat(const HttpRequest& request);
  HttpResponse Deregister(const HttpRequest& request);
  HttpResponse ListServices(const HttpRequest& request, bool seed_format);
  // Each service's instances and how many are healthy now, by service name.
  Result<std::vector<ServiceSummary>> Summaries(Store& store);
  HttpResponse GetService(const HttpRequest& request);
  // The full answer of GET /v1/services/{name} (200, or 404 without instances), with its ETag.
  HttpResponse ServiceAnswer(const std::string& name);
  // Every 100 ms until StopWatches (on watch_thread_): answers watchers; every second,
  // FlushHeartbeats.
  void RunTicks();
  // Writes the heartbeats heard since the last flush to the store, in one transaction.
  void FlushHeartbeats();
  HttpResponse Saturation(const HttpRequest& request);
  // GET /v1/prometheus/targets: the registry as Prometheus http_sd / file_sd target groups
  // (prometheus_targets.h). meshd's own group is options_.advertise, else the request's Host
  // header: the address the scraper reached meshd at.
  HttpResponse PrometheusTargets(const HttpRequest& request);
  // The dashboard's service page and service map (control_plane_service_views.cpp).
  HttpResponse ServiceDashboard(const HttpRequest& request);
  HttpResponse ServiceMapView(const HttpRequest& request);
  // ?window= of those: one of 15m, 1h (the default), 6h, 24h, 7d, ending now.
  Result<std::pair<int64_t, int64_t>> ServiceViewWindow(const HttpRequest& request) const;
  // POST /v1/metrics: Prometheus text, OTLP (protobuf, or JSON without the seed's "service"
  // member), the seed's JSON push; POST /metrics: the seed's JSON push.
  HttpResponse IngestMetrics(const HttpRequest& request, bool seed_route);
  HttpResponse IngestOtlpMetrics(const HttpRequest& request);
  // Stores pushed families within the series bounds: nothing (with `stored` set) when they are
  // stored, else the answer that refuses them.
  std::optional<HttpResponse> StoreMetrics(const std::vector<MetricFamily>& families, int64_t* stored);
  // Counts the refusal on /metrics and answers it.
  HttpResponse RefuseSeries(const SeriesRefusal& refusal, int64_t push_series);
  HttpResponse Exposition(const HttpRequest& request);
  HttpResponse Signals(const HttpRequest& request);
  // GET /v1/report: meshstat's report (report.h) as JSON.
  HttpResponse GetReport(const HttpRequest& request);
  void AppendSignalsJson(std::string& out, Store& store, const std::string& service, int64_t window_ns);
  // meshalert --server: one check round on meshd's store, alert states, history, silences.
  HttpResponse CheckAlerts(const HttpRequest& request);
  HttpResponse ListAlerts(const HttpRequest& request);
  HttpResponse AlertHistory(const HttpRequest& request);
  HttpResponse ListSilences(const HttpRequest& request);
  HttpResponse AddSilence(const HttpRequest& request);
  HttpResponse ExpireSilence(const HttpRequest& request);

  // meshd's own metrics, exposed on /metrics.
  struct OwnMetrics {
    Counter* spans = nullptr;
    Counter* logs = nullptr;
    Counter* samples = nullptr;
    Family<Counter>* rejected = nullptr;
    Family<Histogram>* ingest_seconds = nullptr;
    Family<Counter>* auth_refusals = nullptr;
    Family<Counter>* series_refused = nullptr;
  };
  void RegisterOwnMetrics();

  Options options_;
  const Clock& clock_;
  // When this meshd heard from each instance, on the monotonic clock: health and sweeping
  // survive a step of the wall clock.
  InstanceLiveness liveness_;
  // Each service's registry version: the ETag of GET /v1/services/{name}, answered from memory.
  RegistryVersions versions_;
  // Discovery long-polls parked until their service's version moves (service_watches.h).
  ServiceWatches watches_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watches_stopped_ = false;
  // Heartbeats answered and not yet in the store, by instance id: the store's heartbeat_ns is
  // written once a second (health is judged from liveness_, in memory).
  std::mutex heartbeats_mu_;
  std::unordered_map<std::string, int64_t> pending_heartbeats_;
  std::unique_ptr<StoreWriter> writer_;
  MetricsRegistry registry_;
  OwnMetrics own_;
  std::unique_ptr<AccessControl> access_;
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Store>> readers_;
  // Held from mapping an OTLP metrics export until it is stored and its delta totals kept.
  std::mutex otlp_metrics_mu_;
  OtlpMetricMapper otlp_metrics_;
  std::unique_ptr<RemoteWriteExporter> remote_write_;  // null without --remote-write
  std::unique_ptr<OtlpExporter> otlp_export_;          // null without --export-otlp
  Counter* otlp_sampled_out_ = nullptr;                // spans of traces already decided against
  // Queues the items for --export-otlp in the caller's transaction (nothing without it).
  Status EnqueueForExport(WriteContext& c, const std::vector<OtlpOutboxItem>& items, int64_t now_ns,
                          int64_t* sampled_out);
  // Counts what EnqueueForExport left out, once its transaction committed.
  void CountSampledOut(int64_t spans);
  // Stores spans (and queues them for --export-otlp) in one transaction.
  Status StoreSpans(const std::vector<Span>& spans);
  std::thread watch_thread_;  // last: stopped (StopWatches) before the rest goes
};

}  // namespace mesh

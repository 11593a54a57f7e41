#include "mesh/proxy/meshproxy_app.h"

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <iterator>
#include <limits>

#include "mesh/base/json_text.h"
#include "mesh/base/process_signals.h"
#include "mesh/base/time_format.h"
#include "mesh/base/token_file.h"
#include "mesh/http/asio_http_client.h"
#include "mesh/http/asio_http_server.h"
#include "mesh/proxy/advertised_address.h"
#include "mesh/proxy/config_reload.h"
#include "mesh/proxy/discovery_upstreams.h"
#include "mesh/proxy/http_proxy.h"
#include "mesh/proxy/meshd_trust.h"
#include "mesh/proxy/policy_watcher.h"
#include "mesh/proxy/registry_client.h"
#include "mesh/proxy/retry_budget.h"
#include "mesh/proxy/telemetry_shipper.h"
#include "mesh/proxy/workload_identity.h"
#include "mesh/telemetry/logger.h"
#include "mesh/telemetry/metrics.h"
#include "mesh/telemetry/process_metrics.h"
#include "mesh/telemetry/prometheus_text.h"
#include "mesh/telemetry/worker_pool_metrics.h"

namespace mesh {
namespace {

constexpr std::chrono::seconds kDrain{10};
// How long start-up waits for meshd to answer with its CA (--meshd-ca-hash).
constexpr std::chrono::seconds kCaFetchWait{30};

// What the clients of an https:// meshd trust: the CA pinned by `pin`, fetched from meshd (retried
// until kCaFetchWait while meshd cannot be reached; a CA of another hash fails at once), or, with
// no pin, the system's CAs.
Result<ClientTlsOptions> MeshdTrust(const std::string& meshd_url, const std::string& pin) {
  if (pin.empty()) return ClientTlsOptions{};
  AsioHttpClient unauthenticated(5000);
  unauthenticated.SetTls({.verify_server = false});
  const auto until = std::chrono::steady_clock::now() + kCaFetchWait;
  for (;;) {
    Result<std::string> ca = FetchPinnedMeshdCa(unauthenticated, meshd_url, pin);
    if (ca.ok()) return ClientTlsOptions{.ca_pem = *ca};
    if (ca.status().code() == Status::Code::kInvalidArgument || std::chrono::steady_clock::now() >= until ||
        !SleepUnlessStopped(std::chrono::milliseconds(500))) {
      return ca.status();
    }
  }
}

// Counts every attempt's outcome per direction (mesh_upstream_attempts_total) around the real
// selector. The series are resolved once: on the I/O threads an attempt costs one atomic add.
class CountingUpstreams : public UpstreamSelector {
 public:
  CountingUpstreams(std::shared_ptr<UpstreamSelector> inner, Family<Counter>& family,
                    const std::string& service, const std::string& direction)
      : inner_(std::move(inner)) {
    static constexpr const char* kOutcomes[] = {"success", "server_error", "connect_failure", "timeout", "reset"};
    for (size_t i = 0; i < std::size(kOutcomes); ++i) counters_[i] = *family.WithLabels({service, direction, kOutcomes[i]});
  }
  Result<Endpoint> Pick(std::string_view service, int attempt) override { return inner_->Pick(service, attempt); }
  void Started(const Endpoint& endpoint) override { inner_->Started(endpoint); }
  bool Resolving(std::string_view service) override { return inner_->Resolving(service); }
  void Report(const Endpoint& endpoint, AttemptOutcome outcome, int64_t latency_ns) override {
    counters_[static_cast<size_t>(outcome)]->Inc();
    inner_->Report(endpoint, outcome, latency_ns);
  }

 private:
  std::shared_ptr<UpstreamSelector> inner_;
  Counter* counters_[5] = {};
};

// The process's open-files limit (its soft limit: what accept and connect run into).
uint64_t OpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::numeric_limits<uint32_t>::max();
  return limit.rlim_cur;
}

std::string Url(const HostPort& hp, int port) { return "http://" + FormatHostPort({hp.host, port}); }

// SIGHUP: the config file is read again and checked (a bad one is refused, the running
// configuration stays; a good one's changes wait for the next start: see config_reload.h), and
// the policy is fetched from meshd now rather than at the next refresh. The mTLS certificate is
// not file-based: WorkloadIdentity renews it from meshd on its own schedule.
void ReloadOnSighup(const ProxyConfig& running, const std::function<Result<ProxyConfig>()>& reread_config,
                    PolicyWatcher* policy, Logger& log) {
  if (!reread_config) {
    log.Info("SIGHUP: no config file to reload (started without --config)");
  } else if (const ConfigReview review = ReviewReloadedConfig(running, reread_config()); !review.refused.ok()) {
    log.Error("SIGHUP: config file refused, the running configuration stays", {{"error", review.refused.message()}});
  } else if (review.changed.empty()) {
    log.Info("SIGHUP: config file reloaded, unchanged");
  } else {
    std::string changed;
    for (const std::string& name : review.changed) changed += (changed.empty() ? "" : ",") + name;
    log.Warn("SIGHUP: config file changed; these settings take effect at the next start", {{"changed", changed}});
  }
  if (policy == nullptr) return;
  if (Status s = policy->Refresh(); s.ok()) {
    log.Info("SIGHUP: policy fetched from meshd", {{"version", policy->version()}});
  } else {
    log.Error("SIGHUP: policy not fetched, the current one stays", {{"error", s.message()}});
  }
}

}  // namespace

int RunMeshproxy(const ProxyConfig& config, const CommandIo& io,
                 const std::function<Result<ProxyConfig>()>& reread_config) {
  if (Status s = ValidateProxyConfig(config); !s.ok()) return FailCommand("meshproxy", io, s);
  InstallReloadHandler();  // first: a SIGHUP while the certificate is obtained must not end us
  Logger log("meshproxy", LogLevel::kInfo);
  log.AddSink(MakeStreamSink(io.err));
  std::string token;
  if (!config.token_file.empty()) {
    Result<std::string> t = ReadTokenFile(config.token_file);
    if (!t.ok()) return FailCommand("meshproxy", io, Status::IOError(t.status().message()));
    token = *t;
  }
  // The service's scoped token (`meshd token create`) is its credential for everything it
  // asks of meshd: one file is enough, whichever of the two names it.
  std::string join_token = token;
  if (!config.join_token_file.empty()) {
    Result<std::string> t = ReadTokenFile(config.join_token_file);
    if (!t.ok()) return FailCommand("meshproxy", io, Status::IOError(t.status().message()));
    join_token = *t;
    if (token.empty()) token = join_token;
  }
  const HostPort inbound_at = *ParseHostPort(config.listen);
  const HostPort admin_at = *ParseHostPort(config.admin);
  // What other proxies dial (registered with meshd). Without meshd nobody finds it in the
  // registry, so a host without a default route needs no --advertise then.
  HostPort advertised{IsWildcardHost(inbound_at.host) ? (inbound_at.host == "::" ? "::1" : "127.0.0.1") : inbound_at.host,
                      inbound_at.port};
  if (!config.meshd.empty() || !config.advertise.empty()) {
    Result<HostPort> chosen = AdvertisedAddress(config.advertise, inbound_at, inbound_at.port, KernelDefaultRoute());
    if (!chosen.ok()) return FailCommand("meshproxy", io, chosen.status());
    advertised = *chosen;
  }
  // An https:// meshd: every client of it shares what it trusts and, once the proxy has a
  // workload certificate, presents it (meshd takes it as this service's credential).
  std::shared_ptr<ClientTls> meshd_tls;
  ClientTlsOptions meshd_trust;
  if (config.meshd.starts_with("https://")) {
    Result<ClientTlsOptions> trust = MeshdTrust(config.meshd, config.meshd_ca_hash);
    if (!trust.ok()) return FailCommand("meshproxy", io, Status::IOError(trust.status().message()));
    meshd_trust = *trust;
    meshd_tls = std::make_shared<ClientTls>(meshd_trust);
    if (!config.meshd_ca_hash.empty()) log.Info("meshd's CA matches --meshd-ca-hash", {{"ca_hash", config.meshd_ca_hash}});
  }
  const auto meshd_client = [&meshd_tls](long timeout_ms) {
    auto client = std::make_unique<AsioHttpClient>(timeout_ms);
    if (meshd_tls) client->UseTls(meshd_tls);
    return client;
  };
  const auto present_certificate = [&meshd_tls, &meshd_trust](const TlsCredentials& credentials) {
    if (!meshd_tls) return;
    ClientTlsOptions options = meshd_trust;
    options.certificate_pem = credentials.certificate_pem;
    options.private_key_pem = credentials.private_key_pem;
    meshd_tls->Set(std::move(options));
  };

  MetricsRegistry registry;
  registry.AddCollector([process = std::shared_ptr<const ProcessInfoSource>(LinuxProcessInfo())] {
    return ProcessMetricFamilies(ReadProcessStats(*process));
  });
  Family<Gauge>* in_flight = *registry.AddGauge("mesh_requests_in_flight", "Requests being proxied", {"service", "direction"});
  Family<Gauge>* up = *registry.AddGauge("mesh_instance_up", "1 while this proxy serves", {"service"});
  Family<Counter>* ejections = *registry.AddCounter("mesh_outlier_ejections_total",
                                                     "Instances ejected after consecutive failures", {"service"});
  Family<Counter>* attempts = *registry.AddCounter(
      "mesh_upstream_attempts_total",
      "Attempts to reach an upstream, by outcome (connect_failure: refused or unreachable)",
      {"service", "direction", "outcome"});
  Family<Gauge>* meshd_failures = *registry.AddGauge(
      "mesh_control_plane_failures", "Calls to meshd's registry that failed since start", {"service"});
  Family<Counter>* not_modified = *registry.AddCounter(
      "mesh_discovery_not_modified_total",
      "Discovery refreshes meshd answered 304: the instances held were current", {"service"});
  Family<Counter>* handshake_failures = *registry.AddCounter(
      "mesh_tls_handshake_failures_total",
      "Inbound connections refused at the mTLS handshake (no, expired or foreign certificate)", {"service"});
  Family<Gauge>* cert_expiry = *registry.AddGauge(
      "mesh_tls_certificate_expiry_timestamp_seconds", "When this proxy's mTLS certificate ends (Unix time)",
      {"service"});
  Family<Gauge>* cert_renewals = *registry.AddGauge(
      "mesh_tls_certificate_renewals", "Certificates renewed since start (failures: attempts that failed)",
      {"service", "result"});
  Family<Counter>* protocol_errors = *registry.AddCounter(
      "mesh_upstream_protocol_errors_total",
      "Upstream connections closed for breaking HTTP (stray_bytes: bytes past an answer, no request asked for)",
      {"service", "direction", "reason"});
  Family<Counter>* refused = *registry.AddCounter(
      "mesh_client_connections_refused_total",
      "Client connections closed at once (limit: over the connection limit) or not accepted (accept_error: out of "
      "descriptors, say)",
      {"service", "direction", "reason"});
  Family<Gauge>* client_connections =
      *registry.AddGauge(kClientConnectionsMetric, kClientConnectionsHelp, {"service", "direction"});
  Family<Gauge>* workers = *registry.AddGauge(kWorkersMetric, kWorkersHelp, {"service", "direction", "pool"});
  Family<Counter>* worker_busy = *registry.AddCounter(kWorkerBusyMetric, kWorkerBusyHelp, {"service", "direction", "pool"});
  Family<Gauge>* client_limit = *registry.AddGauge(
      "mesh_client_connections_limit", "Client connections a listener keeps open at most", {"service", "direction"});
  Family<Counter>* overflow = *registry.AddCounter(
      "mesh_upstream_overflow_total",
      "Requests answered 503 at once by the circuit breaker, by the limit reached (requests: in progress to the "
      "endpoint; pending: its queue for a connection full; connections: none freed before the deadline)",
      {"service", "direction", "limit"});
  Family<Counter>* abandoned = *registry.AddCounter(
      "mesh_upstream_abandoned_total",
      "Upstream connections closed because the client went away before the answer came (the upstream sees the "
      "request abandoned)",
      {"service", "direction"});
  Family<Counter>* tls_refused = *registry.AddCounter(
      "mesh_upstream_tls_refused_total",
      "Calls to mesh instances refused for their transport (plaintext_endpoint: the registry does not mark the "
      "instance mTLS, nothing was sent; identity_mismatch: its certificate names another service)",
      {"service", "direction", "reason"});
  Family<Counter>* idle_cut = *registry.AddCounter(
      "mesh_stream_idle_timeouts_total",
      "Bodies (either way) and WebSocket tunnels cut because nothing crossed them for the stream idle timeout",
      {"service", "direction"});
  Family<Counter>* tunnels = *registry.AddCounter(
      "mesh_tunnels_total", "Upgraded connections (101 Switching Protocols, WebSocket) turned into byte tunnels",
      {"service", "direction"});
  Family<Counter>* tunnel_bytes = *registry.AddCounter(
      "mesh_tunnel_bytes_total", "Bytes carried by tunnels, by way (to_upstream, to_client)",
      {"service", "direction", "way"});
  const int listeners = config.outbound.empty() ? 1 : 2;
  const int64_t client_connection_limit =
      config.max_client_connections > 0 ? config.max_client_connections : ClientConnectionLimit(OpenFilesLimit(), listeners);
  // The data plane's own totals, copied into the registry at each scrape.
  const auto publish_data_plane = [&](const HttpProxy& proxy, const std::string& direction) {
    const HttpProxy::Counters c = proxy.counters();
    const auto set = [](Family<Counter>* family, const std::vector<std::string>& labels, int64_t total) {
      if (auto counter = family->WithLabels(labels); counter.ok()) (*counter)->Inc(static_cast<double>(total) - (*counter)->Value());
    };
    set(protocol_errors, {config.service, direction, "stray_bytes"}, c.upstream_stray_bytes);
    set(refused, {config.service, direction, "limit"}, c.client_connections_refused);
    set(refused, {config.service, direction, "accept_error"}, c.accept_failures);
    set(overflow, {config.service, direction, "requests"}, c.upstream_overflow_requests);
    set(overflow, {config.service, direction, "pending"}, c.upstream_overflow_pending);
    set(overflow, {config.service, direction, "connections"}, c.upstream_overflow_connections);
    set(abandoned, {config.service, direction}, c.upstream_abandoned);
    set(idle_cut, {config.service, direction}, c.stream_idle_timeouts);
    set(tunnels, {config.service, direction}, c.tunnels);
    set(tunnel_bytes, {config.service, direction, "to_upstream"}, c.tunnel_bytes_to_upstream);
    set(tunnel_bytes, {config.service, direction, "to_client"}, c.tunnel_bytes_to_client);
    if (config.mtls && direction == "outbound") {
      set(tls_refused, {config.service, direction, "plaintext_endpoint"}, c.upstream_tls_refused_plaintext);
      set(tls_refused, {config.service, direction, "identity_mismatch"}, c.upstream_tls_identity_mismatches);
    }
    if (auto g = client_connections->WithLabels({config.service, direction}); g.ok()) (*g)->Set(static_cast<double>(c.client_connections));
    if (auto g = workers->WithLabels({config.service, direction, "io"}); g.ok()) (*g)->Set(static_cast<double>(c.io_threads));
    if (auto busy = worker_busy->WithLabels({config.service, direction, "io"}); busy.ok()) {
      (*busy)->Inc(static_cast<double>(c.io_busy_ns) / 1e9 - (*busy)->Value());
    }
    if (auto g = client_limit->WithLabels({config.service, direction}); g.ok()) (*g)->Set(static_cast<double>(client_connection_limit));
  };
  TelemetryShipper::Options shipping;
  shipping.meshd_url = config.meshd;
  shipping.token = token;
  shipping.service = config.service;
  shipping.access_log = config.access_log;
  shipping.access_log_sample = config.access_log_sample;
  shipping.queue_capacity = static_cast<size_t>(config.telemetry_queue);
  // As advertised; a port 0 is known once the inbound listener is up (SetInstance below).
  shipping.instance = FormatHostPort(advertised);
  TelemetryShipper shipper(shipping, registry, meshd_client(2000));

  // mTLS: a certificate before any listener starts, so that the first connection is already
  // mutual; then meshd's policy, enforced per request on the inbound side.
  const std::string data_dir = ProxyDataDir(config, [](const char* n) { return std::getenv(n); });
  std::unique_ptr<WorkloadIdentity> identity;
  std::unique_ptr<PolicyWatcher> policy;
  std::optional<TlsCredentials> tls;
  if (config.mtls) {
    identity = std::make_unique<WorkloadIdentity>(
        WorkloadIdentity::Options{.meshd_url = config.meshd,
                                  .join_token = join_token,
                                  .service = config.service,
                                  .data_dir = data_dir,
                                  .ttl = config.cert_ttl,
                                  .on_stored = present_certificate},
        *io.clock, meshd_client(5000));
    Result<TlsCredentials> credentials = identity->Obtain(std::chrono::seconds(30));
    if (!credentials.ok()) {
      return FailCommand("meshproxy", io, Status::IOError("mTLS certificate: " + credentials.status().message()));
    }
    tls = *credentials;
    present_certificate(*credentials);
    if (!config.plaintext_inbound) {
      policy = std::make_unique<PolicyWatcher>(PolicyWatcher::Options{config.meshd, token, data_dir}, meshd_client(2000));
      policy->Start();
    }
  }

  HttpProxy::Options in;
  in.listen_host = inbound_at.host;
  in.listen_port = inbound_at.port;
  in.threads = config.threads;
  in.direction = HttpProxy::Direction::kInbound;
  in.service = config.service;
  in.upstreams = std::make_shared<CountingUpstreams>(
      std::make_shared<FixedUpstream>(Endpoint{"127.0.0.1", config.service_port, ""}), *attempts,
      config.service, "inbound");
  in.request_timeout = config.timeout;
  in.stream_idle_timeout = config.stream_idle_timeout;
  in.max_client_connections = client_connection_limit;
  in.max_upstream_requests = config.max_upstream_requests;
  in.max_upstream_connections = config.max_upstream_connections;
  in.max_upstream_pending = config.max_upstream_pending;
  in.warn = [&log](const std::string& warning) { log.Warn(warning, {{"direction", "inbound"}}); };
  in.on_complete = [&](ProxiedRequest&& r) { shipper.Record(std::move(r), HttpProxy::Direction::kInbound); };
  const bool mtls_inbound = tls && !config.plaintext_inbound;
  if (mtls_inbound) in.tls = tls;
  if (policy && mtls_inbound) {
    in.authorize = [&policy, &config](std::string_view caller, std::string_view method, std::string_view target) {
      const std::shared_ptr<const AuthorizationPolicy> current = policy->Current();
      if (!current) return PolicyDecision{};  // no policy yet: the mesh's identities may call
      return current->Check(caller, config.service, method, target);
    };
  }
  Result<std::unique_ptr<HttpProxy>> inbound = HttpProxy::Start(in);
  if (!inbound.ok()) return FailCommand("meshproxy", io, Status::IOError(inbound.status().message()));

  RegistryClient::Options reg;
  reg.meshd_url = config.meshd;
  reg.token = token;
  reg.service = config.meshd.empty() ? "" : config.service;
  if (advertised.port == 0) advertised.port = (*inbound)->port();  // listening on port 0
  reg.host = advertised.host;
  reg.port = advertised.port;  // the address other proxies call: ours, not the service's
  shipper.SetInstance(FormatHostPort(advertised));  // the pushes name it so too
  reg.make_watch_client = meshd_client;  // the long-polls' clients, with the same TLS to meshd
  RegistryClient registry_client(reg, meshd_client(2000));

  auto discovery = std::make_shared<DiscoveryUpstreams>(registry_client, *io.clock);
  RetryBudget budget(*io.clock);
  std::unique_ptr<HttpProxy> outbound;
  if (!config.outbound.empty()) {
    const HostPort outbound_at = *ParseHostPort(config.outbound);
    HttpProxy::Options out;
    out.listen_host = outbound_at.host;
    out.listen_port = outbound_at.port;
    out.threads = config.threads;
    out.direction = HttpProxy::Direction::kOutbound;
    out.service = config.service;
    out.upstreams = std::make_shared<CountingUpstreams>(discovery, *attempts, config.service, "outbound");
    out.request_timeout = config.timeout;
    out.stream_idle_timeout = config.stream_idle_timeout;
    out.max_client_connections = client_connection_limit;
    out.max_upstream_requests = config.max_upstream_requests;
    out.max_upstream_connections = config.max_upstream_connections;
    out.max_upstream_pending = config.max_upstream_pending;
    out.warn = [&log](const std::string& warning) { log.Warn(warning, {{"direction", "outbound"}}); };
    out.tls = tls;
    out.may_retry = [&budget] { return budget.TryRetry(); };
    out.on_complete = [&](ProxiedRequest&& r) {
      budget.RecordRequest();
      shipper.Record(std::move(r), HttpProxy::Direction::kOutbound);
    };
    Result<std::unique_ptr<HttpProxy>> started = HttpProxy::Start(out);
    if (!started.ok()) return FailCommand("meshproxy", io, Status::IOError(started.status().message()));
    outbound = std::move(started).value();
  }

  if (identity) {
    identity->StartRenewing([&](const TlsCredentials& renewed) {
      present_certificate(renewed);
      Status in_ok = mtls_inbound ? (*inbound)->UpdateTls(renewed) : Status::Ok();
      Status out_ok = outbound ? outbound->UpdateTls(renewed) : Status::Ok();
      if (in_ok.ok() && out_ok.ok()) {
        log.Info("mTLS certificate renewed", {{"not_after", FormatRfc3339(identity->not_after_ns())}});
      } else {
        log.Error("renewed mTLS certificate not usable", {{"error", in_ok.ok() ? out_ok.message() : in_ok.message()}});
      }
    });
  }

  std::atomic<bool> draining{false};
  int64_t ejections_seen = 0;
  int64_t handshake_failures_seen = 0;
  int64_t not_modified_seen = 0;
  std::mutex metrics_mu;  // the *_seen counts, collecting: a scrape and a push at once
  bool collecting = true;
  // The figures copied from the data plane, brought up to date at every collection: a scrape of
  // /metrics and the shipper's pushes to meshd alike.
  registry.AddCollector([&] {
    {
      std::lock_guard lock(metrics_mu);
      if (!collecting) return std::vector<MetricFamily>{};
      if (auto g = in_flight->WithLabels({config.service, "inbound"}); g.ok()) (*g)->Set(static_cast<double>((*inbound)->in_flight()));
      if (outbound) {
        if (auto g = in_flight->WithLabels({config.service, "outbound"}); g.ok()) (*g)->Set(static_cast<double>(outbound->in_flight()));
      }
      if (auto g = up->WithLabels({config.service}); g.ok()) (*g)->Set(draining ? 0 : 1);
      publish_data_plane(**inbound, "inbound");
      if (outbound) publish_data_plane(*outbound, "outbound");
      const int64_t total = discovery->ejections_total();
      if (auto c = ejections->WithLabels({config.service}); c.ok()) (*c)->Inc(static_cast<double>(total - ejections_seen));
      ejections_seen = total;
      if (auto g = meshd_failures->WithLabels({config.service}); g.ok()) (*g)->Set(static_cast<double>(registry_client.meshd_failures()));
      const int64_t unchanged = registry_client.unchanged_refreshes();
      if (auto c = not_modified->WithLabels({config.service}); c.ok()) (*c)->Inc(static_cast<double>(unchanged - not_modified_seen));
      not_modified_seen = unchanged;
      if (identity) {
        const int64_t refused = (*inbound)->tls_handshake_failures();
        if (auto c = handshake_failures->WithLabels({config.service}); c.ok()) {
          (*c)->Inc(static_cast<double>(refused - handshake_failures_seen));
        }
        handshake_failures_seen = refused;
        if (auto g = cert_expiry->WithLabels({config.service}); g.ok()) (*g)->Set(static_cast<double>(identity->not_after_ns() / 1'000'000'000));
        if (auto g = cert_renewals->WithLabels({config.service, "success"}); g.ok()) (*g)->Set(static_cast<double>(identity->renewals()));
        if (auto g = cert_renewals->WithLabels({config.service, "failure"}); g.ok()) (*g)->Set(static_cast<double>(identity->renewal_failures()));
      }
    }
    return std::vector<MetricFamily>{};
  });
  // The collector reads objects of this scope, and the registry and the shipper's thread outlive
  // them: it stops, on every return path, before they go.
  struct StopCollecting {
    std::mutex& mu;
    bool& collecting;
    ~StopCollecting() {
      std::lock_guard lock(mu);
      collecting = false;
    }
  } stop_collecting{metrics_mu, collecting};
  HttpRouter admin;
  admin.Add("GET", "/metrics", [&](const HttpRequest& request) {
    auto exposed = ExposeMetrics(registry.Collect(), request.Header("accept"));
    HttpResponse r;
    r.status = 200;
    r.content_type = std::string(exposed.content_type);
    r.body = std::move(exposed.body);
    return r;
  });
  admin.Add("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::Json(200, "{\"status\":\"ok\"}"); });
  admin.Add("GET", "/ready", [&](const HttpRequest&) {
    if (draining) return HttpResponse::Error(503, "draining");
    if (!config.meshd.empty() && registry_client.dropped()) {
      return HttpResponse::Error(503, "meshd does not know this instance (dropped from its registry): registering again");
    }
    if (!config.meshd.empty() && !registry_client.registered()) return HttpResponse::Error(503, "not registered with meshd yet");
    return HttpResponse::Json(200, "{\"status\":\"ready\"}");
  });
  admin.Add("GET", "/config", [&](const HttpRequest&) { return HttpResponse::Json(200, ProxyConfigJson(config)); });
  Result<std::unique_ptr<AsioHttpServer>> admin_server =
      AsioHttpServer::Start({.listen = config.admin, .threads = 4}, [&](const HttpRequest& r) { return admin.Handle(r); });
  if (!admin_server.ok()) return FailCommand("meshproxy", io, Status::IOError(admin_server.status().message()));

  // What meshd's /v1/prometheus/targets lists for Prometheus: the admin address as bound (port 0
  // picks one), and the service's own metrics when it has some.
  std::string meta = "{\"proxy\":\"meshproxy " MESH_VERSION "\",";
  if (mtls_inbound) meta += "\"mtls\":true,";  // callers must come over mTLS
  meta += "\"admin\":";
  // A wildcard admin address is scraped at the advertised host.
  AppendJsonString(meta, FormatHostPort({IsWildcardHost(admin_at.host) ? reg.host : admin_at.host, (*admin_server)->port()}));
  if (!config.app_metrics_path.empty()) {
    // The service listens on 127.0.0.1 beside its sidecar, so it is scraped at the sidecar's host.
    meta += ",\"app\":";
    AppendJsonString(meta, FormatHostPort({reg.host, config.service_port}));
    meta += ",\"app_metrics_path\":";
    AppendJsonString(meta, config.app_metrics_path);
  }
  registry_client.SetMeta(meta + "}");
  registry_client.Start();
  InstallStopHandlers();
  log.Info("meshproxy listening", {{"mesh_service", config.service},
                                   {"inbound", Url(inbound_at, (*inbound)->port())},
                                   {"advertised", FormatHostPort(advertised)},
                                   {"outbound", outbound ? Url(*ParseHostPort(config.outbound), outbound->port())
                                                         : std::string("off")},
                                   {"admin", Url(admin_at, (*admin_server)->port())},
                                   {"service_port", config.service_port},
                                   {"max_client_connections", client_connection_limit},
                                   {"meshd", config.meshd.empty() ? std::string("none") : config.meshd},
                                   {"mtls", !config.mtls ? std::string("off")
                                            : mtls_inbound ? "on (data dir " + data_dir + ")"
                                                           : "outbound only (data dir " + data_dir + ")"}});
  while (SleepUnlessStopped(std::chrono::milliseconds(500))) {
    if (TakeReloadRequest()) ReloadOnSighup(config, reread_config, policy.get(), log);
  }

  draining = true;
  log.Info("meshproxy draining", {{"in_flight", (*inbound)->in_flight() + (outbound ? outbound->in_flight() : 0)}});
  (*inbound)->Stop(kDrain);
  if (outbound) outbound->Stop(kDrain);
  if (Status s = registry_client.Deregister(); !s.ok()) {
    log.Warn("could not deregister from meshd", {{"error", s.message()}});
  }
  shipper.Flush();
  (*admin_server)->Stop();
  log.Info("meshproxy stopped", {{"telemetry_dropped", shipper.dropped()}});
  return 0;
}

}  // namespace mesh

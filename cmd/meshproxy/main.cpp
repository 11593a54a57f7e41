// meshproxy: the mesh sidecar, in front of one service instance (inbound) and for its calls to
// other services (outbound), with registration, balancing, retries and telemetry.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <fstream>
#include <sstream>

#include "cmd/command_line.h"
#include "mesh/base/time_format.h"
#include "mesh/proxy/meshproxy_app.h"
#include "mesh/proxy/proxy_config.h"

int main(int argc, char** argv) {
  mesh::ProxyConfig flags;
  std::string config_file;
  std::string timeout;
  std::string stream_idle_timeout;
  CLI::App app{"meshproxy: the mesh sidecar (inbound and outbound proxy, discovery, balancing, "
               "retries, telemetry); HTTP/1.1 and HTTP/2 (h2c, or ALPN h2 over mTLS) on every listener, "
               "gRPC status and deadlines, WebSocket upgrades",
               "meshproxy"};
  app.set_version_flag("--version", std::string("meshproxy ") + MESH_VERSION);
  app.add_option("--config", config_file, "JSON config file (flags given here win over it; checked again on SIGHUP)");
  app.add_option("--service", flags.service, "This service's name (the seed's ServiceName)");
  app.add_option("--service-port", flags.service_port, "The local service's port on 127.0.0.1 (ServicePort)");
  app.add_option("--listen", flags.listen, "Inbound address, in front of the service")->capture_default_str();
  app.add_option("--advertise", flags.advertise,
                 "Address registered with meshd, which other proxies dial: HOST:PORT or [V6]:PORT, a numeric address "
                 "(port 0: the listen port). Default: the listen address, or for a wildcard listen (0.0.0.0, [::]) "
                 "the address of the interface holding the default route");
  app.add_option("--outbound", flags.outbound, "Outbound address for the service's calls (\"\" turns it off)")
      ->capture_default_str();
  app.add_option("--admin", flags.admin, "Admin address: /metrics /healthz /ready /config")->capture_default_str();
  app.add_option("--meshd", flags.meshd, "meshd URL, e.g. http://127.0.0.1:9000 (ControlPlaneURL)");
  app.add_option("--token-file", flags.token_file, "Bearer token for meshd (file readable by its owner only)");
  app.add_option("--threads", flags.threads, "I/O threads (0: one per core)")->capture_default_str();
  app.add_option("--timeout,--request-timeout", timeout,
                 "Head timeout: from a request to its answer's head, a request body's streaming excepted "
                 "(default 10s; x-mesh-timeout overrides); 504 when it passes");
  app.add_option("--stream-idle-timeout", stream_idle_timeout,
                 "Longest silence in a body being relayed (either way) or a WebSocket tunnel before it is cut "
                 "and counted (default 60s; x-mesh-idle-timeout overrides)");
  app.add_flag("!--no-access-log", flags.access_log, "Do not ship an access-log record per request");
  app.add_option("--access-log-sample", flags.access_log_sample, "Share of requests logged, 0..1")
      ->capture_default_str();
  app.add_option("--telemetry-queue", flags.telemetry_queue,
                 "Spans and access-log records queued for the telemetry thread; a full queue drops them "
                 "(counted in mesh_telemetry_dropped_total), never a request from the metrics")
      ->capture_default_str();
  app.add_option("--app-metrics-path", flags.app_metrics_path,
                 "The service serves Prometheus metrics at this path (e.g. /metrics): listed for scraping "
                 "in meshd's /v1/prometheus/targets");
  app.add_flag("--mtls", flags.mtls,
               "mTLS with other proxies: a certificate from meshd's CA, callers verified, meshd's policy enforced");
  app.add_option("--data-dir", flags.data_dir,
                 "Where the mTLS key, certificate and cached policy live (default $XDG_STATE_HOME/mesh/meshproxy-<service>)");
  app.add_option("--meshd-ca-hash", flags.meshd_ca_hash,
                 "sha256:<hex> of meshd's CA key (`meshd ca-hash`): with an https:// --meshd, its CA is fetched, "
                 "checked against this and then the only CA trusted for meshd (a mismatch: exit 1)");
  app.add_option("--join-token-file", flags.join_token_file,
                 "Token presented to meshd for a certificate (file mode 0600; default: --token-file's)");
  app.add_flag("--plaintext-inbound", flags.plaintext_inbound,
               "With --mtls, the mesh's edge: accept callers without certificates inbound (no policy applies)");
  app.add_option("--cert-ttl", flags.cert_ttl, "Lifetime asked for the mTLS certificate (default: meshd's, 24h)");
  app.add_option("--max-client-connections", flags.max_client_connections,
                 "Client connections open at once per listener; beyond, new ones are closed at once and counted "
                 "(0: from the open-files limit, keeping a descriptor per client for its upstream)")
      ->capture_default_str();
  app.add_option("--max-upstream-requests", flags.max_upstream_requests,
                 "Requests in progress per upstream endpoint (waiting for a connection included); beyond, 503 at "
                 "once (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-upstream-connections", flags.max_upstream_connections,
                 "Connections open per upstream endpoint (busy or idle); beyond, requests wait for one (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-upstream-pending", flags.max_upstream_pending,
                 "Requests waiting for a connection per upstream endpoint, until their deadline; beyond, 503 at once "
                 "(0: no limit)")
      ->capture_default_str();
  if (std::optional<int> exit_code = mesh::cmd::ParseCommandLine(app, argc, argv)) return *exit_code;

  mesh::CommandIo io;
  // The file, then the flags given on the command line over it: at start, and again on SIGHUP.
  const auto given = [&](const char* name) { return app.count(name) > 0; };
  const auto read_config = [&]() -> mesh::Result<mesh::ProxyConfig> {
    mesh::ProxyConfig config;
    if (!config_file.empty()) {
      std::ifstream in(config_file);
      if (!in) return mesh::Status::InvalidArgument("cannot read " + config_file);
      std::ostringstream text;
      text << in.rdbuf();
      if (mesh::Status s = mesh::ApplyProxyConfigFile(text.str(), config); !s.ok()) return s.WithContext(config_file);
    }
    if (given("--service")) config.service = flags.service;
    if (given("--service-port")) config.service_port = flags.service_port;
    if (given("--listen")) config.listen = flags.listen;
    if (given("--advertise")) config.advertise = flags.advertise;
    if (given("--outbound")) config.outbound = flags.outbound;
    if (given("--admin")) config.admin = flags.admin;
    if (given("--meshd")) config.meshd = flags.meshd;
    if (given("--token-file")) config.token_file = flags.token_file;
    if (given("--threads")) config.threads = flags.threads;
    if (given("--no-access-log")) config.access_log = false;
    if (given("--access-log-sample")) config.access_log_sample = flags.access_log_sample;
    if (given("--telemetry-queue")) config.telemetry_queue = flags.telemetry_queue;
    if (given("--app-metrics-path")) config.app_metrics_path = flags.app_metrics_path;
    if (given("--mtls")) config.mtls = true;
    if (given("--data-dir")) config.data_dir = flags.data_dir;
    if (given("--meshd-ca-hash")) config.meshd_ca_hash = flags.meshd_ca_hash;
    if (given("--join-token-file")) config.join_token_file = flags.join_token_file;
    if (given("--cert-ttl")) config.cert_ttl = flags.cert_ttl;
    if (given("--plaintext-inbound")) config.plaintext_inbound = true;
    if (given("--max-client-connections")) config.max_client_connections = flags.max_client_connections;
    if (given("--max-upstream-requests")) config.max_upstream_requests = flags.max_upstream_requests;
    if (given("--max-upstream-connections")) config.max_upstream_connections = flags.max_upstream_connections;
    if (given("--max-upstream-pending")) config.max_upstream_pending = flags.max_upstream_pending;
    if (given("--stream-idle-timeout")) {
      mesh::Result<int64_t> ns = mesh::ParseDuration(stream_idle_timeout);
      if (!ns.ok()) return ns.status().WithContext("--stream-idle-timeout");
      config.stream_idle_timeout = std::chrono::milliseconds(*ns / 1'000'000);
    }
    if (given("--timeout")) {
      mesh::Result<int64_t> ns = mesh::ParseDuration(timeout);
      if (!ns.ok()) return ns.status().WithContext("--timeout");
      config.timeout = std::chrono::milliseconds(*ns / 1'000'000);
    }
    return config;
  };
  mesh::Result<mesh::ProxyConfig> config = read_config();
  if (!config.ok()) return mesh::FailCommand("meshproxy", io, config.status());
  if (config_file.empty()) return mesh::RunMeshproxy(*config, io);
  return mesh::RunMeshproxy(*config, io, read_config);
}

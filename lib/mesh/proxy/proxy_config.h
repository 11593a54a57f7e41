// ProxyConfig: what a meshproxy runs with, from its config file and flags. The file is JSON
// with our names or the seed's (ServiceName, ServicePort, ProxyPort, ControlPlaneURL):
//   {"service": "orders", "service_port": 8081, "listen": "127.0.0.1:15001",
//    "advertise": "10.0.0.5:15001", "outbound": "127.0.0.1:15002", "admin": "127.0.0.1:15090", "meshd": "http://127.0.0.1:9000",
//    "threads": 2, "timeout": "10s", "stream_idle_timeout": "60s", "access_log": true, "access_log_sample": 0.1,
//    "telemetry_queue": 4096, "token_file": "/etc/mesh/token", "mtls": true, "data_dir": "/var/lib/mesh/orders",
//    "join_token_file": "/etc/mesh/join-token", "cert_ttl": "24h", "meshd_ca_hash": "sha256:...", "max_client_connections": 4096,
//    "max_upstream_requests": 1024, "max_upstream_connections": 1024, "max_upstream_pending": 1024}
// Flags given on the command line win over the file. Pure.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "mesh/base/status.h"
#include "mesh/http/host_port.h"

namespace mesh {

struct ProxyConfig {
  std::string service;
  int service_port = 0;
  std::string listen = "127.0.0.1:15001";    // inbound, in front of the service
  // The address registered with meshd, which other proxies dial ("" : the listen address, or
  // for a wildcard listen the default route's interface address; see advertised_address.h).
  std::string advertise;
  std::string outbound = "127.0.0.1:15002";  // the service's calls to others; "" turns it off
  std::string admin = "127.0.0.1:15090";     // /metrics, /healthz, /ready, /config
  std::string meshd;                         // "" runs without a control plane
  // "sha256:<hex>" of meshd's CA public key (`meshd ca-hash`): with an https:// meshd, its CA
  // is fetched, checked against this, and then the only CA trusted for meshd.
  std::string meshd_ca_hash;
  std::string token_file;
  int threads = 0;  // 0: one per core
  // The head timeout: until the answer's head (see HttpProxy::Options::request_timeout).
  std::chrono::milliseconds timeout{10000};
  // The longest silence in a body being relayed, or a WebSocket tunnel.
  std::chrono::milliseconds stream_idle_timeout{60000};
  bool access_log = true;
  double access_log_sample = 1.0;  // the share of requests with an access-log record, 0..1
  // Spans and access-log records queued between two drains of the telemetry thread; a full
  // queue drops them (counted). Metrics never go through it.
  int telemetry_queue = 4096;
  // Where the service serves its own Prometheus metrics ("/metrics"), if it does: registered
  // with the instance so that meshd's /v1/prometheus/targets lists the service for scraping.
  std::string app_metrics_path;
  // mTLS between proxies: a certificate from meshd's CA (the key stays in data_dir), the
  // inbound side taking only mTLS and enforcing meshd's authorization policy.
  bool mtls = false;
  std::string data_dir;  // "": $XDG_STATE_HOME/mesh/meshproxy-<service> (~/.local/state/...)
  std::string join_token_file;  // "": token_file's token is presented
  std::string cert_ttl;         // "": meshd's default
  // The mesh's edge: with mtls, still accept callers without a certificate inbound (they have
  // no identity, so no policy applies); the calls out stay mTLS.
  bool plaintext_inbound = false;
  // Client connections open at once per listener; 0: ClientConnectionLimit of the process's
  // open-files limit.
  int64_t max_client_connections = 0;
  // Circuit breaking per upstream endpoint (Envoy's defaults): requests in progress, connections
  // open, requests waiting for a connection; beyond them 503 at once. 0: no limit.
  int64_t max_upstream_requests = 1024;
  int64_t max_upstream_connections = 1024;
  int64_t max_upstream_pending = 1024;
};

// The default client connection limit per listener: what the open-files limit leaves once
// kReservedDescriptors are set aside for the rest of the process, halved so that each client
// connection keeps a descriptor for its upstream connection, shared by `listeners`. At least 1.
inline constexpr uint64_t kReservedDescriptors = 64;
int64_t ClientConnectionLimit(uint64_t open_files, int listeners);

// Overlays the file's settings on `config`. Errors: InvalidArgument naming the field.
Status ApplyProxyConfigFile(std::string_view json, ProxyConfig& config);

// Checks a complete configuration: a service name, a service port, valid addresses (an
// advertise address numeric and not a wildcard), an
// http(s) meshd URL when set, threads 0..256, positive timeouts, a telemetry queue of
// 1..1,048,576, limits not negative; mtls needs meshd; meshd_ca_hash is sha256:<64 hex> and needs
// an https:// meshd.
Status ValidateProxyConfig(const ProxyConfig& config);

// The configuration as JSON (GET /config on the admin port).
std::string ProxyConfigJson(const ProxyConfig& config);

// The data directory to use: config.data_dir, else the XDG state directory for the service.
std::string ProxyDataDir(const ProxyConfig& config, const std::function<const char*(const char*)>& getenv);

}  // namespace mesh

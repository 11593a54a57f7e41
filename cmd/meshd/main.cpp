// meshd: the mesh control plane — registry, telemetry ingest, query API — over one store.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "cmd/command_line.h"
#include "mesh/base/open_file_limit.h"
#include "mesh/base/process_signals.h"
#include "mesh/base/time_format.h"
#include "mesh/base/token_file.h"
#include "mesh/controlplane/control_plane.h"
#include "mesh/controlplane/otlp_grpc_service.h"
#include "mesh/controlplane/security_api.h"
#include "mesh/controlplane/token_commands.h"
#include "mesh/http/asio_http_server.h"
#include "mesh/http/host_port.h"
#include "mesh/http2/asio_http2_server.h"
#include "mesh/security/certificate_authority.h"
#include "mesh/security/certificate_ttl.h"
#include "mesh/security/x509.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/logger.h"
#include "mesh/telemetry/worker_pool_metrics.h"

namespace {

constexpr std::string_view kDefaultOtlpGrpcListen = "127.0.0.1:4317";

struct Options {
  std::string listen = "127.0.0.1:9000";
  std::string advertise;  // host:port meshd hands out for itself; "": the listen address
  std::string otlp_grpc_listen = std::string(kDefaultOtlpGrpcListen);  // "": no OTLP/gRPC port
  std::string db;
  std::string retention = "7d";
  std::string token_file;
  std::string read_token_file;
  // Handlers block on SQLite; twice the cores keeps the cores busy while some wait.
  int threads = std::max(4, 2 * static_cast<int>(std::thread::hardware_concurrency()));
  size_t max_connections = 0;  // 0: what the open-file limit allows
  size_t max_watchers = 20000;
  std::string header_timeout = "5s";
  // Sidecars come back every 2 s (discovery) and 5 s (heartbeat): well above both.
  std::string idle_timeout = "60s";
  std::string log_level = "info";
  size_t max_body = 8 << 20;
  // gzip reaches about 1,000:1 on repeated bytes; telemetry (random ids, timestamps) stays far
  // below 100:1, so 100 refuses bombs and no real batch.
  size_t max_inflate_ratio = 100;
  mesh::SeriesLimits series_limits;
  std::vector<std::string> alert_url_allow;
  std::string ca_dir;
  std::string trust_domain = "mesh.local";
  std::string join_token_file;
  std::string policy;
  std::string cert_ttl = "24h";
  std::string import_cert;
  std::string import_key;
  mesh::TokenCreateOptions token_create;
  std::string output;
  std::string revoke_id;
  size_t max_header_bytes = 64 << 10;
  bool tls = false;
  std::vector<std::string> tls_sans;
  std::string remote_write;
  std::vector<std::string> remote_write_headers;
  std::string remote_write_token_file;
  int64_t remote_write_max_samples = 1'000'000;
  std::string remote_write_max_age = "6h";
  std::string export_otlp;
  std::vector<std::string> export_otlp_headers;
  std::string export_otlp_token_file;
  std::string export_otlp_signals = "traces,logs,metrics";
  std::vector<std::string> export_otlp_services;
  double export_otlp_sample_rate = 1.0;
  std::string export_otlp_keep_slower_than = "0s";
  std::string export_otlp_trace_settle = "10s";
  int64_t export_otlp_max_items = 1'000'000;
  std::string export_otlp_max_age = "6h";
  std::string export_otlp_max_backoff = "30s";
};

// --remote-write and its companions into the exporter's options. Errors: InvalidArgument.
mesh::Status RemoteWriteOptions(const Options& o, mesh::RemoteWriteExporter::Options& out) {
  if (o.remote_write.empty()) {
    if (!o.remote_write_headers.empty() || !o.remote_write_token_file.empty()) {
      return mesh::Status::InvalidArgument("--remote-write-header and --remote-write-bearer-token-file need --remote-write");
    }
    return mesh::Status::Ok();
  }
  if (o.remote_write.rfind("http://", 0) != 0 && o.remote_write.rfind("https://", 0) != 0) {
    return mesh::Status::InvalidArgument("--remote-write '" + o.remote_write +
                                         "': expected an http:// or https:// URL (e.g. "
                                         "http://prometheus:9090/api/v1/write)");
  }
  out.url = o.remote_write;
  for (const std::string& header : o.remote_write_headers) {
    const size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0 || header.find_first_of("\r\n") != std::string::npos) {
      return mesh::Status::InvalidArgument("--remote-write-header '" + header + "': expected Name: value on one line");
    }
    const size_t value = header.find_first_not_of(' ', colon + 1);
    out.headers.emplace_back(header.substr(0, colon), value == std::string::npos ? "" : header.substr(value));
  }
  if (!o.remote_write_token_file.empty()) {
    mesh::Result<std::string> token = mesh::ReadTokenFile(o.remote_write_token_file);
    if (!token.ok()) return token.status().WithContext("--remote-write-bearer-token-file");
    out.headers.emplace_back("Authorization", "Bearer " + *token);
  }
  mesh::Result<int64_t> age = mesh::ParseDuration(o.remote_write_max_age);
  if (!age.ok() || *age <= 0) {
    return mesh::Status::InvalidArgument("--remote-write-max-age '" + o.remote_write_max_age + "': expected a duration such as 6h");
  }
  out.max_age_ns = *age;
  out.max_samples = o.remote_write_max_samples;
  return mesh::Status::Ok();
}

// --export-otlp and its companions into the exporter's options. Errors: InvalidArgument.
mesh::Status ExportOtlpOptions(const Options& o, mesh::OtlpExporter::Options& out) {
  if (o.export_otlp.empty()) {
    if (!o.export_otlp_headers.empty() || !o.export_otlp_token_file.empty() || !o.export_otlp_services.empty()) {
      return mesh::Status::InvalidArgument(
          "--export-otlp-header, --export-otlp-bearer-token-file and --export-otlp-services need --export-otlp");
    }
    return mesh::Status::Ok();
  }
  if (o.export_otlp.rfind("http://", 0) != 0 && o.export_otlp.rfind("https://", 0) != 0) {
    return mesh::Status::InvalidArgument("--export-otlp '" + o.export_otlp +
                                         "': expected the receiver's base http:// or https:// URL (e.g. "
                                         "http://otel-collector:4318; /v1/traces, /v1/logs, /v1/metrics are appended)");
  }
  out.url = o.export_otlp;
  for (const std::string& header : o.export_otlp_headers) {
    // Name=value as OTEL_EXPORTER_OTLP_HEADERS writes it, or Name: value as --remote-write-header.
    const size_t sep = header.find_first_of(":=");
    if (sep == std::string::npos || sep == 0 || header.find_first_of("\r\n") != std::string::npos) {
      return mesh::Status::InvalidArgument("--export-otlp-header '" + header +
                                           "': expected Name=value (or Name: value) on one line");
    }
    const size_t value = header.find_first_not_of(' ', sep + 1);
    out.headers.emplace_back(header.substr(0, sep), value == std::string::npos ? "" : header.substr(value));
  }
  if (!o.export_otlp_token_file.empty()) {
    mesh::Result<std::string> token = mesh::ReadTokenFile(o.export_otlp_token_file);
    if (!token.ok()) return token.status().WithContext("--export-otlp-bearer-token-file");
    out.headers.emplace_back("Authorization", "Bearer " + *token);
  }
  mesh::Result<std::vector<mesh::OtlpSignal>> signals = mesh::ParseOtlpSignals(o.export_otlp_signals);
  if (!signals.ok()) return signals.status().WithContext("--export-otlp-signals");
  out.policy.signals = *signals;
  out.policy.services = o.export_otlp_services;
  out.policy.sample_rate = o.export_otlp_sample_rate;
  const std::pair<const char*, const std::string*> durations[] = {
      {"--export-otlp-keep-slower-than", &o.export_otlp_keep_slower_than},
      {"--export-otlp-trace-settle", &o.export_otlp_trace_settle},
      {"--export-otlp-max-age", &o.export_otlp_max_age},
      {"--export-otlp-max-backoff", &o.export_otlp_max_backoff}};
  int64_t parsed[4] = {};
  for (size_t i = 0; i < std::size(durations); ++i) {
    mesh::Result<int64_t> d = mesh::ParseDuration(*durations[i].second);
    if (!d.ok() || *d < 0 || (i > 0 && *d == 0)) {
      return mesh::Status::InvalidArgument(std::string(durations[i].first) + " '" + *durations[i].second +
                                           "': expected a duration such as 500ms, 10s or 6h");
    }
    parsed[i] = *d;
  }
  out.policy.keep_slower_than_ns = parsed[0];
  out.settle_ns = parsed[1];
  out.max_age_ns = parsed[2];
  out.backoff.max = std::chrono::milliseconds(std::max<int64_t>(parsed[3] / 1'000'000, 1));
  out.backoff.initial = std::min(out.backoff.initial, out.backoff.max);
  out.max_items = o.export_otlp_max_items;
  return mesh::Status::Ok();
}

// meshd's server certificate lasts this long from each start, and is issued anew at every start.
constexpr int64_t kServerCertificateNs = 365LL * 24 * 3600 * 1'000'000'000;

// The names a --tls certificate is valid for: --tls-san, else the listen host (unless it is a
// wildcard), 127.0.0.1, ::1 and localhost.
std::vector<std::string> TlsHosts(const Options& o) {
  if (!o.tls_sans.empty()) return o.tls_sans;
  std::vector<std::string> hosts{"127.0.0.1", "::1", "localhost"};
  for (const std::string* address : {&o.listen, &o.advertise}) {
    mesh::Result<mesh::HostPort> at = mesh::ParseHostPort(*address);
    if (at.ok() && !mesh::IsWildcardHost(at->host) && std::find(hosts.begin(), hosts.end(), at->host) == hosts.end()) {
      hosts.insert(hosts.begin(), at->host);
    }
  }
  return hosts;
}

// --advertise: host:port or [v6]:port with a real port, not a wildcard. Errors: InvalidArgument.
mesh::Status CheckAdvertise(const std::string& advertise) {
  mesh::Result<mesh::HostPort> at = mesh::ParseHostPort(advertise);
  if (!at.ok()) return at.status().WithContext("--advertise");
  if (at->port == 0 || mesh::IsWildcardHost(at->host)) {
    return mesh::Status::InvalidArgument("--advertise '" + advertise +
                                         "': expected the host:port others reach meshd at (a port 1..65535, not "
                                         "0.0.0.0 or [::])");
  }
  return mesh::Status::Ok();
}

// The server's key (new at each start, never written to disk) and certificate from the CA.
mesh::Result<mesh::AsioHttpServer::Options::Tls> ServerTls(const Options& o, const mesh::CertificateAuthority& ca,
                                                          int64_t now_ns) {
  mesh::Result<std::string> key = mesh::GeneratePrivateKeyPem();
  if (!key.ok()) return key.status();
  mesh::Result<std::string> cert = ca.IssueServer({.key_pem = *key,
                                                   .hosts = TlsHosts(o),
                                                   .not_before_ns = now_ns - 3600'000'000'000,  // clock skew
                                                   .not_after_ns = now_ns + kServerCertificateNs});
  if (!cert.ok()) return cert.status();
  return mesh::AsioHttpServer::Options::Tls{
      .certificate_pem = *cert, .private_key_pem = *key, .client_ca_pem = ca.certificate_pem()};
}

// The CA lives beside the store unless --ca-dir says otherwise.
std::string CaDir(const Options& o, const std::string& db_path) {
  if (!o.ca_dir.empty()) return o.ca_dir;
  const std::filesystem::path parent = std::filesystem::path(db_path).parent_path();
  return (parent.empty() ? std::filesystem::path(".") : parent).string() + "/ca";
}

std::string StorePath(const Options& o) {
  return mesh::ResolveStorePath(o.db, [](const char* n) { return std::getenv(n); });
}

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "meshd: %s\n", message.c_str());
  return code;
}

mesh::Result<int> TimeoutMs(const std::string& flag, const std::string& text) {
  mesh::Result<int64_t> ns = mesh::ParseDuration(text);
  if (!ns.ok()) return mesh::Status::InvalidArgument(flag + ": " + ns.status().message());
  if (*ns < 100'000'000 || *ns > 3600'000'000'000) {
    return mesh::Status::InvalidArgument(flag + " must be in 100ms..1h (got " + text + ")");
  }
  return static_cast<int>(*ns / 1'000'000);
}

int ImportCa(const Options& o) {
  const std::string dir = CaDir(o, StorePath(o));
  if (mesh::Status s = mesh::CertificateAuthority::Import(dir, o.import_cert, o.import_key); !s.ok()) {
    return Fail("ca import: " + s.message(), s.code() == mesh::Status::Code::kInvalidArgument ? 2 : 1);
  }
  std::printf("imported the CA into %s\n", dir.c_str());
  return 0;
}

// SIGHUP: the policy file is read again (a bad one keeps the last good policy). The write and
// read tokens are read at start only; scoped tokens live in the store and need no reload.
void ReloadOnSighup(mesh::SecurityApi& security_api, mesh::Logger& log) {
  mesh::Result<std::string> version = security_api.ReloadPolicy();
  if (version.ok()) {
    log.Info("SIGHUP: policy reloaded", {{"version", *version}});
  } else if (version.status().code() == mesh::Status::Code::kNotFound) {
    log.Info("SIGHUP: nothing to reload", {{"reason", "no --policy file; token files are read at start only"}});
  } else {
    log.Error("SIGHUP: policy not reloaded, the last good one stays in force", {{"error", version.status().message()}});
  }
}

int Run(const Options& o) {
  auto level = mesh::ParseLogLevel(o.log_level);
  if (!level) return Fail("unknown --log-level '" + o.log_level + "'", 2);
  mesh::Logger log("meshd", *level);
  log.AddSink(mesh::MakeStreamSink(stderr));

  mesh::Result<int64_t> retention = mesh::ParseDuration(o.retention);
  if (!retention.ok()) return Fail("--retention: " + retention.status().message(), 2);
  if (o.threads < 1 || o.threads > 1024) return Fail("--threads must be in 1..1024", 2);
  mesh::Result<int> header_timeout_ms = TimeoutMs("--header-timeout", o.header_timeout);
  if (!header_timeout_ms.ok()) return Fail(header_timeout_ms.status().message(), 2);
  mesh::Result<int> idle_timeout_ms = TimeoutMs("--idle-timeout", o.idle_timeout);
  if (!idle_timeout_ms.ok()) return Fail(idle_timeout_ms.status().message(), 2);

  if (!o.advertise.empty()) {
    if (mesh::Status s = CheckAdvertise(o.advertise); !s.ok()) return Fail(s.message(), 2);
  }

  mesh::ControlPlane::Options plane_options;
  plane_options.db_path = StorePath(o);
  plane_options.advertise = o.advertise.empty() ? "" : mesh::FormatHostPort(*mesh::ParseHostPort(o.advertise));
  plane_options.retention_ns = *retention;
  plane_options.max_watchers = o.max_watchers;
  plane_options.series_limits = o.series_limits;
  mesh::Result<mesh::UrlAllowList> alert_urls = mesh::UrlAllowList::Parse(o.alert_url_allow);
  if (!alert_urls.ok()) return Fail("--alert-url-allow: " + alert_urls.status().message(), 2);
  plane_options.alert_urls = std::move(alert_urls).value();
  plane_options.warn = [&log](const std::string& warning) {
    log.Warn("store permissions", {{"warning", warning}});
  };
  plane_options.inflate_limits.max_bytes = o.max_body;
  plane_options.inflate_limits.max_ratio = o.max_inflate_ratio;
  plane_options.trust_domain = o.trust_domain;
  for (auto [path, token] : {std::pair{&o.token_file, &plane_options.token},
                             std::pair{&o.read_token_file, &plane_options.read_token}}) {
    if (path->empty()) continue;
    mesh::Result<std::string> read = mesh::ReadTokenFile(*path);
    if (!read.ok()) return Fail(read.status().message(), 2);
    *token = *read;
  }
  mesh::Result<int64_t> cert_ttl = mesh::ParseCertTtl(o.cert_ttl);
  if (!cert_ttl.ok()) return Fail("--cert-ttl: " + cert_ttl.status().message(), 2);
  if (!o.join_token_file.empty()) {
    return Fail("--join-token-file was removed: a shared join token let its holders get any service's certificate; "
                "create one token per service with `meshd token create --service NAME`",
                2);
  }
  mesh::SecurityApi::Options security;
  security.policy_path = o.policy;
  security.default_ttl_ns = *cert_ttl;
  const mesh::Clock& clock = mesh::SystemClock::Instance();
  mesh::Result<mesh::CertificateAuthority> ca =
      mesh::CertificateAuthority::LoadOrCreate(CaDir(o, plane_options.db_path), o.trust_domain, clock.NowNs());
  if (!ca.ok()) return Fail("certificate authority: " + ca.status().message(), 2);
  if (!o.tls && !o.tls_sans.empty()) return Fail("--tls-san needs --tls", 2);
  std::optional<mesh::AsioHttpServer::Options::Tls> tls;
  if (o.tls) {
    mesh::Result<mesh::AsioHttpServer::Options::Tls> made = ServerTls(o, *ca, clock.NowNs());
    if (!made.ok()) return Fail("--tls: " + made.status().message(), 2);
    tls = std::move(made).value();
  }

  if (mesh::Status s = RemoteWriteOptions(o, plane_options.remote_write); !s.ok()) return Fail(s.message(), 2);
  plane_options.remote_write.report = [&log](const std::string& message) { log.Warn(message); };
  if (mesh::Status s = ExportOtlpOptions(o, plane_options.export_otlp); !s.ok()) return Fail(s.message(), 2);
  plane_options.export_otlp.report = [&log](const std::string& message) { log.Warn(message); };
  auto plane = mesh::ControlPlane::Open(plane_options, clock);
  if (!plane.ok()) return Fail(plane.status().message(), 1);
  auto security_api = mesh::SecurityApi::Create(std::move(ca).value(), security, clock, (*plane)->access());
  if (!security_api.ok()) return Fail(security_api.status().message(), 2);

  mesh::HttpRouter router;
  (*plane)->AddRoutes(router);
  (*security_api)->AddRoutes(router);
  // Each sidecar keeps connections open: the slots are what the descriptors allow, less what
  // the store, logs and outgoing clients need.
  const uint64_t open_files = mesh::RaiseOpenFileLimit();
  mesh::AsioHttpServer::Options server_options;
  server_options.listen = o.listen;
  server_options.threads = o.threads;
  server_options.max_connections =
      o.max_connections > 0 ? o.max_connections : mesh::ConnectionsWithin(open_files, 256);
  server_options.max_body_bytes = o.max_body;
  server_options.max_header_bytes = o.max_header_bytes;
  server_options.header_timeout_ms = *header_timeout_ms;
  server_options.keep_alive_timeout_ms = *idle_timeout_ms;
  std::optional<mesh::AsioHttp2Server::Options::Tls> grpc_tls;
  if (tls) grpc_tls = mesh::AsioHttp2Server::Options::Tls{tls->certificate_pem, tls->private_key_pem, tls->client_ca_pem};
  server_options.tls = std::move(tls);
  // Liveness is answered even while every handler thread waits on the store.
  server_options.answers_inline = &mesh::ControlPlane::AnswersWithoutTheStore;
  // Failures are meshd's own events: 5xx answers are logged as errors, refused credentials
  // (401, 403) as warnings, everything else only at debug level.
  auto server = mesh::AsioHttpServer::Start(server_options, [&](const mesh::HttpRequest& r) {
    mesh::HttpResponse response = router.Handle(r);
    const bool refused = response.status == 401 || response.status == 403;
    const mesh::LogLevel level = response.status >= 500 ? mesh::LogLevel::kError
                                 : refused              ? mesh::LogLevel::kWarn
                                                        : mesh::LogLevel::kDebug;
    if (log.Enabled(level)) {
      log.Log(level, "request", {{"method", r.method}, {"path", r.path}, {"status", response.status},
                                 {"remote", r.remote_addr},
                                 {"error", response.status >= 400 ? response.body.substr(0, 300) : ""}});
    }
    return response;
  });
  if (!server.ok()) return Fail(server.status().message(), 1);

  // OTLP/gRPC: the same routes (token guard, limits, store path) behind the gRPC adapter.
  std::unique_ptr<mesh::AsioHttp2Server> grpc_server;
  if (!o.otlp_grpc_listen.empty()) {
    mesh::AsioHttp2Server::Options grpc_options;
    grpc_options.listen = o.otlp_grpc_listen;
    grpc_options.threads = o.threads;
    grpc_options.max_connections = server_options.max_connections;
    grpc_options.max_body_bytes = o.max_body + 5;  // the message's 5-byte gRPC prefix
    grpc_options.idle_timeout_ms = *idle_timeout_ms;
    grpc_options.tls = std::move(grpc_tls);
    auto started = mesh::AsioHttp2Server::Start(grpc_options, [&](const mesh::HttpRequest& r, bool too_large) {
      mesh::Http2Response response = mesh::HandleOtlpGrpcCall(r, too_large, [&](const mesh::HttpRequest& http) {
        return router.Handle(http);
      });
      if (log.Enabled(mesh::LogLevel::kDebug)) {
        log.Log(mesh::LogLevel::kDebug, "grpc call", {{"path", r.path}, {"remote", r.remote_addr}});
      }
      return response;
    });
    // The default port taken (a second meshd on the host, a collector) costs the gRPC port, not
    // meshd; a port asked for by name must be had.
    if (!started.ok() && o.otlp_grpc_listen != kDefaultOtlpGrpcListen) {
      return Fail("--otlp-grpc-listen: " + started.status().message(), 1);
    }
    if (!started.ok()) {
      log.Warn("OTLP/gRPC is off: " + started.status().message() + " (give --otlp-grpc-listen a free host:port)");
    } else {
      grpc_server = std::move(started).value();
      const std::string grpc_host = o.otlp_grpc_listen.substr(0, o.otlp_grpc_listen.rfind(':'));
      log.Info("meshd OTLP/gRPC listening",
               {{"address", grpc_host + ":" + std::to_string(grpc_server->port())}, {"tls", o.tls ? "h2" : "h2c"}});
    }
  }

  // Saturation on /metrics: each listener's connections and each handler pool's busy time.
  (*plane)->AddMetricsCollector([api = server->get(), grpc = grpc_server.get()] {
    const mesh::AsioHttpServer::Usage u = api->usage();
    std::vector<mesh::ListenerUsage> listeners{{"api", static_cast<int64_t>(u.connections)}};
    std::vector<mesh::WorkerPoolUsage> pools{{"http_handlers", u.handler_threads, u.handler_busy_ns}};
    if (grpc != nullptr) {
      const mesh::AsioHttp2Server::Usage g = grpc->usage();
      listeners.push_back({"otlp_grpc", static_cast<int64_t>(g.connections)});
      pools.push_back({"otlp_grpc_handlers", g.handler_threads, g.handler_busy_ns});
    }
    return mesh::ServerUsageFamilies(listeners, pools);
  });

  log.Info("certificates are issued only to scoped tokens (meshd token create --service NAME) and client "
           "certificates; the write and read tokens get none");
  if (plane_options.token.empty()) {
    log.Warn("no --token-file: writes (telemetry ingest, alerts, silences) and registration are open to anyone who "
             "can reach meshd; keep it on loopback, or give --token-file and a scoped token per service");
  }
  const std::string host = o.listen.substr(0, o.listen.rfind(':'));
  const std::string scheme = o.tls ? "https://" : "http://";
  log.Info("meshd listening", {{"url", scheme + host + ":" + std::to_string((*server)->port())},
                               {"advertised", plane_options.advertise.empty() ? "(the Host of each request)"
                                                                                : scheme + plane_options.advertise},
                               {"db", plane_options.db_path},
                               {"auth", plane_options.token.empty() ? "none" : "bearer"},
                               {"ca", CaDir(o, plane_options.db_path)},
                               {"trust_domain", o.trust_domain},
                               {"policy", o.policy.empty() ? "none (all mesh identities allowed)" : o.policy},
                               {"read_auth", plane_options.read_token.empty() ? "none" : "bearer"},
                               {"threads", o.threads},
                               {"max_connections", static_cast<int64_t>(server_options.max_connections)}});
  while (mesh::SleepUnlessStopped(std::chrono::milliseconds(500))) {
    if (mesh::TakeReloadRequest()) ReloadOnSighup(**security_api, log);
  }
  log.Info("meshd stopping: draining requests and flushing the store");
  if (grpc_server) grpc_server->Stop();
  // Parked discovery long-polls get their 304 before the server closes their connections.
  (*plane)->StopWatches();
  (*server)->Stop();
  (*plane)->Stop();
  log.Info("meshd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"meshd: the mesh control plane (registry, telemetry ingest, query API)", "meshd"};
  app.set_version_flag("--version", std::string("meshd ") + MESH_VERSION);
  app.add_option("--listen", o.listen, "host:port to serve on (port 0 picks a free one)")->capture_default_str();
  app.add_option("--otlp-grpc-listen", o.otlp_grpc_listen,
                 "host:port of the OTLP/gRPC port (the Trace, Logs and Metrics Export services; HTTP/2, with --tls "
                 "over TLS; a call's grpc-timeout is applied); \"\" turns it off; the default port already taken "
                 "turns it off with a warning")
      ->capture_default_str();
  app.add_option("--advertise", o.advertise,
                 "host:port (or [v6]:port) others reach meshd at, handed out for meshd itself (Prometheus "
                 "targets; with --tls, named in its certificate); needed with a wildcard --listen such as "
                 "0.0.0.0:9000 (default: the Host each request was sent to)");
  app.add_option("--db", o.db, "Store file (default: $MESH_DB, else $XDG_DATA_HOME/mesh/mesh.db)");
  app.add_option("--retention", o.retention, "Drop telemetry older than this (e.g. 7d, 12h)")->capture_default_str();
  app.add_option("--token-file", o.token_file, "Require this bearer token on write endpoints (file mode 0600)");
  app.add_option("--read-token-file", o.read_token_file,
                 "Require this bearer token (or the write token) on read endpoints (file mode 0600)");
  app.add_option("--threads", o.threads,
                 "Threads running request handlers (connections themselves hold no thread)")
      ->capture_default_str();
  app.add_option("--max-connections", o.max_connections,
                 "Most connections held at once; past it clients wait to be accepted "
                 "(default: the open-file limit, raised to its hard limit, less 256)");
  app.add_option("--max-watchers", o.max_watchers,
                 "Most discovery long-polls (GET /v1/services/NAME?wait=30s) parked at once; past it "
                 "they are answered 429 and their sidecars poll instead")
      ->capture_default_str();
  app.add_option("--header-timeout", o.header_timeout,
                 "A request's head must arrive whole within this of its first byte, or the "
                 "connection is closed")
      ->capture_default_str();
  app.add_option("--idle-timeout", o.idle_timeout,
                 "A kept-alive connection with no request for this long is closed")
      ->capture_default_str();
  app.add_option("--log-level", o.log_level, "debug|info|warn|error")->capture_default_str();
  app.add_option("--max-body", o.max_body, "Largest request body in bytes (larger: 413)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  app.add_option("--max-inflate-ratio", o.max_inflate_ratio,
                 "A gzip or deflate body may inflate to this many times its size (and to at most "
                 "--max-body), once its route and token are accepted (larger: 413)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  app.add_option("--max-series-per-push", o.series_limits.per_push,
                 "Most distinct series one metrics push may carry; a larger push is refused whole "
                 "(400, counted in mesh_series_refused_total{reason=\"per_push\"})")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}));
  app.add_option("--max-series-per-service", o.series_limits.per_service,
                 "Most series stored per service label; a push that would pass it is refused "
                 "whole (400, mesh_series_refused_total{reason=\"per_service\"})")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}));
  app.add_option("--max-header-bytes", o.max_header_bytes,
                 "Largest request line and headers together, in bytes (larger: 431)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 20));
  app.add_flag("--tls", o.tls,
               "Serve HTTPS with a certificate from meshd's CA (issued at each start, valid a year); client "
               "certificates from the CA are accepted as their service's credential");
  app.add_option("--tls-san", o.tls_sans,
                 "A host name or IP address the --tls certificate names (repeatable; default: the listen host, "
                 "127.0.0.1, ::1, localhost)");
  app.add_option("--ca-dir", o.ca_dir, "The CA's directory (ca.crt, ca.key; created on first start; default: ca/ beside the store)");
  app.add_option("--trust-domain", o.trust_domain, "SPIFFE trust domain of issued identities")->capture_default_str();
  app.add_option("--join-token-file", o.join_token_file, "Removed: use `meshd token create --service NAME`")
      ->group("");
  app.add_option("--policy", o.policy, "Authorization policy file (JSON): which service may call which (read again on SIGHUP)");
  app.add_option("--cert-ttl", o.cert_ttl, "Default lifetime of issued certificates (10s..30d)")
      ->capture_default_str();
  app.add_option("--alert-url-allow", o.alert_url_allow,
                 "Repeatable. A URL prefix (scheme://host:port/path) that alert checks posted to "
                 "meshd may send to (webhook, Alertmanager); default: none, such checks cannot "
                 "make meshd send anywhere (403)")
      ->allow_extra_args(false);
  app.add_option("--remote-write", o.remote_write,
                 "Send every metric sample meshd stores to this Prometheus remote-write 1.0 receiver (Prometheus "
                 "with --web.enable-remote-write-receiver: http://HOST:9090/api/v1/write; Mimir, Thanos, "
                 "VictoriaMetrics), through an outbox in the store that survives outages and restarts");
  app.add_option("--remote-write-header", o.remote_write_headers,
                 "Repeatable. 'Name: value' sent with every remote-write request (e.g. X-Scope-OrgID: team)")
      ->allow_extra_args(false);
  app.add_option("--remote-write-bearer-token-file", o.remote_write_token_file,
                 "Send 'Authorization: Bearer <the file's token>' with remote-write requests (file mode 0600)");
  app.add_option("--remote-write-max-samples", o.remote_write_max_samples,
                 "Most samples the remote-write outbox keeps; beyond it the oldest are dropped "
                 "(mesh_export_dropped_total{reason=\"queue_full\"})")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{1'000'000'000}));
  app.add_option("--remote-write-max-age", o.remote_write_max_age,
                 "Samples queued longer than this are dropped unsent (mesh_export_dropped_total{reason=\"too_old\"})")
      ->capture_default_str();
  app.add_option("--export-otlp", o.export_otlp,
                 "Send the spans, logs and metrics meshd stores to this OTLP/HTTP receiver's base URL (an "
                 "OpenTelemetry Collector, Jaeger, Tempo, Loki 3: http://HOST:4318; /v1/traces, /v1/logs, /v1/metrics "
                 "are appended) as gzip protobuf, through an outbox in the store that survives outages and restarts. "
                 "https:// trusts the system CAs, or SSL_CERT_FILE");
  app.add_option("--export-otlp-header", o.export_otlp_headers,
                 "Repeatable. 'Name=value' (or 'Name: value') sent with every OTLP export request "
                 "(e.g. X-Scope-OrgID=team)")
      ->allow_extra_args(false);
  app.add_option("--export-otlp-bearer-token-file", o.export_otlp_token_file,
                 "Send 'Authorization: Bearer <the file's token>' with OTLP export requests (file mode 0600)");
  app.add_option("--export-otlp-signals", o.export_otlp_signals, "Which signals --export-otlp sends (comma-separated)")
      ->capture_default_str();
  app.add_option("--export-otlp-services", o.export_otlp_services,
                 "Repeatable or comma-separated. Export only these services' telemetry (default: every service)")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--export-otlp-sample-rate", o.export_otlp_sample_rate,
                 "Tail sampling: the share of traces exported, decided per trace from a hash of its id once the "
                 "trace is complete; traces with an error span (and slow ones) are always kept")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--export-otlp-keep-slower-than", o.export_otlp_keep_slower_than,
                 "Tail sampling: always keep a trace with a span slower than this (e.g. 500ms; 0s: no such rule)")
      ->capture_default_str();
  app.add_option("--export-otlp-trace-settle", o.export_otlp_trace_settle,
                 "Tail sampling: a trace is complete, and decided, once none of its spans has arrived for this long")
      ->capture_default_str();
  app.add_option("--export-otlp-max-items", o.export_otlp_max_items,
                 "Most spans, log records and metric points the OTLP outbox keeps; beyond it the oldest are dropped "
                 "(mesh_export_dropped_total{exporter=\"otlp\",reason=\"queue_full\"})")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{1'000'000'000}));
  app.add_option("--export-otlp-max-age", o.export_otlp_max_age,
                 "Items queued for OTLP export longer than this are dropped unsent "
                 "(mesh_export_dropped_total{exporter=\"otlp\",reason=\"too_old\"})")
      ->capture_default_str();
  app.add_option("--export-otlp-max-backoff", o.export_otlp_max_backoff,
                 "Longest wait between two tries while the OTLP receiver fails (exponential backoff with jitter up to it)")
      ->capture_default_str();
  // --db and --ca-dir may come after "ca import" as well as before it.
  app.fallthrough();
  CLI::App* ca_cmd = app.add_subcommand("ca", "Manage the certificate authority");
  ca_cmd->require_subcommand(1);
  CLI::App* import_cmd = ca_cmd->add_subcommand("import", "Use an existing CA (PEM certificate and key) from now on");
  import_cmd->add_option("--cert", o.import_cert, "CA certificate (PEM)")->required();
  import_cmd->add_option("--key", o.import_key, "CA private key (PEM)")->required();
  CLI::App* hash_cmd = app.add_subcommand("ca-hash", "Print sha256:<hex> of the CA's public key (meshproxy --meshd-ca-hash)");
  CLI::App* token_cmd = app.add_subcommand("token", "Scoped bootstrap tokens: each names one service");
  token_cmd->require_subcommand(1);
  CLI::App* create_cmd = token_cmd->add_subcommand(
      "create", "Print a new token for one service (stdout: the token alone; stderr: a hint)");
  create_cmd->add_option("--service", o.token_create.service, "The service the token names")->required();
  create_cmd->add_option("--ttl", o.token_create.ttl, "Lifetime, 1s..365d; 0: never expires")->capture_default_str();
  create_cmd->add_option("--uses", o.token_create.uses, "Certificates it may get (default: unlimited)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  create_cmd->add_option("-o,--output", o.output, "json: {id, token, service, expires, uses, ca_hash}")
      ->check(CLI::IsMember({"json"}));
  CLI::App* list_cmd = token_cmd->add_subcommand("list", "List the tokens (never their secrets)");
  list_cmd->add_option("-o,--output", o.output, "table or json")->check(CLI::IsMember({"table", "json"}));
  CLI::App* revoke_cmd = token_cmd->add_subcommand("revoke", "Revoke a token: refused from the next request on");
  revoke_cmd->add_option("id", o.revoke_id, "The token's id (the part before the dot)")->required();
  if (std::optional<int> exit_code = mesh::cmd::ParseCommandLine(app, argc, argv)) return *exit_code;
  if (import_cmd->parsed()) return ImportCa(o);
  mesh::CommandIo io;
  if (hash_cmd->parsed()) return mesh::RunCaHash(CaDir(o, StorePath(o)), io);
  if (create_cmd->parsed()) {
    o.token_create.db_path = StorePath(o);
    o.token_create.ca_dir = CaDir(o, o.token_create.db_path);
    o.token_create.output = o.output;
    return mesh::RunTokenCreate(o.token_create, io);
  }
  if (list_cmd->parsed()) return mesh::RunTokenList(StorePath(o), o.output, io);
  if (revoke_cmd->parsed()) return mesh::RunTokenRevoke(StorePath(o), o.revoke_id, io);
  mesh::InstallStopHandlers();
  mesh::InstallReloadHandler();
  return Run(o);
}

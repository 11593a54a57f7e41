#include "mesh/proxy/config_reload.h"

namespace mesh {

ConfigReview ReviewReloadedConfig(const ProxyConfig& running, const Result<ProxyConfig>& reread) {
  ConfigReview review;
  if (!reread.ok()) {
    review.refused = reread.status();
    return review;
  }
  const ProxyConfig& next = *reread;
  if (Status s = ValidateProxyConfig(next); !s.ok()) {
    review.refused = s;
    return review;
  }
  const auto differs = [&](const char* name, bool changed) {
    if (changed) review.changed.emplace_back(name);
  };
  differs("service", next.service != running.service);
  differs("service_port", next.service_port != running.service_port);
  differs("listen", next.listen != running.listen);
  differs("advertise", next.advertise != running.advertise);
  differs("outbound", next.outbound != running.outbound);
  differs("admin", next.admin != running.admin);
  differs("meshd", next.meshd != running.meshd);
  differs("token_file", next.token_file != running.token_file);
  differs("threads", next.threads != running.threads);
  differs("timeout", next.timeout != running.timeout);
  differs("stream_idle_timeout", next.stream_idle_timeout != running.stream_idle_timeout);
  differs("access_log", next.access_log != running.access_log);
  differs("access_log_sample", next.access_log_sample != running.access_log_sample);
  differs("telemetry_queue", next.telemetry_queue != running.telemetry_queue);
  differs("app_metrics_path", next.app_metrics_path != running.app_metrics_path);
  differs("mtls", next.mtls != running.mtls);
  differs("data_dir", next.data_dir != running.data_dir);
  differs("join_token_file", next.join_token_file != running.join_token_file);
  differs("cert_ttl", next.cert_ttl != running.cert_ttl);
  differs("plaintext_inbound", next.plaintext_inbound != running.plaintext_inbound);
  differs("max_client_connections", next.max_client_connections != running.max_client_connections);
  differs("max_upstream_requests", next.max_upstream_requests != running.max_upstream_requests);
  differs("max_upstream_connections", next.max_upstream_connections != running.max_upstream_connections);
  differs("max_upstream_pending", next.max_upstream_pending != running.max_upstream_pending);
  return review;
}

}  // namespace mesh

#include "mesh/proxy/proxy_config.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/proxy/advertised_address.h"
#include "mesh/security/certificate_ttl.h"

namespace mesh {

Status ApplyProxyConfigFile(std::string_view json, ProxyConfig& c) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return doc.status().WithContext("config file");
  if (!doc->isObject()) return Status::InvalidArgument("config file: expected a JSON object");
  const Json::Value& v = *doc;
  for (const std::string& key : v.getMemberNames()) {
    const Json::Value& value = v[key];
    const auto text = [&](std::string& out) -> Status {
      if (!value.isString()) return Status::InvalidArgument("config file: " + key + " must be a string");
      out = value.asString();
      return Status::Ok();
    };
    const auto port = [&](int& out) -> Status {
      if (!value.isInt() || value.asInt() < 1 || value.asInt() > 65535) {
        return Status::InvalidArgument("config file: " + key + " must be a port number 1..65535");
      }
      out = value.asInt();
      return Status::Ok();
    };
    Status s;
    if (key == "service" || key == "ServiceName") {
      s = text(c.service);
    } else if (key == "service_port" || key == "ServicePort") {
      s = port(c.service_port);
    } else if (key == "listen") {
      s = text(c.listen);
    } else if (key == "advertise") {
      s = text(c.advertise);
    } else if (key == "ProxyPort") {
      int p = 0;
      s = port(p);
      if (s.ok()) c.listen = "127.0.0.1:" + std::to_string(p);
    } else if (key == "outbound") {
      s = text(c.outbound);
    } else if (key == "admin") {
      s = text(c.admin);
    } else if (key == "meshd" || key == "ControlPlaneURL") {
      s = text(c.meshd);
    } else if (key == "token_file") {
      s = text(c.token_file);
    } else if (key == "threads") {
      if (!value.isInt()) s = Status::InvalidArgument("config file: threads must be an integer");
      else c.threads = value.asInt();
    } else if (key == "timeout" || key == "stream_idle_timeout") {
      std::string t;
      s = text(t);
      if (s.ok()) {
        Result<int64_t> ns = ParseDuration(t);
        if (!ns.ok()) return ns.status().WithContext("config file: " + key);
        (key == "timeout" ? c.timeout : c.stream_idle_timeout) = std::chrono::milliseconds(*ns / 1'000'000);
      }
    } else if (key == "access_log_sample") {
      if (!value.isNumeric()) s = Status::InvalidArgument("config file: access_log_sample must be a number");
      else c.access_log_sample = value.asDouble();
    } else if (key == "telemetry_queue") {
      if (!value.isInt()) s = Status::InvalidArgument("config file: telemetry_queue must be an integer");
      else c.telemetry_queue = value.asInt();
    } else if (key == "app_metrics_path") {
      s = text(c.app_metrics_path);
    } else if (key == "mtls") {
      if (!value.isBool()) s = Status::InvalidArgument("config file: mtls must be true or false");
      else c.mtls = value.asBool();
    } else if (key == "data_dir") {
      s = text(c.data_dir);
    } else if (key == "meshd_ca_hash") {
      s = text(c.meshd_ca_hash);
    } else if (key == "join_token_file") {
      s = text(c.join_token_file);
    } else if (key == "plaintext_inbound") {
      if (!value.isBool()) s = Status::InvalidArgument("config file: plaintext_inbound must be true or false");
      else c.plaintext_inbound = value.asBool();
    } else if (key == "cert_ttl") {
      s = text(c.cert_ttl);
    } else if (key == "max_client_connections" || key == "max_upstream_requests" ||
               key == "max_upstream_connections" || key == "max_upstream_pending") {
      int64_t& out = key == "max_client_connections"     ? c.max_client_connections
                     : key == "max_upstream_requests"    ? c.max_upstream_requests
                     : key == "max_upstream_connections" ? c.max_upstream_connections
                                                         : c.max_upstream_pending;
      if (!value.isIntegral()) s = Status::InvalidArgument("config file: " + key + " must be an integer");
      else out = value.asInt64();
    } else if (key == "access_log") {
      if (!value.isBool()) s = Status::InvalidArgument("config file: access_log must be true or false");
      else c.access_log = value.asBool();
    } else {
      s = Status::InvalidArgument("config file: unknown setting '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status ValidateProxyConfig(const ProxyConfig& c) {
  if (c.service.empty()) return Status::InvalidArgument("--service is required");
  for (char ch : c.service) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '_') {
      return Status::InvalidArgument("service name '" + c.service + "': use letters, digits, '.', '-', '_'");
    }
  }
  if (c.service_port < 1 || c.service_port > 65535) return Status::InvalidArgument("--service-port is required (1..65535)");
  for (const std::string* address : {&c.listen, &c.admin}) {
    if (Result<HostPort> hp = ParseHostPort(*address); !hp.ok()) return hp.status();
  }
  if (!c.outbound.empty()) {
    if (Result<HostPort> hp = ParseHostPort(c.outbound); !hp.ok()) return hp.status();
  }
  if (!c.advertise.empty()) {
    if (Status s = ValidateAdvertise(c.advertise); !s.ok()) return s;
  }
  if (!c.meshd.empty() && c.meshd.rfind("http://", 0) != 0 && c.meshd.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("invalid meshd URL '" + c.meshd + "' (expected http://host:port)");
  }
  if (c.threads < 0 || c.threads > 256) return Status::InvalidArgument("threads must be 0..256");
  if (c.timeout.count() <= 0) return Status::InvalidArgument("timeout must be positive");
  if (c.stream_idle_timeout.count() <= 0) return Status::InvalidArgument("stream idle timeout must be positive");
  if (!(c.access_log_sample >= 0 && c.access_log_sample <= 1)) {
    return Status::InvalidArgument("access-log sample must be in 0..1");
  }
  if (c.telemetry_queue < 1 || c.telemetry_queue > 1 << 20) {
    return Status::InvalidArgument("telemetry queue must be 1..1048576 records");
  }
  if (!c.app_metrics_path.empty() &&
      (c.app_metrics_path[0] != '/' || c.app_metrics_path.find_first_of(" ?#\"\\") != std::string::npos)) {
    return Status::InvalidArgument("app metrics path '" + c.app_metrics_path + "': expected a path like /metrics");
  }
  if (c.max_client_connections < 0) return Status::InvalidArgument("max client connections must be 0 or more");
  if (c.max_upstream_requests < 0 || c.max_upstream_connections < 0 || c.max_upstream_pending < 0) {
    return Status::InvalidArgument("upstream limits (requests, connections, pending) must be 0 or more");
  }
  if (c.plaintext_inbound && !c.mtls) return Status::InvalidArgument("--plaintext-inbound only makes sense with --mtls");
  if (c.mtls && c.meshd.empty()) return Status::InvalidArgument("--mtls needs --meshd (certificates come from its CA)");
  if (!c.meshd_ca_hash.empty()) {
    const std::string_view hex = std::string_view(c.meshd_ca_hash).substr(std::min<size_t>(7, c.meshd_ca_hash.size()));
    if (!c.meshd_ca_hash.starts_with("sha256:") || hex.size() != 64 ||
        hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
      return Status::InvalidArgument("meshd CA hash '" + c.meshd_ca_hash +
                                     "': expected sha256:<64 lower-case hex digits> (meshd ca-hash prints it)");
    }
    if (!c.meshd.starts_with("https://")) {
      return Status::InvalidArgument("--meshd-ca-hash needs an https:// --meshd (meshd --tls)");
    }
  }
  if (!c.cert_ttl.empty()) {
    if (Result<int64_t> ns = ParseCertTtl(c.cert_ttl); !ns.ok())
      return ns.status().WithContext("cert ttl");
  }
  return Status::Ok();
}

std::string ProxyConfigJson(const ProxyConfig& c) {
  std::string out = "{\"service\":";
  AppendJsonString(out, c.service);
  out += ",\"service_port\":" + std::to_string(c.service_port) + ",\"listen\":";
  AppendJsonString(out, c.listen);
  out += ",\"advertise\":";
  AppendJsonString(out, c.advertise);
  out += ",\"outbound\":";
  AppendJsonString(out, c.outbound);
  out += ",\"admin\":";
  AppendJsonString(out, c.admin);
  out += ",\"meshd\":";
  AppendJsonString(out, c.meshd);
  out += ",\"meshd_ca_hash\":";
  AppendJsonString(out, c.meshd_ca_hash);
  out += ",\"threads\":" + std::to_string(c.threads) +
         ",\"timeout_ms\":" + std::to_string(c.timeout.count()) +
         ",\"stream_idle_timeout_ms\":" + std::to_string(c.stream_idle_timeout.count()) +
         ",\"access_log\":" + (c.access_log ? "true" : "false") +
         ",\"access_log_sample\":" + std::to_string(c.access_log_sample) + ",\"app_metrics_path\":";
  AppendJsonString(out, c.app_metrics_path);
  out += std::string(",\"mtls\":") + (c.mtls ? "true" : "false") +
         ",\"plaintext_inbound\":" + (c.plaintext_inbound ? "true" : "false") + ",\"data_dir\":";
  AppendJsonString(out, c.data_dir);
  out += ",\"max_client_connections\":" + std::to_string(c.max_client_connections) +
         ",\"max_upstream_requests\":" + std::to_string(c.max_upstream_requests) +
         ",\"max_upstream_connections\":" + std::to_string(c.max_upstream_connections) +
         ",\"max_upstream_pending\":" + std::to_string(c.max_upstream_pending);
  out += '}';
  return out;
}

int64_t ClientConnectionLimit(uint64_t open_files, int listeners) {
  const uint64_t usable = open_files > kReservedDescriptors ? open_files - kReservedDescriptors : 0;
  const uint64_t per_listener = usable / 2 / static_cast<uint64_t>(std::max(1, listeners));
  return static_cast<int64_t>(std::clamp<uint64_t>(per_listener, 1, std::numeric_limits<int32_t>::max()));
}

std::string ProxyDataDir(const ProxyConfig& c, const std::function<const char*(const char*)>& getenv) {
  if (!c.data_dir.empty()) return c.data_dir;
  const char* state = getenv("XDG_STATE_HOME");
  const char* home = getenv("HOME");
  const std::string base = state != nullptr && *state != '\0' ? std::string(state)
                           : home != nullptr                 ? std::string(home) + "/.local/state"
                                                             : std::string(".");
  return base + "/mesh/meshproxy-" + c.service;
}

}  // namespace mesh

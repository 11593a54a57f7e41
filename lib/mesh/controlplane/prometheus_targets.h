// PrometheusTargets: the scrape targets of a mesh, in the JSON that Prometheus' HTTP service
// discovery (http_sd_configs) and file-based discovery (file_sd_configs) read:
//
//   [{"targets":["127.0.0.1:9000"],"labels":{"mesh_role":"meshd"}},
//    {"targets":["127.0.0.1:15090"],"labels":{"mesh_instance":"orders@127.0.0.1:15001",
//                                              "mesh_role":"proxy","service":"orders"}},
//    {"targets":["127.0.0.1:8081"],"labels":{"__metrics_path__":"/metrics",
//                                             "mesh_instance":"...","mesh_role":"app",...}}]
//
// meshd answers it on GET /v1/prometheus/targets from its registry; the functions here are
// pure (no store, no clock), thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/telemetry/service_instance.h"

namespace mesh {

// One Prometheus target group: addresses sharing a set of labels.
struct TargetGroup {
  std::vector<std::string> targets;           // "host:port"
  std::map<std::string, std::string> labels;  // sorted, so the JSON is stable
};

// The groups for a registry snapshot, in this order: meshd itself at `meshd_address` (left out
// when empty or not host:port) with mesh_role="meshd"; then, for each instance healthy at
// `now_ns` (sorted by service, then id), its sidecar's admin address (the `admin` key of the
// instance's meta JSON) with labels service, mesh_instance (the instance id) and
// mesh_role="proxy"; and, when the meta also has `app` ("host:port") and `app_metrics_path`
// (starting with '/'), the application with mesh_role="app" and __metrics_path__ set to that
// path. An admin host of 0.0.0.0, [::] or "" (a proxy listening on every interface) is replaced
// by the instance's registered host. Unhealthy instances, meta that is not a JSON object and
// addresses that are not host:port with a port in 1..65535 are left out: registrations are
// untrusted input and one bad instance must not spoil the answer for Prometheus.
std::vector<TargetGroup> BuildPrometheusTargets(const std::vector<Instance>& instances,
                                                int64_t now_ns, std::string_view meshd_address,
                                                int64_t up_since_ns = 0);

// The groups as compact JSON, an array ("[]" when empty).
std::string FormatTargetGroups(const std::vector<TargetGroup>& groups);

}  // namespace mesh

// The data model of the registry: an Instance is one running copy of a service (where it
// listens, when it registered and last sent a heartbeat, how long a heartbeat holds), and a
// ServiceSummary counts a service's instances. Plain values; IsHealthy is pure and thread-safe.
// The store keeps them (store/registry.h); meshd serves them.
#pragma once

#include <cstdint>
#include <string>

namespace mesh {

struct Instance {
  std::string id;
  std::string service;
  std::string host;
  int port = 0;
  std::string meta;  // JSON object, or empty
  int64_t registered_ns = 0;
  int64_t heartbeat_ns = 0;
  int64_t ttl_ns = 0;
};

// Healthy while the last heartbeat is at most one TTL old at `now_ns`. A control plane that
// was down cannot tell whether its instances were (Eureka's self-preservation): it counts its
// own start, `up_since_ns`, as a heartbeat of every instance it knew, so that after an outage
// longer than a TTL each one has a TTL to heartbeat again before it is judged unhealthy.
bool IsHealthy(const Instance& instance, int64_t now_ns, int64_t up_since_ns = 0);

struct ServiceSummary {
  std::string name;
  int64_t instances = 0;
  int64_t healthy = 0;
};

}  // namespace mesh

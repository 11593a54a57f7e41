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

// Healthy while the last heartbeat is at most one TTL old at `now_ns`.
bool IsHealthy(const Instance& instance, int64_t now_ns);

struct ServiceSummary {
  std::string name;
  int64_t instances = 0;
  int64_t healthy = 0;
};

}  // namespace mesh

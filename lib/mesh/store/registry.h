// Registry: the service instances meshd knows, kept in the store (so it survives a restart).
// An instance that has not sent a heartbeat within its TTL is unhealthy; one silent for three
// TTLs is removed by Sweep. Health is computed from the clock at read time.
//
// Not thread-safe: one Registry per Store connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/store/store.h"

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

bool IsHealthy(const Instance& instance, int64_t now_ns);

struct ServiceSummary {
  std::string name;
  int64_t instances = 0;
  int64_t healthy = 0;
};

class Registry {
 public:
  explicit Registry(Store& store) : store_(store) {}

  // Adds the instance, or refreshes it when its id is known. Writes need a write transaction
  // of the caller's (StoreWriter) or none open.
  Status Upsert(const Instance& instance);
  // Errors: NotFound for an unknown id.
  Status Heartbeat(const std::string& id, int64_t now_ns);
  Status Remove(const std::string& id);
  // Removes instances silent for three TTLs; returns how many.
  Result<int64_t> Sweep(int64_t now_ns);

  Result<std::vector<Instance>> Instances(const std::string& service);  // "" for all
  Result<std::vector<ServiceSummary>> Services(int64_t now_ns);

 private:
  Store& store_;
};

}  // namespace mesh

// Registry: the service instances meshd knows, kept in the store (so it survives a restart).
// An instance that has not sent a heartbeat within its TTL is unhealthy; one silent for three
// TTLs is removed by Sweep. The control plane's start counts as a heartbeat (IsHealthy). Health is computed from the clock at read time (IsHealthy).
//
// Not thread-safe: one Registry per Store connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/store/store.h"
#include "mesh/telemetry/service_instance.h"

namespace mesh {

class Registry {
 public:
  // up_since_ns: when the control plane started; health and sweeping count it as a heartbeat
  // of every instance (see IsHealthy).
  explicit Registry(Store& store, int64_t up_since_ns = 0) : store_(store), up_since_ns_(up_since_ns) {}

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
  int64_t up_since_ns_;
};

}  // namespace mesh

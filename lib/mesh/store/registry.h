// Registry: the service instances meshd knows, kept in the store (so it survives a restart),
// with their registration and last heartbeat as wall times. Health and removal after three
// silent TTLs are judged by the control plane (controlplane/instance_liveness.h), on the
// monotonic clock where it can, so that a step of the wall clock changes neither.
//
// Not thread-safe: one Registry per Store connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/store/store.h"
#include "mesh/telemetry/service_instance.h"

namespace mesh {

class Registry {
 public:
  explicit Registry(Store& store) : store_(store) {}

  // Adds the instance, or refreshes it when its id is known. Writes need a write transaction
  // of the caller's (StoreWriter) or none open.
  Status Upsert(const Instance& instance);
  // Errors: NotFound for an unknown id.
  Status Heartbeat(const std::string& id, int64_t now_ns);
  Status Remove(const std::string& id);
  // The service the instance `id` belongs to, or nullopt for an unknown id: whose credential
  // may heartbeat or remove it.
  Result<std::optional<std::string>> ServiceOf(const std::string& id);

  // Ordered by service, host and port.
  Result<std::vector<Instance>> Instances(const std::string& service);  // "" for all

 private:
  Store& store_;
};

}  // namespace mesh

// InstanceLiveness: when this meshd last heard from each registered instance (registration or
// heartbeat), on the monotonic clock, since its own start. The store keeps heartbeats as wall
// times (they survive a restart and are shown to users); judging health from them alone would
// let a step of the wall clock (+1 h) mark every instance unhealthy, and then sweep it. So an
// instance heard from since start is judged by the monotonic age of its last heartbeat; one
// not heard from since start by its stored wall time, with meshd's start as a heartbeat of every
// instance (the start grace of IsHealthy), the start itself dated on the monotonic clock.
//
// Judge() re-expresses both on the current wall clock, so that IsHealthy and the Prometheus
// targets judge as before with no wall-clock step in the ages. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/telemetry/service_instance.h"

namespace mesh {

class InstanceLiveness {
 public:
  // Starts now. `clock` must outlive this.
  explicit InstanceLiveness(const Clock& clock);

  void Heard(const std::string& id);   // a registration or a heartbeat was stored
  void Forget(const std::string& id);  // deregistered or swept

  // Instances as health is judged at one instant: heartbeat_ns and up_since_ns are dated on the
  // wall clock of now_ns from monotonic ages where this meshd knows them.
  struct Judged {
    std::vector<Instance> instances;
    int64_t now_ns = 0;
    int64_t up_since_ns = 0;
    bool Healthy(size_t i) const { return IsHealthy(instances[i], now_ns, up_since_ns); }
    // Silent for three TTLs: the registry forgets it.
    bool Expired(size_t i) const;
  };
  Judged Judge(std::vector<Instance> instances) const;

 private:
  const Clock& clock_;
  const int64_t started_mono_ns_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> heard_mono_ns_;
};

}  // namespace mesh

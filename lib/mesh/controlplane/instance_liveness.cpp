#include "mesh/controlplane/instance_liveness.h"

#include <algorithm>

namespace mesh {

InstanceLiveness::InstanceLiveness(const Clock& clock)
    : clock_(clock), started_mono_ns_(clock.MonotonicNs()) {}

void InstanceLiveness::Heard(const std::string& id) {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  heard_mono_ns_[id] = now;
}

void InstanceLiveness::Forget(const std::string& id) {
  std::lock_guard lock(mu_);
  heard_mono_ns_.erase(id);
}

bool InstanceLiveness::Judged::Expired(size_t i) const {
  const Instance& instance = instances[i];
  return now_ns - std::max(instance.heartbeat_ns, up_since_ns) > 3 * instance.ttl_ns;
}

InstanceLiveness::Judged InstanceLiveness::Judge(std::vector<Instance> instances) const {
  Judged judged;
  judged.now_ns = clock_.NowNs();
  const int64_t mono_now = clock_.MonotonicNs();
  judged.up_since_ns = judged.now_ns - (mono_now - started_mono_ns_);
  std::lock_guard lock(mu_);
  for (Instance& i : instances) {
    if (const auto it = heard_mono_ns_.find(i.id); it != heard_mono_ns_.end()) {
      i.heartbeat_ns = judged.now_ns - (mono_now - it->second);
    }
  }
  judged.instances = std::move(instances);
  return judged;
}

}  // namespace mesh

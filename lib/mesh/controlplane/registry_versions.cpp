#include "mesh/controlplane/registry_versions.h"

#include <algorithm>

#include "mesh/http/entity_tag.h"

namespace mesh {

RegistryVersions::RegistryVersions(const Clock& clock, int64_t epoch) : clock_(clock), epoch_(epoch) {}

void RegistryVersions::TrackLocked(const std::string& service, const std::string& id, int64_t ttl_ns,
                                   int64_t deadline_mono_ns, const std::string& meta) {
  ServiceState& state = services_[service];
  Tracked& tracked = state.instances[id];
  // The same instance registered again while healthy (a client's retry after a time-out, a
  // restarted sidecar) changes nothing a sidecar routes by: no new version, so that a burst of
  // retries does not wake every long-poll of the service each time.
  const bool same = tracked.healthy && tracked.ttl_ns == ttl_ns && tracked.meta == meta &&
                    service_of_.contains(id);
  tracked = {.ttl_ns = ttl_ns, .deadline_mono_ns = deadline_mono_ns, .healthy = true, .meta = meta};
  if (!same) state.version = ++last_version_;
  service_of_[id] = service;
}

void RegistryVersions::Seed(const InstanceLiveness::Judged& judged) {
  const int64_t mono_now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  for (const Instance& i : judged.instances) {
    // Healthy while now - max(heartbeat, start) <= ttl (IsHealthy): that much longer from now.
    const int64_t age = judged.now_ns - std::max(i.heartbeat_ns, judged.up_since_ns);
    TrackLocked(i.service, i.id, i.ttl_ns, mono_now + (i.ttl_ns - age), i.meta);
  }
}

void RegistryVersions::Registered(const Instance& instance) {
  const int64_t mono_now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  TrackLocked(instance.service, instance.id, instance.ttl_ns, mono_now + instance.ttl_ns, instance.meta);
}

void RegistryVersions::Heard(const std::string& id) {
  const int64_t mono_now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  const auto owner = service_of_.find(id);
  if (owner == service_of_.end()) return;
  ServiceState& state = services_[owner->second];
  Tracked& tracked = state.instances[id];
  tracked.deadline_mono_ns = mono_now + tracked.ttl_ns;
  if (tracked.healthy) return;
  tracked.healthy = true;
  state.version = ++last_version_;
}

std::optional<std::string> RegistryVersions::ServiceOf(const std::string& id) {
  std::lock_guard lock(mu_);
  const auto owner = service_of_.find(id);
  if (owner == service_of_.end()) return std::nullopt;
  return owner->second;
}

void RegistryVersions::Removed(const std::string& id) {
  std::lock_guard lock(mu_);
  const auto owner = service_of_.find(id);
  if (owner == service_of_.end()) return;
  const auto state = services_.find(owner->second);
  service_of_.erase(owner);
  if (state == services_.end()) return;
  state->second.instances.erase(id);
  // No instance left: the service is absent again, version 0, the same state as never seen.
  if (state->second.instances.empty()) services_.erase(state);
  else state->second.version = ++last_version_;
}

int64_t RegistryVersions::Version(const std::string& service) {
  const int64_t mono_now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  const auto state = services_.find(service);
  if (state == services_.end()) return 0;
  bool ejected = false;
  for (auto& [id, tracked] : state->second.instances) {
    if (tracked.healthy && mono_now > tracked.deadline_mono_ns) {
      tracked.healthy = false;
      ejected = true;
    }
  }
  if (ejected) state->second.version = ++last_version_;
  return state->second.version;
}

std::string RegistryVersions::ETagOf(int64_t version) const {
  return WeakEntityTag(std::to_string(epoch_) + "-" + std::to_string(version));
}

}  // namespace mesh

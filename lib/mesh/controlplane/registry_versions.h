// RegistryVersions: a version per service that changes whenever what a sidecar routes by
// changes (an instance registered, deregistered or swept; an instance's health changing either
// way; its meta or TTL changing on a registration again), and not with heartbeats, or
// registrations again, that change nothing. GET /v1/services/{name} hands it out as an
// ETag and answers If-None-Match with a 304 from here alone, without a store reader or SQL: an
// unchanged registry costs a sidecar's poll no query.
//
// It lives in meshd's memory, seeded from the store at start-up; the tag carries an epoch (the
// start's wall time), so that a tag of an earlier meshd never matches. Health is judged as
// InstanceLiveness judges it (healthy while the monotonic age of the last heartbeat is within
// the TTL): each instance has a monotonic deadline, and a service's instances past theirs are
// marked unhealthy (and the version bumped) when the service's tag is asked for. A service
// with no instance has version 0, so that "no such service" is a state a client can hold too.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "mesh/base/clock.h"
#include "mesh/controlplane/instance_liveness.h"
#include "mesh/telemetry/service_instance.h"

namespace mesh {

class RegistryVersions {
 public:
  // `clock` must outlive this; `epoch` tells this meshd's tags from an earlier one's.
  RegistryVersions(const Clock& clock, int64_t epoch);

  // The stored instances at start-up, judged at one instant (each healthy until its judged
  // heartbeat, or meshd's start, is one TTL old).
  void Seed(const InstanceLiveness::Judged& judged);
  // Called once the change is committed, so that a client given the new tag reads the change.
  // New, or registered again: a change only if it was unhealthy or its meta or TTL differ.
  void Registered(const Instance& instance);
  void Heard(const std::string& id);          // a heartbeat: a change only if it was unhealthy
  void Removed(const std::string& id);        // deregistered or swept

  // The service of a registered instance, or nothing (never registered, or removed).
  std::optional<std::string> ServiceOf(const std::string& id);

  // The service's current version, after marking its instances past their deadline.
  int64_t Version(const std::string& service);
  // A version as the weak ETag the HTTP answer carries.
  std::string ETagOf(int64_t version) const;

 private:
  struct Tracked {
    int64_t ttl_ns = 0;
    int64_t deadline_mono_ns = 0;  // healthy until then
    bool healthy = true;
    std::string meta;  // as registered (a sidecar routes by it: mtls)
  };
  struct ServiceState {
    int64_t version = 0;
    std::unordered_map<std::string, Tracked> instances;  // by id
  };
  // Adds or replaces an instance; the service's version is bumped unless the instance was
  // tracked already, healthy, with the same TTL and meta.
  void TrackLocked(const std::string& service, const std::string& id, int64_t ttl_ns, int64_t deadline_mono_ns,
                   const std::string& meta);

  const Clock& clock_;
  const int64_t epoch_;
  std::mutex mu_;
  int64_t last_version_ = 0;
  std::unordered_map<std::string, ServiceState> services_;  // by name; none without instances
  std::unordered_map<std::string, std::string> service_of_;  // instance id -> service
};

}  // namespace mesh

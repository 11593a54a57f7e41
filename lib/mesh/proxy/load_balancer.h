// LoadBalancer: picks the endpoint of a service for each attempt, the way Linkerd does it: power
// of two choices (two distinct eligible endpoints at random, the lower cost wins) where an
// endpoint's cost is (outstanding requests + 1) x its peak-EWMA latency.
//
// Peak EWMA: a latency above the estimate replaces it at once (a slowing instance loses traffic
// right away); one below pulls it down with weight 1 - exp(-elapsed / decay). While an endpoint
// gets no samples its estimate decays toward zero with the same time constant, so an instance
// that was slow or failing is tried again later. An endpoint without samples starts at
// `default_latency`, or at its peers' average estimate when that is lower, so new instances get
// traffic whether the others are slow or fast. A failed attempt counts as at least
// `failure_penalty`, so failing instances lose traffic even when they fail fast.
//
// Thread-safe (one mutex, held for O(endpoints) work at most); no blocking I/O. Endpoints are few
// per service, so they are found by linear search.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/status.h"
#include "mesh/proxy/upstream.h"

namespace mesh {

class LoadBalancer {
 public:
  struct Options {
    std::chrono::nanoseconds decay = std::chrono::seconds(10);
    std::chrono::nanoseconds default_latency = std::chrono::milliseconds(30);
    std::chrono::nanoseconds failure_penalty = std::chrono::seconds(1);
  };

  // Default options, seeded from std::random_device. `clock` must outlive the balancer; its
  // monotonic time ages the estimates, so a step of the wall clock changes no cost.
  explicit LoadBalancer(const Clock& clock);
  // `seed` makes the choices reproducible (tests). Non-positive durations in `options` are
  // treated as: decay 1 ns, default latency 0, failure penalty 0.
  LoadBalancer(const Clock& clock, Options options, uint64_t seed);

  // Replaces the set of endpoints (duplicates count once). Endpoints that remain keep their
  // latency estimate and outstanding count; new ones start at the default latency.
  void SetEndpoints(std::vector<Endpoint> endpoints);

  // Two distinct endpoints at random among those for which `eligible` returns true, the cheaper
  // one; the only eligible one if there is one. `eligible` is asked about as few endpoints as
  // needed (usually two), under the balancer's lock: it must not call back into the balancer.
  // Error (IOError): no endpoint, or none eligible.
  Result<Endpoint> Pick(const std::function<bool(const Endpoint&)>& eligible);
  // Pick among all endpoints.
  Result<Endpoint> Pick();

  // An attempt to `endpoint` starts / ends. Unknown endpoints are ignored, a negative latency
  // counts as 0, and Finished without a matching Started leaves the outstanding count at 0.
  void Started(const Endpoint& endpoint);
  void Finished(const Endpoint& endpoint, int64_t latency_ns, bool failed);

  // The cost Pick compares now, in nanoseconds; nullopt for an unknown endpoint.
  std::optional<double> Cost(const Endpoint& endpoint) const;

 private:
  struct Entry {
    Endpoint endpoint;
    double estimate_ns;  // peak EWMA as of updated_ns
    int64_t updated_ns;
    int64_t outstanding = 0;
  };

  size_t IndexOf(const Endpoint& endpoint) const;  // entries_.size() when absent
  double CostOf(const Entry& entry, int64_t now_ns) const;

  const Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::mt19937_64 random_;
  std::vector<Entry> entries_;
  std::vector<size_t> order_;  // a permutation of entries_' indices, reshuffled by Pick
};

}  // namespace mesh

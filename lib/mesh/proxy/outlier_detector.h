// OutlierDetector: takes endpoints that keep failing out of rotation for a while, the way Envoy's
// consecutive-5xx outlier detection and Linkerd's failure accrual do.
//
// - `consecutive_failures` failures in a row eject an endpoint for `base_ejection`; each further
//   ejection doubles that, up to `max_ejection`.
// - When its time is up the endpoint is half-open: Allow lets exactly one probe through. The
//   probe's success makes it healthy again (failure count reset); its failure ejects it again,
//   for twice as long. A probe that never reports within `probe_timeout` is presumed lost and
//   another one is allowed.
// - The doubling steps back by one for every `backoff_decay` an endpoint stays healthy.
// - At most `max_ejection_percent` of the endpoints (rounded down) are out of rotation
//   (ejected or half-open) at once: an ejection that would exceed it is not done, and the
//   endpoint keeps serving and counting failures, to be ejected on a later failure if room
//   appears. So a lone endpoint is never ejected: a bad instance beats none.
//
// The proxy checks IsEjected (no side effect) to filter the load balancer's choice, then calls
// Allow on the chosen endpoint, which takes the half-open probe; a false from Allow means another
// request took it: choose again. Every allowed attempt must be followed by one Record.
//
// Thread-safe (one mutex, O(endpoints) work at most); no blocking I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/proxy/upstream.h"

namespace mesh {

class OutlierDetector {
 public:
  struct Options {
    int consecutive_failures = 5;
    std::chrono::nanoseconds base_ejection = std::chrono::seconds(30);
    std::chrono::nanoseconds max_ejection = std::chrono::minutes(5);
    std::chrono::nanoseconds backoff_decay = std::chrono::minutes(1);
    std::chrono::nanoseconds probe_timeout = std::chrono::seconds(30);
    int max_ejection_percent = 50;
  };

  // Default options. `clock` must outlive the detector; ejections are timed on its monotonic
  // time, so a step of the wall clock neither ends nor prolongs one.
  explicit OutlierDetector(const Clock& clock);
  // Out-of-range options are clamped: at least 1 consecutive failure, non-negative durations,
  // max_ejection at least base_ejection, a percentage within 0..100.
  OutlierDetector(const Clock& clock, Options options);

  // Replaces the set of endpoints (duplicates count once). Endpoints that remain keep their
  // state; new ones start healthy.
  void SetEndpoints(std::vector<Endpoint> endpoints);

  // Whether an attempt may go to `endpoint` now: true when healthy; false while ejected; once
  // true when half-open (that attempt is the probe). True for endpoints not in the set: they are
  // not tracked.
  bool Allow(const Endpoint& endpoint);

  // The outcome of an attempt to `endpoint`. Ignored for unknown endpoints and while ejected (a
  // late answer to a request sent before the ejection says nothing new).
  void Record(const Endpoint& endpoint, bool failure);

  // Whether Allow would refuse `endpoint` now: ejected, or half-open with its probe in flight.
  bool IsEjected(const Endpoint& endpoint) const;

  // Ejections done so far (re-ejections after a failed probe included).
  int64_t ejections_total() const;

 private:
  enum class State { kHealthy, kEjected, kHalfOpen };
  struct Entry {
    Endpoint endpoint;
    State state = State::kHealthy;
    int failures = 0;               // consecutive, while healthy
    int ejections = 0;              // drives the doubling
    int64_t ejected_until_ns = 0;   // kEjected
    int64_t probe_started_ns = -1;  // kHalfOpen: when the probe was allowed, -1 when none
    int64_t healthy_since_ns = 0;   // kHealthy after an ejection: when the probe succeeded
  };

  size_t IndexOf(const Endpoint& endpoint) const;  // entries_.size() when absent
  // Applies the transitions that time alone causes: ejection over, probe lost.
  void Advance(Entry& entry, int64_t now_ns) const;
  bool Refuses(const Entry& entry, int64_t now_ns) const;
  void TryEject(Entry& entry, int64_t now_ns);

  const Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  int64_t ejections_total_ = 0;
};

}  // namespace mesh

// ServiceWatches: discovery requests parked until their service changes (a long-poll:
// GET /v1/services/{name}?wait=30s with an If-None-Match that is still current). Each parked
// request waits for its service's version (RegistryVersions) to move from the one its tag names,
// or for its wait to end; Tick() answers the first with the service's current answer (built once
// per service and tick, however many wait on it) and the second with the 304 it was parked with.
// A request whose client left (DeferredResponse::abandoned) is forgotten at the next tick. At most
// max_parked wait at once: Park() refuses more, and the caller answers at once.
//
// A service's watchers are woken at most once per min_wake_gap: while its instances keep
// changing (a fleet registering), each woken watcher comes back with a tag that is already
// stale and gets a full answer at once; without the gap, every change would cost every watcher
// two answers, and a meshd short of CPU would fall behind for good. An isolated change still
// wakes them at the next tick.
//
// Ejections are noticed by asking for the version (RegistryVersions marks instances past their
// deadline when asked), so ticks also bound how late a watcher learns of one: meshd ticks every
// 100 ms. Thread-safe; Tick() from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/http/deferred_response.h"
#include "mesh/http/http_message.h"

namespace mesh {

class ServiceWatches {
 public:
  // `clock` (monotonic) must outlive this.
  ServiceWatches(const Clock& clock, size_t max_parked, int64_t min_wake_gap_ns);

  // Parks a request that holds `version` of `service` for up to `wait_ns`; `unchanged` is its
  // answer should nothing change. False (nothing parked) when max_parked already wait, or
  // once stopped.
  bool Park(const std::string& service, int64_t version, int64_t wait_ns,
            std::shared_ptr<DeferredResponse> deferred, HttpResponse unchanged);

  using VersionOf = std::function<int64_t(const std::string& service)>;
  using AnswerOf = std::function<HttpResponse(const std::string& service)>;
  // Answers the requests whose service's version moved and those whose wait ended; forgets
  // abandoned ones. Neither function is called under the lock, so Park() never waits on them.
  void Tick(const VersionOf& version_of, const AnswerOf& answer_of);
  // Answers every parked request with its unchanged answer and parks no more (meshd stopping).
  void Stop();

  size_t parked() const;

 private:
  struct Watcher {
    std::string service;
    int64_t version = 0;
    int64_t deadline_mono_ns = 0;
    std::shared_ptr<DeferredResponse> deferred;
    HttpResponse unchanged;
  };

  const Clock& clock_;
  const size_t max_parked_;
  const int64_t min_wake_gap_ns_;
  mutable std::mutex mu_;
  std::vector<Watcher> watchers_;
  std::map<std::string, int64_t> woken_mono_ns_;  // by service: when its watchers were last woken
  bool stopped_ = false;
};

}  // namespace mesh

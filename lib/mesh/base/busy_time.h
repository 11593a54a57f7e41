// BusyTime: how long the workers of a pool have been busy, summed over workers: the time inside
// every Scope, those ended and those still open (so that a handler busy for a minute shows in
// rate(busy) while it runs, not as one step when it ends). Exported as a counter next to the
// pool's size, rate(busy) / workers is the pool's utilisation (0 idle, 1 every worker busy).
// Durations come from the clock's monotonic time. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>

#include "mesh/base/clock.h"

namespace mesh {

class BusyTime {
 public:
  explicit BusyTime(const Clock& clock);

  // One worker busy from construction to destruction.
  class Scope {
   public:
    explicit Scope(BusyTime& busy);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    BusyTime& busy_;
    int64_t start_ns_;
  };

  // Busy nanoseconds so far, open scopes counted up to now; never decreases.
  int64_t TotalNs() const;

 private:
  int64_t Now() const;  // from the origin, so that the sums below stay far from overflow

  const Clock& clock_;
  const int64_t origin_ns_;
  mutable std::mutex mu_;
  int64_t ended_ns_ = 0;        // the scopes ended
  int64_t open_ = 0;            // scopes open now
  int64_t open_starts_ns_ = 0;  // the sum of their starts
};

}  // namespace mesh

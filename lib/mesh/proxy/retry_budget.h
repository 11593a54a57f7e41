// RetryBudget: how many retries a proxy may add, as Linkerd (after Finagle) bounds them, so that
// retries cannot multiply the load on a struggling service. Within any sliding `window`, retries
// may reach `ratio` x the requests seen plus a reserve of `min_retries_per_second` x the window
// in seconds (10/s over 10 s: 100), which lets low-traffic clients retry at all. Retries count
// against the window they were spent in and are forgotten with it. The window slides in tenths.
//
// JitteredBackoff: the wait before a retry, exponential with full jitter (AWS architecture blog,
// "Exponential Backoff And Jitter"), so that clients failing together do not retry together.
//
// RetryBudget is thread-safe (one mutex, constant work); JitteredBackoff is pure apart from the
// generator it is given.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

#include "mesh/base/clock.h"

namespace mesh {

class RetryBudget {
 public:
  struct Options {
    double ratio = 0.2;
    int min_retries_per_second = 10;
    std::chrono::nanoseconds window = std::chrono::seconds(10);
  };

  // Default options. `clock` must outlive the budget; the window slides on its monotonic time,
  // so a step of the wall clock neither empties nor refills it.
  explicit RetryBudget(const Clock& clock);
  // Out-of-range options are clamped: ratio and minimum at least 0 (a NaN ratio counts as 0), a
  // window of at least 10 ns.
  RetryBudget(const Clock& clock, Options options);

  // One request (first attempt) was sent: it earns `ratio` of a retry.
  void RecordRequest();
  // Whether one retry fits in the budget now; if so it is spent.
  bool TryRetry();

 private:
  static constexpr int kSlots = 10;
  struct Slot {
    int64_t index = -1;  // which window tenth (now / slot length) the counts belong to
    int64_t requests = 0;
    int64_t retries = 0;
  };

  Slot& Current(int64_t now_ns);

  const Clock& clock_;
  const Options options_;
  const int64_t slot_ns_;
  std::mutex mu_;
  std::array<Slot, kSlots> slots_;
};

inline constexpr std::chrono::milliseconds kDefaultBackoffBase{25};
inline constexpr std::chrono::milliseconds kDefaultBackoffCap{250};

// The wait before retry number `attempt` (0 for the first retry; a caller counting attempts
// from the first try passes attempt - 1): uniform in [0, min(cap, base x 2^attempt)]. A negative
// attempt counts as 0; a negative base or cap gives 0.
std::chrono::milliseconds JitteredBackoff(int attempt, std::mt19937_64& random,
                                          std::chrono::milliseconds base = kDefaultBackoffBase,
                                          std::chrono::milliseconds cap = kDefaultBackoffCap);

}  // namespace mesh

// RetryBackoff: how long to wait before the next attempt at something that keeps failing —
// exponential (the ceiling doubles per failure, from `initial` up to `max`) with jitter (a
// uniform pick in [ceiling/2, ceiling]), so that many senders that failed together do not retry
// together. The randomness is the caller's (a value in [0, 1)), so tests pick it.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>

namespace mesh {

class RetryBackoff {
 public:
  struct Options {
    std::chrono::milliseconds initial{500};
    std::chrono::milliseconds max{30'000};
  };
  explicit RetryBackoff(Options options) : options_(options) {}

  // The wait after one more failure; uniform01 in [0, 1) (clamped).
  std::chrono::milliseconds NextDelay(double uniform01) {
    const auto ceiling = ceiling_;
    ceiling_ = std::min(options_.max, ceiling_ * 2);
    const double pick = 0.5 + 0.5 * std::clamp(uniform01, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(ceiling.count()) * pick));
  }
  // After a success: the next failure waits `initial` again.
  void Reset() { ceiling_ = options_.initial; }

 private:
  Options options_;
  std::chrono::milliseconds ceiling_ = options_.initial;
};

}  // namespace mesh

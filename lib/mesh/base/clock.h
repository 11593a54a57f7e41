// Clock: where "now" comes from, behind an interface so tests can use fake time. Two times:
// the wall clock, for timestamps (it can be stepped: NTP, an operator, a VM resumed), and a
// monotonic clock, for durations and ages (it only moves forward, at a steady rate, from an
// arbitrary origin), so that a clock step changes no timeout, health or budget.
// Implementations must be thread-safe.
#pragma once

#include <cstdint>

namespace mesh {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time as Unix nanoseconds.
  virtual int64_t NowNs() const = 0;
  // Monotonic time in nanoseconds from an arbitrary origin: only differences mean anything.
  // By default the wall clock, for fakes that model a single time.
  virtual int64_t MonotonicNs() const { return NowNs(); }
};

class SystemClock : public Clock {
 public:
  int64_t NowNs() const override;
  int64_t MonotonicNs() const override;  // std::chrono::steady_clock
  // A process-wide instance.
  static const SystemClock& Instance();
};

}  // namespace mesh

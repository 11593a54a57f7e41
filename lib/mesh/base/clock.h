// Clock: where "now" comes from, behind an interface so tests can use fake time.
// Implementations must be thread-safe.
#pragma once

#include <cstdint>

namespace mesh {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time as Unix nanoseconds.
  virtual int64_t NowNs() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowNs() const override;
  // A process-wide instance.
  static const SystemClock& Instance();
};

}  // namespace mesh

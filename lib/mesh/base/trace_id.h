// W3C trace and span identifiers: validation and generation.
//
// A trace id is 32 lowercase hex digits, a span id 16, and neither may be all zeros
// (W3C Trace Context, section 3.2.2). IdGenerator draws ids from a 64-bit generator seeded
// from std::random_device; one instance is not thread-safe, ThreadLocal() gives each thread
// its own.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace mesh {

bool IsValidTraceId(std::string_view id);
bool IsValidSpanId(std::string_view id);

class IdGenerator {
 public:
  // Seeds from std::random_device mixed with the clock and the thread.
  IdGenerator();
  // A fixed seed, for tests that want repeatable ids.
  explicit IdGenerator(uint64_t seed);

  std::string NewTraceId();
  std::string NewSpanId();

  static IdGenerator& ThreadLocal();

 private:
  uint64_t NextNonZero();
  std::mt19937_64 engine_;
};

}  // namespace mesh

#include "mesh/base/trace_id.h"

#include <chrono>
#include <functional>
#include <thread>

namespace mesh {
namespace {

bool IsLowerHexId(std::string_view id, size_t length) {
  if (id.size() != length) return false;
  bool any_nonzero = false;
  for (char c : id) {
    const bool digit = c >= '0' && c <= '9';
    const bool lower = c >= 'a' && c <= 'f';
    if (!digit && !lower) return false;
    any_nonzero = any_nonzero || c != '0';
  }
  return any_nonzero;
}

void AppendHex(std::string& out, uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xF];
}

}  // namespace

bool IsValidTraceId(std::string_view id) { return IsLowerHexId(id, 32); }
bool IsValidSpanId(std::string_view id) { return IsLowerHexId(id, 16); }

IdGenerator::IdGenerator() {
  std::random_device device;
  const uint64_t clock = static_cast<uint64_t>(
      std::chrono::high_resolution_clock::now().time_since_epoch().count());
  const uint64_t thread = std::hash<std::thread::id>{}(std::this_thread::get_id());
  std::seed_seq seq{device(), device(), device(), device(), static_cast<unsigned>(clock),
                    static_cast<unsigned>(clock >> 32), static_cast<unsigned>(thread),
                    static_cast<unsigned>(thread >> 32)};
  engine_.seed(seq);
}

IdGenerator::IdGenerator(uint64_t seed) : engine_(seed) {}

uint64_t IdGenerator::NextNonZero() {
  uint64_t v;
  do {
    v = engine_();
  } while (v == 0);
  return v;
}

std::string IdGenerator::NewTraceId() {
  std::string id;
  id.reserve(32);
  AppendHex(id, engine_());
  AppendHex(id, NextNonZero());  // the low half alone keeps the id from being all zeros
  return id;
}

std::string IdGenerator::NewSpanId() {
  std::string id;
  id.reserve(16);
  AppendHex(id, NextNonZero());
  return id;
}

IdGenerator& IdGenerator::ThreadLocal() {
  thread_local IdGenerator generator;
  return generator;
}

}  // namespace mesh

// Helpers shared by the unit suites: a temporary directory that removes itself, a Clock whose
// time the test sets, and a seeded source of garbage bytes for the parsers' robustness tests.
// Not thread-safe except FakeClock, which is (Clock implementations must be).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include "mesh/base/clock.h"

namespace mesh::testing {

// A fresh directory under /tmp (mkdtemp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mesh_unit_XXXXXX";
    const char* made = mkdtemp(tmpl);
    if (made == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside the directory (not created).
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Fake time: NowNs() returns what the test set. Set and Advance move the wall and the monotonic
// clock together (MonotonicNs() equals NowNs() until the wall is stepped); StepWall moves the
// wall clock alone, as NTP or an operator would.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_ns = 0) : now_ns_(now_ns) {}
  int64_t NowNs() const override { return now_ns_.load() + wall_step_ns_.load(); }
  int64_t MonotonicNs() const override { return now_ns_.load(); }
  void Set(int64_t now_ns) { now_ns_.store(now_ns - wall_step_ns_.load()); }
  void Advance(int64_t ns) { now_ns_.fetch_add(ns); }
  void StepWall(int64_t ns) { wall_step_ns_.fetch_add(ns); }

 private:
  std::atomic<int64_t> now_ns_;       // monotonic
  std::atomic<int64_t> wall_step_ns_{0};  // the wall clock's steps so far
};

// Deterministic garbage: random lengths and bytes, biased towards the characters parsers care
// about so that the garbage reaches past their first check.
class Garbage {
 public:
  explicit Garbage(uint64_t seed, std::string alphabet = "")
      : engine_(seed), alphabet_(std::move(alphabet)) {}

  std::string Next(size_t max_len) {
    std::uniform_int_distribution<size_t> len(0, max_len);
    std::string out(len(engine_), '\0');
    for (char& c : out) {
      if (!alphabet_.empty() && engine_() % 2 == 0) {
        c = alphabet_[engine_() % alphabet_.size()];
      } else {
        c = static_cast<char>(engine_() & 0xFF);
      }
    }
    return out;
  }

 private:
  std::mt19937_64 engine_;
  std::string alphabet_;
};

}  // namespace mesh::testing

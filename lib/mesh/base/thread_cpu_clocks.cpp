#include "mesh/base/thread_cpu_clocks.h"

#include <algorithm>

namespace mesh {

void ThreadCpuClocks::Add(std::thread& thread) {
  clockid_t clock;
  if (!thread.joinable() || pthread_getcpuclockid(thread.native_handle(), &clock) != 0) return;
  clocks_.push_back(clock);
  last_ns_.push_back(0);
}

int64_t ThreadCpuClocks::TotalNs() const {
  std::lock_guard lock(mu_);
  int64_t total = 0;
  for (size_t i = 0; i < clocks_.size(); ++i) {
    timespec ts{};
    // An ended thread's clock fails: its last reading stands.
    if (clock_gettime(clocks_[i], &ts) == 0) {
      last_ns_[i] = std::max(last_ns_[i], int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
    }
    total += last_ns_[i];
  }
  return total;
}

}  // namespace mesh

#include "mesh/base/thread_cpu_clocks.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace mesh {
namespace base_thread_cpu_clocks_test {

constexpr int64_t kSpinNs = 30'000'000;

int64_t OwnCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

TEST(ThreadCpuClocks, CountsTheCpuAThreadUsedAndKeepsItOnceTheThreadEnds) {
  std::promise<void> spun, release;
  std::thread worker([&] {
    while (OwnCpuNs() < kSpinNs) {
    }
    spun.set_value();
    release.get_future().wait();
  });
  ThreadCpuClocks clocks;
  clocks.Add(worker);
  ASSERT_EQ(clocks.size(), 1u);
  spun.get_future().wait();
  const int64_t while_running = clocks.TotalNs();
  EXPECT_GE(while_running, kSpinNs);
  release.set_value();
  worker.join();
  EXPECT_GE(clocks.TotalNs(), while_running);  // never decreases when the thread is gone
}

TEST(ThreadCpuClocks, CountsLittleForAThreadThatOnlyWaits) {
  std::promise<void> release;
  std::thread waiter([f = release.get_future()]() mutable { f.wait(); });
  ThreadCpuClocks clocks;
  clocks.Add(waiter);
  std::this_thread::yield();
  EXPECT_LT(clocks.TotalNs(), kSpinNs);  // CPU used, not time passed: a blocked thread uses none
  release.set_value();
  waiter.join();
}

TEST(ThreadCpuClocks, LeavesOutAThreadThatIsNotRunning) {
  std::thread never;
  ThreadCpuClocks clocks;
  clocks.Add(never);
  EXPECT_EQ(clocks.size(), 0u);
  EXPECT_EQ(clocks.TotalNs(), 0);
}

}  // namespace base_thread_cpu_clocks_test
}  // namespace mesh

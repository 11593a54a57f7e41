// ThreadCpuClocks: the CPU time a set of threads has used, read from any thread (each thread's
// CLOCK_THREAD_CPUTIME_ID through pthread_getcpuclockid). For an event loop's threads it is their
// busy time: a thread waiting in epoll uses none, one running handlers or copying bytes uses it
// all (time spent runnable but not scheduled, on a CPU-starved host, is not counted). Each
// thread's last reading is kept, so the total never decreases when a thread ends.
// Add() the threads before any other thread calls TotalNs(); TotalNs() is then thread-safe.
#pragma once

#include <pthread.h>
#include <time.h>

#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace mesh {

class ThreadCpuClocks {
 public:
  // A thread that is running (joinable); one whose clock cannot be had is left out.
  void Add(std::thread& thread);
  size_t size() const { return clocks_.size(); }
  // CPU nanoseconds used by the threads added, summed.
  int64_t TotalNs() const;

 private:
  std::vector<clockid_t> clocks_;
  mutable std::mutex mu_;
  mutable std::vector<int64_t> last_ns_;
};

}  // namespace mesh

#include "mesh/base/process_signals.h"

#include <signal.h>
#include <time.h>

#include <atomic>
#include <cerrno>

namespace mesh {
namespace {

std::atomic<bool> stop_requested{false};
std::atomic<bool> reload_requested{false};

void OnStopSignal(int) { stop_requested.store(true); }
void OnReloadSignal(int) { reload_requested.store(true); }

}  // namespace

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR so the caller can stop
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool StopRequested() { return stop_requested.load(); }

void InstallReloadHandler() {
  struct sigaction sa = {};
  sa.sa_handler = OnReloadSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a reload is no reason to interrupt a read
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool TakeReloadRequest() { return reload_requested.exchange(false); }

bool SleepUnlessStopped(std::chrono::milliseconds d) {
  // Short steps: a signal delivered to another thread does not interrupt this one.
  auto left = d;
  while (left.count() > 0) {
    if (StopRequested()) return false;
    const auto step = std::min(left, std::chrono::milliseconds(50));
    timespec ts{static_cast<time_t>(step.count() / 1000), static_cast<long>(step.count() % 1000) * 1'000'000};
    nanosleep(&ts, nullptr);
    left -= step;
  }
  return !StopRequested();
}

}  // namespace mesh

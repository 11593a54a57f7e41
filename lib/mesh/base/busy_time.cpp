#include "mesh/base/busy_time.h"

namespace mesh {

BusyTime::BusyTime(const Clock& clock) : clock_(clock), origin_ns_(clock.MonotonicNs()) {}

int64_t BusyTime::Now() const { return clock_.MonotonicNs() - origin_ns_; }

BusyTime::Scope::Scope(BusyTime& busy) : busy_(busy) {
  std::lock_guard lock(busy_.mu_);
  start_ns_ = busy_.Now();
  ++busy_.open_;
  busy_.open_starts_ns_ += start_ns_;
}

BusyTime::Scope::~Scope() {
  std::lock_guard lock(busy_.mu_);
  --busy_.open_;
  busy_.open_starts_ns_ -= start_ns_;
  busy_.ended_ns_ += busy_.Now() - start_ns_;
}

int64_t BusyTime::TotalNs() const {
  std::lock_guard lock(mu_);
  // Each open scope has been busy for now - its start: open * now - the sum of the starts.
  return ended_ns_ + open_ * Now() - open_starts_ns_;
}

}  // namespace mesh

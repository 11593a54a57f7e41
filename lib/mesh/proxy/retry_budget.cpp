#include "mesh/proxy/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace mesh {
namespace {

RetryBudget::Options Clamped(RetryBudget::Options options) {
  options.ratio = std::isnan(options.ratio) ? 0 : std::max(options.ratio, 0.0);
  options.min_retries_per_second = std::max(options.min_retries_per_second, 0);
  options.window = std::max(options.window, std::chrono::nanoseconds(10));
  return options;
}

// Floor division by a positive `b`, so that a negative time (the monotonic clock's origin is
// arbitrary) still maps to consistent slots.
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t quotient = a / b;
  return a % b < 0 ? quotient - 1 : quotient;
}

}  // namespace

RetryBudget::RetryBudget(const Clock& clock) : RetryBudget(clock, Options{}) {}

RetryBudget::RetryBudget(const Clock& clock, Options options)
    : clock_(clock), options_(Clamped(options)), slot_ns_(options_.window.count() / kSlots) {}

void RetryBudget::RecordRequest() {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  ++Current(now).requests;
}

bool RetryBudget::TryRetry() {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  Slot& current = Current(now);
  int64_t requests = 0;
  int64_t retries = 0;
  for (const Slot& slot : slots_) {
    if (slot.index > current.index - kSlots && slot.index <= current.index) {
      requests += slot.requests;
      retries += slot.retries;
    }
  }
  const double window_seconds = static_cast<double>(options_.window.count()) / 1e9;
  const double allowed = options_.ratio * static_cast<double>(requests) +
                         options_.min_retries_per_second * window_seconds;
  // The tolerance absorbs rounding: 0.2 x 100 requests must allow the 20th retry.
  if (static_cast<double>(retries + 1) > allowed + 1e-9) return false;
  ++current.retries;
  return true;
}

RetryBudget::Slot& RetryBudget::Current(int64_t now_ns) {
  const int64_t index = FloorDiv(now_ns, slot_ns_);
  Slot& slot = slots_[static_cast<size_t>(index - FloorDiv(index, kSlots) * kSlots)];
  // The slot last held the counts of a tenth that has left the window (or, with a fake clock set
  // back, one that has not come yet): start it afresh.
  if (slot.index != index) slot = Slot{.index = index};
  return slot;
}

std::chrono::milliseconds JitteredBackoff(int attempt, std::mt19937_64& random,
                                          std::chrono::milliseconds base,
                                          std::chrono::milliseconds cap) {
  if (base.count() <= 0 || cap.count() <= 0) return std::chrono::milliseconds(0);
  int64_t ceiling = std::min(base.count(), cap.count());
  for (int i = 0; i < attempt && ceiling < cap.count(); ++i) {
    ceiling = ceiling > cap.count() / 2 ? cap.count() : ceiling * 2;
  }
  std::uniform_int_distribution<int64_t> wait(0, ceiling);
  return std::chrono::milliseconds(wait(random));
}

}  // namespace mesh

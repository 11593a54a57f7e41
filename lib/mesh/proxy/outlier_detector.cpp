#include "mesh/proxy/outlier_detector.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace mesh {
namespace {

using std::chrono::nanoseconds;

// Doublings beyond this cannot matter: the ejection time has long reached any cap.
constexpr int kMaxEjections = 62;

OutlierDetector::Options Clamped(OutlierDetector::Options options) {
  options.consecutive_failures = std::max(options.consecutive_failures, 1);
  options.base_ejection = std::max(options.base_ejection, nanoseconds(0));
  options.max_ejection = std::max(options.max_ejection, options.base_ejection);
  // At least 1 ns: it divides the healthy time.
  options.backoff_decay = std::max(options.backoff_decay, nanoseconds(1));
  options.probe_timeout = std::max(options.probe_timeout, nanoseconds(0));
  options.max_ejection_percent = std::clamp(options.max_ejection_percent, 0, 100);
  return options;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

}  // namespace

OutlierDetector::OutlierDetector(const Clock& clock) : OutlierDetector(clock, Options{}) {}

OutlierDetector::OutlierDetector(const Clock& clock, Options options)
    : clock_(clock), options_(Clamped(options)) {}

void OutlierDetector::SetEndpoints(std::vector<Endpoint> endpoints) {
  std::lock_guard lock(mu_);
  std::vector<Entry> next;
  next.reserve(endpoints.size());
  for (Endpoint& endpoint : endpoints) {
    const bool duplicate = std::any_of(next.begin(), next.end(),
                                       [&](const Entry& e) { return e.endpoint == endpoint; });
    if (duplicate) continue;
    if (const size_t kept = IndexOf(endpoint); kept < entries_.size()) {
      next.push_back(entries_[kept]);
    } else {
      next.push_back({.endpoint = std::move(endpoint)});
    }
  }
  entries_ = std::move(next);
}

bool OutlierDetector::Allow(const Endpoint& endpoint) {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  const size_t i = IndexOf(endpoint);
  if (i == entries_.size()) return true;
  Entry& entry = entries_[i];
  Advance(entry, now);
  if (Refuses(entry, now)) return false;
  if (entry.state == State::kHalfOpen) entry.probe_started_ns = now;
  return true;
}

void OutlierDetector::Record(const Endpoint& endpoint, bool failure) {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  const size_t i = IndexOf(endpoint);
  if (i == entries_.size()) return;
  Entry& entry = entries_[i];
  Advance(entry, now);
  switch (entry.state) {
    case State::kHealthy:
      if (!failure) {
        entry.failures = 0;
      } else if (++entry.failures >= options_.consecutive_failures) {
        entry.failures = options_.consecutive_failures;  // stays there while ejection is refused
        TryEject(entry, now);
      }
      break;
    case State::kEjected:
      break;
    case State::kHalfOpen:
      // Without a probe out, this answers a request sent before the ejection.
      if (entry.probe_started_ns < 0) break;
      if (failure) {
        TryEject(entry, now);
      } else {
        entry.state = State::kHealthy;
        entry.failures = 0;
        entry.healthy_since_ns = now;
      }
      entry.probe_started_ns = -1;
      break;
  }
}

bool OutlierDetector::IsEjected(const Endpoint& endpoint) const {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  const size_t i = IndexOf(endpoint);
  return i < entries_.size() && Refuses(entries_[i], now);
}

int64_t OutlierDetector::ejections_total() const {
  std::lock_guard lock(mu_);
  return ejections_total_;
}

size_t OutlierDetector::IndexOf(const Endpoint& endpoint) const {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.endpoint == endpoint; });
  return static_cast<size_t>(it - entries_.begin());
}

void OutlierDetector::Advance(Entry& entry, int64_t now_ns) const {
  if (entry.state == State::kEjected && now_ns >= entry.ejected_until_ns) {
    entry.state = State::kHalfOpen;
    entry.probe_started_ns = -1;
  }
  if (entry.state == State::kHalfOpen && entry.probe_started_ns >= 0 &&
      now_ns - entry.probe_started_ns >= options_.probe_timeout.count()) {
    entry.probe_started_ns = -1;
  }
}

bool OutlierDetector::Refuses(const Entry& entry, int64_t now_ns) const {
  switch (entry.state) {
    case State::kHealthy:
      return false;
    case State::kEjected:
      return now_ns < entry.ejected_until_ns;
    case State::kHalfOpen:
      return entry.probe_started_ns >= 0 &&
             now_ns - entry.probe_started_ns < options_.probe_timeout.count();
  }
  return false;
}

void OutlierDetector::TryEject(Entry& entry, int64_t now_ns) {
  const auto out_of_rotation = std::count_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return &e != &entry && e.state != State::kHealthy;
  });
  const auto allowed = static_cast<int64_t>(entries_.size()) * options_.max_ejection_percent / 100;
  if (out_of_rotation + 1 > allowed) {
    // Refused: the endpoint serves on, and its next failure tries again.
    if (entry.state != State::kHealthy) entry.healthy_since_ns = now_ns;
    entry.state = State::kHealthy;
    entry.failures = options_.consecutive_failures;
    return;
  }
  if (entry.state == State::kHealthy && entry.ejections > 0) {
    const int64_t healthy_ns = std::max<int64_t>(now_ns - entry.healthy_since_ns, 0);
    const int64_t steps = healthy_ns / options_.backoff_decay.count();
    entry.ejections = static_cast<int>(std::max<int64_t>(entry.ejections - steps, 0));
  }
  entry.ejections = std::min(entry.ejections + 1, kMaxEjections);
  int64_t duration = options_.base_ejection.count();
  const int64_t cap = options_.max_ejection.count();
  for (int i = 1; i < entry.ejections && duration < cap; ++i) {
    duration = duration > cap / 2 ? cap : duration * 2;
  }
  entry.state = State::kEjected;
  entry.failures = 0;
  entry.ejected_until_ns = SaturatingAdd(now_ns, std::min(duration, cap));
  ++ejections_total_;
}

}  // namespace mesh

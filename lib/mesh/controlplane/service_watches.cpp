#include "mesh/controlplane/service_watches.h"

#include <map>
#include <utility>

namespace mesh {

ServiceWatches::ServiceWatches(const Clock& clock, size_t max_parked, int64_t min_wake_gap_ns)
    : clock_(clock), max_parked_(max_parked), min_wake_gap_ns_(min_wake_gap_ns) {}

bool ServiceWatches::Park(const std::string& service, int64_t version, int64_t wait_ns,
                          std::shared_ptr<DeferredResponse> deferred, HttpResponse unchanged) {
  const int64_t deadline = clock_.MonotonicNs() + wait_ns;
  std::lock_guard lock(mu_);
  if (stopped_ || watchers_.size() >= max_parked_) return false;
  watchers_.push_back({service, version, deadline, std::move(deferred), std::move(unchanged)});
  return true;
}

void ServiceWatches::Tick(const VersionOf& version_of, const AnswerOf& answer_of) {
  std::map<std::string, int64_t> versions;  // of the services watched, asked for outside the lock
  {
    std::lock_guard lock(mu_);
    for (const Watcher& w : watchers_) versions.emplace(w.service, 0);
  }
  for (auto& [service, version] : versions) version = version_of(service);
  const int64_t now = clock_.MonotonicNs();
  std::vector<Watcher> changed, expired;
  {
    std::lock_guard lock(mu_);
    // Services woken within the gap wait for a later tick; those woken before it are forgotten.
    std::erase_if(woken_mono_ns_, [&](const auto& woken) { return now - woken.second >= min_wake_gap_ns_; });
    std::vector<Watcher> kept;
    kept.reserve(watchers_.size());
    for (Watcher& w : watchers_) {
      const auto seen = versions.find(w.service);  // absent: parked since the versions were read
      if (w.deferred->abandoned()) continue;
      const bool moved = seen != versions.end() && seen->second != w.version && !woken_mono_ns_.contains(w.service);
      if (moved) changed.push_back(std::move(w));
      else if (now >= w.deadline_mono_ns) expired.push_back(std::move(w));
      else kept.push_back(std::move(w));
    }
    watchers_ = std::move(kept);
    for (const Watcher& w : changed) woken_mono_ns_.emplace(w.service, now);
  }
  std::map<std::string, HttpResponse> answers;
  for (Watcher& w : changed) {
    auto answer = answers.find(w.service);
    if (answer == answers.end()) answer = answers.emplace(w.service, answer_of(w.service)).first;
    w.deferred->Complete(answer->second);
  }
  for (Watcher& w : expired) w.deferred->Complete(std::move(w.unchanged));
}

void ServiceWatches::Stop() {
  std::vector<Watcher> all;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    all.swap(watchers_);
  }
  for (Watcher& w : all) w.deferred->Complete(std::move(w.unchanged));
}

size_t ServiceWatches::parked() const {
  std::lock_guard lock(mu_);
  return watchers_.size();
}

}  // namespace mesh

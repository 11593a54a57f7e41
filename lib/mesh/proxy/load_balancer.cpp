#include "mesh/proxy/load_balancer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>

namespace mesh {
namespace {

LoadBalancer::Options Sanitized(LoadBalancer::Options options) {
  using std::chrono::nanoseconds;
  options.decay = std::max(options.decay, nanoseconds(1));
  options.default_latency = std::max(options.default_latency, nanoseconds(0));
  options.failure_penalty = std::max(options.failure_penalty, nanoseconds(0));
  return options;
}

}  // namespace

LoadBalancer::LoadBalancer(const Clock& clock)
    : LoadBalancer(clock, Options{}, std::random_device{}()) {}

LoadBalancer::LoadBalancer(const Clock& clock, Options options, uint64_t seed)
    : clock_(clock), options_(Sanitized(options)), random_(seed) {}

void LoadBalancer::SetEndpoints(std::vector<Endpoint> endpoints) {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  // A new instance starts at the default, or at its peers' average estimate when that is
  // lower: above fast peers it would get no traffic until its estimate decayed (about 30 s).
  double start = static_cast<double>(options_.default_latency.count());
  double peers = 0;
  size_t known = 0;
  for (const Endpoint& endpoint : endpoints) {
    if (const size_t kept = IndexOf(endpoint); kept < entries_.size()) {
      peers += entries_[kept].estimate_ns;
      ++known;
    }
  }
  if (known > 0) start = std::min(start, peers / static_cast<double>(known));
  std::vector<Entry> next;
  next.reserve(endpoints.size());
  for (Endpoint& endpoint : endpoints) {
    const bool duplicate = std::any_of(next.begin(), next.end(),
                                       [&](const Entry& e) { return e.endpoint == endpoint; });
    if (duplicate) continue;
    if (const size_t kept = IndexOf(endpoint); kept < entries_.size()) {
      next.push_back(entries_[kept]);
    } else {
      next.push_back({std::move(endpoint), start, now});
    }
  }
  entries_ = std::move(next);
  order_.resize(entries_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
}

Result<Endpoint> LoadBalancer::Pick() {
  return Pick([](const Endpoint&) { return true; });
}

Result<Endpoint> LoadBalancer::Pick(const std::function<bool(const Endpoint&)>& eligible) {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  if (entries_.empty()) return Status::IOError("no endpoints");
  // A partial Fisher-Yates shuffle: the first two eligible endpoints of a uniformly random order
  // are a uniformly random pair, and `eligible` is asked only until two are found.
  std::array<size_t, 2> chosen{};
  size_t found = 0;
  for (size_t i = 0; i < order_.size() && found < 2; ++i) {
    std::uniform_int_distribution<size_t> pick(i, order_.size() - 1);
    std::swap(order_[i], order_[pick(random_)]);
    if (eligible(entries_[order_[i]].endpoint)) chosen[found++] = order_[i];
  }
  if (found == 0) {
    return Status::IOError("no healthy endpoint: all " + std::to_string(entries_.size()) +
                           " are ineligible");
  }
  size_t best = chosen[0];
  if (found == 2 && CostOf(entries_[chosen[1]], now) < CostOf(entries_[best], now)) {
    best = chosen[1];
  }
  return entries_[best].endpoint;
}

void LoadBalancer::Started(const Endpoint& endpoint) {
  std::lock_guard lock(mu_);
  if (const size_t i = IndexOf(endpoint); i < entries_.size()) ++entries_[i].outstanding;
}

void LoadBalancer::Finished(const Endpoint& endpoint, int64_t latency_ns, bool failed) {
  const int64_t now = clock_.MonotonicNs();
  double sample = static_cast<double>(std::max<int64_t>(latency_ns, 0));
  if (failed) sample = std::max(sample, static_cast<double>(options_.failure_penalty.count()));
  std::lock_guard lock(mu_);
  const size_t i = IndexOf(endpoint);
  if (i == entries_.size()) return;
  Entry& entry = entries_[i];
  entry.outstanding = std::max<int64_t>(entry.outstanding - 1, 0);
  const double elapsed = static_cast<double>(std::max<int64_t>(now - entry.updated_ns, 0));
  const double weight = std::exp(-elapsed / static_cast<double>(options_.decay.count()));
  const double current = entry.estimate_ns * weight;
  entry.estimate_ns = sample >= current ? sample : current * weight + sample * (1 - weight);
  entry.updated_ns = now;
}

std::optional<double> LoadBalancer::Cost(const Endpoint& endpoint) const {
  const int64_t now = clock_.MonotonicNs();
  std::lock_guard lock(mu_);
  const size_t i = IndexOf(endpoint);
  if (i == entries_.size()) return std::nullopt;
  return CostOf(entries_[i], now);
}

size_t LoadBalancer::IndexOf(const Endpoint& endpoint) const {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.endpoint == endpoint; });
  return static_cast<size_t>(it - entries_.begin());
}

double LoadBalancer::CostOf(const Entry& entry, int64_t now_ns) const {
  // Idle time decays the estimate toward zero, so an endpoint that stopped getting traffic
  // after a bad spell is tried again.
  const double elapsed = static_cast<double>(std::max<int64_t>(now_ns - entry.updated_ns, 0));
  const double estimate =
      entry.estimate_ns * std::exp(-elapsed / static_cast<double>(options_.decay.count()));
  return estimate * static_cast<double>(entry.outstanding + 1);
}

}  // namespace mesh

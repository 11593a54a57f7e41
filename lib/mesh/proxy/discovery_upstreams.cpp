#include "mesh/proxy/discovery_upstreams.h"

namespace mesh {
namespace {

std::string Key(const Endpoint& e) { return e.host + ":" + std::to_string(e.port); }

// The Host header's name, without a port.
std::string ServiceName(std::string_view authority) { return std::string(authority.substr(0, authority.find(':'))); }

}  // namespace

DiscoveryUpstreams::DiscoveryUpstreams(RegistryClient& registry, const Clock& clock)
    : registry_(registry), clock_(clock) {}

DiscoveryUpstreams::ServiceState* DiscoveryUpstreams::StateFor(const std::string& service,
                                                               const std::vector<Endpoint>& instances) {
  std::lock_guard lock(mu_);
  std::unique_ptr<ServiceState>& state = services_[service];
  if (!state) state = std::make_unique<ServiceState>(clock_);
  if (state->endpoints != instances) {
    // The registry changed: both learn the new set (survivors keep their history).
    state->endpoints = instances;
    state->balancer.SetEndpoints(instances);
    state->outliers.SetEndpoints(instances);
    for (const Endpoint& e : instances) by_endpoint_[Key(e)] = state.get();
  }
  return state.get();
}

DiscoveryUpstreams::ServiceState* DiscoveryUpstreams::StateOf(const Endpoint& endpoint) {
  std::lock_guard lock(mu_);
  const auto it = by_endpoint_.find(Key(endpoint));
  return it == by_endpoint_.end() ? nullptr : it->second;
}

bool DiscoveryUpstreams::Resolving(std::string_view authority) {
  return !registry_.Instances(ServiceName(authority)).has_value();
}

Result<Endpoint> DiscoveryUpstreams::Pick(std::string_view authority, int) {
  const std::string service = ServiceName(authority);
  const std::optional<std::vector<Endpoint>> known = registry_.Instances(service);
  if (!known) return Status::NotFound("meshd has not answered yet for service '" + service + "'");
  const std::vector<Endpoint>& instances = *known;
  if (instances.empty()) return Status::NotFound("no known instance of service '" + service + "'");
  ServiceState* state = StateFor(service, instances);
  // Allow() hands out an ejected instance's single half-open probe: ask it only of the chosen
  // one, and choose again when another request took the probe first.
  for (size_t tries = 0; tries <= instances.size(); ++tries) {
    Result<Endpoint> picked =
        state->balancer.Pick([&](const Endpoint& e) { return !state->outliers.IsEjected(e); });
    if (!picked.ok()) break;
    if (state->outliers.Allow(*picked)) return picked;
  }
  return Status::IOError("no healthy instance of service '" + service + "'");
}

void DiscoveryUpstreams::Started(const Endpoint& endpoint) {
  if (ServiceState* state = StateOf(endpoint)) state->balancer.Started(endpoint);
}

void DiscoveryUpstreams::Report(const Endpoint& endpoint, AttemptOutcome outcome, int64_t latency_ns) {
  ServiceState* state = StateOf(endpoint);
  if (state == nullptr) return;
  const bool failed = outcome != AttemptOutcome::kSuccess;
  state->balancer.Finished(endpoint, latency_ns, failed);
  state->outliers.Record(endpoint, failed);
}

int64_t DiscoveryUpstreams::ejections_total() const {
  std::lock_guard lock(mu_);
  int64_t total = 0;
  for (const auto& [name, state] : services_) total += state->outliers.ejections_total();
  return total;
}

}  // namespace mesh

// DiscoveryUpstreams: the outbound proxy's UpstreamSelector. A request's service name (its Host
// header, without a port) is resolved through the RegistryClient's snapshot of meshd's
// registry; among the healthy instances, a LoadBalancer per service picks one (power of two
// choices over peak-EWMA latency × outstanding requests) while an OutlierDetector per service
// keeps ejected instances out. Attempt outcomes feed both. A service not looked up before is
// Resolving() until meshd's first answer for it, so that the proxy can wait for that answer
// instead of refusing the first call. Thread-safe: the per-service state
// is found under a short lock, the balancer and detector have their own.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/proxy/load_balancer.h"
#include "mesh/proxy/outlier_detector.h"
#include "mesh/proxy/registry_client.h"
#include "mesh/proxy/upstream.h"

namespace mesh {

class DiscoveryUpstreams : public UpstreamSelector {
 public:
  // `registry` and `clock` must outlive this.
  DiscoveryUpstreams(RegistryClient& registry, const Clock& clock);

  // Errors: NotFound (meshd knows no instance of the service, or has not answered for it yet:
  // see Resolving), IOError (every instance ejected).
  Result<Endpoint> Pick(std::string_view service, int attempt) override;
  // True while meshd has not answered yet for a service asked for the first time.
  bool Resolving(std::string_view service) override;
  void Started(const Endpoint& endpoint) override;
  void Report(const Endpoint& endpoint, AttemptOutcome outcome, int64_t latency_ns) override;

  int64_t ejections_total() const;

 private:
  struct ServiceState {
    explicit ServiceState(const Clock& clock) : balancer(clock), outliers(clock) {}
    LoadBalancer balancer;
    OutlierDetector outliers;
    std::vector<Endpoint> endpoints;  // as last given to both
  };
  ServiceState* StateFor(const std::string& service, const std::vector<Endpoint>& instances);
  ServiceState* StateOf(const Endpoint& endpoint);

  RegistryClient& registry_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<ServiceState>> services_;
  std::map<std::string, ServiceState*> by_endpoint_;  // "host:port" -> its service's state
};

}  // namespace mesh

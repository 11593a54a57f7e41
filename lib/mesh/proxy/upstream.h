// Upstreams of the proxy: where a request may go, and what happened when it went there.
// An UpstreamSelector picks an endpoint per attempt and hears every attempt's outcome (so that
// load balancing and outlier detection can learn); inbound uses a fixed one (the local service),
// outbound one fed by meshd's registry. Implementations are called from the proxy's I/O
// threads: thread-safe, and cheap (no blocking I/O).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

struct Endpoint {
  std::string host;  // an IP address literal (no DNS on the request path)
  int port = 0;
  std::string instance_id;  // the registry's id, or empty
  bool tls = false;         // a proxy with mTLS: reached over TLS, proving the service's identity
  bool operator==(const Endpoint&) const = default;
};

enum class AttemptOutcome {
  kSuccess,         // a response that is not 5xx
  kServerError,     // 5xx from the upstream
  kConnectFailure,  // refused, unreachable, reset before any response byte
  kTimeout,         // no complete response in time
  kReset,           // the connection broke mid-response
};

class UpstreamSelector {
 public:
  virtual ~UpstreamSelector() = default;
  // The endpoint for attempt number `attempt` (0 first) of a request to `service` (the Host
  // header's name for outbound; ignored inbound). Errors: NotFound (unknown service),
  // Unavailable-like IOError (no healthy instance): the proxy answers 503 JSON with the message.
  virtual Result<Endpoint> Pick(std::string_view service, int attempt) = 0;
  // Called once per attempt, when it ends.
  virtual void Report(const Endpoint& endpoint, AttemptOutcome outcome, int64_t latency_ns) = 0;
  // An attempt to `endpoint` starts (for outstanding-request counts); Report ends it.
  virtual void Started(const Endpoint& endpoint) { (void)endpoint; }
  // After a failed Pick: whether the answer for `service` is still being looked up (a service
  // asked for the first time), so that asking again shortly may succeed. The proxy then waits,
  // on a timer and for a bounded time, instead of answering 503 at once. Never blocks.
  virtual bool Resolving(std::string_view service) {
    (void)service;
    return false;
  }
};

// Always the same endpoint: the local service behind an inbound proxy.
class FixedUpstream : public UpstreamSelector {
 public:
  explicit FixedUpstream(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
  Result<Endpoint> Pick(std::string_view, int) override { return endpoint_; }
  void Report(const Endpoint&, AttemptOutcome, int64_t) override {}

 private:
  Endpoint endpoint_;
};

}  // namespace mesh

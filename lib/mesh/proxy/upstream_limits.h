// UpstreamLimits: a proxy's circuit-breaker thresholds per upstream endpoint ("host:port"), as
// Envoy's cluster circuit breakers (max_requests, max_connections, max_pending_requests) and
// Linkerd's fail-fast: beyond them a request is refused at once instead of piling work on a slow
// upstream.
// - requests: requests in progress toward the endpoint, those waiting for a connection included;
// - connections: upstream connections open to it, busy or pooled;
// - pending: requests waiting for a connection because `connections` is reached. A waiter gets
//   the slot of the next connection closed (first come, first served).
// A threshold of 0 is no limit.
//
// Thread-safe. Taking a slot under its limit is one atomic operation; a mutex per endpoint is
// taken only to queue a waiter, and to give back a connection slot while some wait. The counts
// of an endpoint live as long as a slot or a holder of its EndpointCounts does; UpstreamLimits
// forgets unused ones once it knows more than kKeptEndpoints.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace mesh {

class EndpointCounts;

// One request in progress (RequestSlot) or one open connection (ConnectionSlot) toward an
// endpoint, given back when destroyed. An empty slot (refused) converts to false.
class RequestSlot {
 public:
  RequestSlot() = default;
  explicit RequestSlot(std::shared_ptr<EndpointCounts> counts) : counts_(std::move(counts)) {}
  RequestSlot(RequestSlot&&) noexcept = default;
  RequestSlot& operator=(RequestSlot&& other) noexcept;
  ~RequestSlot();
  explicit operator bool() const { return counts_ != nullptr; }

 private:
  std::shared_ptr<EndpointCounts> counts_;
};

class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(std::shared_ptr<EndpointCounts> counts) : counts_(std::move(counts)) {}
  ConnectionSlot(ConnectionSlot&&) noexcept = default;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ~ConnectionSlot();
  explicit operator bool() const { return counts_ != nullptr; }

 private:
  std::shared_ptr<EndpointCounts> counts_;
};

// A request queued for a connection slot (see EndpointCounts::WaitForConnection). Leaves the
// queue when destroyed, giving back a slot granted but not taken.
class PendingConnection {
 public:
  struct Waiter;
  PendingConnection() = default;
  PendingConnection(std::shared_ptr<EndpointCounts> counts, std::shared_ptr<Waiter> waiter);
  PendingConnection(PendingConnection&&) noexcept = default;
  PendingConnection& operator=(PendingConnection&&) = delete;
  ~PendingConnection();

  // False when the queue was full: the request was not queued.
  bool queued() const { return waiter_ != nullptr; }
  // Whether a slot was granted (then `wake` was called, unless it was granted while queuing).
  bool granted() const;
  // The granted slot; else leaves the queue and returns an empty slot.
  ConnectionSlot Take();

 private:
  std::shared_ptr<EndpointCounts> counts_;
  std::shared_ptr<Waiter> waiter_;
};

struct UpstreamThresholds {
  int64_t max_requests = 0;
  int64_t max_connections = 0;
  int64_t max_pending = 0;
};

// The counts of one endpoint. Obtain it from UpstreamLimits::For.
class EndpointCounts : public std::enable_shared_from_this<EndpointCounts> {
 public:
  explicit EndpointCounts(UpstreamThresholds thresholds) : thresholds_(thresholds) {}

  // A request slot, or an empty one when max_requests are in progress.
  RequestSlot TryStartRequest();
  // A connection slot, or an empty one when max_connections are open.
  ConnectionSlot TryOpenConnection();
  // Queues for a connection slot. `wake` is called (on the thread giving a slot back, outside
  // any lock: it must only schedule) once the slot is granted. Not queued when max_pending
  // requests already wait; granted at once when a slot freed meanwhile.
  PendingConnection WaitForConnection(std::function<void()> wake);

  int64_t requests() const { return requests_.load(); }
  int64_t connections() const { return connections_.load(); }
  int64_t pending() const { return waiting_.load(); }
  const UpstreamThresholds& thresholds() const { return thresholds_; }

 private:
  friend class RequestSlot;
  friend class ConnectionSlot;
  friend class PendingConnection;

  static bool TryIncrementBelow(std::atomic<int64_t>& count, int64_t limit);
  void ReleaseRequest() { requests_.fetch_sub(1); }
  void ReleaseConnection();
  // Grants free slots to waiters in order; called with mu_ held. Returns whom to wake.
  std::vector<std::function<void()>> GrantLocked();
  ConnectionSlot TakeOrLeave(PendingConnection::Waiter& waiter);

  const UpstreamThresholds thresholds_;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> waiting_{0};  // queue_.size(), readable without the lock
  std::mutex mu_;
  std::deque<std::shared_ptr<PendingConnection::Waiter>> queue_;
};

class UpstreamLimits {
 public:
  // Endpoints whose counts are kept once unused: past this many, unused ones are forgotten.
  static constexpr size_t kKeptEndpoints = 1024;

  explicit UpstreamLimits(UpstreamThresholds thresholds) : thresholds_(thresholds) {}
  // The counts of `endpoint` ("host:port"), made on first use.
  std::shared_ptr<EndpointCounts> For(const std::string& endpoint);
  const UpstreamThresholds& thresholds() const { return thresholds_; }
  size_t endpoints_known() const;

 private:
  const UpstreamThresholds thresholds_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<EndpointCounts>> by_endpoint_;
};

}  // namespace mesh

#include "mesh/proxy/upstream_limits.h"

#include <algorithm>
#include <utility>

namespace mesh {

struct PendingConnection::Waiter {
  std::function<void()> wake;
  // Both under the counts' mutex.
  bool granted = false;  // a connection slot was counted for this waiter
  bool taken = false;    // and handed over (or given back)
};

RequestSlot& RequestSlot::operator=(RequestSlot&& other) noexcept {
  if (this != &other) {
    if (counts_) counts_->ReleaseRequest();
    counts_ = std::move(other.counts_);
  }
  return *this;
}

RequestSlot::~RequestSlot() {
  if (counts_) counts_->ReleaseRequest();
}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    if (counts_) counts_->ReleaseConnection();
    counts_ = std::move(other.counts_);
  }
  return *this;
}

ConnectionSlot::~ConnectionSlot() {
  if (counts_) counts_->ReleaseConnection();
}

PendingConnection::PendingConnection(std::shared_ptr<EndpointCounts> counts,
                                     std::shared_ptr<Waiter> waiter)
    : counts_(std::move(counts)), waiter_(std::move(waiter)) {}

PendingConnection::~PendingConnection() {
  if (waiter_) counts_->TakeOrLeave(*waiter_);  // a slot granted but not taken goes back here
}

bool PendingConnection::granted() const {
  if (!waiter_) return false;
  std::lock_guard lock(counts_->mu_);
  return waiter_->granted;
}

ConnectionSlot PendingConnection::Take() {
  return waiter_ ? counts_->TakeOrLeave(*waiter_) : ConnectionSlot();
}

bool EndpointCounts::TryIncrementBelow(std::atomic<int64_t>& count, int64_t limit) {
  if (limit <= 0) {
    count.fetch_add(1);
    return true;
  }
  int64_t now = count.load();
  do {
    if (now >= limit) return false;
  } while (!count.compare_exchange_weak(now, now + 1));
  return true;
}

RequestSlot EndpointCounts::TryStartRequest() {
  if (!TryIncrementBelow(requests_, thresholds_.max_requests)) return {};
  return RequestSlot(shared_from_this());
}

ConnectionSlot EndpointCounts::TryOpenConnection() {
  if (!TryIncrementBelow(connections_, thresholds_.max_connections)) return {};
  return ConnectionSlot(shared_from_this());
}

PendingConnection EndpointCounts::WaitForConnection(std::function<void()> wake) {
  auto waiter = std::make_shared<PendingConnection::Waiter>();
  waiter->wake = std::move(wake);
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lock(mu_);
    if (thresholds_.max_pending > 0 &&
        static_cast<int64_t>(queue_.size()) >= thresholds_.max_pending)
      return {};
    queue_.push_back(waiter);
    waiting_.store(static_cast<int64_t>(queue_.size()));
    // A slot given back after the caller found none, but before the store above, saw no waiter
    // to grant it to: it is granted now.
    wakes = GrantLocked();
  }
  for (const auto& w : wakes) w();
  return PendingConnection(shared_from_this(), std::move(waiter));
}

void EndpointCounts::ReleaseConnection() {
  connections_.fetch_sub(1);
  // Sequentially consistent with the waiter's store of waiting_ then its increment attempt: one
  // of the two sees the other, so a freed slot never goes unnoticed by a queued waiter.
  if (waiting_.load() == 0) return;
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lock(mu_);
    wakes = GrantLocked();
  }
  for (const auto& w : wakes) w();
}

std::vector<std::function<void()>> EndpointCounts::GrantLocked() {
  std::vector<std::function<void()>> wakes;
  while (!queue_.empty() && TryIncrementBelow(connections_, thresholds_.max_connections)) {
    std::shared_ptr<PendingConnection::Waiter> first = std::move(queue_.front());
    queue_.pop_front();
    first->granted = true;
    wakes.push_back(first->wake);
  }
  waiting_.store(static_cast<int64_t>(queue_.size()));
  return wakes;
}

ConnectionSlot EndpointCounts::TakeOrLeave(PendingConnection::Waiter& waiter) {
  std::lock_guard lock(mu_);
  if (waiter.granted) {
    if (waiter.taken) return {};
    waiter.taken = true;
    return ConnectionSlot(shared_from_this());
  }
  std::erase_if(queue_, [&waiter](const auto& queued) { return queued.get() == &waiter; });
  waiting_.store(static_cast<int64_t>(queue_.size()));
  return {};
}

std::shared_ptr<EndpointCounts> UpstreamLimits::For(const std::string& endpoint) {
  std::lock_guard lock(mu_);
  std::shared_ptr<EndpointCounts>& counts = by_endpoint_[endpoint];
  if (!counts) {
    // Instances come and go: forget the endpoints nobody holds (no slot, no cache) once there
    // are many. Only this map holds those, and only under this lock can a holder appear.
    if (by_endpoint_.size() > kKeptEndpoints) {
      std::erase_if(by_endpoint_, [](const auto& entry) {
        return entry.second && entry.second.use_count() == 1;
      });
    }
    counts = std::make_shared<EndpointCounts>(thresholds_);
  }
  return counts;
}

size_t UpstreamLimits::endpoints_known() const {
  std::lock_guard lock(mu_);
  return by_endpoint_.size();
}

}  // namespace mesh

#include "mesh/proxy/request_metrics.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace mesh {

const char* DirectionName(HttpProxy::Direction d) {
  return d == HttpProxy::Direction::kInbound ? "inbound" : "outbound";
}

namespace {

// The series of the label values `labels()` makes, looked up once: later calls read the pointer
// without a lock or an allocation. nullptr when the family refuses the label set (its
// cardinality cap).
template <typename T, typename MakeLabels>
T* Lazily(std::atomic<T*>& slot, Family<T>& family, MakeLabels labels) {
  if (T* series = slot.load(std::memory_order_acquire)) return series;
  Result<T*> resolved = family.WithLabels(labels());
  if (!resolved.ok()) return nullptr;
  // Racing threads get the same series from the family: either store is right.
  slot.store(*resolved, std::memory_order_release);
  return *resolved;
}

}  // namespace

// One label set's series. The key is immutable once the entry is published; the series of the
// families that appear later (retries, proxy errors, denials) are filled in on first use.
struct RequestMetrics::Series {
  HttpProxy::Direction direction;
  int status;
  std::string client_service;
  std::atomic<Counter*> requests{nullptr};
  std::atomic<Histogram*> duration{nullptr};
  std::atomic<Counter*> retries{nullptr};
  std::atomic<Counter*> proxy_errors{nullptr};
  std::atomic<Counter*> denials{nullptr};
  std::atomic<Counter*> ambiguous_paths{nullptr};

  bool Is(HttpProxy::Direction d, int s, std::string_view c) const {
    return direction == d && status == s && client_service == c;
  }
};

RequestMetrics::RequestMetrics(MetricsRegistry& registry, std::string service)
    : service_(std::move(service)),
      requests_(MustRegister(registry.AddCounter("mesh_requests_total",
                                         "Requests through the proxy (client_service: the caller's mTLS identity)",
                                         {"service", "direction", "code", "client_service"}))),
      durations_(MustRegister(registry.AddHistogram("mesh_request_duration_seconds",
                                            "Request duration through the proxy, as its client sees it",
                                            {"service", "direction"}))),
      retries_(MustRegister(registry.AddCounter("mesh_request_retries_total", "Retried attempts",
                                        {"service", "direction"}))),
      proxy_errors_(MustRegister(registry.AddCounter(
          "mesh_proxy_errors_total", "Answers the proxy made itself (upstream refused, timed out, no instance)",
          {"service", "direction", "code"}))),
      denials_(MustRegister(registry.AddCounter("mesh_policy_denials_total",
                                        "Inbound requests the authorization policy refused (403)",
                                        {"service", "client_service"}))),
      ambiguous_paths_(MustRegister(registry.AddCounter(
          "mesh_policy_ambiguous_paths_total",
          "Inbound requests denied because their path was ambiguous (';', '%2F', '%25', '..', ...) where a policy "
          "rule judges paths",
          {"service", "client_service"}))),
      slots_(std::make_unique<std::atomic<Series*>[]>(kSlots)) {}

RequestMetrics::~RequestMetrics() {
  for (size_t i = 0; i < kSlots; ++i) delete slots_[i].load(std::memory_order_relaxed);
}

void RequestMetrics::Count(const ProxiedRequest& request, HttpProxy::Direction direction) {
  if (Series* series = Find(direction, request.status, request.client_service)) {
    Apply(*series, request);
    return;
  }
  // The table is full: this label set's series are looked up under the families' locks.
  Series local{direction, request.status, request.client_service};
  Resolve(local);
  Apply(local, request);
}

RequestMetrics::Series* RequestMetrics::Find(HttpProxy::Direction direction, int status,
                                             std::string_view client_service) {
  const size_t hash = std::hash<std::string_view>{}(client_service) * 31 +
                      static_cast<size_t>(status) * 2 + (direction == HttpProxy::Direction::kInbound ? 0 : 1);
  // Linear probing over entries that are never moved nor removed: a reader needs no lock, and
  // a writer only a compare-and-swap on an empty slot.
  Series* fresh = nullptr;
  for (size_t i = 0; i < kSlots; ++i) {
    std::atomic<Series*>& slot = slots_[(hash + i) & (kSlots - 1)];
    Series* found = slot.load(std::memory_order_acquire);
    if (found == nullptr) {
      if (fresh == nullptr) {
        if (size_.fetch_add(1, std::memory_order_relaxed) >= kMaxSeries) {
          size_.fetch_sub(1, std::memory_order_relaxed);
          return nullptr;
        }
        fresh = new Series{direction, status, std::string(client_service)};
        Resolve(*fresh);
      }
      if (slot.compare_exchange_strong(found, fresh, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return fresh;
      }
      // Another thread filled the slot first; `found` is its entry.
    }
    if (found->Is(direction, status, client_service)) {
      if (fresh != nullptr) {
        delete fresh;
        size_.fetch_sub(1, std::memory_order_relaxed);
      }
      return found;
    }
  }
  if (fresh != nullptr) {
    delete fresh;
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
  return nullptr;
}

void RequestMetrics::Resolve(Series& series) {
  using Labels = std::vector<std::string>;
  const std::string direction = DirectionName(series.direction);
  Lazily(series.requests, *requests_,
         [&] { return Labels{service_, direction, std::to_string(series.status), series.client_service}; });
  Lazily(series.duration, *durations_, [&] { return Labels{service_, direction}; });
}

void RequestMetrics::Apply(Series& series, const ProxiedRequest& r) {
  if (Counter* c = series.requests.load(std::memory_order_acquire)) c->Inc();
  if (Histogram* h = series.duration.load(std::memory_order_acquire)) {
    h->Observe(static_cast<double>(r.duration_ns) / 1e9);
  }
  using Labels = std::vector<std::string>;
  const char* direction = DirectionName(series.direction);
  if (r.attempts > 1) {
    if (Counter* c = Lazily(series.retries, *retries_, [&] { return Labels{service_, direction}; })) {
      c->Inc(r.attempts - 1);
    }
  }
  // Only the answers the proxy made itself: a relay cut short after the upstream's own status
  // went out (the client went away mid-body) is an error of the exchange, not a proxy answer.
  if (!r.error.empty() && r.status >= 500) {
    if (Counter* c = Lazily(series.proxy_errors, *proxy_errors_,
                            [&] { return Labels{service_, direction, std::to_string(series.status)}; })) {
      c->Inc();
    }
  }
  if (r.denied) {
    if (Counter* c = Lazily(series.denials, *denials_, [&] { return Labels{service_, series.client_service}; })) {
      c->Inc();
    }
  }
  if (r.ambiguous_path) {
    if (Counter* c = Lazily(series.ambiguous_paths, *ambiguous_paths_,
                            [&] { return Labels{service_, series.client_service}; })) {
      c->Inc();
    }
  }
}

}  // namespace mesh

// What the files of ControlPlane's routes share (control_plane.cpp and control_plane_<area>.cpp:
// ingest, logs, traces, registry, metrics, alerts): the answers to store errors, the common query
// parameters, the ingest counters and the pooled read connection. Internal to controlplane.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "mesh/base/status.h"
#include "mesh/controlplane/control_plane.h"
#include "mesh/http/http_message.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/service_instance.h"

namespace mesh {
namespace control_plane_internal {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// A store error as an HTTP answer: a full disk is 507, anything else on the store side 503
// (clients retry), the caller's mistakes 4xx.
HttpResponse StoreError(const Status& s);
// The `limit` parameter: 100 when absent, at most 10,000. Errors: InvalidArgument.
Result<size_t> LimitParam(const HttpRequest& r);
// Protobuf is OTLP's other encoding; we take JSON only, and say so.
bool IsProtobuf(const HttpRequest& r);
// Service names are path segments and label values: keep them to a safe alphabet.
bool IsValidServiceName(const std::string& s);
// An instance as GET /v1/services/{name} lists it (its stored times, the health judged now).
void AppendInstanceJson(std::string& out, const Instance& instance, bool healthy);
// A number in JSON, or null.
std::string OptionalNumber(const std::optional<double>& v);

template <typename Own>
void CountIngest(Own& own, const char* signal, int64_t rejected,
                 std::chrono::steady_clock::time_point started) {
  if (rejected > 0) {
    if (auto c = own.rejected->WithLabels({signal}); c.ok()) (*c)->Inc(static_cast<double>(rejected));
  }
  if (auto h = own.ingest_seconds->WithLabels({signal}); h.ok()) {
    (*h)->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
}

}  // namespace control_plane_internal

// A read connection from ControlPlane's pool, returned to it when the lease ends.
class ControlPlane::ReadLease {
 public:
  ReadLease(ControlPlane* owner, std::unique_ptr<Store> store)
      : owner_(owner), store_(std::move(store)) {}
  ReadLease(ReadLease&& other) noexcept : owner_(other.owner_), store_(std::move(other.store_)) {}
  ~ReadLease() {
    if (store_) owner_->ReleaseReader(std::move(store_));
  }
  Store& operator*() { return *store_; }

 private:
  ControlPlane* owner_;
  std::unique_ptr<Store> store_;
};

}  // namespace mesh

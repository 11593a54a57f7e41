// What the alerting suites share: a fresh store, and pushes of the metrics and logs that
// services send, at chosen times (cumulative counters, as meshproxy pushes them). The times are
// fixed (kT0, 2025-11-25) and past any retention by the real clock: a meshd serving this store
// gets a fake clock near kT0 (InProcessMeshd also keeps data 100 years unless told otherwise).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mesh/store/log_store.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/prometheus_text.h"
#include "test_support.h"

namespace mesh::testing {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;  // 2025-11-25T13:00:00Z

class AlertStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options o;
    o.path = dir_.File("mesh.db");
    Result<std::unique_ptr<Store>> s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }

  void PushText(const std::string& text, int64_t at_ns) {
    Result<std::vector<MetricFamily>> families = ParsePrometheusText(text);
    ASSERT_TRUE(families.ok()) << families.status().message();
    Status s = InWriteTransaction(store_->db(), [&]() -> Status {
      return MetricStore(*store_).InsertRows(*families, at_ns).status();
    });
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Cumulative totals of one service's sidecar at `at_ns`: requests by code and a latency
  // histogram where `fast` requests took under 100 ms and the rest about 1 s.
  void PushRequests(const std::string& service, int64_t at_ns, double ok, double errors, double fast) {
    const std::string s = "service=\"" + service + "\",direction=\"inbound\"";
    const double total = ok + errors;
    std::string text = "# TYPE mesh_requests_total counter\n";
    text += "mesh_requests_total{" + s + ",code=\"200\"} " + FormatMetricValue(ok) + "\n";
    text += "mesh_requests_total{" + s + ",code=\"500\"} " + FormatMetricValue(errors) + "\n";
    text += "# TYPE mesh_request_duration_seconds histogram\n";
    text += "mesh_request_duration_seconds_bucket{" + s + ",le=\"0.1\"} " + FormatMetricValue(fast) + "\n";
    text += "mesh_request_duration_seconds_bucket{" + s + ",le=\"2\"} " + FormatMetricValue(total) + "\n";
    text += "mesh_request_duration_seconds_bucket{" + s + ",le=\"+Inf\"} " + FormatMetricValue(total) + "\n";
    text += "mesh_request_duration_seconds_sum{" + s + "} 1\n";
    text += "mesh_request_duration_seconds_count{" + s + "} " + FormatMetricValue(total) + "\n";
    PushText(text, at_ns);
  }

  void Log(const std::string& service, LogLevel level, int64_t at_ns, const std::string& message = "boom") {
    LogRecord r;
    r.ts_ns = at_ns;
    r.service = service;
    r.level = level;
    r.message = message;
    Status s = InWriteTransaction(store_->db(), [&]() -> Status { return LogStore(*store_).InsertRows({r}); });
    ASSERT_TRUE(s.ok()) << s.message();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace mesh::testing

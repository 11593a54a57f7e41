#include "mesh/proxy/telemetry_shipper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "in_process_meshd.h"
#include "test_support.h"

namespace mesh {
namespace proxy_telemetry_shipper_test {

using namespace std::chrono_literals;

ProxiedRequest Request(int n, int status, const std::string& error = "") {
  char trace[33];
  std::snprintf(trace, sizeof trace, "%032x", n + 1);
  char span[17];
  std::snprintf(span, sizeof span, "%016x", n + 1);
  ProxiedRequest r;
  r.method = "GET";
  r.target = "/orders/" + std::to_string(n) + "?full=1";
  r.authority = "orders";
  r.status = status;
  r.error = error;
  r.start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  r.duration_ns = 3'000'000;
  r.attempts = 1;
  r.upstream = {"127.0.0.1", 8081, ""};
  r.request_id = "req-" + std::to_string(n);
  r.trace_id = trace;
  r.span_id = span;
  return r;
}

double CounterValue(const MetricsRegistry& registry, const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const MetricFamily& f : registry.Collect()) {
    if (f.name != name) continue;
    for (const MetricSample& s : f.samples) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& [lk, lv] : s.labels) found = found || (lk == k && lv == v);
        match = match && found;
      }
      if (match) return s.value;
    }
  }
  return -1;
}

class TelemetryShipperTest : public ::testing::Test {
 protected:
  TelemetryShipper::Options Options() {
    TelemetryShipper::Options o;
    o.meshd_url = meshd_.url();
    o.service = "orders";
    o.flush_every = 1h;  // the tests flush
    o.drain_every = 1h;
    o.metrics_every = 1h;
    return o;
  }
  ::mesh::testing::TempDir dir_;
  ::mesh::testing::InProcessMeshd meshd_{dir_.File("mesh.db")};
  MetricsRegistry registry_;
};

TEST_F(TelemetryShipperTest, ShipsAServerSpanAndAnAccessLogPerRequest) {
  TelemetryShipper shipper(Options(), registry_);
  ASSERT_TRUE(shipper.Record(Request(1, 200), HttpProxy::Direction::kInbound));
  ASSERT_TRUE(shipper.Record(Request(2, 503, "no healthy instance"), HttpProxy::Direction::kOutbound));
  shipper.Flush();
  EXPECT_EQ(shipper.shipped_spans(), 2);
  const HttpClientResponse trace = meshd_.Request("GET", "/v1/traces/00000000000000000000000000000002");
  ASSERT_EQ(trace.status, 200) << trace.body;
  EXPECT_NE(trace.body.find("\"kind\":\"SERVER\""), std::string::npos) << trace.body;
  EXPECT_NE(trace.body.find("\"name\":\"GET /orders/1\""), std::string::npos) << trace.body;
  EXPECT_NE(trace.body.find("\"http.response.status_code\":200"), std::string::npos) << trace.body;
  const HttpClientResponse failed = meshd_.Request("GET", "/v1/traces/00000000000000000000000000000003");
  EXPECT_NE(failed.body.find("\"kind\":\"CLIENT\""), std::string::npos) << failed.body;
  EXPECT_NE(failed.body.find("\"status\":\"ERROR\""), std::string::npos) << failed.body;
  const HttpClientResponse logs = meshd_.Request("GET", "/v1/logs?trace_id=00000000000000000000000000000003");
  EXPECT_NE(logs.body.find("GET /orders/2?full=1 503"), std::string::npos) << logs.body;
  EXPECT_NE(logs.body.find("\"level\":\"ERROR\""), std::string::npos) << logs.body;
}

TEST_F(TelemetryShipperTest, AGrpcCallsSpanCarriesItsRpcAttributesAndFailsOnItsGrpcStatus) {
  TelemetryShipper shipper(Options(), registry_);
  ProxiedRequest ok = Request(7, 200);
  ok.method = "POST";
  ok.target = "/shop.Orders/Get";
  ok.grpc_status = 0;
  ProxiedRequest unavailable = Request(8, 200);  // HTTP 200, but the call failed
  unavailable.method = "POST";
  unavailable.target = "/shop.Orders/Get";
  unavailable.grpc_status = 14;
  ASSERT_TRUE(shipper.Record(ok, HttpProxy::Direction::kInbound));
  ASSERT_TRUE(shipper.Record(unavailable, HttpProxy::Direction::kInbound));
  shipper.Flush();
  const HttpClientResponse good = meshd_.Request("GET", "/v1/traces/00000000000000000000000000000008");
  EXPECT_NE(good.body.find("\"rpc.system\":\"grpc\""), std::string::npos) << good.body;
  EXPECT_NE(good.body.find("\"rpc.service\":\"shop.Orders\""), std::string::npos) << good.body;
  EXPECT_NE(good.body.find("\"rpc.method\":\"Get\""), std::string::npos) << good.body;
  EXPECT_NE(good.body.find("\"rpc.grpc.status_code\":0"), std::string::npos) << good.body;
  EXPECT_EQ(good.body.find("\"status\":\"ERROR\""), std::string::npos) << good.body;
  const HttpClientResponse bad = meshd_.Request("GET", "/v1/traces/00000000000000000000000000000009");
  EXPECT_NE(bad.body.find("\"rpc.grpc.status_code\":14"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("\"status\":\"ERROR\""), std::string::npos) << bad.body;
  // A plain HTTP request has none of them.
  ASSERT_TRUE(shipper.Record(Request(9, 200), HttpProxy::Direction::kInbound));
  shipper.Flush();
  EXPECT_EQ(meshd_.Request("GET", "/v1/traces/0000000000000000000000000000000a").body.find("rpc.system"),
            std::string::npos);
}

TEST_F(TelemetryShipperTest, AnUnsampledRequestGetsNoSpanButItsLogAndCount) {
  TelemetryShipper shipper(Options(), registry_);
  ProxiedRequest unsampled = Request(1, 200);
  unsampled.sampled = false;
  ASSERT_TRUE(shipper.Record(unsampled, HttpProxy::Direction::kInbound));
  ASSERT_TRUE(shipper.Record(Request(2, 200), HttpProxy::Direction::kInbound));
  shipper.Flush();
  EXPECT_EQ(shipper.shipped_spans(), 1);
  EXPECT_EQ(meshd_.Request("GET", "/v1/traces/00000000000000000000000000000002").status, 404);
  EXPECT_EQ(meshd_.Request("GET", "/v1/traces/00000000000000000000000000000003").status, 200);
  const HttpClientResponse logs = meshd_.Request("GET", "/v1/logs?trace_id=00000000000000000000000000000002");
  EXPECT_NE(logs.body.find("GET /orders/1"), std::string::npos) << logs.body;
  EXPECT_EQ(CounterValue(registry_, "mesh_requests_total", {{"direction", "inbound"}, {"code", "200"}}), 2);
}

TEST_F(TelemetryShipperTest, CountsRequestsByDirectionAndCodeAndTheProxysOwnErrors) {
  TelemetryShipper::Options o = Options();
  o.meshd_url.clear();  // metrics only
  TelemetryShipper shipper(o, registry_);
  shipper.Record(Request(1, 200), HttpProxy::Direction::kInbound);
  shipper.Record(Request(2, 200), HttpProxy::Direction::kInbound);
  ProxiedRequest retried = Request(3, 504, "upstream timed out");
  retried.attempts = 3;
  shipper.Record(retried, HttpProxy::Direction::kOutbound);
  shipper.Record(Request(4, 200, "client went away: Connection reset by peer"), HttpProxy::Direction::kInbound);
  shipper.Flush();
  EXPECT_EQ(CounterValue(registry_, "mesh_requests_total", {{"direction", "inbound"}, {"code", "200"}}), 3);
  EXPECT_EQ(CounterValue(registry_, "mesh_requests_total", {{"direction", "outbound"}, {"code", "504"}}), 1);
  EXPECT_EQ(CounterValue(registry_, "mesh_proxy_errors_total", {{"code", "504"}}), 1);
  EXPECT_EQ(CounterValue(registry_, "mesh_proxy_errors_total", {{"code", "200"}}), -1);  // no such series
  EXPECT_EQ(CounterValue(registry_, "mesh_request_retries_total", {{"direction", "outbound"}}), 2);
  EXPECT_EQ(shipper.shipped_spans(), 0);
}

TEST_F(TelemetryShipperTest, DropsAndCountsWhileMeshdIsDownThenResumes) {
  TelemetryShipper shipper(Options(), registry_);
  meshd_.Stop();
  EXPECT_TRUE(shipper.Record(Request(1, 200), HttpProxy::Direction::kInbound));
  shipper.Flush();
  EXPECT_EQ(shipper.shipped_spans(), 0);
  EXPECT_GE(shipper.dropped(), 1);
  EXPECT_GE(CounterValue(registry_, "mesh_telemetry_dropped_total", {{"kind", "spans"}}), 1);
  meshd_.Restart();
  EXPECT_TRUE(shipper.Record(Request(2, 200), HttpProxy::Direction::kInbound));
  shipper.Flush();
  EXPECT_EQ(shipper.shipped_spans(), 1);
  EXPECT_EQ(meshd_.Request("GET", "/v1/traces/00000000000000000000000000000003").status, 200);
}

// The queue's depth is taken at each drain, before it is emptied: the peak between two drains.
TEST_F(TelemetryShipperTest, QueueDepthIsMeasuredAtEachDrainAgainstItsCapacity) {
  TelemetryShipper::Options o = Options();
  o.queue_capacity = 4;
  TelemetryShipper shipper(o, registry_);
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_queue_capacity", {{"service", "orders"}}), 4);
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_queue_depth", {{"service", "orders"}}), 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(shipper.Record(Request(i, 200), HttpProxy::Direction::kInbound));
  shipper.Flush();
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_queue_depth", {{"service", "orders"}}), 3);
  shipper.Flush();
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_queue_depth", {{"service", "orders"}}), 0);
}

// Pushes are labelled with the service and the instance (as set once the port is bound), so that
// what carries no service label (the process metrics, the drop counter) is stored as this
// instance's: meshd's saturation answer lists it.
TEST_F(TelemetryShipperTest, PushesLabelUnlabelledSeriesWithTheServiceAndInstance) {
  TelemetryShipper::Options o = Options();
  o.instance = "127.0.0.1:0";  // as configured: the port is known once the listener is up
  o.metrics_every = 20ms;
  o.drain_every = 10ms;
  registry_.AddCollector([] {
    return std::vector<MetricFamily>{
        {"process_resident_memory_bytes", "", MetricType::kGauge, {{"process_resident_memory_bytes", {}, 4321987, {}}}}};
  });
  TelemetryShipper shipper(o, registry_);
  shipper.SetInstance("10.0.0.9:8080");
  std::string body;
  for (int attempt = 0; attempt < 500; ++attempt) {
    body = meshd_.Request("GET", "/v1/services/orders/saturation?window=5m").body;
    if (body.find("\"resident_bytes\":4321987") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(body.find("\"instance\":\"10.0.0.9:8080\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"resident_bytes\":4321987"), std::string::npos) << body;
  const std::string metrics = meshd_.Request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("mesh_telemetry_dropped_total{instance=\"10.0.0.9:8080\",kind=\"spans\",service=\"orders\"} 0"),
            std::string::npos)
      << metrics;
}

// Draining runs far more often than shipping, so the queue can stay small under load.
TEST_F(TelemetryShipperTest, DrainsTheQueueInTheBackgroundBetweenShipments) {
  TelemetryShipper::Options o = Options();
  o.drain_every = 10ms;
  o.queue_capacity = 4;
  TelemetryShipper shipper(o, registry_);
  // Twelve records through a queue of four: only drains in the background let them all in (a
  // refused one is offered again, as a later request would be).
  int accepted = 0;
  for (int n = 0; n < 12; ++n) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      if (shipper.Record(Request(n, 200), HttpProxy::Direction::kInbound)) {
        ++accepted;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  EXPECT_EQ(accepted, 12);
  EXPECT_EQ(shipper.shipped_spans(), 0);  // nothing shipped before flush_every
}

// Metrics are counted on the request path, whatever the queue does: a full queue loses spans
// and access-log records (counted), never a request in mesh_requests_total.
TEST_F(TelemetryShipperTest, AFullQueueDropsSpansAndLogsButNoRequestFromTheMetrics) {
  TelemetryShipper::Options o = Options();
  o.queue_capacity = 2;
  TelemetryShipper shipper(o, registry_);
  int accepted = 0;
  for (int i = 0; i < 5; ++i) accepted += shipper.Record(Request(i, 200), HttpProxy::Direction::kInbound) ? 1 : 0;
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(CounterValue(registry_, "mesh_requests_total", {{"code", "200"}}), 5);  // before any drain
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_dropped_total", {{"kind", "spans"}}), 3);
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_dropped_total", {{"kind", "logs"}}), 3);
  EXPECT_EQ(shipper.dropped(), 6);
  shipper.Flush();
  EXPECT_EQ(shipper.shipped_spans(), 2);
  EXPECT_EQ(CounterValue(registry_, "mesh_requests_total", {{"code", "200"}}), 5);
}

// Without access logs, a refused record loses only its span; a policy denial's log is kept
// (and so counted as lost) whatever the sampling.
TEST_F(TelemetryShipperTest, AFullQueueCountsALostLogOnlyForARequestThatWouldHaveBeenLogged) {
  TelemetryShipper::Options o = Options();
  o.queue_capacity = 2;
  o.access_log = false;
  TelemetryShipper shipper(o, registry_);
  for (int i = 0; i < 4; ++i) shipper.Record(Request(i, 200), HttpProxy::Direction::kInbound);
  ProxiedRequest denied = Request(9, 403, "not allowed");
  denied.denied = true;
  denied.client_service = "intruder";
  EXPECT_FALSE(shipper.Record(denied, HttpProxy::Direction::kInbound));
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_dropped_total", {{"kind", "spans"}}), 3);
  EXPECT_EQ(CounterValue(registry_, "mesh_telemetry_dropped_total", {{"kind", "logs"}}), 1);
  EXPECT_EQ(CounterValue(registry_, "mesh_policy_denials_total", {{"client_service", "intruder"}}), 1);
}

// Several I/O threads at once, a queue far too small: the metrics still hold every request.
TEST_F(TelemetryShipperTest, ConcurrentRecordsThroughATinyQueueAreCountedExactly) {
  TelemetryShipper::Options o = Options();
  o.queue_capacity = 2;
  o.drain_every = 1ms;
  TelemetryShipper shipper(o, registry_);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::atomic<int64_t> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!shipper.Record(Request(t * kPerThread + i, 200), HttpProxy::Direction::kInbound)) ++refused;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(CounterValue(registry_, "mesh_requests_total", {{"code", "200"}}), kThreads * kPerThread);
  EXPECT_GT(refused.load(), 0);
  EXPECT_GE(CounterValue(registry_, "mesh_telemetry_dropped_total", {{"kind", "spans"}}), refused.load());
}

}  // namespace
}  // namespace mesh

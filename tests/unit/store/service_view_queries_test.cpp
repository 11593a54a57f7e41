#include "mesh/store/service_view_queries.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "mesh/store/metric_store.h"
#include "mesh/store/span_rollup.h"
#include "mesh/store/span_store.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/prometheus_text.h"
#include "test_support.h"

namespace mesh {
namespace store_service_view_queries_test {

using ::testing::ElementsAre;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;  // the window is [kT0, kT0 + 1 h)
constexpr int64_t kT1 = kT0 + 3600 * kSecond;

// Requests of `service` by code and its latency histogram (le 0.1, 0.5, 1, +Inf), cumulative.
std::string Push(const std::string& service, double ok, double not_found, double unavailable,
                 const std::vector<double>& buckets) {
  const std::string s = "service=\"" + service + "\"";
  std::string text = "# TYPE mesh_requests_total counter\n";
  text += "mesh_requests_total{" + s + ",code=\"200\"} " + FormatMetricValue(ok) + "\n";
  text += "mesh_requests_total{" + s + ",code=\"404\"} " + FormatMetricValue(not_found) + "\n";
  text += "mesh_requests_total{" + s + ",code=\"503\"} " + FormatMetricValue(unavailable) + "\n";
  // The sidecar's calls out of the service: what the services called serve, not this one.
  text += "mesh_requests_total{" + s + ",code=\"200\",direction=\"outbound\"} " + FormatMetricValue(ok * 100) + "\n";
  text += "# TYPE mesh_request_duration_seconds histogram\n";
  const char* les[] = {"0.1", "0.5", "1", "+Inf"};
  for (size_t i = 0; i < 4; ++i) {
    text += "mesh_request_duration_seconds_bucket{" + s + ",le=\"" + les[i] + "\"} " + FormatMetricValue(buckets[i]) + "\n";
  }
  return text;
}

Span MakeSpan(const std::string& trace, const std::string& id, const std::string& parent, const std::string& service,
              const std::string& name, int64_t start_ns, int64_t duration_ms, SpanStatus status = SpanStatus::kUnset) {
  Span s;
  s.trace_id = trace;
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = service;
  s.name = name;
  s.kind = SpanKind::kServer;
  s.start_ns = start_ns;
  s.duration_ns = duration_ms * kMs;
  s.status = status;
  return s;
}

std::string TraceId(int n) {
  std::string id = "0000000000000000000000000000" + std::to_string(1000 + n);
  return id.substr(id.size() - 32);
}
std::string SpanId(int n) {
  std::string id = "00000000000" + std::to_string(10000 + n);
  return id.substr(id.size() - 16);
}

// api serves 12 operations op00..op11 taking 10..120 ms, and GET /users (115 ms) to frontend 4
// times (one fails with HTTP 503 and a TimeoutError); it fails twice more (gRPC 14, "boom"),
// and op00 calls db twice. One api span before the window must not count.
std::vector<Span> Fixture() {
  std::vector<Span> spans;
  int next = 0;
  for (int i = 0; i < 12; ++i) {
    spans.push_back(MakeSpan(TraceId(i), SpanId(++next), "", "api", "op" + std::string(i < 10 ? "0" : "") + std::to_string(i),
                             kT0 + (i + 1) * kSecond, (i + 1) * 10));
  }
  for (int k = 0; k < 2; ++k) {
    spans.push_back(MakeSpan(TraceId(0), SpanId(++next), SpanId(1), "db", "SELECT", kT0 + 2 * kSecond, 3));
  }
  for (int i = 0; i < 4; ++i) {
    const std::string root = SpanId(++next);
    spans.push_back(MakeSpan(TraceId(20 + i), root, "", "frontend", "GET /", kT0 + 100 * kSecond, 200));
    Span child = MakeSpan(TraceId(20 + i), SpanId(++next), root, "api", "GET /users", kT0 + 100 * kSecond, 115,
                          i == 0 ? SpanStatus::kError : SpanStatus::kUnset);
    if (i == 0) {
      child.attributes = R"({"http.response.status_code":503})";
      child.events = R"([{"time_ns":1,"name":"exception","attributes":{"exception.type":"TimeoutError"}}])";
    }
    spans.push_back(child);
  }
  Span grpc = MakeSpan(TraceId(30), SpanId(++next), "", "api", "grpc.Call", kT0 + 200 * kSecond, 5, SpanStatus::kError);
  grpc.attributes = R"({"rpc.grpc.status_code":14})";
  spans.push_back(grpc);
  Span job = MakeSpan(TraceId(31), SpanId(++next), "", "api", "job", kT0 + 300 * kSecond, 1, SpanStatus::kError);
  job.status_message = "boom";
  spans.push_back(job);
  spans.push_back(MakeSpan(TraceId(32), SpanId(++next), "", "api", "old", kT0 - kSecond, 5000, SpanStatus::kError));
  return spans;
}

class ServiceViewQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    ASSERT_TRUE(SpanStore(*store_).Insert(Fixture()).ok());
    // A baseline before the window, then two pushes: in step 0 and in step 30 (of 60-s steps).
    Insert(Push("api", 0, 0, 0, {0, 0, 0, 0}), kT0 - 10 * kSecond);
    Insert(Push("api", 10, 2, 1, {5, 10, 12, 13}), kT0 + 30 * kSecond);
    Insert(Push("api", 16, 2, 3, {5, 14, 19, 21}), kT0 + 1830 * kSecond);
  }

  void Insert(const std::string& text, int64_t now_ns) {
    Result<std::vector<MetricFamily>> families = ParsePrometheusText(text);
    ASSERT_TRUE(families.ok()) << families.status().message();
    Result<int64_t> n = MetricStore(*store_).InsertRows(*families, now_ns);
    ASSERT_TRUE(n.ok()) << n.status().message();
  }

  ServiceView ViewOrDie(const std::string& service) {
    Result<ServiceView> view = QueryServiceView(*store_, service, kT0, kT1);
    EXPECT_TRUE(view.ok()) << view.status().message();
    return view.ok() ? *view : ServiceView{};
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ServiceViewQueriesTest, TimelineCountsEachStepsRequestsByStatusClass) {
  const ServiceView view = ViewOrDie("api");
  ASSERT_EQ(view.timeline.size(), static_cast<size_t>(kServiceViewSteps));
  EXPECT_EQ(view.timeline[0].start_ns, kT0);
  EXPECT_EQ(view.timeline[1].start_ns, kT0 + 60 * kSecond);
  EXPECT_THAT(view.timeline[0].by_class, ElementsAre(10, 0, 2, 1));  // the outbound series left out
  EXPECT_THAT(view.timeline[30].by_class, ElementsAre(6, 0, 0, 2));
  EXPECT_THAT(view.timeline[1].by_class, ElementsAre(0, 0, 0, 0));
  EXPECT_FALSE(view.timeline[1].p99_seconds.has_value());
  // Step 30's 8 requests: 0 up to 0.1 s, 4 up to 0.5 s, 2 up to 1 s, 2 above: p50 at 0.5 s.
  ASSERT_TRUE(view.timeline[30].p50_seconds.has_value());
  EXPECT_DOUBLE_EQ(*view.timeline[30].p50_seconds, 0.5);
}

TEST_F(ServiceViewQueriesTest, LatencyDistributionHoldsEachBucketsOwnCountOverTheWindow) {
  const ServiceView view = ViewOrDie("api");
  ASSERT_EQ(view.latency.size(), 4u);
  EXPECT_DOUBLE_EQ(view.latency[0].le, 0.1);
  EXPECT_DOUBLE_EQ(view.latency[0].count, 5);
  EXPECT_DOUBLE_EQ(view.latency[1].count, 9);
  EXPECT_DOUBLE_EQ(view.latency[2].count, 5);
  EXPECT_TRUE(std::isinf(view.latency[3].le));
  EXPECT_DOUBLE_EQ(view.latency[3].count, 2);
}

TEST_F(ServiceViewQueriesTest, CounterResetCountsTheNewValueAsTheRise) {
  Insert(Push("api", 4, 0, 0, {4, 4, 4, 4}), kT0 + 1890 * kSecond);  // restarted: 4 new requests
  const ServiceView view = ViewOrDie("api");
  EXPECT_THAT(view.timeline[31].by_class, ElementsAre(4, 0, 0, 0));
}

TEST_F(ServiceViewQueriesTest, SlowestAreTheTenHighestP99InOrder) {
  const ServiceView view = ViewOrDie("api");
  std::vector<std::string> names;
  for (const OperationStats& o : view.slowest) names.push_back(o.operation);
  EXPECT_THAT(names, ElementsAre("op11", "GET /users", "op10", "op09", "op08", "op07", "op06", "op05", "op04", "op03"));
  EXPECT_EQ(view.slowest[1].count, 4);
  EXPECT_EQ(view.slowest[1].errors, 1);
}

TEST_F(ServiceViewQueriesTest, ErrorsAreGroupedByStatusCodeGrpcStatusExceptionAndMessage) {
  const ServiceView view = ViewOrDie("api");
  std::vector<std::string> kinds;
  for (const ErrorType& e : view.errors) kinds.push_back(e.kind + " " + e.value + " " + std::to_string(e.count));
  // The span before the window ("old") is not counted.
  EXPECT_THAT(kinds, ElementsAre("exception TimeoutError 1", "grpc 14 1", "http 503 1", "status boom 1"));
}

TEST_F(ServiceViewQueriesTest, CallersAndCalleesCarryCallsErrorsAndTheCalleesP99) {
  const ServiceView view = ViewOrDie("api");
  ASSERT_EQ(view.callers.size(), 1u);
  EXPECT_EQ(view.callers[0].caller, "frontend");
  EXPECT_EQ(view.callers[0].calls, 4);
  EXPECT_EQ(view.callers[0].errors, 1);
  EXPECT_NEAR(static_cast<double>(view.callers[0].p99_ns), 115.0 * kMs, 0.03 * 115 * kMs);
  ASSERT_EQ(view.callees.size(), 1u);
  EXPECT_EQ(view.callees[0].callee, "db");
  EXPECT_EQ(view.callees[0].calls, 2);
  EXPECT_EQ(view.callees[0].errors, 0);
}

TEST_F(ServiceViewQueriesTest, AServiceWithNothingStoredHasAnEmptyView) {
  const ServiceView view = ViewOrDie("nobody");
  EXPECT_EQ(view.timeline.size(), static_cast<size_t>(kServiceViewSteps));
  EXPECT_TRUE(view.latency.empty());
  EXPECT_TRUE(view.slowest.empty());
  EXPECT_TRUE(view.errors.empty());
  EXPECT_TRUE(view.callers.empty());
}

TEST_F(ServiceViewQueriesTest, MapHasEveryServiceInTheWindowAndEachEdge) {
  Result<ServiceMap> map = QueryServiceMap(*store_, kT0, kT1);
  ASSERT_TRUE(map.ok()) << map.status().message();
  EXPECT_THAT(map->services, ElementsAre("api", "db", "frontend"));
  ASSERT_EQ(map->edges.size(), 2u);
  EXPECT_EQ(map->edges[0].caller, "api");
  EXPECT_EQ(map->edges[0].callee, "db");
  EXPECT_EQ(map->edges[0].calls, 2);
  EXPECT_EQ(map->edges[1].caller, "frontend");
  EXPECT_EQ(map->edges[1].calls, 4);
  EXPECT_EQ(map->edges[1].errors, 1);
  // A window with only the span before kT0: one service, no edge.
  Result<ServiceMap> early = QueryServiceMap(*store_, kT0 - 10 * kSecond, kT0);
  ASSERT_TRUE(early.ok());
  EXPECT_THAT(early->services, ElementsAre("api"));
  EXPECT_TRUE(early->edges.empty());
}

// The fixture's answers come from raw spans; rolled up, every figure stays the same.
TEST_F(ServiceViewQueriesTest, ARolledUpStoreAnswersTheSameViewAndMap) {
  const auto summary = [](const ServiceView& v) {
    std::string out;
    for (const OperationStats& o : v.slowest) {
      out += o.operation + " " + std::to_string(o.count) + " " + std::to_string(o.errors) + " " + std::to_string(o.p50_ns) +
             " " + std::to_string(o.p95_ns) + " " + std::to_string(o.p99_ns) + "\n";
    }
    for (const auto* edges : {&v.callers, &v.callees}) {
      for (const ServiceEdge& e : *edges) {
        out += e.caller + ">" + e.callee + " " + std::to_string(e.calls) + " " + std::to_string(e.errors) + " " +
               std::to_string(e.p99_ns) + "\n";
      }
    }
    return out;
  };
  // Windows not aligned to minutes, and a 26-hour one with whole hours in it.
  const std::pair<int64_t, int64_t> windows[] = {{kT0, kT1}, {kT0 - 7 * kSecond, kT0 + 301 * kSecond}, {kT0 - 25 * 3600 * kSecond, kT1 + 13}};
  std::vector<std::string> raw;
  for (const auto& [since, until] : windows) {
    Result<ServiceView> view = QueryServiceView(*store_, "api", since, until);
    ASSERT_TRUE(view.ok());
    raw.push_back(summary(*view));
  }
  Result<ServiceMap> raw_map = QueryServiceMap(*store_, kT0, kT1);
  ASSERT_TRUE(raw_map.ok());
  Result<int64_t> rolled = RollUpSpans(*store_);
  ASSERT_TRUE(rolled.ok());
  EXPECT_EQ(*rolled, static_cast<int64_t>(Fixture().size()));
  for (size_t i = 0; i < std::size(windows); ++i) {
    Result<ServiceView> view = QueryServiceView(*store_, "api", windows[i].first, windows[i].second);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(summary(*view), raw[i]) << i;
    EXPECT_FALSE(raw[i].empty());
  }
  Result<ServiceMap> map = QueryServiceMap(*store_, kT0, kT1);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->services, raw_map->services);
  ASSERT_EQ(map->edges.size(), raw_map->edges.size());
  for (size_t i = 0; i < map->edges.size(); ++i) {
    EXPECT_EQ(map->edges[i].calls, raw_map->edges[i].calls);
    EXPECT_EQ(map->edges[i].p99_ns, raw_map->edges[i].p99_ns);
  }
}

TEST_F(ServiceViewQueriesTest, ADamagedAttributesRowDoesNotFailTheErrorQuery) {
  Span bad = MakeSpan(TraceId(40), SpanId(900), "", "api", "bad", kT0 + 5 * kSecond, 1, SpanStatus::kError);
  ASSERT_TRUE(SpanStore(*store_).Insert({bad}).ok());
  ASSERT_TRUE(store_->db().Exec("UPDATE spans SET attributes = '{not json', events = '[oops' WHERE name = 'bad'").ok());
  const ServiceView view = ViewOrDie("api");
  EXPECT_EQ(view.errors.size(), 5u);  // the four kinds and the bad span as "status ERROR"
}

// Every statement reads tables through an index: no step scans spans or the metric tables.
TEST_F(ServiceViewQueriesTest, EveryQueryUsesAnIndex) {
  for (ServiceViewSql which : {ServiceViewSql::kRequestSeries, ServiceViewSql::kSeriesSamples, ServiceViewSql::kErrorSpans}) {
    const SqlQuery q = BuildServiceViewSql(which, "api", kT0, kT1);
    Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(q);
    ASSERT_TRUE(plan.ok()) << q.sql << ": " << plan.status().message();
    std::string all;
    for (const std::string& step : *plan) all += step + "\n";
    for (const std::string& step : *plan) {
      std::istringstream words(step);
      std::string verb, table;
      words >> verb >> table;
      if (verb != "SCAN") continue;
      // A CTE's rows and json_each's are in memory; a stored table must be read by an index.
      const bool stored = table == "spans" || table == "p" || table == "c" || table.rfind("metric_", 0) == 0;
      EXPECT_TRUE(!stored || step.find("INDEX") != std::string::npos) << q.sql << "\n" << all;
    }
  }
}

}  // namespace store_service_view_queries_test
}  // namespace mesh

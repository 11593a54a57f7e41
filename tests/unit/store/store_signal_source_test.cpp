#include "mesh/alerting/signal_source.h"
#include "mesh/store/store_signal_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "alert_fixture.h"
#include "mesh/store/registry.h"

namespace mesh {
namespace store_store_signal_source_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;

class SignalSourceTest : public testing::AlertStoreTest {
 protected:
  std::optional<double> Measure(const AlertSignal& signal, const std::string& service, int64_t window_s,
                                int64_t at_ns) {
    StoreSignalSource source(*store_);
    Result<std::optional<double>> v = source.Measure(signal, service, window_s * kSecond, at_ns);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? *v : std::nullopt;
  }
  static AlertSignal Of(SignalKind kind, double quantile = 0) {
    AlertSignal s;
    s.kind = kind;
    s.quantile = quantile;
    return s;
  }
};

TEST_F(SignalSourceTest, MeasuresErrorRateRequestRateAndLatencyFromCounters) {
  PushRequests("api", kT0, 100, 0, 100);
  PushRequests("api", kT0 + 60 * kSecond, 190, 10, 150);  // +90 ok, +10 errors; 50 of 100 fast
  const int64_t at = kT0 + 60 * kSecond;
  EXPECT_DOUBLE_EQ(*Measure(Of(SignalKind::kErrorRate), "api", 60, at), 10.0);
  EXPECT_DOUBLE_EQ(*Measure(Of(SignalKind::kRequestRate), "api", 60, at), 100.0 / 60);
  // Half the requests under 100 ms, the rest in (0.1, 2]: p50 is 100 ms, p90 interpolates.
  EXPECT_NEAR(*Measure(Of(SignalKind::kLatency, 0.5), "api", 60, at), 100, 1e-6);
  EXPECT_NEAR(*Measure(Of(SignalKind::kLatency, 0.9), "api", 60, at), 100 + 0.8 * 1900, 1e-6);
  EXPECT_NEAR(*Measure(Of(SignalKind::kLatency, 0.99), "api", 60, at), 100 + 0.98 * 1900, 1e-6);
}

TEST_F(SignalSourceTest, NoPushInTheWindowIsNoData) {
  PushRequests("api", kT0, 100, 0, 100);
  const int64_t later = kT0 + 600 * kSecond;
  EXPECT_FALSE(Measure(Of(SignalKind::kErrorRate), "api", 60, later).has_value());
  EXPECT_FALSE(Measure(Of(SignalKind::kRequestRate), "api", 60, later).has_value());
  EXPECT_FALSE(Measure(Of(SignalKind::kErrorRate), "unknown", 60, later).has_value());
}

TEST_F(SignalSourceTest, AnIdleServiceHasARequestRateButNoErrorRateOrLatency) {
  PushRequests("api", kT0, 100, 0, 100);
  PushRequests("api", kT0 + 30 * kSecond, 100, 0, 100);
  const int64_t at = kT0 + 30 * kSecond;
  EXPECT_DOUBLE_EQ(*Measure(Of(SignalKind::kRequestRate), "api", 60, at), 0);
  EXPECT_FALSE(Measure(Of(SignalKind::kErrorRate), "api", 60, at).has_value());
  EXPECT_FALSE(Measure(Of(SignalKind::kLatency, 0.99), "api", 60, at).has_value());
}

TEST_F(SignalSourceTest, MeasuresLogRateAtOrAboveTheLevel) {
  Log("api", LogLevel::kError, kT0 + 10 * kSecond);
  Log("api", LogLevel::kFatal, kT0 + 20 * kSecond);
  Log("api", LogLevel::kWarn, kT0 + 30 * kSecond);
  Log("api", LogLevel::kError, kT0 - 30 * kSecond);  // before the window
  AlertSignal s = Of(SignalKind::kLogRate);
  s.level = LogLevel::kError;
  EXPECT_DOUBLE_EQ(*Measure(s, "api", 60, kT0 + 60 * kSecond), 2.0 / 60);
  s.level = LogLevel::kWarn;
  EXPECT_DOUBLE_EQ(*Measure(s, "api", 60, kT0 + 60 * kSecond), 3.0 / 60);
  // A service that logs but logged nothing lately: zero. One never seen: no data.
  EXPECT_DOUBLE_EQ(*Measure(s, "api", 60, kT0 + 3600 * kSecond), 0);
  EXPECT_FALSE(Measure(s, "ghost", 60, kT0 + 60 * kSecond).has_value());
}

TEST_F(SignalSourceTest, AggregatesAnyStoredMetric) {
  const std::string g = "# TYPE queue_depth gauge\n";
  PushText(g + "queue_depth{service=\"w\",instance=\"a\"} 10\nqueue_depth{service=\"w\",instance=\"b\"} 1\n", kT0);
  PushText(g + "queue_depth{service=\"w\",instance=\"a\"} 30\nqueue_depth{service=\"w\",instance=\"b\"} 3\n",
           kT0 + 30 * kSecond);
  const std::string c = "# TYPE jobs_total counter\n";
  PushText(c + "jobs_total{service=\"w\"} 100\n", kT0);
  PushText(c + "jobs_total{service=\"w\"} 160\n", kT0 + 30 * kSecond);
  PushText(c + "jobs_total{service=\"w\"} 10\n", kT0 + 60 * kSecond);  // restarted
  const int64_t at = kT0 + 60 * kSecond;
  AlertSignal s = Of(SignalKind::kMetric);
  s.metric = "queue_depth";
  s.aggregate = MetricAggregate::kAvg;
  EXPECT_DOUBLE_EQ(*Measure(s, "w", 120, at), 11);
  s.aggregate = MetricAggregate::kMin;
  EXPECT_DOUBLE_EQ(*Measure(s, "w", 120, at), 1);
  s.aggregate = MetricAggregate::kMax;
  EXPECT_DOUBLE_EQ(*Measure(s, "w", 120, at), 30);
  s.aggregate = MetricAggregate::kSum;  // newest of each instance
  EXPECT_DOUBLE_EQ(*Measure(s, "w", 120, at), 33);
  s.match = {{"instance", "b"}};
  EXPECT_DOUBLE_EQ(*Measure(s, "w", 120, at), 3);
  AlertSignal rate = Of(SignalKind::kMetric);
  rate.metric = "jobs_total";
  rate.aggregate = MetricAggregate::kRate;
  EXPECT_DOUBLE_EQ(*Measure(rate, "w", 120, at), 70.0 / 60);  // +60, then +10 after the reset
  EXPECT_FALSE(Measure(rate, "w", 10, kT0 + 3600 * kSecond).has_value());
  s.metric = "absent_metric";
  EXPECT_FALSE(Measure(s, "w", 120, at).has_value());
}

TEST_F(SignalSourceTest, ANaNSampleMakesSumAndAverageNaNWhileMinAndMaxSkipIt) {
  const std::string g = "# TYPE queue_depth gauge\n";
  PushText(g + "queue_depth{service=\"w\"} 4\n", kT0);
  PushText(g + "queue_depth{service=\"w\"} NaN\n", kT0 + 10 * kSecond);
  PushText(g + "queue_depth{service=\"w\"} 8\n", kT0 + 20 * kSecond);
  PushText(g + "only_nan{service=\"w\"} NaN\n", kT0 + 20 * kSecond);
  const int64_t at = kT0 + 30 * kSecond;
  AlertSignal s = Of(SignalKind::kMetric);
  s.metric = "queue_depth";
  s.aggregate = MetricAggregate::kAvg;
  EXPECT_TRUE(std::isnan(*Measure(s, "w", 120, at)));
  s.aggregate = MetricAggregate::kMin;
  EXPECT_DOUBLE_EQ(*Measure(s, "w", 120, at), 4);
  s.aggregate = MetricAggregate::kMax;
  EXPECT_DOUBLE_EQ(*Measure(s, "w", 120, at), 8);
  s.metric = "only_nan";
  EXPECT_TRUE(std::isnan(*Measure(s, "w", 120, at)));
}

TEST_F(SignalSourceTest, ListsTheServicesThatHaveData) {
  PushRequests("orders", kT0, 1, 0, 1);
  PushRequests("api", kT0, 1, 0, 1);
  Log("worker", LogLevel::kInfo, kT0);
  Log("api", LogLevel::kInfo, kT0);
  PushText("# TYPE queue_depth gauge\nqueue_depth{service=\"worker\"} 1\n", kT0);
  StoreSignalSource source(*store_);
  EXPECT_THAT(*source.Services(Of(SignalKind::kErrorRate)), ElementsAre("api", "orders"));
  EXPECT_THAT(*source.Services(Of(SignalKind::kLogRate)), ElementsAre("api", "worker"));
  AlertSignal m = Of(SignalKind::kMetric);
  m.metric = "queue_depth";
  EXPECT_THAT(*source.Services(m), ElementsAre("worker"));
}

TEST_F(SignalSourceTest, CountsHealthyInstancesOfARegisteredServiceAtTheTime) {
  Registry registry(*store_);
  // Heartbeats hold 30 s: at kT0 + 40 s only "a" (heartbeat at kT0 + 20 s) is healthy.
  ASSERT_TRUE(registry.Upsert({"a", "api", "10.0.0.1", 80, "", kT0, kT0 + 20 * kSecond, 30 * kSecond}).ok());
  ASSERT_TRUE(registry.Upsert({"b", "api", "10.0.0.2", 80, "", kT0, kT0, 30 * kSecond}).ok());
  ASSERT_TRUE(registry.Upsert({"c", "worker", "10.0.0.3", 80, "", kT0, kT0, 30 * kSecond}).ok());
  const AlertSignal healthy = Of(SignalKind::kHealthyInstances);
  EXPECT_EQ(Measure(healthy, "api", 60, kT0 + 10 * kSecond), 2);
  EXPECT_EQ(Measure(healthy, "api", 60, kT0 + 40 * kSecond), 1);
  EXPECT_EQ(Measure(healthy, "worker", 60, kT0 + 40 * kSecond), 0);
  // A service meshd never registered, or forgot, has no data: not zero healthy instances.
  EXPECT_FALSE(Measure(healthy, "ghost", 60, kT0).has_value());
  StoreSignalSource source(*store_);
  EXPECT_THAT(*source.Services(healthy), ElementsAre("api", "worker"));
}

TEST_F(SignalSourceTest, SaturationSumsTheRatesOfRefusedAndDroppedWork) {
  const std::string text =
      "# TYPE mesh_client_connections_refused_total counter\n"
      "mesh_client_connections_refused_total{service=\"api\",direction=\"inbound\",reason=\"limit\"} %R\n"
      "# TYPE mesh_telemetry_dropped_total counter\n"
      "mesh_telemetry_dropped_total{service=\"api\",kind=\"spans\"} %D\n"
      "# TYPE mesh_upstream_overflow_total counter\n"
      "mesh_upstream_overflow_total{service=\"quiet\",direction=\"outbound\",limit=\"pending\"} 7\n";
  auto at = [&](int64_t t_s, int refused, int dropped) {
    std::string t = text;
    t.replace(t.find("%R"), 2, std::to_string(refused));
    t.replace(t.find("%D"), 2, std::to_string(dropped));
    PushText(t, kT0 + t_s * kSecond);
  };
  at(0, 0, 10);
  at(60, 30, 10);
  at(120, 60, 130);
  const AlertSignal saturation = Of(SignalKind::kSaturation);
  // Over [0, 120]: 60 refused connections and 120 dropped spans, 1.5 per second.
  EXPECT_DOUBLE_EQ(*Measure(saturation, "api", 300, kT0 + 120 * kSecond), 1.5);
  // A counter that never moved is a rate of zero, not no data.
  EXPECT_DOUBLE_EQ(*Measure(saturation, "quiet", 300, kT0 + 120 * kSecond), 0);
  EXPECT_FALSE(Measure(saturation, "api", 10, kT0 + 3600 * kSecond).has_value());
  StoreSignalSource source(*store_);
  EXPECT_THAT(*source.Services(saturation), ElementsAre("api", "quiet"));
}

TEST_F(SignalSourceTest, EveryQueryUsesAnIndex) {
  const std::vector<SqlQuery> queries = {
      {"SELECT EXISTS (SELECT 1 FROM metric_series s JOIN metric_samples m ON m.series_id = s.id "
       "WHERE s.service = ? AND s.name IN ('mesh_requests_total', 'mesh_seed_requests_total') "
       "AND m.ts_ns > ? AND m.ts_ns <= ?)",
       {std::string("api"), int64_t{0}, int64_t{1}}},
      {"SELECT COUNT(*) FROM logs WHERE service = ? AND ts_ns > ? AND ts_ns <= ? AND level >= ?",
       {std::string("api"), int64_t{0}, int64_t{1}, int64_t{17}}},
      {"SELECT id, labels FROM metric_series WHERE name = ? AND service = ?", {std::string("x"), std::string("api")}},
      {"SELECT ts_ns, value FROM metric_samples WHERE series_id = ? AND ts_ns > ? AND ts_ns <= ? ORDER BY ts_ns",
       {int64_t{1}, int64_t{0}, int64_t{1}}},
  };
  for (const SqlQuery& q : queries) {
    Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(q);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    for (const std::string& step : *plan) {
      EXPECT_THAT(step, ::testing::Not(::testing::AnyOf(HasSubstr("SCAN metric"), HasSubstr("SCAN logs"))))
          << q.sql;
    }
  }
}

}  // namespace
}  // namespace mesh

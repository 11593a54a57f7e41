#include "mesh/store/metric_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/prometheus_text.h"
#include "test_support.h"

namespace mesh {
namespace store_metric_store_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT1 = 1764075600 * kSecond;
constexpr int64_t kT2 = kT1 + 60 * kSecond;

std::vector<MetricFamily> ParseOrDie(const std::string& text) {
  Result<std::vector<MetricFamily>> r = ParsePrometheusText(text);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::vector<MetricFamily>{};
}

// What a service instrumented like meshd pushes: requests by code and a latency histogram.
std::string Push(double ok, double server_errors, double client_errors,
                 const std::vector<double>& buckets /* le 0.1, 0.5, 1, +Inf */, double sum,
                 const std::string& service = "api") {
  const std::string s = "service=\"" + service + "\"";
  std::string text =
      "# TYPE mesh_requests_total counter\n"
      "mesh_requests_total{" +
      s + ",code=\"200\"} " + FormatMetricValue(ok) + "\n" + "mesh_requests_total{" + s +
      ",code=\"503\"} " + FormatMetricValue(server_errors) + "\n" + "mesh_requests_total{" + s +
      ",code=\"404\"} " + FormatMetricValue(client_errors) + "\n" +
      "# TYPE mesh_request_duration_seconds histogram\n";
  const char* les[] = {"0.1", "0.5", "1", "+Inf"};
  for (size_t i = 0; i < 4; ++i) {
    text += "mesh_request_duration_seconds_bucket{" + s + ",le=\"" + les[i] + "\"} " +
            FormatMetricValue(buckets[i]) + "\n";
  }
  text += "mesh_request_duration_seconds_sum{" + s + "} " + FormatMetricValue(sum) + "\n";
  text += "mesh_request_duration_seconds_count{" + s + "} " + FormatMetricValue(buckets[3]) + "\n";
  return text;
}

class MetricStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    metrics_ = std::make_unique<MetricStore>(*store_);
  }

  void Insert(const std::string& text, int64_t now_ns) {
    const std::vector<MetricFamily> families = ParseOrDie(text);
    Result<int64_t> n = metrics_->InsertRows(families, now_ns);
    ASSERT_TRUE(n.ok()) << n.status().message();
  }

  GoldenSignals SignalsOrDie(const std::string& service, int64_t window_ns, int64_t now_ns) {
    Result<GoldenSignals> g = metrics_->Signals(service, window_ns, now_ns);
    EXPECT_TRUE(g.ok()) << g.status().message();
    return g.ok() ? *g : GoldenSignals{};
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<MetricStore> metrics_;
};

TEST_F(MetricStoreTest, InsertRowsReturnsHowManySamplesWereStored) {
  Result<int64_t> n = metrics_->InsertRows(ParseOrDie(Push(1, 0, 0, {1, 1, 1, 1}, 0.05)), kT1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3 + 4 + 2);
  Result<int64_t> none = metrics_->InsertRows({}, kT1);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
}

TEST_F(MetricStoreTest, LatestReturnsTheNewestValuePerSeries) {
  Insert(
      "# TYPE queue_depth gauge\nqueue_depth{service=\"api\",queue=\"a\"} 5\n"
      "queue_depth{service=\"api\",queue=\"b\"} 1\n",
      kT1);
  Insert("# TYPE queue_depth gauge\nqueue_depth{service=\"api\",queue=\"a\"} 9\n", kT2);
  Result<std::vector<MetricFamily>> latest = metrics_->Latest(0);
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  ASSERT_EQ(latest->size(), 1u);
  const MetricFamily& f = (*latest)[0];
  EXPECT_EQ(f.name, "queue_depth");
  EXPECT_EQ(f.type, MetricType::kGauge);
  ASSERT_EQ(f.samples.size(), 2u);
  EXPECT_EQ(LabelValue(f.samples[0].labels, "queue"), "a");
  EXPECT_EQ(f.samples[0].value, 9);
  EXPECT_EQ(LabelValue(f.samples[1].labels, "queue"), "b");
  EXPECT_EQ(f.samples[1].value, 1);
}

// What client_golang pushes for a summary that has seen no observation yet.
TEST_F(MetricStoreTest, StoresNaNAndInfinitiesAsTheyWerePushed) {
  Result<int64_t> n = metrics_->InsertRows(
      ParseOrDie("# TYPE rpc_seconds summary\n"
                 "rpc_seconds{service=\"api\",quantile=\"0.5\"} NaN\n"
                 "rpc_seconds{service=\"api\",quantile=\"0.9\"} NaN\n"
                 "rpc_seconds_sum{service=\"api\"} 0\n"
                 "rpc_seconds_count{service=\"api\"} 0\n"
                 "# TYPE limits gauge\n"
                 "limits{service=\"api\",side=\"hi\"} +Inf\n"
                 "limits{service=\"api\",side=\"lo\"} -Inf\n"),
      kT1);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 6);
  Result<std::vector<MetricFamily>> latest = metrics_->Latest(0);
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  ASSERT_EQ(latest->size(), 2u);
  const MetricFamily& limits = (*latest)[0];
  ASSERT_EQ(limits.samples.size(), 2u);
  EXPECT_EQ(limits.samples[0].value, INFINITY);
  EXPECT_EQ(limits.samples[1].value, -INFINITY);
  const MetricFamily& summary = (*latest)[1];
  ASSERT_EQ(summary.samples.size(), 4u);
  EXPECT_TRUE(std::isnan(summary.samples[0].value));
  EXPECT_TRUE(std::isnan(summary.samples[1].value));
  EXPECT_EQ(summary.samples[2].value, 0);
  EXPECT_THAT(FormatPrometheusText(*latest), HasSubstr("rpc_seconds{quantile=\"0.5\",service=\"api\"} NaN\n"));
  EXPECT_THAT(FormatPrometheusText(*latest), HasSubstr("limits{service=\"api\",side=\"hi\"} +Inf\n"));
}

TEST_F(MetricStoreTest, ANaNRequestCounterSampleCountsNothing) {
  Insert(Push(10, 0, 0, {10, 10, 10, 10}, 1), kT1);
  Insert("# TYPE mesh_requests_total counter\nmesh_requests_total{service=\"api\",code=\"200\"} NaN\n",
         kT1 + 30 * kSecond);
  Insert(Push(40, 0, 0, {40, 40, 40, 40}, 4), kT2);
  const GoldenSignals g = SignalsOrDie("api", 120 * kSecond, kT2);
  EXPECT_EQ(g.requests, 30);
}

TEST_F(MetricStoreTest, LatestLeavesOutSeriesNotUpdatedSince) {
  Insert("old_metric{service=\"api\"} 1\n", kT1);
  Insert("new_metric{service=\"api\"} 2\n", kT2);
  Result<std::vector<MetricFamily>> latest = metrics_->Latest(kT2);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].name, "new_metric");
  Result<std::vector<MetricFamily>> none = metrics_->Latest(kT2 + 1);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(MetricStoreTest, SampleTimestampsWinOverNow) {
  Insert("g{service=\"api\"} 1 1764075700000\n", kT1);  // pushed at kT1, stamped 100 s later
  Insert("g{service=\"api\"} 2\n", kT1 + 50 * kSecond);
  Result<std::vector<MetricFamily>> latest = metrics_->Latest(0);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].samples[0].value, 1);  // the newest by timestamp, not by arrival
}

TEST_F(MetricStoreTest, LatestOrdersHistogramSamplesBucketsByLeThenSumAndCount) {
  // Pushed in a scrambled order, with bounds that sort differently as text ("10" < "2.5").
  Insert(
      "# TYPE lat histogram\n"
      "lat_count{service=\"api\"} 9\n"
      "lat_bucket{service=\"api\",le=\"+Inf\"} 9\n"
      "lat_sum{service=\"api\"} 4.5\n"
      "lat_bucket{service=\"api\",le=\"10\"} 8\n"
      "lat_bucket{service=\"api\",le=\"2.5\"} 6\n"
      "lat_bucket{service=\"api\",le=\"0.25\"} 2\n",
      kT1);
  Result<std::vector<MetricFamily>> latest = metrics_->Latest(0);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  const MetricFamily& f = (*latest)[0];
  EXPECT_EQ(f.name, "lat");
  EXPECT_EQ(f.type, MetricType::kHistogram);
  std::vector<std::string> order;
  for (const MetricSample& s : f.samples) {
    order.push_back(s.name + (s.name == "lat_bucket" ? ":" + LabelValue(s.labels, "le") : ""));
  }
  EXPECT_THAT(order, ElementsAre("lat_bucket:0.25", "lat_bucket:2.5", "lat_bucket:10",
                                 "lat_bucket:+Inf", "lat_sum", "lat_count"));
  // And it re-exposes as valid text.
  EXPECT_TRUE(ParsePrometheusText(FormatPrometheusText(*latest)).ok());
}

TEST_F(MetricStoreTest, LatestKeepsEachHistogramLabelSetTogether) {
  Insert(
      "# TYPE lat histogram\n"
      "lat_bucket{service=\"b\",le=\"+Inf\"} 2\n"
      "lat_bucket{service=\"a\",le=\"+Inf\"} 1\n"
      "lat_bucket{service=\"b\",le=\"1\"} 1\n"
      "lat_sum{service=\"a\"} 0.5\n"
      "lat_bucket{service=\"a\",le=\"1\"} 1\n"
      "lat_count{service=\"b\"} 2\n"
      "lat_count{service=\"a\"} 1\n"
      "lat_sum{service=\"b\"} 3\n",
      kT1);
  Result<std::vector<MetricFamily>> latest = metrics_->Latest(0);
  ASSERT_TRUE(latest.ok());
  std::vector<std::string> order;
  for (const MetricSample& s : (*latest)[0].samples) {
    order.push_back(LabelValue(s.labels, "service") + " " + s.name + " " +
                    LabelValue(s.labels, "le"));
  }
  EXPECT_THAT(order,
              ElementsAre("a lat_bucket 1", "a lat_bucket +Inf", "a lat_sum ", "a lat_count ",
                          "b lat_bucket 1", "b lat_bucket +Inf", "b lat_sum ", "b lat_count "));
}

TEST_F(MetricStoreTest, LatestCarriesTheTypeAndHelpTheFamilyWasPushedWith) {
  Insert("# TYPE jobs_total counter\njobs_total{service=\"api\"} 1\n", kT1);
  // A later push brings the help text; one after that without it does not erase it.
  Insert("# HELP jobs_total Jobs done, by \\\\ queue.\n# TYPE jobs_total counter\n"
         "jobs_total{service=\"api\"} 2\n",
         kT1 + kSecond);
  Insert("# TYPE jobs_total counter\njobs_total{service=\"api\"} 3\n", kT2);
  Result<std::vector<MetricFamily>> latest = metrics_->Latest(0);
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].type, MetricType::kCounter);
  EXPECT_EQ((*latest)[0].help, "Jobs done, by \\ queue.");
  EXPECT_EQ((*latest)[0].samples[0].value, 3);
  // Exposed again, the help reads as it was pushed.
  EXPECT_NE(FormatPrometheusText(*latest).find("# HELP jobs_total Jobs done, by \\\\ queue.\n"),
            std::string::npos);
}

TEST_F(MetricStoreTest, SignalsFromTwoPushes) {
  // Between the pushes: 180 OK, 10 server errors, 10 client errors = 200 requests, of which
  // the buckets saw 100 under 0.1 s, 180 under 0.5 s, 196 under 1 s.
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  Insert(Push(1180, 60, 30, {600, 980, 1096, 1270}, 330), kT2);
  const GoldenSignals g = SignalsOrDie("api", 60 * kSecond, kT2);
  EXPECT_EQ(g.requests, 200);
  EXPECT_DOUBLE_EQ(g.requests_per_second, 200.0 / 60);
  EXPECT_DOUBLE_EQ(g.error_percent, 5.0);  // 5xx only: 404s are not errors
  ASSERT_TRUE(g.p50_seconds && g.p95_seconds && g.p99_seconds);
  EXPECT_DOUBLE_EQ(*g.p50_seconds, 0.1);                             // rank 100 ends bucket 0.1
  EXPECT_DOUBLE_EQ(*g.p95_seconds, 0.5 + 0.5 * (190 - 180) / 16.0);  // inside (0.5, 1]
  EXPECT_DOUBLE_EQ(*g.p99_seconds, 1);  // in the +Inf bucket: the highest finite bound
}

TEST_F(MetricStoreTest, RateIsOverTheWholeWindow) {
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  Insert(Push(1180, 60, 30, {600, 980, 1096, 1270}, 330), kT2);
  const GoldenSignals g = SignalsOrDie("api", 120 * kSecond, kT2);
  EXPECT_EQ(g.requests, 200);
  EXPECT_DOUBLE_EQ(g.requests_per_second, 200.0 / 120);
}

TEST_F(MetricStoreTest, TheLastSampleBeforeTheWindowIsTheBaseline) {
  Insert(Push(0, 0, 0, {0, 0, 0, 0}, 0), kT1 - 60 * kSecond);
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  Insert(Push(1180, 60, 30, {600, 980, 1096, 1270}, 330), kT2);
  // The window (kT1 + 1 s, kT2] holds only the second push; the first is its baseline.
  const GoldenSignals g = SignalsOrDie("api", 59 * kSecond, kT2);
  EXPECT_EQ(g.requests, 200);
}

TEST_F(MetricStoreTest, CounterResetBetweenPushesIsHandled) {
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  // The service restarted: its counters began again from zero.
  Insert(Push(90, 10, 0, {50, 80, 95, 100}, 20), kT2);
  const GoldenSignals g = SignalsOrDie("api", 60 * kSecond, kT2);
  EXPECT_EQ(g.requests, 100);
  EXPECT_DOUBLE_EQ(g.error_percent, 10.0);
  ASSERT_TRUE(g.p50_seconds);
  EXPECT_DOUBLE_EQ(*g.p50_seconds, 0.1);  // rank 50 ends the 0.1 bucket (50 of 100)
}

TEST_F(MetricStoreTest, SignalsLeaveOutASidecarsOutboundCalls) {
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  Insert(Push(1180, 60, 30, {600, 980, 1096, 1270}, 330), kT2);
  const auto outbound = [](double ok) {
    return "# TYPE mesh_requests_total counter\nmesh_requests_total{service=\"api\",direction=\"outbound\",code=\"200\"} " +
           FormatMetricValue(ok) + "\n";
  };
  Insert(outbound(0), kT1);
  Insert(outbound(5000), kT2);
  EXPECT_EQ(SignalsOrDie("api", 60 * kSecond, kT2).requests, 200);
}

TEST_F(MetricStoreTest, SignalsAreComputedPerService) {
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  Insert(Push(1180, 60, 30, {600, 980, 1096, 1270}, 330), kT2);
  Insert(Push(0, 0, 0, {0, 0, 0, 0}, 0, "web"), kT1);
  Insert(Push(10, 30, 0, {40, 40, 40, 40}, 1, "web"), kT2);
  const GoldenSignals web = SignalsOrDie("web", 60 * kSecond, kT2);
  EXPECT_EQ(web.requests, 40);
  EXPECT_DOUBLE_EQ(web.error_percent, 75.0);
  EXPECT_EQ(SignalsOrDie("api", 60 * kSecond, kT2).requests, 200);
}

TEST_F(MetricStoreTest, InstancesOfAServiceAreSummed) {
  const auto push = [&](const std::string& instance, double ok, int64_t at) {
    Insert("mesh_requests_total{service=\"api\",instance=\"" + instance + "\",code=\"200\"} " +
               FormatMetricValue(ok) + "\n",
           at);
  };
  push("a", 100, kT1);
  push("b", 10, kT1);
  push("a", 160, kT2);
  push("b", 50, kT2);
  EXPECT_EQ(SignalsOrDie("api", 60 * kSecond, kT2).requests, 100);
}

TEST_F(MetricStoreTest, SeedMetricsAreUsedWhenThereIsNoRequestCounter) {
  Insert(
      "# TYPE mesh_seed_requests_total counter\nmesh_seed_requests_total{service=\"seed\"} 10\n"
      "# TYPE mesh_seed_errors_total counter\nmesh_seed_errors_total{service=\"seed\"} 1\n",
      kT1);
  Insert(
      "# TYPE mesh_seed_requests_total counter\nmesh_seed_requests_total{service=\"seed\"} 70\n"
      "# TYPE mesh_seed_errors_total counter\nmesh_seed_errors_total{service=\"seed\"} 7\n",
      kT2);
  const GoldenSignals g = SignalsOrDie("seed", 60 * kSecond, kT2);
  EXPECT_EQ(g.requests, 60);
  EXPECT_DOUBLE_EQ(g.requests_per_second, 1.0);
  EXPECT_DOUBLE_EQ(g.error_percent, 10.0);
  EXPECT_FALSE(g.p50_seconds.has_value());  // no histogram pushed
}

TEST_F(MetricStoreTest, RequestCounterWinsOverSeedMetrics) {
  Insert(Push(0, 0, 0, {0, 0, 0, 0}, 0) + "mesh_seed_requests_total{service=\"api\"} 0\n", kT1);
  Insert(Push(20, 0, 0, {20, 20, 20, 20}, 1) + "mesh_seed_requests_total{service=\"api\"} 500\n",
         kT2);
  EXPECT_EQ(SignalsOrDie("api", 60 * kSecond, kT2).requests, 20);
}

TEST_F(MetricStoreTest, UnknownServiceHasNoTraffic) {
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  const GoldenSignals g = SignalsOrDie("nope", 60 * kSecond, kT2);
  EXPECT_EQ(g.requests, 0);
  EXPECT_EQ(g.requests_per_second, 0);
  EXPECT_EQ(g.error_percent, 0);
  EXPECT_FALSE(g.p50_seconds.has_value());
}

TEST_F(MetricStoreTest, ASinglePushHasNoIncreaseYet) {
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT2);
  const GoldenSignals g = SignalsOrDie("api", 60 * kSecond, kT2);
  EXPECT_EQ(g.requests, 0);
  EXPECT_FALSE(g.p50_seconds.has_value());  // the histogram grew by nothing
}

TEST_F(MetricStoreTest, SamplesAfterNowAreOutsideTheWindow) {
  Insert(Push(1000, 50, 20, {500, 800, 900, 1070}, 300), kT1);
  Insert(Push(1180, 60, 30, {600, 980, 1096, 1270}, 330), kT2);
  EXPECT_EQ(SignalsOrDie("api", 30 * kSecond, kT2 - 10 * kSecond).requests, 0);
}

TEST_F(MetricStoreTest, NewSeriesByServiceCountsOnlySeriesNotYetStored) {
  Insert(Push(1, 0, 0, {1, 1, 1, 1}, 0.05), kT1);  // api: 3 + 4 + 2 series
  const std::vector<MetricFamily> next = ParseOrDie(
      Push(2, 0, 0, {2, 2, 2, 2}, 0.1) +
      "# TYPE extra gauge\nextra{service=\"api\",k=\"1\"} 1\nextra{service=\"api\",k=\"1\"} 2\n"
      "extra{service=\"web\"} 1\nextra 3\n");
  Result<std::map<std::string, int64_t>> fresh = metrics_->NewSeriesByService(next);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(*fresh, (std::map<std::string, int64_t>{{"", 1}, {"api", 1}, {"web", 1}}));
  EXPECT_EQ(*metrics_->SeriesCount("api"), 9);
  EXPECT_EQ(*metrics_->SeriesCount("web"), 0);
}

// What a sidecar pushes for its saturation, labelled as the shipper labels it.
std::string SaturationPush(const std::string& instance, double cpu, double rss, double inbound, double outbound,
                           double queue, const std::string& service = "api") {
  const std::string l = "{service=\"" + service + "\",instance=\"" + instance + "\"";
  return "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total" + l + "} " + FormatMetricValue(cpu) +
         "\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes" + l + "} " +
         FormatMetricValue(rss) + "\nprocess_open_fds" + l + "} 40\nprocess_max_fds" + l + "} 1024\n" +
         "# TYPE mesh_client_connections gauge\nmesh_client_connections" + l + ",direction=\"inbound\"} " +
         FormatMetricValue(inbound) + "\nmesh_client_connections" + l + ",direction=\"outbound\"} " +
         FormatMetricValue(outbound) + "\nmesh_telemetry_queue_depth" + l + "} " + FormatMetricValue(queue) +
         "\nmesh_telemetry_queue_capacity" + l + "} 4096\n";
}

TEST_F(MetricStoreTest, SaturationGivesEachInstanceItsCpuRateAndNewestGauges) {
  Insert(SaturationPush("a:1", 10, 100, 1, 2, 0), kT1);
  Insert(SaturationPush("a:1", 40, 300, 5, 1, 7), kT2);  // 30 CPU seconds in 60 s
  Insert(SaturationPush("b:2", 5, 50, 0, 0, 0), kT2);
  Insert(SaturationPush("c:3", 5, 50, 0, 0, 0, "web"), kT2);  // another service
  Result<std::vector<InstanceSaturation>> s = metrics_->Saturation("api", 3600 * kSecond, kT2);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 2u);
  const InstanceSaturation& a = (*s)[0];
  EXPECT_EQ(a.instance, "a:1");
  EXPECT_EQ(a.last_sample_ns, kT2);
  EXPECT_DOUBLE_EQ(*a.cpu_cores, 0.5);
  EXPECT_EQ(*a.resident_bytes, 300);
  EXPECT_EQ(*a.open_fds, 40);
  EXPECT_EQ(*a.max_fds, 1024);
  EXPECT_EQ(*a.connections, 6);  // inbound and outbound listeners
  EXPECT_EQ(*a.queue_depth, 7);
  EXPECT_EQ(*a.queue_capacity, 4096);
  ASSERT_EQ(a.history.size(), static_cast<size_t>(kSaturationHistoryPoints));
  EXPECT_EQ(a.history.back().end_ns, kT2);
  EXPECT_EQ(*a.history.back().resident_bytes, 300);
  EXPECT_EQ(*a.history.back().connections, 6);
  EXPECT_DOUBLE_EQ(*a.history.back().cpu_cores, 0.5);
  const InstanceSaturation& b = (*s)[1];
  EXPECT_EQ(b.instance, "b:2");
  EXPECT_FALSE(b.cpu_cores);  // one sample: no rate yet
  EXPECT_EQ(*b.resident_bytes, 50);
}

TEST_F(MetricStoreTest, SaturationLeavesOutInstancesSilentInTheWindowAndOtherSeries) {
  Insert(SaturationPush("old:1", 1, 1, 0, 0, 0), kT1);
  Insert("# TYPE mesh_requests_total counter\nmesh_requests_total{service=\"api\",instance=\"new:1\"} 5\n", kT2);
  Result<std::vector<InstanceSaturation>> s = metrics_->Saturation("api", 30 * kSecond, kT2);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->empty());
  Result<std::vector<InstanceSaturation>> none = metrics_->Saturation("nobody", 3600 * kSecond, kT2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(MetricStoreTest, SaturationSkipsNaNSamplesAndTakesACpuCounterRestart) {
  Insert(SaturationPush("a:1", 100, 10, 0, 0, 0), kT1);
  Insert(SaturationPush("a:1", 6, std::nan(""), 0, 0, 0), kT2);  // restarted: 6 s since
  Result<std::vector<InstanceSaturation>> s = metrics_->Saturation("api", 3600 * kSecond, kT2);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_DOUBLE_EQ(*(*s)[0].cpu_cores, 0.1);
  EXPECT_EQ(*(*s)[0].resident_bytes, 10);  // the NaN is skipped, the last number stays
}

// A 7-day window reads each series thinned; its answer is the one every sample gives (a
// counter without resets, gauges with a NaN among them).
TEST_F(MetricStoreTest, SaturationOverSevenDaysAnswersAsEverySampleWould) {
  const int64_t week = 7 * 86400 * kSecond, step = 1200 * kSecond;
  const int64_t now = kT1 + week + 1800 * kSecond;
  std::vector<TimedValue> cpu, rss;
  for (int64_t t = kT1, k = 0; t <= now; t += step, ++k) {
    const double c = 3.0 * static_cast<double>(k) + static_cast<double>(k % 7) * 0.25;
    const double r = k % 50 == 3 ? std::nan("") : 1000.0 + static_cast<double>((k * 37) % 500);
    Insert(SaturationPush("a:1", c, r, static_cast<double>(k % 9), 1, 0), t);
    cpu.push_back({t, c});
    if (!std::isnan(r)) rss.push_back({t, r});
  }
  Result<std::vector<InstanceSaturation>> s = metrics_->Saturation("api", week, now);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 1u);
  const InstanceSaturation& a = (*s)[0];
  const int64_t from = now - week;
  std::vector<TimedValue> cpu_window;  // Window's rows: the newest before from, then the window
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (cpu[i].ts_ns >= from || (i + 1 < cpu.size() && cpu[i + 1].ts_ns >= from)) cpu_window.push_back(cpu[i]);
  }
  EXPECT_NEAR(*a.cpu_cores, *CounterRate(cpu_window), 1e-9 * *CounterRate(cpu_window));
  const auto last_rss = LastPerBucket(rss, from, now, kSaturationHistoryPoints);
  const auto rates = RatePerBucket(cpu, from, now, kSaturationHistoryPoints);
  for (int k = 0; k < kSaturationHistoryPoints; ++k) {
    ASSERT_TRUE(last_rss[k] && rates[k]) << k;
    EXPECT_EQ(a.history[k].resident_bytes, last_rss[k]->value) << k;
    EXPECT_DOUBLE_EQ(*a.history[k].cpu_cores, *rates[k]) << k;
  }
  EXPECT_EQ(*a.resident_bytes, rss.back().value);
  EXPECT_EQ(a.last_sample_ns, cpu.back().ts_ns);
}

// Thinned, a series is read by at most two seeks per part and one for the baseline.
TEST_F(MetricStoreTest, ThinnedWindowKeepsTheBaselineAndEachPartsFirstAndLast) {
  for (int k = 0; k < 100; ++k) Insert("# TYPE g gauge\ng{service=\"api\"} " + std::to_string(k) + "\n", kT1 + k * kSecond);
  Result<int64_t> id = QueryInt64(store_->db(), {"SELECT id FROM metric_series WHERE name = 'g'", {}});
  ASSERT_TRUE(id.ok());
  Result<std::vector<TimedValue>> points = metrics_->ThinnedWindow(*id, kT1 + 10 * kSecond, kT1 + 49 * kSecond, 4);
  ASSERT_TRUE(points.ok()) << points.status().message();
  std::vector<double> values;
  for (const TimedValue& p : *points) values.push_back(p.value);
  // Parts [10, 19.75), [19.75, 29.5), [29.5, 39.25), [39.25, 49]: 9 is the baseline.
  EXPECT_EQ(values, (std::vector<double>{9, 10, 19, 20, 29, 30, 39, 40, 49}));
}

// A sidecar's I/O thread pools, one per listener, as meshproxy pushes them.
std::string WorkerPush(const std::string& instance, double inbound_busy, double outbound_busy, int threads_each) {
  const std::string l = "{service=\"api\",instance=\"" + instance + "\",pool=\"io\"";
  return "# TYPE mesh_workers gauge\nmesh_workers" + l + ",direction=\"inbound\"} " + std::to_string(threads_each) +
         "\nmesh_workers" + l + ",direction=\"outbound\"} " + std::to_string(threads_each) +
         "\n# TYPE mesh_worker_busy_seconds_total counter\nmesh_worker_busy_seconds_total" + l +
         ",direction=\"inbound\"} " + FormatMetricValue(inbound_busy) + "\nmesh_worker_busy_seconds_total" + l +
         ",direction=\"outbound\"} " + FormatMetricValue(outbound_busy) + "\n";
}

TEST_F(MetricStoreTest, SaturationGivesWorkerUtilisationAsBusyRateOverWorkersSummedOverPools) {
  Insert(WorkerPush("a:1", 10, 0, 2), kT1);
  Insert(WorkerPush("a:1", 70, 30, 2), kT2);  // 60 + 30 busy seconds in 60 s: 1.5 of 4 threads busy
  Insert(WorkerPush("b:2", 5, 5, 2), kT2);     // one sample: no rate, so no utilisation
  Result<std::vector<InstanceSaturation>> s = metrics_->Saturation("api", 3600 * kSecond, kT2);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 2u);
  const InstanceSaturation& a = (*s)[0];
  EXPECT_EQ(*a.workers, 4);
  EXPECT_DOUBLE_EQ(*a.busy_workers, 1.5);
  EXPECT_DOUBLE_EQ(*a.worker_utilization, 0.375);
  EXPECT_DOUBLE_EQ(*a.history.back().worker_utilization, 0.375);
  const InstanceSaturation& b = (*s)[1];
  EXPECT_EQ(*b.workers, 4);
  EXPECT_FALSE(b.busy_workers);
  EXPECT_FALSE(b.worker_utilization);
}

TEST(WorkerUtilization, IsUnknownWithoutBothFiguresOrWithNoWorkers) {
  EXPECT_DOUBLE_EQ(*WorkerUtilization(1.0, 4.0), 0.25);
  EXPECT_FALSE(WorkerUtilization(std::nullopt, 4.0));
  EXPECT_FALSE(WorkerUtilization(1.0, std::nullopt));
  EXPECT_FALSE(WorkerUtilization(1.0, 0.0));
}

TEST_F(MetricStoreTest, SaturationSeriesLookupUsesTheServiceIndex) {
  Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(MetricStore::SaturationSeriesQuery("api"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_FALSE(plan->empty());
  for (const std::string& step : *plan) EXPECT_NE(step.find("metric_series_service"), std::string::npos) << step;
}

TEST_F(MetricStoreTest, SeriesLookupsUseAnIndex) {
  for (const SqlQuery& q :
       {SqlQuery{"SELECT COUNT(*) FROM metric_series WHERE service = ?", {std::string("api")}},
        SqlQuery{"SELECT 1 FROM metric_series WHERE name = ? AND labels = ?",
                 {std::string("x"), std::string("{}")}}}) {
    Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(q);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    ASSERT_FALSE(plan->empty());
    for (const std::string& step : *plan) {
      EXPECT_NE(step.find("INDEX"), std::string::npos) << q.sql << ": " << step;
    }
  }
}

}  // namespace
}  // namespace mesh

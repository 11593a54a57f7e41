#include "mesh/telemetry/otlp_metric_mapper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "mesh/telemetry/otel_prometheus_names.h"

namespace mesh {
namespace telemetry_otlp_metric_mapper_test {

using ::testing::HasSubstr;

OtlpMetric Metric(OtlpMetricKind kind, const std::string& name, const std::string& unit,
                  OtlpTemporality temporality = OtlpTemporality::kCumulative, bool monotonic = false) {
  OtlpMetric m;
  m.service = "shop";
  m.instance = "shop-1";
  m.name = name;
  m.description = "help";
  m.unit = unit;
  m.kind = kind;
  m.temporality = temporality;
  m.monotonic = monotonic;
  return m;
}

OtlpMetricPoint Number(double value, std::vector<std::pair<std::string, std::string>> attributes = {}) {
  OtlpMetricPoint p;
  p.value = value;
  p.time_ns = 1'700'000'000'123'456'789;
  p.attributes = std::move(attributes);
  return p;
}

OtlpMetricPoint HistogramPoint(std::vector<double> bounds, std::vector<uint64_t> counts, double sum) {
  OtlpMetricPoint p;
  p.bounds = std::move(bounds);
  p.bucket_counts = std::move(counts);
  for (uint64_t c : p.bucket_counts) p.count += c;
  p.sum = sum;
  return p;
}

// The samples of the mapped families as "name{labels}" -> value.
std::map<std::string, double> Samples(const OtlpMetricMapper::Mapped& mapped) {
  std::map<std::string, double> out;
  for (const MetricFamily& f : mapped.families) {
    for (const MetricSample& s : f.samples) out[s.name + LabelsText(s.labels)] = s.value;
  }
  return out;
}

OtlpMetrics One(OtlpMetric m) {
  OtlpMetrics out;
  out.metrics.push_back(std::move(m));
  return out;
}

constexpr char kBase[] = R"(instance="shop-1",service="shop")";

TEST(PrometheusMetricName, FollowsTheCompatibilitySpecification) {
  EXPECT_EQ(PrometheusMetricName("http.server.duration", "ms", PrometheusNameKind::kOther),
            "http_server_duration_milliseconds");
  EXPECT_EQ(PrometheusMetricName("shop.orders", "{order}", PrometheusNameKind::kCounter), "shop_orders_total");
  EXPECT_EQ(PrometheusMetricName("sent_total", "By", PrometheusNameKind::kCounter), "sent_bytes_total");
  EXPECT_EQ(PrometheusMetricName("cpu.utilization", "1", PrometheusNameKind::kGauge), "cpu_utilization_ratio");
  EXPECT_EQ(PrometheusMetricName("events", "1", PrometheusNameKind::kCounter), "events_total");
  EXPECT_EQ(PrometheusMetricName("speed", "m/s", PrometheusNameKind::kGauge), "speed_meters_per_second");
  EXPECT_EQ(PrometheusMetricName("request_duration_seconds", "s", PrometheusNameKind::kOther),
            "request_duration_seconds");
  EXPECT_EQ(PrometheusMetricName("2xx..responses", "", PrometheusNameKind::kGauge), "_2xx_responses");
  EXPECT_EQ(PrometheusMetricName("size", "MiBy", PrometheusNameKind::kGauge), "size_mebibytes");
  EXPECT_EQ(PrometheusMetricName("...", "s", PrometheusNameKind::kGauge), "");
}

TEST(PrometheusLabelName, SanitisesAndKeepsReservedNamesFree) {
  EXPECT_EQ(PrometheusLabelName("http.method"), "http_method");
  EXPECT_EQ(PrometheusLabelName("2xx"), "key_2xx");
  EXPECT_EQ(PrometheusLabelName("__name__"), "key__name__");
  EXPECT_EQ(PrometheusLabelName("\xC3\xA9"), "key__");
}

TEST(OtlpMetricMapper, MapsGaugesAndCumulativeSums) {
  OtlpMetrics in;
  OtlpMetric gauge = Metric(OtlpMetricKind::kGauge, "shop.temperature", "Cel");
  gauge.points.push_back(Number(21.5, {{"region", "eu"}}));
  OtlpMetric counter = Metric(OtlpMetricKind::kSum, "shop.orders", "{order}", OtlpTemporality::kCumulative, true);
  counter.points.push_back(Number(7, {{"payment.method", "card"}}));
  OtlpMetric updown = Metric(OtlpMetricKind::kSum, "queue.depth", "", OtlpTemporality::kCumulative, false);
  updown.points.push_back(Number(-3));
  in.metrics = {gauge, counter, updown};
  OtlpMetricMapper mapper;
  const OtlpMetricMapper::Mapped mapped = mapper.Map(in);
  EXPECT_EQ(mapped.rejected, 0) << mapped.first_error;
  ASSERT_EQ(mapped.families.size(), 3u);
  EXPECT_EQ(mapped.families[0].type, MetricType::kGauge);
  EXPECT_EQ(mapped.families[1].type, MetricType::kCounter);
  EXPECT_EQ(mapped.families[1].help, "help");
  EXPECT_EQ(mapped.families[2].type, MetricType::kGauge);
  ASSERT_TRUE(mapped.families[0].samples[0].timestamp_ms.has_value());
  EXPECT_EQ(*mapped.families[0].samples[0].timestamp_ms, 1'700'000'000'123);
  const std::map<std::string, double> samples = Samples(mapped);
  EXPECT_EQ(samples.at(R"(shop_temperature_celsius{instance="shop-1",region="eu",service="shop"})"), 21.5);
  EXPECT_EQ(samples.at(R"(shop_orders_total{instance="shop-1",payment_method="card",service="shop"})"), 7);
  EXPECT_EQ(samples.at(std::string("queue_depth{") + kBase + "}"), -3);
}

TEST(OtlpMetricMapper, KeepsNanAndInfinities) {
  OtlpMetric gauge = Metric(OtlpMetricKind::kGauge, "g", "");
  gauge.points = {Number(std::nan(""), {{"k", "nan"}}), Number(std::numeric_limits<double>::infinity(), {{"k", "inf"}})};
  const OtlpMetricMapper::Mapped mapped = OtlpMetricMapper().Map(One(gauge));
  ASSERT_EQ(mapped.families.size(), 1u);
  ASSERT_EQ(mapped.families[0].samples.size(), 2u);
  EXPECT_TRUE(std::isnan(mapped.families[0].samples[0].value));
  EXPECT_TRUE(std::isinf(mapped.families[0].samples[1].value));
}

TEST(OtlpMetricMapper, AddsUpDeltaSumsPerSeriesOnlyOnceCommitted) {
  OtlpMetric delta = Metric(OtlpMetricKind::kSum, "hits", "", OtlpTemporality::kDelta, true);
  delta.points = {Number(3, {{"route", "/a"}}), Number(10, {{"route", "/b"}})};
  OtlpMetricMapper mapper;
  OtlpMetricMapper::Mapped first = mapper.Map(One(delta));
  EXPECT_EQ(Samples(first).at(R"(hits_total{instance="shop-1",route="/a",service="shop"})"), 3);
  // Not committed (say the store refused it): the retry starts from the same totals.
  OtlpMetricMapper::Mapped retry = mapper.Map(One(delta));
  EXPECT_EQ(Samples(retry).at(R"(hits_total{instance="shop-1",route="/a",service="shop"})"), 3);
  mapper.Commit(retry);
  EXPECT_EQ(mapper.delta_series(), 2u);
  delta.points = {Number(4, {{"route", "/a"}})};
  OtlpMetricMapper::Mapped second = mapper.Map(One(delta));
  EXPECT_EQ(Samples(second).at(R"(hits_total{instance="shop-1",route="/a",service="shop"})"), 7);
  mapper.Commit(second);
  // A non-monotonic delta sum adds up to the current value too.
  OtlpMetric updown = Metric(OtlpMetricKind::kSum, "depth", "", OtlpTemporality::kDelta, false);
  updown.points = {Number(5), Number(-2)};
  EXPECT_EQ(Samples(mapper.Map(One(updown))).at(std::string("depth{") + kBase + "}"), 3);
}

TEST(OtlpMetricMapper, MapsHistogramsToCumulativeBucketsAndAddsUpDeltaOnes) {
  OtlpMetric h = Metric(OtlpMetricKind::kHistogram, "latency", "s", OtlpTemporality::kDelta);
  h.points = {HistogramPoint({0.1, 1}, {2, 1, 1}, 3.5)};
  OtlpMetricMapper mapper;
  OtlpMetricMapper::Mapped first = mapper.Map(One(h));
  ASSERT_EQ(first.families.size(), 1u);
  EXPECT_EQ(first.families[0].name, "latency_seconds");
  EXPECT_EQ(first.families[0].type, MetricType::kHistogram);
  std::map<std::string, double> s = Samples(first);
  EXPECT_EQ(s.at(R"(latency_seconds_bucket{instance="shop-1",le="0.1",service="shop"})"), 2);
  EXPECT_EQ(s.at(R"(latency_seconds_bucket{instance="shop-1",le="1",service="shop"})"), 3);
  EXPECT_EQ(s.at(R"(latency_seconds_bucket{instance="shop-1",le="+Inf",service="shop"})"), 4);
  EXPECT_EQ(s.at(std::string("latency_seconds_sum{") + kBase + "}"), 3.5);
  EXPECT_EQ(s.at(std::string("latency_seconds_count{") + kBase + "}"), 4);
  mapper.Commit(first);
  h.points = {HistogramPoint({0.1, 1}, {1, 0, 0}, 0.05)};
  s = Samples(mapper.Map(One(h)));
  EXPECT_EQ(s.at(R"(latency_seconds_bucket{instance="shop-1",le="0.1",service="shop"})"), 3);
  EXPECT_EQ(s.at(R"(latency_seconds_bucket{instance="shop-1",le="+Inf",service="shop"})"), 5);
  EXPECT_EQ(s.at(std::string("latency_seconds_sum{") + kBase + "}"), 3.55);
}

TEST(OtlpMetricMapper, MapsSummariesToQuantileSeries) {
  OtlpMetric m = Metric(OtlpMetricKind::kSummary, "rpc", "ms");
  OtlpMetricPoint p;
  p.count = 10;
  p.sum = 42;
  p.quantiles = {{0.5, 3}, {0.99, 9}};
  m.points = {p};
  const OtlpMetricMapper::Mapped mapped = OtlpMetricMapper().Map(One(m));
  ASSERT_EQ(mapped.families.size(), 1u);
  EXPECT_EQ(mapped.families[0].type, MetricType::kSummary);
  const std::map<std::string, double> s = Samples(mapped);
  EXPECT_EQ(s.at(R"(rpc_milliseconds{instance="shop-1",quantile="0.99",service="shop"})"), 9);
  EXPECT_EQ(s.at(std::string("rpc_milliseconds_sum{") + kBase + "}"), 42);
  EXPECT_EQ(s.at(std::string("rpc_milliseconds_count{") + kBase + "}"), 10);
}

TEST(OtlpMetricMapper, JoinsClashingLabelsAndMovesReservedOnesAside) {
  OtlpMetric m = Metric(OtlpMetricKind::kGauge, "g", "");
  m.points = {Number(1, {{"a.b", "2"}, {"a_b", "1"}, {"service", "theirs"}, {"le", "x"}})};
  const std::map<std::string, double> s = Samples(OtlpMetricMapper().Map(One(m)));
  EXPECT_EQ(s.count(R"(g{a_b="2;1",exported_le="x",exported_service="theirs",instance="shop-1",service="shop"})"),
            1u)
      << s.begin()->first;
}

TEST(OtlpMetricMapper, RefusesBadPointsAndCountsThem) {
  OtlpMetrics in;
  OtlpMetric bad_bounds = Metric(OtlpMetricKind::kHistogram, "h1", "");
  bad_bounds.points = {HistogramPoint({1, 0.5}, {1, 1, 1}, 1)};
  OtlpMetric bad_counts = Metric(OtlpMetricKind::kHistogram, "h2", "");
  bad_counts.points = {HistogramPoint({1}, {1, 1, 1}, 1)};
  OtlpMetricPoint wrong_total = HistogramPoint({1}, {1, 1}, 1);
  wrong_total.count = 5;
  OtlpMetric bad_total = Metric(OtlpMetricKind::kHistogram, "h3", "");
  bad_total.points = {wrong_total};
  OtlpMetric unspecified = Metric(OtlpMetricKind::kSum, "s", "", OtlpTemporality::kUnspecified, true);
  unspecified.points = {Number(1), Number(2)};
  OtlpMetric nameless = Metric(OtlpMetricKind::kGauge, "...", "");
  nameless.points = {Number(1)};
  OtlpMetric summary = Metric(OtlpMetricKind::kSummary, "q", "");
  OtlpMetricPoint q;
  q.quantiles = {{1.5, 1}};
  summary.points = {q};
  OtlpMetric good = Metric(OtlpMetricKind::kGauge, "ok", "");
  good.points = {Number(1)};
  in.metrics = {bad_bounds, bad_counts, bad_total, unspecified, nameless, summary, good};
  const OtlpMetricMapper::Mapped mapped = OtlpMetricMapper().Map(in);
  EXPECT_EQ(mapped.rejected, 7);
  EXPECT_THAT(mapped.first_error, HasSubstr("ascending"));
  ASSERT_EQ(mapped.families.size(), 1u);
  EXPECT_EQ(mapped.families[0].name, "ok");
}

TEST(OtlpMetricMapper, RefusesOneNameSentAsTwoTypes) {
  OtlpMetrics in;
  OtlpMetric gauge = Metric(OtlpMetricKind::kGauge, "x", "");
  gauge.points = {Number(1)};
  OtlpMetric summary = Metric(OtlpMetricKind::kSummary, "x", "");
  summary.points = {OtlpMetricPoint{}};
  in.metrics = {gauge, summary};
  const OtlpMetricMapper::Mapped mapped = OtlpMetricMapper().Map(in);
  EXPECT_EQ(mapped.rejected, 1);
  EXPECT_THAT(mapped.first_error, HasSubstr("sent as a summary and as a gauge"));
}

}  // namespace telemetry_otlp_metric_mapper_test
}  // namespace mesh

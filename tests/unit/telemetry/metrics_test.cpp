#include "mesh/telemetry/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace telemetry_metrics_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

const MetricSample* FindSample(const MetricFamily& f, const std::string& name,
                               const std::string& le = "") {
  for (const MetricSample& s : f.samples) {
    if (s.name == name && LabelValue(s.labels, "le") == le) return &s;
  }
  return nullptr;
}

TEST(Counter, CountsUpAndIgnoresNegativeIncrements) {
  Counter c;
  EXPECT_EQ(c.Value(), 0);
  c.Inc();
  c.Inc(2.5);
  EXPECT_EQ(c.Value(), 3.5);
  c.Inc(-10);
  c.Inc(0);
  EXPECT_EQ(c.Value(), 3.5);
}

TEST(Gauge, SetsIncrementsAndDecrements) {
  Gauge g;
  EXPECT_EQ(g.Value(), 0);
  g.Set(10);
  g.Inc();
  g.Inc(4);
  g.Dec(20);
  EXPECT_EQ(g.Value(), -5);  // a gauge may go below zero
  g.Dec();
  EXPECT_EQ(g.Value(), -6);
  g.Set(0.25);
  EXPECT_EQ(g.Value(), 0.25);
}

TEST(Histogram, BucketsAreCumulativeAndInfEqualsCount) {
  Histogram h({0.1, 0.5, 1});
  for (double v : {0.05, 0.1, 0.3, 2.0, 5.0}) h.Observe(v);
  const Histogram::Snapshot s = h.Collect();
  EXPECT_THAT(s.bounds, ElementsAre(0.1, 0.5, 1));
  // An observation equal to a bound falls in that bucket (le is "less or equal").
  EXPECT_THAT(s.cumulative, ElementsAre(2u, 3u, 3u, 5u));
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.cumulative.back(), s.count);
  EXPECT_DOUBLE_EQ(s.sum, 7.45);
}

TEST(Histogram, SortsItsBounds) {
  Histogram h({1, 0.1, 0.5});
  h.Observe(0.2);
  const Histogram::Snapshot s = h.Collect();
  EXPECT_THAT(s.bounds, ElementsAre(0.1, 0.5, 1));
  EXPECT_THAT(s.cumulative, ElementsAre(0u, 1u, 1u, 1u));
}

TEST(Histogram, EmptyHistogramHasZeroBuckets) {
  Histogram h(DefaultLatencyBuckets());
  const Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative.size(), DefaultLatencyBuckets().size() + 1);
  for (uint64_t c : s.cumulative) EXPECT_EQ(c, 0u);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0);
}

TEST(Histogram, WithoutBoundsHasOnlyInf) {
  Histogram h({});
  h.Observe(3);
  EXPECT_THAT(h.Collect().cumulative, ElementsAre(1u));
}

TEST(DefaultLatencyBuckets, AscendFromAMillisecondToTenSeconds) {
  const std::vector<double> b = DefaultLatencyBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.front(), 0.001);
  EXPECT_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(MetricsRegistry, WithLabelsReturnsOneSeriesPerLabelSet) {
  MetricsRegistry registry;
  Result<Family<Counter>*> family = registry.AddCounter("requests_total", "Requests.", {"code"});
  ASSERT_TRUE(family.ok());
  Result<Counter*> ok1 = (*family)->WithLabels({"200"});
  Result<Counter*> ok2 = (*family)->WithLabels({"200"});
  Result<Counter*> err = (*family)->WithLabels({"500"});
  ASSERT_TRUE(ok1.ok() && ok2.ok() && err.ok());
  EXPECT_EQ(*ok1, *ok2);
  EXPECT_NE(*ok1, *err);
  EXPECT_EQ((*family)->name(), "requests_total");
}

TEST(MetricsRegistry, WrongLabelCountIsAnError) {
  MetricsRegistry registry;
  Family<Gauge>* family = *registry.AddGauge("depth", "Depth.", {"queue", "shard"});
  for (const std::vector<std::string>& values :
       {std::vector<std::string>{}, {"a"}, {"a", "b", "c"}}) {
    Result<Gauge*> g = family->WithLabels(values);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(g.status().message(), HasSubstr("depth takes 2 label values"));
  }
  EXPECT_TRUE(family->WithLabels({"a", "b"}).ok());
}

TEST(MetricsRegistry, FamilyRefusesNewSeriesPastItsCardinalityCap) {
  MetricsRegistry registry;
  Family<Counter>* family = *registry.AddCounter("hits_total", "Hits.", {"path"}, 2);
  ASSERT_TRUE(family->WithLabels({"/a"}).ok());
  ASSERT_TRUE(family->WithLabels({"/b"}).ok());
  Result<Counter*> third = family->WithLabels({"/c"});
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(third.status().message(), HasSubstr("cardinality cap"));
  // Series that exist keep working, and the refused one is not exposed.
  EXPECT_TRUE(family->WithLabels({"/a"}).ok());
  const std::vector<MetricFamily> collected = registry.Collect();
  ASSERT_EQ(collected.size(), 1u);
  EXPECT_EQ(collected[0].samples.size(), 2u);
}

TEST(MetricsRegistry, HistogramFamiliesHaveACapToo) {
  MetricsRegistry registry;
  Family<Histogram>* family = *registry.AddHistogram("lat_seconds", "L.", {"op"}, {1}, 1);
  ASSERT_TRUE(family->WithLabels({"a"}).ok());
  EXPECT_FALSE(family->WithLabels({"b"}).ok());
}

TEST(MetricsRegistry, RejectsInvalidMetricNames) {
  MetricsRegistry registry;
  for (const char* name : {"", "1abc", "a-b", "a b", "caf\xc3\xa9"}) {
    Result<Family<Counter>*> r = registry.AddCounter(name, "x");
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("invalid metric name"));
  }
  EXPECT_TRUE(registry.AddCounter("ns:sub_total", "colons are fine in metric names").ok());
}

TEST(MetricsRegistry, RejectsInvalidLabelNames) {
  MetricsRegistry registry;
  int n = 0;
  for (const std::vector<std::string>& labels :
       {std::vector<std::string>{""}, {"1x"}, {"a:b"}, {"a-b"}, {"ok", "le"}}) {
    const std::string name = "m" + std::to_string(n++);
    Result<Family<Gauge>*> r = registry.AddGauge(name, "x", labels);
    ASSERT_FALSE(r.ok()) << labels.back();
    EXPECT_THAT(r.status().message(), HasSubstr("invalid label name"));
  }
  // A refused family does not take its name.
  EXPECT_TRUE(registry.AddGauge("m0", "x", {"fine"}).ok());
}

TEST(MetricsRegistry, RejectsARepeatedLabelName) {
  MetricsRegistry registry;
  Result<Family<Counter>*> r = registry.AddCounter("dup_total", "x", {"code", "code"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("code"));
}

TEST(MetricsRegistry, RejectsDuplicateRegistrationAcrossTypes) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddCounter("x", "first").ok());
  Result<Family<Counter>*> again = registry.AddCounter("x", "second");
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("already registered"));
  EXPECT_FALSE(registry.AddGauge("x", "gauge").ok());
  EXPECT_FALSE(registry.AddHistogram("x", "histogram").ok());
}

TEST(MetricsRegistry, CollectKeepsRegistrationOrderAndTypes) {
  MetricsRegistry registry;
  (*(*registry.AddGauge("b_gauge", "B."))->WithLabels({}))->Set(2);
  (*(*registry.AddCounter("a_total", "A."))->WithLabels({}))->Inc(3);
  (*(*registry.AddHistogram("c_seconds", "C.", {}, {1}))->WithLabels({}))->Observe(0.5);
  const std::vector<MetricFamily> f = registry.Collect();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, "b_gauge");
  EXPECT_EQ(f[0].type, MetricType::kGauge);
  EXPECT_EQ(f[0].samples[0].value, 2);
  EXPECT_EQ(f[1].name, "a_total");
  EXPECT_EQ(f[1].type, MetricType::kCounter);
  EXPECT_EQ(f[1].help, "A.");
  EXPECT_EQ(f[1].samples[0].value, 3);
  EXPECT_EQ(f[2].type, MetricType::kHistogram);
}

TEST(MetricsRegistry, CollectorsRunFirstAndTheirFamiliesComeLast) {
  MetricsRegistry registry;
  Gauge* copied = *(*registry.AddGauge("copied", "set by the collector"))->WithLabels({});
  int runs = 0;
  registry.AddCollector([&] {
    copied->Set(++runs);
    return std::vector<MetricFamily>{{"read_now", "h", MetricType::kGauge, {{"read_now", {}, 7, {}}}}};
  });
  const std::vector<MetricFamily> first = registry.Collect();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].name, "copied");
  EXPECT_EQ(first[0].samples[0].value, 1);  // updated before it was read
  EXPECT_EQ(first[1].name, "read_now");
  EXPECT_EQ(first[1].samples[0].value, 7);
  EXPECT_EQ(registry.Collect()[0].samples[0].value, 2);
}

TEST(MetricsRegistry, CollectLabelsSeriesAndSortsLabelsByName) {
  MetricsRegistry registry;
  Family<Counter>* family = *registry.AddCounter("req_total", "R.", {"service", "code"});
  (*family->WithLabels({"api", "500"}))->Inc();
  const std::vector<MetricFamily> f = registry.Collect();
  ASSERT_EQ(f[0].samples.size(), 1u);
  EXPECT_EQ(f[0].samples[0].labels, (Labels{{"code", "500"}, {"service", "api"}}));
}

TEST(MetricsRegistry, HistogramCollectsBucketsSumAndCount) {
  MetricsRegistry registry;
  Family<Histogram>* family = *registry.AddHistogram("op_seconds", "Op.", {"op"}, {0.1, 1});
  Histogram* h = *family->WithLabels({"read"});
  for (double v : {0.05, 0.5, 0.5, 3.0}) h->Observe(v);
  const std::vector<MetricFamily> f = registry.Collect();
  ASSERT_EQ(f.size(), 1u);
  ASSERT_EQ(f[0].samples.size(), 5u);
  EXPECT_EQ(FindSample(f[0], "op_seconds_bucket", "0.1")->value, 1);
  EXPECT_EQ(FindSample(f[0], "op_seconds_bucket", "1")->value, 3);
  EXPECT_EQ(FindSample(f[0], "op_seconds_bucket", "+Inf")->value, 4);
  EXPECT_EQ(FindSample(f[0], "op_seconds_sum")->value, 4.05);
  EXPECT_EQ(FindSample(f[0], "op_seconds_count")->value, 4);
  EXPECT_EQ(LabelValue(FindSample(f[0], "op_seconds_count")->labels, "op"), "read");
}

TEST(MetricsRegistry, ExpositionHasHelpAndTypeOncePerFamilyAndInfBucketEqualsCount) {
  MetricsRegistry registry;
  Family<Counter>* requests = *registry.AddCounter("mesh_requests_total", "Requests.", {"code"});
  (*requests->WithLabels({"200"}))->Inc(7);
  (*requests->WithLabels({"500"}))->Inc(1);
  Family<Histogram>* latency =
      *registry.AddHistogram("mesh_request_duration_seconds", "Latency.", {"route"}, {0.01, 0.1});
  for (const char* route : {"/a", "/b"}) {
    Histogram* h = *latency->WithLabels({route});
    for (double v : {0.001, 0.05, 0.2}) h->Observe(v);
  }
  const std::string text = FormatPrometheusText(registry.Collect());
  EXPECT_EQ(Count(text, "# HELP mesh_requests_total "), 1u);
  EXPECT_EQ(Count(text, "# TYPE mesh_requests_total counter\n"), 1u);
  EXPECT_EQ(Count(text, "# HELP mesh_request_duration_seconds "), 1u);
  EXPECT_EQ(Count(text, "# TYPE mesh_request_duration_seconds histogram\n"), 1u);
  EXPECT_THAT(text, HasSubstr("mesh_requests_total{code=\"200\"} 7\n"));
  EXPECT_THAT(text,
              HasSubstr("mesh_request_duration_seconds_bucket{le=\"+Inf\",route=\"/a\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("mesh_request_duration_seconds_count{route=\"/a\"} 3\n"));

  // Read back: for every label set the +Inf bucket equals _count and buckets never decrease.
  Result<std::vector<MetricFamily>> parsed = ParsePrometheusText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message() << "\n" << text;
  ASSERT_EQ(parsed->size(), 2u);
  const MetricFamily& h = (*parsed)[1];
  EXPECT_EQ(h.type, MetricType::kHistogram);
  for (const char* route : {"/a", "/b"}) {
    double inf = -1, count = -2, previous = 0;
    for (const MetricSample& s : h.samples) {
      if (LabelValue(s.labels, "route") != route) continue;
      if (s.name == "mesh_request_duration_seconds_bucket") {
        EXPECT_GE(s.value, previous);
        previous = s.value;
        if (LabelValue(s.labels, "le") == "+Inf") inf = s.value;
      } else if (s.name == "mesh_request_duration_seconds_count") {
        count = s.value;
      }
    }
    EXPECT_EQ(inf, count) << route;
    EXPECT_EQ(count, 3) << route;
  }
}

TEST(MetricsRegistry, ConcurrentIncrementsFromSeveralThreadsSumExactly) {
  MetricsRegistry registry;
  Family<Counter>* counters = *registry.AddCounter("work_total", "W.", {"worker"});
  Family<Gauge>* gauges = *registry.AddGauge("in_flight", "F.");
  Family<Histogram>* histograms = *registry.AddHistogram("work_seconds", "S.", {}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread looks the shared series up itself, concurrently with the others.
      Counter* shared = *counters->WithLabels({"shared"});
      Counter* own = *counters->WithLabels({"w" + std::to_string(t)});
      Gauge* gauge = *gauges->WithLabels({});
      Histogram* h = *histograms->WithLabels({});
      for (int i = 0; i < kPerThread; ++i) {
        shared->Inc();
        own->Inc(2);
        gauge->Inc();
        gauge->Dec(0.5);
        h->Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ((*counters->WithLabels({"shared"}))->Value(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ((*counters->WithLabels({"w" + std::to_string(t)}))->Value(), 2.0 * kPerThread);
  }
  EXPECT_EQ((*gauges->WithLabels({}))->Value(), 0.5 * kThreads * kPerThread);
  const Histogram::Snapshot s = (*histograms->WithLabels({}))->Collect();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.cumulative[0], static_cast<uint64_t>(kThreads * kPerThread / 2));
  EXPECT_EQ(s.sum, kThreads * (kPerThread / 2) * 1.25);
}

TEST(MetricsRegistry, CollectWhileOtherThreadsUpdate) {
  MetricsRegistry registry;
  Family<Counter>* counters = *registry.AddCounter("c_total", "C.", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) (*counters->WithLabels({std::to_string(t * 1000 + i)}))->Inc();
    });
  }
  for (int i = 0; i < 50; ++i) FormatPrometheusText(registry.Collect());
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(registry.Collect()[0].samples.size(), 800u);
}

TEST(MetricsRegistry, EightThreadsTimesAMillionIncrementsGiveTheExactTotal) {
  MetricsRegistry registry;
  Counter* counter = *(*registry.AddCounter("ops_total", "Ops."))->WithLabels({});
  Histogram* histogram = *(*registry.AddHistogram("op_seconds", "S."))->WithLabels({});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1'000'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) counter->Inc();
      for (int i = 0; i < kPerThread / 10; ++i) histogram->Observe(0.003);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter->Value(), static_cast<double>(kThreads) * kPerThread);
  const Histogram::Snapshot s = histogram->Collect();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads) * kPerThread / 10);
  // 0.003 falls in the le=0.005 bucket, not in le=0.0025.
  EXPECT_EQ(s.cumulative[1], 0u);
  EXPECT_EQ(s.cumulative[2], s.count);
}

TEST(Histogram, AValueOnABoundCountsInThatBucket) {
  Histogram h({0.1, 0.5});
  h.Observe(0.1);
  h.Observe(0.5);
  h.Observe(0.50001);
  const Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(Histogram, QuantilesForHumansComeFromTheBuckets) {
  Histogram h({0.1, 0.5, 1});
  EXPECT_FALSE(h.Collect().Quantile(0.5).has_value());
  for (int i = 0; i < 50; ++i) h.Observe(0.05);
  for (int i = 0; i < 50; ++i) h.Observe(0.3);
  const Histogram::Snapshot s = h.Collect();
  EXPECT_DOUBLE_EQ(*s.Quantile(0.5), 0.1);
  EXPECT_DOUBLE_EQ(*s.Quantile(0.9), 0.1 + 0.4 * 0.8);
  h.Observe(7);  // past the last bound: the quantile caps at the highest finite bound
  EXPECT_DOUBLE_EQ(*h.Collect().Quantile(1.0), 1);
}

}  // namespace
}  // namespace mesh

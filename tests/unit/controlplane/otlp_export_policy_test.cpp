#include "mesh/controlplane/otlp_export_policy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "mesh/otlp_proto/otlp_metrics_proto.h"
#include "mesh/otlp_proto/otlp_proto.h"

namespace mesh {
namespace controlplane_otlp_export_policy_test {

std::string TraceId(int i) {
  char id[33];
  std::snprintf(id, sizeof id, "%032x", i + 1);  // sequential ids: the hash must still spread them
  return id;
}

Span SpanOf(const std::string& service, SpanStatus status = SpanStatus::kUnset, int64_t duration_ns = 1'000'000) {
  Span s;
  s.trace_id = TraceId(7);
  s.span_id = "00f067aa0ba902b7";
  s.service = service;
  s.name = "GET /";
  s.start_ns = 1'764'075'600'000'000'000;
  s.duration_ns = duration_ns;
  s.status = status;
  return s;
}

TEST(OtlpExportPolicy, SamplesTheShareOfTracesTheRateSaysEvenForSequentialIds) {
  OtlpExportPolicy policy{.sample_rate = 0.1};
  int kept = 0;
  for (int i = 0; i < 20000; ++i) kept += policy.SampledIn(TraceId(i)) ? 1 : 0;
  EXPECT_GT(kept, 1700);
  EXPECT_LT(kept, 2300);
}

TEST(OtlpExportPolicy, DecidesATraceTheSameWayEveryTime) {
  OtlpExportPolicy a{.sample_rate = 0.5};
  OtlpExportPolicy b{.sample_rate = 0.5};
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(a.SampledIn(TraceId(i)), b.SampledIn(TraceId(i)));
  // A higher rate keeps every trace a lower one kept (same hash, larger bound).
  OtlpExportPolicy c{.sample_rate = 0.6};
  for (int i = 0; i < 1000; ++i) {
    if (a.SampledIn(TraceId(i))) {
      EXPECT_TRUE(c.SampledIn(TraceId(i)));
    }
  }
}

TEST(OtlpExportPolicy, RatesOfZeroAndOneKeepNoneAndAll) {
  OtlpExportPolicy none{.sample_rate = 0};
  OtlpExportPolicy all{.sample_rate = 1};
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(none.SampledIn(TraceId(i)));
    EXPECT_TRUE(all.SampledIn(TraceId(i)));
  }
}

TEST(OtlpExportPolicy, AlwaysKeepsErrorsAndSpansSlowerThanTheThreshold) {
  OtlpExportPolicy policy{.sample_rate = 0, .keep_slower_than_ns = 500'000'000};
  EXPECT_TRUE(policy.AlwaysKeeps(SpanOf("api", SpanStatus::kError)));
  EXPECT_TRUE(policy.AlwaysKeeps(SpanOf("api", SpanStatus::kOk, 600'000'000)));
  EXPECT_FALSE(policy.AlwaysKeeps(SpanOf("api", SpanStatus::kOk, 500'000'000)));
  EXPECT_FALSE(policy.AlwaysKeeps(SpanOf("api", SpanStatus::kUnset)));
  OtlpExportPolicy no_slow_rule{.sample_rate = 0};
  EXPECT_FALSE(no_slow_rule.AlwaysKeeps(SpanOf("api", SpanStatus::kOk, 3'600'000'000'000)));
}

TEST(OtlpExportPolicy, ExportsOnlyTheChosenSignalsAndServices) {
  OtlpExportPolicy policy{.signals = {OtlpSignal::kTraces, OtlpSignal::kMetrics}, .services = {"api", "web"}};
  EXPECT_TRUE(policy.Exports(OtlpSignal::kTraces, "api"));
  EXPECT_TRUE(policy.Exports(OtlpSignal::kMetrics, "web"));
  EXPECT_FALSE(policy.Exports(OtlpSignal::kLogs, "api"));
  EXPECT_FALSE(policy.Exports(OtlpSignal::kTraces, "db"));
  EXPECT_FALSE(policy.Exports(OtlpSignal::kTraces, ""));
  OtlpExportPolicy everything;
  EXPECT_TRUE(everything.Exports(OtlpSignal::kLogs, "anything"));
}

TEST(OtlpExportPolicy, ItemsCarryOnlyWhatThePolicyExportsEachEncodedAlone) {
  OtlpExportPolicy policy{.signals = {OtlpSignal::kTraces, OtlpSignal::kMetrics}, .services = {"api"}};
  const std::vector<OtlpOutboxItem> spans =
      OtlpSpanItems(policy, {SpanOf("api", SpanStatus::kError), SpanOf("db"), SpanOf("api")});
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_TRUE(spans[0].keep);
  EXPECT_FALSE(spans[1].keep);
  EXPECT_EQ(spans[0].trace_id, TraceId(7));
  Result<OtlpTraces> decoded = DecodeOtlpTracesProto(spans[0].body);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->spans.size(), 1u);
  EXPECT_EQ(decoded->spans[0].service, "api");

  LogRecord record;
  record.service = "api";
  record.message = "hello";
  EXPECT_TRUE(OtlpLogItems(policy, {record}).empty());  // logs are not among the signals

  MetricFamily f{"up", "", MetricType::kGauge,
                 {{"up", {{"service", "api"}}, 1, {}}, {"up", {{"service", "db"}}, 1, {}}, {"up", {}, 1, {}}}};
  const std::vector<OtlpOutboxItem> points = OtlpMetricItems(policy, {f}, 1'000);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].signal, OtlpSignal::kMetrics);
}

TEST(ParseOtlpSignals, TakesACommaSeparatedListAndRefusesUnknownEmptyOrRepeatedWords) {
  Result<std::vector<OtlpSignal>> two = ParseOtlpSignals("logs,traces");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (std::vector<OtlpSignal>{OtlpSignal::kLogs, OtlpSignal::kTraces}));
  for (const char* bad : {"", "spans", "traces,", ",logs", "logs,logs", "Traces", "traces metrics"}) {
    EXPECT_FALSE(ParseOtlpSignals(bad).ok()) << bad;
  }
}

}  // namespace controlplane_otlp_export_policy_test
}  // namespace mesh

// The encoders meshd --export-otlp sends with, checked through our own decoders (the round trip)
// and through the wire format's rules (concatenated requests are one request).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mesh/otlp_proto/otlp_metrics_proto.h"
#include "mesh/otlp_proto/otlp_proto.h"

namespace mesh {
namespace otlp_proto_otlp_export_encoding_test {

constexpr int64_t kT0 = 1'764'075'600'000'000'000;

LogRecord Record(const std::string& service, const std::string& message) {
  LogRecord r;
  r.ts_ns = kT0 + 42;
  r.service = service;
  r.level = LogLevel::kWarn;
  r.message = message;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.span_id = "00f067aa0ba902b7";
  r.attributes = R"({"http.status_code":503,"retry":true,"user":"é"})";
  return r;
}

TEST(EncodeOtlpLogsProto, DecodesBackIntoTheSameRecords) {
  const std::vector<LogRecord> records = {Record("api", "slow upstream"), Record("web", "line\nbreak"),
                                          Record("api", "")};
  Result<OtlpLogs> decoded = DecodeOtlpLogsProto(EncodeOtlpLogsProto(records));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->rejected, 0);
  ASSERT_EQ(decoded->records.size(), 3u);
  // Grouped per service (api's two first), each field as sent.
  EXPECT_EQ(decoded->records[0].message, "slow upstream");
  EXPECT_EQ(decoded->records[1].message, "");
  EXPECT_EQ(decoded->records[2].service, "web");
  for (const LogRecord& r : decoded->records) {
    EXPECT_EQ(r.ts_ns, kT0 + 42);
    EXPECT_EQ(r.level, LogLevel::kWarn);
    EXPECT_EQ(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(r.span_id, "00f067aa0ba902b7");
    EXPECT_EQ(r.attributes, R"({"http.status_code":503,"retry":true,"user":"é"})");
  }
}

TEST(EncodeOtlpTracesProto, ConcatenatedSingleSpanRequestsDecodeAsOneRequestOfAllTheSpans) {
  std::string body;
  for (int i = 0; i < 3; ++i) {
    Span s;
    s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    s.span_id = std::string(15, '0') + std::to_string(i + 1);
    s.service = i == 1 ? "web" : "api";
    s.name = "op" + std::to_string(i);
    s.start_ns = kT0 + i;
    s.duration_ns = 1000;
    s.status = i == 2 ? SpanStatus::kError : SpanStatus::kUnset;
    body += EncodeOtlpTracesProto({s});
  }
  Result<OtlpTraces> decoded = DecodeOtlpTracesProto(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->spans.size(), 3u);
  EXPECT_EQ(decoded->spans[1].service, "web");
  EXPECT_EQ(decoded->spans[2].name, "op2");
  EXPECT_EQ(decoded->spans[2].status, SpanStatus::kError);
}

TEST(EncodeOtlpMetricPointsProto, EncodesEachKindAsTheOtlpPointMeshdMapsBack) {
  const std::vector<MetricFamily> families = {
      {"http_requests_total", "Requests", MetricType::kCounter,
       {{"http_requests_total", {{"code", "200"}, {"instance", "api-1"}, {"service", "api"}}, 7, 1'764'075'600'000}}},
      {"queue_depth", "", MetricType::kGauge, {{"queue_depth", {{"service", "api"}}, 3.5, {}}}},
      {"latency_seconds", "", MetricType::kHistogram,
       {{"latency_seconds_bucket", {{"le", "0.1"}, {"service", "api"}}, 2, {}},
        {"latency_seconds_bucket", {{"le", "1"}, {"service", "api"}}, 5, {}},
        {"latency_seconds_bucket", {{"le", "+Inf"}, {"service", "api"}}, 6, {}},
        {"latency_seconds_sum", {{"service", "api"}}, 4.25, {}},
        {"latency_seconds_count", {{"service", "api"}}, 6, {}}}},
  };
  const std::vector<OtlpEncodedPoint> points = EncodeOtlpMetricPointsProto(families, kT0);
  ASSERT_EQ(points.size(), 3u);
  std::string body;
  for (const OtlpEncodedPoint& p : points) {
    EXPECT_EQ(p.service, "api");
    body += p.body;
  }
  Result<OtlpMetrics> decoded = DecodeOtlpMetricsProto(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->rejected, 0);
  ASSERT_EQ(decoded->metrics.size(), 3u);

  const OtlpMetric& counter = decoded->metrics[0];
  EXPECT_EQ(counter.name, "http_requests_total");
  EXPECT_EQ(counter.kind, OtlpMetricKind::kSum);
  EXPECT_TRUE(counter.monotonic);
  EXPECT_EQ(counter.temporality, OtlpTemporality::kCumulative);
  EXPECT_EQ(counter.service, "api");
  EXPECT_EQ(counter.instance, "api-1");
  ASSERT_EQ(counter.points.size(), 1u);
  EXPECT_EQ(counter.points[0].value, 7);
  EXPECT_EQ(counter.points[0].time_ns, 1'764'075'600'000'000'000);
  EXPECT_EQ(counter.points[0].attributes, (std::vector<std::pair<std::string, std::string>>{{"code", "200"}}));

  const OtlpMetric& gauge = decoded->metrics[1];
  EXPECT_EQ(gauge.kind, OtlpMetricKind::kGauge);
  EXPECT_EQ(gauge.points[0].value, 3.5);
  EXPECT_EQ(gauge.points[0].time_ns, kT0);  // no timestamp of its own: now

  const OtlpMetric& histogram = decoded->metrics[2];
  EXPECT_EQ(histogram.name, "latency_seconds");
  EXPECT_EQ(histogram.kind, OtlpMetricKind::kHistogram);
  ASSERT_EQ(histogram.points.size(), 1u);
  EXPECT_EQ(histogram.points[0].bounds, (std::vector<double>{0.1, 1}));
  EXPECT_EQ(histogram.points[0].bucket_counts, (std::vector<uint64_t>{2, 3, 1}));  // cumulative no more
  EXPECT_EQ(histogram.points[0].count, 6u);
  EXPECT_EQ(histogram.points[0].sum, 4.25);
}

TEST(EncodeOtlpMetricPointsProto, LeavesOutBucketsWithoutAValidBound) {
  const std::vector<MetricFamily> families = {
      {"h", "", MetricType::kHistogram,
       {{"h_bucket", {{"le", "fast"}}, 2, {}}, {"h_bucket", {{"le", "1"}}, 3, {}}, {"h_count", {}, 3, {}}}}};
  const std::vector<OtlpEncodedPoint> points = EncodeOtlpMetricPointsProto(families, kT0);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].service, "");
  Result<OtlpMetrics> decoded = DecodeOtlpMetricsProto(points[0].body);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->metrics.size(), 1u);
  EXPECT_EQ(decoded->metrics[0].points[0].bounds, (std::vector<double>{1}));
  EXPECT_EQ(decoded->metrics[0].points[0].bucket_counts, (std::vector<uint64_t>{3, 0}));
}

TEST(DecodeOtlpExportResponse, ReadsPartialSuccessPerSignalAndRefusesGarbage) {
  OtlpTraces traces;
  traces.rejected = 2;
  traces.first_error = "bad span id";
  Result<OtlpExportAnswer> answer = DecodeOtlpExportResponse(OtlpSignal::kTraces, OtlpTracesProtoResponse(traces));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->rejected, 2);
  EXPECT_EQ(answer->error_message, "bad span id");
  answer = DecodeOtlpExportResponse(OtlpSignal::kMetrics, OtlpMetricsProtoResponse(5, "exponential"));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->rejected, 5);
  answer = DecodeOtlpExportResponse(OtlpSignal::kLogs, "");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->rejected, 0);
  EXPECT_FALSE(DecodeOtlpExportResponse(OtlpSignal::kLogs, std::string("\x0a\x05" "ab")).ok());  // truncated
}

}  // namespace otlp_proto_otlp_export_encoding_test
}  // namespace mesh

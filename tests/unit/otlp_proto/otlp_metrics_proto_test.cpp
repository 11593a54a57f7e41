#include "mesh/otlp_proto/otlp_metrics_proto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace mesh {
namespace otlp_proto_otlp_metrics_proto_test {

using ::testing::HasSubstr;

// Protobuf wire encoding written out by hand, so that the field numbers are checked against the
// specification rather than against the generated code.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string Len(int field, const std::string& payload) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(payload.size()) + payload;
}
std::string VarintField(int field, uint64_t v) { return Varint(static_cast<uint64_t>(field) << 3) + Varint(v); }
std::string Fixed64(int field, uint64_t v) {
  std::string out = Varint(static_cast<uint64_t>(field) << 3 | 1);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}
std::string Double(int field, double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  return Fixed64(field, bits);
}
std::string StringAttribute(const std::string& key, const std::string& value) {
  return Len(1, key) + Len(2, Len(1, value));
}

// ExportMetricsServiceRequest { resource_metrics 1 { resource 1 { attributes 1 }, scope_metrics 2
// { metrics 2 { name 1, description 2, unit 3, gauge 5 | sum 7 | histogram 9 | exponential 10 |
// summary 11 } } } }.
std::string Request(const std::string& metrics) {
  const std::string resource =
      Len(1, StringAttribute("service.name", "shop")) + Len(1, StringAttribute("service.instance.id", "shop-1"));
  return Len(1, Len(1, resource) + Len(2, metrics));
}
std::string MetricBytes(const std::string& name, const std::string& unit, int data_field, const std::string& data) {
  return Len(2, Len(1, name) + Len(2, "help") + Len(3, unit) + Len(data_field, data));
}

TEST(DecodeOtlpMetricsProto, ReadsEveryPointKindWithFieldNumbersOfTheSpecification) {
  // NumberDataPoint: attributes 7, time 3, as_double 4, as_int 6 (sfixed64).
  const std::string gauge_point = Len(7, StringAttribute("region", "eu")) + Fixed64(3, 2'000'000'000) + Double(4, 21.5);
  const std::string sum_point = Fixed64(3, 2'000'000'000) + Fixed64(6, static_cast<uint64_t>(int64_t{-4}));
  // Sum: data_points 1, temporality 2 (1 DELTA), is_monotonic 3.
  const std::string sum = Len(1, sum_point) + VarintField(2, 1) + VarintField(3, 1);
  // HistogramDataPoint: count 4, sum 5, bucket_counts 6 (packed fixed64), bounds 7 (packed double).
  std::string counts;
  for (uint64_t c : {1, 2}) counts += std::string(reinterpret_cast<const char*>(&c), 8);
  const double bound = 10;
  const std::string histogram_point = Fixed64(4, 3) + Double(5, 12.5) + Len(6, counts) +
                                      Len(7, std::string(reinterpret_cast<const char*>(&bound), 8));
  const std::string histogram = Len(1, histogram_point) + VarintField(2, 2);
  // SummaryDataPoint: count 4, sum 5, quantile_values 6 { quantile 1, value 2 }.
  const std::string summary_point = Fixed64(4, 7) + Double(5, 70) + Len(6, Double(1, 0.5) + Double(2, 9));
  const std::string body = Request(MetricBytes("temp", "Cel", 5, Len(1, gauge_point)) +
                                   MetricBytes("hits", "1", 7, sum) + MetricBytes("lat", "ms", 9, histogram) +
                                   MetricBytes("rpc", "s", 11, Len(1, summary_point)));
  Result<OtlpMetrics> decoded = DecodeOtlpMetricsProto(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->rejected, 0);
  ASSERT_EQ(decoded->metrics.size(), 4u);
  const OtlpMetric& temp = decoded->metrics[0];
  EXPECT_EQ(temp.service, "shop");
  EXPECT_EQ(temp.instance, "shop-1");
  EXPECT_EQ(temp.unit, "Cel");
  EXPECT_EQ(temp.description, "help");
  EXPECT_EQ(temp.kind, OtlpMetricKind::kGauge);
  ASSERT_EQ(temp.points.size(), 1u);
  EXPECT_EQ(temp.points[0].value, 21.5);
  EXPECT_EQ(temp.points[0].time_ns, 2'000'000'000);
  ASSERT_EQ(temp.points[0].attributes.size(), 1u);
  EXPECT_EQ(temp.points[0].attributes[0], std::make_pair(std::string("region"), std::string("eu")));
  const OtlpMetric& hits = decoded->metrics[1];
  EXPECT_EQ(hits.kind, OtlpMetricKind::kSum);
  EXPECT_EQ(hits.temporality, OtlpTemporality::kDelta);
  EXPECT_TRUE(hits.monotonic);
  EXPECT_EQ(hits.points[0].value, -4);
  const OtlpMetric& lat = decoded->metrics[2];
  EXPECT_EQ(lat.kind, OtlpMetricKind::kHistogram);
  EXPECT_EQ(lat.temporality, OtlpTemporality::kCumulative);
  EXPECT_EQ(lat.points[0].count, 3u);
  EXPECT_EQ(lat.points[0].sum, 12.5);
  EXPECT_EQ(lat.points[0].bounds, std::vector<double>{10});
  EXPECT_EQ(lat.points[0].bucket_counts, (std::vector<uint64_t>{1, 2}));
  const OtlpMetric& rpc = decoded->metrics[3];
  EXPECT_EQ(rpc.kind, OtlpMetricKind::kSummary);
  EXPECT_EQ(rpc.points[0].count, 7u);
  EXPECT_EQ(rpc.points[0].quantiles, (std::vector<std::pair<double, double>>{{0.5, 9}}));
}

TEST(DecodeOtlpMetricsProto, RefusesExponentialHistogramsAndValuelessPointsButSkipsNoRecordedValue) {
  // ExponentialHistogramDataPoint count 4; two points.
  const std::string exponential = Len(1, Fixed64(4, 1)) + Len(1, Fixed64(4, 2)) + VarintField(2, 2);
  // A gauge point without a value; one flagged "no recorded value" (flags 8 = 1).
  const std::string gauge = Len(1, Fixed64(3, 1)) + Len(1, Fixed64(3, 1) + Double(4, 1) + VarintField(8, 1));
  Result<OtlpMetrics> decoded =
      DecodeOtlpMetricsProto(Request(MetricBytes("exp", "", 10, exponential) + MetricBytes("g", "", 5, gauge)));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->rejected, 3);
  EXPECT_THAT(decoded->first_error, HasSubstr("exponential histograms are not stored"));
  ASSERT_EQ(decoded->metrics.size(), 1u);
  EXPECT_TRUE(decoded->metrics[0].points.empty());
}

TEST(DecodeOtlpMetricsProto, RefusesGarbageAndEveryTruncation) {
  EXPECT_THAT(DecodeOtlpMetricsProto("\xff\xff\xff").status().message(),
              HasSubstr("not a protobuf OTLP ExportMetricsServiceRequest"));
  const std::string body = Request(MetricBytes("temp", "Cel", 5, Len(1, Fixed64(3, 5) + Double(4, 1))));
  for (size_t n = 1; n < body.size(); ++n) {
    Result<OtlpMetrics> cut = DecodeOtlpMetricsProto(std::string_view(body).substr(0, n));
    if (cut.ok()) {
      EXPECT_LE(cut->metrics.size(), 1u);  // a cut between fields is a shorter message
    }
  }
}

TEST(DecodeOtlpMetricsJson, ReadsTheOtlpJsonMappingAsProtobufDoes) {
  const std::string json = R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}}]},
    "scopeMetrics":[{"scope":{"name":"s"},"metrics":[
      {"name":"hits","unit":"1","sum":{"aggregationTemporality":2,"isMonotonic":true,
        "dataPoints":[{"asInt":"12","timeUnixNano":"1700000000000000000",
          "attributes":[{"key":"ok","value":{"boolValue":true}},{"key":"n","value":{"intValue":"3"}},
                        {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"doubleValue":1.5}]}}}],
          "exemplars":[{"spanId":"eee19b7ec3c1b174","traceId":"5b8efff798038103d269b633813fc60c","asDouble":1}]}]}},
      {"name":"temp","gauge":{"dataPoints":[{"asDouble":"NaN"}]}},
      {"name":"lat","histogram":{"aggregationTemporality":1,"dataPoints":[
        {"count":"2","sum":3,"bucketCounts":["1","1"],"explicitBounds":[1]}]}}]}]}]})";
  Result<OtlpMetrics> decoded = DecodeOtlpMetricsJson(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->metrics.size(), 3u);
  EXPECT_EQ(decoded->metrics[0].points[0].value, 12);
  EXPECT_EQ(decoded->metrics[0].points[0].time_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(decoded->metrics[0].points[0].attributes,
            (std::vector<std::pair<std::string, std::string>>{{"ok", "true"}, {"n", "3"}, {"tags", R"(["a",1.5])"}}));
  EXPECT_EQ(decoded->metrics[0].instance, "");
  EXPECT_TRUE(std::isnan(decoded->metrics[1].points[0].value));
  EXPECT_EQ(decoded->metrics[2].temporality, OtlpTemporality::kDelta);
  EXPECT_EQ(decoded->metrics[2].points[0].bucket_counts, (std::vector<uint64_t>{1, 1}));
}

TEST(DecodeOtlpMetricsJson, RefusesBadInputWithAClearMessage) {
  EXPECT_THAT(DecodeOtlpMetricsJson("not json").status().message(), HasSubstr("not an OTLP/JSON"));
  EXPECT_THAT(DecodeOtlpMetricsJson(R"({"resourceMetrics":"x"})").status().message(), HasSubstr("not an OTLP/JSON"));
  EXPECT_THAT(DecodeOtlpMetricsJson(std::string(1000, '[') + std::string(1000, ']')).status().message(),
              HasSubstr("nested deeper than 64 levels"));
  Result<OtlpMetrics> empty = DecodeOtlpMetricsJson("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->metrics.empty());
}

TEST(OtlpMetricsProtoResponse, CarriesThePartialSuccess) {
  EXPECT_EQ(OtlpMetricsProtoResponse(0, ""), "");
  // partial_success 1 { rejected_data_points 1, error_message 2 }.
  EXPECT_EQ(OtlpMetricsProtoResponse(3, "why"), Len(1, VarintField(1, 3) + Len(2, "why")));
}

}  // namespace otlp_proto_otlp_metrics_proto_test
}  // namespace mesh

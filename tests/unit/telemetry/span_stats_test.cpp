#include "mesh/telemetry/span_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace mesh {
namespace telemetry_span_stats_test {

Span MakeSpan(const std::string& id, const std::string& parent, const std::string& service,
              const std::string& name, int64_t duration_ns, bool error = false) {
  Span s;
  s.trace_id = "0af7651916cd43dd8448eb211c80319c";
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = service;
  s.name = name;
  s.duration_ns = duration_ns;
  s.status = error ? SpanStatus::kError : SpanStatus::kUnset;
  return s;
}

TEST(DurationHistogram, EmptyHistogramAnswersZero) {
  DurationHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Quantile(0.5), 0);
}

TEST(DurationHistogram, SmallValuesAreExact) {
  DurationHistogram h;
  for (int64_t v = 1; v <= 20; ++v) h.Add(v);
  EXPECT_EQ(h.Quantile(0.5), 10);
  EXPECT_EQ(h.Quantile(1.0), 20);
  EXPECT_EQ(h.Quantile(0.05), 1);
}

TEST(DurationHistogram, QuantilesStayWithinThreePercentOfTheExactRank) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(17.0, 1.2);  // around 24 ms, long tail
  std::vector<int64_t> values;
  DurationHistogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<int64_t>(latency(rng));
    values.push_back(v);
    h.Add(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
    const auto exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
    const int64_t got = h.Quantile(q);
    EXPECT_GE(got, exact) << q;  // an upper bound of the bucket holding the rank
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * 1.03) << q;
  }
}

TEST(DurationHistogram, MergedHalvesAnswerExactlyAsOneHistogramOfAll) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> latency(17.0, 1.5);
  DurationHistogram all, first, second;
  for (int i = 0; i < 5000; ++i) {
    const auto v = static_cast<int64_t>(latency(rng));
    all.Add(v);
    (i % 3 == 0 ? first : second).Add(v);
  }
  first.Merge(second);
  EXPECT_EQ(first.count(), all.count());
  for (double q : {0.01, 0.5, 0.95, 0.99, 1.0}) EXPECT_EQ(first.Quantile(q), all.Quantile(q)) << q;
}

TEST(DurationHistogram, EncodeDecodeKeepsEveryQuantile) {
  DurationHistogram h;
  for (int64_t v : {int64_t{0}, int64_t{7}, int64_t{31}, int64_t{1'000'000}, int64_t{3'000'000'000}, INT64_MAX}) h.Add(v);
  Result<DurationHistogram> back = DurationHistogram::Decode(h.Encode());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->count(), h.count());
  EXPECT_EQ(back->Encode(), h.Encode());
  for (double q : {0.1, 0.5, 0.8, 1.0}) EXPECT_EQ(back->Quantile(q), h.Quantile(q)) << q;
  Result<DurationHistogram> empty = DurationHistogram::Decode(DurationHistogram().Encode());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->count(), 0);
}

TEST(DurationHistogram, DecodeRefusesTextItDidNotWrite) {
  for (const char* bad : {"", "12", "x;", "-1;", "5;1", "5;1:", "5;:3", "5;1:0", "5;1:2,", "5;99999:1", "5;1:-2",
                          "5;1:9223372036854775807,2:9223372036854775807", "5;1:2;3:4", " 5;1:2"}) {
    EXPECT_FALSE(DurationHistogram::Decode(bad).ok()) << bad;
  }
}

TEST(DurationHistogram, NeverAnswersAboveTheLargestValue) {
  DurationHistogram h;
  h.Add(1'000'001);
  EXPECT_EQ(h.Quantile(0.99), 1'000'001);
}

TEST(DurationHistogram, ExtremeValuesDoNotOverflow) {
  DurationHistogram h;
  h.Add(INT64_MAX);
  h.Add(-5);  // a clock that went backwards: counted as zero
  h.Add(0);
  EXPECT_EQ(h.count(), 3);
  EXPECT_EQ(h.Quantile(1.0), INT64_MAX);
  EXPECT_EQ(h.Quantile(0.5), 0);
}

TEST(SpanStats, CountsErrorsAndPercentilesPerServiceAndOperation) {
  SpanStats stats;
  for (int i = 1; i <= 100; ++i) stats.AddSpan("api", "GET /", i * 1000, i % 10 == 0);
  stats.AddSpan("db", "SELECT", 5, false);
  const std::vector<OperationStats> ops = stats.Operations();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].service, "api");
  EXPECT_EQ(ops[0].count, 100);
  EXPECT_EQ(ops[0].errors, 10);
  EXPECT_NEAR(static_cast<double>(ops[0].p50_ns), 50000, 50000 * 0.035);
  EXPECT_NEAR(static_cast<double>(ops[0].p99_ns), 99000, 99000 * 0.035);
  EXPECT_EQ(ops[1].service, "db");
  EXPECT_EQ(ops[1].p50_ns, 5);
}

TEST(SpanStats, CallsBetweenServicesBecomeEdgesWithTheirErrors) {
  SpanStats stats;
  stats.AddTrace({
      MakeSpan("a000000000000001", "", "web", "GET /checkout", 900),
      MakeSpan("a000000000000002", "a000000000000001", "web", "render", 100),  // same service
      MakeSpan("a000000000000003", "a000000000000001", "cart", "GET /cart", 300),
      MakeSpan("a000000000000004", "a000000000000001", "cart", "GET /cart", 300, true),
      MakeSpan("a000000000000005", "a000000000000003", "db", "SELECT", 50),
      MakeSpan("a000000000000006", "ffffffffffffffff", "pay", "charge", 50),  // parent missing
  });
  const std::vector<EdgeStats> edges = stats.Edges();
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[0].caller, "cart");
  EXPECT_EQ(edges[0].callee, "db");
  EXPECT_EQ(edges[0].calls, 1);
  EXPECT_EQ(edges[1].caller, "web");
  EXPECT_EQ(edges[1].callee, "cart");
  EXPECT_EQ(edges[1].calls, 2);
  EXPECT_EQ(edges[1].errors, 1);
  EXPECT_EQ(stats.Operations().size(), 5u);
}

TEST(SpanStats, NoSpansMeansNoRows) {
  SpanStats stats;
  stats.AddTrace({});
  EXPECT_TRUE(stats.Operations().empty());
  EXPECT_TRUE(stats.Edges().empty());
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace telemetry_span_stats_test {

TEST(SpanStatsJson, DecodeGivesBackWhatEncodeWrote) {
  const std::vector<OperationStats> ops = {{"api \"v2\"", "GET /é", 10, 3, 1'500'000, 20'000'000, 987'654'321}};
  const std::vector<EdgeStats> edges = {{"web", "api \"v2\"", 7, 1}};
  const std::string json = EncodeSpanStatsJson(ops, edges);
  EXPECT_NE(json.find("\"error_rate\":30.00"), std::string::npos) << json;
  std::vector<OperationStats> ops2;
  std::vector<EdgeStats> edges2;
  ASSERT_TRUE(DecodeSpanStatsJson(json, ops2, edges2).ok());
  ASSERT_EQ(ops2.size(), 1u);
  EXPECT_EQ(ops2[0].service, ops[0].service);
  EXPECT_EQ(ops2[0].operation, ops[0].operation);
  EXPECT_EQ(ops2[0].errors, 3);
  EXPECT_EQ(ops2[0].p50_ns, 1'500'000);
  EXPECT_EQ(ops2[0].p99_ns, 987'654'321);
  ASSERT_EQ(edges2.size(), 1u);
  EXPECT_EQ(edges2[0].callee, "api \"v2\"");
  EXPECT_EQ(edges2[0].calls, 7);
}

TEST(SpanStatsJson, MalformedDocumentsAreInvalidArgument) {
  for (const char* bad : {"", "[]", "{\"operations\":[]}", "{\"operations\":[{\"service\":1}],\"edges\":[]}",
                          "{\"operations\":[],\"edges\":[{\"caller\":\"a\"}]}", "{\"operations\":[1],\"edges\":[]}"}) {
    std::vector<OperationStats> ops;
    std::vector<EdgeStats> edges;
    EXPECT_EQ(DecodeSpanStatsJson(bad, ops, edges).code(), Status::Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace mesh

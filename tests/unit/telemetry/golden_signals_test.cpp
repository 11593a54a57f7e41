#include "mesh/telemetry/golden_signals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace mesh {
namespace telemetry_golden_signals_test {

using Buckets = std::vector<std::pair<double, double>>;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The two histograms of Prometheus' own promql/testdata/histograms.test ("testhistogram" at
// 50m): one whose lowest bucket is positive, one whose lowest bucket is negative.
const Buckets kPositive = {{0.1, 50}, {0.2, 70}, {1, 110}, {kInf, 120}};
const Buckets kNegative = {{-0.2, 10}, {-0.1, 20}, {0.3, 20}, {kInf, 30}};

double Q(double q, const Buckets& b) {
  const std::optional<double> v = HistogramQuantile(q, b);
  EXPECT_TRUE(v.has_value()) << "q=" << q;
  return v.value_or(std::nan(""));
}

TEST(CounterIncrease, IsZeroWithFewerThanTwoPoints) {
  EXPECT_EQ(CounterIncrease({}), 0);
  EXPECT_EQ(CounterIncrease({{1, 42}}), 0);
}

TEST(CounterIncrease, IsTheRiseOfAMonotonicCounter) {
  EXPECT_EQ(CounterIncrease({{1, 10}, {2, 15}, {3, 15}, {4, 40}}), 30);
}

TEST(CounterIncrease, TreatsADropAsARestartFromZero) {
  // 10 -> 20 (+10), restart, 5 (+5), 15 (+10).
  EXPECT_EQ(CounterIncrease({{1, 10}, {2, 20}, {3, 5}, {4, 15}}), 25);
  // A restart straight to zero adds nothing until the counter rises again.
  EXPECT_EQ(CounterIncrease({{1, 100}, {2, 0}, {3, 3}}), 3);
  // Two restarts.
  EXPECT_EQ(CounterIncrease({{1, 50}, {2, 7}, {3, 60}, {4, 2}}), 7 + 53 + 2);
}

TEST(HistogramQuantile, MatchesPrometheusOnItsPositiveTestHistogram) {
  EXPECT_DOUBLE_EQ(Q(0, kPositive), 0);
  EXPECT_DOUBLE_EQ(Q(0.2, kPositive), 0.048);
  EXPECT_DOUBLE_EQ(Q(0.5, kPositive), 0.15);
  EXPECT_DOUBLE_EQ(Q(0.8, kPositive), 0.72);
  EXPECT_DOUBLE_EQ(Q(1, kPositive), 1);
}

TEST(HistogramQuantile, MatchesPrometheusOnItsNegativeTestHistogram) {
  // A quantile in a lowest bucket whose bound is not positive is that bound: there is no
  // lower edge to interpolate from.
  EXPECT_DOUBLE_EQ(Q(0, kNegative), -0.2);
  EXPECT_DOUBLE_EQ(Q(0.2, kNegative), -0.2);
  EXPECT_DOUBLE_EQ(Q(0.5, kNegative), -0.15);
  EXPECT_DOUBLE_EQ(Q(0.8, kNegative), 0.3);
  EXPECT_DOUBLE_EQ(Q(1, kNegative), 0.3);
}

TEST(HistogramQuantile, MatchesPrometheusOnAggregatedRequestDurations) {
  // sum by (le) of request_duration_seconds_bucket in histograms.test.
  const Buckets summed = {{0.1, 1 + 2 + 3 + 4}, {0.2, 3 + 5 + 4 + 7}, {kInf, 4 + 6 + 6 + 9}};
  EXPECT_DOUBLE_EQ(Q(0.3, summed), 0.075);
  EXPECT_DOUBLE_EQ(Q(0.5, summed), 0.12777777777777778);
  // Per job: job1 = ins1 + ins2, job2 likewise.
  EXPECT_DOUBLE_EQ(Q(0.3, {{0.1, 3}, {0.2, 8}, {kInf, 10}}), 0.1);
  EXPECT_DOUBLE_EQ(Q(0.5, {{0.1, 3}, {0.2, 8}, {kInf, 10}}), 0.14);
  EXPECT_NEAR(Q(0.3, {{0.1, 7}, {0.2, 11}, {kInf, 15}}), 0.0642857142857143, 1e-12);
  EXPECT_DOUBLE_EQ(Q(0.5, {{0.1, 7}, {0.2, 11}, {kInf, 15}}), 0.1125);
}

TEST(HistogramQuantile, InterpolatesInsideTheFirstBucketFromZero) {
  EXPECT_DOUBLE_EQ(Q(0.5, {{0.4, 10}, {kInf, 10}}), 0.2);
  EXPECT_DOUBLE_EQ(Q(0.25, {{0.4, 10}, {kInf, 10}}), 0.1);
}

TEST(HistogramQuantile, InTheInfBucketAnswersTheHighestFiniteBound) {
  const Buckets b = {{0.1, 1}, {0.5, 2}, {kInf, 100}};
  EXPECT_DOUBLE_EQ(Q(0.5, b), 0.5);
  EXPECT_DOUBLE_EQ(Q(0.99, b), 0.5);
}

TEST(HistogramQuantile, SkipsEmptyBuckets) {
  // Nothing between 0.1 and 0.5: the median lies in (0.5, 1].
  const Buckets b = {{0.1, 2}, {0.5, 2}, {1, 10}, {kInf, 10}};
  EXPECT_DOUBLE_EQ(Q(0.5, b), 0.5 + 0.5 * (5 - 2) / 8.0);
}

TEST(HistogramQuantile, EmptyHistogramHasNoQuantile) {
  EXPECT_FALSE(HistogramQuantile(0.5, {}).has_value());
  EXPECT_FALSE(HistogramQuantile(0.5, {{0.1, 0}, {1, 0}, {kInf, 0}}).has_value());
}

TEST(HistogramQuantile, OnlyAnInfBucketHasNoQuantile) {
  // Prometheus answers NaN: with no finite bound there is nothing to report.
  EXPECT_FALSE(HistogramQuantile(0.5, {{kInf, 10}}).has_value());
}

TEST(HistogramQuantile, QuantileOutOfRangeHasNoValue) {
  for (double q : {-0.1, 1.01, -kInf, kInf, std::nan("")}) {
    EXPECT_FALSE(HistogramQuantile(q, kPositive).has_value()) << q;
  }
}

TEST(HistogramQuantile, ResultNeverDecreasesWithQ) {
  for (const Buckets& b : {kPositive, kNegative}) {
    double previous = -kInf;
    for (int i = 0; i <= 100; ++i) {
      const double v = Q(i / 100.0, b);
      EXPECT_GE(v, previous) << i;
      previous = v;
    }
  }
}

TEST(GoldenSignals, DefaultsToNothingObserved) {
  const GoldenSignals g;
  EXPECT_EQ(g.requests, 0);
  EXPECT_EQ(g.requests_per_second, 0);
  EXPECT_EQ(g.error_percent, 0);
  EXPECT_FALSE(g.p50_seconds.has_value());
}

}  // namespace
}  // namespace mesh

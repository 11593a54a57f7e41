#include "mesh/alerting/alert_records.h"

#include <gtest/gtest.h>

namespace mesh {
namespace alerting_alert_records_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;  // 2025-11-25T13:00:00Z

TEST(Silence, MatchesByGlobWithinItsTime) {
  const Silence s{0, "high_*", "pay*", kT0, kT0 + 60 * kSecond, "deploy", "ops"};
  EXPECT_TRUE(s.Matches("high_latency", "payments", kT0));
  EXPECT_FALSE(s.Matches("high_latency", "payments", kT0 + 60 * kSecond));
  EXPECT_FALSE(s.Matches("high_latency", "payments", kT0 - 1));
  EXPECT_FALSE(s.Matches("low_traffic", "payments", kT0));
  EXPECT_FALSE(s.Matches("high_latency", "orders", kT0));
}

}  // namespace
}  // namespace mesh

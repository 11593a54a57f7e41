#include "mesh/telemetry/service_instance.h"

#include <gtest/gtest.h>

namespace mesh {
namespace telemetry_service_instance_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

TEST(IsHealthy, HoldsUpToTheTtlAfterTheLastHeartbeat) {
  Instance i;
  i.id = "a";
  i.service = "api";
  i.port = 1;
  i.registered_ns = kT0;
  i.heartbeat_ns = kT0;
  i.ttl_ns = 10 * kSecond;
  EXPECT_TRUE(IsHealthy(i, kT0));
  EXPECT_TRUE(IsHealthy(i, kT0 + 10 * kSecond));
  EXPECT_FALSE(IsHealthy(i, kT0 + 10 * kSecond + 1));
  EXPECT_TRUE(IsHealthy(i, kT0 - kSecond));  // a clock a little behind the heartbeat
}

TEST(IsHealthy, AControlPlaneStartCountsAsAHeartbeatForOneTtl) {
  Instance i;
  i.id = "a";
  i.heartbeat_ns = kT0;
  i.ttl_ns = 10 * kSecond;
  // meshd was down from kT0 + 5 s to kT0 + 35 s: longer than the TTL.
  const int64_t up_since = kT0 + 35 * kSecond;
  EXPECT_FALSE(IsHealthy(i, up_since));
  EXPECT_TRUE(IsHealthy(i, up_since, up_since));
  EXPECT_TRUE(IsHealthy(i, up_since + 10 * kSecond, up_since));
  EXPECT_FALSE(IsHealthy(i, up_since + 10 * kSecond + 1, up_since));
  // A heartbeat after the start counts from itself.
  i.heartbeat_ns = up_since + 8 * kSecond;
  EXPECT_TRUE(IsHealthy(i, up_since + 15 * kSecond, up_since));
}

}  // namespace
}  // namespace mesh

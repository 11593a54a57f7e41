#include "mesh/telemetry/service_instance.h"

#include <gtest/gtest.h>

namespace mesh {
namespace {

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

}  // namespace
}  // namespace mesh

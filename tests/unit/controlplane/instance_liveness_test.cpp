#include "mesh/controlplane/instance_liveness.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace controlplane_instance_liveness_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kHour = 3'600 * kSecond;
constexpr int64_t kT0 = 1'700'000'000 * kSecond;
constexpr int64_t kTtl = 10 * kSecond;

Instance Stored(const std::string& id, int64_t heartbeat_ns, int64_t ttl_ns = kTtl) {
  Instance i;
  i.id = id;
  i.service = "api";
  i.host = "127.0.0.1";
  i.port = 8080;
  i.registered_ns = heartbeat_ns;
  i.heartbeat_ns = heartbeat_ns;
  i.ttl_ns = ttl_ns;
  return i;
}

std::vector<bool> Health(const InstanceLiveness& liveness, const std::vector<Instance>& instances) {
  const InstanceLiveness::Judged judged = liveness.Judge(instances);
  std::vector<bool> out;
  for (size_t i = 0; i < instances.size(); ++i) out.push_back(judged.Healthy(i));
  return out;
}

std::vector<bool> Expiry(const InstanceLiveness& liveness, const std::vector<Instance>& instances) {
  const InstanceLiveness::Judged judged = liveness.Judge(instances);
  std::vector<bool> out;
  for (size_t i = 0; i < instances.size(); ++i) out.push_back(judged.Expired(i));
  return out;
}

// The registry's rules: healthy within one TTL of the last heartbeat, forgotten after three.
TEST(InstanceLiveness, HealthyWithinOneTtlAndExpiredAfterThree) {
  testing::FakeClock clock(kT0);
  InstanceLiveness liveness(clock);
  for (const char* id : {"fresh", "edge", "late", "gone"}) liveness.Heard(id);
  const std::vector<Instance> instances = {Stored("fresh", kT0), Stored("edge", kT0), Stored("late", kT0),
                                           Stored("gone", kT0), Stored("patient", kT0, 60 * kSecond)};
  liveness.Heard("patient");
  clock.Advance(kTtl);
  EXPECT_EQ(Health(liveness, instances), (std::vector<bool>{true, true, true, true, true}));
  clock.Advance(1);
  EXPECT_EQ(Health(liveness, instances), (std::vector<bool>{false, false, false, false, true}));
  liveness.Heard("fresh");
  EXPECT_TRUE(Health(liveness, instances)[0]);
  clock.Advance(2 * kTtl - 1);  // 3 TTLs since the others' heartbeat
  EXPECT_EQ(Expiry(liveness, instances), (std::vector<bool>{false, false, false, false, false}));
  clock.Advance(1);
  EXPECT_EQ(Expiry(liveness, instances), (std::vector<bool>{false, true, true, true, false}));
}

// The point of the monotonic clock: NTP or an operator stepping the wall clock by an hour, either
// way, is no time passing for health or sweeping.
TEST(InstanceLiveness, AWallClockStepOfAnHourMakesNoInstanceUnhealthyNorSweepsIt) {
  for (const int64_t step : {kHour, -kHour}) {
    testing::FakeClock clock(kT0);
    InstanceLiveness liveness(clock);
    clock.Advance(2 * kTtl);  // past the start grace
    liveness.Heard("a");
    liveness.Heard("b");
    const std::vector<Instance> instances = {Stored("a", clock.NowNs()), Stored("b", clock.NowNs())};
    clock.Advance(kSecond);
    clock.StepWall(step);
    EXPECT_EQ(Health(liveness, instances), (std::vector<bool>{true, true})) << step;
    EXPECT_EQ(Expiry(liveness, instances), (std::vector<bool>{false, false})) << step;
    // Time passing still counts: b stops heartbeating, a does not.
    clock.Advance(kTtl);
    liveness.Heard("a");
    EXPECT_EQ(Health(liveness, instances), (std::vector<bool>{true, false})) << step;
  }
}

TEST(InstanceLiveness, AfterARestartInstancesGetOneTtlToHeartbeatBeforeBeingJudged) {
  // Every stored heartbeat is 40 s old when meshd comes back: the outage, not the instances,
  // says so. meshd's start counts as their heartbeat, dated on the monotonic clock.
  testing::FakeClock clock(kT0 + 40 * kSecond);
  InstanceLiveness liveness(clock);
  const std::vector<Instance> instances = {Stored("a1", kT0), Stored("a2", kT0)};
  clock.Advance(kSecond);
  EXPECT_EQ(Health(liveness, instances), (std::vector<bool>{true, true}));
  EXPECT_EQ(Expiry(liveness, instances), (std::vector<bool>{false, false}));
  // A wall step during the grace does not end it.
  clock.StepWall(kHour);
  EXPECT_EQ(Health(liveness, instances), (std::vector<bool>{true, true}));
  // a1 heartbeats again; a2 really died during the outage: one TTL after the start it is
  // unhealthy, three TTLs after it is swept.
  clock.Advance(4 * kSecond);
  liveness.Heard("a1");
  clock.Advance(kTtl - 5 * kSecond + 1);
  EXPECT_EQ(Health(liveness, instances), (std::vector<bool>{true, false}));
  clock.Advance(2 * kTtl);
  EXPECT_EQ(Expiry(liveness, instances), (std::vector<bool>{false, true}));
}

TEST(InstanceLiveness, AForgottenInstanceIsJudgedByItsStoredHeartbeat) {
  testing::FakeClock clock(kT0);
  InstanceLiveness liveness(clock);
  clock.Advance(5 * kTtl);
  liveness.Heard("a");
  liveness.Forget("a");
  // Its row says it was last heard at the start: long ago.
  EXPECT_EQ(Health(liveness, {Stored("a", kT0)}), (std::vector<bool>{false}));
  EXPECT_EQ(Expiry(liveness, {Stored("a", kT0)}), (std::vector<bool>{true}));
}

}  // namespace
}  // namespace mesh

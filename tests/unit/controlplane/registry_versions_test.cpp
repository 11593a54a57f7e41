#include "mesh/controlplane/registry_versions.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace controlplane_registry_versions_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSecond;
constexpr int64_t kTtl = 10 * kSecond;

Instance Api(int port, int64_t heartbeat_ns = kT0) {
  Instance i;
  i.service = "api";
  i.host = "127.0.0.1";
  i.port = port;
  i.id = "api@127.0.0.1:" + std::to_string(port);
  i.registered_ns = i.heartbeat_ns = heartbeat_ns;
  i.ttl_ns = kTtl;
  return i;
}

class RegistryVersionsTest : public ::testing::Test {
 protected:
  ::mesh::testing::FakeClock clock_{kT0};
  RegistryVersions versions_{clock_, 42};
};

TEST_F(RegistryVersionsTest, AnUnknownServiceIsVersionZero) {
  EXPECT_EQ(versions_.Version("api"), 0);
  EXPECT_EQ(versions_.ETagOf(0), "W/\"42-0\"");
}

TEST_F(RegistryVersionsTest, RegistrationAndRemovalChangeTheVersion) {
  versions_.Registered(Api(1));
  const int64_t one = versions_.Version("api");
  EXPECT_GT(one, 0);
  versions_.Registered(Api(2));
  const int64_t two = versions_.Version("api");
  EXPECT_GT(two, one);
  versions_.Removed(Api(1).id);
  const int64_t back_to_one = versions_.Version("api");
  EXPECT_GT(back_to_one, two) << "a version is never handed out twice";
  versions_.Removed(Api(2).id);
  EXPECT_EQ(versions_.Version("api"), 0) << "no instance: the same state as never seen";
}

TEST_F(RegistryVersionsTest, HeartbeatsOfAHealthyInstanceChangeNothing) {
  versions_.Registered(Api(1));
  const int64_t before = versions_.Version("api");
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(5 * kSecond);
    versions_.Heard(Api(1).id);
    EXPECT_EQ(versions_.Version("api"), before) << "heartbeat " << i;
  }
}

TEST_F(RegistryVersionsTest, RegisteringTheSameInstanceAgainChangesNothingButNewMetaOrAnEjectedOneDoes) {
  versions_.Registered(Api(1));
  const int64_t first = versions_.Version("api");
  versions_.Registered(Api(1));  // a retry after a client's time-out
  EXPECT_EQ(versions_.Version("api"), first) << "a retry woke every watcher of the service";
  Instance mtls = Api(1);
  mtls.meta = "{\"mtls\":true}";
  versions_.Registered(mtls);
  const int64_t with_meta = versions_.Version("api");
  EXPECT_GT(with_meta, first) << "new meta (a sidecar routes by mtls) must be a change";
  clock_.Advance(kTtl + 1);
  const int64_t ejected = versions_.Version("api");
  EXPECT_GT(ejected, with_meta);
  versions_.Registered(mtls);
  EXPECT_GT(versions_.Version("api"), ejected) << "an ejected instance registering again is a return";
}

TEST_F(RegistryVersionsTest, AnInstancePastItsTtlIsAChangeAndSoIsItsReturn) {
  versions_.Registered(Api(1));
  const int64_t healthy = versions_.Version("api");
  clock_.Advance(kTtl);
  EXPECT_EQ(versions_.Version("api"), healthy) << "still within its TTL (IsHealthy: age <= ttl)";
  clock_.Advance(1);
  const int64_t ejected = versions_.Version("api");
  EXPECT_GT(ejected, healthy);
  EXPECT_EQ(versions_.Version("api"), ejected) << "marked once";
  versions_.Heard(Api(1).id);
  EXPECT_GT(versions_.Version("api"), ejected);
}

TEST_F(RegistryVersionsTest, OneServicesChangeLeavesAnothersVersion) {
  versions_.Registered(Api(1));
  Instance other = Api(1);
  other.service = "web";
  other.id = "web@127.0.0.1:1";
  versions_.Registered(other);
  const int64_t api = versions_.Version("api");
  versions_.Registered(Api(2));
  versions_.Removed(other.id);
  versions_.Registered(other);
  EXPECT_GT(versions_.Version("api"), api);
  const int64_t api_now = versions_.Version("api");
  versions_.Removed(other.id);
  EXPECT_EQ(versions_.Version("api"), api_now);
}

TEST_F(RegistryVersionsTest, UnknownIdsAreIgnored) {
  versions_.Heard("nobody@1.2.3.4:5");
  versions_.Removed("nobody@1.2.3.4:5");
  EXPECT_EQ(versions_.Version("nobody"), 0);
}

TEST_F(RegistryVersionsTest, SeededInstancesAreJudgedFromTheirStoredHeartbeatOrTheStart) {
  InstanceLiveness liveness(clock_);  // meshd starts now
  // One heard 8 s before a start, one 60 s before: the start counts as a heartbeat of both.
  const InstanceLiveness::Judged judged = liveness.Judge({Api(1, kT0 - 8 * kSecond), Api(2, kT0 + 5 * kSecond)});
  versions_.Seed(judged);
  const int64_t seeded = versions_.Version("api");
  EXPECT_GT(seeded, 0);
  clock_.Advance(kTtl);
  EXPECT_EQ(versions_.Version("api"), seeded) << "the start's grace: one TTL";
  clock_.Advance(1);
  const int64_t first_out = versions_.Version("api");
  EXPECT_GT(first_out, seeded) << "api:1 silent since the start, one TTL";
  clock_.Advance(5 * kSecond);
  EXPECT_GT(versions_.Version("api"), first_out) << "api:2 heard 5 s after the start (a wall time ahead)";
}

}  // namespace controlplane_registry_versions_test
}  // namespace mesh

#include "mesh/proxy/policy_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "identity_server.h"
#include "test_support.h"

namespace mesh {
namespace proxy_policy_watcher_test {

constexpr int64_t kNow = 1'760'000'000LL * 1'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

void WritePolicy(const std::string& path, const std::string& json, int64_t mtime_s) {
  std::ofstream(path) << json;
  struct timespec times[2] = {{0, UTIME_OMIT}, {mtime_s, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

TEST(PolicyWatcher, NoPolicyOnMeshdMeansNone) {
  testing::FakeClock clock(kNow);
  testing::IdentityServer meshd(clock, {});
  PolicyWatcher watcher({meshd.url(), "", ""});
  watcher.Start();
  EXPECT_EQ(watcher.Current(), nullptr);
  EXPECT_EQ(watcher.version(), "none");
}

TEST(PolicyWatcher, FetchesThePolicyAndFollowsItsChanges) {
  testing::FakeClock clock(kNow);
  testing::TempDir dir;
  const std::string path = dir.path() + "/policy.json";
  WritePolicy(path, R"({"allow":[{"from":"frontend","to":"orders"}]})", 1000);
  testing::IdentityServer meshd(clock, {.policy_path = path});
  PolicyWatcher watcher({meshd.url(), "", ""});
  watcher.Start();
  ASSERT_NE(watcher.Current(), nullptr);
  EXPECT_TRUE(watcher.Current()->Check("frontend", "orders", "GET", "/").allowed);
  EXPECT_FALSE(watcher.Current()->Check("batch", "orders", "GET", "/").allowed);

  WritePolicy(path, R"({"allow":[{"from":"batch","to":"orders"}]})", 2000);
  clock.Advance(2 * kSecond);
  ASSERT_TRUE(watcher.Refresh().ok());
  EXPECT_TRUE(watcher.Current()->Check("batch", "orders", "GET", "/").allowed);
  EXPECT_FALSE(watcher.Current()->Check("frontend", "orders", "GET", "/").allowed);
}

TEST(PolicyWatcher, KeepsThePolicyThroughAnOutageAndARestartDuringIt) {
  testing::FakeClock clock(kNow);
  testing::TempDir dir;
  const std::string path = dir.path() + "/policy.json";
  WritePolicy(path, R"({"allow":[{"from":"frontend","to":"orders"}]})", 1000);
  testing::IdentityServer meshd(clock, {.policy_path = path});
  const std::string cache = dir.path() + "/proxy";
  ASSERT_EQ(mkdir(cache.c_str(), 0700), 0);
  {
    PolicyWatcher watcher({meshd.url(), "", cache});
    watcher.Start();
    ASSERT_NE(watcher.Current(), nullptr);
    meshd.Stop();
    EXPECT_FALSE(watcher.Refresh().ok());
    ASSERT_NE(watcher.Current(), nullptr);  // the outage changes nothing
  }
  PolicyWatcher restarted({meshd.url(), "", cache});
  restarted.Start();
  ASSERT_NE(restarted.Current(), nullptr);
  EXPECT_FALSE(restarted.Current()->Check("batch", "orders", "GET", "/").allowed);
}

}  // namespace
}  // namespace mesh

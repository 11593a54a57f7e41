#include "mesh/base/open_file_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

namespace mesh {
namespace base_open_file_limit_test {

TEST(OpenFileLimit, RaiseLeavesTheSoftLimitAtTheHardOneAndReportsIt) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  // Lower the soft limit first (always allowed), so that there is something to raise.
  rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 256);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const uint64_t raised = RaiseOpenFileLimit();
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  EXPECT_EQ(raised, static_cast<uint64_t>(after.rlim_cur));
  EXPECT_EQ(after.rlim_max, before.rlim_max) << "the hard limit must be left alone";
}

TEST(OpenFileLimit, ConnectionsKeepTheReserveAndNeverDropBelowOne) {
  EXPECT_EQ(ConnectionsWithin(20000, 256), 19744u);
  EXPECT_EQ(ConnectionsWithin(1024, 256), 768u);
  EXPECT_EQ(ConnectionsWithin(256, 256), 1u);
  EXPECT_EQ(ConnectionsWithin(100, 256), 1u);
  EXPECT_EQ(ConnectionsWithin(0, 256), 1u);
}

}  // namespace
}  // namespace mesh

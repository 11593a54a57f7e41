#include "mesh/base/process_signals.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace mesh {
namespace base_process_signals_test {

TEST(ProcessSignals, SighupAsksForOneReloadInsteadOfEndingTheProcess) {
  InstallReloadHandler();
  EXPECT_FALSE(TakeReloadRequest());
  ASSERT_EQ(raise(SIGHUP), 0);  // with the default action this test process would end here
  ASSERT_EQ(raise(SIGHUP), 0);
  EXPECT_TRUE(TakeReloadRequest());
  EXPECT_FALSE(TakeReloadRequest()) << "two SIGHUPs before one look are one reload";
  EXPECT_FALSE(StopRequested()) << "a reload is not a stop";
}

TEST(ProcessSignals, BrokenPipeDoesNotEndADaemon) {
  InstallReloadHandler();
  ASSERT_EQ(raise(SIGPIPE), 0);
  EXPECT_FALSE(StopRequested());
}

}  // namespace
}  // namespace mesh

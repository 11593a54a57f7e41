#include "mesh/base/busy_time.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace base_busy_time_test {

using mesh::testing::FakeClock;

TEST(BusyTime, IsZeroBeforeAnyWork) {
  FakeClock clock(7'000'000'000);
  BusyTime busy(clock);
  clock.Advance(5'000'000'000);
  EXPECT_EQ(busy.TotalNs(), 0);
}

TEST(BusyTime, CountsTheTimeInsideEndedScopesOnly) {
  FakeClock clock;
  BusyTime busy(clock);
  {
    BusyTime::Scope scope(busy);
    clock.Advance(300);
  }
  clock.Advance(1000);  // idle: not counted
  {
    BusyTime::Scope scope(busy);
    clock.Advance(200);
  }
  EXPECT_EQ(busy.TotalNs(), 500);
}

TEST(BusyTime, CountsAnOpenScopeUpToNowSoALongHandlerShowsWhileItRuns) {
  FakeClock clock;
  BusyTime busy(clock);
  auto scope = std::make_unique<BusyTime::Scope>(busy);
  clock.Advance(1'000);
  EXPECT_EQ(busy.TotalNs(), 1'000);
  clock.Advance(2'000);
  EXPECT_EQ(busy.TotalNs(), 3'000);
  scope.reset();
  clock.Advance(9'000);
  EXPECT_EQ(busy.TotalNs(), 3'000);  // no step when it ends, nothing after
}

TEST(BusyTime, SumsWorkersBusyAtOnce) {
  // Two workers busy for the same second: two busy seconds, utilisation 1 of a pool of 2.
  FakeClock clock;
  BusyTime busy(clock);
  auto first = std::make_unique<BusyTime::Scope>(busy);
  clock.Advance(400'000'000);
  auto second = std::make_unique<BusyTime::Scope>(busy);
  clock.Advance(600'000'000);
  EXPECT_EQ(busy.TotalNs(), 1'600'000'000);
  first.reset();
  clock.Advance(400'000'000);
  second.reset();
  EXPECT_EQ(busy.TotalNs(), 2'000'000'000);
}

TEST(BusyTime, NeverDecreasesAsScopesOpenAndEnd) {
  FakeClock clock(INT64_C(4'000'000'000'000'000'000));  // far from zero: sums stay relative to the origin
  BusyTime busy(clock);
  std::vector<std::unique_ptr<BusyTime::Scope>> open;
  int64_t last = 0;
  for (int step = 0; step < 200; ++step) {
    if (step % 3 != 2) {
      open.push_back(std::make_unique<BusyTime::Scope>(busy));
    } else {
      open.erase(open.begin());
    }
    clock.Advance(1'000'000'000);
    const int64_t now = busy.TotalNs();
    EXPECT_GE(now, last);
    last = now;
  }
}

}  // namespace base_busy_time_test
}  // namespace mesh

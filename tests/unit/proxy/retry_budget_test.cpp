#include "mesh/proxy/retry_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace proxy_retry_budget_test {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kStart = 1'700'000'000 * kSec;  // on a second boundary: the window's tenths

int Retries(RetryBudget& budget, int max = 10'000) {
  int granted = 0;
  while (granted < max && budget.TryRetry()) ++granted;
  return granted;
}

void Requests(RetryBudget& budget, int n) {
  for (int i = 0; i < n; ++i) budget.RecordRequest();
}

TEST(RetryBudget, HundredRequestsAllowTwentyRetriesPlusTheMinimum) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock);
  Requests(budget, 100);
  EXPECT_EQ(Retries(budget), 20 + 10 * 10);  // 0.2 x 100, plus 10/s over the 10 s window
}

TEST(RetryBudget, RatioAloneAllowsTwentyPercent) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock, {.ratio = 0.2, .min_retries_per_second = 0});
  Requests(budget, 100);
  EXPECT_EQ(Retries(budget), 20);
  Requests(budget, 5);
  EXPECT_EQ(Retries(budget), 1);
}

TEST(RetryBudget, WithoutRequestsTheMinimumStillAllowsRetries) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock, {.min_retries_per_second = 10, .window = seconds(1)});
  EXPECT_EQ(Retries(budget), 10);
}

TEST(RetryBudget, SpentRetriesComeBackAsTheWindowSlides) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock);
  EXPECT_EQ(Retries(budget), 100);
  clock.Advance(5 * kSec);
  EXPECT_EQ(Retries(budget), 0);
  clock.Advance(5 * kSec - 1);
  EXPECT_EQ(Retries(budget), 0);
  clock.Advance(1);  // the tenth holding the spent retries has left the window
  EXPECT_EQ(Retries(budget), 100);
}

TEST(RetryBudget, OldRequestsStopEarningRetries) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock, {.min_retries_per_second = 0});
  Requests(budget, 100);
  clock.Advance(10 * kSec);
  EXPECT_EQ(Retries(budget), 0);
  Requests(budget, 10);
  EXPECT_EQ(Retries(budget), 2);
}

TEST(RetryBudget, WindowSlidesInTenths) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock, {.min_retries_per_second = 0});
  Requests(budget, 50);  // second 0
  clock.Advance(5 * kSec);
  Requests(budget, 50);  // second 5
  EXPECT_EQ(Retries(budget), 20);
  clock.Advance(5 * kSec);  // second 0 has left; the 50 of second 5 earned 10, all spent
  EXPECT_EQ(Retries(budget), 0);
  clock.Advance(5 * kSec);
  Requests(budget, 50);
  EXPECT_EQ(Retries(budget), 10);
}

TEST(RetryBudget, ClockSteppingBackDoesNotCrashOrGrantExtra) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock, {.min_retries_per_second = 0});
  Requests(budget, 50);
  EXPECT_EQ(Retries(budget), 10);
  clock.Set(kStart - 3 * kSec);
  EXPECT_EQ(Retries(budget), 0);
  clock.Set(-25 * kSec);  // before 1970
  Requests(budget, 10);
  EXPECT_EQ(Retries(budget), 2);
}

TEST(RetryBudget, BadOptionsAreClamped) {
  testing::FakeClock clock(kStart);
  RetryBudget negative(clock, {.ratio = -1, .min_retries_per_second = -5, .window = seconds(-1)});
  Requests(negative, 100);
  EXPECT_EQ(Retries(negative), 0);
  RetryBudget nan(clock, {.ratio = std::numeric_limits<double>::quiet_NaN(),
                          .min_retries_per_second = 0,
                          .window = std::chrono::nanoseconds(0)});
  Requests(nan, 100);
  EXPECT_EQ(Retries(nan), 0);
}

TEST(RetryBudget, ConcurrentRetriesNeverExceedTheBudget) {
  testing::FakeClock clock(kStart);
  RetryBudget budget(clock, {.min_retries_per_second = 0});
  Requests(budget, 1'000);
  std::atomic<int> granted = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) granted += budget.TryRetry() ? 1 : 0;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(granted.load(), 200);
}

TEST(JitteredBackoff, StaysWithinZeroAndTheExponentialCeiling) {
  std::mt19937_64 random(1);
  for (int attempt = 0; attempt < 12; ++attempt) {
    const int64_t ceiling = std::min<int64_t>(250, 25LL << attempt);
    int64_t max_seen = 0;
    for (int i = 0; i < 2'000; ++i) {
      const milliseconds wait = JitteredBackoff(attempt, random);
      ASSERT_GE(wait.count(), 0) << attempt;
      ASSERT_LE(wait.count(), ceiling) << attempt;
      max_seen = std::max(max_seen, wait.count());
    }
    EXPECT_GT(max_seen, ceiling * 9 / 10) << attempt;  // full jitter reaches the ceiling
  }
}

TEST(JitteredBackoff, GrowsWithTheAttempt) {
  std::mt19937_64 random(2);
  auto mean = [&](int attempt) {
    double sum = 0;
    for (int i = 0; i < 4'000; ++i) {
      sum += static_cast<double>(JitteredBackoff(attempt, random).count());
    }
    return sum / 4'000;
  };
  const double first = mean(0);
  const double second = mean(1);
  const double third = mean(2);
  EXPECT_NEAR(first, 12.5, 1.5);
  EXPECT_NEAR(second, 25, 2);
  EXPECT_GT(third, second);
  EXPECT_NEAR(mean(30), 125, 8);  // capped at 250 ms
}

TEST(JitteredBackoff, HonoursCustomBaseAndCap) {
  std::mt19937_64 random(3);
  for (int i = 0; i < 1'000; ++i) {
    EXPECT_LE(JitteredBackoff(3, random, milliseconds(100), seconds(1)).count(), 800);
    EXPECT_LE(JitteredBackoff(10, random, milliseconds(100), seconds(1)).count(), 1'000);
  }
}

TEST(JitteredBackoff, BadInputGivesASaneWait) {
  std::mt19937_64 random(4);
  for (int i = 0; i < 1'000; ++i) {
    const int64_t negative_attempt = JitteredBackoff(-7, random).count();
    EXPECT_GE(negative_attempt, 0);
    EXPECT_LE(negative_attempt, 25);
    EXPECT_LE(JitteredBackoff(std::numeric_limits<int>::max(), random).count(), 250);
    EXPECT_LE(JitteredBackoff(5, random, milliseconds::max(), milliseconds::max()).count(),
              milliseconds::max().count());
  }
  EXPECT_EQ(JitteredBackoff(3, random, milliseconds(-5)).count(), 0);
  EXPECT_EQ(JitteredBackoff(3, random, milliseconds(25), milliseconds(-1)).count(), 0);
  EXPECT_EQ(JitteredBackoff(3, random, milliseconds(0)).count(), 0);
  EXPECT_LE(JitteredBackoff(0, random, milliseconds(500), milliseconds(100)).count(), 100);
}

// A step of the wall clock is not time passing: it neither empties the window (+1 h would have
// forgotten the spent retries and the requests) nor strands it in a tenth to come (-1 h).
TEST(RetryBudget, AWallClockStepChangesNothing) {
  for (const int64_t step : {3'600 * kSec, -3'600 * kSec}) {
    testing::FakeClock clock(kStart);
    RetryBudget budget(clock, {.ratio = 0.2, .min_retries_per_second = 0});
    Requests(budget, 100);
    EXPECT_EQ(Retries(budget, 5), 5);
    clock.StepWall(step);
    EXPECT_EQ(Retries(budget), 15) << step;  // 20 earned, 5 spent: the same window
    clock.Advance(10 * kSec);  // the window's real length: requests and retries forgotten
    EXPECT_EQ(Retries(budget), 0) << step;
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/proxy/outlier_detector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace proxy_outlier_detector_test {

using std::chrono::seconds;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000 * kMs;
constexpr int64_t kStart = 1'700'000'000 * kSec;

Endpoint Ep(const std::string& host) { return {host, 8080, "id-" + host}; }

void Fail(OutlierDetector& detector, const Endpoint& endpoint, int times) {
  for (int i = 0; i < times; ++i) detector.Record(endpoint, true);
}

class OutlierDetectorTest : public ::testing::Test {
 protected:
  OutlierDetectorTest() { detector_.SetEndpoints({Ep("a"), Ep("b"), Ep("c"), Ep("d")}); }

  // Ejects `endpoint` (from healthy) with the default five failures.
  void Eject(const Endpoint& endpoint) {
    const int64_t before = detector_.ejections_total();
    Fail(detector_, endpoint, 5);
    ASSERT_EQ(detector_.ejections_total(), before + 1);
  }

  // Lets the ejection time pass and sends the half-open probe, which fails or succeeds.
  void Probe(const Endpoint& endpoint, int64_t wait_ns, bool failure) {
    clock_.Advance(wait_ns);
    ASSERT_TRUE(detector_.Allow(endpoint));
    detector_.Record(endpoint, failure);
  }

  // How long `endpoint` stays ejected from now, to the second.
  int64_t SecondsUntilHalfOpen(const Endpoint& endpoint) {
    int64_t waited = 0;
    while (detector_.IsEjected(endpoint) && waited < 3'600) {
      clock_.Advance(kSec);
      ++waited;
    }
    return waited;
  }

  testing::FakeClock clock_{kStart};
  OutlierDetector detector_{clock_};
};

TEST_F(OutlierDetectorTest, FiveConsecutiveFailuresEject) {
  Fail(detector_, Ep("a"), 4);
  EXPECT_FALSE(detector_.IsEjected(Ep("a")));
  EXPECT_TRUE(detector_.Allow(Ep("a")));
  detector_.Record(Ep("a"), true);
  EXPECT_TRUE(detector_.IsEjected(Ep("a")));
  EXPECT_FALSE(detector_.Allow(Ep("a")));
  EXPECT_EQ(detector_.ejections_total(), 1);
  EXPECT_TRUE(detector_.Allow(Ep("b")));
}

TEST_F(OutlierDetectorTest, SuccessResetsTheConsecutiveCount) {
  Fail(detector_, Ep("a"), 4);
  detector_.Record(Ep("a"), false);
  Fail(detector_, Ep("a"), 4);
  EXPECT_FALSE(detector_.IsEjected(Ep("a")));
  EXPECT_EQ(detector_.ejections_total(), 0);
}

TEST_F(OutlierDetectorTest, EjectedForTheBaseTimeThenHalfOpenWithExactlyOneProbe) {
  Eject(Ep("a"));
  clock_.Advance(30 * kSec - 1);
  EXPECT_FALSE(detector_.Allow(Ep("a")));
  clock_.Advance(1);
  EXPECT_FALSE(detector_.IsEjected(Ep("a")));
  EXPECT_TRUE(detector_.Allow(Ep("a")));   // the probe
  EXPECT_FALSE(detector_.Allow(Ep("a")));  // no second request while it is out
  EXPECT_TRUE(detector_.IsEjected(Ep("a")));
}

TEST_F(OutlierDetectorTest, SuccessfulProbeMakesTheEndpointHealthy) {
  Eject(Ep("a"));
  Probe(Ep("a"), 30 * kSec, false);
  EXPECT_FALSE(detector_.IsEjected(Ep("a")));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(detector_.Allow(Ep("a")));
  Fail(detector_, Ep("a"), 4);  // the count restarted from zero
  EXPECT_FALSE(detector_.IsEjected(Ep("a")));
  detector_.Record(Ep("a"), true);
  EXPECT_TRUE(detector_.IsEjected(Ep("a")));
}

TEST_F(OutlierDetectorTest, FailedProbeEjectsAgainForTwiceAsLong) {
  Eject(Ep("a"));
  Probe(Ep("a"), 30 * kSec, true);
  EXPECT_TRUE(detector_.IsEjected(Ep("a")));
  EXPECT_EQ(detector_.ejections_total(), 2);
  EXPECT_EQ(SecondsUntilHalfOpen(Ep("a")), 60);
}

TEST_F(OutlierDetectorTest, EjectionTimeDoublesUpToTheCap) {
  Eject(Ep("a"));
  std::vector<int64_t> durations = {SecondsUntilHalfOpen(Ep("a"))};
  for (int i = 0; i < 5; ++i) {
    Probe(Ep("a"), 0, true);
    durations.push_back(SecondsUntilHalfOpen(Ep("a")));
  }
  EXPECT_EQ(durations, (std::vector<int64_t>{30, 60, 120, 240, 300, 300}));
}

TEST_F(OutlierDetectorTest, DoublingStepsBackAfterHealthyPeriods) {
  Eject(Ep("a"));
  Probe(Ep("a"), 30 * kSec, true);  // second ejection: 60 s
  Probe(Ep("a"), 60 * kSec, false);
  clock_.Advance(61 * kSec);  // one backoff_decay period healthy: back one step
  Eject(Ep("a"));
  EXPECT_EQ(SecondsUntilHalfOpen(Ep("a")), 60);
  Probe(Ep("a"), 0, false);
  clock_.Advance(10 * 60 * kSec);  // long healthy: back to the base time
  Eject(Ep("a"));
  EXPECT_EQ(SecondsUntilHalfOpen(Ep("a")), 30);
}

TEST_F(OutlierDetectorTest, QuickRelapseKeepsDoubling) {
  Eject(Ep("a"));
  Probe(Ep("a"), 30 * kSec, false);
  clock_.Advance(5 * kSec);
  Eject(Ep("a"));
  EXPECT_EQ(SecondsUntilHalfOpen(Ep("a")), 60);
}

TEST_F(OutlierDetectorTest, LostProbeIsReplacedAfterTheProbeTimeout) {
  Eject(Ep("a"));
  clock_.Advance(30 * kSec);
  ASSERT_TRUE(detector_.Allow(Ep("a")));
  clock_.Advance(29 * kSec);
  EXPECT_FALSE(detector_.Allow(Ep("a")));
  clock_.Advance(1 * kSec);
  EXPECT_TRUE(detector_.Allow(Ep("a")));
}

TEST_F(OutlierDetectorTest, LateAnswersDoNotEndAnEjection) {
  Eject(Ep("a"));
  detector_.Record(Ep("a"), false);  // a request sent before the ejection
  EXPECT_TRUE(detector_.IsEjected(Ep("a")));
  clock_.Advance(30 * kSec);
  detector_.Record(Ep("a"), false);  // half-open, but no probe was allowed
  EXPECT_TRUE(detector_.Allow(Ep("a")));
  EXPECT_FALSE(detector_.Allow(Ep("a")));
}

TEST(OutlierDetector, WithTwoEndpointsOnlyOneIsEjected) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  detector.SetEndpoints({Ep("a"), Ep("b")});
  Fail(detector, Ep("a"), 5);
  Fail(detector, Ep("b"), 20);
  EXPECT_TRUE(detector.IsEjected(Ep("a")));
  EXPECT_FALSE(detector.IsEjected(Ep("b")));
  EXPECT_TRUE(detector.Allow(Ep("b")));
  EXPECT_EQ(detector.ejections_total(), 1);
}

TEST(OutlierDetector, RefusedEjectionHappensOnTheNextFailureOnceThereIsRoom) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  detector.SetEndpoints({Ep("a"), Ep("b")});
  Fail(detector, Ep("a"), 5);
  Fail(detector, Ep("b"), 5);
  clock.Advance(30 * kSec);
  ASSERT_TRUE(detector.Allow(Ep("a")));
  detector.Record(Ep("a"), false);
  detector.Record(Ep("b"), true);
  EXPECT_TRUE(detector.IsEjected(Ep("b")));
  EXPECT_FALSE(detector.IsEjected(Ep("a")));
}

TEST(OutlierDetector, WithThreeEndpointsOnlyOneIsEjected) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  detector.SetEndpoints({Ep("a"), Ep("b"), Ep("c")});
  for (const char* host : {"a", "b", "c"}) Fail(detector, Ep(host), 5);
  EXPECT_TRUE(detector.IsEjected(Ep("a")));
  EXPECT_FALSE(detector.IsEjected(Ep("b")));
  EXPECT_FALSE(detector.IsEjected(Ep("c")));
  EXPECT_EQ(detector.ejections_total(), 1);
}

TEST(OutlierDetector, HalfOpenEndpointsCountTowardTheCap) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  detector.SetEndpoints({Ep("a"), Ep("b")});
  Fail(detector, Ep("a"), 5);
  clock.Advance(30 * kSec);  // a is half-open, not yet proven healthy
  Fail(detector, Ep("b"), 5);
  EXPECT_FALSE(detector.IsEjected(Ep("b")));
}

TEST(OutlierDetector, LoneEndpointIsNeverEjected) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  detector.SetEndpoints({Ep("a")});
  Fail(detector, Ep("a"), 100);
  EXPECT_TRUE(detector.Allow(Ep("a")));
  EXPECT_EQ(detector.ejections_total(), 0);
}

TEST(OutlierDetector, UnknownEndpointsAreAllowedAndNotTracked) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  Fail(detector, Ep("a"), 10);  // no endpoints at all
  EXPECT_TRUE(detector.Allow(Ep("a")));
  EXPECT_FALSE(detector.IsEjected(Ep("a")));
  detector.SetEndpoints({Ep("b"), Ep("c")});
  Fail(detector, Ep("a"), 10);
  EXPECT_TRUE(detector.Allow(Ep("a")));
  EXPECT_EQ(detector.ejections_total(), 0);
}

TEST(OutlierDetector, SetEndpointsKeepsTheStateOfRemainingEndpoints) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  detector.SetEndpoints({Ep("a"), Ep("b")});
  Fail(detector, Ep("a"), 5);
  Fail(detector, Ep("b"), 3);
  detector.SetEndpoints({Ep("a"), Ep("b"), Ep("b"), Ep("c")});
  EXPECT_TRUE(detector.IsEjected(Ep("a")));
  Fail(detector, Ep("b"), 2);  // 3 + 2 consecutive failures, but the cap (1 of 3) is reached
  EXPECT_FALSE(detector.IsEjected(Ep("b")));
  detector.SetEndpoints({});
  EXPECT_TRUE(detector.Allow(Ep("a")));
  detector.SetEndpoints({Ep("a"), Ep("b")});  // back, but forgotten: healthy
  EXPECT_FALSE(detector.IsEjected(Ep("a")));
}

TEST(OutlierDetector, BadOptionsAreClamped) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock, {.consecutive_failures = -3,
                                   .base_ejection = seconds(-5),
                                   .max_ejection = seconds(-1),
                                   .backoff_decay = seconds(0),
                                   .probe_timeout = seconds(-1),
                                   .max_ejection_percent = 900});
  detector.SetEndpoints({Ep("a")});
  detector.Record(Ep("a"), true);  // one failure ejects; 100% may be ejected
  EXPECT_EQ(detector.ejections_total(), 1);
  EXPECT_TRUE(detector.Allow(Ep("a")));  // zero ejection time: half-open at once
  detector.Record(Ep("a"), false);
  EXPECT_FALSE(detector.IsEjected(Ep("a")));
}

TEST(OutlierDetector, ConcurrentUseNeverEjectsMoreThanHalf) {
  testing::FakeClock clock(kStart);
  OutlierDetector detector(clock);
  const std::vector<Endpoint> endpoints = {Ep("a"), Ep("b"), Ep("c"), Ep("d")};
  detector.SetEndpoints(endpoints);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5'000; ++i) {
        const Endpoint& e = endpoints[(t + i) % endpoints.size()];
        if (detector.Allow(e)) detector.Record(e, true);
        clock.Advance(kSec);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int ejected = 0;
  for (const Endpoint& e : endpoints) ejected += detector.IsEjected(e) ? 1 : 0;
  EXPECT_LE(ejected, 2);
  EXPECT_GT(detector.ejections_total(), 0);
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace proxy_outlier_detector_test {

constexpr int64_t kHour = 3'600 * kSec;

// A step of the wall clock (NTP, an operator, a VM resumed) is not time passing: an ejection
// neither ends early (+1 h) nor lasts an hour longer (-1 h), and healthy endpoints stay in.
TEST_F(OutlierDetectorTest, AWallClockStepNeitherEndsNorProlongsAnEjection) {
  for (const int64_t step : {kHour, -kHour}) {
    OutlierDetector detector(clock_);
    detector.SetEndpoints({Ep("a"), Ep("b"), Ep("c"), Ep("d")});
    Fail(detector, Ep("a"), 5);
    ASSERT_TRUE(detector.IsEjected(Ep("a")));
    clock_.StepWall(step);
    EXPECT_TRUE(detector.IsEjected(Ep("a"))) << step;
    EXPECT_FALSE(detector.IsEjected(Ep("b"))) << step;
    EXPECT_TRUE(detector.Allow(Ep("b"))) << step;
    clock_.Advance(29 * kSec);
    EXPECT_TRUE(detector.IsEjected(Ep("a"))) << step;
    clock_.Advance(1 * kSec);  // the 30 s base ejection, on the monotonic clock
    EXPECT_FALSE(detector.IsEjected(Ep("a"))) << step;
    EXPECT_EQ(detector.ejections_total(), 1) << step;
  }
}

}  // namespace
}  // namespace mesh

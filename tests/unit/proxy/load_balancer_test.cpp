#include "mesh/proxy/load_balancer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace proxy_load_balancer_test {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kStart = 1'700'000'000'000'000'000;

Endpoint Ep(const std::string& host) { return {host, 8080, "id-" + host}; }

LoadBalancer MakeBalancer(const Clock& clock, uint64_t seed = 42) {
  return LoadBalancer(clock, LoadBalancer::Options{}, seed);
}

// Requests arrive every `step`; each goes where the balancer says, and finishes after the
// latency (and with the outcome) of that endpoint, on the fake clock.
class Simulation {
 public:
  struct Behaviour {
    int64_t latency_ns;
    bool fails = false;
  };

  explicit Simulation(std::map<std::string, Behaviour> behaviours)
      : behaviours_(std::move(behaviours)) {
    std::vector<Endpoint> endpoints;
    for (const auto& [host, behaviour] : behaviours_) endpoints.push_back(Ep(host));
    lb_.SetEndpoints(endpoints);
  }

  // Adds an endpoint to the balancer's set.
  void Add(const std::string& host, Behaviour behaviour) {
    behaviours_[host] = behaviour;
    std::vector<Endpoint> endpoints;
    for (const auto& [h, b] : behaviours_) endpoints.push_back(Ep(h));
    lb_.SetEndpoints(endpoints);
  }

  // Runs `requests` requests; returns how many went to each host.
  std::map<std::string, int> Run(int requests, int64_t step_ns = kMs) {
    std::map<std::string, int> picks;
    for (int i = 0; i < requests; ++i) {
      clock_.Advance(step_ns);
      FinishDue();
      Result<Endpoint> picked = lb_.Pick();
      EXPECT_TRUE(picked.ok()) << picked.status().ToString();
      if (!picked.ok()) break;
      const Behaviour& b = behaviours_.at(picked->host);
      lb_.Started(*picked);
      in_flight_.push({clock_.NowNs() + b.latency_ns, picked->host});
      ++picks[picked->host];
    }
    return picks;
  }

 private:
  void FinishDue() {
    while (!in_flight_.empty() && std::get<0>(in_flight_.top()) <= clock_.NowNs()) {
      const std::string host = std::get<1>(in_flight_.top());
      in_flight_.pop();
      const Behaviour& b = behaviours_.at(host);
      lb_.Finished(Ep(host), b.latency_ns, b.fails);
    }
  }

  testing::FakeClock clock_{kStart};
  LoadBalancer lb_{clock_, LoadBalancer::Options{}, 7};
  std::map<std::string, Behaviour> behaviours_;
  using InFlight = std::tuple<int64_t, std::string>;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> in_flight_;
};

TEST(LoadBalancer, SlowInstanceGetsASmallShare) {
  Simulation sim({{"fast-a", {10 * kMs}}, {"fast-b", {10 * kMs}}, {"slow", {100 * kMs}}});
  std::map<std::string, int> picks = sim.Run(10'000);
  EXPECT_LT(picks["slow"], 1'000);
  EXPECT_GT(picks["fast-a"], 4'000);
  EXPECT_GT(picks["fast-b"], 4'000);
}

TEST(LoadBalancer, SlowInstanceStillGetsSomeTrafficToMeasureIt) {
  Simulation sim({{"fast-a", {10 * kMs}}, {"fast-b", {10 * kMs}}, {"slow", {100 * kMs}}});
  EXPECT_GT(sim.Run(10'000)["slow"], 0);
}

TEST(LoadBalancer, EqualEndpointsShareEvenly) {
  Simulation sim({{"a", {10 * kMs}}, {"b", {10 * kMs}}, {"c", {10 * kMs}}});
  for (const auto& [host, count] : sim.Run(9'000)) {
    EXPECT_GT(count, 2'500) << host;
    EXPECT_LT(count, 3'500) << host;
  }
}

TEST(LoadBalancer, FailingInstanceLosesTrafficEvenWhenItFailsFast) {
  Simulation sim({{"ok-a", {10 * kMs}}, {"ok-b", {10 * kMs}}, {"failing", {1 * kMs, true}}});
  EXPECT_LT(sim.Run(10'000)["failing"], 500);
}

TEST(LoadBalancer, OutstandingRequestsSteerAway) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("busy"), Ep("idle")});
  lb.Started(Ep("busy"));
  lb.Started(Ep("busy"));
  for (int i = 0; i < 100; ++i) {
    Result<Endpoint> picked = lb.Pick();
    ASSERT_TRUE(picked.ok());
    EXPECT_EQ(picked->host, "idle");
  }
  lb.Finished(Ep("busy"), 30 * kMs, false);
  lb.Finished(Ep("busy"), 30 * kMs, false);
  lb.Started(Ep("idle"));
  EXPECT_EQ(lb.Pick()->host, "busy");
}

TEST(LoadBalancer, CostIsOutstandingPlusOneTimesTheEstimate) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a")});
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 30 * kMs);  // the default for an endpoint without samples
  lb.Started(Ep("a"));
  lb.Started(Ep("a"));
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 3 * 30 * kMs);
  EXPECT_FALSE(lb.Cost(Ep("unknown")).has_value());
}

TEST(LoadBalancer, HigherLatencyReplacesTheEstimateAtOnce) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a")});
  lb.Finished(Ep("a"), 500 * kMs, false);
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 500 * kMs);
}

TEST(LoadBalancer, LowerLatencyPullsTheEstimateDownGradually) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a")});
  lb.Finished(Ep("a"), 100 * kMs, false);
  clock.Advance(1 * kMs);
  lb.Finished(Ep("a"), 10 * kMs, false);
  const double after_one = *lb.Cost(Ep("a"));
  EXPECT_GT(after_one, 99 * kMs);  // 1 ms is a tiny fraction of the 10 s time constant
  for (int i = 0; i < 100; ++i) {
    clock.Advance(1'000 * kMs);
    lb.Finished(Ep("a"), 10 * kMs, false);
  }
  EXPECT_NEAR(*lb.Cost(Ep("a")), 10 * kMs, 0.1 * kMs);
}

TEST(LoadBalancer, IdleEstimateDecaysWithTheTimeConstant) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a")});
  lb.Finished(Ep("a"), 100 * kMs, false);
  clock.Advance(10'000 * kMs);
  EXPECT_NEAR(*lb.Cost(Ep("a")), 100 * kMs * std::exp(-1.0), 1.0);
}

TEST(LoadBalancer, FailureCountsAsAtLeastThePenalty) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb(clock, {.failure_penalty = seconds(2)}, 1);
  lb.SetEndpoints({Ep("a"), Ep("b")});
  lb.Finished(Ep("a"), 1 * kMs, true);
  lb.Finished(Ep("b"), 5'000 * kMs, true);
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 2'000 * kMs);
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("b")), 5'000 * kMs);
}

TEST(LoadBalancer, NewEndpointGetsTraffic) {
  Simulation sim({{"a", {10 * kMs}}, {"b", {10 * kMs}}});
  sim.Run(2'000);
  sim.Add("c", {10 * kMs});
  EXPECT_GT(sim.Run(3'000)["c"], 700);
}

TEST(LoadBalancer, NewEndpointStartsAtTheNeutralDefault) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("old")});
  lb.Finished(Ep("old"), 50 * kMs, false);
  lb.SetEndpoints({Ep("old"), Ep("new")});
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("new")), 30 * kMs);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(lb.Pick()->host, "new");  // 30 ms beats 50 ms
}

TEST(LoadBalancer, ANewEndpointAmongFastPeersStartsAtTheirAverageAndGetsTraffic) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a"), Ep("b")});
  // A minute of steady answers: the estimates settle at 1 and 3 ms.
  for (int i = 0; i < 60; ++i) {
    clock.Advance(1'000 * kMs);
    lb.Finished(Ep("a"), 1 * kMs, false);
    lb.Finished(Ep("b"), 3 * kMs, false);
  }
  lb.SetEndpoints({Ep("a"), Ep("b"), Ep("new")});
  EXPECT_NEAR(*lb.Cost(Ep("new")), 2 * kMs, 0.01 * kMs);
  int to_new = 0;
  for (int i = 0; i < 300; ++i) {
    Result<Endpoint> picked = lb.Pick();
    ASSERT_TRUE(picked.ok());
    if (picked->host == "new") ++to_new;
  }
  // Cheaper than b, dearer than a: it wins every pair it forms with b, a third of them.
  EXPECT_GT(to_new, 50);
}

TEST(LoadBalancer, RemainingEndpointsKeepTheirStatsAndRemovedOnesAreNeverPicked) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a"), Ep("b")});
  lb.Finished(Ep("a"), 200 * kMs, false);
  lb.Started(Ep("a"));
  lb.SetEndpoints({Ep("a"), Ep("c"), Ep("c")});
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 2 * 200 * kMs);
  EXPECT_FALSE(lb.Cost(Ep("b")).has_value());
  for (int i = 0; i < 100; ++i) {
    Result<Endpoint> picked = lb.Pick();
    ASSERT_TRUE(picked.ok());
    EXPECT_NE(picked->host, "b");
  }
  lb.Started(Ep("b"));  // a late report about a removed endpoint is ignored
  lb.Finished(Ep("b"), 1 * kMs, false);
  EXPECT_FALSE(lb.Cost(Ep("b")).has_value());
}

TEST(LoadBalancer, PicksOnlyEligibleEndpoints) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a"), Ep("b"), Ep("c")});
  lb.Finished(Ep("a"), 1 * kMs, false);  // the cheapest, but ineligible
  for (int i = 0; i < 100; ++i) {
    Result<Endpoint> picked = lb.Pick([](const Endpoint& e) { return e.host != "a"; });
    ASSERT_TRUE(picked.ok());
    EXPECT_NE(picked->host, "a");
  }
}

TEST(LoadBalancer, SingleEligibleEndpointIsPickedWhateverItsCost) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a"), Ep("b")});
  lb.Finished(Ep("b"), 9'000 * kMs, true);
  Result<Endpoint> picked = lb.Pick([](const Endpoint& e) { return e.host == "b"; });
  ASSERT_TRUE(picked.ok());
  EXPECT_EQ(picked->host, "b");
}

TEST(LoadBalancer, AsksEligibilityOnlyAsNeeded) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  std::vector<Endpoint> many;
  for (int i = 0; i < 50; ++i) many.push_back(Ep("10.0.0." + std::to_string(i)));
  lb.SetEndpoints(many);
  int asked = 0;
  ASSERT_TRUE(lb.Pick([&](const Endpoint&) { return ++asked > 0; }).ok());
  EXPECT_EQ(asked, 2);
}

TEST(LoadBalancer, NoneEligibleIsAnError) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a"), Ep("b")});
  Result<Endpoint> picked = lb.Pick([](const Endpoint&) { return false; });
  ASSERT_FALSE(picked.ok());
  EXPECT_EQ(picked.status().code(), Status::Code::kIOError);
  EXPECT_NE(picked.status().message().find("no healthy endpoint"), std::string::npos);
}

TEST(LoadBalancer, NoEndpointsIsAnError) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  EXPECT_FALSE(lb.Pick().ok());
  lb.SetEndpoints({Ep("a")});
  lb.SetEndpoints({});
  EXPECT_FALSE(lb.Pick().ok());
}

TEST(LoadBalancer, BadReportsDoNotCorruptTheState) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a")});
  lb.Finished(Ep("a"), -5, false);  // negative latency counts as 0; no Started: stays at 0
  lb.Finished(Ep("a"), -5, false);
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 30 * kMs);
  clock.Set(kStart - 10'000 * kMs);  // the clock stepped back
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 30 * kMs);
  lb.Started(Ep("a"));
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 2 * 30 * kMs);
}

TEST(LoadBalancer, BadOptionsAreClamped) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb(clock,
                  {.decay = seconds(-1),
                   .default_latency = milliseconds(-1),
                   .failure_penalty = milliseconds(-1)},
                  3);
  lb.SetEndpoints({Ep("a"), Ep("b")});
  EXPECT_DOUBLE_EQ(*lb.Cost(Ep("a")), 0);
  lb.Finished(Ep("a"), 10 * kMs, true);
  clock.Advance(1);
  EXPECT_TRUE(lb.Pick().ok());
}

TEST(LoadBalancer, ConcurrentUseKeepsOutstandingCountsBalanced) {
  testing::FakeClock clock(kStart);
  LoadBalancer lb = MakeBalancer(clock);
  lb.SetEndpoints({Ep("a"), Ep("b"), Ep("c")});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2'000; ++i) {
        Result<Endpoint> picked = lb.Pick();
        if (!picked.ok()) continue;
        lb.Started(*picked);
        lb.Finished(*picked, 10 * kMs, false);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const char* host : {"a", "b", "c"}) {
    EXPECT_DOUBLE_EQ(*lb.Cost(Ep(host)), 30 * kMs) << host;  // no outstanding left
  }
}

// A step of the wall clock is not time passing: an estimate neither decays an hour's worth
// (+1 h) nor freezes (-1 h), so a slow instance does not suddenly look as good as a fast one.
TEST(LoadBalancer, AWallClockStepDoesNotAgeTheEstimates) {
  for (const int64_t step : {int64_t{3'600} * 1'000 * kMs, -int64_t{3'600} * 1'000 * kMs}) {
    testing::FakeClock clock(kStart);
    LoadBalancer lb = MakeBalancer(clock);
    lb.SetEndpoints({Ep("slow"), Ep("fast")});
    lb.Finished(Ep("slow"), 500 * kMs, false);
    lb.Finished(Ep("fast"), 10 * kMs, false);
    clock.StepWall(step);
    EXPECT_DOUBLE_EQ(*lb.Cost(Ep("slow")), 500 * kMs) << step;
    for (int i = 0; i < 20; ++i) EXPECT_EQ(lb.Pick()->host, "fast") << step;
    clock.Advance(10'000 * kMs);  // one decay constant of monotonic time: e^-1 of the estimate
    EXPECT_NEAR(*lb.Cost(Ep("slow")), 500 * kMs * std::exp(-1.0), 1.0) << step;
  }
}

}  // namespace
}  // namespace mesh

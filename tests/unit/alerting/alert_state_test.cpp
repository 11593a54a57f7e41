#include "mesh/alerting/alert_state.h"

#include <gtest/gtest.h>

namespace mesh {
namespace alerting_alert_state_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

AlertRule ErrorRule(int64_t for_s) {
  AlertRule r;
  r.name = "high_error_rate";
  r.op = CompareOp::kGt;
  r.threshold = 5;
  r.for_ns = for_s * kSecond;
  return r;
}

// Feeds values one per `step` seconds from kT0 and returns the last step.
struct Evaluations {
  const AlertRule& rule;
  AlertState state;
  AlertStep Feed(std::optional<double> v, int64_t at_s) {
    AlertStep s = AdvanceAlert(rule, state, v, kT0 + at_s * kSecond);
    state = s.state;
    return s;
  }
};

TEST(AlertState, WaitsOutForBeforeFiring) {
  const AlertRule rule = ErrorRule(60);
  Evaluations run{rule, {}};
  EXPECT_EQ(run.Feed(7, 0).transition, AlertTransition::kPending);
  EXPECT_EQ(run.state.phase, AlertPhase::kPending);
  EXPECT_EQ(run.state.active_since_ns, kT0);
  EXPECT_EQ(run.Feed(8, 30).transition, AlertTransition::kNone);
  EXPECT_EQ(run.state.phase, AlertPhase::kPending);
  EXPECT_EQ(run.Feed(9, 60).transition, AlertTransition::kFiring);
  EXPECT_EQ(run.state.phase, AlertPhase::kFiring);
  EXPECT_EQ(run.state.fired_at_ns, kT0 + 60 * kSecond);
  EXPECT_EQ(run.Feed(9, 90).transition, AlertTransition::kNone);
  EXPECT_EQ(run.Feed(1, 120).transition, AlertTransition::kResolved);
  EXPECT_EQ(run.state.phase, AlertPhase::kInactive);
  EXPECT_EQ(run.state.resolved_at_ns, kT0 + 120 * kSecond);
  EXPECT_EQ(run.state.fired_at_ns, kT0 + 60 * kSecond);  // kept for the resolved notification
}

TEST(AlertState, FiresAtOnceWithoutFor) {
  const AlertRule rule = ErrorRule(0);
  Evaluations run{rule, {}};
  EXPECT_EQ(run.Feed(6, 0).transition, AlertTransition::kFiring);
  EXPECT_EQ(run.state.fired_at_ns, kT0);
}

TEST(AlertState, APendingAlertThatClearsIsCancelledNotResolved) {
  const AlertRule rule = ErrorRule(60);
  Evaluations run{rule, {}};
  run.Feed(7, 0);
  EXPECT_EQ(run.Feed(2, 30).transition, AlertTransition::kCancelled);
  EXPECT_EQ(run.state.phase, AlertPhase::kInactive);
  // The clock starts again.
  run.Feed(7, 40);
  EXPECT_EQ(run.Feed(7, 90).transition, AlertTransition::kNone);
  EXPECT_EQ(run.Feed(7, 100).transition, AlertTransition::kFiring);
}

TEST(AlertState, ResolveThresholdStopsFlapping) {
  AlertRule rule = ErrorRule(0);
  rule.resolve_threshold = 3;
  Evaluations run{rule, {}};
  EXPECT_EQ(run.Feed(6, 0).transition, AlertTransition::kFiring);
  // Oscillating around the threshold: stays firing while above the resolve threshold.
  for (int i = 1; i <= 6; ++i) {
    EXPECT_EQ(run.Feed(i % 2 ? 4.5 : 5.5, i * 10).transition, AlertTransition::kNone) << i;
    EXPECT_EQ(run.state.phase, AlertPhase::kFiring);
  }
  // Resolves once the value no longer passes "> 3".
  EXPECT_EQ(run.Feed(3, 70).transition, AlertTransition::kResolved);
  EXPECT_EQ(run.state.phase, AlertPhase::kInactive);
}

TEST(AlertState, WithoutHysteresisTheSameValuesFlap) {
  const AlertRule rule = ErrorRule(0);
  Evaluations run{rule, {}};
  run.Feed(6, 0);
  EXPECT_EQ(run.Feed(4.5, 10).transition, AlertTransition::kResolved);
  EXPECT_EQ(run.Feed(5.5, 20).transition, AlertTransition::kFiring);
}

TEST(AlertState, KeepFiringForHoldsThroughABriefRecovery) {
  AlertRule rule = ErrorRule(0);
  rule.keep_firing_for_ns = 60 * kSecond;
  Evaluations run{rule, {}};
  run.Feed(6, 0);
  EXPECT_EQ(run.Feed(1, 10).transition, AlertTransition::kNone);
  EXPECT_EQ(run.state.quiet_since_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(run.Feed(6, 40).transition, AlertTransition::kNone);  // back: the quiet clock resets
  EXPECT_EQ(run.state.quiet_since_ns, 0);
  EXPECT_EQ(run.Feed(1, 50).transition, AlertTransition::kNone);
  EXPECT_EQ(run.Feed(1, 100).transition, AlertTransition::kNone);
  EXPECT_EQ(run.state.phase, AlertPhase::kFiring);
  EXPECT_EQ(run.Feed(1, 110).transition, AlertTransition::kResolved);
}

TEST(AlertState, NoDataHoldsAFiringAlertAndCancelsAPendingOne) {
  const AlertRule rule = ErrorRule(60);
  Evaluations run{rule, {}};
  run.Feed(7, 0);
  EXPECT_EQ(run.Feed(std::nullopt, 30).transition, AlertTransition::kCancelled);
  EXPECT_EQ(run.state.phase, AlertPhase::kInactive);
  run.Feed(7, 40);
  run.Feed(7, 100);
  ASSERT_EQ(run.state.phase, AlertPhase::kFiring);
  EXPECT_EQ(run.Feed(std::nullopt, 130).transition, AlertTransition::kNone);
  EXPECT_EQ(run.state.phase, AlertPhase::kFiring);
  EXPECT_FALSE(run.state.last_value.has_value());
  EXPECT_EQ(run.Feed(std::nullopt, 0).state.phase, AlertPhase::kFiring);
}

TEST(AlertState, InactiveStaysInactiveBelowThreshold) {
  const AlertRule rule = ErrorRule(0);
  Evaluations run{rule, {}};
  EXPECT_EQ(run.Feed(5, 0).transition, AlertTransition::kNone);
  EXPECT_EQ(run.Feed(std::nullopt, 10).transition, AlertTransition::kNone);
  EXPECT_EQ(run.state.phase, AlertPhase::kInactive);
  EXPECT_EQ(run.state.last_eval_ns, kT0 + 10 * kSecond);
}

}  // namespace
}  // namespace mesh

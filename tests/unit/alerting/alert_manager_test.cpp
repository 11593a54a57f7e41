#include "mesh/alerting/alert_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_support.h"

namespace mesh {
namespace alerting_alert_manager_test {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

class SteppedClock : public Clock {
 public:
  int64_t NowNs() const override { return now.load(); }
  std::atomic<int64_t> now{1764075600 * kSecond};
};

constexpr const char* kRules = R"([
  {"name":"queue_full","signal":"metric","metric":"queue_depth","service":"worker","op":">",
   "threshold":1000,"for":"30s","severity":"critical","annotations":{"summary":"{{service}} queue at {{value}}"}}])";

TEST(AlertManager, NotifiesWhenARuleFiresAfterItsDurationAndWhenItResolves) {
  SteppedClock clock;
  AlertManager alerts(clock);
  ASSERT_TRUE(alerts.AddRules(kRules).ok());
  std::vector<AlertNotice> seen;
  alerts.SetNotificationCallback([&](const AlertNotice& n) { seen.push_back(n); });

  EXPECT_EQ(*alerts.CheckMetric("queue_full", 1500), AlertTransition::kPending);
  clock.now += 10 * kSecond;
  EXPECT_EQ(*alerts.CheckMetric("queue_full", 1600), AlertTransition::kNone);
  EXPECT_TRUE(seen.empty());
  clock.now += 20 * kSecond;
  EXPECT_EQ(*alerts.CheckMetric("queue_full", 1700), AlertTransition::kFiring);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].firing);
  EXPECT_EQ(seen[0].service, "worker");
  EXPECT_THAT(seen[0].annotations[0].second, HasSubstr("worker queue at 1700"));
  ASSERT_EQ(alerts.ActiveAlerts().size(), 1u);

  clock.now += 5 * kSecond;
  EXPECT_EQ(*alerts.CheckMetric("queue_full", 10), AlertTransition::kResolved);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[1].firing);
  EXPECT_EQ(seen[1].ends_at_ns, clock.now.load());
  EXPECT_TRUE(alerts.ActiveAlerts().empty());
}

TEST(AlertManager, KeepsOneStatePerService) {
  SteppedClock clock;
  AlertManager alerts(clock);
  ASSERT_TRUE(alerts.AddRules(R"([{"name":"hot","signal":"metric","metric":"t","op":">","threshold":1}])").ok());
  EXPECT_EQ(*alerts.CheckMetric("hot", 5, "a"), AlertTransition::kFiring);
  EXPECT_EQ(*alerts.CheckMetric("hot", 0, "b"), AlertTransition::kNone);
  EXPECT_EQ(alerts.ActiveAlerts().size(), 1u);
}

TEST(AlertManager, RejectsUnknownRulesDuplicatesAndBadDocuments) {
  AlertManager alerts;
  EXPECT_EQ(alerts.CheckMetric("nope", 1).status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(alerts.AddRules(kRules).ok());
  EXPECT_EQ(alerts.AddRules(kRules).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(alerts.AddRules("[{").code(), Status::Code::kInvalidArgument);
  AlertRule unnamed;
  EXPECT_EQ(alerts.AddRule(unnamed).code(), Status::Code::kInvalidArgument);
}

TEST(AlertManager, TheCallbackMayCallBackIn) {
  AlertManager alerts;
  ASSERT_TRUE(alerts.AddRules(R"([{"name":"hot","signal":"metric","metric":"t","op":">","threshold":1}])").ok());
  size_t active_inside = 0;
  alerts.SetNotificationCallback([&](const AlertNotice&) { active_inside = alerts.ActiveAlerts().size(); });
  ASSERT_TRUE(alerts.CheckMetric("hot", 2).ok());
  EXPECT_EQ(active_inside, 1u);
}

}  // namespace
}  // namespace mesh

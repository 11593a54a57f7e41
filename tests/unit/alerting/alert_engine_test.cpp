#include "mesh/alerting/alert_engine.h"
#include "mesh/store/alert_store.h"
#include "mesh/store/store_signal_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alert_fixture.h"

namespace mesh {
namespace alerting_alert_engine_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;

// Records what it was asked to deliver; fails while `fail` is set.
class RecordingSink : public AlertSink {
 public:
  explicit RecordingSink(AlertSinkBit bit = kSinkWebhook) : bit_(bit) {}
  AlertSinkBit bit() const override { return bit_; }
  std::string name() const override { return "recorder"; }
  Status Deliver(const std::vector<AlertNotice>& notices) override {
    ++calls;
    if (fail) return Status::IOError("receiver down");
    for (const AlertNotice& n : notices) delivered.push_back(n);
    return Status::Ok();
  }
  std::vector<std::string> Statuses() const {
    std::vector<std::string> out;
    for (const AlertNotice& n : delivered) out.push_back(n.service + ":" + (n.firing ? "firing" : "resolved"));
    return out;
  }
  AlertSinkBit bit_;
  bool fail = false;
  int calls = 0;
  std::vector<AlertNotice> delivered;
};

class AlertEngineTest : public testing::AlertStoreTest {
 protected:
  AlertRule ErrorRule(int64_t for_s = 60) {
    Result<std::vector<AlertRule>> r = ParseAlertRules(
        R"([{"name":"high_error_rate","signal":"error_rate","service":"*","window":"1m","op":">",
             "threshold":5,"for":")" + std::to_string(for_s) + R"(s","severity":"critical",
             "labels":{"team":"core"},"annotations":{"summary":"{{service}} fails {{value}}%"}}])");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r->front();
  }

  // One check round at kT0 + at_s, saved like meshalert check does.
  AlertCheckReport Check(const std::vector<AlertRule>& rules, int64_t at_s, int64_t repeat_s = 0) {
    StoreSignalSource source(*store_);
    AlertStore alerts(*store_);
    AlertEngine engine(source, alerts, {&sink_});
    Result<AlertCheckReport> report =
        engine.Check(rules, {kT0 + at_s * kSecond, repeat_s * kSecond, "http://meshd:9000"});
    EXPECT_TRUE(report.ok()) << report.status().message();
    if (!report.ok()) return {};
    Status s = InWriteTransaction(store_->db(), [&] { return alerts.Save(report->alerts, report->events); });
    EXPECT_TRUE(s.ok()) << s.message();
    return *report;
  }

  // Pushes cumulative counters every 15 s from `from_s` to `to_s` with the given error share.
  void Traffic(const std::string& service, int64_t from_s, int64_t to_s, double error_share) {
    for (int64_t t = from_s; t <= to_s; t += 15) {
      ok_[service] += 100 * (1 - error_share);
      errors_[service] += 100 * error_share;
      PushRequests(service, kT0 + t * kSecond, ok_[service], errors_[service], ok_[service] + errors_[service]);
    }
  }

  std::vector<std::string> Events() {
    Result<std::vector<AlertEvent>> h = AlertStore(*store_).History({});
    EXPECT_TRUE(h.ok());
    std::vector<std::string> out;
    for (const AlertEvent& e : *h) out.push_back(e.service + ":" + e.event);
    return out;
  }

  RecordingSink sink_;
  std::map<std::string, double> ok_, errors_;
};

TEST_F(AlertEngineTest, GoesPendingFiringResolvedAcrossSeparateRounds) {
  const std::vector<AlertRule> rules = {ErrorRule(60)};
  Traffic("api", 0, 300, 0.0);
  Traffic("payments", 0, 60, 0.0);
  Traffic("payments", 75, 240, 0.2);
  Traffic("payments", 255, 400, 0.0);

  AlertCheckReport r = Check(rules, 60);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.exit_code, kStatusOk);
  r = Check(rules, 120);
  EXPECT_EQ(r.results[1].service, "payments");
  EXPECT_EQ(r.results[1].state.phase, AlertPhase::kPending);
  EXPECT_EQ(r.exit_code, kStatusOk);
  r = Check(rules, 180);
  EXPECT_EQ(r.results[1].state.phase, AlertPhase::kFiring);
  EXPECT_EQ(r.results[1].transition, AlertTransition::kFiring);
  EXPECT_EQ(r.results[1].status, kStatusCritical);
  EXPECT_EQ(r.exit_code, kStatusCritical);
  EXPECT_THAT(r.results[1].summary, HasSubstr("error_rate 20% > 5%"));
  r = Check(rules, 240);
  EXPECT_EQ(r.exit_code, kStatusCritical);
  EXPECT_EQ(r.results[1].transition, AlertTransition::kNone);
  r = Check(rules, 330);
  EXPECT_EQ(r.results[1].transition, AlertTransition::kResolved);
  EXPECT_EQ(r.exit_code, kStatusOk);

  EXPECT_THAT(sink_.Statuses(), ElementsAre("payments:firing", "payments:resolved"));
  const AlertNotice& resolved = sink_.delivered[1];
  EXPECT_EQ(resolved.starts_at_ns, kT0 + 180 * kSecond);
  EXPECT_EQ(resolved.ends_at_ns, kT0 + 330 * kSecond);
  EXPECT_EQ(resolved.generator_url, "http://meshd:9000/dashboard");
  EXPECT_THAT(resolved.labels, ElementsAre(std::pair<std::string, std::string>("alertname", "high_error_rate"),
                                           std::pair<std::string, std::string>("service", "payments"),
                                           std::pair<std::string, std::string>("severity", "critical"),
                                           std::pair<std::string, std::string>("team", "core")));
  EXPECT_THAT(sink_.delivered[0].annotations,
              ElementsAre(std::pair<std::string, std::string>("summary", "payments fails 20%")));
  EXPECT_THAT(Events(), ElementsAre("payments:pending", "payments:firing", "payments:notified",
                                    "payments:resolved", "payments:notified"));
}

TEST_F(AlertEngineTest, NoDataIsUnknownAndAFiringAlertStaysFiring) {
  const std::vector<AlertRule> rules = {ErrorRule(0)};
  Traffic("payments", 0, 60, 0.5);
  AlertCheckReport r = Check(rules, 60);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].state.phase, AlertPhase::kFiring);
  // The service goes silent: its alert is still evaluated, as no data, and keeps firing.
  r = Check(rules, 600);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_FALSE(r.results[0].value.has_value());
  EXPECT_EQ(r.results[0].state.phase, AlertPhase::kFiring);
  EXPECT_THAT(r.results[0].summary, HasSubstr("no data"));
  EXPECT_EQ(r.exit_code, kStatusCritical);
  EXPECT_THAT(sink_.Statuses(), ElementsAre("payments:firing"));
}

TEST_F(AlertEngineTest, ARuleMatchingNoServiceIsUnknown) {
  AlertRule rule = ErrorRule(0);
  rule.service = "nothing-*";
  AlertCheckReport r = Check({rule}, 60);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].status, kStatusUnknown);
  EXPECT_EQ(r.exit_code, kStatusUnknown);
  EXPECT_THAT(r.results[0].summary, HasSubstr("no service matches"));
  rule.service = "named";  // not a glob: evaluated as is
  r = Check({rule}, 60);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].service, "named");
  EXPECT_EQ(r.exit_code, kStatusUnknown);
}

TEST_F(AlertEngineTest, ARuleWhoseNoDataIsOkIsOkWithoutData) {
  AlertRule rule = ErrorRule(0);
  rule.no_data_ok = true;
  rule.service = "nothing-*";
  AlertCheckReport r = Check({rule}, 60);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].status, kStatusOk);
  EXPECT_EQ(r.exit_code, kStatusOk);
  EXPECT_THAT(r.results[0].summary, HasSubstr("no service matches"));
  rule.service = "named";  // evaluated, measures nothing
  r = Check({rule}, 60);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_FALSE(r.results[0].value.has_value());
  EXPECT_EQ(r.exit_code, kStatusOk);
}

TEST_F(AlertEngineTest, WorstStatusWinsCriticalOverWarningOverUnknown) {
  EXPECT_EQ(WorseStatus(kStatusOk, kStatusUnknown), kStatusUnknown);
  EXPECT_EQ(WorseStatus(kStatusUnknown, kStatusWarning), kStatusWarning);
  EXPECT_EQ(WorseStatus(kStatusCritical, kStatusWarning), kStatusCritical);
  EXPECT_EQ(WorseStatus(kStatusUnknown, kStatusCritical), kStatusCritical);
}

TEST_F(AlertEngineTest, AFailedNotificationIsRetriedOnTheNextRound) {
  const std::vector<AlertRule> rules = {ErrorRule(0)};
  Traffic("payments", 0, 120, 0.5);
  sink_.fail = true;
  AlertCheckReport r = Check(rules, 60);
  EXPECT_EQ(r.notifications_failed, 1);
  EXPECT_THAT(r.results[0].notify_error, HasSubstr("receiver down"));
  EXPECT_TRUE(sink_.delivered.empty());
  Result<std::vector<StoredAlert>> stored = AlertStore(*store_).Load({});
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->front().pending_sinks, static_cast<uint32_t>(kSinkWebhook));
  EXPECT_THAT(stored->front().notify_error, HasSubstr("receiver down"));

  sink_.fail = false;
  r = Check(rules, 90);
  EXPECT_EQ(r.notifications_sent, 1);
  EXPECT_THAT(sink_.Statuses(), ElementsAre("payments:firing"));
  stored = AlertStore(*store_).Load({});
  EXPECT_EQ(stored->front().pending_sinks, 0u);
  EXPECT_EQ(stored->front().notify_error, "");
  r = Check(rules, 120);
  EXPECT_EQ(sink_.delivered.size(), 1u);  // nothing new to say
  EXPECT_THAT(Events(), ElementsAre("payments:firing", "payments:notify_failed", "payments:notified"));
}

TEST_F(AlertEngineTest, RepeatIntervalRenotifiesAStillFiringAlert) {
  const std::vector<AlertRule> rules = {ErrorRule(0)};
  Traffic("payments", 0, 400, 0.5);
  for (int64_t t = 60; t <= 360; t += 60) Check(rules, t, /*repeat_s=*/120);
  // Fired at 60, then again at 180 and 300.
  EXPECT_EQ(sink_.delivered.size(), 3u);
}

TEST_F(AlertEngineTest, SilencesMuteNotificationsAndTheExitCodeUntilTheyEnd) {
  const std::vector<AlertRule> rules = {ErrorRule(0)};
  Traffic("payments", 0, 400, 0.5);
  Silence s{0, "high_*", "pay*", kT0, kT0 + 120 * kSecond, "deploying", "ops"};
  ASSERT_TRUE(InWriteTransaction(store_->db(), [&] { return AlertStore(*store_).AddSilence(s).status(); }).ok());
  AlertCheckReport r = Check(rules, 60);
  EXPECT_TRUE(r.results[0].silenced);
  EXPECT_EQ(r.results[0].state.phase, AlertPhase::kFiring);
  EXPECT_EQ(r.exit_code, kStatusOk);
  EXPECT_TRUE(sink_.delivered.empty());
  // The silence is over: the firing alert is announced then.
  r = Check(rules, 180);
  EXPECT_FALSE(r.results[0].silenced);
  EXPECT_EQ(r.exit_code, kStatusCritical);
  EXPECT_THAT(sink_.Statuses(), ElementsAre("payments:firing"));
}

TEST_F(AlertEngineTest, FlappingWithHysteresisNotifiesOnce) {
  AlertRule rule = ErrorRule(0);
  rule.resolve_threshold = 2;
  // A minute at 8 % errors, a minute at 3 %...: the 1-minute error rate swings between 3 and 8 %.
  for (int64_t t = 0; t <= 600; t += 15) Traffic("payments", t, t, (t / 60) % 2 ? 0.03 : 0.08);
  for (int64_t t = 60; t <= 600; t += 15) Check({rule}, t);
  EXPECT_THAT(sink_.Statuses(), ElementsAre("payments:firing"));
  rule.resolve_threshold.reset();
  rule.name = "no_hysteresis";
  for (int64_t t = 60; t <= 600; t += 15) Check({rule}, t);
  EXPECT_GT(sink_.delivered.size(), 3u);
}

TEST_F(AlertEngineTest, AFiringLineNamesTheRulesThresholdAndWhenHeldTheResolveOne) {
  AlertRule rule = ErrorRule(0);
  rule.resolve_threshold = 2;
  Traffic("payments", 0, 60, 0.08);
  AlertCheckReport r = Check({rule}, 60);
  ASSERT_EQ(r.results[0].state.phase, AlertPhase::kFiring);
  EXPECT_THAT(r.results[0].summary, HasSubstr("error_rate 8% > 5%"));
  EXPECT_THAT(r.results[0].summary, Not(HasSubstr("2%")));
  // 3 %: under the rule's 5 %, above the resolve threshold's 2 %: still firing, and it says why.
  Traffic("payments", 75, 180, 0.03);
  r = Check({rule}, 180);
  ASSERT_EQ(r.results[0].state.phase, AlertPhase::kFiring);
  EXPECT_THAT(r.results[0].summary, HasSubstr("error_rate 3% > 2% (the resolve threshold; fires > 5%)"));
}

}  // namespace
}  // namespace mesh

#include "mesh/store/alert_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alert_fixture.h"

namespace mesh {
namespace store_alert_store_test {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;

class AlertStoreSuite : public testing::AlertStoreTest {
 protected:
  Status Write(const std::function<Status()>& fn) { return InWriteTransaction(store_->db(), fn); }
};

TEST_F(AlertStoreSuite, SavesAndLoadsEveryFieldOfAnAlert) {
  StoredAlert a;
  a.rule = "high_error_rate";
  a.service = "payments";
  a.severity = "critical";
  a.state = {AlertPhase::kFiring, kT0, kT0 + 1, kT0 + 2, kT0 + 3, kT0 + 4, 7.5};
  a.pending_sinks = kSinkAlertmanager | kSinkExec;
  a.notified_ns = kT0 + 5;
  a.notify_error = "alertmanager: refused";
  StoredAlert b = a;
  b.rule = "other";
  b.state = {};
  b.notify_error = "";
  ASSERT_TRUE(Write([&] { return AlertStore(*store_).Save({a, b}, {}); }).ok());
  Result<std::vector<StoredAlert>> loaded = AlertStore(*store_).Load({"high_error_rate"});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 1u);
  const StoredAlert& l = loaded->front();
  EXPECT_EQ(l.service, "payments");
  EXPECT_EQ(l.severity, "critical");
  EXPECT_EQ(l.state.phase, AlertPhase::kFiring);
  EXPECT_EQ(l.state.active_since_ns, kT0);
  EXPECT_EQ(l.state.fired_at_ns, kT0 + 1);
  EXPECT_EQ(l.state.quiet_since_ns, kT0 + 2);
  EXPECT_EQ(l.state.resolved_at_ns, kT0 + 3);
  EXPECT_EQ(l.state.last_eval_ns, kT0 + 4);
  EXPECT_EQ(l.state.last_value, 7.5);
  EXPECT_EQ(l.pending_sinks, static_cast<uint32_t>(kSinkAlertmanager | kSinkExec));
  EXPECT_EQ(l.notified_ns, kT0 + 5);
  EXPECT_EQ(l.notify_error, "alertmanager: refused");
  EXPECT_EQ(AlertStore(*store_).Load({})->size(), 2u);
  EXPECT_FALSE(AlertStore(*store_).Load({"other"})->front().state.last_value.has_value());
}

TEST_F(AlertStoreSuite, SavingAgainReplacesTheState) {
  StoredAlert a;
  a.rule = "r";
  a.service = "s";
  a.state.phase = AlertPhase::kPending;
  ASSERT_TRUE(Write([&] { return AlertStore(*store_).Save({a}, {}); }).ok());
  a.state.phase = AlertPhase::kInactive;
  ASSERT_TRUE(Write([&] { return AlertStore(*store_).Save({a}, {}); }).ok());
  Result<std::vector<StoredAlert>> loaded = AlertStore(*store_).Load({});
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().state.phase, AlertPhase::kInactive);
}

TEST_F(AlertStoreSuite, HistoryKeepsTheNewestEventsInTimeOrder) {
  std::vector<AlertEvent> events;
  for (int i = 0; i < 5; ++i) {
    events.push_back({0, kT0 + i * kSecond, i % 2 ? "a" : "b", "svc", "firing", "warning", i * 1.0, ""});
  }
  ASSERT_TRUE(Write([&] { return AlertStore(*store_).Save({}, events); }).ok());
  Result<std::vector<AlertEvent>> h = AlertStore(*store_).History({.limit = 3});
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].ts_ns, kT0 + 2 * kSecond);
  EXPECT_EQ((*h)[2].ts_ns, kT0 + 4 * kSecond);
  h = AlertStore(*store_).History({.since_ns = kT0 + kSecond, .until_ns = kT0 + 4 * kSecond, .rule = "a"});
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].value, 1.0);
  EXPECT_EQ((*h)[1].value, 3.0);
}

TEST_F(AlertStoreSuite, AddsListsAndExpiresSilences) {
  AlertStore alerts(*store_);
  int64_t id = 0;
  ASSERT_TRUE(Write([&]() -> Status {
                Result<int64_t> r = alerts.AddSilence({0, "r", "*", kT0, kT0 + 60 * kSecond, "why", "me"});
                if (r.ok()) id = *r;
                return r.status();
              }).ok());
  EXPECT_GT(id, 0);
  EXPECT_EQ(alerts.Silences(kT0, false)->size(), 1u);
  EXPECT_EQ(alerts.Silences(kT0 + 60 * kSecond, false)->size(), 0u);
  ASSERT_TRUE(Write([&] { return alerts.ExpireSilence(id, kT0 + 10 * kSecond); }).ok());
  EXPECT_EQ(alerts.Silences(kT0 + 10 * kSecond, false)->size(), 0u);
  Result<std::vector<Silence>> all = alerts.Silences(kT0 + 10 * kSecond, true);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().ends_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(all->front().comment, "why");
  Status again = Write([&] { return alerts.ExpireSilence(id, kT0 + 20 * kSecond); });
  EXPECT_EQ(again.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(again.message(), HasSubstr("already over"));
  Status missing = Write([&] { return alerts.ExpireSilence(999, kT0); });
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
}

TEST_F(AlertStoreSuite, CommittingStoreCommitsEachWriteWithoutTheCallersTransaction) {
  CommittingAlertStore alerts(*store_);
  StoredAlert a;
  a.rule = "r";
  a.service = "s";
  a.state.phase = AlertPhase::kFiring;
  ASSERT_TRUE(alerts.Save({a}, {{0, kT0, "r", "s", "firing", "warning", 2.0, ""}}).ok());
  Result<int64_t> id = alerts.AddSilence({0, "r", "*", kT0, kT0 + 60 * kSecond, "why", "me"});
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_TRUE(alerts.ExpireSilence(*id, kT0 + kSecond).ok());

  // What another connection sees is what was committed.
  Store::Options o;
  o.path = store_->path();
  Result<std::unique_ptr<Store>> other = Store::Open(o);
  ASSERT_TRUE(other.ok()) << other.status().message();
  AlertStore seen(**other);
  ASSERT_EQ(seen.Load({})->size(), 1u);
  EXPECT_EQ(seen.Load({})->front().state.phase, AlertPhase::kFiring);
  ASSERT_EQ(seen.History({})->size(), 1u);
  Result<std::vector<Silence>> silences = seen.Silences(kT0, true);
  ASSERT_EQ(silences->size(), 1u);
  EXPECT_EQ(silences->front().ends_ns, kT0 + kSecond);
}

TEST_F(AlertStoreSuite, CommittingStoreRollsBackAFailedWriteAndStaysUsable) {
  CommittingAlertStore alerts(*store_);
  EXPECT_EQ(alerts.ExpireSilence(999, kT0).code(), Status::Code::kNotFound);
  // A transaction left open by the failure would make the next BEGIN fail.
  Result<int64_t> id = alerts.AddSilence({0, "r", "*", kT0, kT0 + 60 * kSecond, "why", "me"});
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(alerts.Silences(kT0, false)->size(), 1u);
}

TEST_F(AlertStoreSuite, QueriesUseTheirIndexes) {
  for (const SqlQuery& q : std::vector<SqlQuery>{
           {"SELECT rule FROM alert_states WHERE rule = ? ORDER BY service", {std::string("r")}},
           {"SELECT id FROM alert_events WHERE ts_ns >= ? AND ts_ns < ? ORDER BY ts_ns DESC, id DESC LIMIT 5",
            {int64_t{0}, int64_t{1}}},
           {"SELECT id FROM alert_silences WHERE ends_ns > ? ORDER BY ends_ns, id", {int64_t{0}}}}) {
    Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(q);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    ASSERT_FALSE(plan->empty());
    EXPECT_THAT((*plan)[0], ::testing::AnyOf(HasSubstr("INDEX"), HasSubstr("PRIMARY KEY")))
        << q.sql;
  }
}

}  // namespace
}  // namespace mesh

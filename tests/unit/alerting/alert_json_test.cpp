#include "mesh/alerting/alert_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "deep_json.h"
#include "mesh/base/json_depth.h"

namespace mesh {
namespace alerting_alert_json_test {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;  // 2025-11-25T13:00:00Z

StoredAlert Alert() {
  StoredAlert a;
  a.rule = "high_error_rate";
  a.service = "pay \"ments\"";
  a.severity = "critical";
  a.state = {AlertPhase::kFiring, kT0, kT0 + 1'000'000, kT0 + 2'000'000, kT0 + 3'000'000, kT0 + 4'000'000, 7.5};
  a.pending_sinks = kSinkAlertmanager | kSinkExec;
  a.notified_ns = kT0 + 5'000'000;
  a.notify_error = "alertmanager: refused";
  return a;
}

TEST(AlertJson, StoredAlertsRoundTripAsAnArray) {
  const std::vector<StoredAlert> alerts = {Alert(), StoredAlert{.rule = "quiet", .service = "db"}};
  Result<std::vector<StoredAlert>> back = ParseStoredAlerts(StoredAlertsJson(alerts));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), 2u);
  const StoredAlert& a = (*back)[0];
  EXPECT_EQ(a.rule, alerts[0].rule);
  EXPECT_EQ(a.service, alerts[0].service);
  EXPECT_EQ(a.severity, "critical");
  EXPECT_EQ(a.state.phase, AlertPhase::kFiring);
  EXPECT_EQ(a.state.active_since_ns, kT0);
  EXPECT_EQ(a.state.resolved_at_ns, kT0 + 3'000'000);
  EXPECT_EQ(a.state.last_eval_ns, kT0 + 4'000'000);
  EXPECT_EQ(a.state.last_value, 7.5);
  EXPECT_EQ(a.pending_sinks, static_cast<uint32_t>(kSinkAlertmanager | kSinkExec));
  EXPECT_EQ(a.notified_ns, kT0 + 5'000'000);
  EXPECT_EQ(a.notify_error, "alertmanager: refused");
  EXPECT_EQ((*back)[1].rule, "quiet");
  EXPECT_EQ((*back)[1].state.phase, AlertPhase::kInactive);
  EXPECT_FALSE((*back)[1].state.last_value);
  EXPECT_EQ(StoredAlertsJson({}), "[]");
}

TEST(AlertJson, EventsAndSilencesRoundTripAsArrays) {
  const std::vector<AlertEvent> events = {{3, kT0, "r", "s", "firing", "warning", 2.5, "x"},
                                          {4, kT0 + kSecond, "r", "s", "notified", "warning", std::nullopt, ""}};
  Result<std::vector<AlertEvent>> e = ParseAlertEvents(AlertEventsJson(events));
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].id, 3);
  EXPECT_EQ((*e)[0].ts_ns, kT0);
  EXPECT_EQ((*e)[0].value, 2.5);
  EXPECT_EQ((*e)[0].detail, "x");
  EXPECT_EQ((*e)[1].event, "notified");
  EXPECT_FALSE((*e)[1].value);

  const std::vector<Silence> silences = {{7, "high_*", "*", kT0, kT0 + 60 * kSecond, "deploy", "ops"}};
  Result<std::vector<Silence>> s = ParseSilences(SilencesJson(silences));
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].id, 7);
  EXPECT_EQ((*s)[0].rule, "high_*");
  EXPECT_EQ((*s)[0].ends_ns, kT0 + 60 * kSecond);
  EXPECT_EQ((*s)[0].created_by, "ops");
}

TEST(AlertJson, CheckReportRoundTrips) {
  AlertCheckReport report;
  report.exit_code = kStatusCritical;
  report.notifications_sent = 2;
  report.notifications_failed = 1;
  AlertResult r;
  r.rule = "high_error_rate";
  r.service = "payments";
  r.severity = Severity::kCritical;
  r.state.phase = AlertPhase::kFiring;
  r.state.fired_at_ns = kT0;
  r.transition = AlertTransition::kFiring;
  r.summary = "error_rate 7.3% > 5%";
  r.silenced = true;
  r.status = kStatusCritical;
  r.notify_error = "webhook: 503";
  report.results.push_back(r);
  Result<AlertCheckReport> back = ParseAlertCheckReport(AlertCheckReportJson(report));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->exit_code, kStatusCritical);
  EXPECT_EQ(back->notifications_sent, 2);
  EXPECT_EQ(back->notifications_failed, 1);
  ASSERT_EQ(back->results.size(), 1u);
  const AlertResult& b = back->results[0];
  EXPECT_EQ(b.rule, r.rule);
  EXPECT_EQ(b.severity, Severity::kCritical);
  EXPECT_EQ(b.state.fired_at_ns, kT0);
  EXPECT_EQ(b.transition, AlertTransition::kFiring);
  EXPECT_EQ(b.summary, r.summary);
  EXPECT_TRUE(b.silenced);
  EXPECT_EQ(b.status, kStatusCritical);
  EXPECT_EQ(b.notify_error, "webhook: 503");
}

TEST(AlertJson, CheckRequestRoundTripsToTheNanosecond) {
  // The rules come back re-serialised, keys sorted: written sorted here to compare as text.
  const AlertCheckRequest request{R"([{"name":"r","op":">","signal":"error_rate","threshold":5}])",
                                  kT0 + 123456789, 300 * kSecond, "http://meshd:9000",
                                  "http://am:9093", "https://hooks.example/x?a=\"b\""};
  Result<AlertCheckRequest> back = ParseAlertCheckRequest(AlertCheckRequestJson(request), 0);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->rules_json, request.rules_json);
  EXPECT_EQ(back->at_ns, request.at_ns);
  EXPECT_EQ(back->repeat_interval_ns, request.repeat_interval_ns);
  EXPECT_EQ(back->external_url, request.external_url);
  EXPECT_EQ(back->alertmanager, request.alertmanager);
  EXPECT_EQ(back->webhook, request.webhook);
}

TEST(AlertJson, CheckRequestDefaultsToNowAndNoSinks) {
  Result<AlertCheckRequest> r = ParseAlertCheckRequest(R"({"rules":[]})", kT0);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rules_json, "[]");
  EXPECT_EQ(r->at_ns, kT0);
  EXPECT_EQ(r->repeat_interval_ns, 0);
  EXPECT_EQ(r->alertmanager, "");
  EXPECT_EQ(r->webhook, "");
  // A member of the wrong type is ignored rather than thrown on.
  r = ParseAlertCheckRequest(R"({"rules":[],"external_url":{},"webhook":[1]})", kT0);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->external_url, "");
  EXPECT_EQ(r->webhook, "");
}

TEST(AlertJson, BadCheckRequestsSayWhatIsWrong) {
  EXPECT_FALSE(ParseAlertCheckRequest("not json", kT0).ok());
  EXPECT_THAT(ParseAlertCheckRequest("[]", kT0).status().message(), HasSubstr("expected a JSON object"));
  EXPECT_THAT(ParseAlertCheckRequest(R"({"at":"tomorrow"})", kT0).status().message(), HasSubstr("at: "));
  for (const char* repeat : {"-1", "1.5", "\"1m\""}) {
    Result<AlertCheckRequest> r =
        ParseAlertCheckRequest(std::string(R"({"repeat_interval_ns":)") + repeat + "}", kT0);
    ASSERT_FALSE(r.ok()) << repeat;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("repeat_interval_ns"));
  }
}

TEST(AlertJson, WrongShapesAreErrorsNotExceptions) {
  for (const char* json : {"", "{}", "[1]", "[[]]", "[\"x\"]"}) {
    EXPECT_FALSE(ParseStoredAlerts(json).ok()) << json;
    EXPECT_FALSE(ParseAlertEvents(json).ok()) << json;
    EXPECT_FALSE(ParseSilences(json).ok()) << json;
  }
  EXPECT_FALSE(ParseStoredAlerts(R"([{"fired_at":"yesterday"}])").ok());
  EXPECT_FALSE(ParseAlertEvents(R"([{"time":"yesterday"}])").ok());
  for (const char* json : {"", "[]", "{}", "{\"results\":{}}", "{\"results\":[1]}", "{\"results\":[[]]}"}) {
    EXPECT_FALSE(ParseAlertCheckReport(json).ok()) << json;
  }
}

// Every parser, fed every prefix of a valid input and corrupted copies of it: never a crash
// nor an exception (a prefix may only fail).
TEST(AlertJson, TruncatedAndGarbledInputNeverCrashes) {
  AlertCheckReport report;
  report.results.push_back(AlertResult{.rule = "r", .service = "s", .summary = "x"});
  const std::vector<std::pair<std::string, std::function<bool(const std::string&)>>> cases = {
      {StoredAlertsJson({Alert(), Alert()}), [](const std::string& j) { return ParseStoredAlerts(j).ok(); }},
      {AlertEventsJson({{1, kT0, "r", "s", "firing", "warning", 1.0, "d"}}),
       [](const std::string& j) { return ParseAlertEvents(j).ok(); }},
      {SilencesJson({{1, "r", "*", kT0, kT0 + kSecond, "c", "me"}}),
       [](const std::string& j) { return ParseSilences(j).ok(); }},
      {AlertCheckReportJson(report), [](const std::string& j) { return ParseAlertCheckReport(j).ok(); }},
      {AlertCheckRequestJson({"[]", kT0, 0, "", "", ""}),
       [](const std::string& j) { return ParseAlertCheckRequest(j, kT0).ok(); }},
  };
  for (const auto& [json, parse] : cases) {
    for (size_t n = 0; n < json.size(); ++n) EXPECT_FALSE(parse(json.substr(0, n))) << json.substr(0, n);
    uint32_t seed = 7;
    for (int round = 0; round < 500; ++round) {
      std::string g = json;
      for (int k = 0; k < 3; ++k) {
        seed = seed * 1664525u + 1013904223u;
        g[seed % g.size()] = static_cast<char>(seed >> 24);
      }
      (void)parse(g);
    }
  }
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace alerting_alert_json_test {

// POST /v1/alerts/check and /v1/silences bodies, and the answers meshalert --server reads.
TEST(AlertJson, RefusesNestingPastTheBoundOnASmallStack) {
  testing::RunOnSmallStack([] {
    for (const std::string& deep : {testing::WithNestedMember(R"({"rules":[]})", kMaxJsonDepth),
                                    testing::NestedObjects(1000), std::string(100'000, '[')}) {
      EXPECT_THAT(ParseAlertCheckRequest(deep, kT0).status().message(), HasSubstr("nested deeper than 64 levels"));
      EXPECT_THAT(ParseSilences(deep).status().message(), HasSubstr("nested deeper than 64 levels"));
      EXPECT_THAT(ParseAlertCheckReport(deep).status().message(), HasSubstr("nested deeper than 64 levels"));
    }
  });
}

}  // namespace
}  // namespace mesh

#include "mesh/alerting/alert_notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <json/value.h>

#include "mesh/base/json_text.h"
#include "test_support.h"

namespace mesh {
namespace alerting_alert_notifier_test {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

AlertNotice Notice(bool firing, const std::string& service = "payments") {
  AlertNotice n;
  n.rule = "high_error_rate";
  n.service = service;
  n.firing = firing;
  n.labels = {{"alertname", "high_error_rate"}, {"service", service}, {"severity", "critical"}};
  n.annotations = {{"summary", service + " \"fails\""}};
  n.starts_at_ns = kT0;
  n.ends_at_ns = firing ? 0 : kT0 + 90 * kSecond;
  n.value = 7.5;
  n.generator_url = "http://meshd:9000/dashboard";
  return n;
}

Json::Value Parse(const std::string& text) {
  Result<Json::Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Json::Value();
}

// Answers every request with a fixed status and records the requests.
class ScriptedHttpClient : public HttpClient {
 public:
  Result<HttpClientResponse> Send(const std::string& method, const std::string& url, const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>&) override {
    requests.push_back(method + " " + url);
    bodies.push_back(body);
    if (refuse) return Status::IOError("connection refused");
    return HttpClientResponse{status, "bad alert\n"};
  }
  int status = 200;
  bool refuse = false;
  std::vector<std::string> requests, bodies;
};

TEST(AlertNotifier, AlertmanagerPayloadHasLabelsAnnotationsAndTimes) {
  const Json::Value v = Parse(AlertmanagerPayload({Notice(true), Notice(false, "orders")}));
  ASSERT_TRUE(v.isArray());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0]["labels"]["alertname"].asString(), "high_error_rate");
  EXPECT_EQ(v[0]["labels"]["service"].asString(), "payments");
  EXPECT_EQ(v[0]["labels"]["severity"].asString(), "critical");
  EXPECT_EQ(v[0]["annotations"]["summary"].asString(), "payments \"fails\"");
  EXPECT_EQ(v[0]["startsAt"].asString(), "2025-11-25T13:00:00.000Z");
  EXPECT_FALSE(v[0].isMember("endsAt"));  // firing: Alertmanager decides
  EXPECT_EQ(v[0]["generatorURL"].asString(), "http://meshd:9000/dashboard");
  EXPECT_EQ(v[1]["endsAt"].asString(), "2025-11-25T13:01:30.000Z");
}

TEST(AlertNotifier, WebhookPayloadHasAlertmanagersVersion4Shape) {
  const Json::Value v = Parse(WebhookPayload({Notice(true), Notice(false, "orders")}, "http://meshd:9000"));
  EXPECT_EQ(v["version"].asString(), "4");
  EXPECT_EQ(v["status"].asString(), "firing");
  EXPECT_EQ(v["receiver"].asString(), "meshalert");
  EXPECT_EQ(v["externalURL"].asString(), "http://meshd:9000");
  ASSERT_EQ(v["alerts"].size(), 2u);
  EXPECT_EQ(v["alerts"][0]["status"].asString(), "firing");
  EXPECT_EQ(v["alerts"][0]["endsAt"].asString(), "0001-01-01T00:00:00Z");
  EXPECT_EQ(v["alerts"][1]["status"].asString(), "resolved");
  EXPECT_EQ(v["alerts"][0]["fingerprint"].asString().size(), 16u);
  EXPECT_NE(v["alerts"][0]["fingerprint"], v["alerts"][1]["fingerprint"]);
  EXPECT_EQ(v["commonLabels"]["alertname"].asString(), "high_error_rate");
  EXPECT_FALSE(v["commonLabels"].isMember("service"));
  EXPECT_TRUE(v["groupLabels"].isObject());
  EXPECT_EQ(Parse(WebhookPayload({Notice(false)}, ""))["status"].asString(), "resolved");
}

TEST(AlertNotifier, FingerprintDependsOnTheLabelsOnly) {
  AlertNotice a = Notice(true), b = Notice(false);
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
  b.labels[1].second = "orders";
  EXPECT_NE(a.Fingerprint(), b.Fingerprint());
}

TEST(AlertNotifier, AlertmanagerSinkPostsToTheV2ApiAndReportsRefusals) {
  ScriptedHttpClient http;
  AlertmanagerSink sink(http, "http://127.0.0.1:9093/");
  EXPECT_TRUE(sink.Deliver({Notice(true)}).ok());
  EXPECT_EQ(http.requests[0], "POST http://127.0.0.1:9093/api/v2/alerts");
  http.status = 400;
  Status s = sink.Deliver({Notice(true)});
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("HTTP 400: bad alert"));
  http.refuse = true;
  EXPECT_THAT(sink.Deliver({Notice(true)}).message(), HasSubstr("connection refused"));
}

TEST(AlertNotifier, WebhookSinkPostsTheWebhookPayload) {
  ScriptedHttpClient http;
  WebhookSink sink(http, "http://hooks.local/alert", "http://meshd:9000");
  EXPECT_TRUE(sink.Deliver({Notice(true)}).ok());
  EXPECT_EQ(http.requests[0], "POST http://hooks.local/alert");
  EXPECT_EQ(Parse(http.bodies[0])["version"].asString(), "4");
  http.status = 503;
  EXPECT_FALSE(sink.Deliver({Notice(true)}).ok());
}

TEST(AlertNotifier, ExecSinkFeedsTheAlertOnStdinWithItsEnvironment) {
  testing::TempDir dir;
  const std::string out = dir.File("out");
  ExecSink sink("cat > " + out + "; echo \"$MESH_ALERT_NAME $MESH_ALERT_SERVICE $MESH_ALERT_STATUS "
                "$MESH_ALERT_SEVERITY\" >> " + out);
  ASSERT_TRUE(sink.Deliver({Notice(false)}).ok());
  const std::string text = testing::ReadFile(out);
  const size_t newline = text.find('\n');
  ASSERT_NE(newline, std::string::npos);
  const Json::Value v = Parse(text.substr(0, newline));
  EXPECT_EQ(v["rule"].asString(), "high_error_rate");
  EXPECT_EQ(v["status"].asString(), "resolved");
  EXPECT_DOUBLE_EQ(v["value"].asDouble(), 7.5);
  EXPECT_EQ(text.substr(newline + 1), "high_error_rate payments resolved critical\n");
}

TEST(AlertNotifier, ExecSinkReportsFailuresAndKillsAHungCommand) {
  EXPECT_THAT(ExecSink("exit 3").Deliver({Notice(true)}).message(), HasSubstr("exited with status 3"));
  EXPECT_THAT(ExecSink("/nonexistent/cmd").Deliver({Notice(true)}).message(), HasSubstr("exited with status 127"));
  // A command that never reads its stdin still succeeds.
  EXPECT_TRUE(ExecSink("true").Deliver({Notice(true), Notice(false)}).ok());
  Status hung = ExecSink("exec sleep 30", kSecond / 5).Deliver({Notice(true)});
  EXPECT_THAT(hung.message(), HasSubstr("killed"));
}

}  // namespace
}  // namespace mesh

#include "mesh/alerting/alert_rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "test_support.h"

namespace mesh {
namespace alerting_alert_rule_test {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

std::string ErrorOf(const std::string& json) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(json);
  EXPECT_FALSE(r.ok()) << json;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

// One rule with the required fields, plus `extra` fields spliced in.
std::string Rule(const std::string& extra, const std::string& name = "r") {
  return R"({"rules":[{"name":")" + name + R"(","signal":"error_rate","op":">","threshold":5)" +
         (extra.empty() ? "" : "," + extra) + "}]}";
}

TEST(AlertRule, ParsesEveryFieldOfARule) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(R"({"rules":[{
    "name":"high_latency","signal":"latency_p95","service":"pay*","window":"2m","op":">=",
    "threshold":500,"for":"90s","keep_firing_for":"5m","resolve_threshold":300,
    "severity":"critical","labels":{"team":"payments"},"annotations":{"summary":"{{service}} {{value}}"}}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  const AlertRule& rule = r->front();
  EXPECT_EQ(rule.name, "high_latency");
  EXPECT_EQ(rule.signal.kind, SignalKind::kLatency);
  EXPECT_DOUBLE_EQ(rule.signal.quantile, 0.95);
  EXPECT_EQ(rule.service, "pay*");
  EXPECT_EQ(rule.window_ns, 120 * kSecond);
  EXPECT_EQ(rule.op, CompareOp::kGe);
  EXPECT_DOUBLE_EQ(rule.threshold, 500);
  EXPECT_EQ(rule.for_ns, 90 * kSecond);
  EXPECT_EQ(rule.keep_firing_for_ns, 300 * kSecond);
  ASSERT_TRUE(rule.resolve_threshold.has_value());
  EXPECT_DOUBLE_EQ(*rule.resolve_threshold, 300);
  EXPECT_EQ(rule.severity, Severity::kCritical);
  EXPECT_EQ(rule.labels, (std::vector<std::pair<std::string, std::string>>{{"team", "payments"}}));
  EXPECT_EQ(rule.annotations.size(), 1u);
}

TEST(AlertRule, DefaultsToEveryServiceOneMinuteNoForWarning) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(Rule(""));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->front().service, "*");
  EXPECT_EQ(r->front().window_ns, 60 * kSecond);
  EXPECT_EQ(r->front().for_ns, 0);
  EXPECT_EQ(r->front().severity, Severity::kWarning);
  EXPECT_FALSE(r->front().resolve_threshold.has_value());
}

TEST(AlertRule, AcceptsABareArrayAndNumbersOfSecondsForDurations) {
  Result<std::vector<AlertRule>> r =
      ParseAlertRules(R"([{"name":"a","signal":"request_rate","op":"<","threshold":1,"window":300,"for":0.5}])");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->front().window_ns, 300 * kSecond);
  EXPECT_EQ(r->front().for_ns, kSecond / 2);
}

TEST(AlertRule, ParsesLogRateWithALevelAndMetricSignals) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(R"([
    {"name":"logs","signal":"log_rate","level":"warning","op":">","threshold":1},
    {"name":"cpu","signal":"metric","metric":"process_cpu_seconds_total","aggregate":"rate",
     "match":{"instance":"a"},"op":">","threshold":0.9}])");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].signal.kind, SignalKind::kLogRate);
  EXPECT_EQ((*r)[0].signal.level, LogLevel::kWarn);
  EXPECT_EQ((*r)[1].signal.kind, SignalKind::kMetric);
  EXPECT_EQ((*r)[1].signal.metric, "process_cpu_seconds_total");
  EXPECT_EQ((*r)[1].signal.aggregate, MetricAggregate::kRate);
  EXPECT_EQ((*r)[1].signal.match.size(), 1u);
}

TEST(AlertRule, TheExampleRulesFileIsValid) {
  const std::string text = testing::ReadFile(std::string(MESH_SOURCE_DIR) + "/share/mesh/rules.example.json");
  Result<std::vector<AlertRule>> r = ParseAlertRules(text);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_GE(r->size(), 2u);
  // It extends the built-ins: its first rule overrides the built-in p99 rule with a lower bar.
  EXPECT_EQ((*r)[0].name, "high_latency_p99");
  EXPECT_EQ((*r)[0].signal.kind, SignalKind::kLatency);
  EXPECT_DOUBLE_EQ((*r)[0].signal.quantile, 0.99);
  EXPECT_DOUBLE_EQ((*r)[0].threshold, 300);
  EXPECT_EQ((*r)[0].severity, Severity::kWarning);
}

TEST(AlertRule, NoDataIsUnknownUnlessTheRuleSaysOk) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(Rule(""));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE((*r)[0].no_data_ok);
  r = ParseAlertRules(Rule(R"("no_data":"ok")"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE((*r)[0].no_data_ok);
  EXPECT_THAT(ErrorOf(Rule(R"("no_data":"fine")")), HasSubstr("field \"no_data\": expected ok or unknown"));
  EXPECT_THAT(ErrorOf(Rule(R"("no_data":true)")), HasSubstr("field \"no_data\""));
}

TEST(AlertRule, ADocumentMaySayWhetherTheBuiltInsApplyWithABoolean) {
  EXPECT_TRUE(ParseAlertRules(R"({"defaults":false,"rules":[]})").ok());
  EXPECT_THAT(ErrorOf(R"({"defaults":"no","rules":[]})"), HasSubstr("field \"defaults\": expected true or false"));
  EXPECT_THAT(ErrorOf(R"({"default":false,"rules":[]})"), HasSubstr("unknown field \"default\""));
}

TEST(AlertRule, ParsesTheRegistryAndSaturationSignals) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(
      R"([{"name":"down","signal":"healthy_instances","op":"<","threshold":1},
          {"name":"full","signal":"saturation","op":">","threshold":0}])");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].signal.kind, SignalKind::kHealthyInstances);
  EXPECT_EQ(SignalUnit((*r)[0].signal), "");
  EXPECT_EQ((*r)[1].signal.kind, SignalKind::kSaturation);
  EXPECT_EQ(SignalUnit((*r)[1].signal), "/s");
  EXPECT_THAT(ErrorOf(R"([{"name":"x","signal":"healthy_instances","metric":"m","op":"<","threshold":1}])"),
              HasSubstr("only for the metric signal"));
}

TEST(AlertRule, ErrorsNameTheRuleAndTheField) {
  EXPECT_THAT(ErrorOf(Rule(R"("window":"soon")", "slow")), HasSubstr("rule \"slow\": field \"window\""));
  EXPECT_THAT(ErrorOf(Rule(R"("window":"0s")")), HasSubstr("field \"window\""));
  EXPECT_THAT(ErrorOf(Rule(R"("for":-1)")), HasSubstr("field \"for\""));
  EXPECT_THAT(ErrorOf(Rule(R"("for":"8d")")), HasSubstr("field \"for\""));
  EXPECT_THAT(ErrorOf(Rule(R"("severity":"page")")), HasSubstr("field \"severity\": expected info, warning or critical"));
  EXPECT_THAT(ErrorOf(Rule(R"("treshold":4)")), HasSubstr("field \"treshold\": unknown field"));
  EXPECT_THAT(ErrorOf(Rule(R"("service":"")")), HasSubstr("field \"service\""));
  EXPECT_THAT(ErrorOf(Rule(R"("labels":{"bad-name":"x"})")), HasSubstr("not a valid label name"));
  EXPECT_THAT(ErrorOf(Rule(R"("labels":{"severity":"x"})")), HasSubstr("set by meshalert itself"));
  EXPECT_THAT(ErrorOf(Rule(R"("labels":{"team":3})")), HasSubstr("expected a string"));
  EXPECT_THAT(ErrorOf(Rule(R"("annotations":{"s":"{{nope}}"})")), HasSubstr("unknown placeholder {{nope}}"));
  EXPECT_THAT(ErrorOf(Rule(R"("annotations":{"s":"{{service"})")), HasSubstr("unclosed {{"));
  EXPECT_THAT(ErrorOf(Rule(R"("level":"error")")), HasSubstr("field \"level\": only for the log_rate signal"));
  EXPECT_THAT(ErrorOf(Rule(R"("metric":"x")")), HasSubstr("field \"metric\": only for the metric signal"));
  EXPECT_THAT(ErrorOf(Rule(R"("resolve_threshold":9)")), HasSubstr("must be at most the threshold"));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"error_rate","op":"=","threshold":5}])"), HasSubstr("field \"op\""));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"error_rate","op":">"}])"), HasSubstr("field \"threshold\": required"));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"error_rate","op":">","threshold":"5"}])"), HasSubstr("field \"threshold\""));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"latency_p42","op":">","threshold":5}])"),
              HasSubstr("unknown signal \"latency_p42\""));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"metric","op":">","threshold":5}])"),
              HasSubstr("field \"metric\": required"));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"metric","metric":"x","aggregate":"p99","op":">","threshold":5}])"),
              HasSubstr("field \"aggregate\""));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"log_rate","level":"loud","op":">","threshold":5}])"),
              HasSubstr("field \"level\""));
  EXPECT_THAT(ErrorOf(R"([{"name":"r","signal":"error_rate","op":"==","threshold":5,"resolve_threshold":1}])"),
              HasSubstr("needs an ordering op"));
}

TEST(AlertRule, RejectsMissingOrDuplicateNamesAndBadDocuments) {
  EXPECT_THAT(ErrorOf(R"([{"signal":"error_rate","op":">","threshold":5}])"), HasSubstr("rule #1: field \"name\""));
  EXPECT_THAT(ErrorOf(R"([{"name":"a","signal":"error_rate","op":">","threshold":5},
                          {"name":"a","signal":"error_rate","op":">","threshold":5}])"),
              HasSubstr("rule \"a\": field \"name\": defined twice"));
  EXPECT_THAT(ErrorOf("[1]"), HasSubstr("rule #1: expected an object"));
  EXPECT_THAT(ErrorOf("{\"rules\":{}}"), HasSubstr("expected {\"rules\": [...]}"));
  EXPECT_THAT(ErrorOf("{\"groups\":[]}"), HasSubstr("unknown field \"groups\""));
  EXPECT_THAT(ErrorOf("{\"rules\":["), HasSubstr("rules file"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("rules file"));
}

TEST(AlertRule, SurvivesTruncatedDocuments) {
  const std::string text = testing::ReadFile(std::string(MESH_SOURCE_DIR) + "/share/mesh/rules.example.json");
  // Every cut before the closing brace (past it, only the trailing newline is cut).
  for (size_t n = 0; n < text.rfind('}'); n += 7) {
    Result<std::vector<AlertRule>> r = ParseAlertRules(text.substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(AlertRule, ComparesWithEveryOperator) {
  EXPECT_TRUE(Compare(CompareOp::kGt, 6, 5));
  EXPECT_FALSE(Compare(CompareOp::kGt, 5, 5));
  EXPECT_TRUE(Compare(CompareOp::kGe, 5, 5));
  EXPECT_TRUE(Compare(CompareOp::kLt, 4, 5));
  EXPECT_FALSE(Compare(CompareOp::kLe, 6, 5));
  EXPECT_TRUE(Compare(CompareOp::kEq, 5, 5));
  EXPECT_TRUE(Compare(CompareOp::kNe, 4, 5));
}

TEST(AlertRule, GlobMatchesLikeAShell) {
  EXPECT_TRUE(GlobMatch("*", "payments"));
  EXPECT_TRUE(GlobMatch("pay*", "payments"));
  EXPECT_TRUE(GlobMatch("*ments", "payments"));
  EXPECT_TRUE(GlobMatch("p?y*s", "payments"));
  EXPECT_TRUE(GlobMatch("[op]ayments", "payments"));
  EXPECT_TRUE(GlobMatch("[a-q]ayments", "payments"));
  EXPECT_FALSE(GlobMatch("[!p]ayments", "payments"));
  EXPECT_FALSE(GlobMatch("pay", "payments"));
  EXPECT_FALSE(GlobMatch("orders", "payments"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_FALSE(GlobMatch("[", "a"));
}

TEST(AlertRule, ExpandsTemplates) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(Rule(R"("severity":"critical")", "high_error_rate"));
  ASSERT_TRUE(r.ok());
  const AlertRule& rule = r->front();
  EXPECT_EQ(ExpandTemplate("{{service}}: {{value}}{{unit}} > {{threshold}} ({{rule}}, {{ severity }}, {{signal}})",
                           rule, {"payments", 7.25}),
            "payments: 7.25% > 5 (high_error_rate, critical, error_rate)");
  EXPECT_EQ(ExpandTemplate("{{value}}", rule, {"x", std::nullopt}), "no data");
  EXPECT_EQ(ExpandTemplate("{{other}} {{", rule, {"x", 1.0}), "{{other}} {{");
}

TEST(AlertRule, FormatsValuesShortly) {
  EXPECT_EQ(FormatAlertValue(5), "5");
  EXPECT_EQ(FormatAlertValue(12.34567), "12.346");
  EXPECT_EQ(FormatAlertValue(0.1), "0.1");
  EXPECT_EQ(FormatAlertValue(-0.0001), "0");
}

// Found by fuzz/alert_rules_fuzzer: the 64-byte buffer cut "%.3f" of anything past 1e60 short,
// so a threshold of -5.1e296 was printed as a wrong 63-character number.
TEST(AlertRule, FormatsHugeValuesInFull) {
  for (double value : {-5.1e296, 1e61, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest()}) {
    EXPECT_EQ(std::strtod(FormatAlertValue(value).c_str(), nullptr), value) << FormatAlertValue(value);
  }
  Result<std::vector<AlertRule>> r = ParseAlertRules(
      R"([{"name":"g","signal":"error_rate","op":"!=","threshold":-0.00051e300,"annotations":{"s":"{{threshold}}"}}])");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::string text = ExpandTemplate(r->front().annotations.front().second, r->front(), {});
  EXPECT_EQ(std::strtod(text.c_str(), nullptr), -5.1e296) << text;
}

}  // namespace
}  // namespace mesh

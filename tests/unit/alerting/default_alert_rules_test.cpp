#include "mesh/alerting/default_alert_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace alerting_default_alert_rules_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

std::vector<std::string> Names(const EffectiveRules& e) {
  std::vector<std::string> names;
  for (const AlertRule& r : e.rules) names.push_back(r.name);
  return names;
}

EffectiveRules Combine(const std::optional<std::string>& file) {
  Result<EffectiveRules> e = CombineWithDefaultRules(file);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return e.ok() ? *e : EffectiveRules{};
}

TEST(DefaultAlertRules, CoverTheGoldenSignalsWithTheDocumentedThresholds) {
  Result<std::vector<AlertRule>> r = ParseAlertRules(DefaultAlertRulesJson());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 4u);
  const AlertRule& errors = (*r)[0];
  EXPECT_EQ(errors.name, "high_error_rate");
  EXPECT_EQ(errors.signal.kind, SignalKind::kErrorRate);
  EXPECT_EQ(errors.op, CompareOp::kGt);
  EXPECT_DOUBLE_EQ(errors.threshold, 5);
  EXPECT_EQ(errors.resolve_threshold, 3);
  EXPECT_EQ(errors.for_ns, 60 * kSecond);
  EXPECT_EQ(errors.severity, Severity::kCritical);
  const AlertRule& latency = (*r)[1];
  EXPECT_EQ(latency.name, "high_latency_p99");
  EXPECT_DOUBLE_EQ(latency.signal.quantile, 0.99);
  EXPECT_DOUBLE_EQ(latency.threshold, 500);
  EXPECT_EQ(latency.for_ns, 300 * kSecond);
  const AlertRule& down = (*r)[2];
  EXPECT_EQ(down.name, "instance_down");
  EXPECT_EQ(down.signal.kind, SignalKind::kHealthyInstances);
  EXPECT_EQ(down.op, CompareOp::kLt);
  EXPECT_DOUBLE_EQ(down.threshold, 1);
  EXPECT_EQ(down.for_ns, 60 * kSecond);
  EXPECT_TRUE(down.no_data_ok);
  const AlertRule& saturation = (*r)[3];
  EXPECT_EQ(saturation.name, "saturation");
  EXPECT_EQ(saturation.signal.kind, SignalKind::kSaturation);
  EXPECT_EQ(saturation.window_ns, 300 * kSecond);
  EXPECT_DOUBLE_EQ(saturation.threshold, 0);
  EXPECT_EQ(saturation.severity, Severity::kWarning);
  EXPECT_TRUE(saturation.no_data_ok);
}

TEST(DefaultAlertRules, NoFileMeansTheBuiltInsAlone) {
  const EffectiveRules e = Combine(std::nullopt);
  EXPECT_THAT(Names(e), ElementsAre("high_error_rate", "high_latency_p99", "instance_down", "saturation"));
  EXPECT_THAT(e.built_in, ElementsAre(true, true, true, true));
}

TEST(DefaultAlertRules, AFileExtendsThemAndOverridesOneOfTheSameName) {
  const EffectiveRules e = Combine(R"({"rules":[
      {"name":"queue_deep","signal":"metric","metric":"queue_depth","op":">","threshold":10},
      {"name":"high_error_rate","signal":"error_rate","op":">","threshold":1,"severity":"warning"}]})");
  EXPECT_THAT(Names(e), ElementsAre("high_error_rate", "high_latency_p99", "instance_down", "saturation", "queue_deep"));
  EXPECT_THAT(e.built_in, ElementsAre(false, true, true, true, false));
  EXPECT_DOUBLE_EQ(e.rules[0].threshold, 1);  // the file's, whole: no field of the built-in remains
  EXPECT_FALSE(e.rules[0].resolve_threshold.has_value());
  EXPECT_EQ(e.rules[0].severity, Severity::kWarning);
}

TEST(DefaultAlertRules, DefaultsFalseTurnsThemOff) {
  const EffectiveRules e = Combine(R"({"defaults":false,"rules":[
      {"name":"high_error_rate","signal":"error_rate","op":">","threshold":1}]})");
  EXPECT_THAT(Names(e), ElementsAre("high_error_rate"));
  EXPECT_THAT(e.built_in, ElementsAre(false));
  EXPECT_TRUE(Combine(R"({"defaults":false,"rules":[]})").rules.empty());
  // A bare array has no "defaults": the built-ins apply.
  EXPECT_EQ(Combine("[]").rules.size(), 4u);
}

TEST(DefaultAlertRules, TheCombinedJsonIsTheSameRulesAgain) {
  const EffectiveRules e = Combine(R"([{"name":"x","signal":"request_rate","op":"<","threshold":1}])");
  Result<std::vector<AlertRule>> again = ParseAlertRules(e.json);
  ASSERT_TRUE(again.ok()) << again.status().message();
  ASSERT_EQ(again->size(), e.rules.size());
  for (size_t i = 0; i < e.rules.size(); ++i) {
    EXPECT_EQ((*again)[i].name, e.rules[i].name);
    EXPECT_EQ((*again)[i].threshold, e.rules[i].threshold);
  }
}

TEST(DefaultAlertRules, ABadFileIsRefusedWithTheFilesOwnErrors) {
  Result<EffectiveRules> e =
      CombineWithDefaultRules(R"([{"name":"high_error_rate","signal":"error_rate","op":">","threshold":5,"window":"x"}])");
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), HasSubstr("rule \"high_error_rate\": field \"window\""));
  EXPECT_FALSE(CombineWithDefaultRules(R"({"defaults":0,"rules":[]})").ok());
  EXPECT_FALSE(CombineWithDefaultRules("{\"rules\":[").ok());
}

TEST(DefaultAlertRules, TheExampleFileOverridesOneBuiltInAndAddsTheRest) {
  const std::string text = testing::ReadFile(std::string(MESH_SOURCE_DIR) + "/share/mesh/rules.example.json");
  const EffectiveRules e = Combine(text);
  ASSERT_GE(e.rules.size(), 5u);
  EXPECT_EQ(e.rules[1].name, "high_latency_p99");
  EXPECT_FALSE(e.built_in[1]);
  EXPECT_DOUBLE_EQ(e.rules[1].threshold, 300);
  EXPECT_TRUE(e.built_in[0]);  // high_error_rate stays the built-in
}

}  // namespace
}  // namespace mesh

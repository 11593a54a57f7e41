#include "mesh/controlplane/prometheus_targets.h"

#include <gtest/gtest.h>
#include <json/json.h>

#include <sstream>

namespace mesh {
namespace controlplane_prometheus_targets_test {

constexpr int64_t kNow = 1'000'000'000'000;
constexpr int64_t kTtl = 15'000'000'000;

Instance Healthy(const std::string& service, int port, const std::string& meta) {
  Instance i;
  i.service = service;
  i.host = "127.0.0.1";
  i.port = port;
  i.id = service + "@127.0.0.1:" + std::to_string(port);
  i.meta = meta;
  i.heartbeat_ns = kNow - 1'000'000'000;
  i.ttl_ns = kTtl;
  return i;
}

Json::Value Parse(const std::string& text) {
  Json::Value v;
  std::istringstream in(text);
  Json::CharReaderBuilder builder;
  std::string errors;
  EXPECT_TRUE(Json::parseFromStream(builder, in, &v, &errors)) << errors << " in " << text;
  return v;
}

TEST(PrometheusTargets, MeshdAloneWhenTheRegistryIsEmpty) {
  const std::vector<TargetGroup> groups = BuildPrometheusTargets({}, kNow, "127.0.0.1:9000");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].targets, std::vector<std::string>{"127.0.0.1:9000"});
  EXPECT_EQ(groups[0].labels, (std::map<std::string, std::string>{{"mesh_role", "meshd"}}));
  EXPECT_EQ(FormatTargetGroups(groups),
            R"([{"targets":["127.0.0.1:9000"],"labels":{"mesh_role":"meshd"}}])");
}

TEST(PrometheusTargets, EmptyArrayWithoutMeshdAddressOrInstances) {
  EXPECT_TRUE(BuildPrometheusTargets({}, kNow, "").empty());
  EXPECT_EQ(FormatTargetGroups({}), "[]");
}

TEST(PrometheusTargets, OneProxyGroupPerHealthyInstanceWithItsLabels) {
  const std::vector<Instance> instances = {
      Healthy("orders", 15011, R"({"proxy":"meshproxy 0.1.0","admin":"127.0.0.1:15091"})"),
      Healthy("frontend", 15001, R"({"admin":"127.0.0.1:15090"})")};
  const std::vector<TargetGroup> groups =
      BuildPrometheusTargets(instances, kNow, "meshd.local:9000");
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].targets, std::vector<std::string>{"meshd.local:9000"});
  // Sorted by service: frontend before orders.
  EXPECT_EQ(groups[1].targets, std::vector<std::string>{"127.0.0.1:15090"});
  EXPECT_EQ(groups[1].labels,
            (std::map<std::string, std::string>{{"service", "frontend"},
                                                {"mesh_instance", "frontend@127.0.0.1:15001"},
                                                {"mesh_role", "proxy"}}));
  EXPECT_EQ(groups[2].targets, std::vector<std::string>{"127.0.0.1:15091"});
  EXPECT_EQ(groups[2].labels.at("service"), "orders");
}

TEST(PrometheusTargets, AppGroupWithItsMetricsPathWhenMetaNamesBoth) {
  const std::vector<Instance> instances = {Healthy(
      "orders", 15011,
      R"({"admin":"127.0.0.1:15091","app":"127.0.0.1:8081","app_metrics_path":"/internal/metrics"})")};
  const std::vector<TargetGroup> groups = BuildPrometheusTargets(instances, kNow, "");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].labels.at("mesh_role"), "proxy");
  EXPECT_EQ(groups[0].labels.count("__metrics_path__"), 0u);
  EXPECT_EQ(groups[1].targets, std::vector<std::string>{"127.0.0.1:8081"});
  EXPECT_EQ(groups[1].labels,
            (std::map<std::string, std::string>{{"__metrics_path__", "/internal/metrics"},
                                                {"service", "orders"},
                                                {"mesh_instance", "orders@127.0.0.1:15011"},
                                                {"mesh_role", "app"}}));
}

TEST(PrometheusTargets, NoAppGroupWithoutBothKeysOrWithABadPath) {
  for (
      const char* meta :
      {R"({"admin":"127.0.0.1:15091","app":"127.0.0.1:8081"})",
       R"({"admin":"127.0.0.1:15091","app_metrics_path":"/metrics"})",
       R"({"admin":"127.0.0.1:15091","app":"127.0.0.1:8081","app_metrics_path":"metrics"})",
       R"({"admin":"127.0.0.1:15091","app":"127.0.0.1:8081","app_metrics_path":"/m x"})",
       R"({"admin":"127.0.0.1:15091","app":"127.0.0.1:8081","app_metrics_path":"/m?x=1"})",
       R"({"admin":"127.0.0.1:15091","app":"http://127.0.0.1:8081","app_metrics_path":"/metrics"})",
       R"({"admin":"127.0.0.1:15091","app":8081,"app_metrics_path":"/metrics"})"}) {
    const std::vector<TargetGroup> groups =
        BuildPrometheusTargets({Healthy("a", 1, meta)}, kNow, "");
    ASSERT_EQ(groups.size(), 1u) << meta;
    EXPECT_EQ(groups[0].labels.at("mesh_role"), "proxy") << meta;
  }
}

TEST(PrometheusTargets, LeavesOutUnhealthyInstances) {
  Instance stale = Healthy("orders", 15011, R"({"admin":"127.0.0.1:15091"})");
  stale.heartbeat_ns = kNow - 2 * kTtl;
  EXPECT_TRUE(BuildPrometheusTargets({stale}, kNow, "").empty());
}

TEST(PrometheusTargets, LeavesOutAdminAddressesPrometheusCannotScrape) {
  for (const char* meta :
       {"", "not json", "[1,2]", R"({"proxy":"x"})", R"({"admin":"127.0.0.1:0"})",
        R"({"admin":"127.0.0.1"})", R"({"admin":"127.0.0.1:99999"})",
        R"({"admin":"127.0.0.1:15090/metrics"})", R"({"admin":"evil host:80"})",
        R"({"admin":15090})"}) {
    EXPECT_TRUE(BuildPrometheusTargets({Healthy("a", 1, meta)}, kNow, "").empty()) << meta;
  }
}

TEST(PrometheusTargets, WildcardAdminHostBecomesTheInstanceHost) {
  Instance i = Healthy("orders", 15011,
                       R"({"admin":"0.0.0.0:15091","app":":8081","app_metrics_path":"/metrics"})");
  i.host = "10.0.0.7";
  const std::vector<TargetGroup> groups = BuildPrometheusTargets({i}, kNow, "");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].targets, std::vector<std::string>{"10.0.0.7:15091"});
  EXPECT_EQ(groups[1].targets, std::vector<std::string>{"10.0.0.7:8081"});
}

TEST(PrometheusTargets, BadMeshdAddressIsLeftOut) {
  for (const char* host : {"localhost", ":9000", "a b:9000", "127.0.0.1:0", "h:x"}) {
    EXPECT_TRUE(BuildPrometheusTargets({}, kNow, host).empty()) << host;
  }
  EXPECT_EQ(BuildPrometheusTargets({}, kNow, "[::1]:9000").at(0).targets[0], "[::1]:9000");
}

TEST(PrometheusTargets, JsonIsTheHttpSdShape) {
  const std::vector<Instance> instances = {Healthy(
      "orders", 15011,
      R"({"admin":"127.0.0.1:15091","app":"127.0.0.1:8081","app_metrics_path":"/metrics"})")};
  const Json::Value v =
      Parse(FormatTargetGroups(BuildPrometheusTargets(instances, kNow, "127.0.0.1:9000")));
  ASSERT_TRUE(v.isArray());
  ASSERT_EQ(v.size(), 3u);
  for (const Json::Value& group : v) {
    ASSERT_TRUE(group["targets"].isArray());
    ASSERT_EQ(group["targets"].size(), 1u);
    ASSERT_TRUE(group["labels"].isObject());
    for (const std::string& name : group["labels"].getMemberNames()) {
      EXPECT_TRUE(group["labels"][name].isString()) << name;
    }
  }
  EXPECT_EQ(v[2]["labels"]["__metrics_path__"].asString(), "/metrics");
  EXPECT_EQ(v[1]["labels"]["mesh_instance"].asString(), "orders@127.0.0.1:15011");
}

TEST(PrometheusTargets, LabelValuesAreEscaped) {
  const std::vector<TargetGroup> groups = {{{"h:1"}, {{"service", "a\"b\\c"}}}};
  EXPECT_EQ(FormatTargetGroups(groups), R"([{"targets":["h:1"],"labels":{"service":"a\"b\\c"}}])");
}

}  // namespace
}  // namespace mesh

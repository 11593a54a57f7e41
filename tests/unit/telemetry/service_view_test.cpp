#include "mesh/telemetry/service_view.h"

#include <gtest/gtest.h>
#include <json/json.h>

#include <cmath>
#include <string>

#include "mesh/base/json_text.h"

namespace mesh {
namespace telemetry_service_view_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

Json::Value ParseOrDie(const std::string& text) {
  Result<Json::Value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : Json::Value();
}

TEST(ServiceViewWindow, AcceptsTheDashboardsWindowsOnly) {
  EXPECT_EQ(*ParseServiceViewWindow("15m"), 900 * kSecond);
  EXPECT_EQ(*ParseServiceViewWindow("1h"), 3600 * kSecond);
  EXPECT_EQ(*ParseServiceViewWindow("7d"), 7 * 86400 * kSecond);
  for (const char* bad : {"", "2h", "1H", "0s", "-1h", "1h ", "999999999999d", "1h&x=1"}) {
    Result<int64_t> w = ParseServiceViewWindow(bad);
    ASSERT_FALSE(w.ok()) << bad;
    EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(ServiceMapJson, EdgesCarryRateErrorPercentAndP99) {
  ServiceMap map{kT0, kT0 + 3600 * kSecond, {"api", "web"}, {{"web", "api", 36, 9, 250'000'000}}};
  const Json::Value v = ParseOrDie(EncodeServiceMapJson(map));
  EXPECT_EQ(v["window_seconds"].asInt64(), 3600);
  EXPECT_EQ(v["services"][1].asString(), "web");
  const Json::Value& e = v["edges"][0];
  EXPECT_EQ(e["caller"].asString(), "web");
  EXPECT_EQ(e["calls"].asInt64(), 36);
  EXPECT_DOUBLE_EQ(e["rps"].asDouble(), 0.01);
  EXPECT_DOUBLE_EQ(e["error_percent"].asDouble(), 25.0);
  EXPECT_DOUBLE_EQ(e["p99_ms"].asDouble(), 250.0);
}

TEST(ServiceViewJson, WritesEverySectionAndEscapesNames) {
  ServiceView view;
  view.service = "api\"<x>";
  view.since_ns = kT0;
  view.until_ns = kT0 + 900 * kSecond;
  view.timeline = {{kT0, {3, 0, 1, 2}, 0.05, 0.2, 0.4}, {kT0 + 15 * kSecond, {}, {}, {}, {}}};
  view.latency = {{0.1, 3}, {INFINITY, 1}};
  view.slowest = {{"api", "GET /a", 4, 1, 10'000'000, 20'000'000, 30'000'000}};
  view.errors = {{"http", "503", 2}};
  view.callers = {{"web", "api\"<x>", 9, 0, 5'000'000}};
  // The members meshd appends go before the closing brace the encoder leaves off.
  const Json::Value v = ParseOrDie(EncodeServiceViewJsonOpen(view) + "}");
  EXPECT_EQ(v["service"].asString(), "api\"<x>");
  EXPECT_DOUBLE_EQ(v["step_seconds"].asDouble(), 15.0);
  EXPECT_DOUBLE_EQ(v["timeline"][0]["5xx"].asDouble(), 2.0);
  EXPECT_DOUBLE_EQ(v["timeline"][0]["p99_ms"].asDouble(), 400.0);
  EXPECT_TRUE(v["timeline"][1]["p50_ms"].isNull());
  EXPECT_DOUBLE_EQ(v["latency"][0]["le"].asDouble(), 0.1);
  EXPECT_EQ(v["latency"][1]["le"].asString(), "+Inf");
  EXPECT_EQ(v["slowest"][0]["operation"].asString(), "GET /a");
  EXPECT_DOUBLE_EQ(v["slowest"][0]["p99_ms"].asDouble(), 30.0);
  EXPECT_EQ(v["errors"][0]["value"].asString(), "503");
  EXPECT_EQ(v["callers"][0]["service"].asString(), "web");
  EXPECT_DOUBLE_EQ(v["callers"][0]["rps"].asDouble(), 0.01);
  EXPECT_TRUE(v["callees"].isArray());
}

TEST(ServiceEdges, SortBusiestFirstThenByName) {
  std::vector<ServiceEdge> edges = {{"b", "x", 1, 0, 0}, {"a", "x", 5, 0, 0}, {"a", "y", 1, 0, 0}};
  SortEdgesByCalls(edges);
  EXPECT_EQ(edges[0].caller, "a");
  EXPECT_EQ(edges[1].callee, "y");
  EXPECT_EQ(edges[2].caller, "b");
}

}  // namespace telemetry_service_view_test
}  // namespace mesh

// GET /v1/services/{name}/dashboard and GET /v1/service-map on an in-process meshd: what was
// ingested over HTTP comes back with its rates and error shares; a bad window is a 400 JSON.
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <string>

#include "in_process_meshd.h"
#include "mesh/base/json_text.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_control_plane_service_views_test {

using testing::InProcessMeshd;
using testing::TempDir;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One OTLP/HTTP JSON resource holding one span of `service`.
std::string Resource(const std::string& service, const std::string& trace, const std::string& span,
                     const std::string& parent, int64_t start_ns, bool error) {
  return R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" + service +
         R"("}}]},"scopeSpans":[{"spans":[{"traceId":")" + trace + R"(","spanId":")" + span + R"(","parentSpanId":")" +
         parent + R"(","name":"op","kind":2,"startTimeUnixNano":")" + std::to_string(start_ns) +
         R"(","endTimeUnixNano":")" + std::to_string(start_ns + 20'000'000) + R"(","status":{"code":)" +
         (error ? "2" : "1") + "}}]}]}";
}

Json::Value GetJson(const InProcessMeshd& meshd, const std::string& path, int expected_status = 200) {
  const HttpClientResponse r = meshd.Request("GET", path);
  EXPECT_EQ(r.status, expected_status) << path << ": " << r.body;
  Result<Json::Value> v = ParseJson(r.body);
  EXPECT_TRUE(v.ok()) << path << ": " << r.body;
  return v.ok() ? *v : Json::Value();
}

class ServiceViewRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    // web calls api 6 times in traces of the last minute; the api span of 2 of them fails.
    const int64_t start = NowNs() - 60'000'000'000;
    std::string body = R"({"resourceSpans":[)";
    for (int i = 0; i < 6; ++i) {
      const std::string trace = "00000000000000000000000000000a0" + std::to_string(i);
      if (i) body += ',';
      const std::string web_span = "000000000000000" + std::to_string(i + 1);  // an all-zero id is invalid
      body += Resource("web", trace, web_span, "", start, false) + "," +
              Resource("api", trace, "00000000000000a" + std::to_string(i), web_span, start, i < 2);
    }
    body += "]}";
    const HttpClientResponse r = meshd_.Request("POST", "/v1/traces", body);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(meshd_.Request("POST", "/v1/register", R"({"service":"api","host":"10.0.0.7","port":8080})").status, 200);
  }

  TempDir dir_;
  InProcessMeshd meshd_{dir_.File("mesh.db")};
};

TEST_F(ServiceViewRoutes, MapEdgeHasItsRateAndErrorPercentOverTheWindow) {
  const Json::Value map = GetJson(meshd_, "/v1/service-map?window=15m");
  EXPECT_EQ(map["window_seconds"].asInt64(), 900);
  ASSERT_EQ(map["services"].size(), 2u);
  ASSERT_EQ(map["edges"].size(), 1u);
  const Json::Value& edge = map["edges"][0];
  EXPECT_EQ(edge["caller"].asString(), "web");
  EXPECT_EQ(edge["callee"].asString(), "api");
  EXPECT_EQ(edge["calls"].asInt64(), 6);
  EXPECT_DOUBLE_EQ(edge["rps"].asDouble(), 6.0 / 900);
  EXPECT_NEAR(edge["error_percent"].asDouble(), 100.0 / 3, 1e-9);
}

TEST_F(ServiceViewRoutes, ServiceDashboardHasCallersInstancesAndIdentity) {
  const Json::Value view = GetJson(meshd_, "/v1/services/api/dashboard");  // 1h by default
  EXPECT_EQ(view["window_seconds"].asInt64(), 3600);
  EXPECT_EQ(view["timeline"].size(), 60u);
  ASSERT_EQ(view["callers"].size(), 1u);
  EXPECT_EQ(view["callers"][0]["service"].asString(), "web");
  EXPECT_EQ(view["callers"][0]["errors"].asInt64(), 2);
  EXPECT_EQ(view["slowest"][0]["count"].asInt64(), 6);
  ASSERT_EQ(view["instances"].size(), 1u);
  EXPECT_EQ(view["instances"][0]["host"].asString(), "10.0.0.7");
  EXPECT_TRUE(view["instances"][0]["healthy"].asBool());
  EXPECT_EQ(view["identity"].asString(), "spiffe://mesh.local/service/api");
  EXPECT_TRUE(view["error_logs"].isArray());
}

TEST_F(ServiceViewRoutes, RefusesAWindowThePageDoesNotOffer) {
  for (const char* path : {"/v1/service-map?window=2h", "/v1/services/api/dashboard?window=1y",
                           "/v1/services/api/dashboard?window=1h%20", "/v1/service-map?window=-1h"}) {
    const Json::Value error = GetJson(meshd_, path, 400);
    EXPECT_NE(error["error"].asString().find("15m, 1h, 6h, 24h, 7d"), std::string::npos) << path;
  }
}

}  // namespace controlplane_control_plane_service_views_test
}  // namespace mesh

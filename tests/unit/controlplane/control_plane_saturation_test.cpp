// GET /v1/services/{name}/saturation over HTTP on a real control plane: what sidecars pushed,
// per instance; bad windows and names refused with a JSON 400; the read token required. Also
// meshd's own process metrics on its /metrics, beside the pushed ones.
#include <gtest/gtest.h>
#include <json/json.h>

#include <memory>
#include <string>
#include <vector>

#include "in_process_meshd.h"
#include "mesh/controlplane/control_plane.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_control_plane_saturation_test {

using testing::InProcessMeshd;
using testing::TempDir;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;
constexpr char kReadToken[] = "read-token-sat";
constexpr char kWriteToken[] = "write-token-sat";

using Headers = std::vector<std::pair<std::string, std::string>>;
Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

Json::Value Parse(const std::string& text) {
  Json::Value v;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  std::string errors;
  EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &v, &errors)) << errors << "\n" << text;
  return v;
}

std::string Push(double cpu, double rss, double connections) {
  return "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total " + std::to_string(cpu) +
         "\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes " + std::to_string(rss) +
         "\n# TYPE process_open_fds gauge\nprocess_open_fds 30\n# TYPE process_max_fds gauge\nprocess_max_fds 1024\n"
         "# TYPE mesh_client_connections gauge\nmesh_client_connections{service=\"api\",direction=\"inbound\"} " +
         std::to_string(connections) + "\n";
}

class SaturationApi : public ::testing::Test {
 protected:
  SaturationApi()
      : clock_(kT0),
        meshd_(dir_.File("mesh.db"), {.token = kWriteToken, .read_token = kReadToken}, clock_) {}

  void PushAt(int64_t now, const std::string& instance, const std::string& text) {
    clock_.Set(now);
    const HttpClientResponse r = meshd_.Request("POST", "/v1/metrics?service=api&instance=" + instance, text,
                                                {{"Authorization", std::string("Bearer ") + kWriteToken},
                                                 {"Content-Type", "text/plain; version=0.0.4"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  HttpClientResponse Get(const std::string& path) { return meshd_.Request("GET", path, "", Bearer(kReadToken)); }

  TempDir dir_;
  testing::FakeClock clock_;
  InProcessMeshd meshd_;
};

TEST_F(SaturationApi, ListsEachInstanceWithItsFigures) {
  PushAt(kT0, "10.0.0.1:8080", Push(2, 1000, 1));
  PushAt(kT0 + 10 * kSecond, "10.0.0.1:8080", Push(3, 2000, 4));  // 1 CPU s in 10 s
  PushAt(kT0 + 10 * kSecond, "10.0.0.2:8080", Push(1, 500, 0));
  const HttpClientResponse r = Get("/v1/services/api/saturation?window=15m");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json::Value v = Parse(r.body);
  EXPECT_EQ(v["service"].asString(), "api");
  EXPECT_EQ(v["window_seconds"].asDouble(), 900);
  ASSERT_EQ(v["instances"].size(), 2u);
  const Json::Value& first = v["instances"][0];
  EXPECT_EQ(first["instance"].asString(), "10.0.0.1:8080");
  EXPECT_DOUBLE_EQ(first["cpu_cores"].asDouble(), 0.1);
  EXPECT_EQ(first["resident_bytes"].asDouble(), 2000);
  EXPECT_EQ(first["open_fds"].asDouble(), 30);
  EXPECT_EQ(first["max_fds"].asDouble(), 1024);
  EXPECT_EQ(first["connections"].asDouble(), 4);
  EXPECT_TRUE(first["queue_depth"].isNull());
  EXPECT_EQ(first["history"].size(), 30u);
  EXPECT_EQ(v["instances"][1]["instance"].asString(), "10.0.0.2:8080");
  EXPECT_TRUE(v["instances"][1]["cpu_cores"].isNull());
}

TEST_F(SaturationApi, AServiceWithoutSamplesHasNoInstances) {
  const HttpClientResponse r = Get("/v1/services/nobody/saturation");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Parse(r.body)["instances"].size(), 0u);
  EXPECT_EQ(Parse(r.body)["window_seconds"].asDouble(), 3600);  // the default
}

TEST_F(SaturationApi, RefusesABadWindowWithJson) {
  for (const char* path : {"/v1/services/api/saturation?window=soon", "/v1/services/api/saturation?window=0s",
                           "/v1/services/api/saturation?window=30s", "/v1/services/api/saturation?window=8d",
                           "/v1/services/api/saturation?window=-1h"}) {
    const HttpClientResponse r = Get(path);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_TRUE(Parse(r.body)["error"].isString()) << path << ": " << r.body;
  }
}

// The service page of a span's service the registry would refuse draws its saturation too.
TEST_F(SaturationApi, ANameTheRegistryWouldRefuseHasNoInstances) {
  const HttpClientResponse r = Get("/v1/services/%3Cimg%20src%3Dx%3E/saturation");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json::Value body = Parse(r.body);
  EXPECT_EQ(body["service"].asString(), "<img src=x>");
  EXPECT_EQ(body["instances"].size(), 0u);
}

TEST_F(SaturationApi, NeedsTheReadToken) {
  EXPECT_EQ(meshd_.Request("GET", "/v1/services/api/saturation").status, 401);
  EXPECT_EQ(meshd_.Request("GET", "/v1/services/api/saturation", "", Bearer("wrong")).status, 401);
}

TEST_F(SaturationApi, MeshdExposesItsOwnProcessMetricsBesideThePushedOnes) {
  PushAt(kT0, "10.0.0.1:8080", Push(2, 1000, 1));
  const std::string metrics = Get("/metrics").body;
  for (const char* line : {"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
                           "\nprocess_resident_memory_bytes ", "\nprocess_open_fds ", "\nprocess_max_fds ",
                           "\nprocess_start_time_seconds ", "\nmesh_store_write_queue_depth 0\n",
                           "process_resident_memory_bytes{instance=\"10.0.0.1:8080\",service=\"api\"} 1000\n"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
  EXPECT_EQ(metrics.find("# TYPE process_cpu_seconds_total", metrics.find("# TYPE process_cpu_seconds_total") + 1),
            std::string::npos)
      << "one family, not two";
}

}  // namespace controlplane_control_plane_saturation_test
}  // namespace mesh

// GET /v1/services/{name} with an ETag and If-None-Match, on a real meshd (in process).
#include <gtest/gtest.h>

#include <string>

#include "in_process_meshd.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_service_etag_test {

constexpr int64_t kSecond = 1'000'000'000;

class ServiceETagTest : public ::testing::Test {
 protected:
  void Register(int port, int ttl_seconds = 15) {
    const HttpClientResponse r =
        meshd_.Request("POST", "/v1/register",
                       R"({"service":"payments","host":"127.0.0.1","port":)" + std::to_string(port) +
                           R"(,"ttl_seconds":)" + std::to_string(ttl_seconds) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  HttpClientResponse Get(const std::string& etag) {
    return meshd_.Request("GET", "/v1/services/payments", "", {{"If-None-Match", etag}});
  }

  ::mesh::testing::TempDir dir_;
  ::mesh::testing::FakeClock clock_{1'700'000'000 * kSecond};
  ::mesh::testing::InProcessMeshd meshd_{dir_.File("mesh.db"), {}, clock_};
};

TEST_F(ServiceETagTest, AnUnchangedServiceIs304WithNoBody) {
  Register(9001);
  const HttpClientResponse first = meshd_.Request("GET", "/v1/services/payments");
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.Header("ETag");
  ASSERT_TRUE(etag.starts_with("W/\"")) << etag;
  const HttpClientResponse again = Get(etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty()) << again.body;
  EXPECT_EQ(again.Header("ETag"), etag);
  ASSERT_EQ(meshd_.Request("POST", "/v1/instances/payments@127.0.0.1:9001/heartbeat").status, 200);
  EXPECT_EQ(Get(etag).status, 304) << "a heartbeat of a healthy instance changes nothing a sidecar uses";
}

TEST_F(ServiceETagTest, ANewInstanceADeregistrationAndAnEjectionEachChangeTheTag) {
  Register(9001, 2);
  std::string etag = meshd_.Request("GET", "/v1/services/payments").Header("ETag");
  Register(9002, 2);
  HttpClientResponse changed = Get(etag);
  ASSERT_EQ(changed.status, 200);
  EXPECT_NE(changed.body.find("9002"), std::string::npos) << changed.body;
  EXPECT_NE(changed.Header("ETag"), etag);
  etag = changed.Header("ETag");

  ASSERT_EQ(meshd_.Request("DELETE", "/v1/instances/payments@127.0.0.1:9002").status, 200);
  changed = Get(etag);
  ASSERT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body.find("9002"), std::string::npos) << changed.body;
  etag = changed.Header("ETag");

  clock_.Advance(3 * kSecond);  // past 9001's TTL of 2 s, no heartbeat
  changed = Get(etag);
  ASSERT_EQ(changed.status, 200);
  EXPECT_NE(changed.body.find("\"healthy\":false"), std::string::npos) << changed.body;
  etag = changed.Header("ETag");
  EXPECT_EQ(Get(etag).status, 304);
  ASSERT_EQ(meshd_.Request("POST", "/v1/instances/payments@127.0.0.1:9001/heartbeat").status, 200);
  changed = Get(etag);
  ASSERT_EQ(changed.status, 200) << "healthy again is a change too";
  EXPECT_NE(changed.body.find("\"healthy\":true"), std::string::npos) << changed.body;
}

TEST_F(ServiceETagTest, AnAbsentServiceHasATagUntilItAppears) {
  const HttpClientResponse absent = meshd_.Request("GET", "/v1/services/payments");
  ASSERT_EQ(absent.status, 404);
  const std::string etag = absent.Header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(Get(etag).status, 304) << "still absent";
  EXPECT_EQ(Get("*").status, 404) << "If-None-Match: * holds only for what exists";
  Register(9001);
  EXPECT_EQ(Get(etag).status, 200);
}

TEST_F(ServiceETagTest, ForeignStaleOrMalformedTagsGetTheFullAnswer) {
  Register(9001);
  const std::string etag = meshd_.Request("GET", "/v1/services/payments").Header("ETag");
  // The epoch is the first part: the same version from an earlier meshd is not this one's.
  const std::string other_epoch = "W/\"1-" + etag.substr(etag.find('-') + 1);
  for (const std::string& tag : {other_epoch, std::string("W/\"junk\""), std::string("unquoted"),
                                 std::string("\""), std::string(8000, '"')}) {
    EXPECT_EQ(Get(tag).status, 200) << tag.substr(0, 40);
  }
}

TEST_F(ServiceETagTest, ATagFromBeforeARestartIsNotTrusted) {
  Register(9001);
  const std::string etag = meshd_.Request("GET", "/v1/services/payments").Header("ETag");
  meshd_.Stop();
  clock_.Advance(kSecond);  // a later start: another epoch
  meshd_.Restart();
  EXPECT_EQ(Get(etag).status, 200);
}

}  // namespace controlplane_service_etag_test
}  // namespace mesh

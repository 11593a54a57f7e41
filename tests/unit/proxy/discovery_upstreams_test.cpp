#include "mesh/proxy/discovery_upstreams.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "in_process_meshd.h"
#include "test_support.h"

namespace mesh {
namespace proxy_discovery_upstreams_test {

using namespace std::chrono_literals;

class DiscoveryUpstreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int port : {9001, 9002}) {
      const HttpClientResponse r = meshd_.Request(
          "POST", "/v1/register", R"({"service":"payments","host":"127.0.0.1","port":)" + std::to_string(port) + "}");
      ASSERT_EQ(r.status, 200) << r.body;
    }
    RegistryClient::Options o;
    o.meshd_url = meshd_.url();
    registry_ = std::make_unique<RegistryClient>(o);
    registry_->Instances("payments");  // watch it
    registry_->RefreshNow();
    upstreams_ = std::make_unique<DiscoveryUpstreams>(*registry_, SystemClock::Instance());
  }

  ::mesh::testing::TempDir dir_;
  ::mesh::testing::InProcessMeshd meshd_{dir_.File("mesh.db")};
  std::unique_ptr<RegistryClient> registry_;
  std::unique_ptr<DiscoveryUpstreams> upstreams_;
};

TEST_F(DiscoveryUpstreamsTest, PicksAmongTheRegisteredInstancesByHostNameAndPrefersTheFaster) {
  std::map<int, int> picks;
  for (int i = 0; i < 200; ++i) {
    Result<Endpoint> e = upstreams_->Pick("payments:80", 0);
    ASSERT_TRUE(e.ok()) << e.status().message();
    upstreams_->Started(*e);
    // 9002 answers in 1 ms, 9001 in 200 ms.
    upstreams_->Report(*e, AttemptOutcome::kSuccess, e->port == 9002 ? 1'000'000 : 200'000'000);
    ++picks[e->port];
  }
  EXPECT_GT(picks[9002], 150);
  EXPECT_EQ(picks[9001] + picks[9002], 200);
}

TEST_F(DiscoveryUpstreamsTest, AnUnknownServiceIsNotFound) {
  Result<Endpoint> e = upstreams_->Pick("nobody", 0);
  EXPECT_EQ(e.status().code(), Status::Code::kNotFound);
  EXPECT_NE(e.status().message().find("nobody"), std::string::npos);
}

TEST_F(DiscoveryUpstreamsTest, AServiceAskedForTheFirstTimeIsResolvingUntilMeshdAnswers) {
  const HttpClientResponse r =
      meshd_.Request("POST", "/v1/register", R"({"service":"ledger","host":"127.0.0.1","port":9100})");
  ASSERT_EQ(r.status, 200) << r.body;
  Result<Endpoint> first = upstreams_->Pick("ledger", 0);
  EXPECT_EQ(first.status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(upstreams_->Resolving("ledger:8080"));
  registry_->RefreshNow();  // what the registry's thread does at once for a new service
  EXPECT_FALSE(upstreams_->Resolving("ledger"));
  Result<Endpoint> then = upstreams_->Pick("ledger", 0);
  ASSERT_TRUE(then.ok()) << then.status().message();
  EXPECT_EQ(then->port, 9100);
}

TEST_F(DiscoveryUpstreamsTest, AServiceMeshdHasNoInstanceOfIsNotResolving) {
  upstreams_->Pick("nobody", 0);
  registry_->RefreshNow();
  EXPECT_FALSE(upstreams_->Resolving("nobody")) << "meshd's 404 is an answer: 503 at once";
  EXPECT_EQ(upstreams_->Pick("nobody", 0).status().code(), Status::Code::kNotFound);
}

TEST_F(DiscoveryUpstreamsTest, AnInstanceThatKeepsFailingIsEjected) {
  const Endpoint bad{"127.0.0.1", 9001, "payments@127.0.0.1:9001"};
  ASSERT_TRUE(upstreams_->Pick("payments", 0).ok());  // learns the instances
  for (int i = 0; i < 5; ++i) {
    upstreams_->Started(bad);
    upstreams_->Report(bad, AttemptOutcome::kConnectFailure, 1000);
  }
  EXPECT_EQ(upstreams_->ejections_total(), 1);
  for (int i = 0; i < 20; ++i) {
    Result<Endpoint> e = upstreams_->Pick("payments", 0);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->port, 9002);
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/proxy/registry_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "in_process_meshd.h"
#include "test_support.h"

namespace mesh {
namespace {

using namespace std::chrono_literals;

// Polls `done` every 20 ms for up to 10 s.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

class RegistryClientTest : public ::testing::Test {
 protected:
  RegistryClient::Options Orders() {
    RegistryClient::Options o;
    o.meshd_url = meshd_.url();
    o.service = "orders";
    o.port = 8081;
    o.meta_json = R"({"version":"1.2.3"})";
    o.heartbeat_every = 50ms;
    o.refresh_every = 50ms;
    return o;
  }
  void RegisterPayments(int port) {
    const HttpClientResponse r = meshd_.Request(
        "POST", "/v1/register", R"({"service":"payments","host":"127.0.0.1","port":)" + std::to_string(port) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  ::mesh::testing::TempDir dir_;
  ::mesh::testing::InProcessMeshd meshd_{dir_.File("mesh.db")};
};

TEST_F(RegistryClientTest, RegistersHeartbeatsAndDeregisters) {
  RegistryClient client(Orders());
  client.Start();
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  EXPECT_EQ(client.instance_id(), "orders@127.0.0.1:8081");
  HttpClientResponse service = meshd_.Request("GET", "/v1/services/orders");
  EXPECT_EQ(service.status, 200);
  EXPECT_NE(service.body.find("\"healthy\":true"), std::string::npos) << service.body;
  EXPECT_NE(service.body.find("1.2.3"), std::string::npos) << service.body;
  ASSERT_TRUE(client.Deregister().ok());
  EXPECT_EQ(meshd_.Request("GET", "/v1/services/orders").status, 404);
}

TEST_F(RegistryClientTest, DiscoversTheHealthyInstancesOfAService) {
  RegisterPayments(9001);
  RegisterPayments(9002);
  RegistryClient::Options o = Orders();
  o.service.clear();  // discovery only
  RegistryClient client(o);
  client.Start();
  EXPECT_TRUE(client.Instances("payments").empty()) << "the first ask only starts watching";
  ASSERT_TRUE(Eventually([&] { return client.Instances("payments").size() == 2; }));
  std::vector<Endpoint> found = client.Instances("payments");
  EXPECT_EQ(found[0].host, "127.0.0.1");
  EXPECT_TRUE((found[0].port == 9001 && found[1].port == 9002) || (found[0].port == 9002 && found[1].port == 9001));
  EXPECT_TRUE(client.Instances("nobody").empty());
  EXPECT_FALSE(client.registered());
}

TEST_F(RegistryClientTest, KeepsTheLastKnownInstancesWhileMeshdIsDown) {
  RegisterPayments(9001);
  RegistryClient::Options o = Orders();
  o.service.clear();
  RegistryClient client(o);
  client.Instances("payments");
  client.RefreshNow();
  ASSERT_EQ(client.Instances("payments").size(), 1u);
  meshd_.Stop();
  const int64_t failures = client.meshd_failures();
  client.RefreshNow();
  EXPECT_GT(client.meshd_failures(), failures);
  EXPECT_EQ(client.Instances("payments").size(), 1u);
}

TEST_F(RegistryClientTest, RegistersAgainWhenMeshdForgetsTheInstance) {
  RegistryClient client(Orders());
  client.Start();
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  ASSERT_EQ(meshd_.Request("DELETE", "/v1/instances/orders@127.0.0.1:8081").status, 200);
  EXPECT_TRUE(Eventually([&] { return meshd_.Request("GET", "/v1/services/orders").status == 200; }));
}

TEST_F(RegistryClientTest, RegistersOnceMeshdComesUp) {
  meshd_.Stop();
  RegistryClient client(Orders());
  client.Start();
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(client.registered());
  meshd_.Restart();
  EXPECT_TRUE(Eventually([&] { return client.registered(); }));
}

}  // namespace
}  // namespace mesh

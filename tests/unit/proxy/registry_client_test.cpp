#include "mesh/proxy/registry_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "in_process_meshd.h"
#include "mesh/http/asio_http_client.h"
#include "test_support.h"

namespace mesh {
namespace proxy_registry_client_test {

using namespace std::chrono_literals;

// Polls `done` every 20 ms for up to 10 s.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

// A real client that counts the service lookups it sends.
class CountingClient : public HttpClient {
 public:
  Result<HttpClientResponse> Send(const std::string& method, const std::string& url, const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) override {
    if (url.find("/v1/services/") != std::string::npos) ++lookups;
    return real_.Send(method, url, body, headers);
  }
  std::atomic<int> lookups{0};

 private:
  AsioHttpClient real_{2000};
};

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
  EXPECT_FALSE(client.Instances("payments").has_value()) << "the first ask starts a lookup";
  ASSERT_TRUE(Eventually([&] { return client.Instances("payments").value_or(std::vector<Endpoint>{}).size() == 2; }));
  std::vector<Endpoint> found = *client.Instances("payments");
  EXPECT_EQ(found[0].host, "127.0.0.1");
  EXPECT_TRUE((found[0].port == 9001 && found[1].port == 9002) || (found[0].port == 9002 && found[1].port == 9001));
  EXPECT_FALSE(client.Instances("nobody").has_value());
  ASSERT_TRUE(Eventually([&] { return client.Instances("nobody").has_value(); }));
  EXPECT_TRUE(client.Instances("nobody")->empty()) << "meshd's 404: known to have no instance";
  EXPECT_FALSE(client.registered());
}

TEST_F(RegistryClientTest, AnUnchangedRegistryIsAnswered304AndAChangeStillArrives) {
  RegisterPayments(9001);
  RegistryClient::Options o = Orders();
  o.service.clear();
  RegistryClient client(o);
  client.Instances("payments");
  client.RefreshNow();
  ASSERT_EQ(client.Instances("payments")->size(), 1u);
  EXPECT_EQ(client.unchanged_refreshes(), 0);
  client.RefreshNow();
  client.RefreshNow();
  EXPECT_EQ(client.unchanged_refreshes(), 2) << "the tag held was current: no body";
  EXPECT_EQ(client.Instances("payments")->size(), 1u) << "a 304 keeps the instances held";
  RegisterPayments(9002);
  client.RefreshNow();
  EXPECT_EQ(client.unchanged_refreshes(), 2);
  EXPECT_EQ(client.Instances("payments")->size(), 2u);
  client.RefreshNow();
  EXPECT_EQ(client.unchanged_refreshes(), 3);
}

TEST_F(RegistryClientTest, KeepsTheLastKnownInstancesWhileMeshdIsDown) {
  RegisterPayments(9001);
  RegistryClient::Options o = Orders();
  o.service.clear();
  RegistryClient client(o);
  client.Instances("payments");
  client.RefreshNow();
  ASSERT_EQ(client.Instances("payments")->size(), 1u);
  meshd_.Stop();
  const int64_t failures = client.meshd_failures();
  client.RefreshNow();
  EXPECT_GT(client.meshd_failures(), failures);
  EXPECT_EQ(client.Instances("payments")->size(), 1u);
}

TEST_F(RegistryClientTest, AServiceStaysUnknownWhileMeshdCannotAnswerForIt) {
  RegistryClient::Options o = Orders();
  o.service.clear();
  RegistryClient client(o);
  meshd_.Stop();
  client.Instances("payments");
  client.RefreshNow();
  EXPECT_FALSE(client.Instances("payments").has_value()) << "no answer is not an answer of no instance";
}

TEST_F(RegistryClientTest, WithoutMeshdEveryServiceIsKnownToHaveNoInstance) {
  RegistryClient::Options o = Orders();
  o.meshd_url.clear();
  o.service.clear();
  RegistryClient client(o);
  ASSERT_TRUE(client.Instances("payments").has_value());
  EXPECT_TRUE(client.Instances("payments")->empty());
}

TEST_F(RegistryClientTest, ManyCallersOfANewServiceMakeOneLookup) {
  RegisterPayments(9001);
  RegistryClient::Options o = Orders();
  o.service.clear();
  o.refresh_every = std::chrono::hours(1);  // only the first-ask lookup may reach meshd
  auto counting = std::make_unique<CountingClient>();
  const std::atomic<int>& lookups = counting->lookups;
  RegistryClient client(o, std::move(counting));
  client.Start();
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] { EXPECT_TRUE(Eventually([&] { return client.Instances("payments").has_value(); })); });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(client.Instances("payments")->size(), 1u);
  EXPECT_EQ(lookups.load(), 1);
}

TEST_F(RegistryClientTest, RegistersAgainWhenMeshdForgetsTheInstance) {
  RegistryClient client(Orders());
  client.Start();
  ASSERT_TRUE(Eventually([&] { return client.registered(); }));
  EXPECT_FALSE(client.dropped());
  ASSERT_EQ(meshd_.Request("DELETE", "/v1/instances/orders@127.0.0.1:8081").status, 200);
  ASSERT_TRUE(Eventually([&] { return client.dropped(); })) << "the next heartbeat's 404 is seen";
  EXPECT_TRUE(Eventually([&] { return meshd_.Request("GET", "/v1/services/orders").status == 200; }));
  EXPECT_TRUE(Eventually([&] { return client.registered() && !client.dropped(); }));
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

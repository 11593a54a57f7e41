// Issue 22, discovery long-polls on the real meshd: a parked GET /v1/services/{name}?wait= is
// answered promptly by a registration or an ejection, a client that leaves frees its place
// under --max-watchers (429 past it), shutdown answers parked requests, and meshproxy's
// RegistryClient learns of a change without waiting for its poll.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "mesh/proxy/registry_client.h"
#include "meshd_fixture.h"
#include "raw_connection.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::RawConnection;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class MeshdWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-watch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void Register(MeshdProcess& meshd, int port, int ttl_seconds = 15) {
    const HttpClientResponse r = meshd.Request(
        "POST", "/v1/register",
        "{\"service\":\"api\",\"host\":\"127.0.0.1\",\"port\":" + std::to_string(port) +
            ",\"ttl_seconds\":" + std::to_string(ttl_seconds) + "}",
        {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  static int PortOf(const MeshdProcess& meshd) { return std::stoi(meshd.url().substr(meshd.url().rfind(':') + 1)); }
  // A long-poll on a connection of its own, sent with the service's current tag.
  static std::unique_ptr<RawConnection> Park(MeshdProcess& meshd, int wait_s = 30) {
    const std::string etag = meshd.Request("GET", "/v1/services/api").Header("ETag");
    EXPECT_FALSE(etag.empty());
    auto c = std::make_unique<RawConnection>(PortOf(meshd));
    EXPECT_TRUE(c->Write("GET /v1/services/api?wait=" + std::to_string(wait_s) +
                         " HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag + "\r\n\r\n"));
    return c;
  }
  static int StatusOf(const std::string& reply) {
    return reply.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(reply.c_str() + 9) : 0;
  }

  std::string dir_;
};

TEST_F(MeshdWatchTest, AParkedRequestIsAnsweredPromptlyWhenAnInstanceRegisters) {
  MeshdProcess meshd(dir_ + "/mesh.db");
  ASSERT_TRUE(meshd.ready());
  Register(meshd, 1001);
  std::unique_ptr<RawConnection> parked = Park(meshd);
  std::this_thread::sleep_for(300ms);  // parked by now (an answer before the change fails below)
  const auto changed = Clock::now();
  Register(meshd, 1002);
  const std::string& reply = parked->ReadUntil("1002");
  EXPECT_EQ(StatusOf(reply), 200) << reply;
  EXPECT_NE(reply.find("Mesh-Wait: 60"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"port\":1001"), std::string::npos) << reply;
  // Generous for a loaded machine: meshd ticks every 100 ms; a poll would take up to 2 s.
  EXPECT_LT(Clock::now() - changed, 1500ms);
}

TEST_F(MeshdWatchTest, AnEjectionWakesAParkedRequestWithTheInstanceUnhealthy) {
  MeshdProcess meshd(dir_ + "/mesh.db");
  ASSERT_TRUE(meshd.ready());
  Register(meshd, 1001, 1);  // never heartbeated: unhealthy a second after
  std::unique_ptr<RawConnection> parked = Park(meshd);
  const std::string& reply = parked->ReadUntil("\"healthy\":false");
  EXPECT_EQ(StatusOf(reply), 200) << reply;
  EXPECT_NE(reply.find("\"healthy\":false"), std::string::npos) << reply;
}

TEST_F(MeshdWatchTest, PastMaxWatchersIs429AndAClientThatLeavesFreesItsPlace) {
  MeshdProcess meshd(dir_ + "/mesh.db", {"--max-watchers", "1"});
  ASSERT_TRUE(meshd.ready());
  Register(meshd, 1001);
  std::unique_ptr<RawConnection> first = Park(meshd);
  std::this_thread::sleep_for(300ms);
  EXPECT_NE(meshd.Request("GET", "/metrics").body.find("mesh_registry_watchers 1"), std::string::npos);
  std::unique_ptr<RawConnection> second = Park(meshd, 1);
  const std::string refused = second->ReadUntil("\r\n\r\n");
  EXPECT_EQ(StatusOf(refused), 429) << refused;
  EXPECT_NE(refused.find("Retry-After: 2"), std::string::npos) << refused;
  first.reset();  // the first client leaves
  int status = 0;
  for (const auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    std::unique_ptr<RawConnection> again = Park(meshd, 1);  // 304 after its second, if parked
    status = StatusOf(again->ReadUntil("\r\n\r\n"));
    if (status != 429) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 304) << "the place of the client that left was never freed";
}

TEST_F(MeshdWatchTest, ShutdownAnswersParkedRequestsAndMeshdExitsPromptly) {
  MeshdProcess meshd(dir_ + "/mesh.db");
  ASSERT_TRUE(meshd.ready());
  Register(meshd, 1001);
  std::unique_ptr<RawConnection> parked = Park(meshd);
  std::this_thread::sleep_for(300ms);
  const auto stopping = Clock::now();
  EXPECT_EQ(meshd.Stop().exit_code, 0);
  EXPECT_LT(Clock::now() - stopping, 10s) << "meshd waited for its parked request";
  // Answered (304) or cut off: either way the connection ends, it is not held.
  EXPECT_TRUE(parked->ReadToEnd());
  const int status = StatusOf(parked->received());
  EXPECT_TRUE(status == 304 || status == 0) << parked->received();
}

TEST_F(MeshdWatchTest, RegistryClientLearnsOfAChangeLongBeforeItsNextPoll) {
  MeshdProcess meshd(dir_ + "/mesh.db");
  ASSERT_TRUE(meshd.ready());
  Register(meshd, 1001);
  RegistryClient::Options options;
  options.meshd_url = meshd.url();
  options.refresh_every = std::chrono::minutes(10);  // only a long-poll brings the change in time
  RegistryClient client(options);
  client.Start();
  for (const auto deadline = Clock::now() + 10s; Clock::now() < deadline && client.long_polled() == 0;) {
    client.Instances("api");
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(client.long_polled(), 1u);
  ASSERT_EQ(client.Instances("api")->size(), 1u);
  std::this_thread::sleep_for(300ms);  // the watcher's request parked
  const auto changed = Clock::now();
  Register(meshd, 1002);
  while (Clock::now() - changed < 10s && client.Instances("api")->size() < 2) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(client.Instances("api")->size(), 2u) << "the change never arrived (the next poll is 10 minutes away)";
  EXPECT_LT(Clock::now() - changed, 1500ms);
  const auto stopping = Clock::now();
  EXPECT_TRUE(client.Deregister().ok());  // nothing registered: stops the threads
  EXPECT_LT(Clock::now() - stopping, 5s) << "stopping waited out a parked long-poll";
}

}  // namespace
}  // namespace mesh

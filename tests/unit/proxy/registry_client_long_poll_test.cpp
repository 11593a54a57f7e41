// RegistryClient's long-polls against an in-process server standing in for meshd: it long-polls
// a meshd that marks its answers with Mesh-Wait, learns of a change held there at once, falls
// back to its poll against a meshd that ignores wait= (before long-polling), polls plainly
// while meshd answers 429, and stops without waiting out a held request.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mesh/http/asio_http_server.h"
#include "mesh/http/deferred_response.h"
#include "mesh/proxy/registry_client.h"

namespace mesh {
namespace proxy_registry_client_long_poll_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A meshd's GET /v1/services/api: `instances` instances (ports 1..n), version = their count.
class FakeMeshd {
 public:
  enum class Mode { kLongPolls, kIgnoresWait, kFull };
  explicit FakeMeshd(Mode mode) : mode_(mode) {
    Result<std::unique_ptr<AsioHttpServer>> server =
        AsioHttpServer::Start({.listen = "127.0.0.1:0"}, [this](const HttpRequest& r) { return Handle(r); });
    EXPECT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  ~FakeMeshd() { server_->Stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  void SetInstances(int n) {
    std::shared_ptr<DeferredResponse> waiting;
    {
      std::lock_guard lock(mu_);
      instances_ = n;
      waiting.swap(parked_);
    }
    if (waiting) waiting->Complete(Answer(n, true));
  }
  int wait_requests() const { return wait_requests_.load(); }
  int plain_requests() const { return plain_requests_.load(); }

 private:
  static HttpResponse Answer(int n, bool held) {
    std::string body = "{\"name\":\"api\",\"instances\":[";
    for (int i = 1; i <= n; ++i) {
      if (i > 1) body += ',';
      body += "{\"id\":\"api@127.0.0.1:" + std::to_string(i) + "\",\"host\":\"127.0.0.1\",\"port\":" +
              std::to_string(i) + ",\"healthy\":true}";
    }
    HttpResponse r = HttpResponse::Json(200, body + "]}");
    r.headers.emplace_back("ETag", "W/\"" + std::to_string(n) + "\"");
    if (held) r.headers.emplace_back("Mesh-Wait", "60");
    return r;
  }
  HttpResponse Handle(const HttpRequest& r) {
    const bool wait = !r.Query("wait").empty();
    ++(wait ? wait_requests_ : plain_requests_);
    std::lock_guard lock(mu_);
    const bool held = wait && mode_ == Mode::kLongPolls;
    if (wait && mode_ == Mode::kFull) return HttpResponse::Error(429, "full");
    if (r.Header("if-none-match") != "W/\"" + std::to_string(instances_) + "\"") return Answer(instances_, held);
    HttpResponse unchanged = HttpResponse::Json(304, "");
    if (!held) return unchanged;
    HttpResponse later;
    later.deferred = parked_ = std::make_shared<DeferredResponse>();
    return later;
  }

  const Mode mode_;
  std::mutex mu_;
  int instances_ = 1;
  std::shared_ptr<DeferredResponse> parked_;
  std::atomic<int> wait_requests_ = 0, plain_requests_ = 0;
  std::unique_ptr<AsioHttpServer> server_;
};

RegistryClient::Options OptionsFor(const FakeMeshd& meshd, std::chrono::milliseconds refresh_every) {
  RegistryClient::Options options;
  options.meshd_url = meshd.url();
  options.refresh_every = refresh_every;
  return options;
}

// How many instances of "api" the client holds once `want` (or 5 s passed).
size_t AwaitInstances(RegistryClient& client, size_t want) {
  size_t have = 0;
  for (const auto deadline = Clock::now() + 5s; Clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
    const std::optional<std::vector<Endpoint>> known = client.Instances("api");
    have = known ? known->size() : 0;
    if (have == want) break;
  }
  return have;
}

TEST(RegistryClientLongPoll, AChangeHeldByMeshdArrivesWithoutAPollAndStopIsPrompt) {
  FakeMeshd meshd(FakeMeshd::Mode::kLongPolls);
  auto client = std::make_unique<RegistryClient>(OptionsFor(meshd, std::chrono::minutes(10)));
  client->Start();
  ASSERT_EQ(AwaitInstances(*client, 1), 1u);
  for (int i = 0; i < 500 && meshd.wait_requests() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(meshd.wait_requests(), 1) << "the watcher never sent its request (or it was not held)";
  std::this_thread::sleep_for(100ms);  // held by now
  EXPECT_EQ(client->long_polled(), 1u);
  meshd.SetInstances(2);
  EXPECT_EQ(AwaitInstances(*client, 2), 2u) << "the held change never arrived (the poll is 10 minutes away)";
  const auto stopping = Clock::now();
  client.reset();  // a request is held again: stopping cuts it short
  EXPECT_LT(Clock::now() - stopping, 3s);
}

TEST(RegistryClientLongPoll, AMeshdThatIgnoresWaitIsPolledInstead) {
  FakeMeshd meshd(FakeMeshd::Mode::kIgnoresWait);
  RegistryClient client(OptionsFor(meshd, 100ms));
  client.Start();
  ASSERT_EQ(AwaitInstances(client, 1), 1u);
  for (int i = 0; i < 500 && meshd.wait_requests() < 1; ++i) std::this_thread::sleep_for(10ms);
  for (int i = 0; i < 500 && client.long_polled() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(client.long_polled(), 0u) << "still long-polling a meshd that answers at once";
  const int waits = meshd.wait_requests();
  EXPECT_EQ(waits, 1) << "a meshd without Mesh-Wait was asked to wait again";
  meshd.SetInstances(3);
  EXPECT_EQ(AwaitInstances(client, 3), 3u) << "the poll did not take over";
  EXPECT_EQ(meshd.wait_requests(), waits);
}

TEST(RegistryClientLongPoll, A429IsFollowedByAPlainPollAndATryAPeriodLater) {
  FakeMeshd meshd(FakeMeshd::Mode::kFull);
  RegistryClient client(OptionsFor(meshd, 200ms));
  client.Start();
  ASSERT_EQ(AwaitInstances(client, 1), 1u);
  meshd.SetInstances(2);
  EXPECT_EQ(AwaitInstances(client, 2), 2u) << "a full meshd's changes never arrived";
  std::this_thread::sleep_for(1s);
  // About one refused long-poll per 200 ms period, not a storm.
  EXPECT_GE(meshd.wait_requests(), 2);
  EXPECT_LE(meshd.wait_requests(), 15);
  EXPECT_EQ(client.long_polled(), 1u);
}

}  // namespace proxy_registry_client_long_poll_test
}  // namespace mesh

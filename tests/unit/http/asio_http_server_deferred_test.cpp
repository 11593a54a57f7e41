// Deferred answers on AsioHttpServer (a long-poll): a parked request holds no handler thread,
// its answer is written when another thread completes it, the connection then serves on; a
// client that leaves, or Stop, abandons it. DeferredResponse's own rules first.
#include "mesh/http/deferred_response.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mesh/http/asio_http_server.h"
#include "raw_http.h"

namespace mesh {
namespace http_asio_http_server_deferred_test {

using testing::RawConnection;
using testing::RawReply;
using namespace std::chrono_literals;

TEST(DeferredResponse, TheFirstCompleteWinsAndIsDeliveredOnce) {
  DeferredResponse deferred;
  std::vector<int> delivered;
  deferred.OnComplete([&](HttpResponse r) { delivered.push_back(r.status); });
  EXPECT_TRUE(deferred.Complete(HttpResponse::Json(200, "{}")));
  EXPECT_FALSE(deferred.Complete(HttpResponse::Json(304, "")));
  EXPECT_EQ(delivered, std::vector<int>{200});
}

TEST(DeferredResponse, AnAnswerCompletedBeforeTheServerAsksIsDeliveredWhenItAsks) {
  DeferredResponse deferred;
  EXPECT_TRUE(deferred.Complete(HttpResponse::Json(304, "")));
  int status = 0;
  deferred.OnComplete([&](HttpResponse r) { status = r.status; });
  EXPECT_EQ(status, 304);
}

TEST(DeferredResponse, AbandonedItDeliversNothingAndRefusesCompletion) {
  DeferredResponse deferred;
  int delivered = 0;
  deferred.OnComplete([&](HttpResponse) { ++delivered; });
  deferred.Abandon();
  EXPECT_TRUE(deferred.abandoned());
  EXPECT_FALSE(deferred.Complete(HttpResponse::Json(200, "{}")));
  EXPECT_EQ(delivered, 0);
}

// A server whose /park requests are parked (handed out to the test), other paths answered.
class DeferredServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<AsioHttpServer>> server = AsioHttpServer::Start(
        {.listen = "127.0.0.1:0", .threads = 1}, [this](const HttpRequest& r) {
          if (r.path != "/park") return HttpResponse::Json(200, "{\"path\":\"" + r.path + "\"}");
          HttpResponse later;
          later.deferred = std::make_shared<DeferredResponse>();
          std::lock_guard lock(mu_);
          parked_.push_back(later.deferred);
          return later;
        });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  // The n-th request parked (from 0), waiting up to 5 s for it.
  std::shared_ptr<DeferredResponse> Parked(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu_);
        if (parked_.size() > n) return parked_[n];
      }
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }
  static bool BecomesAbandoned(const DeferredResponse& d) {
    for (int i = 0; i < 500 && !d.abandoned(); ++i) std::this_thread::sleep_for(10ms);
    return d.abandoned();
  }

  std::mutex mu_;
  std::vector<std::shared_ptr<DeferredResponse>> parked_;
  std::unique_ptr<AsioHttpServer> server_;
};

TEST_F(DeferredServerTest, ParkedRequestsHoldNoHandlerThreadAndGetTheirAnswerWhenCompleted) {
  RawConnection first(server_->port()), second(server_->port());
  ASSERT_TRUE(first.Send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(second.Send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_NE(Parked(1), nullptr) << "the second request never reached the only handler thread";
  // Both parked on a server with one handler thread: it still answers others.
  const RawReply other = testing::RawHttp(server_->port(), "GET /other HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(other.body, "{\"path\":\"/other\"}");
  EXPECT_EQ(first.Read(200ms).status, 0) << "answered before it was completed";
  std::thread completer([d = Parked(0)] { d->Complete(HttpResponse::Json(200, "{\"changed\":true}")); });
  completer.join();
  const RawReply answered = first.ReadOne(5s);
  EXPECT_EQ(answered.status, 200);
  EXPECT_EQ(answered.body, "{\"changed\":true}");
  // The connection serves its next request as usual.
  ASSERT_TRUE(first.Send("GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(first.Read(5s).body, "{\"path\":\"/next\"}");
  Parked(1)->Complete(HttpResponse::Json(304, ""));
  EXPECT_EQ(second.ReadOne(5s).status, 304);
}

TEST_F(DeferredServerTest, AClientThatLeavesAbandonsItsParkedRequest) {
  auto client = std::make_unique<RawConnection>(server_->port());
  ASSERT_TRUE(client->Send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::shared_ptr<DeferredResponse> parked = Parked(0);
  ASSERT_NE(parked, nullptr);
  EXPECT_FALSE(parked->abandoned());
  client.reset();  // closes the socket
  EXPECT_TRUE(BecomesAbandoned(*parked)) << "the server did not notice the client leaving";
  EXPECT_FALSE(parked->Complete(HttpResponse::Json(200, "{}")));
}

TEST_F(DeferredServerTest, StopAbandonsParkedRequestsAndClosesTheirConnections) {
  RawConnection client(server_->port());
  ASSERT_TRUE(client.Send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::shared_ptr<DeferredResponse> parked = Parked(0);
  ASSERT_NE(parked, nullptr);
  server_->Stop();
  EXPECT_TRUE(parked->abandoned());
  EXPECT_FALSE(parked->Complete(HttpResponse::Json(200, "{}"))) << "completed into a stopped server";
  const RawReply after = client.Read(2s);
  EXPECT_TRUE(after.closed);
  EXPECT_EQ(after.status, 0);
}

TEST_F(DeferredServerTest, ARequestPipelinedBehindAParkedOneIsServedAfterItsAnswer) {
  RawConnection client(server_->port());
  ASSERT_TRUE(client.Send("GET /park HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::shared_ptr<DeferredResponse> parked = Parked(0);
  ASSERT_NE(parked, nullptr);
  ASSERT_TRUE(client.Send("GET /behind HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::this_thread::sleep_for(100ms);  // the bytes reach the parked connection's read
  EXPECT_FALSE(parked->abandoned()) << "a pipelined request taken for a client that left";
  parked->Complete(HttpResponse::Json(200, "{\"first\":true}"));
  const RawReply both = client.Read(5s);
  EXPECT_EQ(both.status, 200);
  EXPECT_NE(both.body.find("{\"first\":true}"), std::string::npos);
}

}  // namespace http_asio_http_server_deferred_test
}  // namespace mesh

#include "mesh/http2/http2_client_session.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mesh/http2/http2_server_session.h"

namespace mesh {
namespace http2_http2_client_session_test {

struct Handed {
  int32_t stream_id;
  HttpRequest request;
};

struct Outcome {
  std::optional<Http2Response> response;
  std::optional<Http2StreamFailure> failure;
};

// Our client session and our server session joined in memory.
class Pair {
 public:
  explicit Pair(Http2ClientSession::Options client_options = {}, Http2ServerSession::Options server_options = {}) {
    auto s = Http2ServerSession::Create(server_options,
                                        [this](int32_t id, HttpRequest r, bool, std::optional<int64_t>) {
                                          handed.push_back({id, std::move(r)});
                                        });
    EXPECT_TRUE(s.ok());
    server = std::move(s).value();
    server->OnCancel([this](int32_t id) { cancelled.push_back(id); });
    auto c = Http2ClientSession::Create(client_options, [this](int32_t id, Http2Response* r, const Http2StreamFailure* f) {
      Outcome& o = outcomes[id];
      if (r != nullptr) o.response = std::move(*r);
      if (f != nullptr) o.failure = *f;
    });
    EXPECT_TRUE(c.ok());
    client = std::move(c).value();
  }
  bool Pump() {
    for (int round = 0; round < 1000; ++round) {
      const std::string to_server = client->TakeOutput();
      if (!to_server.empty() && !server->Receive(to_server).ok()) return false;
      const std::string to_client = server->TakeOutput();
      if (!to_client.empty() && !client->Receive(to_client).ok()) return false;
      if (to_server.empty() && to_client.empty()) return true;
    }
    return false;
  }

  std::unique_ptr<Http2ServerSession> server;
  std::unique_ptr<Http2ClientSession> client;
  std::vector<Handed> handed;
  std::vector<int32_t> cancelled;
  std::map<int32_t, Outcome> outcomes;
};

Http2Request Post(std::string path, std::string body) {
  Http2Request r;
  r.method = "POST";
  r.authority = "echo";
  r.path = std::move(path);
  r.headers = {{"content-type", "application/grpc"}, {"te", "trailers"}};
  r.body = std::move(body);
  return r;
}

TEST(Http2ClientSession, SendsARequestWithItsQueryAndGetsTheAnswerWithTrailers) {
  Pair p;
  Result<int32_t> id = p.client->Submit(Post("/pkg.Svc/Call?x=1", "hello"));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);
  EXPECT_EQ(p.handed[0].request.Header(":path"), "/pkg.Svc/Call?x=1");
  EXPECT_EQ(p.handed[0].request.Header("host"), "echo");
  EXPECT_EQ(p.handed[0].request.body, "hello");
  p.server->Respond(p.handed[0].stream_id, {.status = 200,
                                            .headers = {{"content-type", "application/grpc"}},
                                            .body = "world",
                                            .trailers = {{"grpc-status", "0"}, {"grpc-message", "ok"}}});
  ASSERT_TRUE(p.Pump());
  const Outcome& o = p.outcomes[*id];
  ASSERT_TRUE(o.response.has_value());
  EXPECT_EQ(o.response->status, 200);
  EXPECT_EQ(o.response->body, "world");
  ASSERT_EQ(o.response->headers.size(), 1u);
  EXPECT_EQ(o.response->headers[0].second, "application/grpc");
  ASSERT_EQ(o.response->trailers.size(), 2u);
  EXPECT_EQ(o.response->trailers[0], (std::pair<std::string, std::string>{"grpc-status", "0"}));
  EXPECT_EQ(p.client->open_streams(), 0u);
}

TEST(Http2ClientSession, MultiplexesStreamsAndCarriesBodiesLargerThanTheWindow) {
  Pair p;
  const std::string big(1 << 20, 'x');
  std::vector<int32_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(*p.client->Submit(Post("/s/" + std::to_string(i), big)));
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 10u);
  // Answered in reverse order, each echoing its body.
  for (auto it = p.handed.rbegin(); it != p.handed.rend(); ++it) {
    p.server->Respond(it->stream_id, {.status = 200, .body = it->request.body + it->request.path});
  }
  ASSERT_TRUE(p.Pump());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(p.outcomes[ids[i]].response.has_value()) << i;
    EXPECT_EQ(p.outcomes[ids[i]].response->body, big + "/s/" + std::to_string(i));
  }
}

TEST(Http2ClientSession, AServerResetIsTheStreamsFailureWithItsCode) {
  Pair p;
  const int32_t id = *p.client->Submit(Post("/a", "x"));
  ASSERT_TRUE(p.Pump());
  p.server->Reset(p.handed.at(0).stream_id, 0x2 /* INTERNAL_ERROR */);
  ASSERT_TRUE(p.Pump());
  ASSERT_TRUE(p.outcomes[id].failure.has_value());
  EXPECT_EQ(p.outcomes[id].failure->kind, Http2StreamFailure::Kind::kReset);
  EXPECT_EQ(p.outcomes[id].failure->error_code, 0x2u);
}

TEST(Http2ClientSession, ACancelReachesTheServerAsACancelledStream) {
  Pair p;
  const int32_t id = *p.client->Submit(Post("/a", "x"));
  ASSERT_TRUE(p.Pump());
  p.client->Reset(id);
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.cancelled, std::vector<int32_t>{p.handed.at(0).stream_id});
  // Answering afterwards reaches nobody, and the cancelled stream gets no callback.
  p.server->Respond(p.handed[0].stream_id, {.status = 200});
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.outcomes.count(id), 0u);
}

TEST(Http2ClientSession, AnAnswerOverTheBoundIsResetNotBuffered) {
  Pair p({.max_body_bytes = 1000});
  const int32_t id = *p.client->Submit(Post("/a", ""));
  ASSERT_TRUE(p.Pump());
  p.server->Respond(p.handed.at(0).stream_id, {.status = 200, .body = std::string(5000, 'y')});
  ASSERT_TRUE(p.Pump());
  ASSERT_TRUE(p.outcomes[id].failure.has_value());
  EXPECT_EQ(p.outcomes[id].failure->kind, Http2StreamFailure::Kind::kTooLarge);
}

TEST(Http2ClientSession, AfterGoawayTakesNoNewStream) {
  Pair p;
  const int32_t answered = *p.client->Submit(Post("/a", ""));
  ASSERT_TRUE(p.Pump());
  p.server->Respond(p.handed.at(0).stream_id, {.status = 204});
  ASSERT_TRUE(p.Pump());
  EXPECT_TRUE(p.client->Accepting());
  p.server->Shutdown();
  ASSERT_TRUE(p.Pump());
  EXPECT_TRUE(p.outcomes[answered].response.has_value());
  EXPECT_FALSE(p.client->Accepting());
  EXPECT_FALSE(p.client->Submit(Post("/b", "")).ok());
}

TEST(Http2ClientSession, StreamsOpenWhenTheSessionEndsGetClosed) {
  Pair p;
  const int32_t id = *p.client->Submit(Post("/a", ""));
  ASSERT_TRUE(p.Pump());
  p.client = nullptr;  // the connection is gone
  ASSERT_TRUE(p.outcomes[id].failure.has_value());
  EXPECT_EQ(p.outcomes[id].failure->kind, Http2StreamFailure::Kind::kClosed);
}

TEST(Http2ClientSession, GarbageFromTheServerEndsTheSession) {
  Pair p;
  (void)p.client->TakeOutput();
  // An HTTP/1.1 answer read as a frame: a protocol error, answered with GOAWAY.
  const Status received = p.client->Receive("HTTP/1.1 400 Bad Request\r\n\r\n");
  (void)p.client->TakeOutput();
  EXPECT_TRUE(!received.ok() || !p.client->WantsIo());
  EXPECT_FALSE(p.client->Accepting());
}

}  // namespace http2_http2_client_session_test
}  // namespace mesh

#include "mesh/http2/http2_server_session.h"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "http2_test_client.h"
#include "test_support.h"

namespace mesh {
namespace http2_http2_server_session_test {

using mesh::test_support::Http2TestClient;
using mesh::testing::FakeClock;

struct Handed {
  int32_t stream_id;
  HttpRequest request;
  bool too_large;
  std::optional<int64_t> deadline_ns;
};

// A server session and a client session joined in memory.
class Pair {
 public:
  explicit Pair(Http2ServerSession::Options options = {}) {
    auto made = Http2ServerSession::Create(
        options, [this](int32_t id, HttpRequest r, bool too_large, std::optional<int64_t> deadline_ns) {
          if (throw_from_callback) throw std::runtime_error("handler bug");
          handed.push_back({id, std::move(r), too_large, deadline_ns});
        });
    EXPECT_TRUE(made.ok());
    server = std::move(made).value();
  }
  // Moves bytes both ways until neither side has any to send.
  bool Pump() {
    for (int round = 0; round < 100; ++round) {
      const std::string to_server = client.TakeOutput();
      if (!to_server.empty() && !server->Receive(to_server).ok()) return false;
      const std::string to_client = server->TakeOutput();
      if (!to_client.empty() && !client.Receive(to_client)) return false;
      if (to_server.empty() && to_client.empty()) return true;
    }
    return true;
  }

  Http2TestClient client;
  std::unique_ptr<Http2ServerSession> server;
  std::vector<Handed> handed;
  bool throw_from_callback = false;
};

TEST(Http2ServerSession, HandsOverAWholeRequestWithPseudoHeadersMapped) {
  Pair p;
  const int32_t id = p.client.Submit("POST", "/pkg.Svc/Call?x=1", {{"content-type", "application/grpc"}}, "hello");
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);
  const HttpRequest& r = p.handed[0].request;
  EXPECT_EQ(p.handed[0].stream_id, id);
  EXPECT_FALSE(p.handed[0].too_large);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/pkg.Svc/Call");
  EXPECT_EQ(r.Header("host"), "localhost");
  EXPECT_EQ(r.Header("content-type"), "application/grpc");
  EXPECT_EQ(r.body, "hello");
}

TEST(Http2ServerSession, AnswersWithBodyAndTrailers) {
  Pair p;
  const int32_t id = p.client.Submit("POST", "/a", {}, "x");
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);
  p.server->Respond(id, Http2Response{.status = 200,
                                      .headers = {{"content-type", "application/grpc"}},
                                      .body = "answer",
                                      .trailers = {{"grpc-status", "0"}}});
  ASSERT_TRUE(p.Pump());
  const auto& reply = p.client.reply(id);
  EXPECT_TRUE(reply.closed);
  EXPECT_EQ(reply.error_code, 0u);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers.at("content-type"), "application/grpc");
  EXPECT_EQ(reply.body, "answer");
  EXPECT_EQ(reply.trailers.at("grpc-status"), "0");
}

TEST(Http2ServerSession, MultiplexesStreamsAnsweredOutOfOrder) {
  Pair p;
  std::vector<int32_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(p.client.Submit("POST", "/s", {}, "body" + std::to_string(i)));
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 5u);
  for (auto it = p.handed.rbegin(); it != p.handed.rend(); ++it) {
    p.server->Respond(it->stream_id, Http2Response{.body = "re:" + it->request.body});
  }
  ASSERT_TRUE(p.Pump());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(p.client.reply(ids[i]).closed);
    EXPECT_EQ(p.client.reply(ids[i]).body, "re:body" + std::to_string(i));
  }
}

TEST(Http2ServerSession, StreamsABodyLargerThanTheFlowControlWindow) {
  // 1 MiB against the 64 KiB initial window: only the session's WINDOW_UPDATEs let it through.
  Pair p({.max_body_bytes = 2 << 20});
  const std::string big(1 << 20, 'b');
  const int32_t id = p.client.Submit("POST", "/big", {}, big);
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);
  EXPECT_EQ(p.handed[0].request.body, big);
  p.server->Respond(id, Http2Response{.body = big});
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.client.reply(id).body, big);
}

TEST(Http2ServerSession, HandsOverAnOversizedBodyAtOnceAndEmpty) {
  Pair p({.max_body_bytes = 1000});
  const int32_t id = p.client.Submit("POST", "/big", {}, std::string(5000, 'x'));
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);  // once, not again at the end of the stream
  EXPECT_TRUE(p.handed[0].too_large);
  EXPECT_TRUE(p.handed[0].request.body.empty());
  p.server->Respond(id, Http2Response{.status = 413});
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.client.reply(id).status, 413);
}

TEST(Http2ServerSession, IgnoresAnAnswerToAStreamThatIsGone) {
  Pair p;
  ASSERT_TRUE(p.Pump());
  p.server->Respond(99, Http2Response{});
  p.server->Respond(-1, Http2Response{});
  EXPECT_TRUE(p.Pump());
}

TEST(Http2ServerSession, RefusesBytesThatAreNotTheHttp2Preface) {
  auto server = Http2ServerSession::Create({}, [](int32_t, HttpRequest, bool, std::optional<int64_t>) {});
  ASSERT_TRUE(server.ok());
  EXPECT_FALSE((*server)->Receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  EXPECT_NE((*server)->TakeOutput(), "");  // its GOAWAY
}

TEST(Http2ServerSession, EndsTheSessionOnAMalformedFrameAtEveryCut) {
  // After a valid start, a SETTINGS frame whose length is no multiple of 6, cut at every length:
  // once its 9-byte header is in (the length alone is the error), a GOAWAY and the end of the
  // session; never a crash before.
  const std::string frame("\x00\x00\x05\x04\x00\x00\x00\x00\x00junk!", 14);
  for (size_t n = 1; n <= frame.size(); ++n) {
    Pair p;
    ASSERT_TRUE(p.Pump());
    EXPECT_TRUE(p.server->Receive(frame.substr(0, n)).ok());
    const std::string answer = p.server->TakeOutput();
    if (n >= 9) {
      ASSERT_GE(answer.size(), 9u);
      EXPECT_EQ(answer[3], '\x07') << "a GOAWAY frame";
      EXPECT_FALSE(p.server->WantsIo());
    } else {
      EXPECT_TRUE(p.server->WantsIo());
    }
  }
}

TEST(Http2ServerSession, AThrowingCallbackEndsTheConnectionNotTheProcess) {
  Pair p;
  p.throw_from_callback = true;
  p.client.Submit("POST", "/a", {}, "x");
  const std::string bytes = p.client.TakeOutput();
  EXPECT_FALSE(p.server->Receive(bytes).ok());
  EXPECT_TRUE(p.handed.empty());
}

TEST(Http2ServerSession, LimitsConcurrentStreamsAsItsSettingsSay) {
  Pair p({.max_concurrent_streams = 2});
  ASSERT_TRUE(p.Pump());  // the client learns the limit
  std::vector<int32_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(p.client.Submit("POST", "/s", {}, "x"));
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.handed.size(), 2u);  // the client holds the others back until a stream closes
  p.server->Respond(p.handed[0].stream_id, Http2Response{});
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.handed.size(), 3u);
}

TEST(Http2ServerSession, ShutdownEndsTheSession) {
  Pair p;
  ASSERT_TRUE(p.Pump());
  EXPECT_TRUE(p.server->WantsIo());
  p.server->Shutdown();
  EXPECT_NE(p.server->TakeOutput(), "");
  EXPECT_FALSE(p.server->WantsIo());
}

const std::vector<std::pair<std::string, std::string>> kGrpc = {{"content-type", "application/grpc"}};

std::vector<std::pair<std::string, std::string>> GrpcWithTimeout(const std::string& timeout) {
  return {{"content-type", "application/grpc"}, {"grpc-timeout", timeout}};
}

TEST(Http2ServerSession, AnswersDeadlineExceededOnceTheGrpcTimeoutPassesAndIgnoresTheLateAnswer) {
  FakeClock clock(5'000'000'000);
  Pair p({.clock = &clock});
  const int32_t id = p.client.Submit("POST", "/pkg.Svc/Call", GrpcWithTimeout("100m"), "x");
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);
  EXPECT_EQ(p.handed[0].deadline_ns, 5'100'000'000);
  EXPECT_EQ(p.server->NextDeadlineNs(), 5'100'000'000);
  clock.Advance(99'999'999);
  p.server->ExpireDeadlines();
  ASSERT_TRUE(p.Pump());
  EXPECT_FALSE(p.client.reply(id).closed);
  clock.Advance(1);
  p.server->ExpireDeadlines();
  ASSERT_TRUE(p.Pump());
  const auto& reply = p.client.reply(id);
  ASSERT_TRUE(reply.closed);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers.at("content-type"), "application/grpc");
  EXPECT_EQ(reply.trailers.at("grpc-status"), "4");
  EXPECT_NE(reply.trailers.at("grpc-message").find("100m"), std::string::npos);
  EXPECT_EQ(p.server->NextDeadlineNs(), std::nullopt);
  // The handler's answer comes after the deadline's: dropped, not a second response.
  p.server->Respond(id, Http2Response{.body = "late", .trailers = {{"grpc-status", "0"}}});
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.client.reply(id).body, "");
  EXPECT_EQ(p.client.reply(id).trailers.at("grpc-status"), "4");
}

TEST(Http2ServerSession, AnAnswerBeforeTheDeadlineCancelsIt) {
  FakeClock clock;
  Pair p({.clock = &clock});
  const int32_t id = p.client.Submit("POST", "/pkg.Svc/Call", GrpcWithTimeout("1S"), "x");
  ASSERT_TRUE(p.Pump());
  p.server->Respond(id, Http2Response{.body = "on time", .trailers = {{"grpc-status", "0"}}});
  EXPECT_EQ(p.server->NextDeadlineNs(), std::nullopt);
  clock.Advance(2'000'000'000);
  p.server->ExpireDeadlines();
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.client.reply(id).body, "on time");
  EXPECT_EQ(p.client.reply(id).trailers.at("grpc-status"), "0");
}

TEST(Http2ServerSession, NextDeadlineIsTheEarliestOfTheCallsInFlight) {
  FakeClock clock;
  Pair p({.clock = &clock});
  const int32_t slow = p.client.Submit("POST", "/pkg.Svc/Call", GrpcWithTimeout("2S"), "a");
  const int32_t fast = p.client.Submit("POST", "/pkg.Svc/Call", GrpcWithTimeout("300m"), "b");
  p.client.Submit("POST", "/pkg.Svc/Call", kGrpc, "no deadline");
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 3u);
  EXPECT_EQ(p.handed[2].deadline_ns, std::nullopt);
  EXPECT_EQ(p.server->NextDeadlineNs(), 300'000'000);
  clock.Advance(300'000'000);
  p.server->ExpireDeadlines();
  ASSERT_TRUE(p.Pump());
  EXPECT_EQ(p.client.reply(fast).trailers.at("grpc-status"), "4");
  EXPECT_FALSE(p.client.reply(slow).closed);
  EXPECT_EQ(p.server->NextDeadlineNs(), 2'000'000'000);
}

TEST(Http2ServerSession, SaturatesAnHourLongTimeoutNearTheEndOfTime) {
  FakeClock clock(std::numeric_limits<int64_t>::max() - 10);
  Pair p({.clock = &clock});
  p.client.Submit("POST", "/pkg.Svc/Call", GrpcWithTimeout("99999999H"), "x");
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);
  EXPECT_EQ(p.handed[0].deadline_ns, std::numeric_limits<int64_t>::max());
}

TEST(Http2ServerSession, RefusesAMalformedGrpcTimeoutWithInvalidArgumentAndNeverHandsItOver) {
  for (const std::string bad : {"1x", "123456789S", "S", "-1S", "1.5S", "+1S", "1s", "0x10S"}) {
    SCOPED_TRACE(bad);
    Pair p;
    const int32_t id = p.client.Submit("POST", "/pkg.Svc/Call", GrpcWithTimeout(bad), "x");
    ASSERT_TRUE(p.Pump());
    EXPECT_TRUE(p.handed.empty());
    ASSERT_TRUE(p.client.reply(id).closed);
    EXPECT_EQ(p.client.reply(id).trailers.at("grpc-status"), "3");
  }
}

TEST(Http2ServerSession, LeavesGrpcTimeoutOfARequestThatIsNotGrpcAlone) {
  FakeClock clock;
  Pair p({.clock = &clock});
  p.client.Submit("POST", "/a", {{"content-type", "text/plain"}, {"grpc-timeout", "bad"}}, "x");
  ASSERT_TRUE(p.Pump());
  ASSERT_EQ(p.handed.size(), 1u);
  EXPECT_EQ(p.handed[0].deadline_ns, std::nullopt);
  EXPECT_EQ(p.server->NextDeadlineNs(), std::nullopt);
}

}  // namespace http2_http2_server_session_test
}  // namespace mesh

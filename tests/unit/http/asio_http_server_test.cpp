// AsioHttpServer on a real socket, fed raw bytes: what reaches the handler (method, path, query,
// headers, body), keep-alive, the limits on the head, target and body and their JSON refusals
// (the same statuses as HttpServer's), slow clients, throwing handlers, Stop and port 0.
#include "mesh/http/asio_http_server.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "mesh/base/json_text.h"
#include "raw_http.h"

namespace mesh {
namespace http_asio_http_server_test {

using testing::RawConnection;
using testing::RawHttp;
using testing::RawReply;
using namespace std::chrono_literals;

// What the handler saw, as JSON: method, path, query a/b/c, the x-test header and the body.
HttpResponse Echo(const HttpRequest& r) {
  if (r.path == "/throw") throw std::runtime_error("boom");
  if (r.path == "/throw-int") throw 42;
  HttpResponse response;
  if (r.path == "/echo-header") response.headers.emplace_back("X-Echo", r.Query("v"));
  if (r.path == "/close") response.headers.emplace_back("Connection", "close");
  std::string body = "{\"method\":";
  AppendJsonString(body, r.method);
  body += ",\"path\":";
  AppendJsonString(body, r.path);
  for (const char* key : {"a", "b", "c"}) {
    body += std::string(",\"") + key + "\":";
    AppendJsonString(body, r.Query(key));
  }
  body += ",\"x_test\":";
  AppendJsonString(body, r.Header("x-test"));
  body += ",\"remote\":";
  AppendJsonString(body, r.remote_addr);
  body += ",\"body\":";
  AppendJsonString(body, r.body);
  response.body = body + "}";
  return response;
}

class AsioHttpServerTest : public ::testing::Test {
 protected:
  void Start(AsioHttpServer::Options options) {
    server_.reset();
    options.listen = "127.0.0.1:0";
    Result<std::unique_ptr<AsioHttpServer>> server =
        AsioHttpServer::Start(options, [this](const HttpRequest& r) {
          ++handled_;
          return Echo(r);
        });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  void SetUp() override { Start({}); }

  int port() const { return server_->port(); }

  static std::string Get(const std::string& target, const std::string& headers = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + headers + "Connection: close\r\n\r\n";
  }
  static std::string Field(const RawReply& r, const char* name) {
    Result<Json::Value> v = ParseJson(r.body);
    if (!v.ok() || !v->isObject() || !(*v)[name].isString())
      return "<no " + std::string(name) + " in: " + r.body + ">";
    return (*v)[name].asString();
  }
  static std::string ErrorOf(const RawReply& r) { return Field(r, "error"); }
  static bool ClosesConnection(const RawReply& r) {
    return r.head.find("\r\nConnection: close") != std::string::npos && r.closed;
  }

  std::atomic<int> handled_ = 0;
  std::unique_ptr<AsioHttpServer> server_;
};

TEST_F(AsioHttpServerTest, GetReachesTheHandlerAndItsAnswerIsWrittenAsBuilt) {
  const RawReply r = RawHttp(port(), Get("/v1/services", "X-Test: yes\r\n"));
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.head;
  EXPECT_NE(r.head.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << r.head;
  EXPECT_NE(r.head.find("\r\nContent-Length: " + std::to_string(r.body.size())), std::string::npos)
      << r.head;
  EXPECT_NE(r.head.find("\r\nCache-Control: no-store"), std::string::npos) << r.head;
  EXPECT_EQ(Field(r, "method"), "GET");
  EXPECT_EQ(Field(r, "path"), "/v1/services");
  EXPECT_EQ(Field(r, "x_test"), "yes");
  EXPECT_EQ(Field(r, "remote"), "127.0.0.1");
  EXPECT_TRUE(r.closed) << "the client asked for Connection: close";
}

TEST_F(AsioHttpServerTest, PostBodyReachesTheHandler) {
  const RawReply r = RawHttp(port(),
                             "POST /v1/logs HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n"
                             "Connection: close\r\n\r\nhello world");
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(Field(r, "method"), "POST");
  EXPECT_EQ(Field(r, "body"), "hello world");
  const RawReply chunked =
      RawHttp(port(),
              "POST /v1/logs HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
              "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(Field(chunked, "body"), "hello world");
}

TEST_F(AsioHttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  RawConnection c(port());
  ASSERT_TRUE(
      c.Send("POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
             "Connection: close\r\n\r\n"));
  const RawReply interim = c.Read(300ms);
  EXPECT_EQ(interim.status, 100) << interim.head;
  ASSERT_TRUE(c.Send("ok"));
  const RawReply r = c.Read(5s);
  EXPECT_EQ(Field(r, "body"), "ok") << r.body;
}

TEST_F(AsioHttpServerTest, HeadGetsTheLengthWithoutTheBody) {
  const RawReply r = RawHttp(port(), "HEAD /x HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_NE(r.head.find("\r\nContent-Length: "), std::string::npos) << r.head;
  EXPECT_EQ(r.body, "");
}

TEST_F(AsioHttpServerTest, QueryIsDecodedAndTheLastOfRepeatedKeysWins) {
  const RawReply r = RawHttp(port(), Get("/q?a=1&b=x%20y&c=p+q&a=2"));
  EXPECT_EQ(Field(r, "path"), "/q");
  EXPECT_EQ(Field(r, "a"), "2");
  EXPECT_EQ(Field(r, "b"), "x y");
  EXPECT_EQ(Field(r, "c"), "p q");
}

TEST_F(AsioHttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  RawConnection c(port());
  ASSERT_TRUE(c.Send("GET /one HTTP/1.1\r\nHost: test\r\n\r\n"));
  const RawReply first = c.Read(300ms);
  EXPECT_EQ(Field(first, "path"), "/one");
  EXPECT_FALSE(first.closed) << "the connection was not kept alive";
  ASSERT_TRUE(c.Send(Get("/two")));
  const RawReply second = c.Read(5s);
  EXPECT_EQ(Field(second, "path"), "/two");
  EXPECT_TRUE(second.closed);
  EXPECT_EQ(handled_, 2);
}

TEST_F(AsioHttpServerTest, ConnectionCloseFromTheHandlerClosesTheConnection) {
  RawConnection c(port());
  ASSERT_TRUE(c.Send("GET /close HTTP/1.1\r\nHost: test\r\n\r\n"));
  EXPECT_TRUE(c.Read(5s).closed);
}

TEST_F(AsioHttpServerTest, MalformedRequestsGetJsonErrorsAndAClose) {
  const RawReply garbage = RawHttp(port(), "GARBAGE\r\n\r\n");
  EXPECT_EQ(garbage.status, 400) << garbage.head;
  EXPECT_NE(ErrorOf(garbage).find("request refused before routing"), std::string::npos)
      << garbage.body;
  EXPECT_TRUE(ClosesConnection(garbage)) << garbage.head;
  for (const std::string& header :
       {std::string("X-A: a\0b\r\n", 10), std::string("X-A: a\rb\r\n")}) {
    const RawReply r = RawHttp(port(), Get("/x", header));
    EXPECT_EQ(r.status, 400) << r.head;
    EXPECT_TRUE(ClosesConnection(r)) << r.head;
  }
  EXPECT_EQ(RawHttp(port(), "GET /x HTTP/9.9\r\nHost: test\r\n\r\n").status, 505);
  EXPECT_EQ(RawHttp(port(), Get("http://elsewhere.example/x")).status, 400);
  const RawReply smuggle =
      RawHttp(port(),
              "POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
  EXPECT_EQ(smuggle.status, 400) << smuggle.head;
  EXPECT_TRUE(ClosesConnection(smuggle)) << smuggle.head;
  // Beast would read this body as empty and parse "GET /smuggled" as the next request.
  const RawReply not_chunked =
      RawHttp(port(),
              "POST /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n"
              "GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n");
  EXPECT_EQ(not_chunked.status, 400) << not_chunked.head;
  EXPECT_TRUE(ClosesConnection(not_chunked)) << not_chunked.head;
  const RawReply truncated =
      RawHttp(port(), "POST /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_EQ(truncated.status, 400) << truncated.head;
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(RawHttp(port(), Get("/after")).status, 200) << "the server must still serve";
}

TEST_F(AsioHttpServerTest, HeadOverTheLimitIs431AsJsonAndOfExactlyTheLimitIsServed) {
  Start({.max_header_bytes = 4096});
  // Request line (17) + Host (12) + Connection (19) + the blank line (2) + X-Big's 9 + value.
  const size_t value = 4096 - 17 - 12 - 19 - 2 - 9;
  const std::string exact = Get("/x", "X-Big: " + std::string(value, 'a') + "\r\n");
  ASSERT_EQ(exact.size(), 4096u);
  EXPECT_EQ(RawHttp(port(), exact).status, 200);
  const RawReply over =
      RawHttp(port(), Get("/x", "X-Big: " + std::string(value + 1, 'a') + "\r\n"));
  EXPECT_EQ(over.status, 431) << over.head;
  EXPECT_EQ(ErrorOf(over), "request line and headers larger than 4096 bytes");
  EXPECT_TRUE(ClosesConnection(over)) << over.head;
  // Past twice the limit the head is not even parsed: still 431 (HttpServer's civetweb says 400).
  const RawReply huge = RawHttp(port(), Get("/x", "X-Big: " + std::string(100000, 'a') + "\r\n"));
  EXPECT_EQ(huge.status, 431) << huge.head;
  EXPECT_TRUE(ClosesConnection(huge)) << huge.head;
  EXPECT_EQ(handled_, 1);
}

TEST_F(AsioHttpServerTest, SixtyFourHeadersAre431And63AreServed) {
  auto headers = [](int n) {  // n headers in all: Host, Connection and n - 2 others
    std::string h;
    for (int i = 0; i < n - 2; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
    return h;
  };
  const RawReply many = RawHttp(port(), Get("/x", headers(64)));
  EXPECT_EQ(many.status, 431) << many.head;
  EXPECT_EQ(ErrorOf(many), "more than 63 request headers");
  EXPECT_EQ(RawHttp(port(), Get("/x", headers(63))).status, 200);
}

TEST_F(AsioHttpServerTest, TargetOverTheLimitIs414AsJson) {
  Start({.max_url_bytes = 1000});
  const std::string query = "/x?q=" + std::string(996, 'a');  // 1001 bytes
  const RawReply r = RawHttp(port(), Get(query));
  EXPECT_EQ(r.status, 414) << r.head;
  EXPECT_EQ(ErrorOf(r), "request target (path and query) longer than 1000 bytes");
  EXPECT_TRUE(ClosesConnection(r));
  EXPECT_EQ(RawHttp(port(), Get(query.substr(0, 1000))).status, 200);
}

TEST_F(AsioHttpServerTest, BodyOverTheLimitIs413AndTheRestIsNotRead) {
  Start({.max_body_bytes = 64 << 10});
  RawConnection c(port());
  // Announced at 100 MiB: refused on the announcement, without reading the body.
  c.Send("POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 104857600\r\n\r\n" +
         std::string(100 << 10, 'x'));
  const RawReply r = c.Read(5s);
  EXPECT_EQ(r.status, 413) << r.head;
  EXPECT_EQ(ErrorOf(r), "request body larger than 65536 bytes");
  EXPECT_TRUE(ClosesConnection(r)) << r.head;
  // Chunked, so only counting tells: cut off once past the limit.
  RawConnection chunked(port());
  ASSERT_TRUE(chunked.Send("POST /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "4000\r\n" + std::string(0x4000, 'y') + "\r\n";
  constexpr size_t kOffered = size_t{256} << 20;
  size_t offered = 0;
  while (offered < kOffered && chunked.Send(chunk)) offered += 0x4000;
  EXPECT_LT(offered, kOffered / 8) << "the server read " << offered << " bytes of a 64 KiB limit";
  const RawReply cut = chunked.Read(5s);
  EXPECT_EQ(cut.status, 413) << cut.head;
  EXPECT_TRUE(cut.closed);
  EXPECT_EQ(handled_, 0);
}

TEST_F(AsioHttpServerTest, CompressedBodyReachesTheHandlerAsSent) {
  // Inflating is the router's job, after its guard: the server must not do it before.
  const std::string plain = "compressed hello";
  uLongf size = compressBound(plain.size());
  std::string zlib(size, '\0');
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(zlib.data()), &size,
                     reinterpret_cast<const Bytef*>(plain.data()), plain.size()),
            Z_OK);
  zlib.resize(size);
  const RawReply r = RawHttp(
      port(), "POST /x HTTP/1.1\r\nHost: test\r\nContent-Encoding: deflate\r\nContent-Length: " +
                  std::to_string(zlib.size()) + "\r\nConnection: close\r\n\r\n" + zlib);
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_NE(Field(r, "body"), plain);
  const RawReply corrupt = RawHttp(port(),
                                   "POST /x HTTP/1.1\r\nHost: test\r\nContent-Encoding: gzip\r\n"
                                   "Content-Length: 3\r\nConnection: close\r\n\r\nabc");
  EXPECT_EQ(corrupt.status, 200) << corrupt.head;  // not inflated, so not refused as corrupt
  EXPECT_EQ(Field(corrupt, "body"), "abc");
}

TEST_F(AsioHttpServerTest, EncodedTraversalIs400AndLiteralDotSegmentsAreResolved) {
  for (const char* target :
       {"/%2e%2e/etc/passwd", "/.%2e/x", "/a%2f..%2fb", "/x%00", "/x%0d%0aSet-Cookie:%20a=b"}) {
    const RawReply r = RawHttp(port(), Get(target));
    EXPECT_EQ(r.status, 400) << target << ": " << r.head;
  }
  EXPECT_EQ(handled_, 0);
  const struct {
    std::string target, path;
  } cases[] = {
      {"/../../etc/passwd", "/etc/passwd"},
      {"/dashboard\\..\\..\\etc\\passwd", "/etc/passwd"},
      {"/v1/./services/../services", "/v1/services"},
      {"/a/b/..", "/a/"},
      {"/", "/"},
      {"/%252e%252e/x", "/%2e%2e/x"},
      {"/v1/services/a%20b+c", "/v1/services/a b+c"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Field(RawHttp(port(), Get(c.target)), "path"), c.path) << c.target;
  }
}

TEST_F(AsioHttpServerTest, ThrowingHandlerGets500AndTheServerCarriesOn) {
  const RawReply r = RawHttp(port(), Get("/throw"));
  EXPECT_EQ(r.status, 500) << r.head;
  EXPECT_EQ(ErrorOf(r), "internal error: boom");
  EXPECT_EQ(RawHttp(port(), Get("/throw-int")).status, 500);
  EXPECT_EQ(RawHttp(port(), Get("/after")).status, 200);
}

TEST_F(AsioHttpServerTest, ResponseHeaderWithCrLfIsNeverWritten) {
  const RawReply r = RawHttp(port(), Get("/echo-header?v=a%0d%0aSet-Cookie:%20evil=1"));
  EXPECT_EQ(r.status, 500) << r.head;
  EXPECT_EQ(r.head.find("Set-Cookie"), std::string::npos) << r.head;
  const RawReply fine = RawHttp(port(), Get("/echo-header?v=plain%20text"));
  EXPECT_NE(fine.head.find("\r\nX-Echo: plain text"), std::string::npos) << fine.head;
}

TEST_F(AsioHttpServerTest, SlowClientIsCutAfterTheTimeoutWhileOthersAreServed) {
  Start({.request_timeout_ms = 500});
  RawConnection slow(port());
  ASSERT_TRUE(slow.Send("GET /slow HTTP/1.1\r\nHost: te"));  // and never the rest
  EXPECT_EQ(Field(RawHttp(port(), Get("/meanwhile")), "path"), "/meanwhile");
  const auto start = std::chrono::steady_clock::now();
  const RawReply cut = slow.Read(5s);
  EXPECT_TRUE(cut.closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(handled_, 1);
}

TEST_F(AsioHttpServerTest, TrickledHeadIsCutAtTheHeaderTimeoutHoweverOftenBytesCome) {
  Start({.header_timeout_ms = 300});
  RawConnection trickle(port());
  // A byte every 50 ms, for up to 200 bytes (10 s): each byte comes well within any per-read
  // timeout, so only a deadline for the whole head ends it.
  const std::string head = "GET /trickle HTTP/1.1\r\nHost: test\r\nX-Pad: " + std::string(200, 'a');
  size_t sent = 0;
  while (sent < head.size() && trickle.Send(head.substr(sent, 1))) {
    ++sent;
    if (trickle.Read(50ms).closed) break;
  }
  EXPECT_LT(sent, head.size()) << "the server took the whole trickled head";
  EXPECT_EQ(handled_, 0);
}

TEST_F(AsioHttpServerTest, KeptConnectionMayIdleLongerThanTheHeaderTimeoutAndIsClosedAfterTheIdleOne) {
  Start({.header_timeout_ms = 200, .keep_alive_timeout_ms = 1500});
  RawConnection c(port());
  ASSERT_TRUE(c.Send("GET /one HTTP/1.1\r\nHost: test\r\n\r\n"));
  const RawReply first = c.Read(600ms);  // idle for three header timeouts
  EXPECT_EQ(Field(first, "path"), "/one");
  ASSERT_FALSE(first.closed) << "a kept connection was closed at the header timeout";
  ASSERT_TRUE(c.Send("GET /two HTTP/1.1\r\nHost: test\r\n\r\n"));
  const RawReply second = c.Read(10s);  // then idle until the server gives up on it
  EXPECT_EQ(Field(second, "path"), "/two");
  EXPECT_TRUE(second.closed) << "an idle kept connection was never closed";
  EXPECT_EQ(handled_, 2);
}

TEST(AsioHttpServerThreads, BusyHandlerThreadsStallNeitherInlineAnswersNorRefusals) {
  std::mutex mu;
  std::condition_variable changed;
  bool entered = false, released = false;
  AsioHttpServer::Options options{.listen = "127.0.0.1:0", .threads = 1};
  options.answers_inline = [](const HttpRequest& r) { return r.path == "/healthz"; };
  Result<std::unique_ptr<AsioHttpServer>> server =
      AsioHttpServer::Start(options, [&](const HttpRequest& r) {
        if (r.path == "/block") {
          std::unique_lock lock(mu);
          entered = true;
          changed.notify_all();
          changed.wait(lock, [&] { return released; });
        }
        return HttpResponse::Json(200, "{\"path\":\"" + r.path + "\"}");
      });
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();
  RawConnection blocked(port);
  ASSERT_TRUE(blocked.Send("GET /block HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return entered; }));
  }
  // The only handler thread is taken: an inline route and a refusal are still answered.
  const RawReply health = RawHttp(port, "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(health.status, 200) << health.head;
  EXPECT_EQ(health.body, "{\"path\":\"/healthz\"}");
  EXPECT_EQ(RawHttp(port, "GET /%2e%2e/x HTTP/1.1\r\nHost: test\r\n\r\n").status, 400);
  RawConnection queued(port);
  ASSERT_TRUE(queued.Send("GET /queued HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(queued.Read(200ms).status, 0) << "a second handler ran beside the only handler thread's";
  {
    std::lock_guard lock(mu);
    released = true;
  }
  changed.notify_all();
  EXPECT_EQ(blocked.Read(5s).status, 200);
  const RawReply after = queued.Read(5s);
  EXPECT_EQ(after.body, "{\"path\":\"/queued\"}") << after.head;
}

TEST(AsioHttpServerThreads, StopWithAHandlerQueuedBehindABusyOneReturnsAndClosesBoth) {
  std::atomic<bool> release = false;
  std::atomic<int> ran = 0;
  Result<std::unique_ptr<AsioHttpServer>> server = AsioHttpServer::Start(
      {.listen = "127.0.0.1:0", .threads = 1}, [&](const HttpRequest&) {
        ++ran;
        for (int i = 0; i < 200 && !release; ++i) std::this_thread::sleep_for(10ms);
        return HttpResponse::Json(200, "{}");
      });
  ASSERT_TRUE(server.ok()) << server.status().message();
  RawConnection first((*server)->port()), second((*server)->port());
  ASSERT_TRUE(first.Send("GET /a HTTP/1.1\r\nHost: test\r\n\r\n"));
  for (int i = 0; i < 500 && ran == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(ran, 1);
  ASSERT_TRUE(second.Send("GET /b HTTP/1.1\r\nHost: test\r\n\r\n"));
  std::thread releaser([&] {
    std::this_thread::sleep_for(500ms);  // Stop has long stopped the handler threads
    release = true;
  });
  (*server)->Stop();
  releaser.join();
  EXPECT_EQ(ran, 1) << "a handler queued behind a busy one ran after Stop";
  EXPECT_TRUE(first.Read(1s).closed);
  EXPECT_TRUE(second.Read(1s).closed);
}

TEST_F(AsioHttpServerTest, PastMaxConnectionsNewClientsWaitForAFreeSlot) {
  Start({.max_connections = 1, .request_timeout_ms = 500});
  RawConnection idle(port());  // holds the only slot until its timeout
  ASSERT_TRUE(idle.connected());
  std::this_thread::sleep_for(50ms);  // let the server accept it first
  const auto start = std::chrono::steady_clock::now();
  const RawReply waited = RawHttp(port(), Get("/waited"));
  EXPECT_EQ(Field(waited, "path"), "/waited");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms) << "served beside the idle connection";
  EXPECT_TRUE(idle.Read(1s).closed);
}

TEST_F(AsioHttpServerTest, StopClosesIdleConnectionsAndReturnsPromptly) {
  RawConnection idle(port());
  RawConnection kept(port());
  ASSERT_TRUE(kept.Send("GET /kept HTTP/1.1\r\nHost: test\r\n\r\n"));
  EXPECT_EQ(kept.Read(300ms).status, 200);
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(idle.Read(1s).closed);
  EXPECT_TRUE(kept.Read(1s).closed);
  server_->Stop();  // a second Stop is a no-op
}

TEST_F(AsioHttpServerTest, PortZeroPicksAPortAndATakenPortIsAnIOError) {
  EXPECT_GT(port(), 0);
  Result<std::unique_ptr<AsioHttpServer>> second =
      AsioHttpServer::Start({.listen = "127.0.0.1:" + std::to_string(port())}, Echo);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kIOError);
  EXPECT_NE(second.status().message().find("cannot listen on 127.0.0.1:" + std::to_string(port())),
            std::string::npos)
      << second.status().message();
  for (const char* listen :
       {"127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:70000", "example.com:80"}) {
    Result<std::unique_ptr<AsioHttpServer>> bad = AsioHttpServer::Start({.listen = listen}, Echo);
    ASSERT_FALSE(bad.ok()) << listen;
    EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument) << listen;
  }
}

}  // namespace
}  // namespace mesh

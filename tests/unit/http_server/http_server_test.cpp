// HttpServer on a real socket, fed raw bytes: the limits on the request head, target and body,
// what reaches handlers of hostile paths, and what never leaves in a response header.
#include "mesh/http_server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "mesh/base/json_text.h"
#include "raw_http.h"

namespace mesh {
namespace http_server_http_server_test {

using testing::RawConnection;
using testing::RawHttp;
using testing::RawReply;
using namespace std::chrono_literals;

// Answers {"path": <the path the handler saw>} (and, for /echo-header?v=..., puts v in a
// response header, as a careless handler would); counts the requests it handled.
class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServer::Options options) {
    options.listen = "127.0.0.1:0";
    options.threads = 4;
    Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, [this](const HttpRequest& r) {
      ++handled_;
      HttpResponse response;
      std::string body = "{\"path\":";
      AppendJsonString(body, r.path);
      response.body = body + ",\"body_bytes\":" + std::to_string(r.body.size()) + "}";
      if (r.path == "/echo-header") response.headers.emplace_back("X-Echo", r.Query("v"));
      if (r.path == "/bad-header-name") response.headers.emplace_back("X Echo", "v");
      return response;
    });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  void SetUp() override { Start({}); }

  int port() const { return server_->port(); }

  static std::string Get(const std::string& target, const std::string& headers = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + headers + "Connection: close\r\n\r\n";
  }

  // The "error" member of a JSON body, or a note that the body is not one.
  static std::string ErrorOf(const RawReply& r) {
    Result<Json::Value> v = ParseJson(r.body);
    if (!v.ok() || !v->isObject() || !(*v)["error"].isString()) return "<no JSON error in: " + r.body + ">";
    return (*v)["error"].asString();
  }
  static std::string PathOf(const RawReply& r) {
    Result<Json::Value> v = ParseJson(r.body);
    if (!v.ok() || !v->isObject() || !(*v)["path"].isString()) return "<no path in: " + r.body + ">";
    return (*v)["path"].asString();
  }
  static bool ClosesConnection(const RawReply& r) {
    return r.head.find("\r\nConnection: close") != std::string::npos && r.closed;
  }

  std::atomic<int> handled_ = 0;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnOrdinaryRequestReachesTheHandler) {
  const RawReply r = RawHttp(port(), Get("/v1/services"));
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(PathOf(r), "/v1/services");
}

TEST_F(HttpServerTest, HeadOverTheLimitIs431AsJsonAndTheConnectionCloses) {
  server_.reset();
  Start({.max_header_bytes = 4096});
  const RawReply r = RawHttp(port(), Get("/x", "X-Big: " + std::string(6000, 'a') + "\r\n"));
  EXPECT_EQ(r.status, 431) << r.head;
  EXPECT_EQ(ErrorOf(r), "request line and headers larger than 4096 bytes");
  EXPECT_TRUE(ClosesConnection(r)) << r.head;
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, HeadOfExactlyTheLimitIsServedAndOneByteMoreIsNot) {
  server_.reset();
  Start({.max_header_bytes = 4096});
  // Request line (17) + Host (12) + Connection (19) + the blank line (2) + X-Big's 9 + value.
  const size_t value = 4096 - 17 - 12 - 19 - 2 - 9;
  const std::string request = Get("/x", "X-Big: " + std::string(value, 'a') + "\r\n");
  ASSERT_EQ(request.size(), 4096u);
  const RawReply r = RawHttp(port(), request);
  EXPECT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_EQ(RawHttp(port(), Get("/x", "X-Big: " + std::string(value + 1, 'a') + "\r\n")).status, 431);
}

// civetweb's buffer holds twice the limit; past that it cannot tell an oversized head from a
// malformed one, and says so in the same JSON form.
TEST_F(HttpServerTest, HeadBeyondTwiceTheLimitIs400AsJsonAndTheConnectionCloses) {
  server_.reset();
  Start({.max_header_bytes = 4096});
  const RawReply r = RawHttp(port(), Get("/x", "X-Big: " + std::string(10000, 'a') + "\r\n"));
  EXPECT_EQ(r.status, 400) << r.head;
  EXPECT_NE(ErrorOf(r).find("more than 8192 bytes"), std::string::npos) << ErrorOf(r);
  EXPECT_TRUE(ClosesConnection(r)) << r.head;
  EXPECT_EQ(handled_, 0);
}

// civetweb keeps 64 headers and silently drops the rest (a Content-Length among them could be
// lost): 64 are already refused.
TEST_F(HttpServerTest, SixtyFourHeadersAre431And63AreServed) {
  auto headers = [](int n) {  // n headers in all: Host, Connection and n - 2 others
    std::string h;
    for (int i = 0; i < n - 2; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
    return h;
  };
  const RawReply many = RawHttp(port(), Get("/x", headers(64)));
  EXPECT_EQ(many.status, 431) << many.head;
  EXPECT_EQ(ErrorOf(many), "more than 63 request headers");
  EXPECT_TRUE(ClosesConnection(many)) << many.head;
  EXPECT_EQ(RawHttp(port(), Get("/x", headers(200))).status, 431);
  EXPECT_EQ(RawHttp(port(), Get("/x", headers(63))).status, 200);
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpServerTest, TargetOverTheLimitIs414AsJson) {
  server_.reset();
  Start({.max_url_bytes = 1000});
  const std::string query = "/x?q=" + std::string(996, 'a');  // 1001 bytes
  const RawReply r = RawHttp(port(), Get(query));
  EXPECT_EQ(r.status, 414) << r.head;
  EXPECT_EQ(ErrorOf(r), "request target (path and query) longer than 1000 bytes");
  EXPECT_TRUE(ClosesConnection(r));
  EXPECT_EQ(RawHttp(port(), Get("/" + std::string(1000, 'p'))).status, 414);
  EXPECT_EQ(RawHttp(port(), Get(query.substr(0, 1000))).status, 200);
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpServerTest, DefaultLimitsAre8KiBTargetsAnd64KiBHeads) {
  EXPECT_EQ(RawHttp(port(), Get("/x?q=" + std::string(8192 - 5, 'a'))).status, 200);
  EXPECT_EQ(RawHttp(port(), Get("/x?q=" + std::string(8192 - 4, 'a'))).status, 414);
  EXPECT_EQ(RawHttp(port(), Get("/x", "X-Big: " + std::string(64 << 10, 'a') + "\r\n")).status, 431);
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413AndTheRestIsNotRead) {
  server_.reset();
  Start({.max_body_bytes = 64 << 10});
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  // Keep-alive and a body announced at 100 MiB: the server must answer and hang up rather
  // than read (and throw away) the other 99.9 MiB while the worker waits.
  c.Send("POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 104857600\r\n\r\n" + std::string(100 << 10, 'x'));
  const RawReply r = c.Read(5s);
  EXPECT_EQ(r.status, 413) << r.head;
  EXPECT_EQ(ErrorOf(r), "request body larger than 65536 bytes");
  EXPECT_TRUE(ClosesConnection(r)) << "the connection stayed open: " << r.head;
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIsCutOffWithoutReadingItWhole) {
  server_.reset();
  Start({.max_body_bytes = 64 << 10});
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("POST /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "4000\r\n" + std::string(0x4000, 'y') + "\r\n";
  constexpr size_t kOffered = size_t{256} << 20;
  size_t offered = 0;
  while (offered < kOffered && c.Send(chunk)) offered += 0x4000;
  // The server stopped taking the body long before its end (what it took is the limit plus
  // what the two sockets' buffers hold).
  EXPECT_LT(offered, kOffered / 8) << "the server read " << offered << " bytes of a 64 KiB limit";
  const RawReply r = c.Read(5s);
  EXPECT_EQ(r.status, 413) << r.head;
  EXPECT_EQ(ErrorOf(r), "request body larger than 65536 bytes");
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(RawHttp(port(), Get("/after")).status, 200) << "the server must still serve";
}

TEST_F(HttpServerTest, TransferEncodingWithContentLengthIsRefused) {
  const RawReply r = RawHttp(port(),
                             "POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r.head;
  EXPECT_EQ(ErrorOf(r), "both Transfer-Encoding and Content-Length: the body's end is ambiguous");
  EXPECT_TRUE(ClosesConnection(r));
  EXPECT_EQ(handled_, 0);
}

// CR, LF and NUL never reach a handler in a header value: civetweb refuses the head (and its
// refusal is JSON like every other error).
TEST_F(HttpServerTest, ControlCharactersInHeadersAreRefusedAsJson) {
  for (const std::string& header : {std::string("X-A: a\0b\r\n", 10), std::string("X-A: a\rb\r\n")}) {
    const RawReply r = RawHttp(port(), Get("/x", header));
    EXPECT_EQ(r.status, 400) << r.head;
    EXPECT_NE(ErrorOf(r).find("request refused before routing"), std::string::npos) << r.body;
    EXPECT_TRUE(ClosesConnection(r)) << r.head;
  }
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, MalformedRequestLinesGetJsonErrors) {
  const RawReply garbage = RawHttp(port(), "GARBAGE\r\n\r\n");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(ErrorOf(garbage), "request refused before routing: Bad request");
  const RawReply version = RawHttp(port(), "GET /x HTTP/9.9\r\nHost: test\r\n\r\n");
  EXPECT_EQ(version.status, 505);
  EXPECT_NE(ErrorOf(version).find("Bad HTTP version"), std::string::npos) << version.body;
  EXPECT_EQ(handled_, 0);
}

// civetweb closes the connection of an absolute-form target (a proxy request) without an
// answer; the server carries on.
TEST_F(HttpServerTest, AbsoluteFormTargetIsClosedWithoutAnAnswer) {
  const RawReply r = RawHttp(port(), Get("http://elsewhere.example/x"));
  EXPECT_EQ(r.status, 0) << r.head;
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(RawHttp(port(), Get("/x")).status, 200);
}

TEST_F(HttpServerTest, EncodedTraversalSlashesAndControlCharactersInThePathAre400) {
  const struct {
    std::string target, error;
  } cases[] = {
      {"/%2e%2e/etc/passwd", "the request path contains an encoded dot segment"},
      {"/%2E%2E/%2E%2E/etc/passwd", "the request path contains an encoded dot segment"},
      {"/dashboard/%2e%2e/%2e%2e/etc/passwd", "the request path contains an encoded dot segment"},
      {"/.%2e/etc/passwd", "the request path contains an encoded dot segment"},
      {"/dashboard/%2e", "the request path contains an encoded dot segment"},
      {"/dashboard%2f..%2f..%2fetc%2fpasswd", "the request path contains an encoded '/' (%2F)"},
      {"/dashboard%2F..%2Fetc", "the request path contains an encoded '/' (%2F)"},
      {"/dashboard%00", "the request path contains a control character"},
      {"/dashboard%00/x", "the request path contains a control character"},
      {"/x%0d%0aSet-Cookie:%20a=b", "the request path contains a control character"},
      {"/x%7f", "the request path contains a control character"},
  };
  for (const auto& c : cases) {
    const RawReply r = RawHttp(port(), Get(c.target));
    EXPECT_EQ(r.status, 400) << c.target << ": " << r.head;
    EXPECT_EQ(ErrorOf(r), c.error) << c.target;
  }
  EXPECT_EQ(handled_, 0);
}

// Literal dot segments are resolved (never above the root) before the handler sees the path,
// and a path is decoded exactly once.
TEST_F(HttpServerTest, HandlersSeeResolvedPathsDecodedOnce) {
  const struct {
    std::string target, path;
  } cases[] = {
      {"/../../etc/passwd", "/etc/passwd"},
      {"/dashboard/../../../etc/passwd", "/etc/passwd"},
      {"/dashboard\\..\\..\\etc\\passwd", "/etc/passwd"},
      {"/v1/./services/../services", "/v1/services"},
      {"/%252e%252e/x", "/%2e%2e/x"},
      {"/v1/services/a%20b+c", "/v1/services/a b+c"},
      {"/v1/services/%E2%98%83", "/v1/services/\xE2\x98\x83"},
  };
  for (const auto& c : cases) {
    const RawReply r = RawHttp(port(), Get(c.target));
    EXPECT_EQ(r.status, 200) << c.target << ": " << r.head;
    EXPECT_EQ(PathOf(r), c.path) << c.target;
  }
}

// A handler that copied request data into a header cannot split the response: the header is
// not written and the answer is a 500.
TEST_F(HttpServerTest, ResponseHeaderWithCrLfOrNulIsNeverWritten) {
  for (const char* value : {"a%0d%0aSet-Cookie:%20evil=1", "a%0aSet-Cookie:%20evil=1", "a%00b", "a%0db"}) {
    const RawReply r = RawHttp(port(), Get(std::string("/echo-header?v=") + value));
    EXPECT_EQ(r.status, 500) << value << ": " << r.head;
    EXPECT_EQ(ErrorOf(r), "the handler built an invalid response header (a CR, LF or NUL, or a bad name)");
    EXPECT_EQ(r.head.find("Set-Cookie"), std::string::npos) << r.head;
    EXPECT_EQ(r.head.find("X-Echo"), std::string::npos) << r.head;
  }
  const RawReply name = RawHttp(port(), Get("/bad-header-name"));
  EXPECT_EQ(name.status, 500) << name.head;
  const RawReply fine = RawHttp(port(), Get("/echo-header?v=plain%20text"));
  EXPECT_EQ(fine.status, 200);
  EXPECT_NE(fine.head.find("\r\nX-Echo: plain text"), std::string::npos) << fine.head;
}

}  // namespace
}  // namespace mesh

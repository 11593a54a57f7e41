// AsioHttpClient against real servers on 127.0.0.1: an HttpServer for ordinary answers, and a
// scripted listener (raw bytes, counted connections) for what HttpServer never does: keep-alive
// accounting, closing a kept connection, never answering, chunked and oversized answers, TLS
// with certificates from a real CertificateAuthority (trusted through SSL_CERT_FILE, which
// OpenSSL's default paths honour).
#include "mesh/http/asio_http_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mesh/base/json_text.h"
#include "mesh/http_server/http_server.h"
#include "mesh/security/certificate_authority.h"
#include "mesh/security/x509.h"
#include "test_support.h"

namespace mesh {
namespace http_asio_http_client_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

std::string Answer(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" +
         body;
}

// A listener on 127.0.0.1:0 that hands each accepted connection to `serve` on a thread of its
// own and counts the connections (accepted, and finished: `serve` returned and the socket
// closed). The destructor shuts the connections down, which ends any read `serve` blocks in.
class ScriptedServer {
 public:
  using Serve = std::function<void(tcp::socket&)>;
  explicit ScriptedServer(Serve serve)
      : serve_(std::move(serve)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    {  // wakes the accept up
      asio::io_context io;
      tcp::socket poke(io);
      beast::error_code ignored;
      poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    }
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : connection_threads_) t.join();
  }

  int port() const { return port_; }
  int accepted() const { return accepted_; }
  int finished() const { return finished_; }

 private:
  void AcceptLoop() {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(io_);
      beast::error_code ec;
      acceptor_.accept(*socket, ec);
      if (stopping_ || ec) return;
      ++accepted_;
      std::lock_guard lock(mu_);
      open_fds_.push_back(socket->native_handle());
      connection_threads_.emplace_back([this, socket] {
        serve_(*socket);
        {
          std::lock_guard lock(mu_);
          std::erase(open_fds_, socket->native_handle());
        }
        beast::error_code ignored;
        socket->close(ignored);
        ++finished_;
      });
    }
  }

  Serve serve_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stopping_ = false;
  std::atomic<int> accepted_ = 0;
  std::atomic<int> finished_ = 0;
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::thread> connection_threads_;
  std::thread accept_thread_;
};

// What a scripted server does with the n-th request (n counts from 0 across connections):
// writes `bytes` back, then reads the next request or, with `then_close`, hangs up. No bytes:
// no answer; the connection stays open until the client closes it.
struct Reply {
  std::string bytes;
  bool then_close = false;
};
using Script = std::function<Reply(int)>;

template <typename Stream>
void AnswerRequests(Stream& stream, std::atomic<int>& count, const Script& script) {
  beast::flat_buffer buffer;
  while (true) {
    http::request<http::string_body> request;
    beast::error_code ec;
    http::read(stream, buffer, request, ec);
    if (ec) return;
    const Reply reply = script(count++);
    if (reply.bytes.empty()) {
      char byte;
      stream.read_some(asio::buffer(&byte, 1), ec);
      return;
    }
    asio::write(stream, asio::buffer(reply.bytes), ec);
    if (ec || reply.then_close) return;
  }
}

ScriptedServer::Serve Requests(std::atomic<int>& count, Script script) {
  return [&count, script = std::move(script)](tcp::socket& socket) {
    AnswerRequests(socket, count, script);
  };
}

// ---- ordinary answers, from a real HttpServer ------------------------------------------------

class AsioHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServer::Options options;
    options.listen = "127.0.0.1:0";
    options.threads = 4;
    Result<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, [](const HttpRequest& r) {
          if (r.path == "/status")
            return HttpResponse::Error(std::stoi(r.Query("code")), "as asked");
          std::string body = "{\"method\":";
          AppendJsonString(body, r.method);
          body += ",\"path\":";
          AppendJsonString(body, r.path + "?" + r.Query("q"));
          body += ",\"body\":";
          AppendJsonString(body, r.body);
          body += ",\"host\":";
          AppendJsonString(body, r.Header("host"));
          body += ",\"x_test\":";
          AppendJsonString(body, r.Header("x-test"));
          body += ",\"content_length\":";
          AppendJsonString(body, r.Header("content-length"));
          return HttpResponse::Json(200, body + "}");
        });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  std::string Url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + target;
  }
  static Json::Value Echo(const Result<HttpClientResponse>& r) {
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    Result<Json::Value> v = ParseJson(r->body);
    EXPECT_TRUE(v.ok()) << r->body;
    return v.ok() ? *v : Json::Value();
  }

  std::unique_ptr<HttpServer> server_;
  AsioHttpClient client_{5000};
};

TEST_F(AsioHttpClientTest, GetReachesTheServerWithHostAndHeadersAndNoBody) {
  const Json::Value v = Echo(client_.Send("GET", Url("/v1/x?q=1"), "", {{"X-Test", "yes"}}));
  EXPECT_EQ(v["method"].asString(), "GET");
  EXPECT_EQ(v["path"].asString(), "/v1/x?1");
  EXPECT_EQ(v["host"].asString(), "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(v["x_test"].asString(), "yes");
  EXPECT_EQ(v["content_length"].asString(), "");
}

TEST_F(AsioHttpClientTest, PostSendsItsBodyWithContentLength) {
  const std::string body = R"({"service":"orders","port":8081})";
  const Json::Value v =
      Echo(client_.Send("POST", Url("/v1/register"), body, {{"Content-Type", "application/json"}}));
  EXPECT_EQ(v["method"].asString(), "POST");
  EXPECT_EQ(v["body"].asString(), body);
  EXPECT_EQ(v["content_length"].asString(), std::to_string(body.size()));
  // An empty DELETE still says how long its body is.
  EXPECT_EQ(Echo(client_.Send("DELETE", Url("/v1/x"), "", {}))["content_length"].asString(), "0");
}

TEST_F(AsioHttpClientTest, TheCallersHostHeaderReplacesTheUrls) {
  EXPECT_EQ(Echo(client_.Send("GET", Url("/"), "", {{"host", "orders.mesh"}}))["host"].asString(),
            "orders.mesh");
}

TEST_F(AsioHttpClientTest, ErrorStatusesAreResponsesNotErrors) {
  for (int code : {404, 500, 503}) {
    Result<HttpClientResponse> r =
        client_.Send("GET", Url("/status?code=" + std::to_string(code)), "", {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->status, code);
    EXPECT_NE(r->body.find("as asked"), std::string::npos) << r->body;
  }
}

TEST_F(AsioHttpClientTest, MalformedUrlsMethodsAndHeadersAreRefusedBeforeConnecting) {
  for (const std::string url :
       {"ftp://x", "http://", "http://host:99999", "http://[::1", "http://a b/", ""}) {
    Result<HttpClientResponse> r = client_.Send("GET", url, "", {});
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << url;
    EXPECT_NE(r.status().message().find("'" + url + "'"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(client_.Send("GE T", Url("/"), "", {}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(client_.Send("", Url("/"), "", {}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(client_.Send("GET", Url("/"), "", {{"X-Test", "a\r\nX-Injected: 1"}}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(client_.Send("GET", Url("/"), "", {{"X Test", "a"}}).status().code(),
            Status::Code::kInvalidArgument);
  // The client still works after all that.
  EXPECT_EQ(Echo(client_.Send("GET", Url("/"), "", {}))["method"].asString(), "GET");
}

TEST(AsioHttpClient, ARefusedPortIsAnIOErrorNamingTheUrl) {
  int port = 0;
  {  // a port that was free a moment ago, and is closed now
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/services";
  AsioHttpClient client(2000);
  Result<HttpClientResponse> r = client.Send("GET", url, "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find(url), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("refused"), std::string::npos) << r.status().message();
}

// ---- connections, timeouts and framing, from a scripted listener -----------------------------

TEST(AsioHttpClient, KeepsOneConnectionAcrossCalls) {
  std::atomic<int> requests = 0;
  ScriptedServer server(
      Requests(requests, [](int n) { return Reply{Answer(200, "answer " + std::to_string(n))}; }));
  AsioHttpClient client(5000);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  for (int i = 0; i < 3; ++i) {
    Result<HttpClientResponse> r =
        client.Send(i == 1 ? "POST" : "GET", url, i == 1 ? "body" : "", {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->body, "answer " + std::to_string(i));
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(AsioHttpClient, AnAnswerThatClosesTheConnectionIsNotKept) {
  std::atomic<int> requests = 0;
  ScriptedServer server(
      Requests(requests, [](int) { return Reply{Answer(200, "ok", "Connection: close\r\n")}; }));
  AsioHttpClient client(5000);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  ASSERT_TRUE(client.Send("GET", url, "", {}).ok());
  ASSERT_TRUE(client.Send("GET", url, "", {}).ok());
  EXPECT_EQ(server.accepted(), 2);
}

TEST(AsioHttpClient, AKeptConnectionTheServerClosedIsReplacedOnce) {
  std::atomic<int> requests = 0;
  // One answer per connection, then the server hangs up without saying so.
  ScriptedServer server(Requests(requests, [](int n) {
    return Reply{Answer(200, "answer " + std::to_string(n)), true};
  }));
  AsioHttpClient client(5000);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  Result<HttpClientResponse> first = client.Send("POST", url, "one", {});
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(Eventually([&] { return server.finished() == 1; }));
  Result<HttpClientResponse> second = client.Send("POST", url, "two", {});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->body, "answer 1");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(requests, 2);
}

TEST(AsioHttpClient, ARequestAnsweredInPartIsNotSentAgain) {
  std::atomic<int> requests = 0;
  // The first request gets a whole answer, the second half of one, then the server hangs up;
  // any later request would get a whole answer again.
  ScriptedServer server(Requests(requests,
                                 [](int n) {
                                   return n == 1 ? Reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf", true} : Reply{Answer(200, "whole")};
                                 }));
  AsioHttpClient client(5000);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/heartbeat";
  ASSERT_TRUE(client.Send("POST", url, "", {}).ok());
  Result<HttpClientResponse> r = client.Send("POST", url, "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find(url), std::string::npos) << r.status().message();
  EXPECT_EQ(requests, 2);
  EXPECT_EQ(server.accepted(), 1);
}

TEST(AsioHttpClient, AServerThatNeverAnswersIsAnIOErrorAfterTheTimeout) {
  std::atomic<int> requests = 0;
  ScriptedServer server(Requests(requests, [](int) { return Reply{}; }));
  AsioHttpClient client(200);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/policy";
  Result<HttpClientResponse> r = client.Send("GET", url, "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find(url), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("timed out after 200 ms"), std::string::npos)
      << r.status().message();
  // The client closed its side: the server's read ends.
  EXPECT_TRUE(Eventually([&] { return server.finished() == 1; }));
  EXPECT_EQ(requests, 1);
}

TEST(AsioHttpClient, ReadsAChunkedAnswer) {
  std::atomic<int> requests = 0;
  ScriptedServer server(Requests(requests, [](int) {
    return Reply{
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
        "world\r\n0\r\n\r\n"};
  }));
  AsioHttpClient client(5000);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  for (int i = 0; i < 2; ++i) {  // and the connection stays usable after it
    Result<HttpClientResponse> r = client.Send("GET", url, "", {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->body, "hello world");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(AsioHttpClient, AnAnswerOverTheSizeLimitIsRefused) {
  std::atomic<int> requests = 0;
  ScriptedServer server(Requests(requests, [](int n) {
    if (n < 2) return Reply{Answer(200, std::string(n == 0 ? 1024 : 1025, 'x'))};
    // No Content-Length to refuse up front: the limit applies as the chunks come.
    return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                 std::string(1024, 'y') + "\r\n1\r\nz\r\n0\r\n\r\n"};
  }));
  AsioHttpClient client(5000, 1024);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  Result<HttpClientResponse> at_limit = client.Send("GET", url, "", {});
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().message();
  EXPECT_EQ(at_limit->body.size(), 1024u);
  for (int i = 0; i < 2; ++i) {
    Result<HttpClientResponse> r = client.Send("GET", url, "", {});
    ASSERT_FALSE(r.ok()) << i << ": " << r->status << ", " << r->body.size() << " bytes";
    EXPECT_EQ(r.status().code(), Status::Code::kIOError);
    EXPECT_NE(r.status().message().find("answer larger than 1024 bytes"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(requests, 3);
}

// ---- https ----------------------------------------------------------------------------------

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct ServerCertificate {
  std::string ca_pem;
  std::string certificate_pem;
  std::string key_pem;
};

// The CA issues workload certificates whose subject CN is the service name and whose only SAN
// is a spiffe:// URI: with no DNS name among the SANs, host name checks fall back to the CN, so
// a "service" named localhost makes a server certificate for localhost.
ServerCertificate IssueFor(const std::string& name) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.test", NowNs());
  EXPECT_TRUE(ca.ok()) << ca.status().message();
  if (!ca.ok()) return {};
  ServerCertificate c;
  c.ca_pem = ca->certificate_pem();
  c.key_pem = *GeneratePrivateKeyPem();
  const std::string csr = *MakeCsrPem(c.key_pem, name, "spiffe://mesh.test/service/" + name);
  const int64_t hour = 3600LL * 1'000'000'000;
  Result<std::string> cert = ca->Issue({csr, name, NowNs() - hour, NowNs() + hour});
  EXPECT_TRUE(cert.ok()) << cert.status().message();
  c.certificate_pem = cert.ok() ? *cert : "";
  return c;
}

// A TLS server answering "hello over TLS" to every request; SSL_CERT_FILE names `trusted_ca`
// while the test runs (the client reads it when it makes its TLS context, at its first
// https:// call).
class AsioHttpClientTlsTest : public ::testing::Test {
 protected:
  void Start(const ServerCertificate& server_certificate, const std::string& trusted_ca_pem) {
    ::mesh::testing::WriteFile(dir_.File("ca.pem"), trusted_ca_pem);
    ASSERT_EQ(::setenv("SSL_CERT_FILE", dir_.File("ca.pem").c_str(), 1), 0);
    tls_.use_certificate_chain(asio::buffer(server_certificate.certificate_pem));
    tls_.use_private_key(asio::buffer(server_certificate.key_pem), ssl::context::pem);
    server_ = std::make_unique<ScriptedServer>([this](tcp::socket& socket) {
      ssl::stream<tcp::socket&> stream(socket, tls_);
      beast::error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) return;
      ++handshakes_;
      AnswerRequests(stream, requests_, [](int) { return Reply{Answer(200, "hello over TLS")}; });
    });
  }
  void TearDown() override {
    server_.reset();
    ::unsetenv("SSL_CERT_FILE");
  }
  std::string Url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(server_->port()) + "/v1/certificates";
  }

  ::mesh::testing::TempDir dir_;
  ssl::context tls_{ssl::context::tls_server};
  std::atomic<int> handshakes_ = 0;
  std::atomic<int> requests_ = 0;
  std::unique_ptr<ScriptedServer> server_;
};

TEST_F(AsioHttpClientTlsTest, ATrustedCertificateForTheHostIsAccepted) {
  const ServerCertificate c = IssueFor("localhost");
  Start(c, c.ca_pem);
  AsioHttpClient client(5000);
  for (int i = 0; i < 2; ++i) {
    Result<HttpClientResponse> r = client.Send("POST", Url("localhost"), "csr", {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello over TLS");
  }
  EXPECT_EQ(handshakes_, 1);  // the TLS connection is kept too
}

TEST_F(AsioHttpClientTlsTest, ACertificateFromAnotherCaIsRefused) {
  const ServerCertificate c = IssueFor("localhost");
  Start(c, IssueFor("localhost").ca_pem);
  AsioHttpClient client(5000);
  Result<HttpClientResponse> r = client.Send("GET", Url("localhost"), "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find(Url("localhost")), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(handshakes_, 0);
}

TEST_F(AsioHttpClientTlsTest, ACertificateForAnotherHostIsRefused) {
  const ServerCertificate c = IssueFor("meshd.example");
  Start(c, c.ca_pem);
  AsioHttpClient client(5000);
  Result<HttpClientResponse> r = client.Send("GET", Url("localhost"), "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("hostname mismatch"), std::string::npos)
      << r.status().message();
  // An address is checked against the certificate's IP addresses, which it has none of.
  Result<HttpClientResponse> by_address = client.Send("GET", Url("127.0.0.1"), "", {});
  ASSERT_FALSE(by_address.ok());
  EXPECT_NE(by_address.status().message().find("IP address mismatch"), std::string::npos)
      << by_address.status().message();
  EXPECT_EQ(handshakes_, 0);
}

}  // namespace
}  // namespace mesh

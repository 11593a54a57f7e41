// mTLS in the data plane: two real HttpProxy instances on loopback (an outbound one in plain
// HTTP toward the application, an inbound one taking only mTLS) in front of a real HTTP
// server, with certificates from a real CertificateAuthority. Raw TLS clients check what the
// inbound side refuses at the handshake.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/http_server/http_server.h"
#include "mesh/proxy/http_proxy.h"
#include "mesh/security/certificate_authority.h"
#include "mesh/security/x509.h"
#include "silent_listener.h"

namespace mesh {
namespace proxy_proxy_mtls_test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr int64_t kHourNs = 3600LL * 1'000'000'000;
constexpr char kTrustDomain[] = "mesh.test";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TlsCredentials Credentials(const CertificateAuthority& ca, const std::string& service, int64_t not_before_ns,
                           int64_t not_after_ns) {
  TlsCredentials c;
  c.private_key_pem = *GeneratePrivateKeyPem();
  const std::string csr = *MakeCsrPem(c.private_key_pem, service, "spiffe://x/service/" + service);
  Result<std::string> cert = ca.Issue({csr, service, not_before_ns, not_after_ns});
  EXPECT_TRUE(cert.ok()) << cert.status().message();
  c.certificate_pem = cert.ok() ? *cert : "";
  c.ca_pem = ca.certificate_pem();
  c.trust_domain = ca.trust_domain();
  return c;
}

TlsCredentials Valid(const CertificateAuthority& ca, const std::string& service) {
  return Credentials(ca, service, NowNs() - kHourNs, NowNs() + kHourNs);
}

bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

class Recorder {
 public:
  void Add(ProxiedRequest&& r) {
    std::lock_guard lock(mu_);
    records_.push_back(std::move(r));
  }
  // The records once there are `n` (a record is handed over after the answer is written).
  std::vector<ProxiedRequest> Records(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu_);
        if (records_.size() >= n) return records_;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  std::mutex mu_;
  std::vector<ProxiedRequest> records_;
};

// An outbound proxy (plain toward the test) whose only upstream is the inbound proxy (mTLS),
// whose upstream is a real HTTP server answering "hello <path>".
class MtlsPair : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<CertificateAuthority> ca = CertificateAuthority::Create(kTrustDomain, NowNs());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_unique<CertificateAuthority>(std::move(ca).value());
    HttpServer::Options server;
    server.listen = "127.0.0.1:0";
    server.threads = 4;
    Result<std::unique_ptr<HttpServer>> app = HttpServer::Start(server, [this](const HttpRequest& r) {
      ++app_requests_;
      return HttpResponse::Json(200, "{\"hello\":\"" + r.path + "\"}");
    });
    ASSERT_TRUE(app.ok());
    app_ = std::move(app).value();
  }

  void StartInbound(const std::string& service, TlsCredentials tls,
                    std::function<PolicyDecision(std::string_view, std::string_view, std::string_view)> authorize = {},
                    int port = 0) {
    HttpProxy::Options in;
    in.listen_port = port;
    in.threads = 2;
    in.service = service;
    in.direction = HttpProxy::Direction::kInbound;
    in.upstreams = std::make_shared<FixedUpstream>(Endpoint{"127.0.0.1", app_->port(), ""});
    in.tls = std::move(tls);
    in.authorize = std::move(authorize);
    in.on_complete = [this](ProxiedRequest&& r) { inbound_records_.Add(std::move(r)); };
    Result<std::unique_ptr<HttpProxy>> started = HttpProxy::Start(in);
    ASSERT_TRUE(started.ok()) << started.status().message();
    inbound_ = std::move(started).value();
  }

  void StartOutbound(const std::string& service, std::optional<TlsCredentials> tls,
                     std::shared_ptr<UpstreamSelector> upstreams = nullptr, bool retries = false) {
    HttpProxy::Options out;
    out.listen_port = 0;
    out.threads = 2;
    out.service = service;
    out.direction = HttpProxy::Direction::kOutbound;
    out.upstreams = upstreams ? std::move(upstreams)
                              : std::make_shared<FixedUpstream>(Endpoint{"127.0.0.1", inbound_->port(), "", true});
    out.tls = std::move(tls);
    if (retries) out.may_retry = [] { return true; };
    Result<std::unique_ptr<HttpProxy>> started = HttpProxy::Start(out);
    ASSERT_TRUE(started.ok()) << started.status().message();
    outbound_ = std::move(started).value();
  }

  HttpClientResponse Get(const std::string& host, const std::string& path) {
    Result<HttpClientResponse> r = client_.Send("GET", "http://127.0.0.1:" + std::to_string(outbound_->port()) + path,
                                                "", {{"Host", host}});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : HttpClientResponse{};
  }

  std::unique_ptr<CertificateAuthority> ca_;
  std::atomic<int> app_requests_{0};  // before app_, whose handler counts into it
  std::unique_ptr<HttpServer> app_;
  // Declared before the proxies, so destroyed after them: their I/O threads hand it records
  // until they stop.
  Recorder inbound_records_;
  std::unique_ptr<HttpProxy> inbound_;
  std::unique_ptr<HttpProxy> outbound_;
  CurlHttpClient client_{5000};
};

// Hands out the endpoints of a script in order, then the last one again and again; remembers
// every outcome reported.
class ScriptedEndpoints : public UpstreamSelector {
 public:
  explicit ScriptedEndpoints(std::vector<Endpoint> script) : script_(std::move(script)) {}
  Result<Endpoint> Pick(std::string_view, int) override {
    std::lock_guard lock(mu_);
    const Endpoint e = script_[std::min(next_, script_.size() - 1)];
    ++next_;
    return e;
  }
  void Report(const Endpoint& endpoint, AttemptOutcome outcome, int64_t) override {
    std::lock_guard lock(mu_);
    reports_.emplace_back(endpoint, outcome);
  }
  std::vector<std::pair<Endpoint, AttemptOutcome>> reports() {
    std::lock_guard lock(mu_);
    return reports_;
  }

 private:
  std::mutex mu_;
  std::vector<Endpoint> script_;
  size_t next_ = 0;
  std::vector<std::pair<Endpoint, AttemptOutcome>> reports_;
};

using test_support::SilentListener;

// A raw TLS client: shakes hands with `tls` (no certificate when its PEMs are empty), sends one
// GET and returns the first line of the answer, or the error that ended the exchange.
std::string RawTlsGet(int port, const std::string& ca_pem, const std::string& cert_pem, const std::string& key_pem,
                      std::string* peer_serial = nullptr) {
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (!cert_pem.empty()) {
    ctx.use_certificate_chain(asio::buffer(cert_pem));
    ctx.use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
  }
  asio::ssl::stream<tcp::socket> stream(ioc, ctx);
  boost::system::error_code ec;
  stream.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) return "connect: " + ec.message();
  // A bound on every read: a refused client must not hang the test.
  const timeval timeout{5, 0};
  setsockopt(stream.lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return "handshake: " + ec.message();
  if (peer_serial != nullptr) {
    X509* cert = SSL_get0_peer_certificate(stream.native_handle());
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    *peer_serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
  }
  const std::string request = "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(stream, asio::buffer(request), ec);
  if (ec) return "write: " + ec.message();
  std::string answer;
  char buf[4096];
  for (;;) {
    const size_t n = stream.read_some(asio::buffer(buf), ec);
    answer.append(buf, n);
    if (ec || answer.find("\r\n") != std::string::npos) break;
  }
  if (answer.find("\r\n") != std::string::npos) return answer.substr(0, answer.find("\r\n"));
  return "read: " + ec.message();
}

TEST_F(MtlsPair, CarriesRequestsAndNamesTheCallingService) {
  StartInbound("orders", Valid(*ca_, "orders"));
  StartOutbound("frontend", Valid(*ca_, "frontend"));
  for (int i = 0; i < 5; ++i) {
    HttpClientResponse r = Get("orders", "/items");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "{\"hello\":\"/items\"}");
  }
  const std::vector<ProxiedRequest> seen = inbound_records_.Records(5);
  ASSERT_EQ(seen.size(), 5u);
  for (const ProxiedRequest& r : seen) EXPECT_EQ(r.client_service, "frontend");
  EXPECT_EQ(inbound_->tls_handshake_failures(), 0);
}

// The callee went away and came back: the caller's pooled TLS connection to it is closed (no
// close_notify), and a GET, which may be replayed, goes again on a fresh connection.
TEST_F(MtlsPair, AGetOnAPooledConnectionTheCalleeClosedGoesAgainOnAFreshOne) {
  StartInbound("orders", Valid(*ca_, "orders"));
  StartOutbound("frontend", Valid(*ca_, "frontend"));
  EXPECT_EQ(Get("orders", "/one").status, 200);
  const int port = inbound_->port();
  inbound_.reset();
  StartInbound("orders", Valid(*ca_, "orders"), {}, port);
  for (int i = 0; i < 3; ++i) {
    HttpClientResponse r = Get("orders", "/two");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(app_requests_.load(), 4);
}

TEST_F(MtlsPair, AClientWithoutACertificateIsRefusedAtTheHandshake) {
  StartInbound("orders", Valid(*ca_, "orders"));
  const std::string outcome = RawTlsGet(inbound_->port(), ca_->certificate_pem(), "", "");
  EXPECT_EQ(outcome.find("HTTP/1.1"), std::string::npos) << outcome;
  EXPECT_EQ(app_requests_.load(), 0);
  // Counted once the server's side of the handshake has ended, which may be after the client's.
  EXPECT_TRUE(Eventually([&] { return inbound_->tls_handshake_failures() >= 1; }));
}

TEST_F(MtlsPair, AClientSignedByAnotherCaIsRefused) {
  StartInbound("orders", Valid(*ca_, "orders"));
  Result<CertificateAuthority> rogue = CertificateAuthority::Create(kTrustDomain, NowNs());
  ASSERT_TRUE(rogue.ok());
  const TlsCredentials impostor = Valid(*rogue, "frontend");
  const std::string outcome = RawTlsGet(inbound_->port(), ca_->certificate_pem(), impostor.certificate_pem,
                                        impostor.private_key_pem);
  EXPECT_EQ(outcome.find("HTTP/1.1"), std::string::npos) << outcome;
  EXPECT_EQ(app_requests_.load(), 0);
}

TEST_F(MtlsPair, AnExpiredCertificateIsRefused) {
  StartInbound("orders", Valid(*ca_, "orders"));
  const TlsCredentials expired = Credentials(*ca_, "frontend", NowNs() - 3 * kHourNs, NowNs() - 2 * kHourNs);
  const std::string outcome =
      RawTlsGet(inbound_->port(), ca_->certificate_pem(), expired.certificate_pem, expired.private_key_pem);
  EXPECT_EQ(outcome.find("HTTP/1.1"), std::string::npos) << outcome;
  EXPECT_EQ(app_requests_.load(), 0);
}

TEST_F(MtlsPair, AValidClientCertificateGetsThrough) {
  StartInbound("orders", Valid(*ca_, "orders"));
  const TlsCredentials caller = Valid(*ca_, "frontend");
  EXPECT_EQ(RawTlsGet(inbound_->port(), ca_->certificate_pem(), caller.certificate_pem, caller.private_key_pem),
            "HTTP/1.1 200 OK");
}

TEST_F(MtlsPair, PlaintextToTheMtlsPortGetsNoHttpAnswer) {
  StartInbound("orders", Valid(*ca_, "orders"));
  CurlHttpClient plain(3000);
  Result<HttpClientResponse> r = plain.Send("GET", "http://127.0.0.1:" + std::to_string(inbound_->port()) + "/", "", {});
  EXPECT_FALSE(r.ok() && r->status == 200);
  EXPECT_EQ(app_requests_.load(), 0);
}

TEST_F(MtlsPair, AnUpstreamProvingAnotherIdentityIsNotTrusted) {
  StartInbound("payments", Valid(*ca_, "payments"));  // answers where "orders" is expected
  StartOutbound("frontend", Valid(*ca_, "frontend"));
  HttpClientResponse r = Get("orders", "/items");
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("names service payments, not orders"), std::string::npos) << r.body;
  EXPECT_EQ(app_requests_.load(), 0);
}

TEST_F(MtlsPair, APlaintextProxyIsToldTheUpstreamNeedsMtls) {
  StartInbound("orders", Valid(*ca_, "orders"));
  StartOutbound("frontend", std::nullopt);
  HttpClientResponse r = Get("orders", "/items");
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("accepts only mTLS"), std::string::npos) << r.body;
}

TEST_F(MtlsPair, ACallerThePolicyDeniesGets403JsonAndIsRecorded) {
  StartInbound("orders", Valid(*ca_, "orders"),
               [](std::string_view caller, std::string_view method, std::string_view target) {
                 if (caller == "frontend" && method == "GET" && target.starts_with("/public")) return PolicyDecision{};
                 return PolicyDecision{false, "policy does not allow " + std::string(caller) + " to call orders " +
                                                  std::string(method) + " " + std::string(target)};
               });
  StartOutbound("frontend", Valid(*ca_, "frontend"));
  EXPECT_EQ(Get("orders", "/public/x").status, 200);
  HttpClientResponse denied = Get("orders", "/admin");
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("\"error\":\"policy does not allow frontend to call orders GET /admin\""),
            std::string::npos)
      << denied.body;
  EXPECT_EQ(app_requests_.load(), 1);
  const std::vector<ProxiedRequest> seen = inbound_records_.Records(2);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].denied);
  EXPECT_TRUE(seen[1].denied);
  EXPECT_EQ(seen[1].status, 403);
  EXPECT_EQ(seen[1].client_service, "frontend");
}

TEST_F(MtlsPair, RotatedCredentialsServeNewConnectionsWhileOpenOnesContinue) {
  StartInbound("orders", Valid(*ca_, "orders"));
  StartOutbound("frontend", Valid(*ca_, "frontend"));
  EXPECT_EQ(Get("orders", "/before").status, 200);  // leaves a pooled connection open
  const TlsCredentials caller = Valid(*ca_, "frontend");
  std::string first_serial;
  RawTlsGet(inbound_->port(), ca_->certificate_pem(), caller.certificate_pem, caller.private_key_pem, &first_serial);

  const TlsCredentials renewed = Valid(*ca_, "orders");
  ASSERT_TRUE(inbound_->UpdateTls(renewed).ok());
  ASSERT_TRUE(outbound_->UpdateTls(Valid(*ca_, "frontend")).ok());
  std::string second_serial;
  EXPECT_EQ(RawTlsGet(inbound_->port(), ca_->certificate_pem(), caller.certificate_pem, caller.private_key_pem,
                      &second_serial),
            "HTTP/1.1 200 OK");
  EXPECT_NE(first_serial, second_serial);
  EXPECT_EQ(second_serial, InspectCertificate(renewed.certificate_pem)->serial_hex);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Get("orders", "/after").status, 200);
}

// The registry may say anything of an instance (an entry can be forged): an mTLS proxy never
// sends a request in plaintext, and the service's mTLS instances still serve.
TEST_F(MtlsPair, AnEndpointNotMarkedMtlsIsNeverCalledInPlaintextAndAnMtlsOneServes) {
  StartInbound("orders", Valid(*ca_, "orders"));
  SilentListener decoy;
  const Endpoint plaintext{"127.0.0.1", decoy.port(), "orders@127.0.0.1:" + std::to_string(decoy.port()), false};
  const Endpoint mtls{"127.0.0.1", inbound_->port(), "", true};
  auto upstreams = std::make_shared<ScriptedEndpoints>(std::vector<Endpoint>{plaintext, plaintext, mtls});
  StartOutbound("frontend", Valid(*ca_, "frontend"), upstreams);
  HttpClientResponse r = Get("orders", "/items");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(app_requests_.load(), 1);
  EXPECT_FALSE(decoy.SomeoneConnected());
  EXPECT_EQ(outbound_->counters().upstream_tls_refused_plaintext, 2);
  // Reported as failures, so that balancing and outlier detection steer away from it. The
  // success is reported once the answer is relayed, which the client may see first.
  auto reports = upstreams->reports();
  for (int i = 0; i < 200 && reports.size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    reports = upstreams->reports();
  }
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0], std::make_pair(plaintext, AttemptOutcome::kConnectFailure));
  EXPECT_EQ(reports[1], std::make_pair(plaintext, AttemptOutcome::kConnectFailure));
  EXPECT_EQ(reports[2], std::make_pair(mtls, AttemptOutcome::kSuccess));
}

TEST_F(MtlsPair, OnlyPlaintextEndpointsGive502NamingTheInstanceEvenWithRetries) {
  SilentListener decoy;
  const Endpoint plaintext{"127.0.0.1", decoy.port(), "orders@127.0.0.1:" + std::to_string(decoy.port()), false};
  StartOutbound("frontend", Valid(*ca_, "frontend"), std::make_shared<ScriptedEndpoints>(std::vector{plaintext}),
                true);
  for (const std::string method : {"GET", "POST"}) {
    Result<HttpClientResponse> r = client_.Send(
        method, "http://127.0.0.1:" + std::to_string(outbound_->port()) + "/items", "secret", {{"Host", "orders"}});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->status, 502) << r->body;
    EXPECT_NE(r->body.find("\"error\":\"refused to send to " + plaintext.instance_id +
                           " of service orders in plaintext: the registry does not mark it mTLS"),
              std::string::npos)
        << r->body;
  }
  EXPECT_FALSE(decoy.SomeoneConnected());
  EXPECT_EQ(outbound_->counters().upstream_tls_refused_plaintext, 16);  // 8 picks per request at most
}

// Inbound, the local service is reached in plaintext as always: the rule is about calls out.
TEST_F(MtlsPair, TheInboundSideStillReachesItsLocalServiceInPlaintext) {
  StartInbound("orders", Valid(*ca_, "orders"));
  StartOutbound("frontend", Valid(*ca_, "frontend"));
  EXPECT_EQ(Get("orders", "/items").status, 200);
  EXPECT_EQ(inbound_->counters().upstream_tls_refused_plaintext, 0);
}

// Two services at one address in turn (a restart, a re-registration, an address reused): the
// connection pooled after a call to orders is verified for orders, and never carries a request
// for payments, which gets a new connection that must prove payments.
TEST_F(MtlsPair, APooledConnectionVerifiedForOneServiceNeverCarriesAnothersRequest) {
  StartInbound("orders", Valid(*ca_, "orders"));
  StartOutbound("frontend", Valid(*ca_, "frontend"));
  EXPECT_EQ(Get("orders", "/one").status, 200);  // leaves a pooled connection verified for orders
  HttpClientResponse r = Get("payments", "/two");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("names service orders, not payments"), std::string::npos) << r.body;
  EXPECT_EQ(app_requests_.load(), 1);
  EXPECT_EQ(outbound_->counters().upstream_tls_identity_mismatches, 1);
  // And the other way round: payments now answers at that address; orders' pooled connection is
  // not handed to a request for payments, and a request for orders finds no payments connection.
  const int port = inbound_->port();
  inbound_.reset();
  StartInbound("payments", Valid(*ca_, "payments"), {}, port);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get("payments", "/three").status, 200);
  EXPECT_EQ(Get("orders", "/four").status, 502);
  EXPECT_EQ(app_requests_.load(), 4);
}

TEST_F(MtlsPair, UnusableCredentialsAreRefusedAndTheOldOnesStay) {
  StartInbound("orders", Valid(*ca_, "orders"));
  TlsCredentials broken = Valid(*ca_, "orders");
  broken.private_key_pem = *GeneratePrivateKeyPem();  // not the certificate's key
  EXPECT_FALSE(inbound_->UpdateTls(broken).ok());
  const TlsCredentials caller = Valid(*ca_, "frontend");
  EXPECT_EQ(RawTlsGet(inbound_->port(), ca_->certificate_pem(), caller.certificate_pem, caller.private_key_pem),
            "HTTP/1.1 200 OK");
  TlsCredentials not_pem = Valid(*ca_, "orders");
  not_pem.certificate_pem = "garbage";
  HttpProxy::Options o;
  o.listen_port = 0;
  o.upstreams = std::make_shared<FixedUpstream>(Endpoint{"127.0.0.1", 1, ""});
  o.tls = not_pem;
  EXPECT_FALSE(HttpProxy::Start(o).ok());
}

}  // namespace
}  // namespace mesh

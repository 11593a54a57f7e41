// AsioHttpServer and AsioHttpClient over TLS: the server's identity checked by the client, the
// client certificate's identity verified by the server and put on the request, and what is
// refused (a certificate of another CA, a host the certificate does not name, plain HTTP).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mesh/http/asio_http_client.h"
#include "mesh/http/asio_http_server.h"
#include "mesh/security/certificate_authority.h"
#include "mesh/security/x509.h"
#include "raw_http.h"

namespace mesh {
namespace http_asio_http_tls_test {

constexpr int64_t kHour = 3600LL * 1'000'000'000;

int64_t Now() { return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

struct Identity {
  std::string certificate_pem;
  std::string private_key_pem;
};

Identity Workload(const CertificateAuthority& ca, const std::string& service) {
  const std::string key = *GeneratePrivateKeyPem();
  const std::string csr = *MakeCsrPem(key, service, FormatSpiffeId({ca.trust_domain(), service}));
  return {*ca.Issue({csr, service, Now() - kHour, Now() + kHour}), key};
}

class AsioHttpTlsTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> hosts = {"127.0.0.1", "localhost"}) {
    const std::string key = *GeneratePrivateKeyPem();
    Result<std::string> cert = ca_.IssueServer({key, std::move(hosts), Now() - kHour, Now() + kHour});
    ASSERT_TRUE(cert.ok()) << cert.status().message();
    AsioHttpServer::Options options;
    options.listen = "127.0.0.1:0";
    options.tls = AsioHttpServer::Options::Tls{*cert, key, ca_.certificate_pem()};
    Result<std::unique_ptr<AsioHttpServer>> server = AsioHttpServer::Start(options, [](const HttpRequest& r) {
      return HttpResponse::Json(200, "\"" + r.peer_spiffe_id + "\"");
    });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  std::string Url() const { return "https://127.0.0.1:" + std::to_string(server_->port()) + "/who"; }

  CertificateAuthority ca_ = *CertificateAuthority::Create("mesh.local", Now());
  std::unique_ptr<AsioHttpServer> server_;
};

TEST_F(AsioHttpTlsTest, TheVerifiedClientCertificateNamesThePeerAndAHeaderCannot) {
  Start();
  AsioHttpClient client(5000);
  Identity orders = Workload(ca_, "orders");
  client.SetTls({ca_.certificate_pem(), orders.certificate_pem, orders.private_key_pem});
  Result<HttpClientResponse> r = client.Send("GET", Url(), "", {{"Peer-Spiffe-Id", "spiffe://mesh.local/service/x"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "\"spiffe://mesh.local/service/orders\"");
  // A second request on the kept connection carries the same identity.
  EXPECT_EQ(client.Send("GET", Url(), "", {})->body, "\"spiffe://mesh.local/service/orders\"");
}

TEST_F(AsioHttpTlsTest, AClientWithoutACertificateIsServedWithNoPeer) {
  Start();
  AsioHttpClient client(5000);
  client.SetTls({ca_.certificate_pem(), "", ""});
  Result<HttpClientResponse> r = client.Send("GET", Url(), "", {{"Peer-Spiffe-Id", "spiffe://mesh.local/service/x"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "\"\"");
}

TEST_F(AsioHttpTlsTest, AClientCertificateOfAnotherCaFailsTheHandshake) {
  Start();
  CertificateAuthority other = *CertificateAuthority::Create("mesh.local", Now());
  Identity forged = Workload(other, "orders");
  AsioHttpClient client(5000);
  client.SetTls({ca_.certificate_pem(), forged.certificate_pem, forged.private_key_pem});
  Result<HttpClientResponse> r = client.Send("GET", Url(), "", {});
  EXPECT_FALSE(r.ok()) << r->body;
}

TEST_F(AsioHttpTlsTest, TheClientRefusesAServerOfAnotherCaOrForAnotherHost) {
  Start();
  CertificateAuthority other = *CertificateAuthority::Create("mesh.local", Now());
  AsioHttpClient wrong_ca(5000);
  wrong_ca.SetTls({other.certificate_pem(), "", ""});
  Result<HttpClientResponse> r = wrong_ca.Send("GET", Url(), "", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().message();

  Start({"meshd.example"});
  AsioHttpClient client(5000);
  client.SetTls({ca_.certificate_pem(), "", ""});
  EXPECT_FALSE(client.Send("GET", Url(), "", {}).ok()) << "the certificate does not name 127.0.0.1";
}

TEST_F(AsioHttpTlsTest, PlainHttpToATlsPortGetsNoAnswer) {
  Start();
  const testing::RawReply r =
      testing::RawHttp(server_->port(), "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 0) << r.head;
}

TEST(CertificateAuthorityServer, RefusesNoHostOrAHostThatWouldAddANameOrBadValidity) {
  CertificateAuthority ca = *CertificateAuthority::Create("mesh.local", Now());
  const std::string key = *GeneratePrivateKeyPem();
  EXPECT_FALSE(ca.IssueServer({key, {}, Now(), Now() + kHour}).ok());
  EXPECT_FALSE(ca.IssueServer({key, {"a.example,DNS:evil.example"}, Now(), Now() + kHour}).ok());
  EXPECT_FALSE(ca.IssueServer({key, {"a example"}, Now(), Now() + kHour}).ok());
  const int64_t now = Now();
  EXPECT_FALSE(ca.IssueServer({key, {"a.example"}, now, now}).ok());
  EXPECT_FALSE(ca.IssueServer({key, {"a.example"}, now, now + 400 * 24 * kHour}).ok());
  EXPECT_FALSE(ca.IssueServer({"not a key", {"a.example"}, Now(), Now() + kHour}).ok());
  Result<std::string> cert = ca.IssueServer({key, {"a.example", "::1"}, Now(), Now() + kHour});
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  // A server certificate names no service: it is no client credential.
  EXPECT_EQ(InspectCertificate(*cert)->spiffe_id, "");
}

}  // namespace
}  // namespace mesh

// Issue 18, point 2, stage B, on the real meshd: `meshd --tls` serves its API over HTTPS with a
// certificate from its own CA; a client certificate from that CA is its service's credential
// (registry writes, renewal of the certificate itself) and nothing of another service's; a
// client certificate of another CA is refused at the handshake; a CLI trusts meshd through
// SSL_CERT_FILE.
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "mesh/base/json_text.h"
#include "mesh/http/asio_http_client.h"
#include "mesh/security/certificate_authority.h"
#include "mesh/security/x509.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using test_support::CreateToken;
using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;
using test_support::WriteTokenFile;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kJson[] = "application/json";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct KeyAndCsr {
  std::string key_pem;
  std::string body;  // POST /v1/certs
};

KeyAndCsr CertRequest(const std::string& service) {
  KeyAndCsr k{*GeneratePrivateKeyPem(), ""};
  const std::string csr = *MakeCsrPem(k.key_pem, service, "spiffe://mesh.local/service/" + service);
  k.body = "{\"service\":";
  AppendJsonString(k.body, service);
  k.body += ",\"csr_pem\":";
  AppendJsonString(k.body, csr);
  k.body += "}";
  return k;
}

std::string Registration(const std::string& service, int port) {
  return "{\"service\":\"" + service + "\",\"host\":\"127.0.0.1\",\"port\":" + std::to_string(port) + "}";
}

class MeshdTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    meshd_ = std::make_unique<MeshdProcess>(
        dir_ + "/mesh.db",
        std::vector<std::string>{"--tls", "--token-file", WriteTokenFile(dir_ + "/write.token", "w-s3cret")});
    ASSERT_TRUE(meshd_->ready()) << meshd_->process().err();
    ca_pem_ = *ReadWholeFile(dir_ + "/ca/ca.crt");
  }
  void TearDown() override {
    meshd_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A client that trusts exactly meshd's CA, presenting `certificate` when given.
  std::unique_ptr<AsioHttpClient> Client(const std::string& certificate_pem = "", const std::string& key_pem = "") {
    auto client = std::make_unique<AsioHttpClient>(10000);
    client->SetTls({ca_pem_, certificate_pem, key_pem});
    return client;
  }
  // orders' certificate, got with its scoped token.
  std::pair<std::string, std::string> OrdersCertificate() {
    const std::string token = CreateToken(dir_ + "/mesh.db", "orders");
    const KeyAndCsr request = CertRequest("orders");
    Result<HttpClientResponse> r = Client()->Send(
        "POST", meshd_->url() + "/v1/certs", request.body, {{"Authorization", "Bearer " + token}, {"Content-Type", kJson}});
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().message());
    if (!r.ok()) return {};
    Result<Json::Value> answer = ParseJson(r->body);
    return {answer.ok() ? (*answer)["certificate_pem"].asString() : "", request.key_pem};
  }

  std::string dir_;
  std::string ca_pem_;
  std::unique_ptr<MeshdProcess> meshd_;
};

TEST_F(MeshdTlsTest, AnswersHttpsTrustingItsOwnCaAndNothingOverPlainHttp) {
  ASSERT_EQ(meshd_->url().rfind("https://127.0.0.1:", 0), 0u) << meshd_->url();
  Result<HttpClientResponse> health = Client()->Send("GET", meshd_->url() + "/healthz", "", {});
  ASSERT_TRUE(health.ok()) << health.status().message();
  EXPECT_EQ(health->status, 200);
  Result<HttpClientResponse> ca = Client()->Send("GET", meshd_->url() + "/v1/ca", "", {});
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  EXPECT_NE(ca->body.find("BEGIN CERTIFICATE"), std::string::npos) << ca->body;
  // Another CA's trust does not reach meshd.
  auto stranger = std::make_unique<AsioHttpClient>(5000);
  stranger->SetTls({CertificateAuthority::Create("mesh.local", Now())->certificate_pem(), "", ""});
  EXPECT_FALSE(stranger->Send("GET", meshd_->url() + "/healthz", "", {}).ok());
  AsioHttpClient plain(5000);
  const std::string http_url = "http://" + meshd_->url().substr(std::string("https://").size());
  Result<HttpClientResponse> cleartext = plain.Send("GET", http_url + "/healthz", "", {});
  EXPECT_FALSE(cleartext.ok() && cleartext->status == 200);
}

TEST_F(MeshdTlsTest, AClientCertificateForOrdersRegistersOrdersAndIsRefusedPayments) {
  const auto [cert, key] = OrdersCertificate();
  ASSERT_FALSE(cert.empty());
  auto orders = Client(cert, key);
  const Headers json = {{"Content-Type", kJson}};
  Result<HttpClientResponse> own = orders->Send("POST", meshd_->url() + "/v1/register", Registration("orders", 8001), json);
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_EQ(own->status, 200) << own->body;
  Result<HttpClientResponse> other =
      orders->Send("POST", meshd_->url() + "/v1/register", Registration("payments", 8002), json);
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_EQ(other->status, 403) << other->body;
  EXPECT_NE(other->body.find("client certificate of service orders"), std::string::npos) << other->body;
  // A service's credential pushes telemetry and reads its sidecar's view; not the admin writes.
  EXPECT_EQ(orders->Send("POST", meshd_->url() + "/v1/logs", "{\"resourceLogs\":[]}", json)->status, 200);
  EXPECT_EQ(orders->Send("GET", meshd_->url() + "/v1/services/orders", "", {})->status, 200);
  EXPECT_EQ(orders->Send("POST", meshd_->url() + "/v1/silences", "{}", json)->status, 403);
  // Without the certificate the same registration is a 401.
  EXPECT_EQ(Client()->Send("POST", meshd_->url() + "/v1/register", Registration("orders", 8003), json)->status, 401);
}

TEST_F(MeshdTlsTest, ACertificateRenewsItselfWithoutATokenAndGetsNoOtherServices) {
  const auto [cert, key] = OrdersCertificate();
  ASSERT_FALSE(cert.empty());
  auto orders = Client(cert, key);
  const Headers json = {{"Content-Type", kJson}};
  Result<HttpClientResponse> renewed = orders->Send("POST", meshd_->url() + "/v1/certs", CertRequest("orders").body, json);
  ASSERT_TRUE(renewed.ok()) << renewed.status().message();
  ASSERT_EQ(renewed->status, 200) << renewed->body;
  Result<Json::Value> answer = ParseJson(renewed->body);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(InspectCertificate((*answer)["certificate_pem"].asString())->spiffe_id, "spiffe://mesh.local/service/orders");
  Result<HttpClientResponse> other = orders->Send("POST", meshd_->url() + "/v1/certs", CertRequest("payments").body, json);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 403) << other->body;
  const std::string metrics = Client()->Send("GET", meshd_->url() + "/metrics", "", {{"Authorization", "Bearer w-s3cret"}})->body;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"other_service\",route_class=\"certs\"} 1"), std::string::npos)
      << metrics;
}

TEST_F(MeshdTlsTest, AClientCertificateOfAnotherCaIsRefusedAtTheHandshake) {
  CertificateAuthority other = *CertificateAuthority::Create("mesh.local", Now());
  const std::string key = *GeneratePrivateKeyPem();
  const int64_t now = Now();
  const std::string forged =
      *other.Issue({*MakeCsrPem(key, "orders", "spiffe://mesh.local/service/orders"), "orders", now - 3'600'000'000'000,
                    now + 3'600'000'000'000});
  Result<HttpClientResponse> r = Client(forged, key)->Send(
      "POST", meshd_->url() + "/v1/register", Registration("orders", 8001), {{"Content-Type", kJson}});
  EXPECT_FALSE(r.ok()) << r->status << " " << r->body;
}

TEST_F(MeshdTlsTest, ACliReachesMeshdOverHttpsTrustingItsCaThroughSslCertFile) {
  const RunResult r = RunProcess({MESHTRACE_BIN, "list"}, "",
                                 {"MESH_SERVER=" + meshd_->url(), "SSL_CERT_FILE=" + dir_ + "/ca/ca.crt", "NO_COLOR=1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Without the CA the CLI refuses meshd's certificate.
  const RunResult untrusted =
      RunProcess({MESHTRACE_BIN, "list"}, "", {"MESH_SERVER=" + meshd_->url(), "SSL_CERT_FILE=/dev/null", "NO_COLOR=1"});
  EXPECT_NE(untrusted.exit_code, 0) << untrusted.out;
}

TEST(MeshdTlsSan, TheCertificateNamesExactlyTheTlsSansAndTheyNeedTls) {
  char tmpl[] = "/tmp/meshd-san-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    MeshdProcess meshd(dir + "/mesh.db", {"--tls", "--tls-san", "meshd.example", "--tls-san", "10.1.2.3"});
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    AsioHttpClient client(5000);
    client.SetTls({*ReadWholeFile(dir + "/ca/ca.crt"), "", ""});
    Result<HttpClientResponse> r = client.Send("GET", meshd.url() + "/healthz", "", {});
    EXPECT_FALSE(r.ok()) << "127.0.0.1 is not among the --tls-san names";
  }
  const RunResult r = RunProcess({MESHD_BIN, "--db", dir + "/mesh.db", "--listen", "127.0.0.1:0", "--tls-san", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--tls-san needs --tls"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

// meshproxy given meshd's CA hash: it fetches the CA, checks it, then talks to meshd over TLS
// trusting that CA only, and presents its workload certificate. Its token has one use, spent on
// the first certificate: the registration that follows can only be the certificate's.
TEST_F(MeshdTlsTest, MeshproxyWithTheRightCaHashBootstrapsAndRegistersWithItsCertificate) {
  const RunResult hash = RunProcess({MESHD_BIN, "--db", dir_ + "/mesh.db", "ca-hash"});
  ASSERT_EQ(hash.exit_code, 0) << hash.err;
  const std::string pin = hash.out.substr(0, hash.out.find('\n'));
  const std::string token = WriteTokenFile(dir_ + "/orders.token", CreateToken(dir_ + "/mesh.db", "orders", {"--uses", "1"}));
  Subprocess proxy({MESHPROXY_BIN, "--service", "orders", "--service-port", "1", "--listen", "127.0.0.1:0", "--outbound",
                    "", "--admin", "127.0.0.1:0", "--meshd", meshd_->url(), "--meshd-ca-hash", pin, "--mtls",
                    "--join-token-file", token, "--data-dir", dir_ + "/orders"});
  ASSERT_TRUE(proxy.WaitForStderr("meshproxy listening", std::chrono::seconds(30))) << proxy.err();
  EXPECT_NE(proxy.err().find("meshd's CA matches --meshd-ca-hash"), std::string::npos) << proxy.err();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string listed;
  auto reader = Client();
  while (std::chrono::steady_clock::now() < until) {
    Result<HttpClientResponse> r =
        reader->Send("GET", meshd_->url() + "/v1/services/orders", "", {{"Authorization", "Bearer w-s3cret"}});
    if (r.ok() && r->body.find("orders@") != std::string::npos) {
      listed = r->body;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_NE(listed.find("orders@127.0.0.1:"), std::string::npos) << proxy.err();
  proxy.Signal(SIGTERM);
  proxy.Wait(std::chrono::seconds(20));
}

// Restarted after its one-use token was spent, the sidecar presents its stored certificate and
// renews with it: the token alone would be refused (used up).
TEST_F(MeshdTlsTest, ARestartedMeshproxyRenewsWithItsStoredCertificateOnceItsTokenIsSpent) {
  const RunResult hash = RunProcess({MESHD_BIN, "--db", dir_ + "/mesh.db", "ca-hash"});
  ASSERT_EQ(hash.exit_code, 0) << hash.err;
  const std::string pin = hash.out.substr(0, hash.out.find('\n'));
  const std::string token = WriteTokenFile(dir_ + "/orders.token", CreateToken(dir_ + "/mesh.db", "orders", {"--uses", "1"}));
  const std::vector<std::string> args = {MESHPROXY_BIN, "--service", "orders", "--service-port", "1", "--listen",
                                         "127.0.0.1:0", "--outbound", "", "--admin", "127.0.0.1:0", "--meshd",
                                         meshd_->url(), "--meshd-ca-hash", pin, "--mtls", "--join-token-file", token,
                                         "--data-dir", dir_ + "/orders"};
  for (int start = 0; start < 2; ++start) {
    Subprocess proxy(args);
    ASSERT_TRUE(proxy.WaitForStderr("meshproxy listening", std::chrono::seconds(30))) << "start " << start << ": "
                                                                                        << proxy.err();
    proxy.Signal(SIGTERM);
    EXPECT_EQ(proxy.Wait(std::chrono::seconds(20)).exit_code, 0) << proxy.err();
  }
  const RunResult list = RunProcess({MESHD_BIN, "--db", dir_ + "/mesh.db", "token", "list", "-o", "json"});
  EXPECT_NE(list.out.find("\"uses_left\":0"), std::string::npos) << list.out;
}

TEST_F(MeshdTlsTest, MeshproxyWithAWrongCaHashExitsNamingTheMismatch) {
  const std::string wrong = "sha256:" + std::string(64, '0');
  const RunResult r = RunProcess({MESHPROXY_BIN, "--service", "orders", "--service-port", "1", "--listen", "127.0.0.1:0",
                                  "--outbound", "", "--admin", "127.0.0.1:0", "--meshd", meshd_->url(), "--meshd-ca-hash",
                                  wrong, "--data-dir", dir_ + "/orders"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("does not match --meshd-ca-hash"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expected " + wrong), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mesh

// Issue 18, point 2, on the real meshd: a credential names one identity. A scoped token (made by
// the real `meshd token create`) gets its own service's certificate and registry entries and
// nothing of another service's; the write token gets no certificate and no registry write;
// revoked and expired tokens are refused on a running meshd; a meshd with no scoped token
// issues nothing and says so at start-up. Every refusal is counted on /metrics.
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "mesh/base/json_text.h"
#include "mesh/security/x509.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using test_support::CreateToken;
using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::WriteTokenFile;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}; }

std::string CertRequest(const std::string& service) {
  const std::string csr = *MakeCsrPem(*GeneratePrivateKeyPem(), service, "spiffe://mesh.local/service/" + service);
  std::string body = "{\"service\":";
  AppendJsonString(body, service);
  body += ",\"csr_pem\":";
  AppendJsonString(body, csr);
  return body + "}";
}

std::string Registration(const std::string& service, int port) {
  return "{\"service\":\"" + service + "\",\"host\":\"127.0.0.1\",\"port\":" + std::to_string(port) + "}";
}

class MeshdCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-cred-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Db() const { return dir_ + "/mesh.db"; }
  // meshd with a write token ("w-s3cret").
  std::unique_ptr<MeshdProcess> StartWithWriteToken() {
    auto meshd = std::make_unique<MeshdProcess>(
        Db(), std::vector<std::string>{"--token-file", WriteTokenFile(dir_ + "/write.token", "w-s3cret")});
    EXPECT_TRUE(meshd->ready()) << meshd->process().err();
    return meshd;
  }
  // Polls until `request` answers `status` (a running meshd sees the store's changes within a second).
  static int StatusWithin(const std::function<int()>& request, int status, std::chrono::seconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    int got = request();
    while (got != status && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(100ms);
      got = request();
    }
    return got;
  }

  std::string dir_;
};

TEST_F(MeshdCredentialsTest, AServicesTokenGetsItsOwnCertificateAndNoOtherServices) {
  auto meshd = StartWithWriteToken();
  const std::string orders = CreateToken(Db(), "orders");
  const HttpClientResponse own = meshd->Request("POST", "/v1/certs", CertRequest("orders"), Bearer(orders));
  ASSERT_EQ(own.status, 200) << own.body;
  Result<Json::Value> answer = ParseJson(own.body);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(InspectCertificate((*answer)["certificate_pem"].asString())->spiffe_id, "spiffe://mesh.local/service/orders");

  const HttpClientResponse other = meshd->Request("POST", "/v1/certs", CertRequest("payments"), Bearer(orders));
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_NE(other.body.find("cannot act for service payments"), std::string::npos) << other.body;
  // The write token names no service: no certificate at all.
  const HttpClientResponse write = meshd->Request("POST", "/v1/certs", CertRequest("orders"), Bearer("w-s3cret"));
  EXPECT_EQ(write.status, 403) << write.body;
  const std::string metrics = meshd->Request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"other_service\",route_class=\"certs\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"wrong_credential\",route_class=\"certs\"} 1"),
            std::string::npos)
      << metrics;
  // Listed without its secret, with its last use.
  const RunResult list = RunProcess({MESHD_BIN, "--db", Db(), "token", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.find(orders.substr(7)), std::string::npos) << list.out;
  Result<Json::Value> listed = ParseJson(list.out);
  ASSERT_TRUE(listed.ok()) << list.out;
  EXPECT_EQ((*listed)["tokens"][0]["service"].asString(), "orders");
  EXPECT_TRUE((*listed)["tokens"][0]["last_used"].isString()) << list.out;
}

TEST_F(MeshdCredentialsTest, OneServicesTokenCannotRegisterHeartbeatOrRemoveAnothers) {
  auto meshd = StartWithWriteToken();
  const std::string orders = CreateToken(Db(), "orders");
  const std::string payments = CreateToken(Db(), "payments");
  ASSERT_EQ(meshd->Request("POST", "/v1/register", Registration("payments", 8002), Bearer(payments)).status, 200);
  EXPECT_EQ(meshd->Request("POST", "/v1/register", Registration("payments", 8003), Bearer(orders)).status, 403);
  const std::string instance = "/v1/instances/payments@127.0.0.1:8002";
  EXPECT_EQ(meshd->Request("POST", instance + "/heartbeat", "", Bearer(orders)).status, 403);
  EXPECT_EQ(meshd->Request("DELETE", instance, "", Bearer(orders)).status, 403);
  // Nor can the write token, any more.
  EXPECT_EQ(meshd->Request("DELETE", instance, "", Bearer("w-s3cret")).status, 403);
  EXPECT_EQ(meshd->Request("POST", "/v1/register", Registration("payments", 8004), Bearer("w-s3cret")).status, 403);
  const std::string listed = meshd->Request("GET", "/v1/services/payments").body;
  EXPECT_NE(listed.find("payments@127.0.0.1:8002"), std::string::npos) << listed;
  EXPECT_EQ(listed.find("8003"), std::string::npos) << listed;
  EXPECT_EQ(listed.find("8004"), std::string::npos) << listed;
  EXPECT_EQ(meshd->Request("POST", instance + "/heartbeat", "", Bearer(payments)).status, 200);
  const std::string metrics = meshd->Request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"other_service\",route_class=\"registry\"} 3"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"wrong_credential\",route_class=\"registry\"} 2"),
            std::string::npos)
      << metrics;
  // A service's token pushes telemetry; it cannot silence alerts.
  EXPECT_EQ(meshd->Request("POST", "/v1/logs", "{\"resourceLogs\":[]}", Bearer(orders)).status, 200);
  EXPECT_EQ(meshd->Request("POST", "/v1/silences", "{}", Bearer(orders)).status, 403);
}

TEST_F(MeshdCredentialsTest, RevokedAndExpiredTokensAreRefusedByARunningMeshd) {
  auto meshd = StartWithWriteToken();
  const std::string revoked = CreateToken(Db(), "orders");
  const std::string expiring = CreateToken(Db(), "orders", {"--ttl", "1s"});
  const auto certify = [&](const std::string& token) {
    return [&, token] { return meshd->Request("POST", "/v1/certs", CertRequest("orders"), Bearer(token)).status; };
  };
  ASSERT_EQ(certify(revoked)(), 200);
  const RunResult revoke = RunProcess({MESHD_BIN, "--db", Db(), "token", "revoke", revoked.substr(0, 6)});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_EQ(StatusWithin(certify(revoked), 401, 5s), 401);
  EXPECT_EQ(StatusWithin(certify(expiring), 401, 5s), 401);
  EXPECT_EQ(meshd->Request("POST", "/v1/register", Registration("orders", 8001), Bearer(revoked)).status, 401);
  const std::string metrics = meshd->Request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"revoked\",route_class=\"certs\"}"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mesh_auth_refusals_total{reason=\"expired\",route_class=\"certs\"}"), std::string::npos)
      << metrics;
  // An unknown id is a clear error.
  const RunResult unknown = RunProcess({MESHD_BIN, "--db", Db(), "token", "revoke", "zzzzzz"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "meshd: no token zzzzzz (see meshd token list)\n");
}

TEST_F(MeshdCredentialsTest, WithoutScopedTokensNothingIsIssuedAndMeshdSaysSo) {
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string log = meshd.process().err();
  EXPECT_NE(log.find("certificates are issued only to scoped tokens (meshd token create --service NAME)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("no --token-file: writes (telemetry ingest, alerts, silences) and registration are open"),
            std::string::npos)
      << log;
  EXPECT_EQ(meshd.Request("POST", "/v1/certs", CertRequest("orders"), {{"Content-Type", "application/json"}}).status, 401);
  EXPECT_EQ(meshd.Request("POST", "/v1/certs", CertRequest("orders"), Bearer("anything")).status, 401);
}

TEST_F(MeshdCredentialsTest, TheRemovedJoinTokenFileNamesItsReplacement) {
  const RunResult r = RunProcess({MESHD_BIN, "--listen", "127.0.0.1:0", "--db", Db(), "--join-token-file",
                                  WriteTokenFile(dir_ + "/join", "shared")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("meshd token create --service NAME"), std::string::npos) << r.err;
}

TEST_F(MeshdCredentialsTest, TokenCreateIsScriptableAndValidatesItsArguments) {
  const RunResult json = RunProcess({MESHD_BIN, "--db", Db(), "token", "create", "--service", "orders", "--ttl", "0",
                                     "--uses", "3", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  Result<Json::Value> created = ParseJson(json.out);
  ASSERT_TRUE(created.ok()) << json.out;
  EXPECT_EQ((*created)["service"].asString(), "orders");
  EXPECT_TRUE((*created)["expires"].isNull());
  EXPECT_EQ((*created)["uses"].asInt(), 3);
  EXPECT_EQ((*created)["token"].asString().substr(0, 7), (*created)["id"].asString() + ".");
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--service", "a/b"}, {"--service", "orders", "--ttl", "400d"},
        {"--service", "orders", "--uses", "0"}, {"--service", "orders", "--ttl", "soon"}, {}}) {
    std::vector<std::string> args = {MESHD_BIN, "--db", Db(), "token", "create"};
    args.insert(args.end(), bad.begin(), bad.end());
    const RunResult r = RunProcess(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

}  // namespace
}  // namespace mesh

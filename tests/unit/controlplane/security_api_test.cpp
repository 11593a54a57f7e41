#include "mesh/controlplane/security_api.h"

#include <gtest/gtest.h>
#include <json/value.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "mesh/base/json_text.h"
#include "mesh/security/x509.h"
#include "scoped_tokens.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_security_api_test {

constexpr int64_t kNow = 1'760'000'000LL * 1'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

class SecurityApiTest : public ::testing::Test {
 protected:
  void Start(SecurityApi::Options options, CredentialResolver::Options tokens = {}) {
    tokens_ = std::make_unique<testing::ScopedTokens>(clock_, tokens);
    Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.test", kNow);
    ASSERT_TRUE(ca.ok());
    ca_pem_ = ca->certificate_pem();
    Result<std::unique_ptr<SecurityApi>> api =
        SecurityApi::Create(std::move(ca).value(), options, clock_, tokens_->access());
    ASSERT_TRUE(api.ok()) << api.status().message();
    api_ = std::move(api).value();
    api_->AddRoutes(router_);
  }
  HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                    const std::string& token = "") {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return router_.Handle(r);
  }
  static std::string CertRequest(const std::string& service, const std::string& extra = "") {
    const std::string csr = *MakeCsrPem(*GeneratePrivateKeyPem(), service, "spiffe://mesh.test/service/" + service);
    std::string body = "{\"service\":";
    AppendJsonString(body, service);
    body += ",\"csr_pem\":";
    AppendJsonString(body, csr);
    return body + extra + "}";
  }
  static Json::Value Body(const HttpResponse& r) { return *ParseJson(r.body); }

  testing::FakeClock clock_{kNow};
  testing::TempDir dir_;
  std::unique_ptr<testing::ScopedTokens> tokens_;
  std::string ca_pem_;
  std::unique_ptr<SecurityApi> api_;
  HttpRouter router_;
};

TEST_F(SecurityApiTest, ServesTheCaCertificateAndTrustDomain) {
  Start({});
  HttpResponse r = Call("GET", "/v1/ca");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["trust_domain"].asString(), "mesh.test");
  EXPECT_EQ(Body(r)["ca_pem"].asString(), ca_pem_);
}

TEST_F(SecurityApiTest, IssuesAVerifiableCertificateForTheServiceTheTokenNames) {
  Start({});
  const std::string orders = tokens_->Create("orders");
  HttpResponse r = Call("POST", "/v1/certs", CertRequest("orders"), orders);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json::Value body = Body(r);
  EXPECT_EQ(body["spiffe_id"].asString(), "spiffe://mesh.test/service/orders");
  EXPECT_EQ(body["ca_pem"].asString(), ca_pem_);
  const std::string cert = body["certificate_pem"].asString();
  EXPECT_TRUE(VerifyCertificate(cert, ca_pem_, kNow).ok());
  Result<CertificateInfo> info = InspectCertificate(cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->not_after_ns, kNow + CertificateAuthority::kDefaultValidityNs);
  EXPECT_EQ(info->not_before_ns, kNow - 60 * kSecond);
  EXPECT_EQ(tokens_->Record(orders).last_used_ns, kNow);
}

TEST_F(SecurityApiTest, ATokenForOneServiceGetsNoCertificateForAnother) {
  Start({});
  const std::string orders = tokens_->Create("orders");
  HttpResponse r = Call("POST", "/v1/certs", CertRequest("payments"), orders);
  ASSERT_EQ(r.status, 403) << r.body;
  const std::string error = Body(r)["error"].asString();
  EXPECT_NE(error.find("(service orders) cannot act for service payments"), std::string::npos) << error;
  EXPECT_NE(error.find("meshd token create --service payments"), std::string::npos) << error;
  EXPECT_EQ(tokens_->Refusals("certs", "other_service"), 1);
}

TEST_F(SecurityApiTest, TheWriteAndReadTokensGetNoCertificate) {
  Start({}, {.write_token = "admin", .read_token = "reader"});
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), "admin").status, 403);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), "reader").status, 403);
  EXPECT_EQ(tokens_->Refusals("certs", "wrong_credential"), 2);
}

TEST_F(SecurityApiTest, WithoutACredentialNothingIsIssuedEvenWithNoTokensConfigured) {
  Start({});
  HttpResponse r = Call("POST", "/v1/certs", CertRequest("orders"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), "made-up").status, 401);
  // A well-formed token meshd never made: the same answer.
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), "abcdef.0123456789abcdefghijklmnopqrstuv").status, 401);
  EXPECT_EQ(tokens_->Refusals("certs", "missing"), 1);
  EXPECT_EQ(tokens_->Refusals("certs", "unknown"), 2);
}

TEST_F(SecurityApiTest, AWrongSecretForAKnownIdIsUnknown) {
  Start({});
  const std::string orders = tokens_->Create("orders");
  std::string forged = orders;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), forged).status, 401);
  EXPECT_EQ(tokens_->Refusals("certs", "unknown"), 1);
}

TEST_F(SecurityApiTest, RevokedAndExpiredTokensAreRefused) {
  Start({});
  const std::string revoked = tokens_->Create("orders");
  const std::string expiring = tokens_->Create("orders", 60 * kSecond);
  ASSERT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), revoked).status, 200);
  tokens_->Revoke(revoked);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), revoked).status, 401);
  ASSERT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), expiring).status, 200);
  clock_.Advance(60 * kSecond);
  HttpResponse r = Call("POST", "/v1/certs", CertRequest("orders"), expiring);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(Body(r)["error"].asString().find("expired"), std::string::npos) << r.body;
  EXPECT_EQ(tokens_->Refusals("certs", "revoked"), 1);
  EXPECT_EQ(tokens_->Refusals("certs", "expired"), 1);
}

TEST_F(SecurityApiTest, ATokenWithUsesSpendsOnePerCertificateAndNoneOnABadRequest) {
  Start({});
  const std::string token = tokens_->Create("orders", 0, 2);
  EXPECT_EQ(Call("POST", "/v1/certs", "{\"service\":\"orders\",\"csr_pem\":\"garbage\"}", token).status, 400);
  EXPECT_EQ(tokens_->Record(token).uses_left, 2);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), token).status, 200);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders"), token).status, 200);
  EXPECT_EQ(tokens_->Record(token).uses_left, 0);
  HttpResponse r = Call("POST", "/v1/certs", CertRequest("orders"), token);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(Body(r)["error"].asString().find("used up"), std::string::npos) << r.body;
}

TEST_F(SecurityApiTest, HonoursTheRequestedTtlWithinBounds) {
  Start({});
  const std::string token = tokens_->Create("orders");
  HttpResponse r = Call("POST", "/v1/certs", CertRequest("orders", ",\"ttl\":\"2h\""), token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(InspectCertificate(Body(r)["certificate_pem"].asString())->not_after_ns, kNow + 7200 * kSecond);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders", ",\"ttl\":\"9s\""), token).status, 400);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders", ",\"ttl\":\"90d\""), token).status, 400);
  EXPECT_EQ(Call("POST", "/v1/certs", CertRequest("orders", ",\"ttl\":3600"), token).status, 400);
}

TEST_F(SecurityApiTest, RefusesMalformedRequestsWithJsonErrors) {
  Start({});
  const std::string token = tokens_->Create("orders");
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string("{\"service\":\"orders\"}"),
        std::string("{\"service\":\"orders\",\"csr_pem\":\"garbage\"}"), CertRequest("bad/name"),
        CertRequest("orders", ",\"extra\":1")}) {
    HttpResponse r = Call("POST", "/v1/certs", body, token);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_TRUE(Body(r)["error"].isString()) << r.body;
  }
}

TEST_F(SecurityApiTest, WithoutAPolicyFileThePolicyIsNull) {
  Start({});
  const Json::Value body = Body(Call("GET", "/v1/policy"));
  EXPECT_TRUE(body["policy"].isNull());
  EXPECT_EQ(body["version"].asString(), "none");
}

TEST_F(SecurityApiTest, ServesThePolicyAndReloadsItWhenItsFileChanges) {
  const std::string path = dir_.path() + "/policy.json";
  std::ofstream(path) << R"({"allow":[{"from":"a","to":"b"}]})";
  Start({.policy_path = path});
  const Json::Value first = Body(Call("GET", "/v1/policy"));
  EXPECT_EQ(first["policy"]["allow"][0]["from"].asString(), "a");

  std::ofstream(path) << R"({"allow":[{"from":"c","to":"b"}]})";
  struct timespec later[2] = {{0, UTIME_OMIT}, {kNow / kSecond + 10, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), later, 0), 0);
  clock_.Advance(2 * kSecond);
  const Json::Value second = Body(Call("GET", "/v1/policy"));
  EXPECT_EQ(second["policy"]["allow"][0]["from"].asString(), "c");
  EXPECT_NE(second["version"].asString(), first["version"].asString());

  // A broken edit keeps the last good policy and says why.
  std::ofstream(path) << R"({"allow":[{"from":"c"}]})";
  struct timespec latest[2] = {{0, UTIME_OMIT}, {kNow / kSecond + 20, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), latest, 0), 0);
  clock_.Advance(2 * kSecond);
  const Json::Value third = Body(Call("GET", "/v1/policy"));
  EXPECT_EQ(third["version"].asString(), second["version"].asString());
  EXPECT_NE(third["reload_error"].asString().find("\"to\" is required"), std::string::npos) << third["reload_error"].asString();
}

TEST_F(SecurityApiTest, ReloadPolicyReadsTheFileEvenWhenItsTimeDidNotChange) {
  const std::string path = dir_.path() + "/policy.json";
  std::ofstream(path) << R"({"allow":[{"from":"a","to":"b"}]})";
  struct timespec same[2] = {{0, UTIME_OMIT}, {kNow / kSecond, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), same, 0), 0);
  Start({.policy_path = path});
  const std::string first = Body(Call("GET", "/v1/policy"))["version"].asString();

  // Rewritten within the file system's timestamp granularity: the mtime check cannot see it.
  std::ofstream(path) << R"({"allow":[{"from":"c","to":"b"}]})";
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), same, 0), 0);
  clock_.Advance(2 * kSecond);
  EXPECT_EQ(Body(Call("GET", "/v1/policy"))["version"].asString(), first);
  Result<std::string> reloaded = api_->ReloadPolicy();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_NE(*reloaded, first);
  const Json::Value now = Body(Call("GET", "/v1/policy"));
  EXPECT_EQ(now["version"].asString(), *reloaded);
  EXPECT_EQ(now["policy"]["allow"][0]["from"].asString(), "c");
}

TEST_F(SecurityApiTest, ReloadPolicyRefusesABrokenFileAndKeepsTheLastGoodPolicy) {
  const std::string path = dir_.path() + "/policy.json";
  std::ofstream(path) << R"({"allow":[{"from":"a","to":"b"}]})";
  Start({.policy_path = path});
  const std::string good = Body(Call("GET", "/v1/policy"))["version"].asString();
  std::ofstream(path) << R"({"allow":[{"from":)";
  Result<std::string> reloaded = api_->ReloadPolicy();
  EXPECT_FALSE(reloaded.ok());
  const Json::Value now = Body(Call("GET", "/v1/policy"));
  EXPECT_EQ(now["version"].asString(), good);
  EXPECT_EQ(now["policy"]["allow"][0]["from"].asString(), "a");
  EXPECT_FALSE(now["reload_error"].asString().empty());

  std::filesystem::remove(path);
  EXPECT_FALSE(api_->ReloadPolicy().ok()) << "a vanished file keeps the last good policy too";
  EXPECT_EQ(Body(Call("GET", "/v1/policy"))["version"].asString(), good);
}

TEST_F(SecurityApiTest, ReloadPolicyWithoutAPolicyFileIsNotFound) {
  Start({});
  Result<std::string> reloaded = api_->ReloadPolicy();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.status().code(), Status::Code::kNotFound);
}

TEST(SecurityApi, RefusesToStartWithAnInvalidPolicyFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/policy.json";
  std::ofstream(path) << R"({"allow":"everyone"})";
  testing::FakeClock clock(kNow);
  testing::ScopedTokens tokens(clock);
  Result<std::unique_ptr<SecurityApi>> api =
      SecurityApi::Create(*CertificateAuthority::Create("mesh.test", kNow), {.policy_path = path}, clock, tokens.access());
  ASSERT_FALSE(api.ok());
  EXPECT_NE(api.status().message().find("\"allow\" must be an array"), std::string::npos);
  EXPECT_FALSE(SecurityApi::Create(*CertificateAuthority::Create("mesh.test", kNow),
                                   {.policy_path = dir.path() + "/missing.json"}, clock, tokens.access())
                   .ok());
}

}  // namespace
}  // namespace mesh

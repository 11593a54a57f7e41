#include "mesh/proxy/meshd_trust.h"

#include <gtest/gtest.h>

#include <chrono>

#include "mesh/base/json_text.h"
#include "mesh/security/certificate_authority.h"
#include "mesh/security/x509.h"

namespace mesh {
namespace proxy_meshd_trust_test {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Answers every call with one scripted answer, remembering the URL asked for.
class OneAnswer : public HttpClient {
 public:
  explicit OneAnswer(Result<HttpClientResponse> answer) : answer_(std::move(answer)) {}
  Result<HttpClientResponse> Send(const std::string&, const std::string& url, const std::string&,
                                  const std::vector<std::pair<std::string, std::string>>&) override {
    asked = url;
    return answer_;
  }
  std::string asked;

 private:
  Result<HttpClientResponse> answer_;
};

std::string CaAnswer(const std::string& pem) {
  std::string body = "{\"trust_domain\":\"mesh.local\",\"ca_pem\":";
  AppendJsonString(body, pem);
  return body + "}";
}

class MeshdTrustTest : public ::testing::Test {
 protected:
  CertificateAuthority ca_ = *CertificateAuthority::Create("mesh.local", Now());
  std::string pin_ = *PublicKeyHash(ca_.certificate_pem());
};

TEST_F(MeshdTrustTest, KeepsTheCaWhoseKeyHashIsThePin) {
  OneAnswer meshd(HttpClientResponse{200, CaAnswer(ca_.certificate_pem())});
  Result<std::string> ca = FetchPinnedMeshdCa(meshd, "https://meshd:9000", pin_);
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  EXPECT_EQ(meshd.asked, "https://meshd:9000/v1/ca");
  EXPECT_EQ(*PublicKeyHash(*ca), pin_);
}

TEST_F(MeshdTrustTest, AnotherCaIsAMismatchNamingBothHashes) {
  CertificateAuthority impostor = *CertificateAuthority::Create("mesh.local", Now());
  OneAnswer meshd(HttpClientResponse{200, CaAnswer(impostor.certificate_pem())});
  Result<std::string> ca = FetchPinnedMeshdCa(meshd, "https://meshd:9000", pin_);
  ASSERT_FALSE(ca.ok());
  EXPECT_EQ(ca.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(ca.status().message().find("expected " + pin_), std::string::npos) << ca.status().message();
  EXPECT_NE(ca.status().message().find(*PublicKeyHash(impostor.certificate_pem())), std::string::npos);
}

TEST_F(MeshdTrustTest, ACaAppendedAfterThePinnedOneIsNotTrusted) {
  CertificateAuthority appended = *CertificateAuthority::Create("mesh.local", Now());
  OneAnswer meshd(HttpClientResponse{200, CaAnswer(ca_.certificate_pem() + appended.certificate_pem())});
  Result<std::string> ca = FetchPinnedMeshdCa(meshd, "https://meshd:9000", pin_);
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  EXPECT_EQ(ca->find(appended.certificate_pem()), std::string::npos);
  EXPECT_EQ(ca->find("BEGIN CERTIFICATE"), ca->rfind("BEGIN CERTIFICATE"));  // one certificate
}

TEST_F(MeshdTrustTest, UnreachableRefusedOrMalformedAnswersAreIoErrors) {
  const std::string leaf_key = *GeneratePrivateKeyPem();
  const std::string leaf = *ca_.Issue({*MakeCsrPem(leaf_key, "a", "spiffe://mesh.local/service/a"), "a", Now(),
                                       Now() + 3'600'000'000'000});
  for (const Result<HttpClientResponse>& answer :
       {Result<HttpClientResponse>(Status::IOError("connection refused")),
        Result<HttpClientResponse>(HttpClientResponse{404, CaAnswer(ca_.certificate_pem())}),
        Result<HttpClientResponse>(HttpClientResponse{200, "not json"}),
        Result<HttpClientResponse>(HttpClientResponse{200, "{\"ca_pem\": 7}"}),
        Result<HttpClientResponse>(HttpClientResponse{200, CaAnswer("no pem")}),
        Result<HttpClientResponse>(HttpClientResponse{200, CaAnswer(leaf)})}) {
    OneAnswer meshd(answer);
    Result<std::string> ca = FetchPinnedMeshdCa(meshd, "https://meshd:9000", pin_);
    ASSERT_FALSE(ca.ok());
    EXPECT_EQ(ca.status().code(), Status::Code::kIOError) << ca.status().message();
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/security/certificate_authority.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "mesh/security/x509.h"
#include "test_support.h"

namespace mesh {
namespace security_certificate_authority_test {

constexpr int64_t kNow = 1'760'000'000LL * 1'000'000'000;
constexpr int64_t kHour = 3600LL * 1'000'000'000;

std::string Csr() {
  return *MakeCsrPem(*GeneratePrivateKeyPem(), "svc", "spiffe://mesh.local/service/svc");
}

TEST(CertificateAuthority, CreatesOnFirstStartAndLoadsTheSameCaAfter) {
  testing::TempDir dir;
  const std::string ca_dir = dir.path() + "/ca";
  Result<CertificateAuthority> first = CertificateAuthority::LoadOrCreate(ca_dir, "mesh.local", kNow);
  ASSERT_TRUE(first.ok()) << first.status().message();
  struct stat st;
  ASSERT_EQ(stat((ca_dir + "/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((ca_dir + "/ca.crt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  Result<CertificateAuthority> again = CertificateAuthority::LoadOrCreate(ca_dir, "mesh.local", kNow);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->certificate_pem(), first->certificate_pem());
}

TEST(CertificateAuthority, RefusesAKeyReadableByOthers) {
  testing::TempDir dir;
  ASSERT_TRUE(CertificateAuthority::LoadOrCreate(dir.path(), "mesh.local", kNow).ok());
  ASSERT_EQ(chmod((dir.path() + "/ca.key").c_str(), 0644), 0);
  Result<CertificateAuthority> loaded = CertificateAuthority::LoadOrCreate(dir.path(), "mesh.local", kNow);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("readable by group or others"), std::string::npos);
}

TEST(CertificateAuthority, RefusesAHalfPresentCa) {
  testing::TempDir dir;
  ASSERT_TRUE(CertificateAuthority::LoadOrCreate(dir.path(), "mesh.local", kNow).ok());
  ASSERT_EQ(unlink((dir.path() + "/ca.crt").c_str()), 0);
  EXPECT_FALSE(CertificateAuthority::LoadOrCreate(dir.path(), "mesh.local", kNow).ok());
}

TEST(CertificateAuthority, ImportsAnExistingCaAndRejectsMismatchedOrNonCaPairs) {
  testing::TempDir dir;
  Result<CertificateAuthority> made = CertificateAuthority::LoadOrCreate(dir.path() + "/src", "mesh.local", kNow);
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(CertificateAuthority::Import(dir.path() + "/dst", dir.path() + "/src/ca.crt", dir.path() + "/src/ca.key").ok());
  Result<CertificateAuthority> imported = CertificateAuthority::LoadOrCreate(dir.path() + "/dst", "prod", kNow);
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_EQ(imported->certificate_pem(), made->certificate_pem());
  EXPECT_EQ(imported->trust_domain(), "prod");

  // A key that is not the CA's.
  ASSERT_TRUE(WritePrivateFile(dir.path() + "/other.key", *GeneratePrivateKeyPem()).ok());
  Status mismatched = CertificateAuthority::Import(dir.path() + "/x", dir.path() + "/src/ca.crt", dir.path() + "/other.key");
  EXPECT_FALSE(mismatched.ok());
  // A workload certificate is not a CA.
  const std::string leaf_key = *GeneratePrivateKeyPem();
  ASSERT_TRUE(WritePrivateFile(dir.path() + "/leaf.key", leaf_key).ok());
  ASSERT_TRUE(WritePrivateFile(dir.path() + "/leaf.crt",
                               *made->Issue({*MakeCsrPem(leaf_key, "a", "spiffe://mesh.local/service/a"), "a", kNow, kNow + kHour}))
                  .ok());
  Status not_ca = CertificateAuthority::Import(dir.path() + "/y", dir.path() + "/leaf.crt", dir.path() + "/leaf.key");
  EXPECT_NE(not_ca.message().find("not a CA"), std::string::npos) << not_ca.message();
  EXPECT_FALSE(CertificateAuthority::Import(dir.path() + "/z", dir.path() + "/missing.crt", dir.path() + "/leaf.key").ok());
}

TEST(CertificateAuthority, IssuesForServerAndClientAuthWithTheServiceSpiffeId) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("prod.example", kNow);
  ASSERT_TRUE(ca.ok());
  Result<std::string> cert = ca->Issue({Csr(), "orders", kNow, kNow + CertificateAuthority::kDefaultValidityNs});
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  Result<CertificateInfo> info = InspectCertificate(*cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->spiffe_id, "spiffe://prod.example/service/orders");
  EXPECT_TRUE(VerifyCertificate(*cert, ca->certificate_pem(), kNow + kHour).ok());
}

TEST(CertificateAuthority, RejectsBadRequests) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.local", kNow);
  ASSERT_TRUE(ca.ok());
  EXPECT_FALSE(ca->Issue({"not a csr", "orders", kNow, kNow + kHour}).ok());
  EXPECT_FALSE(ca->Issue({Csr(), "bad/name", kNow, kNow + kHour}).ok());
  EXPECT_FALSE(ca->Issue({Csr(), "orders", kNow, kNow}).ok());
  EXPECT_FALSE(ca->Issue({Csr(), "orders", kNow, kNow + 400 * 24 * kHour}).ok());
  // A CSR whose signature was tampered with.
  std::string csr = Csr();
  const size_t end = csr.find("-----END");
  csr[end - 10] = csr[end - 10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ca->Issue({csr, "orders", kNow, kNow + kHour}).ok());
}

TEST(CertificateAuthority, RejectsAnInvalidTrustDomain) {
  EXPECT_FALSE(CertificateAuthority::Create("Not Valid", kNow).ok());
}

}  // namespace
}  // namespace mesh

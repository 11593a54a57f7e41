#include "mesh/security/x509.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <string>

#include "mesh/security/certificate_authority.h"
#include "test_support.h"

namespace mesh {
namespace security_x509_test {

constexpr int64_t kNow = 1'760'000'000LL * 1'000'000'000;
constexpr int64_t kHour = 3600LL * 1'000'000'000;

TEST(X509, GeneratedKeySignsACsrTheCaAccepts) {
  Result<std::string> key = GeneratePrivateKeyPem();
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_NE(key->find("BEGIN PRIVATE KEY"), std::string::npos);
  Result<std::string> csr = MakeCsrPem(*key, "orders", "spiffe://mesh.local/service/orders");
  ASSERT_TRUE(csr.ok()) << csr.status().message();
  EXPECT_NE(csr->find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.local", kNow);
  ASSERT_TRUE(ca.ok());
  Result<std::string> cert = ca->Issue({*csr, "orders", kNow, kNow + kHour});
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  EXPECT_TRUE(CheckKeyMatchesCertificate(*key, *cert).ok());
}

TEST(X509, InspectReadsIdentityAndValidity) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.local", kNow);
  ASSERT_TRUE(ca.ok());
  Result<CertificateInfo> ca_info = InspectCertificate(ca->certificate_pem());
  ASSERT_TRUE(ca_info.ok());
  EXPECT_TRUE(ca_info->is_ca);
  EXPECT_EQ(ca_info->spiffe_id, "spiffe://mesh.local");
  EXPECT_EQ(ca_info->subject, "CN=mesh CA mesh.local");

  Result<std::string> key = GeneratePrivateKeyPem();
  Result<std::string> csr = MakeCsrPem(*key, "ignored", "spiffe://mesh.local/service/ignored");
  Result<std::string> cert = ca->Issue({*csr, "payments", kNow, kNow + 24 * kHour});
  ASSERT_TRUE(cert.ok());
  Result<CertificateInfo> info = InspectCertificate(*cert);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->spiffe_id, "spiffe://mesh.local/service/payments");  // the CA's name, not the CSR's
  EXPECT_EQ(info->subject, "CN=payments");
  EXPECT_EQ(info->not_before_ns, kNow);
  EXPECT_EQ(info->not_after_ns, kNow + 24 * kHour);
  EXPECT_EQ(info->serial_hex.size(), 32u);
}

// Random serials with a leading zero byte used to come out 30 hex digits long, one in 256.
TEST(X509, IssuedSerialsAreAlways32HexDigitsAndDistinct) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.local", kNow);
  ASSERT_TRUE(ca.ok());
  Result<std::string> key = GeneratePrivateKeyPem();
  Result<std::string> csr = MakeCsrPem(*key, "orders", "spiffe://mesh.local/service/orders");
  ASSERT_TRUE(csr.ok());
  std::set<std::string> serials;
  for (int i = 0; i < 512; ++i) {
    Result<std::string> cert = ca->Issue({*csr, "orders", kNow, kNow + kHour});
    ASSERT_TRUE(cert.ok());
    Result<CertificateInfo> info = InspectCertificate(*cert);
    ASSERT_TRUE(info.ok());
    ASSERT_EQ(info->serial_hex.size(), 32u) << info->serial_hex;
    serials.insert(info->serial_hex);
  }
  EXPECT_EQ(serials.size(), 512u);
}

TEST(X509, InspectRejectsWhatIsNotACertificate) {
  EXPECT_FALSE(InspectCertificate("").ok());
  EXPECT_FALSE(InspectCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
  EXPECT_FALSE(InspectCertificate(*GeneratePrivateKeyPem()).ok());
}

TEST(X509, VerifyAcceptsOnlyTheIssuingCaWithinValidity) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.local", kNow);
  Result<CertificateAuthority> other = CertificateAuthority::Create("mesh.local", kNow);
  ASSERT_TRUE(ca.ok() && other.ok());
  Result<std::string> key = GeneratePrivateKeyPem();
  Result<std::string> csr = MakeCsrPem(*key, "orders", "spiffe://mesh.local/service/orders");
  Result<std::string> cert = ca->Issue({*csr, "orders", kNow, kNow + kHour});
  ASSERT_TRUE(cert.ok());
  EXPECT_TRUE(VerifyCertificate(*cert, ca->certificate_pem(), kNow + kHour / 2).ok());
  Status expired = VerifyCertificate(*cert, ca->certificate_pem(), kNow + 2 * kHour);
  EXPECT_NE(expired.message().find("expired"), std::string::npos) << expired.message();
  EXPECT_FALSE(VerifyCertificate(*cert, ca->certificate_pem(), kNow - kHour).ok());
  EXPECT_FALSE(VerifyCertificate(*cert, other->certificate_pem(), kNow).ok());
}

TEST(X509, KeyMismatchIsReported) {
  Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.local", kNow);
  Result<std::string> key = GeneratePrivateKeyPem();
  Result<std::string> csr = MakeCsrPem(*key, "orders", "spiffe://mesh.local/service/orders");
  Result<std::string> cert = ca->Issue({*csr, "orders", kNow, kNow + kHour});
  ASSERT_TRUE(cert.ok());
  EXPECT_FALSE(CheckKeyMatchesCertificate(*GeneratePrivateKeyPem(), *cert).ok());
}

TEST(X509, PrivateFilesAreWrittenMode0600AndReadBack) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/secret.pem";
  ASSERT_TRUE(WritePrivateFile(path, "first").ok());
  ASSERT_TRUE(WritePrivateFile(path, "second").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadWholeFile(path), "second");
  EXPECT_FALSE(ReadWholeFile(dir.path() + "/missing").ok());
  EXPECT_FALSE(WritePrivateFile(dir.path() + "/no/such/dir/file", "x").ok());
}

}  // namespace
}  // namespace mesh

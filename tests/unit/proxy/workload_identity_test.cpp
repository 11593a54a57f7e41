#include "mesh/proxy/workload_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "identity_server.h"
#include "mesh/security/x509.h"
#include "test_support.h"

namespace mesh {
namespace proxy_workload_identity_test {

using namespace std::chrono_literals;
constexpr int64_t kNow = 1'760'000'000LL * 1'000'000'000;
constexpr int64_t kHour = 3600LL * 1'000'000'000;

class WorkloadIdentityTest : public ::testing::Test {
 protected:
  WorkloadIdentity::Options Options(const std::string& url, std::string token = "") {
    if (token.empty()) token = orders_token_;
    return {url, token, "orders", dir_.path() + "/orders", "", 50ms};
  }
  testing::FakeClock clock_{kNow};
  testing::TempDir dir_;
  testing::IdentityServer meshd_{clock_, {}};
  const std::string orders_token_ = meshd_.tokens().Create("orders");
};

TEST_F(WorkloadIdentityTest, GetsACertificateForItsServiceWithAKeyThatStaysInItsDirectory) {
  WorkloadIdentity identity(Options(meshd_.url()), clock_);
  Result<TlsCredentials> c = identity.Obtain(2s);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(InspectCertificate(c->certificate_pem)->spiffe_id, "spiffe://mesh.test/service/orders");
  EXPECT_EQ(c->trust_domain, "mesh.test");
  EXPECT_EQ(c->ca_pem, meshd_.ca_pem());
  EXPECT_TRUE(CheckKeyMatchesCertificate(c->private_key_pem, c->certificate_pem).ok());
  struct stat st;
  ASSERT_EQ(stat((dir_.path() + "/orders/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadWholeFile(dir_.path() + "/orders/key.pem"), c->private_key_pem);
  EXPECT_EQ(identity.not_after_ns(), kNow + 24 * kHour);
}

TEST_F(WorkloadIdentityTest, KeepsItsKeyAcrossRestarts) {
  Result<TlsCredentials> first = WorkloadIdentity(Options(meshd_.url()), clock_).Obtain(2s);
  Result<TlsCredentials> second = WorkloadIdentity(Options(meshd_.url()), clock_).Obtain(2s);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->private_key_pem, second->private_key_pem);
  EXPECT_NE(first->certificate_pem, second->certificate_pem);
}

TEST_F(WorkloadIdentityTest, UsesItsStoredCertificateWhenMeshdIsDown) {
  Result<TlsCredentials> first = WorkloadIdentity(Options(meshd_.url()), clock_).Obtain(2s);
  ASSERT_TRUE(first.ok());
  meshd_.Stop();
  Result<TlsCredentials> offline = WorkloadIdentity(Options(meshd_.url()), clock_).Obtain(100ms);
  ASSERT_TRUE(offline.ok()) << offline.status().message();
  EXPECT_EQ(offline->certificate_pem, first->certificate_pem);
  // Not once it has expired.
  clock_.Advance(25 * kHour);
  EXPECT_FALSE(WorkloadIdentity(Options(meshd_.url()), clock_).Obtain(100ms).ok());
}

TEST_F(WorkloadIdentityTest, AWrongJoinTokenIsRefusedWithMeshdsReason) {
  Result<TlsCredentials> c = WorkloadIdentity(Options(meshd_.url(), "wrong"), clock_).Obtain(2s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("401"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("meshd token create --service"), std::string::npos) << c.status().message();
}

TEST_F(WorkloadIdentityTest, AnotherServicesTokenIsRefusedWith403) {
  Result<TlsCredentials> c =
      WorkloadIdentity(Options(meshd_.url(), meshd_.tokens().Create("payments")), clock_).Obtain(2s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("403"), std::string::npos) << c.status().message();
}

TEST_F(WorkloadIdentityTest, AKeyReadableByOthersIsRefused) {
  ASSERT_TRUE(WorkloadIdentity(Options(meshd_.url()), clock_).Obtain(2s).ok());
  ASSERT_EQ(chmod((dir_.path() + "/orders/key.pem").c_str(), 0644), 0);
  Result<TlsCredentials> c = WorkloadIdentity(Options(meshd_.url()), clock_).Obtain(2s);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("readable by group or others"), std::string::npos);
}

TEST_F(WorkloadIdentityTest, RenewsAtTwoThirdsOfItsLifetime) {
  WorkloadIdentity::Options o = Options(meshd_.url());
  o.ttl = "3h";
  WorkloadIdentity identity(o, clock_);
  Result<TlsCredentials> first = identity.Obtain(2s);
  ASSERT_TRUE(first.ok());
  // Two thirds of the 3 h it was issued for, counted from its arrival (not from the minute
  // meshd backdates it by).
  EXPECT_EQ(identity.renew_at_ns(), kNow + 2 * kHour);
  std::atomic<int> renewed{0};
  std::string renewed_pem;
  std::mutex mu;
  identity.StartRenewing([&](const TlsCredentials& c) {
    std::lock_guard lock(mu);
    renewed_pem = c.certificate_pem;
    ++renewed;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(renewed.load(), 0);  // not due yet
  clock_.Set(identity.renew_at_ns() + 1);
  for (int i = 0; i < 300 && renewed.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(renewed.load(), 1);
  EXPECT_EQ(identity.renewals(), 1);
  std::lock_guard lock(mu);
  EXPECT_NE(renewed_pem, first->certificate_pem);
  EXPECT_EQ(InspectCertificate(renewed_pem)->spiffe_id, "spiffe://mesh.test/service/orders");
  EXPECT_GT(identity.renew_at_ns(), clock_.NowNs());
}

TEST_F(WorkloadIdentityTest, ARenewalThatFailsIsRetried) {
  WorkloadIdentity identity(Options(meshd_.url()), clock_);
  ASSERT_TRUE(identity.Obtain(2s).ok());
  std::atomic<int> renewed{0};
  identity.StartRenewing([&](const TlsCredentials&) { ++renewed; });
  meshd_.Stop();
  clock_.Set(identity.renew_at_ns() + 1);
  for (int i = 0; i < 300 && identity.renewal_failures() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GE(identity.renewal_failures(), 2);
  EXPECT_EQ(renewed.load(), 0);
}

}  // namespace
}  // namespace mesh

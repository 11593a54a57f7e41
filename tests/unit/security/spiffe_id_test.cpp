#include "mesh/security/spiffe_id.h"

#include <gtest/gtest.h>

namespace mesh {
namespace security_spiffe_id_test {

TEST(SpiffeId, FormatsAndParsesAServiceIdentity) {
  const ServiceIdentity id{"mesh.local", "orders"};
  EXPECT_EQ(FormatSpiffeId(id), "spiffe://mesh.local/service/orders");
  Result<ServiceIdentity> parsed = ParseSpiffeId("spiffe://mesh.local/service/orders");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, id);
}

TEST(SpiffeId, RejectsOtherSchemesAndPaths) {
  for (const char* bad : {"https://mesh.local/service/orders", "spiffe://mesh.local/ns/default/sa/orders",
                          "spiffe://mesh.local", "spiffe:///service/orders", "spiffe://mesh.local/service/",
                          "spiffe://Mesh.Local/service/orders", "spiffe://mesh.local/service/a/b",
                          "spiffe://mesh.local/service/or ders", ""}) {
    EXPECT_FALSE(ParseSpiffeId(bad).ok()) << bad;
  }
}

TEST(SpiffeId, ValidatesTrustDomainsAndServiceNames) {
  EXPECT_TRUE(ValidateTrustDomain("prod.example-1_x").ok());
  EXPECT_FALSE(ValidateTrustDomain("").ok());
  EXPECT_FALSE(ValidateTrustDomain("UPPER").ok());
  EXPECT_FALSE(ValidateTrustDomain(std::string(256, 'a')).ok());
  EXPECT_TRUE(ValidateServiceName("Orders-v2.api_1").ok());
  EXPECT_FALSE(ValidateServiceName("").ok());
  EXPECT_FALSE(ValidateServiceName("a/b").ok());
  EXPECT_FALSE(ValidateServiceName(std::string(129, 'a')).ok());
}

}  // namespace
}  // namespace mesh

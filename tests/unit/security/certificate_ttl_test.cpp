#include "mesh/security/certificate_ttl.h"

#include <gtest/gtest.h>

namespace mesh {
namespace security_certificate_ttl_test {

TEST(ParseCertTtl, AcceptsTenSecondsToThirtyDaysInclusive) {
  EXPECT_EQ(*ParseCertTtl("10s"), kMinCertTtlNs);
  EXPECT_EQ(*ParseCertTtl("30d"), kMaxCertTtlNs);
  EXPECT_EQ(*ParseCertTtl("24h"), 24LL * 3600 * 1'000'000'000);
}

TEST(ParseCertTtl, RefusesLifetimesOutsideTheRangeAndGarbage) {
  for (const char* bad :
       {"9s", "0s", "31d", "720h1s", "", "soon", "-1h", "99999999999999999999d"}) {
    Result<int64_t> ttl = ParseCertTtl(bad);
    EXPECT_FALSE(ttl.ok()) << bad;
    if (!ttl.ok()) {
      EXPECT_EQ(ttl.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_NE(ParseCertTtl("31d").status().message().find("outside 10s..30d"), std::string::npos);
}

}  // namespace
}  // namespace mesh

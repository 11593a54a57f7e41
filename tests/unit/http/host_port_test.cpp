#include "mesh/http/host_port.h"

#include <gtest/gtest.h>

namespace mesh {
namespace http_host_port_test {

TEST(ParseHostPort, SplitsHostAndPort) {
  Result<HostPort> hp = ParseHostPort("127.0.0.1:15001");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 15001);
  EXPECT_EQ(ParseHostPort("0.0.0.0:0")->port, 0);
  EXPECT_EQ(ParseHostPort("mesh.example:9000")->host, "mesh.example");
}

TEST(ParseHostPort, TakesIpv6InBracketsAndKeepsItWithout) {
  Result<HostPort> hp = ParseHostPort("[::1]:15001");
  ASSERT_TRUE(hp.ok()) << hp.status().message();
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 15001);
  EXPECT_EQ(ParseHostPort("[fd00:213::5]:80")->host, "fd00:213::5");
  EXPECT_EQ(ParseHostPort("[::]:0")->host, "::");
}

TEST(ParseHostPort, RejectsMissingOrBadPorts) {
  for (const char* bad :
       {"", "localhost", ":80", "h:", "h:x", "h:65536", "h:-1", "h:80a", "[::1]", "[::1]:"}) {
    EXPECT_EQ(ParseHostPort(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(ParseHostPort, RejectsIpv6WithoutBracketsAndBracketsAroundOtherThings) {
  for (const char* bad : {"::1:15001", "fd00::5:80", "[127.0.0.1]:80", "[host]:80", "[::1:80",
                          "::1]:80", "[]:80", "[[::1]]:80", "[::1]x:80"}) {
    const Result<HostPort> hp = ParseHostPort(bad);
    EXPECT_EQ(hp.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(hp.status().message().find(bad), std::string::npos) << hp.status().message();
  }
}

TEST(ParseHostPort, NeverCrashesOnATruncatedAddress) {
  const std::string full = "[2001:db8::5]:15001";
  for (size_t n = 0; n <= full.size(); ++n) (void)ParseHostPort(full.substr(0, n));
}

TEST(FormatHostPort, PutsIpv6InBrackets) {
  EXPECT_EQ(FormatHostPort({"10.213.0.2", 15001}), "10.213.0.2:15001");
  EXPECT_EQ(FormatHostPort({"::1", 15001}), "[::1]:15001");
  EXPECT_EQ(FormatHostPort({"mesh.example", 9000}), "mesh.example:9000");
  EXPECT_EQ(FormatHostPort(*ParseHostPort("[fd00::1]:8")), "[fd00::1]:8");
}

TEST(IsWildcardHost, KnowsBothFamilies) {
  EXPECT_TRUE(IsWildcardHost("0.0.0.0"));
  EXPECT_TRUE(IsWildcardHost("::"));
  EXPECT_FALSE(IsWildcardHost("127.0.0.1"));
  EXPECT_FALSE(IsWildcardHost("::1"));
  EXPECT_FALSE(IsWildcardHost(""));
}

TEST(IsNumericHost, TellsAddressesFromNames) {
  EXPECT_TRUE(IsNumericHost("10.213.0.2"));
  EXPECT_TRUE(IsNumericHost("fd00::1"));
  EXPECT_FALSE(IsNumericHost("mesh.example"));
  EXPECT_FALSE(IsNumericHost("[::1]"));
  EXPECT_FALSE(IsNumericHost("10.213.0"));
  EXPECT_FALSE(IsNumericHost(""));
}

}  // namespace http_host_port_test
}  // namespace mesh

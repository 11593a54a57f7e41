// ParseHttpUrl on strings: what AsioHttpClient connects to and asks for, and the URLs it must
// refuse before opening anything.
#include "mesh/http/http_url.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace http_http_url_test {

HttpUrl Parsed(const std::string& url) {
  Result<HttpUrl> r = ParseHttpUrl(url);
  EXPECT_TRUE(r.ok()) << url << ": " << r.status().message();
  return r.ok() ? *r : HttpUrl{};
}

TEST(HttpUrl, SplitsHostPortAndTarget) {
  const HttpUrl u = Parsed("http://meshd.internal:9000/v1/services/a%20b?since=1h");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "meshd.internal");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.target, "/v1/services/a%20b?since=1h");
  EXPECT_EQ(u.Authority(), "meshd.internal:9000");
}

TEST(HttpUrl, DefaultsThePortAndTheTargetAndLeavesTheDefaultPortOutOfHost) {
  const HttpUrl plain = Parsed("http://127.0.0.1");
  EXPECT_EQ(plain.port, 80);
  EXPECT_EQ(plain.target, "/");
  EXPECT_EQ(plain.Authority(), "127.0.0.1");
  const HttpUrl tls = Parsed("HTTPS://meshd:443?x=1#fragment");
  EXPECT_TRUE(tls.tls);
  EXPECT_EQ(tls.port, 443);
  EXPECT_EQ(tls.target, "/?x=1");
  EXPECT_EQ(tls.Authority(), "meshd");
  EXPECT_EQ(Parsed("http://meshd:/x").port, 80);  // an empty port is the default (RFC 3986)
}

TEST(HttpUrl, TakesIpv6LiteralsInBrackets) {
  const HttpUrl u = Parsed("http://[::1]:9000/healthz");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.Authority(), "[::1]:9000");
  EXPECT_EQ(Parsed("https://[2001:db8::7]").Authority(), "[2001:db8::7]");
}

TEST(HttpUrl, RefusesOtherSchemesAndMalformedAuthorities) {
  for (const std::string url : {"ftp://x/",
                                "http:/x",
                                "//x",
                                "",
                                "http://",
                                "http:///path",
                                "http://:80/",
                                "http://host:99999/",
                                "http://host:0/",
                                "http://host:-1/",
                                "http://host:8o/",
                                "http://[::1",
                                "http://[::1]x/",
                                "http://[]/",
                                "http://[zz]/",
                                "http://user:pw@host/",
                                "http://ho$t/",
                                "http://host/a b",
                                "http://host/\r\nX: y",
                                "http://h\xc3\xa9st/"}) {
    Result<HttpUrl> r = ParseHttpUrl(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << url;
    EXPECT_NE(r.status().message().find("invalid URL '" + url + "'"), std::string::npos)
        << r.status().message();
  }
}

TEST(HttpUrl, EveryTruncationAndGarbageIsAnsweredWithoutCrashing) {
  const std::string url = "https://[2001:db8::7]:8443/v1/policy?service=a#f";
  for (size_t n = 0; n <= url.size(); ++n) {
    Result<HttpUrl> r = ParseHttpUrl(url.substr(0, n));
    if (r.ok()) {  // whatever parses names a host and a valid port
      EXPECT_FALSE(r->host.empty()) << n;
      EXPECT_GE(r->port, 1);
    }
  }
  ::mesh::testing::Garbage garbage(7, "http://[]:/?#@0123456789abc");
  for (int i = 0; i < 2000; ++i) {
    Result<HttpUrl> r = ParseHttpUrl(garbage.Next(40));
    if (r.ok()) {
      EXPECT_FALSE(r->host.empty());
    }
  }
}

}  // namespace
}  // namespace mesh

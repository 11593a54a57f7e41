#include "mesh/http/url_allow_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mesh {
namespace http_url_allow_list_test {

UrlAllowList ListOf(const std::vector<std::string>& prefixes) {
  Result<UrlAllowList> list = UrlAllowList::Parse(prefixes);
  EXPECT_TRUE(list.ok()) << list.status().message();
  return list.ok() ? *list : UrlAllowList();
}

TEST(UrlAllowList, EmptyListAllowsNothing) {
  const UrlAllowList none;
  Result<std::string> refused = none.Allow("http://alertmanager:9093/api/v2/alerts");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("none is configured"), std::string::npos);
}

TEST(UrlAllowList, AllowsUrlsUnderAPrefixAndAnswersThemRebuilt) {
  const UrlAllowList list = ListOf({"http://alertmanager:9093/", "https://hooks.example/team-a"});
  EXPECT_EQ(*list.Allow("http://alertmanager:9093/api/v2/alerts"),
            "http://alertmanager:9093/api/v2/alerts");
  EXPECT_EQ(*list.Allow("HTTP://AlertManager:9093"), "http://AlertManager:9093/");
  EXPECT_EQ(*list.Allow("https://hooks.example:443/team-a"), "https://hooks.example/team-a");
  EXPECT_EQ(*list.Allow("https://hooks.example/team-a/x?y=1#frag"),
            "https://hooks.example/team-a/x?y=1");
}

TEST(UrlAllowList, ComparesSchemeHostPortAndWholePathSegments) {
  const UrlAllowList list = ListOf({"http://alertmanager:9093/", "https://hooks.example/team-a"});
  for (const char* refused : {
           "https://alertmanager:9093/",      // another scheme
           "http://alertmanager:9094/",       // another port
           "http://alertmanager/",            // the default port is another port
           "http://alertmanager.evil:9093/",  // another host
           "https://hooks.example/team-ab",   // not on a segment boundary
           "https://hooks.example/team",      // above the prefix
           "https://hooks.example/",
       }) {
    EXPECT_FALSE(list.Allow(refused).ok()) << refused;
  }
}

TEST(UrlAllowList, RefusesTheTricksThatFoolStringPrefixes) {
  const UrlAllowList list = ListOf({"http://am:9093/", "https://hooks.example/team-a"});
  for (const char* attack : {
           "http://am:9093@evil.example/",               // user info: the host is evil
           "http://am:9093\\@evil.example/",             // a backslash some parsers take for '/'
           "https://hooks.example/team-a/../admin",      // resolved by the client past the prefix
           "https://hooks.example/team-a/%2e%2e/admin",  // the same, encoded
           "https://hooks.example/team-a/%2E./admin",
           "http://am:9093/ x",  // request-line injection
           "http://am:9093/\r\nHost: evil", "gopher://am:9093/", "file:///etc/passwd",
           "http://am:9093#@evil.example/",  // the fragment is dropped: allowed?
       }) {
    Result<std::string> r = list.Allow(attack);
    if (std::string(attack) == "http://am:9093#@evil.example/") {
      // Parsed, the host is am:9093 and the fragment goes: what is sent is the allowed URL.
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(*r, "http://am:9093/");
      continue;
    }
    EXPECT_FALSE(r.ok()) << attack << " -> " << (r.ok() ? *r : "");
  }
}

TEST(UrlAllowList, RefusesEntriesThatAreNotPrefixes) {
  for (const char* bad : {"alertmanager:9093", "http://user@am/", "http://am/?q=1",
                          "http://am/a/../b", "ftp://am/"}) {
    EXPECT_FALSE(UrlAllowList::Parse({bad}).ok()) << bad;
  }
}

}  // namespace
}  // namespace mesh

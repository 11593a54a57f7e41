#include "mesh/security/policy_path.h"

#include <gtest/gtest.h>

#include <string>

namespace mesh {
namespace security_policy_path_test {

TEST(CanonicalPolicyPath, DecodesUnreservedEscapesAndKeepsTheOthersUpperCased) {
  EXPECT_EQ(*CanonicalPolicyPath("/%70ublic/ok"), "/public/ok");
  EXPECT_EQ(*CanonicalPolicyPath("/%41%7a%30%2D%2e%5F%7E"), "/Az0-._~");
  EXPECT_EQ(*CanonicalPolicyPath("/a%20b/%40x%2b"), "/a%20b/%40x%2B");
  EXPECT_EQ(*CanonicalPolicyPath("/caf%c3%a9"), "/caf%C3%A9");
  EXPECT_EQ(*CanonicalPolicyPath("/"), "/");
  EXPECT_EQ(*CanonicalPolicyPath("/a/b/"), "/a/b/");
  EXPECT_EQ(*CanonicalPolicyPath("/a.b/..c/.d"), "/a.b/..c/.d");
}

TEST(CanonicalPolicyPath, IgnoresTheQueryString) {
  EXPECT_EQ(*CanonicalPolicyPath("/public/x?next=/../admin;x=%2F%25"), "/public/x");
}

TEST(CanonicalPolicyPath, RefusesEveryPathThatServersResolveDifferently) {
  const std::pair<const char*, const char*> cases[] = {
      {"/public;x/../admin", "';'"},
      {"/public/..;/admin", "';'"},
      {"/public;jsessionid=1", "';'"},
      {"/public/%3b/admin", "%3B"},
      {"/public/%2e%2e/admin", "'..'"},
      {"/public/%2E%2E/admin", "'..'"},
      {"/public/.%2e/admin", "'..'"},
      {"/public/../admin", "'..'"},
      {"/public/./x", "'.'"},
      {"/public/x/..", "'..'"},
      {"/public/.", "'.'"},
      {"/..", "'..'"},
      {"/public%2F..%2Fadmin", "%2F"},
      {"/public%2f..%2fadmin", "%2F"},
      {"/public%5C..%5Cadmin", "%5C"},
      {"/public\\..\\admin", "'\\'"},
      {"/public/%252e%252e/admin", "%25"},
      {"/public/%25", "%25"},
      {"/public/%3F/../admin", "%3F"},
      {"/public/%23", "%23"},
      {"/public/#x", "'#'"},
      {"/public/%00", "control"},
      {"/public/%0d%0a", "control"},
      {"/public/%7f", "control"},
      {"/public/%", "two hex digits"},
      {"/public/%2", "two hex digits"},
      {"/public/%zz", "two hex digits"},
      {"/public/%C0%AE%C0%AE/admin", "UTF-8"},
      {"/public/%C3", "UTF-8"},
      {"/public/%C3/x", "UTF-8"},
      {"/public/%ED%A0%80", "UTF-8"},
      {"/public/\xC3\xA9", "non-ASCII"},
      {"/public/a b", "space"},
      {"/public//admin", "empty segment"},
      {"//public", "empty segment"},
      {"public", "start with '/'"},
      {"", "start with '/'"},
      {"*", "start with '/'"},
      {"http://orders/public", "start with '/'"},
      {"?/public", "start with '/'"},
  };
  for (const auto& [path, why] : cases) {
    Result<std::string> r = CanonicalPolicyPath(path);
    ASSERT_FALSE(r.ok()) << path << " -> " << *r;
    EXPECT_NE(r.status().message().find("ambiguous path"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(why), std::string::npos) << path << " -> " << r.status().message();
  }
}

TEST(CanonicalPolicyPath, NeverCrashesOnAnyCutOfATrickyPath) {
  const std::string tricky = "/p%75blic;a=%2F/%2e%2E/%C3%A9\\x//%252F?q=%zz";
  for (size_t n = 0; n <= tricky.size(); ++n) (void)CanonicalPolicyPath(tricky.substr(0, n));
  for (int b = 0; b < 256; ++b) (void)CanonicalPolicyPath(std::string("/a") + static_cast<char>(b));
}

PathPrefix Prefix(const std::string& rule) {
  Result<PathPrefix> p = PathPrefix::Parse(rule);
  EXPECT_TRUE(p.ok()) << rule << ": " << p.status().message();
  return p.ok() ? *p : *PathPrefix::Parse("/");
}

TEST(PathPrefix, MatchesWholeSegmentsByDefault) {
  // A table of rules x canonical paths: whether the rule's prefix matches.
  struct Case {
    const char* rule;
    const char* path;
    bool matches;
  };
  const Case cases[] = {
      {"/api", "/api", true},         {"/api", "/api/", true},        {"/api", "/api/v1/x", true},
      {"/api", "/apiadmin", false},   {"/api", "/ap", false},         {"/api", "/", false},
      {"/api", "/API", false},        {"/api/", "/api/x", true},      {"/api/", "/api/", true},
      {"/api/", "/api", false},       {"/api/", "/apix", false},      {"/", "/", true},
      {"/", "/anything/at/all", true}, {"/api/v1", "/api/v1/items", true}, {"/api/v1", "/api/v10", false},
      {"/api*", "/apiadmin", true},   {"/api*", "/api/x", true},      {"/api*", "/ap", false},
      {"/%61pi", "/api/x", true},     {"/caf%c3%a9", "/caf%C3%A9/menu", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Prefix(c.rule).Matches(c.path), c.matches) << c.rule << " on " << c.path;
  }
}

TEST(PathPrefix, RefusesRulesThatAreAmbiguousOrMalformed) {
  const std::pair<const char*, const char*> cases[] = {
      {"admin", "must start with '/'"},
      {"", "must start with '/'"},
      {"/a?b", "no query"},
      {"/a*/b", "'*' is allowed only last"},
      {"/a;b", "';'"},
      {"/a/../b", "'..'"},
      {"/a%2Fb", "%2F"},
      {"/a//b", "empty segment"},
  };
  for (const auto& [rule, why] : cases) {
    Result<PathPrefix> p = PathPrefix::Parse(rule);
    ASSERT_FALSE(p.ok()) << rule;
    EXPECT_NE(p.status().message().find(why), std::string::npos) << rule << " -> " << p.status().message();
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/security/authorization_policy.h"

#include <gtest/gtest.h>

#include "deep_json.h"
#include "mesh/base/json_depth.h"

namespace mesh {
namespace security_authorization_policy_test {

AuthorizationPolicy Policy(const std::string& json) {
  Result<AuthorizationPolicy> p = AuthorizationPolicy::Parse(json);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : AuthorizationPolicy();
}

TEST(AuthorizationPolicy, AllowsOnlyWhatARuleNames) {
  const AuthorizationPolicy p = Policy(R"({"allow":[{"from":"frontend","to":"orders"}]})");
  EXPECT_TRUE(p.Check("frontend", "orders", "GET", "/x").allowed);
  EXPECT_TRUE(p.Check("frontend", "orders", "DELETE", "/").allowed);
  const PolicyDecision denied = p.Check("payments", "orders", "GET", "/x");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, "policy does not allow payments to call orders GET /x");
  EXPECT_FALSE(p.Check("frontend", "payments", "GET", "/x").allowed);
}

TEST(AuthorizationPolicy, MatchesListsWildcardsMethodsAndPathPrefixes) {
  const AuthorizationPolicy p = Policy(R"({"allow":[
    {"from":["orders","billing"],"to":"payments","methods":["POST"],"paths":["/charge","/refund/"]},
    {"from":"*","to":"catalog","methods":["GET","HEAD"]}]})");
  EXPECT_TRUE(p.Check("billing", "payments", "POST", "/charge?id=1").allowed);
  EXPECT_TRUE(p.Check("orders", "payments", "POST", "/refund/7").allowed);
  EXPECT_FALSE(p.Check("orders", "payments", "GET", "/charge").allowed);
  EXPECT_FALSE(p.Check("orders", "payments", "POST", "/admin").allowed);
  EXPECT_FALSE(p.Check("orders", "payments", "POST", "/refund").allowed);
  EXPECT_TRUE(p.Check("anyone", "catalog", "HEAD", "/items").allowed);
  EXPECT_FALSE(p.Check("anyone", "catalog", "PUT", "/items").allowed);
}

TEST(AuthorizationPolicy, DeniesCallersWithoutIdentityEvenToWildcards) {
  const AuthorizationPolicy p = Policy(R"({"allow":[{"from":"*","to":"*"}]})");
  EXPECT_TRUE(p.Check("x", "y", "GET", "/").allowed);
  EXPECT_FALSE(p.Check("", "y", "GET", "/").allowed);
}

TEST(AuthorizationPolicy, DotSegmentsAndEncodedSlashesMatchNoPathPrefix) {
  const AuthorizationPolicy p = Policy(R"({"allow":[{"from":"a","to":"b","paths":["/public/"]}]})");
  EXPECT_TRUE(p.Check("a", "b", "GET", "/public/x").allowed);
  for (const char* sneaky : {"/public/../admin", "/public/./x", "/public/%2e%2e/admin", "/public/%2E%2E/admin",
                             "/public/..%2fadmin", "/public/x/..", "/public\\..\\admin"}) {
    EXPECT_FALSE(p.Check("a", "b", "GET", sneaky).allowed) << sneaky;
  }
  // In the query string they are only data.
  EXPECT_TRUE(p.Check("a", "b", "GET", "/public/x?next=/../y").allowed);
}

// The integration test's policy, judged here on every spelling an attacker would try: only
// "/public" (and below it) is allowed, and nothing ambiguous is.
TEST(AuthorizationPolicy, APublicOnlyRuleAllowsItsSegmentAndNoAmbiguousPath) {
  const AuthorizationPolicy p = Policy(R"({"allow":[{"from":"frontend","to":"orders","paths":["/public"]}]})");
  struct Case {
    const char* path;
    bool allowed;
    bool ambiguous;
  };
  const Case cases[] = {
      {"/public", true, false},
      {"/public/", true, false},
      {"/public/ok?x=1", true, false},
      {"/%70ublic/ok", true, false},
      {"/public/%61", true, false},
      {"/publicadmin", false, false},
      {"/admin", false, false},
      {"/Public", false, false},
      {"/public;x/../admin", false, true},
      {"/public/%2e%2e/admin", false, true},
      {"/public%2F..%2Fadmin", false, true},
      {"/public/..;/admin", false, true},
      {"/public/%252e%252e/admin", false, true},
      {"/public\\..\\admin", false, true},
      {"/public//../admin", false, true},
      {"/public/%C0%AE%C0%AE/admin", false, true},
  };
  for (const Case& c : cases) {
    const PolicyDecision d = p.Check("frontend", "orders", "GET", c.path);
    EXPECT_EQ(d.allowed, c.allowed) << c.path << ": " << d.reason;
    EXPECT_EQ(d.ambiguous_path, c.ambiguous) << c.path << ": " << d.reason;
    EXPECT_EQ(d.reason.find("on an ambiguous path") != std::string::npos, c.ambiguous) << d.reason;
  }
}

// A rule without paths allows any path, ambiguous or not: no prefix is at stake. A path rule of
// the same policy still never matches an ambiguous one.
TEST(AuthorizationPolicy, AnAmbiguousPathFailsOnlyTheRulesThatJudgePaths) {
  const AuthorizationPolicy p = Policy(R"({"allow":[
    {"from":"admin","to":"orders"},
    {"from":"frontend","to":"orders","paths":["/public"]}]})");
  EXPECT_TRUE(p.Check("admin", "orders", "GET", "/x;y/../z").allowed);
  const PolicyDecision d = p.Check("frontend", "orders", "GET", "/public;x/../admin");
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.ambiguous_path);
  // A denial that no path rule was asked about is not an ambiguity.
  const PolicyDecision other = p.Check("billing", "orders", "GET", "/x;y");
  EXPECT_FALSE(other.allowed);
  EXPECT_FALSE(other.ambiguous_path);
}

TEST(AuthorizationPolicy, ACharacterPrefixIsAnExplicitOptIn) {
  const AuthorizationPolicy p = Policy(R"({"allow":[{"from":"a","to":"b","paths":["/api*"]}]})");
  EXPECT_TRUE(p.Check("a", "b", "GET", "/apiadmin").allowed);
  EXPECT_TRUE(p.Check("a", "b", "GET", "/api/x").allowed);
  EXPECT_FALSE(p.Check("a", "b", "GET", "/ap").allowed);
  EXPECT_FALSE(p.Check("a", "b", "GET", "/api;x/../../admin").allowed);
}

TEST(AuthorizationPolicy, AnEmptyAllowListDeniesEverything) {
  const AuthorizationPolicy p = Policy(R"({"allow":[]})");
  EXPECT_FALSE(p.Check("a", "b", "GET", "/").allowed);
}

TEST(AuthorizationPolicy, RejectsMalformedPoliciesNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "must be a JSON object"},
      {"{}", "\"allow\" must be an array"},
      {R"({"allow":[],"deny":[]})", "unknown field \"deny\""},
      {R"({"allow":[{"to":"b"}]})", "allow[0]: \"from\" is required"},
      {R"({"allow":[{"from":"a","to":"b","method":["GET"]}]})", "unknown field \"method\""},
      {R"({"allow":[{"from":"a","to":"b","methods":["get"]}]})", "allow[0].methods"},
      {R"({"allow":[{"from":"a","to":"b","paths":["admin"]}]})", "must start with '/'"},
      {R"({"allow":[{"from":"a","to":"b","paths":["/a/../b"]}]})", "allow[0].paths: '/a/../b': ambiguous path"},
      {R"({"allow":[{"from":"a","to":"b","paths":["/a*b"]}]})", "'*' is allowed only last"},
      {R"({"allow":[{"from":"a b","to":"b"}]})", "allow[0].from"},
      {R"({"allow":[{"from":[],"to":"b"}]})", "non-empty array"},
      {R"({"allow":[{"from":[1],"to":"b"}]})", "every item must be a string"},
      {"{\"allow\":[", "policy"},
  };
  for (const auto& [json, expected] : cases) {
    Result<AuthorizationPolicy> p = AuthorizationPolicy::Parse(json);
    ASSERT_FALSE(p.ok()) << json;
    EXPECT_NE(p.status().message().find(expected), std::string::npos) << json << " -> " << p.status().message();
  }
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace security_authorization_policy_test {

// The policy file comes from disk or from meshd: past the nesting bound (json_depth.h) it is
// refused as any other malformed policy, without recursing per level.
TEST(AuthorizationPolicy, RefusesNestingPastTheBoundOnASmallStack) {
  testing::RunOnSmallStack([] {
    for (const std::string& deep : {testing::WithNestedMember(R"({"allow":[]})", kMaxJsonDepth),
                                    testing::NestedObjects(1000), std::string(100'000, '[')}) {
      Result<AuthorizationPolicy> p = AuthorizationPolicy::Parse(deep);
      ASSERT_FALSE(p.ok());
      EXPECT_NE(p.status().message().find("nested deeper than 64 levels"), std::string::npos)
          << p.status().message();
    }
  });
}

}  // namespace
}  // namespace mesh

// The rules are the w3c/trace-context test suite's (test/test.py, strict level 2), written as
// our own cases.
#include "mesh/telemetry/tracestate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace mesh {
namespace telemetry_tracestate_test {

Result<std::string> Combine(std::vector<std::string_view> lines) { return CombineTraceState(lines); }

void ExpectDiscarded(std::vector<std::string_view> lines) {
  Result<std::string> r = Combine(lines);
  ASSERT_FALSE(r.ok()) << (lines.empty() ? "" : lines.front()) << " -> " << *r;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("tracestate"), std::string::npos);
}

// 32 members bar01=01..bar32=32 over several lines, as the suite sends them.
std::vector<std::string> Members(int n) {
  std::vector<std::string> lines(1);
  for (int i = 1; i <= n; ++i) {
    char member[32];
    std::snprintf(member, sizeof member, "bar%02d=%02d", i, i);
    if (!lines.back().empty()) lines.back() += ',';
    lines.back() += member;
    if (i % 10 == 0) lines.emplace_back();
  }
  return lines;
}

TEST(CombineTraceState, KeepsOneMember) { EXPECT_EQ(*Combine({"foo=1"}), "foo=1"); }

TEST(CombineTraceState, CombinesSeveralLinesInOrder) {
  EXPECT_EQ(*Combine({"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}), "foo=1,bar=2,rojo=1,congo=2,baz=3");
}

TEST(CombineTraceState, IgnoresEmptyLinesAndEmptyMembers) {
  EXPECT_EQ(*Combine({""}), "");
  EXPECT_EQ(*Combine({"foo=1", ""}), "foo=1");
  EXPECT_EQ(*Combine({"", "foo=1"}), "foo=1");
  EXPECT_EQ(*Combine({"foo=1,,bar=2, ,"}), "foo=1,bar=2");
}

TEST(CombineTraceState, RemovesOptionalWhitespaceAroundMembers) {
  EXPECT_EQ(*Combine({"foo=1 \t , \t bar=2, \t baz=3"}), "foo=1,bar=2,baz=3");
  EXPECT_EQ(*Combine({"\t foo=1 \t"}), "foo=1");
}

TEST(CombineTraceState, AcceptsEveryAllowedCharacter) {
  const std::string key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  std::string value;
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') value += c;
  }
  const std::string plain = key + "=" + value;
  EXPECT_EQ(*Combine({plain}), plain);
  const std::string tenant = key + "@a-z0-9_-*/=" + value;
  EXPECT_EQ(*Combine({tenant}), tenant);
}

TEST(CombineTraceState, KeepsThirtyTwoMembersAndDiscardsThirtyThree) {
  std::vector<std::string> lines = Members(32);
  std::vector<std::string_view> views(lines.begin(), lines.end());
  Result<std::string> kept = CombineTraceState(views);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ(std::count(kept->begin(), kept->end(), '='), 32);
  lines = Members(33);
  ExpectDiscarded(std::vector<std::string_view>(lines.begin(), lines.end()));
}

TEST(CombineTraceState, DiscardsAListWithAKeyTwice) {
  ExpectDiscarded({"foo=1,foo=1"});
  ExpectDiscarded({"foo=1,foo=2"});
  ExpectDiscarded({"foo=1", "foo=2"});
}

TEST(CombineTraceState, DiscardsIllegalKeys) {
  ExpectDiscarded({"foo =1"});
  ExpectDiscarded({"FOO=1"});
  ExpectDiscarded({"foo.bar=1"});
  ExpectDiscarded({"1foo=1"});  // a simple key starts with a letter
  ExpectDiscarded({"=1"});
}

TEST(CombineTraceState, DiscardsIllegalTenantKeys) {
  ExpectDiscarded({"foo@=1,bar=2"});
  ExpectDiscarded({"@foo=1,bar=2"});
  ExpectDiscarded({"foo@@bar=1,bar=2"});
  ExpectDiscarded({"foo@bar@baz=1,bar=2"});
  ExpectDiscarded({"foo@1bar=1"});  // the system id starts with a letter
  EXPECT_TRUE(Combine({"1foo@bar=1"}).ok());  // a tenant id may start with a digit
}

TEST(CombineTraceState, EnforcesKeyLengthLimits) {
  const std::string z256 = std::string(256, 'z') + "=1", z257 = std::string(257, 'z') + "=1";
  EXPECT_TRUE(Combine({"foo=1", z256}).ok());
  ExpectDiscarded({"foo=1", z257});
  const std::string tenant_ok = std::string(241, 't') + "@" + std::string(14, 'v') + "=1";
  EXPECT_TRUE(Combine({"foo=1", tenant_ok}).ok());
  const std::string tenant_long = std::string(242, 't') + "@v=1";
  ExpectDiscarded({"foo=1", tenant_long});
  const std::string system_long = "t@" + std::string(15, 'v') + "=1";
  ExpectDiscarded({"foo=1", system_long});
}

TEST(CombineTraceState, DiscardsIllegalValues) {
  ExpectDiscarded({"foo=bar=baz"});
  ExpectDiscarded({"foo=,bar=3"});
  ExpectDiscarded({"foo"});
  ExpectDiscarded({std::string_view("foo=a\x01", 6)});
  ExpectDiscarded({"foo=\xc3\xa9"});  // non-ASCII
  ExpectDiscarded({"foo=" + std::string(257, 'v')});
  EXPECT_TRUE(Combine({"foo=" + std::string(256, 'v')}).ok());
}

TEST(CombineTraceState, NeverCrashesOnAnyPrefixOfAnInput) {
  const std::string input = "a@b=1, c=2 ,\t,x=y=z,k=\x7f";
  for (size_t n = 0; n <= input.size(); ++n) {
    const std::string_view cut(input.data(), n);
    Result<std::string> r = Combine({cut});
    EXPECT_TRUE(r.ok() || r.status().code() == Status::Code::kInvalidArgument) << n;
  }
}

}  // namespace telemetry_tracestate_test
}  // namespace mesh

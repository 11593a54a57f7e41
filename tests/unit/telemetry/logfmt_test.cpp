#include "mesh/telemetry/logfmt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace telemetry_logfmt_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

LogfmtPairs ParseOrDie(std::string_view line) {
  Result<LogfmtPairs> r = ParseLogfmt(line);
  EXPECT_TRUE(r.ok()) << line << ": " << r.status().message();
  return r.ok() ? *r : LogfmtPairs{};
}

std::string LogfmtPair(std::string_view key, std::string_view value) {
  std::string out;
  AppendLogfmtPair(out, key, value);
  return out;
}

TEST(ParseLogfmt, ParsesKeyValuePairs) {
  EXPECT_THAT(ParseOrDie("ts=2026-11-25T13:00:00Z level=info msg=started user=42"),
              ElementsAre(Pair("ts", "2026-11-25T13:00:00Z"), Pair("level", "info"),
                          Pair("msg", "started"), Pair("user", "42")));
}

TEST(ParseLogfmt, UnquotesQuotedValuesWithEscapes) {
  EXPECT_THAT(
      ParseOrDie(R"(msg="user logged in" path="C:\\tmp" q="say \"hi\"")"),
      ElementsAre(Pair("msg", "user logged in"), Pair("path", "C:\\tmp"), Pair("q", "say \"hi\"")));
  EXPECT_THAT(ParseOrDie(R"(m="a\nb\tc\rd\xe")"), ElementsAre(Pair("m", "a\nb\tc\rdxe")));
  EXPECT_THAT(ParseOrDie(R"(m="a=b c")"), ElementsAre(Pair("m", "a=b c")));
}

TEST(ParseLogfmt, BareKeysAndEmptyValuesHaveEmptyValues) {
  EXPECT_THAT(ParseOrDie("debug a= b=\"\" c"),
              ElementsAre(Pair("debug", ""), Pair("a", ""), Pair("b", ""), Pair("c", "")));
}

TEST(ParseLogfmt, SkipsRunsOfWhitespace) {
  EXPECT_THAT(ParseOrDie("  a=1 \t b=2\r\n"), ElementsAre(Pair("a", "1"), Pair("b", "2")));
}

TEST(ParseLogfmt, KeepsEverythingAfterTheFirstEqualsInABareValue) {
  EXPECT_THAT(ParseOrDie("url=http://x/?a=b&c=d"), ElementsAre(Pair("url", "http://x/?a=b&c=d")));
  EXPECT_THAT(ParseOrDie("a=\xC3\xA9t\xC3\xA9"), ElementsAre(Pair("a", "\xC3\xA9t\xC3\xA9")));
}

TEST(ParseLogfmt, RejectsAnUnterminatedQuote) {
  Result<LogfmtPairs> r = ParseLogfmt(R"(a=1 msg="never closed)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("unterminated"));
  EXPECT_THAT(r.status().message(), HasSubstr("'msg'"));
  EXPECT_FALSE(ParseLogfmt(R"(msg="ends with escape\")").ok());
}

TEST(ParseLogfmt, RejectsKeysStartingWithEqualsOrQuote) {
  Result<LogfmtPairs> r = ParseLogfmt("a=1 =2");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("column 5"));
  EXPECT_FALSE(ParseLogfmt("\"k\"=v").ok());
}

TEST(ParseLogfmt, RejectsALineWithNoPairs) {
  EXPECT_FALSE(ParseLogfmt("").ok());
  EXPECT_FALSE(ParseLogfmt("   \t ").ok());
}

TEST(ParseLogfmt, EveryTruncationParsesOrFailsCleanly) {
  const std::string full =
      R"(ts=2026-11-25T13:00:00Z level=warn msg="disk \"sda\" at 91%\n" bare user=42)";
  for (size_t n = 0; n <= full.size(); ++n) {
    const std::string cut = full.substr(0, n);
    Result<LogfmtPairs> r = ParseLogfmt(cut);
    // Inside the quoted value a cut is an unterminated quote; anywhere else it parses.
    const size_t open = full.find('"');
    const size_t close = full.rfind('"');
    if (n > open && n <= close) {
      EXPECT_FALSE(r.ok()) << cut;
    } else if (n > 0) {
      EXPECT_TRUE(r.ok()) << cut;
    }
  }
}

TEST(ParseLogfmt, RandomBytesNeverCrash) {
  testing::Garbage garbage(8, "ab= \"\\\tnq");
  for (int i = 0; i < 20000; ++i) {
    Result<LogfmtPairs> r = ParseLogfmt(garbage.Next(40));
    if (r.ok()) {
      EXPECT_FALSE(r->empty());
    }
  }
}

TEST(AppendLogfmtPair, LeavesPlainValuesBare) {
  EXPECT_EQ(LogfmtPair("user", "42"), "user=42");
  EXPECT_EQ(LogfmtPair("path", "/a/b?c"), "path=/a/b?c");
  EXPECT_EQ(LogfmtPair("name", "caf\xC3\xA9"), "name=caf\xC3\xA9");
}

TEST(AppendLogfmtPair, QuotesEmptySpacedAndSpecialValues) {
  EXPECT_EQ(LogfmtPair("msg", ""), R"(msg="")");
  EXPECT_EQ(LogfmtPair("msg", "user logged in"), R"(msg="user logged in")");
  EXPECT_EQ(LogfmtPair("q", "a=b"), R"(q="a=b")");
  EXPECT_EQ(LogfmtPair("q", "say \"hi\""), R"(q="say \"hi\"")");
  EXPECT_EQ(LogfmtPair("p", "C:\\tmp"), R"(p="C:\\tmp")");
  EXPECT_EQ(LogfmtPair("m", "a\nb\tc\rd"), R"(m="a\nb\tc\rd")");
}

TEST(AppendLogfmtPair, QuotedOutputParsesBackToTheSameValue) {
  for (const std::string value : {"", "plain", "two words", "a=b", "\"q\"", "back\\slash",
                                  "line\nbreak", "tab\there", "cr\r", "mixed \"=\\\n"}) {
    const std::string line = LogfmtPair("k", value) + " " + LogfmtPair("after", "x");
    EXPECT_THAT(ParseOrDie(line), ElementsAre(Pair("k", value), Pair("after", "x"))) << line;
  }
}

TEST(AppendLogfmtPair, QuotesAndEscapesEveryTerminalControl) {
  EXPECT_EQ(LogfmtPair("m", "\x1b]52;c;eA==\x07"), R"(m="\x1b]52;c;eA==\x07")");
  EXPECT_EQ(LogfmtPair("m", "a\x1b[2Jb"), R"(m="a\x1b[2Jb")");
  EXPECT_EQ(LogfmtPair("m", "del\x7f"), R"(m="del\x7f")");
  EXPECT_EQ(LogfmtPair("m", "\xC2\x9B" "31m"), R"(m="\u009b31m")");
  EXPECT_EQ(LogfmtPair("m", "user\xE2\x80\xAEnimda"), R"(m="user\u202enimda")");
  EXPECT_EQ(LogfmtPair("m", "bad\xFF"), "m=bad\xEF\xBF\xBD");  // invalid UTF-8 replaced
}

TEST(AppendLogfmtPair, EscapesKeysItCannotQuote) {
  EXPECT_EQ(LogfmtPair("a b=c\"d", "1"), R"(a\x20b\x3dc\x22d=1)");
  EXPECT_EQ(LogfmtPair("k\x1b[2J\n", "1"), R"(k\x1b[2J\n=1)");
  EXPECT_EQ(LogfmtPair("\xE2\x81\xA6k", "1"), R"(\u2066k=1)");
  EXPECT_EQ(LogfmtPair("", "1"), "_=1");
  // Whatever the key, the line still parses into the same number of pairs.
  const std::string line = LogfmtPair("x= \"y", "v") + " " + LogfmtPair("after", "x");
  ASSERT_TRUE(ParseLogfmt(line).ok()) << line;
  EXPECT_EQ(ParseLogfmt(line)->size(), 2u) << line;
}

TEST(AppendLogfmtPair, EscapedControlsParseBackExactly) {
  for (const std::string value : {"\x1b]52;c;eA==\x07", "\x1b[2J\x1b[H", "bell\x07", "del\x7f",
                                  "\xC2\x85\xC2\x9B", "\xE2\x80\xAA\xE2\x80\xAE\xE2\x81\xA9",
                                  "x\x01y\x1fz", "\\x1b literal"}) {
    const std::string line = LogfmtPair("k", value) + " " + LogfmtPair("after", "x");
    EXPECT_THAT(ParseOrDie(line), ElementsAre(Pair("k", value), Pair("after", "x"))) << line;
  }
}

TEST(ParseLogfmt, ReadsHexAndUnicodeEscapesAndLeavesMalformedOnesAsText) {
  EXPECT_THAT(ParseOrDie(R"(m="\x41\u00e9\u202e")"), ElementsAre(Pair("m", "A\xC3\xA9\xE2\x80\xAE")));
  EXPECT_THAT(ParseOrDie(R"(m="\xZ1\u12")"), ElementsAre(Pair("m", "xZ1u12")));
  EXPECT_THAT(ParseOrDie(R"(m="\ud800")"), ElementsAre(Pair("m", "ud800")));  // a lone surrogate
}

}  // namespace
}  // namespace mesh

#include "mesh/base/url_encoding.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace base_url_encoding_test {

TEST(ParseQueryString, SplitsPairsAndDecodesThem) {
  const auto q = ParseQueryString("a=1&b=x%20y&c=p+q&d=%2B");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q.at("a"), "1");
  EXPECT_EQ(q.at("b"), "x y");
  EXPECT_EQ(q.at("c"), "p q");  // '+' is a space in a query
  EXPECT_EQ(q.at("d"), "+");    // an encoded '+' is a plus
}

TEST(ParseQueryString, DecodesKeysToo) {
  const auto q = ParseQueryString("trace%5Fid=abc&a+b=1");
  EXPECT_EQ(q.at("trace_id"), "abc");
  EXPECT_EQ(q.at("a b"), "1");
}

TEST(ParseQueryString, LastOfRepeatedKeysWins) {
  const auto q = ParseQueryString("level=info&level=warn");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.at("level"), "warn");
}

TEST(ParseQueryString, KeyWithoutValueIsEmptyAndValueKeepsLaterEquals) {
  const auto q = ParseQueryString("follow&expr=a=b");
  EXPECT_EQ(q.at("follow"), "");
  EXPECT_EQ(q.at("expr"), "a=b");
}

TEST(ParseQueryString, SkipsEmptyPairs) {
  EXPECT_TRUE(ParseQueryString("").empty());
  EXPECT_TRUE(ParseQueryString("&&&").empty());
  const auto q = ParseQueryString("&a=1&&b=2&");
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.at("a"), "1");
  EXPECT_EQ(q.at("b"), "2");
}

TEST(UrlEncode, KeepsUnreservedAndEscapesEverythingElse) {
  EXPECT_EQ(UrlEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(UrlEncode("a b&c=d/e?f+g%"), "a%20b%26c%3Dd%2Fe%3Ff%2Bg%25");
  EXPECT_EQ(UrlEncode("\xc3\xa9"), "%C3%A9");  // UTF-8 bytes one by one, uppercase hex
  EXPECT_EQ(UrlEncode(std::string("\0", 1)), "%00");
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(UrlDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(UrlDecode("%41%62%2f%2F", false), "Ab//");
  EXPECT_EQ(UrlDecode("%C3%A9", false), "\xc3\xa9");
}

TEST(UrlDecode, PlusIsASpaceOnlyWhenAsked) {
  EXPECT_EQ(UrlDecode("a+b", true), "a b");
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
}

TEST(UrlDecode, KeepsMalformedEscapesAsTheyAre) {
  EXPECT_EQ(UrlDecode("100%", false), "100%");
  EXPECT_EQ(UrlDecode("%4", false), "%4");
  EXPECT_EQ(UrlDecode("%zz", false), "%zz");
  EXPECT_EQ(UrlDecode("%g1%1g", false), "%g1%1g");
  EXPECT_EQ(UrlDecode("%%41", false), "%A");  // the first '%' is literal, "%41" is 'A'
  EXPECT_EQ(UrlDecode("a%2", true), "a%2");
}

TEST(UrlDecode, InvertsUrlEncodeForEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(UrlDecode(UrlEncode(all), false), all);
  EXPECT_EQ(UrlDecode(UrlEncode(all), true), all);  // UrlEncode never leaves a '+'
}

TEST(UrlDecode, GarbageNeverCrashes) {
  testing::Garbage garbage(7, "%+0123456789abcdefABCDEF&=");
  for (int i = 0; i < 2000; ++i) {
    const std::string text = garbage.Next(40);
    const std::string decoded = UrlDecode(text, true);
    EXPECT_LE(decoded.size(), text.size());
    ParseQueryString(text);
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/base/json_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "test_support.h"

namespace mesh {
namespace base_json_text_test {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string JsonValue(const Json::Value& v) {
  std::string out;
  AppendJsonValue(out, v);
  return out;
}

Json::Value ParseOrDie(std::string_view text) {
  Result<Json::Value> r = ParseJson(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : Json::Value();
}

// ---- AppendJsonString ------------------------------------------------------------------------

TEST(AppendJsonString, QuotesPlainText) {
  EXPECT_EQ(JsonString("hello"), "\"hello\"");
  EXPECT_EQ(JsonString(""), "\"\"");
}

TEST(AppendJsonString, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(JsonString("say \"hi\" \\o/"), R"("say \"hi\" \\o/")");
}

TEST(AppendJsonString, EscapesControlCharacters) {
  EXPECT_EQ(JsonString("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
  EXPECT_EQ(JsonString(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(JsonString("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(JsonString("\x1b[31m"), R"("\u001b[31m")");
}

TEST(AppendJsonString, EscapesDelC1ControlsAndBidiOverrides) {
  // JSON shown on a terminal must not act on it (terminal_text.h); each reads back the same.
  EXPECT_EQ(JsonString("\x7f"), R"("\u007f")");
  EXPECT_EQ(JsonString("a\xC2\x9B" "2J\xC2\x85"), R"("a\u009b2J\u0085")");
  EXPECT_EQ(JsonString("x\xE2\x80\xAEy\xE2\x81\xA6z"), R"("x\u202ey\u2066z")");
  EXPECT_EQ(JsonString("\xC2" "8"), "\"\xC2" "8\"");  // not a C1 control: a C2 before ASCII
  for (const std::string s : {"\x7f", "a\xC2\x9B" "2J", "x\xE2\x80\xAEy\xE2\x81\xA9"}) {
    Result<Json::Value> back = ParseJson(JsonString(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->asString(), s);
  }
}

TEST(AppendJsonString, LeavesOtherUtf8Unescaped) {
  EXPECT_EQ(JsonString("\xC2\xA0 \xE2\x80\xA6 \xE2\x80\x94"), "\"\xC2\xA0 \xE2\x80\xA6 \xE2\x80\x94\"");
  EXPECT_EQ(JsonString("caf\xC3\xA9 \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
  EXPECT_EQ(JsonString("</script>"), "\"</script>\"");
}

TEST(AppendJsonString, AppendsToExistingOutput) {
  std::string out = "[";
  AppendJsonString(out, "x");
  EXPECT_EQ(out, "[\"x\"");
}

TEST(AppendJsonString, EveryAsciiCharacterRoundTripsThroughParseJson) {
  std::string all;
  for (int c = 0; c < 128; ++c) all += static_cast<char>(c);
  const Json::Value back = ParseOrDie(JsonString(all));
  ASSERT_TRUE(back.isString());
  EXPECT_EQ(back.asString(), all);
}

// ---- AppendJsonValue -------------------------------------------------------------------------

TEST(AppendJsonValue, PrintsScalars) {
  EXPECT_EQ(JsonValue(Json::Value()), "null");
  EXPECT_EQ(JsonValue(true), "true");
  EXPECT_EQ(JsonValue(false), "false");
  EXPECT_EQ(JsonValue(0), "0");
  EXPECT_EQ(JsonValue(-42), "-42");
  EXPECT_EQ(JsonValue("a\"b"), R"("a\"b")");
}

TEST(AppendJsonValue, PrintsSixtyFourBitIntegersExactly) {
  EXPECT_EQ(JsonValue(Json::Value(Json::Int64{std::numeric_limits<int64_t>::min()})),
            "-9223372036854775808");
  EXPECT_EQ(JsonValue(Json::Value(Json::UInt64{std::numeric_limits<uint64_t>::max()})),
            "18446744073709551615");
  EXPECT_EQ(JsonValue(ParseOrDie("9007199254740993")), "9007199254740993");  // 2^53 + 1
}

TEST(AppendJsonValue, PrintsDoublesInShortestRoundTripForm) {
  EXPECT_EQ(JsonValue(0.1), "0.1");
  EXPECT_EQ(JsonValue(19.99), "19.99");
  EXPECT_EQ(JsonValue(-2.5), "-2.5");
  EXPECT_EQ(JsonValue(1e300), "1e+300");
  EXPECT_EQ(JsonValue(ParseOrDie("0.1")), "0.1");
  std::mt19937_64 engine(6);
  std::uniform_real_distribution<double> any(-1e9, 1e9);
  for (int i = 0; i < 1000; ++i) {
    const double d = any(engine);
    const Json::Value back = ParseOrDie(JsonValue(d));
    EXPECT_EQ(back.asDouble(), d);
  }
}

TEST(AppendJsonValue, PrintsNonFiniteDoublesAsNull) {
  EXPECT_EQ(JsonValue(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(JsonValue(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(JsonValue(-std::numeric_limits<double>::infinity()), "null");
  Json::Value arr(Json::arrayValue);
  arr.append(std::nan(""));
  arr.append(1.5);
  EXPECT_EQ(JsonValue(arr), "[null,1.5]");
}

TEST(AppendJsonValue, PrintsCompactNestedContainers) {
  const Json::Value v =
      ParseOrDie(R"({ "b" : [1, 2.5, "x", null, {"c": true}], "a" : {} , "e": []})");
  EXPECT_EQ(JsonValue(v), R"({"a":{},"b":[1,2.5,"x",null,{"c":true}],"e":[]})");
}

TEST(AppendJsonValue, EscapesObjectKeys) {
  Json::Value v(Json::objectValue);
  v["a\"b\n"] = 1;
  EXPECT_EQ(JsonValue(v), R"({"a\"b\n":1})");
}

TEST(AppendJsonValue, KeepsStringsWithEmbeddedNul) {
  const Json::Value v = ParseOrDie(R"("a\u0000b")");
  EXPECT_EQ(JsonValue(v), R"("a\u0000b")");
}

// ---- ParseJson -------------------------------------------------------------------------------

TEST(ParseJson, ParsesADocument) {
  const Json::Value v = ParseOrDie(R"({"msg":"hi","n":3,"ok":true,"list":[1,2]})");
  ASSERT_TRUE(v.isObject());
  EXPECT_EQ(v["msg"].asString(), "hi");
  EXPECT_EQ(v["n"].asInt(), 3);
  EXPECT_TRUE(v["ok"].asBool());
  EXPECT_EQ(v["list"].size(), 2u);
}

TEST(ParseJson, AcceptsScalarsAndSurroundingWhitespace) {
  EXPECT_EQ(ParseOrDie("42").asInt(), 42);
  EXPECT_EQ(ParseOrDie("  \"s\"  \n").asString(), "s");
  EXPECT_TRUE(ParseOrDie("null").isNull());
  EXPECT_TRUE(ParseOrDie(" {} \r\n").isObject());
}

TEST(ParseJson, RejectsTrailingGarbage) {
  for (const char* text : {"{} x", "{}{}", "[1] ]", "1 2", "\"a\"b", "{}\n{}"}) {
    Result<Json::Value> r = ParseJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << text;
  }
}

TEST(ParseJson, ErrorSaysWhereItFailedOnOneLine) {
  Result<Json::Value> r = ParseJson(R"({"a": 1 "b": 2})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), StartsWith("invalid JSON at Line 1, Column "));
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
}

TEST(ParseJson, RejectsMalformedDocuments) {
  for (const char* text :
       {"", " ", "{", "}", "[", "{\"a\"}", "{\"a\":}", "{a:1}", "{'a':1}", "NaN", "Infinity",
        "-Infinity", "01x", "tru", "\"unterminated", "\"bad \\q escape\""}) {
    Result<Json::Value> r = ParseJson(text);
    EXPECT_FALSE(r.ok()) << text;
  }
}

TEST(ParseJson, RejectsDeepNestingWithoutThrowing) {
  // jsoncpp throws past its stack limit; ParseJson must turn that into an error value.
  const std::string deep_array = std::string(100000, '[') + std::string(100000, ']');
  Result<Json::Value> r = ParseJson(deep_array);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  std::string deep_object;
  for (int i = 0; i < 1000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(1000, '}');
  EXPECT_FALSE(ParseJson(deep_object).ok());
  // Modest nesting is fine.
  EXPECT_TRUE(ParseJson(std::string(50, '[') + std::string(50, ']')).ok());
}

TEST(ParseJson, EveryTruncationOfAnObjectIsAnError) {
  const std::string full =
      R"({"timestamp":"2025-11-25T13:00:00Z","level":"info","msg":"caf\u00e9 \"q\"",)"
      R"("n":-1.5e3,"big":18446744073709551615,"list":[true,false,null,{"k":[]}]})";
  ParseOrDie(full);
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_FALSE(ParseJson(full.substr(0, n)).ok()) << full.substr(0, n);
  }
}

TEST(ParseJson, RandomBytesNeverCrashAndWhatParsesRoundTrips) {
  testing::Garbage garbage(7, "{}[]\":,0123456789.eE-+truefalsn\\u ");
  for (int i = 0; i < 20000; ++i) {
    Result<Json::Value> r = ParseJson(garbage.Next(48));
    if (!r.ok()) continue;
    // Whatever parses prints as JSON that parses back to the same value.
    const std::string printed = JsonValue(*r);
    Result<Json::Value> again = ParseJson(printed);
    ASSERT_TRUE(again.ok()) << printed;
    EXPECT_EQ(JsonValue(*again), printed);
  }
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace base_json_text_test {

TEST(ParseJson, RejectsCommentsTrailingCommasAndSingleQuotes) {
  EXPECT_FALSE(ParseJson("{\"a\":1,}").ok());
  EXPECT_FALSE(ParseJson("[1,2,]").ok());
  EXPECT_FALSE(ParseJson("{\"a\":1} // note").ok());
  EXPECT_FALSE(ParseJson("{'a':1}").ok());
  EXPECT_TRUE(ParseJson("42").ok());
  EXPECT_TRUE(ParseJson("{\"a\":1,\"a\":2}").ok());
}

}  // namespace
}  // namespace mesh

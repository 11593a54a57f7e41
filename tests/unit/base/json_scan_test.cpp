#include "mesh/base/json_scan.h"

#include <gtest/gtest.h>

#include <random>

#include "mesh/base/json_tape.h"

namespace mesh {
namespace base_json_scan_test {

TEST(JsonScan, ReportsTopLevelMembersWithRawValues) {
  std::vector<JsonMember> m;
  const std::string text =
      R"( {"a":"x\"y", "n": -1.5e3, "t":true,"f":false,"z":null,"o":{"k":[1,{"d":2}]},"arr":[ 1, 2 ]} )";
  ASSERT_TRUE(ScanJsonObject(text, m).ok());
  ASSERT_EQ(m.size(), 7u);
  EXPECT_EQ(m[0].key, "a");
  EXPECT_EQ(m[0].value, R"("x\"y")");
  EXPECT_EQ(m[0].kind, JsonKind::kString);
  EXPECT_EQ(StringValue(m[0]), "x\"y");
  EXPECT_EQ(m[1].value, "-1.5e3");
  EXPECT_EQ(m[1].kind, JsonKind::kNumber);
  EXPECT_EQ(m[2].kind, JsonKind::kTrue);
  EXPECT_EQ(m[3].kind, JsonKind::kFalse);
  EXPECT_EQ(m[4].kind, JsonKind::kNull);
  EXPECT_EQ(m[5].value, R"({"k":[1,{"d":2}]})");
  EXPECT_EQ(m[5].kind, JsonKind::kObject);
  EXPECT_EQ(m[6].value, "[ 1, 2 ]");
  EXPECT_EQ(m[6].kind, JsonKind::kArray);
}

TEST(JsonScan, KeepsNumbersByteForByte) {
  std::vector<JsonMember> m;
  ASSERT_TRUE(ScanJsonObject(R"({"big":18446744073709551617,"tenth":0.1})", m).ok());
  EXPECT_EQ(m[0].value, "18446744073709551617");
  EXPECT_EQ(m[1].value, "0.1");
}

TEST(JsonScan, AcceptsEmptyObject) {
  std::vector<JsonMember> m;
  EXPECT_TRUE(ScanJsonObject("{}", m).ok());
  EXPECT_TRUE(m.empty());
}

TEST(JsonScan, FlagsEscapedKeys) {
  std::vector<JsonMember> m;
  ASSERT_TRUE(ScanJsonObject(R"({"m\u0073g":"hi","plain":1})", m).ok());
  EXPECT_TRUE(m[0].key_escaped);
  EXPECT_EQ(UnescapeJsonString(m[0].key), "msg");
  EXPECT_FALSE(m[1].key_escaped);
}

TEST(JsonScan, RejectsWhatIsNotOneObject) {
  std::vector<JsonMember> m;
  for (const char* bad : {"", "[]", "42", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
                          "{\"a\":1} x", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru}",
                          "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{a:1}", "{\"a\":[1,]}",
                          "{\"a\":\"tab\there\"}", "{\"a\":1 \"b\":2}", "{'a':1}"}) {
    EXPECT_FALSE(ScanJsonObject(bad, m).ok()) << bad;
  }
}

TEST(JsonScan, ErrorNamesTheColumn) {
  std::vector<JsonMember> m;
  Status s = ScanJsonObject(R"({"a":1,"b":})", m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("column 12"), std::string::npos) << s.message();
}

TEST(JsonScan, LimitsNesting) {
  std::vector<JsonMember> m;
  std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(ScanJsonObject(deep, m).ok());
  std::string fine = "{\"a\":" + std::string(30, '[') + std::string(30, ']') + "}";
  EXPECT_TRUE(ScanJsonObject(fine, m).ok());
}

TEST(JsonScan, EveryTruncationIsRejectedWithoutCrashing) {
  const std::string text =
      R"({"timestamp":"2026-11-25T10:00:00Z","msg":"h\u00e9llo \"q\"","n":[1,2.5e-3,{"x":null}],"ok":true})";
  std::vector<JsonMember> m;
  ASSERT_TRUE(ScanJsonObject(text, m).ok());
  for (size_t len = 0; len < text.size(); ++len) {
    EXPECT_FALSE(ScanJsonObject(text.substr(0, len), m).ok()) << len;
  }
}

// The documented outcome for any input: InvalidArgument naming a column, or the members of one
// object. JsonTape validates the same grammar independently (with the same nesting limit), so
// the two must agree on every input, and on the members of what both accept.
void ExpectTheSameVerdictAsJsonTape(const std::string& text, int* accepted) {
  std::vector<JsonMember> m;
  const Status s = ScanJsonObject(text, m);
  JsonTape tape;
  const bool tape_object = tape.Parse(text).ok() && tape.node(tape.root()).kind == JsonKind::kObject;
  ASSERT_EQ(s.ok(), tape_object) << "'" << text << "': " << s.message();
  if (!s.ok()) {
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << text;
    EXPECT_NE(s.message().find("column "), std::string::npos) << text << ": " << s.message();
    return;
  }
  ++*accepted;
  size_t i = 0;
  tape.ForEachChild(tape.root(), [&](uint32_t c) {
    ASSERT_LT(i, m.size()) << text;
    EXPECT_EQ(m[i].key, tape.node(c).key) << text;
    EXPECT_EQ(m[i].value, tape.node(c).raw) << text;
    EXPECT_EQ(m[i].kind, tape.node(c).kind) << text;
    ++i;
  });
  EXPECT_EQ(i, m.size()) << text;
}

TEST(JsonScan, RandomBytesGetTheSameVerdictAsJsonTape) {
  std::mt19937 rng(42);
  const std::string alphabet = "{}[]\":,\\ntrufalse0123456789.-eE \t";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int len = static_cast<int>(rng() % 40);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    ASSERT_NO_FATAL_FAILURE(ExpectTheSameVerdictAsJsonTape(s, &accepted));
  }
}

TEST(JsonScan, EveryOneByteMutationGetsTheSameVerdictAsJsonTape) {
  const std::string text = R"({"a":[1,{"b":"c\"d"},true,null],"e":-0.5e+2,"f":{"g":[]},"h":"\u00e9"})";
  int accepted = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    for (const char c : std::string(R"({}[]",:\0 x1e.-)", 15)) {
      std::string mutated = text;
      mutated[i] = c;
      ASSERT_NO_FATAL_FAILURE(ExpectTheSameVerdictAsJsonTape(mutated, &accepted));
    }
  }
  EXPECT_GT(accepted, 0);  // some mutations stay valid (a digit for a digit, a space for a space)
}

TEST(JsonScan, UnescapeDecodesSurrogatePairsAndReplacesNul) {
  EXPECT_EQ(UnescapeJsonString(R"(\ud83d\ude00)"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(UnescapeJsonString(R"(a\u0000b)"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(UnescapeJsonString(R"(\ud800x)"), "\xEF\xBF\xBDx");
  EXPECT_EQ(UnescapeJsonString(R"(\n\t\/\\)"), "\n\t/\\");
}

}  // namespace
}  // namespace mesh

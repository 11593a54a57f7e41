#include "mesh/base/json_tape.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace base_json_tape_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kNone = JsonTape::kNone;

// The member names (still escaped) of the children of node i, in order.
std::vector<std::string> ChildKeys(const JsonTape& t, uint32_t i) {
  std::vector<std::string> keys;
  t.ForEachChild(i, [&](uint32_t c) { keys.emplace_back(t.node(c).key); });
  return keys;
}

std::vector<std::string> ChildRaws(const JsonTape& t, uint32_t i) {
  std::vector<std::string> raws;
  t.ForEachChild(i, [&](uint32_t c) { raws.emplace_back(t.node(c).raw); });
  return raws;
}

TEST(JsonTape, RecordsEveryValueWithKindRawTextAndKey) {
  const std::string text =
      R"( {"s":"x\"y","n":-1.5e3,"t":true,"f":false,"z":null,"o":{"k":[1,{"d":2}]},"a":[ 1 , 2 ]} )";
  JsonTape t;
  ASSERT_TRUE(t.Parse(text).ok());
  const JsonTape::Node& root = t.node(t.root());
  EXPECT_EQ(root.kind, JsonKind::kObject);
  EXPECT_EQ(root.raw, text.substr(1, text.size() - 2));  // without the surrounding spaces
  EXPECT_THAT(ChildKeys(t, t.root()), ElementsAre("s", "n", "t", "f", "z", "o", "a"));
  EXPECT_THAT(ChildRaws(t, t.root()), ElementsAre(R"("x\"y")", "-1.5e3", "true", "false", "null",
                                                  R"({"k":[1,{"d":2}]})", "[ 1 , 2 ]"));
  EXPECT_EQ(t.node(t.Member(t.root(), "s")).kind, JsonKind::kString);
  EXPECT_EQ(t.node(t.Member(t.root(), "n")).kind, JsonKind::kNumber);
  EXPECT_EQ(t.node(t.Member(t.root(), "t")).kind, JsonKind::kTrue);
  EXPECT_EQ(t.node(t.Member(t.root(), "f")).kind, JsonKind::kFalse);
  EXPECT_EQ(t.node(t.Member(t.root(), "z")).kind, JsonKind::kNull);
  EXPECT_EQ(t.node(t.Member(t.root(), "o")).kind, JsonKind::kObject);
  EXPECT_EQ(t.node(t.Member(t.root(), "a")).kind, JsonKind::kArray);
}

TEST(JsonTape, LinksNestedChildrenAndSiblings) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"({"o":{"k":[1,{"d":2}],"e":{}}})").ok());
  const uint32_t o = t.Member(t.root(), "o");
  const uint32_t k = t.Member(o, "k");
  ASSERT_NE(k, kNone);
  EXPECT_EQ(t.node(k).next_sibling, t.Member(o, "e"));
  const uint32_t first = t.node(k).first_child;
  ASSERT_NE(first, kNone);
  EXPECT_EQ(t.node(first).raw, "1");
  EXPECT_EQ(t.node(first).key, "");  // array elements have no key
  const uint32_t second = t.node(first).next_sibling;
  ASSERT_NE(second, kNone);
  EXPECT_EQ(t.node(second).next_sibling, kNone);
  EXPECT_EQ(t.node(t.Member(second, "d")).raw, "2");
  EXPECT_EQ(t.node(t.Member(o, "e")).first_child, kNone);  // empty object
}

TEST(JsonTape, ScalarRootIsOneNode) {
  JsonTape t;
  ASSERT_TRUE(t.Parse("  42 ").ok());
  EXPECT_EQ(t.node(t.root()).kind, JsonKind::kNumber);
  EXPECT_EQ(t.node(t.root()).raw, "42");
  EXPECT_EQ(t.node(t.root()).first_child, kNone);
  ASSERT_TRUE(t.Parse(R"("s")").ok());
  EXPECT_EQ(t.String(t.root()), "s");
}

TEST(JsonTape, MemberFindsEscapedKeysByTheirDecodedName) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"({"plain":1,"a\"b":2,"\u0041":3,"tab\tkey":4,"caf\u00e9":5})").ok());
  EXPECT_EQ(t.node(t.Member(t.root(), "plain")).raw, "1");
  EXPECT_FALSE(t.node(t.Member(t.root(), "plain")).key_escaped);
  const uint32_t quoted = t.Member(t.root(), "a\"b");
  ASSERT_NE(quoted, kNone);
  EXPECT_EQ(t.node(quoted).raw, "2");
  EXPECT_TRUE(t.node(quoted).key_escaped);
  EXPECT_EQ(t.node(quoted).key, R"(a\"b)");  // the key itself stays escaped
  EXPECT_EQ(t.node(t.Member(t.root(), "A")).raw, "3");
  EXPECT_EQ(t.node(t.Member(t.root(), "tab\tkey")).raw, "4");
  EXPECT_EQ(t.node(t.Member(t.root(), "caf\xc3\xa9")).raw, "5");
  EXPECT_EQ(t.Member(t.root(), R"(a\"b)"), kNone);  // the escaped spelling is not the name
}

TEST(JsonTape, MemberReturnsNoneWhenAbsentOrNotAnObject) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"({"a":[{"b":1}],"s":"x"})").ok());
  EXPECT_EQ(t.Member(t.root(), "missing"), kNone);
  EXPECT_EQ(t.Member(t.Member(t.root(), "a"), "b"), kNone);  // an array has no members
  EXPECT_EQ(t.Member(t.Member(t.root(), "s"), "x"), kNone);
  EXPECT_EQ(t.Member(kNone, "a"), kNone);
}

TEST(JsonTape, MemberReturnsTheFirstOfRepeatedNames) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"({"a":1,"a":2})").ok());
  EXPECT_EQ(t.node(t.Member(t.root(), "a")).raw, "1");
}

TEST(JsonTape, StringDecodesEscapes) {
  JsonTape t;
  ASSERT_TRUE(
      t.Parse(R"(["a\"b\\c\/d", "\n\t\r\b\f", "caf\u00e9", "\ud83d\ude00", "\u0000", ""])").ok());
  std::vector<std::string> decoded;
  t.ForEachChild(t.root(), [&](uint32_t c) { decoded.push_back(t.String(c)); });
  EXPECT_THAT(decoded, ElementsAre("a\"b\\c/d", "\n\t\r\b\f", "caf\xc3\xa9", "\xf0\x9f\x98\x80",
                                   "\xef\xbf\xbd",  // NUL becomes U+FFFD
                                   ""));
}

TEST(JsonTape, StringOfANonStringIsEmpty) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"({"n":1,"o":{},"s":"v"})").ok());
  EXPECT_EQ(t.String(t.Member(t.root(), "n")), "");
  EXPECT_EQ(t.String(t.Member(t.root(), "o")), "");
  EXPECT_EQ(t.String(kNone), "");
  EXPECT_EQ(t.StringMember(t.root(), "s"), "v");
  EXPECT_EQ(t.StringMember(t.root(), "n"), "");
  EXPECT_EQ(t.StringMember(t.root(), "absent"), "");
  EXPECT_EQ(t.StringMember(kNone, "s"), "");
}

TEST(JsonTape, ForEachChildVisitsInDocumentOrder) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"([5,4,3,2,1,[0],{"x":9}])").ok());
  EXPECT_THAT(ChildRaws(t, t.root()), ElementsAre("5", "4", "3", "2", "1", "[0]", R"({"x":9})"));
}

TEST(JsonTape, ForEachChildOfAScalarOrNoneVisitsNothing) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"({"n":1,"e":[]})").ok());
  int visits = 0;
  t.ForEachChild(t.Member(t.root(), "n"), [&](uint32_t) { ++visits; });
  t.ForEachChild(t.Member(t.root(), "e"), [&](uint32_t) { ++visits; });
  t.ForEachChild(kNone, [&](uint32_t) { ++visits; });
  EXPECT_EQ(visits, 0);
}

TEST(JsonTape, ReusingATapeForgetsThePreviousDocument) {
  JsonTape t;
  ASSERT_TRUE(t.Parse(R"({"a":1,"b":2})").ok());
  ASSERT_TRUE(t.Parse(R"({"c":3})").ok());
  EXPECT_THAT(ChildKeys(t, t.root()), ElementsAre("c"));
  EXPECT_EQ(t.Member(t.root(), "a"), kNone);
}

TEST(JsonTape, ErrorsNameTheColumn) {
  JsonTape t;
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {R"({"a":})", "column 6: unexpected character"},
      {R"({"a" 1})", "column 6: expected ':' after a member name"},
      {R"({a:1})", "column 2: expected a member name in quotes"},
      {R"([1 2])", "column 4: expected ',' or ']' in array"},
      {R"({"a":1 "b":2})", "column 8: expected ',' or '}' in object"},
      {R"({} x)", "column 4: unexpected text after the value"},
      {R"(["a\q"])", "column 4: bad escape in string"},
      {R"(["\u12G4"])", R"(column 3: bad \u escape)"},
      {"[\"a\nb\"]", "column 4: control character in string"},
      {R"([-])", "column 3: bad number"},
      {R"([1.])", "column 4: bad number"},
      {R"([1e])", "column 4: bad number"},
      {R"([tru])", "column 2: unexpected value"},
      {R"(["abc)", "column 6: unterminated string"},
      {"", "column 1: unexpected end"},
      {"   ", "column 4: unexpected end"},
  };
  for (const Case& c : cases) {
    const Status s = t.Parse(c.text);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.text;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(JsonTape, RejectsWhatRfc8259Forbids) {
  JsonTape t;
  for (const char* text : {"[1,]", R"({"a":1,})", "[01]", "[+1]", "[.5]", "[NaN]", "['a']", "[1]]",
                           "{\"a\":1}}", "[True]", "//x\n1", "[0x10]"}) {
    EXPECT_FALSE(t.Parse(text).ok()) << text;
  }
}

TEST(JsonTape, Accepts64LevelsOfNesting) {
  JsonTape t;
  const std::string text = std::string(64, '[') + "1" + std::string(64, ']');
  EXPECT_TRUE(t.Parse(text).ok());
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < 63; ++i) s += R"({"a":)";
    s += "{}";
    for (int i = 0; i < 63; ++i) s += '}';
    return s;
  }();
  EXPECT_TRUE(t.Parse(objects).ok());
}

TEST(JsonTape, RejectsDeeperNestingWithoutExhaustingTheStack) {
  JsonTape t;
  const Status s = t.Parse(std::string(66, '[') + "1" + std::string(66, ']'));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nested deeper than 64 levels"));
  // Far deeper than any stack would take recursively: the limit stops it early.
  EXPECT_FALSE(t.Parse(std::string(1'000'000, '[')).ok());
  EXPECT_FALSE(t.Parse(std::string(500'000, '{')).ok());
}

TEST(JsonTape, EveryTruncationOfAValidDocumentIsRejectedWithoutCrashing) {
  const std::string text =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":)"
      R"({"stringValue":"caf\u00e9 \"q\""}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",)"
      R"("startTimeUnixNano":"1764075600000000000","kind":2,"d":-1.5e-3,"ok":true,"no":false,"z":null,"e":[]}]}]}]})";
  JsonTape t;
  ASSERT_TRUE(t.Parse(text).ok());
  for (size_t len = 0; len < text.size(); ++len) {
    EXPECT_FALSE(t.Parse(std::string_view(text).substr(0, len)).ok()) << len;
  }
}

// The document again from the tape alone, without whitespace: keys and scalars as recorded.
std::string Reserialise(const JsonTape& t, uint32_t n) {
  const JsonTape::Node& node = t.node(n);
  if (node.kind != JsonKind::kObject && node.kind != JsonKind::kArray) return std::string(node.raw);
  const bool object = node.kind == JsonKind::kObject;
  std::string out(1, object ? '{' : '[');
  bool first = true;
  t.ForEachChild(n, [&](uint32_t c) {
    if (!first) out += ',';
    first = false;
    if (object) out += '"' + std::string(t.node(c).key) + "\":";
    out += Reserialise(t, c);
  });
  return out + (object ? '}' : ']');
}

// The documented outcome for any input: InvalidArgument naming a column, or a tape whose root
// spans the document (whitespace aside) and which survives the round trip: the document
// rebuilt from the tape parses to the same tape.
void ExpectRejectedOrRoundTrips(const std::string& text, int* accepted) {
  JsonTape t;
  const Status s = t.Parse(text);
  if (!s.ok()) {
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr("column ")) << text;
    return;
  }
  ++*accepted;
  const size_t begin = text.find_first_not_of(" \t\r\n");
  const size_t end = text.find_last_not_of(" \t\r\n");
  ASSERT_NE(begin, std::string::npos) << text;
  EXPECT_EQ(t.node(t.root()).raw, std::string_view(text).substr(begin, end - begin + 1)) << text;
  const std::string again = Reserialise(t, t.root());
  JsonTape u;
  ASSERT_TRUE(u.Parse(again).ok()) << text << " -> " << again;
  EXPECT_EQ(Reserialise(u, u.root()), again) << text;
}

TEST(JsonTape, RandomBytesAreRejectedWithAColumnOrRoundTrip) {
  testing::Garbage garbage(20261125, R"({}[]":,\u0123456789.-eEtruefalsn )");
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_NO_FATAL_FAILURE(ExpectRejectedOrRoundTrips(garbage.Next(48), &accepted));
  }
  EXPECT_GT(accepted, 0);  // the alphabet reaches valid documents too
}

TEST(JsonTape, MutationsOfAValidDocumentAreRejectedWithAColumnOrRoundTrip) {
  const std::string text = R"({"a":[1,{"b":"c\"d"},true,null],"e":-0.5e+2,"f":{"g":[]}})";
  int accepted = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    for (const char c : std::string(R"({}[]",:\0 x)", 11)) {
      std::string mutated = text;
      mutated[i] = c;
      ASSERT_NO_FATAL_FAILURE(ExpectRejectedOrRoundTrips(mutated, &accepted));
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace mesh

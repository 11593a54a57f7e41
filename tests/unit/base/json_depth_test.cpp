#include "mesh/base/json_depth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_tape.h"
#include "mesh/base/json_text.h"
#include "deep_json.h"

namespace mesh {
namespace base_json_depth_test {

using ::testing::HasSubstr;
using testing::RunOnSmallStack;

std::string Arrays(int depth) { return testing::NestedArrays(depth); }
std::string Objects(int depth) { return testing::NestedObjects(depth); }

// Inputs past the bound, each with the column of the bracket that opens one level too many.
struct TooDeep {
  std::string what;
  std::string text;
  size_t column;
};

std::vector<TooDeep> TooDeepDocuments() {
  return {{"65 arrays", Arrays(65), 65},
          {"65 objects", Objects(65), 5 * 64 + 1},
          {"1000 objects", Objects(1000), 5 * 64 + 1},
          {"100k unclosed arrays", std::string(100'000, '['), 65},
          {"100k mixed", [] {
             std::string s;
             for (int i = 0; i < 50'000; ++i) s += "[{\"k\":";
             return s;
           }(), 0}};
}

TEST(CheckJsonDepth, AcceptsExactlyTheBound) {
  EXPECT_TRUE(CheckJsonDepth(Arrays(kMaxJsonDepth)).ok());
  EXPECT_TRUE(CheckJsonDepth(Objects(kMaxJsonDepth)).ok());
  EXPECT_TRUE(CheckJsonDepth(std::string(64, '[') + std::string(64, ']') + std::string(64, '[')).ok());
}

TEST(CheckJsonDepth, RefusesOneLevelMoreNamingTheColumn) {
  for (const TooDeep& d : TooDeepDocuments()) {
    const Status s = CheckJsonDepth(d.text);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << d.what;
    EXPECT_THAT(s.message(), HasSubstr("nested deeper than 64 levels")) << d.what;
    if (d.column) {
      EXPECT_THAT(s.message(), HasSubstr("column " + std::to_string(d.column) + ":")) << d.what;
    }
  }
}

TEST(CheckJsonDepth, BracketsInsideStringsAreText) {
  EXPECT_TRUE(CheckJsonDepth("[\"" + std::string(1000, '[') + "\"]").ok());
  // An escaped quote does not end the string; an escaped backslash does not escape the quote.
  EXPECT_TRUE(CheckJsonDepth("[\"\\\"" + std::string(1000, '{') + "\"]").ok());
  EXPECT_FALSE(CheckJsonDepth("[\"\\\\\"" + std::string(1000, '{')).ok());
}

TEST(CheckJsonDepth, StrayClosersBuyNoRoom) {
  EXPECT_FALSE(CheckJsonDepth(std::string(100, ']') + std::string(65, '[')).ok());
  EXPECT_FALSE(CheckJsonDepth(std::string(100, '}') + Objects(65)).ok());
}

// Every parser of untrusted JSON gives the same answer at the bound, and past it refuses with
// the same message, on a stack far smaller than a server thread's.
TEST(JsonParsers, AcceptTheBoundAndRefuseDeeperInputOnASmallStack) {
  RunOnSmallStack([] {
    JsonTape tape;
    std::vector<JsonMember> members;
    std::vector<std::string_view> elements;
    for (const std::string& ok : {Arrays(kMaxJsonDepth), Objects(kMaxJsonDepth)}) {
      EXPECT_TRUE(tape.Parse(ok).ok());
      EXPECT_TRUE(ParseJson(ok).ok());
    }
    EXPECT_TRUE(ScanJsonObject(Objects(kMaxJsonDepth), members).ok());
    EXPECT_TRUE(ScanJsonArray(Arrays(kMaxJsonDepth), elements).ok());
    // 64 levels of empty containers, the innermost with nothing inside.
    EXPECT_TRUE(tape.Parse(std::string(64, '[') + std::string(64, ']')).ok());
    EXPECT_TRUE(ParseJson(std::string(64, '[') + std::string(64, ']')).ok());

    for (const TooDeep& d : TooDeepDocuments()) {
      for (const Status& s : {tape.Parse(d.text), ParseJson(d.text).status(), ScanJsonObject(d.text, members),
                              ScanJsonArray(d.text, elements)}) {
        EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << d.what;
        EXPECT_THAT(s.message(), HasSubstr("nested deeper than 64 levels")) << d.what;
      }
    }
    EXPECT_FALSE(tape.Parse(std::string(65, '[') + std::string(65, ']')).ok());
    EXPECT_FALSE(ParseJson(std::string(65, '[') + std::string(65, ']')).ok());
  });
}

}  // namespace
}  // namespace mesh

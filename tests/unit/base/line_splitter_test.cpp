#include "mesh/base/line_splitter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace base_line_splitter_test {

struct Line {
  std::string text;
  uint64_t dropped = 0;
  bool operator==(const Line&) const = default;
};

void PrintTo(const Line& l, std::ostream* os) {
  *os << "{\"" << l.text << "\", " << l.dropped << "}";
}

// Feeds `chunks` in order, then Finish, and returns every emitted line.
std::vector<Line> Split(size_t max, const std::vector<std::string>& chunks, bool finish = true) {
  LineSplitter splitter(max);
  std::vector<Line> out;
  const auto emit = [&](std::string_view line, uint64_t dropped) {
    out.push_back({std::string(line), dropped});
  };
  for (const std::string& c : chunks) splitter.Feed(c, emit);
  if (finish) splitter.Finish(emit);
  return out;
}

TEST(LineSplitter, SplitsOneChunkIntoLines) {
  EXPECT_EQ(Split(100, {"a\nbb\nccc\n"}), (std::vector<Line>{{"a"}, {"bb"}, {"ccc"}}));
}

TEST(LineSplitter, KeepsEmptyLines) {
  EXPECT_EQ(Split(100, {"\n\na\n\n"}), (std::vector<Line>{{""}, {""}, {"a"}, {""}}));
}

TEST(LineSplitter, JoinsALineAcrossChunkBoundaries) {
  EXPECT_EQ(Split(100, {"hel", "lo wo", "rld\nnext", "\n"}),
            (std::vector<Line>{{"hello world"}, {"next"}}));
  EXPECT_EQ(Split(100, {"a", "\n", "b", "\n"}), (std::vector<Line>{{"a"}, {"b"}}));
}

TEST(LineSplitter, StripsCarriageReturnBeforeNewline) {
  EXPECT_EQ(Split(100, {"a\r\nb\r\n"}), (std::vector<Line>{{"a"}, {"b"}}));
  // Only one trailing '\r' goes, and a '\r' inside the line stays.
  EXPECT_EQ(Split(100, {"a\r\r\nb\rc\n"}), (std::vector<Line>{{"a\r"}, {"b\rc"}}));
}

TEST(LineSplitter, StripsCarriageReturnSplitFromItsNewline) {
  EXPECT_EQ(Split(100, {"abc\r", "\ndef\r", "\n"}), (std::vector<Line>{{"abc"}, {"def"}}));
}

TEST(LineSplitter, CutsAnOverLongLineAndCountsTheDroppedBytes) {
  EXPECT_EQ(Split(4, {"abcdefghij\nok\n"}), (std::vector<Line>{{"abcd", 6}, {"ok"}}));
}

TEST(LineSplitter, CutsAnOverLongLineSpreadOverChunks) {
  EXPECT_EQ(Split(4, {"ab", "cdef", "ghij", "\nxy\n"}), (std::vector<Line>{{"abcd", 6}, {"xy"}}));
}

TEST(LineSplitter, ALineOfExactlyTheLimitIsNotCut) {
  EXPECT_EQ(Split(4, {"abcd\n"}), (std::vector<Line>{{"abcd"}}));
  EXPECT_EQ(Split(4, {"ab", "cd\n"}), (std::vector<Line>{{"abcd"}}));
  EXPECT_EQ(Split(4, {"abcde\n"}), (std::vector<Line>{{"abcd", 1}}));
}

TEST(LineSplitter, StartsFreshAfterACutLine) {
  EXPECT_EQ(Split(3, {"abcdef\n", "gh\n", "ijklmn\n"}),
            (std::vector<Line>{{"abc", 3}, {"gh"}, {"ijk", 3}}));
}

TEST(LineSplitter, FinishEmitsALastLineWithoutNewline) {
  EXPECT_EQ(Split(100, {"a\nlast"}), (std::vector<Line>{{"a"}, {"last"}}));
  EXPECT_EQ(Split(100, {"a\nla", "st\r"}), (std::vector<Line>{{"a"}, {"last"}}));
  EXPECT_EQ(Split(3, {"a\nlonger"}), (std::vector<Line>{{"a"}, {"lon", 3}}));
}

TEST(LineSplitter, FinishEmitsNothingAfterACompleteLine) {
  EXPECT_EQ(Split(100, {"a\n"}), (std::vector<Line>{{"a"}}));
  EXPECT_EQ(Split(100, {}), (std::vector<Line>{}));
  EXPECT_EQ(Split(100, {""}), (std::vector<Line>{}));
}

TEST(LineSplitter, WithoutFinishAPartialLineIsHeldBack) {
  EXPECT_EQ(Split(100, {"a\npartial"}, /*finish=*/false), (std::vector<Line>{{"a"}}));
}

TEST(LineSplitter, ByteAtATimeFeedingGivesTheSameLines) {
  const std::string input = "first\r\nsecond line\n\nthird, much too long for the limit\nlast";
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(Split(12, bytes), Split(12, {input}));
  EXPECT_EQ(Split(12, {input}),
            (std::vector<Line>{{"first"}, {"second line"}, {""}, {"third, much ", 22}, {"last"}}));
}

TEST(LineSplitter, RandomChunkingNeverChangesTheLines) {
  testing::Garbage garbage(9, "\n\n\r\nab");
  std::mt19937_64 engine(10);
  for (int round = 0; round < 300; ++round) {
    const std::string input = garbage.Next(400);
    const size_t max = 1 + engine() % 40;
    std::vector<std::string> chunks;
    for (size_t pos = 0; pos < input.size();) {
      const size_t len = std::min<size_t>(input.size() - pos, engine() % 50);
      chunks.push_back(input.substr(pos, len));
      pos += len;
    }
    const std::vector<Line> whole = Split(max, {input});
    ASSERT_EQ(Split(max, chunks), whole) << "round " << round;
    // Every byte of the input is either in a line, a separator, a stripped '\r' or dropped.
    size_t accounted = 0;
    for (const Line& l : whole) {
      EXPECT_LE(l.text.size(), max);
      accounted += l.text.size() + l.dropped;
    }
    EXPECT_LE(accounted, input.size());
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/base/text_table.h"

#include <gtest/gtest.h>

namespace mesh {
namespace {

TEST(TextTable, AlignsColumnsByCodePointsWithTwoSpaces) {
  EXPECT_EQ(TextTable({{"SERVICE", "P99"}, {"api", "250ms"}, {"café", "1s"}}),
            "SERVICE  P99\n"
            "api      250ms\n"
            "café     1s\n");
  EXPECT_EQ(TextTable({}), "");
}

TEST(TextTable, CellEscapesControlCharactersAndRepairsUtf8) {
  EXPECT_EQ(TableCell("a\tb\n\x1b[31m\x7f"), "a\\x09b\\x0a\\x1b[31m\\x7f");
  EXPECT_EQ(TableCell("ok"), "ok");
  EXPECT_EQ(TableCell(std::string("\xff", 1)).find('\xff'), std::string::npos);
}

TEST(TextTable, ClipCutsLongCellsWithAnEllipsis) {
  EXPECT_EQ(ClipCell("abcdef", 4), "abc…");
  EXPECT_EQ(ClipCell("abcd", 4), "abcd");
  EXPECT_EQ(ClipCell("ééééé", 3), "éé…");
  EXPECT_EQ(DisplayColumns("éé…"), 3u);
}

TEST(TextTable, CsvFieldQuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("plain text"), "plain text");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
}

}  // namespace
}  // namespace mesh

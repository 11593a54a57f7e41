#include "mesh/base/text_table.h"

#include <gtest/gtest.h>

namespace mesh {
namespace base_text_table_test {

TEST(TextTable, AlignsColumnsByCodePointsWithTwoSpaces) {
  EXPECT_EQ(TextTable({{"SERVICE", "P99"}, {"api", "250ms"}, {"café", "1s"}}),
            "SERVICE  P99\n"
            "api      250ms\n"
            "café     1s\n");
  EXPECT_EQ(TextTable({}), "");
}

TEST(TextTable, CellEscapesControlCharactersAndRepairsUtf8) {
  EXPECT_EQ(TableCell("a\tb\n\x1b[31m\x7f"), "a\\tb\\n\\x1b[31m\\x7f");
  EXPECT_EQ(TableCell("\xE2\x80\xAE" "evil\xC2\x9B"), "\\u202eevil\\u009b");
  EXPECT_EQ(TableCell("ok"), "ok");
  EXPECT_EQ(TableCell(std::string("\xff", 1)).find('\xff'), std::string::npos);
}

TEST(TextTable, EscapesCellsTheCallerLeftRaw) {
  const std::string table = TextTable({{"NAME", "X"}, {"a\x1b]52;c;eA==\x07", "\xE2\x80\xAE" "b"}});
  EXPECT_EQ(table.find('\x1b'), std::string::npos) << table;
  EXPECT_EQ(table.find("\xE2\x80\xAE"), std::string::npos) << table;
  EXPECT_EQ(table,
            "NAME                 X\n"
            "a\\x1b]52;c;eA==\\x07  \\u202eb\n");
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

TEST(TextTable, CsvFieldKeepsTerminalControlsExactButAlwaysQuoted) {
  EXPECT_EQ(CsvField("a\x1b[2Jb"), "\"a\x1b[2Jb\"");
  EXPECT_EQ(CsvField("tab\there"), "\"tab\there\"");
  EXPECT_EQ(CsvField("\xE2\x80\xAEx"), "\"\xE2\x80\xAEx\"");
  EXPECT_EQ(CsvField("caf\xC3\xA9"), "caf\xC3\xA9");
}

}  // namespace
}  // namespace mesh

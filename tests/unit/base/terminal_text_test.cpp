#include "mesh/base/terminal_text.h"

#include <gtest/gtest.h>

#include <string>

namespace mesh {
namespace base_terminal_text_test {

// Every byte a terminal acts on: C0, DEL, and the lead bytes of C1 and the bidi overrides.
bool HasTerminalControl(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (TerminalUnsafeLength(std::string_view(s).substr(i)) > 0) return true;
  }
  return false;
}

TEST(TerminalSafe, EscapesLineControlsByName) {
  EXPECT_EQ(TerminalSafe("a\nb\rc\td"), "a\\nb\\rc\\td");
}

TEST(TerminalSafe, MakesEveryEscapeSequenceInert) {
  // OSC 52 (clipboard write), clear screen, window title, cursor up and overwrite.
  EXPECT_EQ(TerminalSafe("\x1b]52;c;ZXZpbA==\x07"), "\\x1b]52;c;ZXZpbA==\\x07");
  EXPECT_EQ(TerminalSafe("\x1b[2J\x1b]0;owned\x1b\\"), "\\x1b[2J\\x1b]0;owned\\x1b\\");
  EXPECT_EQ(TerminalSafe("ok\x1b[1A\rFAIL"), "ok\\x1b[1A\\rFAIL");
  EXPECT_EQ(TerminalSafe(std::string("nul\0del\x7f", 8)), "nul\xEF\xBF\xBD" "del\\x7f");
}

TEST(TerminalSafe, EscapesC1ControlsIncludingTheSingleByteCsi) {
  EXPECT_EQ(TerminalSafe("\xC2\x9B" "31m"), "\\u009b31m");
  EXPECT_EQ(TerminalSafe("\xC2\x85next"), "\\u0085next");
  // A lone 0x9B is not UTF-8: it becomes U+FFFD, never the byte itself.
  EXPECT_EQ(TerminalSafe("\x9B" "2J"), "\xEF\xBF\xBD" "2J");
}

TEST(TerminalSafe, EscapesBidirectionalOverridesAndIsolates) {
  // "Trojan Source": U+202E turns what follows around on the screen.
  EXPECT_EQ(TerminalSafe("user\xE2\x80\xAEnimda"), "user\\u202enimda");
  EXPECT_EQ(TerminalSafe("\xE2\x80\xAA\xE2\x80\xAB\xE2\x80\xAC\xE2\x80\xAD"),
            "\\u202a\\u202b\\u202c\\u202d");
  EXPECT_EQ(TerminalSafe("\xE2\x81\xA6\xE2\x81\xA7\xE2\x81\xA8\xE2\x81\xA9"),
            "\\u2066\\u2067\\u2068\\u2069");
}

TEST(TerminalSafe, KeepsPrintableTextAndItsNeighboursAsTheyAre) {
  EXPECT_EQ(TerminalSafe("café — “ok” … 日本 🙂 \xC2\xA0nbsp \\x1b"),
            "café — “ok” … 日本 🙂 \xC2\xA0nbsp \\x1b");
  EXPECT_EQ(TerminalSafe("\xE2\x80\xA9\xE2\x81\xA5"), "\xE2\x80\xA9\xE2\x81\xA5");  // U+2029, U+2065
}

TEST(TerminalUnsafeLength, NamesOnlyWholeControlSequences) {
  EXPECT_EQ(TerminalUnsafeLength("\x1b[0m"), 1u);
  EXPECT_EQ(TerminalUnsafeLength("\xC2\x9B"), 2u);
  EXPECT_EQ(TerminalUnsafeLength("\xE2\x80\xAE"), 3u);
  EXPECT_EQ(TerminalUnsafeLength("a"), 0u);
  EXPECT_EQ(TerminalUnsafeLength(""), 0u);
  // Invalid or cut sequences are not controls: the JSON writer copies them as they are.
  EXPECT_EQ(TerminalUnsafeLength("\xC2" "8"), 0u);
  EXPECT_EQ(TerminalUnsafeLength("\xC2"), 0u);
  EXPECT_EQ(TerminalUnsafeLength("\xE2\x80"), 0u);
  EXPECT_EQ(TerminalUnsafeLength("\xE2" "8" "\xAE"), 0u);
}

TEST(TerminalSafe, IsIdempotent) {
  const std::string once = TerminalSafe("a\x1b[31m\xE2\x80\xAE\xC2\x9B\n");
  EXPECT_EQ(TerminalSafe(once), once);
}

TEST(TerminalSafe, NeverLetsAControlThroughWhateverTheBytes) {
  // Every one- and two-byte string, and every truncation of hostile sequences.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string s{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_FALSE(HasTerminalControl(TerminalSafe(s))) << a << "," << b;
    }
  }
  const std::string hostile = "\xE2\x80\xAE\xC2\x9B\x1b]52;c;x\x07\xE2\x81\xA6";
  for (size_t n = 0; n <= hostile.size(); ++n) {
    ASSERT_FALSE(HasTerminalControl(TerminalSafe(hostile.substr(0, n)))) << n;
  }
}

}  // namespace
}  // namespace mesh

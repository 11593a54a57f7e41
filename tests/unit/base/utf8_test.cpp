#include "mesh/base/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "test_support.h"

namespace mesh {
namespace base_utf8_test {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Encodes a code point as UTF-8 without any validity check, so tests can build ill-formed
// sequences (surrogates, values past U+10FFFF) the same way.
std::string Encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

std::string Sanitized(std::string_view text, bool* replaced = nullptr) {
  std::string out;
  const bool r = AppendSanitizedUtf8(out, text);
  if (replaced) *replaced = r;
  return out;
}

TEST(Utf8, AcceptsAsciiAndEmptyText) {
  EXPECT_TRUE(IsCleanUtf8(""));
  EXPECT_TRUE(IsCleanUtf8("hello, world\t\n"));
  EXPECT_TRUE(IsCleanUtf8("\x7f"));
}

TEST(Utf8, AcceptsMultiByteSequences) {
  EXPECT_TRUE(IsCleanUtf8("h\xC3\xA9llo"));            // é
  EXPECT_TRUE(IsCleanUtf8("\xE2\x82\xAC"));            // €
  EXPECT_TRUE(IsCleanUtf8("\xF0\x9D\x84\x9E"));        // 𝄞 U+1D11E
  EXPECT_TRUE(IsCleanUtf8("\xF0\x9F\x98\x80 smile"));  // 😀
  EXPECT_TRUE(IsCleanUtf8("\xF4\x8F\xBF\xBF"));        // U+10FFFF, the last code point
  EXPECT_TRUE(IsCleanUtf8("\xED\x9F\xBF"));            // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsCleanUtf8("\xEE\x80\x80"));            // U+E000, just above them
  EXPECT_TRUE(IsCleanUtf8("\xC2\x80"));                // U+0080, the first two-byte one
}

TEST(Utf8, AcceptsEveryScalarValueExceptNul) {
  for (uint32_t cp = 1; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const std::string s = Encode(cp);
    ASSERT_TRUE(IsCleanUtf8(s)) << std::hex << cp;
  }
}

TEST(Utf8, RejectsEverySurrogate) {
  for (uint32_t cp = 0xD800; cp <= 0xDFFF; ++cp) {
    ASSERT_FALSE(IsCleanUtf8(Encode(cp))) << std::hex << cp;
  }
}

TEST(Utf8, RejectsOverlongEncodings) {
  EXPECT_FALSE(IsCleanUtf8("\xC0\x80"));  // NUL in two bytes
  EXPECT_FALSE(IsCleanUtf8("\xC0\xAF"));  // '/' in two bytes
  EXPECT_FALSE(IsCleanUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsCleanUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsCleanUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(IsCleanUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
  EXPECT_FALSE(IsCleanUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(Utf8, RejectsCodePointsPastU10FFFF) {
  EXPECT_FALSE(IsCleanUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsCleanUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsCleanUtf8("\xF7\xBF\xBF\xBF"));
  EXPECT_FALSE(IsCleanUtf8("\xF8\x88\x80\x80\x80"));  // old five-byte form
  EXPECT_FALSE(IsCleanUtf8("\xFE"));
  EXPECT_FALSE(IsCleanUtf8("\xFF"));
}

TEST(Utf8, RejectsTruncatedSequences) {
  for (const std::string full : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9D\x84\x9E"}) {
    for (size_t n = 1; n < full.size(); ++n) {
      EXPECT_FALSE(IsCleanUtf8(full.substr(0, n))) << n;
      EXPECT_FALSE(IsCleanUtf8("a" + full.substr(0, n) + "b")) << n;
    }
  }
  EXPECT_FALSE(IsCleanUtf8("\x80"));  // a lone continuation byte
  EXPECT_FALSE(
      IsCleanUtf8("a\xBF"
                  "b"));
}

TEST(Utf8, RejectsNulBytes) {
  EXPECT_FALSE(IsCleanUtf8(std::string_view("\0", 1)));
  EXPECT_FALSE(IsCleanUtf8(std::string_view("ab\0cd", 5)));
}

TEST(Utf8, SanitizeLeavesCleanTextAloneAndSaysSo) {
  bool replaced = true;
  EXPECT_EQ(Sanitized("h\xC3\xA9llo \xF0\x9F\x98\x80", &replaced), "h\xC3\xA9llo \xF0\x9F\x98\x80");
  EXPECT_FALSE(replaced);
}

TEST(Utf8, SanitizeAppendsRatherThanReplacingTheOutput) {
  std::string out = "prefix:";
  AppendSanitizedUtf8(out, "ok");
  EXPECT_EQ(out, "prefix:ok");
}

TEST(Utf8, SanitizeReplacesNulWithU_FFFD) {
  bool replaced = false;
  EXPECT_EQ(Sanitized(std::string_view("a\0b", 3), &replaced), "a" + kReplacement + "b");
  EXPECT_TRUE(replaced);
}

TEST(Utf8, SanitizeReplacesInvalidBytesWithU_FFFD) {
  EXPECT_EQ(Sanitized("a\xFF"
                      "b"),
            "a" + kReplacement + "b");
  EXPECT_EQ(Sanitized("\xC0\x80"), kReplacement + kReplacement);
  EXPECT_EQ(Sanitized("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);
  // A truncated sequence before valid text does not swallow the text.
  const std::string out = Sanitized(
      "\xE2\x82"
      "ok\xC3\xA9");
  EXPECT_TRUE(IsCleanUtf8(out));
  EXPECT_EQ(out.substr(0, 3), kReplacement);
  EXPECT_EQ(out.substr(out.size() - 4), "ok\xC3\xA9");
}

TEST(Utf8, SanitizedRandomBytesAreAlwaysClean) {
  testing::Garbage garbage(5, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xED\xA0\x80\xF4\x90");
  for (int i = 0; i < 20000; ++i) {
    const std::string text = garbage.Next(32);
    bool replaced = false;
    const std::string out = Sanitized(text, &replaced);
    ASSERT_TRUE(IsCleanUtf8(out));
    // Replacement happens exactly when the input was not clean.
    EXPECT_EQ(replaced, !IsCleanUtf8(text));
    if (!replaced) {
      EXPECT_EQ(out, text);
    }
  }
}

TEST(Utf8, EveryCutOfValidTextSanitizesToCleanText) {
  const std::string full = "a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9Ez";
  for (size_t n = 0; n <= full.size(); ++n) {
    for (size_t start = 0; start <= n; ++start) {
      const std::string cut = full.substr(start, n - start);
      EXPECT_TRUE(IsCleanUtf8(Sanitized(cut)));
    }
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/base/utf8.h"

#include <cstdint>

namespace mesh {
namespace {

// Length of the well-formed sequence starting at text[i], or 0 when it is ill-formed (or NUL).
size_t ValidSequenceLength(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(text[i + k]); };
  const size_t left = text.size() - i;
  const uint8_t c = b(0);
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  const auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

bool IsCleanUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    // ASCII runs are the common case: skip them a byte at a time without the full decode.
    if (static_cast<uint8_t>(text[i]) - 1u < 0x7Fu) {
      ++i;
      continue;
    }
    const size_t n = ValidSequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizedUtf8(std::string_view text) {
  if (IsCleanUtf8(text)) return std::string(text);
  std::string out;
  AppendSanitizedUtf8(out, text);
  return out;
}

bool AppendSanitizedUtf8(std::string& out, std::string_view text) {
  bool replaced = false;
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = ValidSequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      replaced = true;
      ++i;
      continue;
    }
    out.append(text.data() + i, n);
    i += n;
  }
  return replaced;
}

}  // namespace mesh

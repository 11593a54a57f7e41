#include "mesh/base/terminal_text.h"

#include <cstdio>

#include "mesh/base/utf8.h"

namespace mesh {

size_t TerminalUnsafeLength(std::string_view text) {
  if (text.empty()) return 0;
  const auto b0 = static_cast<unsigned char>(text[0]);
  if (b0 < 0x20 || b0 == 0x7f) return 1;
  // U+0080-U+009F: C2 80 .. C2 9F (a C2 before anything but a continuation byte is not one).
  if (b0 == 0xc2 && text.size() >= 2 && static_cast<unsigned char>(text[1]) >= 0x80 &&
      static_cast<unsigned char>(text[1]) <= 0x9f) {
    return 2;
  }
  if (b0 == 0xe2 && text.size() >= 3) {
    const auto b1 = static_cast<unsigned char>(text[1]);
    const auto b2 = static_cast<unsigned char>(text[2]);
    if (b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) return 3;  // U+202A-U+202E
    if (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9) return 3;  // U+2066-U+2069
  }
  return 0;
}

void AppendTerminalEscape(std::string& out, std::string_view text, size_t length) {
  char buf[8];
  const auto b0 = static_cast<unsigned char>(text[0]);
  if (length == 1) {
    switch (b0) {
      case '\n': out += "\\n"; return;
      case '\r': out += "\\r"; return;
      case '\t': out += "\\t"; return;
      default: std::snprintf(buf, sizeof buf, "\\x%02x", b0); out += buf; return;
    }
  }
  unsigned code = 0;
  if (length == 2) {
    code = ((b0 & 0x1fu) << 6) | (static_cast<unsigned char>(text[1]) & 0x3fu);
  } else {
    code = ((b0 & 0x0fu) << 12) | ((static_cast<unsigned char>(text[1]) & 0x3fu) << 6) |
           (static_cast<unsigned char>(text[2]) & 0x3fu);
  }
  std::snprintf(buf, sizeof buf, "\\u%04x", code);
  out += buf;
}

void AppendTerminalSafe(std::string& out, std::string_view text) {
  const std::string clean = SanitizedUtf8(text);
  const std::string_view rest(clean);
  for (size_t i = 0; i < rest.size();) {
    const size_t unsafe = TerminalUnsafeLength(rest.substr(i));
    if (unsafe == 0) {
      out += rest[i++];
      continue;
    }
    AppendTerminalEscape(out, rest.substr(i), unsafe);
    i += unsafe;
  }
}

std::string TerminalSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendTerminalSafe(out, text);
  return out;
}

}  // namespace mesh

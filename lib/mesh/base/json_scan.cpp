#include "mesh/base/json_scan.h"

#include "mesh/base/json_tape.h"

#include <cstdint>

namespace mesh {
namespace {

unsigned HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

void AppendCodePoint(std::string& out, uint32_t cp) {
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
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
}

}  // namespace

// Both scans are one tape pass: the tape validates and delimits every value once.
Status ScanJsonObject(std::string_view text, std::vector<JsonMember>& members) {
  members.clear();
  thread_local JsonTape tape;
  if (Status s = tape.Parse(text); !s.ok()) return s;
  if (tape.node(tape.root()).kind != JsonKind::kObject) {
    return Status::InvalidArgument("invalid JSON at column 1: expected '{' (a JSON object)");
  }
  tape.ForEachChild(tape.root(), [&](uint32_t c) {
    const JsonTape::Node& n = tape.node(c);
    members.push_back({n.key, n.raw, n.kind, n.key_escaped});
  });
  return Status::Ok();
}

Status ScanJsonArray(std::string_view text, std::vector<std::string_view>& elements) {
  elements.clear();
  thread_local JsonTape tape;
  if (Status s = tape.Parse(text); !s.ok()) return s;
  if (tape.node(tape.root()).kind != JsonKind::kArray) {
    return Status::InvalidArgument("invalid JSON at column 1: expected '[' (a JSON array)");
  }
  tape.ForEachChild(tape.root(), [&](uint32_t c) { elements.push_back(tape.node(c).raw); });
  return Status::Ok();
}

std::string UnescapeJsonString(std::string_view e) {
  std::string out;
  out.reserve(e.size());
  size_t i = 0;
  while (i < e.size()) {
    const size_t backslash = e.find('\\', i);
    if (backslash == std::string_view::npos) {
      out.append(e.substr(i));
      break;
    }
    out.append(e.substr(i, backslash - i));
    i = backslash + 1;
    if (i >= e.size()) break;
    const char c = e[i++];
    switch (c) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        if (i + 4 > e.size()) return out;
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) cp = cp << 4 | HexValue(e[i + k]);
        i += 4;
        // A high surrogate followed by \u low surrogate is one code point.
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= e.size() && e[i] == '\\' && e[i + 1] == 'u') {
          uint32_t low = 0;
          for (int k = 0; k < 4; ++k) low = low << 4 | HexValue(e[i + 2 + k]);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        AppendCodePoint(out, cp);
        break;
      }
      default: out += c;  // \" \\ \/
    }
  }
  return out;
}

}  // namespace mesh

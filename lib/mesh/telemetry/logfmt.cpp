#include "mesh/telemetry/logfmt.h"

#include <cstdio>

#include "mesh/base/terminal_text.h"
#include "mesh/base/utf8.h"

namespace mesh {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (static_cast<unsigned char>(c) <= ' ' || c == '=' || c == '"' || c == '\\') return true;
    if (TerminalUnsafeLength(v.substr(i)) > 0) return true;
  }
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `digits` hex digits at line[i], or -1.
long HexAt(std::string_view line, size_t i, size_t digits) {
  if (i + digits > line.size()) return -1;
  long v = 0;
  for (size_t k = 0; k < digits; ++k) {
    const int d = HexDigit(line[i + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

void AppendCodePoint(std::string& out, long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

Result<LogfmtPairs> ParseLogfmt(std::string_view line) {
  LogfmtPairs pairs;
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && IsSpace(line[i])) ++i;
    if (i >= n) break;
    if (line[i] == '=' || line[i] == '"') {
      return Status::InvalidArgument("logfmt: unexpected '" + std::string(1, line[i]) +
                                     "' at column " + std::to_string(i + 1));
    }
    const size_t key_start = i;
    while (i < n && !IsSpace(line[i]) && line[i] != '=') ++i;
    std::string key(line.substr(key_start, i - key_start));
    std::string value;
    if (i < n && line[i] == '=') {
      ++i;
      if (i < n && line[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\' && i < n) {
            const char e = line[i++];
            // \xNN and \uNNNN are what AppendLogfmtPair writes for control characters; a
            // surrogate is not a character, so it reads as the text it is.
            const long code = e == 'x' ? HexAt(line, i, 2) : e == 'u' ? HexAt(line, i, 4) : -1;
            if (code >= 0 && (code < 0xd800 || code > 0xdfff)) {
              AppendCodePoint(value, code);
              i += e == 'x' ? 2 : 4;
              continue;
            }
            switch (e) {
              case 'n': value += '\n'; break;
              case 't': value += '\t'; break;
              case 'r': value += '\r'; break;
              default: value += e;
            }
            continue;
          }
          value += c;
        }
        if (!closed) {
          return Status::InvalidArgument("logfmt: unterminated quoted value for key '" + key + "'");
        }
      } else {
        const size_t value_start = i;
        while (i < n && !IsSpace(line[i])) ++i;
        value = std::string(line.substr(value_start, i - value_start));
      }
    }
    pairs.emplace_back(std::move(key), std::move(value));
  }
  if (pairs.empty()) return Status::InvalidArgument("logfmt: empty line");
  return pairs;
}

void AppendLogfmtPair(std::string& out, std::string_view key, std::string_view value) {
  // A key cannot be quoted: what would end it or act on a terminal is written as an escape,
  // and an empty one as "_" (a line starting with '=' does not parse).
  const std::string clean_key = key.empty() ? "_" : SanitizedUtf8(key);
  const std::string_view k(clean_key);
  for (size_t i = 0; i < k.size();) {
    const char c = k[i];
    if (c == ' ' || c == '=' || c == '"') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
      ++i;
    } else if (const size_t unsafe = TerminalUnsafeLength(k.substr(i)); unsafe > 0) {
      AppendTerminalEscape(out, k.substr(i), unsafe);
      i += unsafe;
    } else {
      out += k[i++];
    }
  }
  out += '=';
  const std::string clean = SanitizedUtf8(value);
  const std::string_view v(clean);
  if (!NeedsQuotes(v)) {
    out.append(v);
    return;
  }
  out += '"';
  for (size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
      ++i;
    } else if (const size_t unsafe = TerminalUnsafeLength(v.substr(i)); unsafe > 0) {
      AppendTerminalEscape(out, v.substr(i), unsafe);
      i += unsafe;
    } else {
      out += v[i++];
    }
  }
  out += '"';
}

}  // namespace mesh

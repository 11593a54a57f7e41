#include "mesh/telemetry/logfmt.h"

namespace mesh {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '=' || c == '"' || c == '\\') return true;
  }
  return false;
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
  out.append(key);
  out += '=';
  if (!NeedsQuotes(value)) {
    out.append(value);
    return;
  }
  out += '"';
  for (char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  out += '"';
}

}  // namespace mesh

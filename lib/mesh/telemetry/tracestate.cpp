#include "mesh/telemetry/tracestate.h"

#include <algorithm>
#include <vector>

#include "mesh/base/utf8.h"

namespace mesh {
namespace {

constexpr size_t kMaxSimpleKey = 256;
constexpr size_t kMaxTenant = 241;
constexpr size_t kMaxSystem = 14;
constexpr size_t kMaxValue = 256;

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsKeyChar(char c) { return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/'; }

// `first` checks the first character; the others are key characters. 1..max long.
bool IsKeyPart(std::string_view s, size_t max, bool (*first)(char)) {
  if (s.empty() || s.size() > max || !first(s.front())) return false;
  return std::all_of(s.begin() + 1, s.end(), IsKeyChar);
}

bool IsValidKey(std::string_view key) {
  const size_t at = key.find('@');
  if (at == std::string_view::npos) return IsKeyPart(key, kMaxSimpleKey, IsLcAlpha);
  return IsKeyPart(key.substr(0, at), kMaxTenant, [](char c) { return IsLcAlpha(c) || IsDigit(c); }) &&
         IsKeyPart(key.substr(at + 1), kMaxSystem, IsLcAlpha);
}

// chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; the last one not a space.
bool IsValidValue(std::string_view value) {
  if (value.empty() || value.size() > kMaxValue || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Invalid(std::string_view member, const std::string& why) {
  return Status::InvalidArgument("invalid tracestate member '" + SanitizedUtf8(member.substr(0, 80)) + "': " + why);
}

}  // namespace

Result<std::string> CombineTraceState(std::span<const std::string_view> lines) {
  std::vector<std::string_view> keys;
  std::string out;
  for (std::string_view line : lines) {
    for (;;) {
      const size_t comma = line.find(',');
      const std::string_view member = TrimOws(line.substr(0, comma));
      line = comma == std::string_view::npos ? std::string_view() : line.substr(comma + 1);
      if (!member.empty()) {
        const size_t eq = member.find('=');
        if (eq == std::string_view::npos) return Invalid(member, "expected key=value");
        const std::string_view key = member.substr(0, eq);
        if (!IsValidKey(key)) return Invalid(member, "the key is not a valid tracestate key");
        if (!IsValidValue(member.substr(eq + 1))) {
          return Invalid(member, "the value must be 1-256 printable characters other than ',' and '='");
        }
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) return Invalid(member, "the key comes twice");
        if (keys.size() == kMaxTraceStateMembers) {
          return Status::InvalidArgument("invalid tracestate: more than 32 list members");
        }
        keys.push_back(key);
        if (!out.empty()) out += ',';
        out.append(member);
      }
      if (comma == std::string_view::npos) break;
    }
  }
  return out;
}

}  // namespace mesh

#include "mesh/security/policy_path.h"

#include <algorithm>
#include <cstdint>

#include "mesh/base/utf8.h"

namespace mesh {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

Status Ambiguous(std::string_view path, const std::string& why) {
  return Status::InvalidArgument("ambiguous path " + std::string(path.substr(0, 200)) + ": " + why);
}

// The reason an escaped byte makes a path ambiguous, or nullptr: it names a separator or a
// delimiter some server will act on once decoded, or a byte no path should carry.
const char* AmbiguousEscape(uint8_t byte) {
  switch (byte) {
    case '/': return "an encoded '/' (%2F)";
    case '\\': return "an encoded '\\' (%5C)";
    case '%': return "an encoded '%' (%25: double encoding)";
    case ';': return "an encoded ';' (%3B)";
    case '?': return "an encoded '?' (%3F)";
    case '#': return "an encoded '#' (%23)";
    default: break;
  }
  if (byte < 0x20 || byte == 0x7F) return "an encoded control byte";
  return nullptr;
}

// Why the decoded segments are ambiguous, or nullptr.
const char* AmbiguousSegments(std::string_view decoded) {
  // decoded starts with '/': each segment follows a '/'.
  for (size_t start = 1; start <= decoded.size();) {
    const size_t end = std::min(decoded.find('/', start), decoded.size());
    const std::string_view segment = decoded.substr(start, end - start);
    if (segment == "." || segment == "..") return "a '.' or '..' segment";
    if (segment.empty() && end < decoded.size()) return "an empty segment ('//')";
    start = end + 1;
  }
  return nullptr;
}

}  // namespace

Result<std::string> CanonicalPolicyPath(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.empty() || path.front() != '/') return Ambiguous(path, "it does not start with '/'");
  std::string out;
  out.reserve(path.size());
  std::string high_run;  // consecutive escaped bytes above 0x7F: must be one well-formed UTF-8 text
  const auto end_high_run = [&]() -> bool {
    const bool ok = IsCleanUtf8(high_run);
    high_run.clear();
    return ok;
  };
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<uint8_t>(path[i]);
    if (c == '%') {
      const int hi = i + 2 < path.size() ? HexValue(path[i + 1]) : -1;
      const int lo = i + 2 < path.size() ? HexValue(path[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Ambiguous(path, "a '%' not followed by two hex digits");
      const auto byte = static_cast<uint8_t>(hi * 16 + lo);
      i += 2;
      if (const char* why = AmbiguousEscape(byte)) return Ambiguous(path, why);
      if (byte >= 0x80) {
        high_run.push_back(static_cast<char>(byte));
      } else if (!high_run.empty() && !end_high_run()) {
        return Ambiguous(path, "escaped bytes that are not well-formed UTF-8");
      }
      if (IsUnreserved(byte)) {
        out.push_back(static_cast<char>(byte));
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        out.push_back('%');
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 15]);
      }
      continue;
    }
    if (!high_run.empty() && !end_high_run()) return Ambiguous(path, "escaped bytes that are not well-formed UTF-8");
    if (c == ';') return Ambiguous(path, "a ';' (path parameters)");
    if (c == '\\') return Ambiguous(path, "a '\\'");
    if (c == '#') return Ambiguous(path, "a '#'");
    if (c < 0x21 || c >= 0x7F) return Ambiguous(path, "a control, space or non-ASCII byte (not percent-encoded)");
    out.push_back(static_cast<char>(c));
  }
  if (!high_run.empty() && !end_high_run()) return Ambiguous(path, "escaped bytes that are not well-formed UTF-8");
  if (const char* why = AmbiguousSegments(out)) return Ambiguous(path, why);
  return out;
}

Result<PathPrefix> PathPrefix::Parse(std::string_view rule) {
  PathPrefix p;
  p.text_ = std::string(rule);
  if (rule.empty() || rule.front() != '/') return Status::InvalidArgument("'" + p.text_ + "' must start with '/'");
  if (rule.find('?') != std::string_view::npos) {
    return Status::InvalidArgument("'" + p.text_ + "' holds a '?': a path prefix has no query");
  }
  std::string_view path = rule;
  if (path.ends_with('*')) {
    p.by_characters_ = true;
    path.remove_suffix(1);
  }
  if (path.find('*') != std::string_view::npos) {
    return Status::InvalidArgument("'" + p.text_ + "': '*' is allowed only last (match by characters)");
  }
  Result<std::string> canonical = CanonicalPolicyPath(path);
  if (!canonical.ok()) return Status::InvalidArgument("'" + p.text_ + "': " + canonical.status().message());
  p.canonical_ = std::move(canonical).value();
  return p;
}

bool PathPrefix::Matches(std::string_view canonical_path) const {
  if (!canonical_path.starts_with(canonical_)) return false;
  if (by_characters_ || canonical_.ends_with('/')) return true;
  return canonical_path.size() == canonical_.size() || canonical_path[canonical_.size()] == '/';
}

}  // namespace mesh

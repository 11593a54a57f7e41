#include "mesh/http/entity_tag.h"

namespace mesh {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The quoted part of a tag, without W/: what weak comparison compares.
std::string_view Opaque(std::string_view tag) {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

}  // namespace

std::string WeakEntityTag(std::string_view opaque) { return "W/\"" + std::string(opaque) + "\""; }

bool IfNoneMatchHits(std::string_view header, std::string_view etag, bool exists) {
  header = Trim(header);
  if (header == "*") return exists;
  const std::string_view wanted = Opaque(etag);
  while (!header.empty()) {
    const size_t comma = header.find(',');
    const std::string_view tag = Trim(header.substr(0, comma));
    const std::string_view quoted = Opaque(tag);
    // A tag is a quoted string; anything else makes the list malformed.
    if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"' ||
        quoted.substr(1, quoted.size() - 2).find('"') != std::string_view::npos) {
      return false;
    }
    if (quoted == wanted) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace mesh

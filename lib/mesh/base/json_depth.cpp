#include "mesh/base/json_depth.h"

#include <string>

namespace mesh {

Status JsonTooDeep(size_t offset) {
  return Status::InvalidArgument("invalid JSON at column " + std::to_string(offset + 1) + ": nested deeper than " +
                                 std::to_string(kMaxJsonDepth) + " levels");
}

Status CheckJsonDepth(std::string_view text) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
      case '"':
        // Brackets inside a string are text; a backslash escapes the byte after it.
        for (++i; i < text.size() && text[i] != '"'; ++i) {
          if (text[i] == '\\') ++i;
        }
        break;
      case '[':
      case '{':
        if (++depth > kMaxJsonDepth) return JsonTooDeep(i);
        break;
      case ']':
      case '}':
        // Never below zero: a stray closer must not buy room for openers after it (the parser
        // refuses such text anyway, but the bound must not depend on where it stops reading).
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

}  // namespace mesh

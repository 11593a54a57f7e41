// JSON object scanning without building a tree: the ingest fast path.
//
// ScanJsonObject validates one JSON object completely (RFC 8259 grammar, nesting limited to
// kMaxJsonDepth levels, json_depth.h) and reports its top-level members as views into the
// input: the key and the raw text of each value. Values that are kept as attributes are copied
// byte for byte, so numbers keep every digit (2^64+1, 0.1) and nothing is re-serialised.
// Measured on log lines it is several times faster than building a Json::Value, which is what
// lets ingest keep up with SQLite.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"

namespace mesh {

enum class JsonKind { kString, kNumber, kTrue, kFalse, kNull, kObject, kArray };

struct JsonMember {
  std::string_view key;    // between the quotes, still escaped
  std::string_view value;  // the raw value text; for strings, including the quotes
  JsonKind kind;
  bool key_escaped;        // the key holds a backslash escape
};

// Replaces `members` with the top-level members of `text`, which must be one JSON object
// with nothing but whitespace around it. Errors: InvalidArgument naming the column.
Status ScanJsonObject(std::string_view text, std::vector<JsonMember>& members);

// Replaces `elements` with the raw text of each element of `text`, which must be one JSON
// array with nothing but whitespace around it. Errors: InvalidArgument naming the column.
Status ScanJsonArray(std::string_view text, std::vector<std::string_view>& elements);

// Decodes the text between the quotes of a validated JSON string. NUL (\u0000) and unpaired
// surrogates become U+FFFD.
std::string UnescapeJsonString(std::string_view escaped);

// The decoded value of a kString member (its raw value includes the quotes).
inline std::string StringValue(const JsonMember& m) {
  return UnescapeJsonString(m.value.substr(1, m.value.size() - 2));
}

}  // namespace mesh

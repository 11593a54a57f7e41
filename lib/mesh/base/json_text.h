// JSON text helpers over jsoncpp, internal to the library (public headers speak std::string).
//
// The writer is ours rather than jsoncpp's StreamWriter for two reasons: it is several times
// faster on the ingest path, and it prints doubles in their shortest round-trip form
// (0.1 stays 0.1, not 0.10000000000000001). Pure functions, thread-safe.
#pragma once

#include <json/value.h>

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

// Appends s as a quoted JSON string. s must be valid UTF-8 (see utf8.h); control characters,
// quotes and backslashes are escaped.
void AppendJsonString(std::string& out, std::string_view s);
// The shortest text that reads back as the same double, always with a fraction or exponent so
// that it stays a double; NaN and infinities, which JSON lacks, as null.
void AppendJsonDouble(std::string& out, double d);

// Appends v as compact JSON. Non-finite doubles become null.
void AppendJsonValue(std::string& out, const Json::Value& v);

// Parses one JSON document; trailing garbage is an error, and so is nesting past kMaxJsonDepth
// (json_depth.h), refused before jsoncpp recurses. The message says where it failed.
Result<Json::Value> ParseJson(std::string_view text);

}  // namespace mesh

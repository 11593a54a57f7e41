// W3C Trace Context `tracestate`: the vendors' list of key=value members that travels with a
// traceparent. A proxy that keeps the caller's traceparent passes the list on; this checks and
// normalises it as the specification's test suite (w3c/trace-context test/test.py, strict level
// 2) expects of a participant that adds no member of its own:
// - the header's lines are one list, combined in order (empty lines and empty members ignored,
//   optional whitespace around members removed);
// - a key is a simple key (lcalpha, then up to 255 of lcalpha, DIGIT, `_ - * /`) or a tenant key
//   `tenant@system` (tenant: lcalpha or DIGIT then up to 240 more; system: lcalpha then up to
//   13 more); a value is 1 to 256 printable ASCII characters except `,` and `=`, not ending in a
//   space;
// - a list with an invalid member, a key twice, or more than 32 members is invalid as a whole and
//   discarded (the spec's rule for a list that cannot be parsed; mesh adds no member, so it
//   never has a list to truncate).
// Pure.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

inline constexpr size_t kMaxTraceStateMembers = 32;

// The list to pass on: its members joined by ",", "" when there are none. Errors:
// InvalidArgument naming what is wrong (the caller then drops tracestate).
Result<std::string> CombineTraceState(std::span<const std::string_view> lines);

}  // namespace mesh

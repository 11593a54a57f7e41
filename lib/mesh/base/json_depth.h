// The one nesting bound for JSON that comes from outside: request bodies, configuration and
// policy files, answers from meshd. Every parser of such text refuses a document in which more
// than kMaxJsonDepth arrays and objects are open at once, before it recurses, so a small body
// of "[[[[..." cannot exhaust a server thread's stack whatever that stack's size; code that
// walks a parsed document recursively may then recurse once per level. Real payloads stay far
// below the bound (OTLP spans: 14 levels; with nested AnyValue attributes, 20; docs/security.md).
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

inline constexpr int kMaxJsonDepth = 64;

// The error every parser returns past the bound: InvalidArgument
// "invalid JSON at column N: nested deeper than 64 levels", N counting bytes from 1.
Status JsonTooDeep(size_t offset);

// OK when no byte of `text` lies inside more than kMaxJsonDepth open arrays and objects,
// otherwise JsonTooDeep at the bracket that opens one too many. One iterative pass that knows
// only strings and brackets: it does not validate the rest, which the parser does after it.
Status CheckJsonDepth(std::string_view text);

}  // namespace mesh

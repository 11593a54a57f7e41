// W3C Trace Context `traceparent` header: "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>".
// Parsing follows the specification: lowercase hex only, all-zero ids invalid, version "ff"
// invalid; a version above 00 is accepted when its first four fields parse (later fields are
// ignored), a version-00 header with trailing data is invalid. Pure.
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

struct TraceParent {
  std::string trace_id;  // 32 lowercase hex
  std::string span_id;   // 16 lowercase hex: the caller's span
  bool sampled = true;   // flag 01
};

// Errors: InvalidArgument naming what is wrong.
Result<TraceParent> ParseTraceParent(std::string_view header);
// Always version 00.
std::string FormatTraceParent(const TraceParent& parent);
// The same, appended to `out` from ids the caller already holds (no TraceParent to build).
void AppendTraceParent(std::string& out, std::string_view trace_id, std::string_view span_id, bool sampled);

}  // namespace mesh

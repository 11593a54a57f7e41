// What a trace search asks for (TraceFilter) and what it answers per trace (TraceSummary):
// the values meshtrace list, meshd's GET /v1/traces and the span store share. Plain values,
// thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mesh {

// A span attribute (or resource attribute) of this key whose value, written as text, is this
// value: the string itself, a number as JSON writes it, true or false.
struct AttributeMatch {
  std::string key;
  std::string value;
};

struct TraceFilter {
  std::string service;    // traces with a span of this service
  std::string operation;  // ... with this span name
  std::optional<int64_t> min_duration_ns;  // ... lasting at least this long
  std::optional<int64_t> max_duration_ns;
  bool errors_only = false;                // traces with an error span
  std::optional<AttributeMatch> attribute;  // ... with a span carrying this attribute value
  std::string trace_id_prefix;             // traces whose id starts so (lowercase hex)
  std::optional<int64_t> since_ns;
  std::optional<int64_t> until_ns;
};

struct TraceSummary {
  std::string trace_id;
  int64_t start_ns = 0;
  int64_t duration_ns = 0;  // first start to last end
  std::string root_service;
  std::string root_name;
  int64_t span_count = 0;
  std::vector<std::string> services;
  bool has_error = false;
};

}  // namespace mesh

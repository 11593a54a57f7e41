// What both OTLP fuzz targets (JSON: otlp_fuzzer, protobuf: otlp_proto_fuzzer) assert of a
// decoded span or log record: what the store may hold (valid ids, non-negative times, clean
// UTF-8, attributes, events and links as JSON of the right shape), and the comparison of what
// was decoded with what decodes from it encoded again.
#pragma once

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_check.h"
#include "mesh/base/json_scan.h"
#include "mesh/base/json_tape.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/span.h"

namespace otlp_invariants {

// Empty, or one JSON value of `kind`.
inline bool IsEmptyOrJson(const std::string& text, mesh::JsonKind kind) {
  if (text.empty()) return true;
  mesh::JsonTape tape;
  return tape.Parse(text).ok() && tape.node(tape.root()).kind == kind;
}

inline auto Fields(const mesh::Span& s) {
  return std::tie(s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.service, s.name, s.kind,
                  s.start_ns, s.duration_ns, s.status, s.status_message, s.attributes, s.events,
                  s.resource, s.scope, s.scope_version, s.scope_attributes, s.links);
}

inline auto Fields(const mesh::LogRecord& r) {
  return std::tie(r.ts_ns, r.service, r.level, r.message, r.trace_id, r.span_id, r.attributes);
}

// The encoders group by resource (and scope), so the order may change: compare sorted.
template <typename T>
bool SameElements(std::vector<T> a, std::vector<T> b) {
  const auto less = [](const T& x, const T& y) { return Fields(x) < Fields(y); };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const T& x, const T& y) { return Fields(x) == Fields(y); });
}

inline void CheckSpan(const mesh::Span& s) {
  FUZZ_CHECK(mesh::IsValidTraceId(s.trace_id));
  FUZZ_CHECK(mesh::IsValidSpanId(s.span_id));
  FUZZ_CHECK(s.parent_span_id.empty() || mesh::IsValidSpanId(s.parent_span_id));
  FUZZ_CHECK(s.start_ns >= 0 && s.duration_ns >= 0);
  FUZZ_CHECK(static_cast<int>(s.kind) >= 0 && static_cast<int>(s.kind) <= 5);
  FUZZ_CHECK(static_cast<int>(s.status) >= 0 && static_cast<int>(s.status) <= 2);
  for (const std::string* text : {&s.trace_state, &s.service, &s.name, &s.status_message, &s.attributes,
                                  &s.events, &s.resource, &s.scope, &s.scope_version}) {
    FUZZ_CHECK(mesh::IsCleanUtf8(*text));
  }
  FUZZ_CHECK(IsEmptyOrJson(s.attributes, mesh::JsonKind::kObject));
  FUZZ_CHECK(IsEmptyOrJson(s.resource, mesh::JsonKind::kObject));
  FUZZ_CHECK(IsEmptyOrJson(s.scope_attributes, mesh::JsonKind::kObject));
  FUZZ_CHECK(IsEmptyOrJson(s.events, mesh::JsonKind::kArray));
  FUZZ_CHECK(IsEmptyOrJson(s.links, mesh::JsonKind::kArray));
}

inline void CheckRecord(const mesh::LogRecord& r) {
  FUZZ_CHECK(r.trace_id.empty() || mesh::IsValidTraceId(r.trace_id));
  FUZZ_CHECK(r.span_id.empty() || mesh::IsValidSpanId(r.span_id));
  FUZZ_CHECK(r.span_id.empty() || !r.trace_id.empty());
  FUZZ_CHECK(r.ts_ns >= 0);
  FUZZ_CHECK(mesh::IsCleanUtf8(r.service) && mesh::IsCleanUtf8(r.message) && mesh::IsCleanUtf8(r.attributes));
  FUZZ_CHECK(IsEmptyOrJson(r.attributes, mesh::JsonKind::kObject));
}

}  // namespace otlp_invariants

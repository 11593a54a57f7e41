// Span: one timed operation of a trace, in the OpenTelemetry model (what OTLP carries and what
// the store keeps). Attributes, events and resource attributes are compact JSON text with
// plain JSON values (strings, numbers, booleans, arrays, objects); a double always keeps a
// fraction or exponent so it reads back as a double. Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

enum class SpanKind : int {  // OTLP numbering
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

enum class SpanStatus : int { kUnset = 0, kOk = 1, kError = 2 };

struct Span {
  std::string trace_id;        // 32 lowercase hex
  std::string span_id;         // 16 lowercase hex
  std::string parent_span_id;  // empty for a root
  std::string trace_state;
  std::string service;         // resource attribute service.name
  std::string name;
  SpanKind kind = SpanKind::kUnspecified;
  int64_t start_ns = 0;
  int64_t duration_ns = 0;
  SpanStatus status = SpanStatus::kUnset;
  std::string status_message;
  std::string attributes;  // JSON object, or empty
  std::string events;      // JSON array of {"time_ns":N,"name":S,"attributes":{...}}, or empty
  // JSON array of {"trace_id":T,"span_id":S,"trace_state":TS (when set),"attributes":{...}}:
  // the spans this one links to (OTLP span links), or empty.
  std::string links;
  std::string resource;    // JSON object of the other resource attributes, or empty
  std::string scope;       // instrumentation scope name
  std::string scope_version;     // its version, or empty
  std::string scope_attributes;  // JSON object of its attributes, or empty
};

std::string_view SpanKindName(SpanKind kind);  // "SERVER", "CLIENT", ...

}  // namespace mesh

namespace mesh {

// Appends the span as our JSON API shows it: ids, service, name, kind and status by name,
// start (RFC 3339) and start_ns, duration_ns, attributes, events, links, resource.
void AppendJson(std::string& out, const Span& span);

// Decodes one object of that form (a line of `meshtrace export --format jsonl`) back into an
// equal span. Errors: InvalidArgument naming the field (bad ids, missing start_ns, unknown
// kind or status name, attributes that are not an object, ...).
Result<Span> DecodeSpanJson(std::string_view json);

}  // namespace mesh

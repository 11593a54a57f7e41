#include "mesh/span.h"

#include "mesh/json_text.h"
#include "mesh/time_format.h"

namespace mesh {

std::string_view SpanKindName(SpanKind kind) {
  switch (kind) {
    case SpanKind::kUnspecified: return "UNSPECIFIED";
    case SpanKind::kInternal: return "INTERNAL";
    case SpanKind::kServer: return "SERVER";
    case SpanKind::kClient: return "CLIENT";
    case SpanKind::kProducer: return "PRODUCER";
    case SpanKind::kConsumer: return "CONSUMER";
  }
  return "UNSPECIFIED";
}

void AppendJson(std::string& out, const Span& s) {
  const auto field = [&](const char* name, const std::string& value) {
    out += ",\"";
    out += name;
    out += "\":";
    AppendJsonString(out, value);
  };
  const auto raw = [&](const char* name, const std::string& json, const char* empty) {
    out += ",\"";
    out += name;
    out += "\":";
    out += json.empty() ? empty : json;
  };
  out += "{\"trace_id\":";
  AppendJsonString(out, s.trace_id);
  field("span_id", s.span_id);
  field("parent_span_id", s.parent_span_id);
  field("service", s.service);
  field("name", s.name);
  field("kind", std::string(SpanKindName(s.kind)));
  field("start", FormatRfc3339(s.start_ns));
  out += ",\"start_ns\":" + std::to_string(s.start_ns);
  out += ",\"duration_ns\":" + std::to_string(s.duration_ns);
  static constexpr const char* kStatus[] = {"UNSET", "OK", "ERROR"};
  field("status", kStatus[static_cast<int>(s.status)]);
  if (!s.status_message.empty()) field("status_message", s.status_message);
  if (!s.trace_state.empty()) field("trace_state", s.trace_state);
  if (!s.scope.empty()) field("scope", s.scope);
  raw("attributes", s.attributes, "{}");
  raw("events", s.events, "[]");
  raw("resource", s.resource, "{}");
  out += '}';
}

}  // namespace mesh

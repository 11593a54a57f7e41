#include "mesh/telemetry/span.h"

#include <cctype>
#include <charconv>
#include <vector>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"

namespace mesh {
namespace {

constexpr const char* kStatusNames[] = {"UNSET", "OK", "ERROR"};

Status FieldError(std::string_view field, const std::string& why) {
  return Status::InvalidArgument("span field " + std::string(field) + ": " + why);
}

std::string Printable(std::string_view raw) { return SanitizedUtf8(raw.substr(0, 64)); }

Result<std::string> ReadString(const JsonMember& m, std::string_view field) {
  if (m.kind != JsonKind::kString)
    return FieldError(field, "expected a string, got " + Printable(m.value));
  return StringValue(m);
}

// Ids are written lowercase; hand-edited lines may not be.
Status ReadId(const JsonMember& m, std::string_view field, bool (*valid)(std::string_view),
              const char* expected, bool may_be_empty, std::string* id) {
  Result<std::string> text = ReadString(m, field);
  if (!text.ok()) return text.status();
  for (char& c : *text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!(may_be_empty && text->empty()) && !valid(*text)) {
    return FieldError(field,
                      "expected " + std::string(expected) + ", got '" + Printable(*text) + "'");
  }
  *id = std::move(text).value();
  return Status::Ok();
}

Status ReadInt(const JsonMember& m, std::string_view field, int64_t* out) {
  const std::string_view v = m.value;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (m.kind != JsonKind::kNumber || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
    return FieldError(field, "expected a 64-bit integer, got " + Printable(v));
  }
  return Status::Ok();
}

// AppendJson writes {} and [] for what the span leaves empty; an empty container reads back
// as empty so that the round trip gives an equal span.
Status ReadObject(const JsonMember& m, std::string_view field, std::string* out) {
  std::vector<JsonMember> members;
  if (m.kind != JsonKind::kObject || !ScanJsonObject(m.value, members).ok()) {
    return FieldError(field, "expected a JSON object, got " + Printable(m.value));
  }
  *out = members.empty() ? std::string() : std::string(m.value);
  return Status::Ok();
}

// An array of objects: events, links.
Status ReadObjects(const JsonMember& m, std::string_view field, std::string* out) {
  std::vector<std::string_view> elements;
  if (m.kind != JsonKind::kArray || !ScanJsonArray(m.value, elements).ok()) {
    return FieldError(field, "expected a JSON array, got " + Printable(m.value));
  }
  for (std::string_view e : elements) {
    if (e.front() != '{') return FieldError(field, "expected objects, got " + Printable(e));
  }
  *out = elements.empty() ? std::string() : std::string(m.value);
  return Status::Ok();
}

Status ReadKind(const JsonMember& m, SpanKind* kind) {
  Result<std::string> name = ReadString(m, "kind");
  if (!name.ok()) return name.status();
  for (int k = 0; k <= static_cast<int>(SpanKind::kConsumer); ++k) {
    if (SpanKindName(static_cast<SpanKind>(k)) == *name) {
      *kind = static_cast<SpanKind>(k);
      return Status::Ok();
    }
  }
  return FieldError("kind",
                    "unknown kind '" + Printable(*name) +
                        "' (expected UNSPECIFIED, INTERNAL, SERVER, CLIENT, PRODUCER or CONSUMER)");
}

Status ReadStatus(const JsonMember& m, SpanStatus* status) {
  Result<std::string> name = ReadString(m, "status");
  if (!name.ok()) return name.status();
  for (int code = 0; code <= 2; ++code) {
    if (*name == kStatusNames[code]) {
      *status = static_cast<SpanStatus>(code);
      return Status::Ok();
    }
  }
  return FieldError("status",
                    "unknown status '" + Printable(*name) + "' (expected UNSET, OK or ERROR)");
}

}  // namespace

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
  field("status", kStatusNames[static_cast<int>(s.status)]);
  if (!s.status_message.empty()) field("status_message", s.status_message);
  if (!s.trace_state.empty()) field("trace_state", s.trace_state);
  if (!s.scope.empty()) field("scope", s.scope);
  if (!s.scope_version.empty()) field("scope_version", s.scope_version);
  if (!s.scope_attributes.empty()) raw("scope_attributes", s.scope_attributes, "{}");
  raw("attributes", s.attributes, "{}");
  raw("events", s.events, "[]");
  raw("links", s.links, "[]");
  raw("resource", s.resource, "{}");
  out += '}';
}

Result<Span> DecodeSpanJson(std::string_view json) {
  std::string clean;
  if (!IsCleanUtf8(json)) {
    AppendSanitizedUtf8(clean, json);
    json = clean;
  }
  std::vector<JsonMember> members;
  if (Status s = ScanJsonObject(json, members); !s.ok())
    return s.WithContext("span is not a JSON object");
  Span span;
  bool has_trace_id = false, has_span_id = false, has_start = false;
  for (const JsonMember& m : members) {
    const std::string key = m.key_escaped ? UnescapeJsonString(m.key) : std::string(m.key);
    const auto text = [&](std::string* out) -> Status {
      Result<std::string> value = ReadString(m, key);
      if (!value.ok()) return value.status();
      *out = std::move(value).value();
      return Status::Ok();
    };
    Status s;
    if (key == "trace_id") {
      has_trace_id = true;
      s = ReadId(m, key, IsValidTraceId, "32 hex digits, not all zero", false, &span.trace_id);
    } else if (key == "span_id") {
      has_span_id = true;
      s = ReadId(m, key, IsValidSpanId, "16 hex digits, not all zero", false, &span.span_id);
    } else if (key == "parent_span_id") {
      s = ReadId(m, key, IsValidSpanId, "16 hex digits or empty", true, &span.parent_span_id);
    } else if (key == "service") {
      s = text(&span.service);
    } else if (key == "name") {
      s = text(&span.name);
    } else if (key == "kind") {
      s = ReadKind(m, &span.kind);
    } else if (key == "start_ns") {
      has_start = true;
      s = ReadInt(m, key, &span.start_ns);
    } else if (key == "duration_ns") {
      s = ReadInt(m, key, &span.duration_ns);
      if (s.ok() && span.duration_ns < 0) s = FieldError(key, "must not be negative");
    } else if (key == "status") {
      s = ReadStatus(m, &span.status);
    } else if (key == "status_message") {
      s = text(&span.status_message);
    } else if (key == "trace_state") {
      s = text(&span.trace_state);
    } else if (key == "scope") {
      s = text(&span.scope);
    } else if (key == "scope_version") {
      s = text(&span.scope_version);
    } else if (key == "scope_attributes") {
      s = ReadObject(m, key, &span.scope_attributes);
    } else if (key == "attributes") {
      s = ReadObject(m, key, &span.attributes);
    } else if (key == "resource") {
      s = ReadObject(m, key, &span.resource);
    } else if (key == "events") {
      s = ReadObjects(m, key, &span.events);
    } else if (key == "links") {
      s = ReadObjects(m, key, &span.links);
    }
    // Anything else ("start", which start_ns states exactly, or fields of later versions) is
    // left alone.
    if (!s.ok()) return s;
  }
  if (!has_trace_id) return FieldError("trace_id", "missing");
  if (!has_span_id) return FieldError("span_id", "missing");
  if (!has_start) return FieldError("start_ns", "missing");
  return span;
}

}  // namespace mesh

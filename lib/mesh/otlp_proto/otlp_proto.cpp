#include "mesh/otlp_proto/otlp_proto.h"

#include <google/protobuf/arena.h>
#include <opentelemetry/proto/collector/logs/v1/logs_service.pb.h>
#include <opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h>
#include <opentelemetry/proto/collector/trace/v1/trace_service.pb.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mesh/base/base64.h"
#include "mesh/base/json_depth.h"
#include "mesh/base/json_scan.h"
#include "mesh/base/json_tape.h"
#include "mesh/base/json_text.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/otlp_proto/otlp_proto_parse.h"

namespace mesh {
namespace {

namespace pb = google::protobuf;
namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace logs = opentelemetry::proto::logs::v1;
namespace collector_trace = opentelemetry::proto::collector::trace::v1;
namespace collector_logs = opentelemetry::proto::collector::logs::v1;
namespace collector_metrics = opentelemetry::proto::collector::metrics::v1;
using KeyValues = pb::RepeatedPtrField<common::KeyValue>;

// libprotobuf's default recursion limit, which ParseFromArray applies: deep enough for any real
// export (a kvlist level is three messages deep). It also bounds the JSON an attribute value
// becomes: a value sits at least six messages down and each array or kvlist level costs two or
// three more, so at most 47 levels, and the stored JSON stays within the kMaxJsonDepth (64)
// every JSON reader of the project takes, as the JSON path's input does.
constexpr int kRecursionLimit = kOtlpProtoRecursionLimit;
static_assert(3 + (kRecursionLimit - 6) / 2 < kMaxJsonDepth);

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

// A name or message as the JSON path stores it: JsonTape reads \u0000 as U+FFFD there, since
// the stores and printers take such fields as C-safe text (attribute values keep NUL, escaped).
std::string WithoutNul(const std::string& s) {
  if (s.find('\0') == std::string::npos) return s;
  std::string out;
  for (char c : s) {
    if (c == '\0') out += "\xEF\xBF\xBD";
    else out += c;
  }
  return out;
}

std::string Printable(const std::string& s) {
  std::string out;
  AppendSanitizedUtf8(out, s.substr(0, 64));
  return out;
}

bool AppendKeyValues(std::string& out, const KeyValues& list, int depth, std::string_view skip_key,
                     std::span<const std::string_view> renamed, std::string* why);

// An AnyValue as plain JSON, as the JSON decoder writes it. false (with why) when it nests
// kvlists deeper than the JSON path allows.
bool AppendAnyValue(std::string& out, const common::AnyValue& v, int depth, std::string* why) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      AppendJsonString(out, v.string_value());
      return true;
    case common::AnyValue::kBytesValue:
      out += "{\"bytesValue\":\"" + Base64Encode(v.bytes_value()) + "\"}";
      return true;
    case common::AnyValue::kIntValue:
      out += std::to_string(v.int_value());
      return true;
    case common::AnyValue::kDoubleValue:
      // JSON has no number for NaN and the infinities: the JSON path stores null for them.
      if (std::isfinite(v.double_value())) AppendJsonDouble(out, v.double_value());
      else out += "null";
      return true;
    case common::AnyValue::kBoolValue:
      out += v.bool_value() ? "true" : "false";
      return true;
    case common::AnyValue::kArrayValue: {
      out += '[';
      bool comma = false;
      for (const common::AnyValue& element : v.array_value().values()) {
        if (comma) out += ',';
        comma = true;
        if (!AppendAnyValue(out, element, depth, why)) return false;
      }
      out += ']';
      return true;
    }
    case common::AnyValue::kKvlistValue:
      return AppendKeyValues(out, v.kvlist_value().values(), depth + 1, {}, {}, why);
    case common::AnyValue::VALUE_NOT_SET:
      break;
  }
  out += "null";
  return true;
}

// A KeyValue list as a JSON object, leaving out `skip_key`; a key among `renamed` gets "_raw"
// appended. false (with why) for a key holding NUL or kvlists nested too deeply.
bool AppendKeyValues(std::string& out, const KeyValues& list, int depth, std::string_view skip_key,
                     std::span<const std::string_view> renamed, std::string* why) {
  if (depth > kMaxAttributeDepth) {
    *why = "attributes nest too deeply";
    return false;
  }
  out += '{';
  bool comma = false;
  for (const common::KeyValue& kv : list) {
    if (kv.key().find('\0') != std::string::npos) {
      *why = "attribute key: a name must not contain NUL";
      return false;
    }
    if (!skip_key.empty() && kv.key() == skip_key) continue;
    if (comma) out += ',';
    comma = true;
    if (std::find(renamed.begin(), renamed.end(), kv.key()) != renamed.end()) {
      AppendJsonString(out, kv.key() + "_raw");
    } else {
      AppendJsonString(out, kv.key());
    }
    out += ':';
    if (!kv.has_value()) {
      out += "null";
    } else if (!AppendAnyValue(out, kv.value(), depth, why)) {
      return false;
    }
  }
  out += '}';
  return true;
}

// The attributes as the JSON decoder stores them: "" for none (or only the skipped key).
bool KeyValuesJson(const KeyValues& list, std::string* out, std::string* why, std::string_view skip_key = {},
                   std::span<const std::string_view> renamed = {}) {
  out->clear();
  if (list.empty()) return true;
  if (!AppendKeyValues(*out, list, 0, skip_key, renamed, why)) return false;
  if (*out == "{}") out->clear();
  return true;
}

std::string ServiceName(const KeyValues& resource_attributes) {
  for (const common::KeyValue& kv : resource_attributes) {
    if (kv.key() == "service.name" && kv.value().value_case() == common::AnyValue::kStringValue &&
        !kv.value().string_value().empty()) {
      return WithoutNul(kv.value().string_value());
    }
  }
  return "unknown_service";
}

// The span as the JSON decoder makes it, or why it is rejected.
bool DecodeSpan(const trace::Span& s, Span& span, std::string* why) {
  span.trace_id = Hex(s.trace_id());
  span.span_id = Hex(s.span_id());
  if (!IsValidTraceId(span.trace_id)) {
    *why = "invalid traceId '" + Printable(span.trace_id) + "' (expected 32 hex digits, not all zero)";
    return false;
  }
  if (!IsValidSpanId(span.span_id)) {
    *why = "invalid spanId '" + Printable(span.span_id) + "' (expected 16 hex digits, not all zero)";
    return false;
  }
  span.parent_span_id = Hex(s.parent_span_id());
  if (!span.parent_span_id.empty() && !IsValidSpanId(span.parent_span_id)) {
    *why = "invalid parentSpanId '" + Printable(span.parent_span_id) + "'";
    return false;
  }
  if (s.start_time_unix_nano() > uint64_t{INT64_MAX} || s.end_time_unix_nano() > uint64_t{INT64_MAX}) {
    *why = "span " + span.span_id + " has a negative time";
    return false;
  }
  const auto start = static_cast<int64_t>(s.start_time_unix_nano());
  const auto end = static_cast<int64_t>(s.end_time_unix_nano());
  span.start_ns = start;
  span.duration_ns = end > start ? end - start : 0;
  std::string attributes_why;
  if (!KeyValuesJson(s.attributes(), &span.attributes, &attributes_why)) {
    *why = "span " + span.span_id + ": " + attributes_why;
    return false;
  }
  span.name = WithoutNul(s.name());
  span.trace_state = WithoutNul(s.trace_state());
  if (s.kind() < 0 || s.kind() > 5) {
    *why = "span " + span.span_id + ": kind must be 0..5 or a SPAN_KIND_ name";
    return false;
  }
  span.kind = static_cast<SpanKind>(s.kind());
  if (s.status().code() < 0 || s.status().code() > 2) {
    *why = "span " + span.span_id + ": status.code must be 0..2 or a STATUS_CODE_ name";
    return false;
  }
  span.status = static_cast<SpanStatus>(s.status().code());
  span.status_message = WithoutNul(s.status().message());
  if (!s.events().empty()) {
    span.events = "[";
    for (const trace::Span::Event& e : s.events()) {
      if (span.events.size() > 1) span.events += ',';
      // As the JSON path: a time past int64 is no time.
      const int64_t time = e.time_unix_nano() > uint64_t{INT64_MAX} ? 0 : static_cast<int64_t>(e.time_unix_nano());
      span.events += "{\"time_ns\":" + std::to_string(time) + ",\"name\":";
      AppendJsonString(span.events, WithoutNul(e.name()));
      span.events += ",\"attributes\":";
      if (!AppendKeyValues(span.events, e.attributes(), 0, {}, {}, &attributes_why)) {
        *why = "span " + span.span_id + ": event: " + attributes_why;
        return false;
      }
      span.events += '}';
    }
    span.events += ']';
  }
  // A link names a span: one with malformed ids rejects the span, as its own ids would.
  if (!s.links().empty()) {
    span.links = "[";
    for (const trace::Span::Link& l : s.links()) {
      const std::string trace_id = Hex(l.trace_id()), span_id = Hex(l.span_id());
      if (!IsValidTraceId(trace_id) || !IsValidSpanId(span_id)) {
        *why = "span " + span.span_id + ": link: invalid " +
               (IsValidTraceId(trace_id) ? "spanId '" + Printable(span_id) + "' (expected 16 hex digits, not all zero)"
                                         : "traceId '" + Printable(trace_id) + "' (expected 32 hex digits, not all zero)");
        return false;
      }
      if (span.links.size() > 1) span.links += ',';
      span.links += "{\"trace_id\":\"" + trace_id + "\",\"span_id\":\"" + span_id + '"';
      if (!l.trace_state().empty()) {
        span.links += ",\"trace_state\":";
        AppendJsonString(span.links, WithoutNul(l.trace_state()));
      }
      span.links += ",\"attributes\":";
      if (!AppendKeyValues(span.links, l.attributes(), 0, {}, {}, &attributes_why)) {
        *why = "span " + span.span_id + ": link: " + attributes_why;
        return false;
      }
      span.links += '}';
    }
    span.links += ']';
  }
  return true;
}

// The record as the JSON decoder makes it, or why it is rejected.
bool DecodeLogRecord(const logs::LogRecord& l, LogRecord& r, std::string* why) {
  r.trace_id = Hex(l.trace_id());
  r.span_id = Hex(l.span_id());
  if (!r.trace_id.empty() || !r.span_id.empty()) {
    if (!IsValidTraceId(r.trace_id)) {
      *why = "invalid traceId '" + Printable(r.trace_id) + "' (expected 32 hex digits, not all zero)";
      return false;
    }
    if (!r.span_id.empty() && !IsValidSpanId(r.span_id)) {
      *why = "invalid spanId '" + Printable(r.span_id) + "' (expected 16 hex digits, not all zero)";
      return false;
    }
  }
  if (l.time_unix_nano() > uint64_t{INT64_MAX}) {
    *why = "timeUnixNano must be a non-negative 64-bit integer";
    return false;
  }
  if (l.observed_time_unix_nano() > uint64_t{INT64_MAX}) {
    *why = "observedTimeUnixNano must be a non-negative 64-bit integer";
    return false;
  }
  r.ts_ns = static_cast<int64_t>(l.time_unix_nano() != 0 ? l.time_unix_nano() : l.observed_time_unix_nano());
  if (l.severity_number() < 0 || l.severity_number() > 24) {
    *why = "severityNumber must be 0..24";
    return false;
  }
  if (!KeyValuesJson(l.attributes(), &r.attributes, why, {}, kLogRecordMembers)) return false;
  if (auto level = LevelFromSeverityNumber(l.severity_number())) {
    r.level = *level;
  } else if (auto parsed = ParseLogLevel(l.severity_text())) {
    r.level = *parsed;
  }
  if (l.body().value_case() == common::AnyValue::kStringValue) {
    r.message = WithoutNul(l.body().string_value());
  } else if (l.has_body()) {
    std::string body_why;
    if (!AppendAnyValue(r.message, l.body(), 0, &body_why)) {
      *why = "body: " + body_why;
      return false;
    }
  }
  return true;
}

// A JSON value (attribute text as spans store it) as an AnyValue, typed as EncodeOtlpTraces
// types it: integers that fit int64 are intValue, other numbers doubleValue.
void FillAnyValue(const JsonTape& t, uint32_t i, common::AnyValue& v);

void FillKeyValues(const JsonTape& t, uint32_t object, KeyValues& out) {
  if (object == JsonTape::kNone || t.node(object).kind != JsonKind::kObject) return;
  t.ForEachChild(object, [&](uint32_t member) {
    common::KeyValue* kv = out.Add();
    const JsonTape::Node& n = t.node(member);
    kv->set_key(n.key_escaped ? UnescapeJsonString(n.key) : std::string(n.key));
    FillAnyValue(t, member, *kv->mutable_value());
  });
}

// A JSON string node's text. JsonTape::String turns \u0000 into U+FFFD (its other readers want
// C strings); a stored attribute value may hold a NUL and must encode back to one.
std::string StringWithNuls(const JsonTape& t, uint32_t i) {
  std::string_view raw = t.node(i).raw;
  raw = raw.substr(1, raw.size() - 2);
  std::string out;
  size_t start = 0;
  for (size_t p = raw.find("\\u0000"); p != std::string_view::npos; p = raw.find("\\u0000", p + 1)) {
    size_t backslashes = 0;  // an escaped backslash before "u0000" is no escape of NUL
    while (p > backslashes && raw[p - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 1) continue;
    out += UnescapeJsonString(raw.substr(start, p - start));
    out += '\0';
    start = p + 6;
  }
  return out + UnescapeJsonString(raw.substr(start));
}

// The string member `name` of object node `obj`, NULs kept; "" when absent or not a string.
std::string StringMemberWithNuls(const JsonTape& t, uint32_t obj, std::string_view name) {
  const uint32_t i = t.Member(obj, name);
  return i != JsonTape::kNone && t.node(i).kind == JsonKind::kString ? StringWithNuls(t, i) : std::string();
}

void FillAnyValue(const JsonTape& t, uint32_t i, common::AnyValue& v) {
  const JsonTape::Node& n = t.node(i);
  switch (n.kind) {
    case JsonKind::kString:
      v.set_string_value(StringWithNuls(t, i));
      break;
    case JsonKind::kNumber: {
      int64_t integer = 0;
      const auto r = std::from_chars(n.raw.data(), n.raw.data() + n.raw.size(), integer);
      if (r.ec == std::errc() && r.ptr == n.raw.data() + n.raw.size()) v.set_int_value(integer);
      else v.set_double_value(std::strtod(std::string(n.raw).c_str(), nullptr));
      break;
    }
    case JsonKind::kTrue:
    case JsonKind::kFalse:
      v.set_bool_value(n.kind == JsonKind::kTrue);
      break;
    case JsonKind::kNull:
      break;
    case JsonKind::kArray: {
      common::ArrayValue* array = v.mutable_array_value();
      t.ForEachChild(i, [&](uint32_t element) { FillAnyValue(t, element, *array->add_values()); });
      break;
    }
    case JsonKind::kObject:
      if (const uint32_t bytes = StoredBytesValue(t, i); bytes != JsonTape::kNone) {
        v.set_bytes_value(Base64Decode(t.String(bytes)).value_or(std::string()));
        break;
      }
      FillKeyValues(t, i, *v.mutable_kvlist_value()->mutable_values());
      break;
  }
}

void FillAttributes(std::string_view json, KeyValues& out) {
  if (json.empty()) return;
  JsonTape t;
  if (t.Parse(json).ok()) FillKeyValues(t, t.root(), out);
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    unsigned byte = 0;
    std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    out += static_cast<char>(byte);
  }
  return out;
}

void FillSpan(const Span& s, trace::Span& p) {
  p.set_trace_id(Unhex(s.trace_id));
  p.set_span_id(Unhex(s.span_id));
  if (!s.parent_span_id.empty()) p.set_parent_span_id(Unhex(s.parent_span_id));
  p.set_trace_state(s.trace_state);
  p.set_name(s.name);
  p.set_kind(static_cast<trace::Span::SpanKind>(s.kind));
  int64_t end = 0;
  if (__builtin_add_overflow(s.start_ns, std::max<int64_t>(s.duration_ns, 0), &end)) end = INT64_MAX;
  p.set_start_time_unix_nano(static_cast<uint64_t>(s.start_ns));
  p.set_end_time_unix_nano(static_cast<uint64_t>(end));
  FillAttributes(s.attributes, *p.mutable_attributes());
  if (!s.events.empty()) {
    JsonTape t;
    if (t.Parse(s.events).ok() && t.node(t.root()).kind == JsonKind::kArray) {
      t.ForEachChild(t.root(), [&](uint32_t e) {
        if (t.node(e).kind != JsonKind::kObject) return;
        trace::Span::Event* event = p.add_events();
        const uint32_t time = t.Member(e, "time_ns");
        int64_t ns = 0;
        if (time != JsonTape::kNone) std::from_chars(t.node(time).raw.data(), t.node(time).raw.data() + t.node(time).raw.size(), ns);
        event->set_time_unix_nano(static_cast<uint64_t>(std::max<int64_t>(ns, 0)));
        event->set_name(StringMemberWithNuls(t, e, "name"));
        FillKeyValues(t, t.Member(e, "attributes"), *event->mutable_attributes());
      });
    }
  }
  if (!s.links.empty()) {
    JsonTape t;
    if (t.Parse(s.links).ok() && t.node(t.root()).kind == JsonKind::kArray) {
      t.ForEachChild(t.root(), [&](uint32_t l) {
        if (t.node(l).kind != JsonKind::kObject) return;
        trace::Span::Link* link = p.add_links();
        link->set_trace_id(Unhex(t.StringMember(l, "trace_id")));
        link->set_span_id(Unhex(t.StringMember(l, "span_id")));
        link->set_trace_state(StringMemberWithNuls(t, l, "trace_state"));
        FillKeyValues(t, t.Member(l, "attributes"), *link->mutable_attributes());
      });
    }
  }
  if (s.status != SpanStatus::kUnset || !s.status_message.empty()) {
    p.mutable_status()->set_code(static_cast<trace::Status::StatusCode>(s.status));
    p.mutable_status()->set_message(s.status_message);
  }
}

}  // namespace

Result<OtlpTraces> DecodeOtlpTracesProto(std::string_view body) {
  pb::Arena arena;
  auto* request = pb::Arena::CreateMessage<collector_trace::ExportTraceServiceRequest>(&arena);
  if (Status s = ParseOtlpProto(body, *request, "OTLP ExportTraceServiceRequest"); !s.ok()) return s;
  OtlpTraces out;
  const auto reject = [&](const std::string& why) {
    ++out.rejected;
    if (out.first_error.empty()) out.first_error = why;
  };
  for (const trace::ResourceSpans& rs : request->resource_spans()) {
    const std::string service = ServiceName(rs.resource().attributes());
    std::string resource, resource_problem;
    if (!KeyValuesJson(rs.resource().attributes(), &resource, &resource_problem, "service.name")) {
      resource_problem = "resource: " + resource_problem;
    }
    for (const trace::ScopeSpans& ss : rs.scope_spans()) {
      std::string scope_attributes, scope_problem;
      if (!KeyValuesJson(ss.scope().attributes(), &scope_attributes, &scope_problem)) {
        scope_problem = "scope: " + scope_problem;
      }
      for (const trace::Span& s : ss.spans()) {
        // A resource or scope that cannot be stored as sent takes its spans with it.
        if (!resource_problem.empty() || !scope_problem.empty()) {
          reject(!resource_problem.empty() ? resource_problem : scope_problem);
          continue;
        }
        Span span;
        std::string why;
        if (!DecodeSpan(s, span, &why)) {
          reject(why);
          continue;
        }
        span.service = service;
        span.resource = resource;
        span.scope = WithoutNul(ss.scope().name());
        span.scope_version = WithoutNul(ss.scope().version());
        span.scope_attributes = scope_attributes;
        out.spans.push_back(std::move(span));
      }
    }
  }
  return out;
}

Result<OtlpLogs> DecodeOtlpLogsProto(std::string_view body) {
  pb::Arena arena;
  auto* request = pb::Arena::CreateMessage<collector_logs::ExportLogsServiceRequest>(&arena);
  if (Status s = ParseOtlpProto(body, *request, "OTLP ExportLogsServiceRequest"); !s.ok()) return s;
  OtlpLogs out;
  const auto reject = [&](const std::string& why) {
    ++out.rejected;
    if (out.first_error.empty()) out.first_error = why;
  };
  for (const logs::ResourceLogs& rl : request->resource_logs()) {
    const std::string service = ServiceName(rl.resource().attributes());
    std::string resource, resource_problem;
    if (!KeyValuesJson(rl.resource().attributes(), &resource, &resource_problem)) {
      resource_problem = "resource: " + resource_problem;
    }
    for (const logs::ScopeLogs& sl : rl.scope_logs()) {
      for (const logs::LogRecord& l : sl.log_records()) {
        if (!resource_problem.empty()) {
          reject(resource_problem);
          continue;
        }
        LogRecord r;
        std::string why;
        if (!DecodeLogRecord(l, r, &why)) {
          reject(why);
          continue;
        }
        r.service = service;
        out.records.push_back(std::move(r));
      }
    }
  }
  return out;
}

std::string OtlpTracesProtoResponse(const OtlpTraces& decoded) {
  collector_trace::ExportTraceServiceResponse response;
  if (decoded.rejected > 0) {
    response.mutable_partial_success()->set_rejected_spans(decoded.rejected);
    response.mutable_partial_success()->set_error_message(SanitizedUtf8(decoded.first_error));
  }
  return response.SerializeAsString();
}

std::string OtlpLogsProtoResponse(const OtlpLogs& decoded) {
  collector_logs::ExportLogsServiceResponse response;
  if (decoded.rejected > 0) {
    response.mutable_partial_success()->set_rejected_log_records(decoded.rejected);
    response.mutable_partial_success()->set_error_message(SanitizedUtf8(decoded.first_error));
  }
  return response.SerializeAsString();
}

std::string EncodeOtlpTracesProto(const std::vector<Span>& spans) {
  collector_trace::ExportTraceServiceRequest request;
  // Grouped as EncodeOtlpTraces groups: one resource per service and resource attributes, one
  // scope per scope name, version and attributes, in order of first appearance.
  std::vector<std::pair<std::string_view, std::string_view>> resources;  // service, resource
  std::vector<std::vector<const Span*>> scope_firsts;                    // per resource
  for (const Span& s : spans) {
    const auto key = std::make_pair(std::string_view(s.service), std::string_view(s.resource));
    auto found = std::find(resources.begin(), resources.end(), key);
    trace::ResourceSpans* rs = nullptr;
    if (found != resources.end()) {
      rs = request.mutable_resource_spans(static_cast<int>(found - resources.begin()));
    } else {
      found = resources.insert(resources.end(), key);
      rs = request.add_resource_spans();
      common::KeyValue* name = rs->mutable_resource()->add_attributes();
      name->set_key("service.name");
      name->mutable_value()->set_string_value(s.service);
      FillAttributes(s.resource, *rs->mutable_resource()->mutable_attributes());
    }
    // The first span of each scope, per resource: what the scope's attributes came from.
    const size_t r = static_cast<size_t>(found - resources.begin());
    if (scope_firsts.size() <= r) scope_firsts.resize(r + 1);
    trace::ScopeSpans* scope = nullptr;
    for (size_t i = 0; i < scope_firsts[r].size() && scope == nullptr; ++i) {
      const Span& first = *scope_firsts[r][i];
      if (first.scope == s.scope && first.scope_version == s.scope_version &&
          first.scope_attributes == s.scope_attributes) {
        scope = rs->mutable_scope_spans(static_cast<int>(i));
      }
    }
    if (scope == nullptr) {
      scope_firsts[r].push_back(&s);
      scope = rs->add_scope_spans();
      scope->mutable_scope()->set_name(s.scope);
      scope->mutable_scope()->set_version(s.scope_version);
      FillAttributes(s.scope_attributes, *scope->mutable_scope()->mutable_attributes());
    }
    FillSpan(s, *scope->add_spans());
  }
  return request.SerializeAsString();
}

std::string EncodeOtlpLogsProto(const std::vector<LogRecord>& records) {
  collector_logs::ExportLogsServiceRequest request;
  std::vector<std::string_view> services;  // in order of first appearance, one resource each
  for (const LogRecord& r : records) {
    auto found = std::find(services.begin(), services.end(), r.service);
    logs::ScopeLogs* scope = nullptr;
    if (found != services.end()) {
      scope = request.mutable_resource_logs(static_cast<int>(found - services.begin()))->mutable_scope_logs(0);
    } else {
      services.push_back(r.service);
      logs::ResourceLogs* rl = request.add_resource_logs();
      common::KeyValue* name = rl->mutable_resource()->add_attributes();
      name->set_key("service.name");
      name->mutable_value()->set_string_value(r.service);
      scope = rl->add_scope_logs();
      scope->mutable_scope()->set_name("meshd");
    }
    logs::LogRecord* l = scope->add_log_records();
    l->set_time_unix_nano(static_cast<uint64_t>(std::max<int64_t>(r.ts_ns, 0)));
    l->set_severity_number(static_cast<int>(r.level));
    l->set_severity_text(std::string(LevelName(r.level)));
    l->mutable_body()->set_string_value(r.message);
    if (!r.trace_id.empty()) l->set_trace_id(Unhex(r.trace_id));
    if (!r.span_id.empty()) l->set_span_id(Unhex(r.span_id));
    FillAttributes(r.attributes, *l->mutable_attributes());
  }
  return request.SerializeAsString();
}

namespace {

template <typename Response>
Result<OtlpExportAnswer> PartialSuccess(std::string_view body, const char* what) {
  Response response;
  if (Status s = ParseOtlpProto(body, response, what); !s.ok()) return s;
  OtlpExportAnswer answer;
  answer.error_message = response.partial_success().error_message();
  if constexpr (std::is_same_v<Response, collector_trace::ExportTraceServiceResponse>) {
    answer.rejected = response.partial_success().rejected_spans();
  } else if constexpr (std::is_same_v<Response, collector_logs::ExportLogsServiceResponse>) {
    answer.rejected = response.partial_success().rejected_log_records();
  } else {
    answer.rejected = response.partial_success().rejected_data_points();
  }
  return answer;
}

}  // namespace

Result<OtlpExportAnswer> DecodeOtlpExportResponse(OtlpSignal signal, std::string_view body) {
  switch (signal) {
    case OtlpSignal::kTraces:
      return PartialSuccess<collector_trace::ExportTraceServiceResponse>(body, "OTLP ExportTraceServiceResponse");
    case OtlpSignal::kLogs:
      return PartialSuccess<collector_logs::ExportLogsServiceResponse>(body, "OTLP ExportLogsServiceResponse");
    case OtlpSignal::kMetrics:
      return PartialSuccess<collector_metrics::ExportMetricsServiceResponse>(body,
                                                                             "OTLP ExportMetricsServiceResponse");
  }
  return Status::InvalidArgument("unknown OTLP signal");
}

}  // namespace mesh

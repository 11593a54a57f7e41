#include "mesh/otlp.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "mesh/json_scan.h"
#include "mesh/json_text.h"
#include "mesh/trace_id.h"
#include "mesh/utf8.h"

namespace mesh {
namespace {

// A 64-bit integer sent as a decimal string (the OTLP JSON rule) or as a JSON number.
bool ReadInt64(const Json::Value& v, int64_t* out) {
  if (v.isIntegral()) {
    *out = v.asInt64();
    return true;
  }
  if (v.isDouble()) {
    const double d = v.asDouble();
    if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  if (!v.isString()) return false;
  const std::string s = v.asString();
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Strings reach JSON text and SQLite: keep them valid UTF-8 whatever the sender did.
std::string Clean(const std::string& s) {
  if (IsCleanUtf8(s)) return s;
  std::string out;
  AppendSanitizedUtf8(out, s);
  return out;
}

void AppendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  const std::string_view text(buf, r.ptr - buf);
  out += text;
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void AppendKeyValues(std::string& out, const Json::Value& list, const char* skip_key);

// An OTLP AnyValue as plain JSON.
void AppendAnyValue(std::string& out, const Json::Value& v) {
  if (!v.isObject()) {
    out += "null";
    return;
  }
  if (v.isMember("stringValue")) {
    AppendJsonString(out, Clean(v["stringValue"].asString()));
  } else if (v.isMember("intValue")) {
    int64_t n = 0;
    if (ReadInt64(v["intValue"], &n)) out += std::to_string(n);
    else out += "null";
  } else if (v.isMember("doubleValue")) {
    const Json::Value& d = v["doubleValue"];
    AppendDouble(out, d.isNumeric() ? d.asDouble() : std::nan(""));
  } else if (v.isMember("boolValue")) {
    out += v["boolValue"].asBool() ? "true" : "false";
  } else if (v.isMember("arrayValue")) {
    out += '[';
    const Json::Value& values = v["arrayValue"]["values"];
    for (Json::ArrayIndex i = 0; values.isArray() && i < values.size(); ++i) {
      if (i) out += ',';
      AppendAnyValue(out, values[i]);
    }
    out += ']';
  } else if (v.isMember("kvlistValue")) {
    AppendKeyValues(out, v["kvlistValue"]["values"], nullptr);
  } else if (v.isMember("bytesValue")) {
    AppendJsonString(out, Clean(v["bytesValue"].asString()));
  } else {
    out += "null";
  }
}

// [{"key":k,"value":AnyValue}, ...] as a JSON object, leaving out `skip_key`.
void AppendKeyValues(std::string& out, const Json::Value& list, const char* skip_key) {
  out += '{';
  bool first = true;
  for (Json::ArrayIndex i = 0; list.isArray() && i < list.size(); ++i) {
    const Json::Value& kv = list[i];
    if (!kv.isObject() || !kv["key"].isString()) continue;
    const std::string key = kv["key"].asString();
    if (skip_key && key == skip_key) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, Clean(key));
    out += ':';
    AppendAnyValue(out, kv["value"]);
  }
  out += '}';
}

std::string KeyValuesJson(const Json::Value& list, const char* skip_key = nullptr) {
  std::string out;
  AppendKeyValues(out, list, skip_key);
  return out == "{}" ? std::string() : out;
}

std::string ServiceName(const Json::Value& resource) {
  const Json::Value& attrs = resource["attributes"];
  for (Json::ArrayIndex i = 0; attrs.isArray() && i < attrs.size(); ++i) {
    if (attrs[i]["key"].asString() == "service.name" && attrs[i]["value"]["stringValue"].isString()) {
      const std::string name = Clean(attrs[i]["value"]["stringValue"].asString());
      if (!name.empty()) return name;
    }
  }
  return "unknown_service";
}

std::string LowerHex(const Json::Value& v) {
  std::string s = v.isString() ? v.asString() : "";
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The ids of a span or log record: false (with why) when present but malformed.
bool ReadIds(const Json::Value& obj, bool ids_required, std::string* trace_id,
             std::string* span_id, std::string* why) {
  *trace_id = LowerHex(obj["traceId"]);
  *span_id = LowerHex(obj["spanId"]);
  if (!ids_required && trace_id->empty() && span_id->empty()) return true;
  if (!IsValidTraceId(*trace_id)) {
    *why = "invalid traceId '" + Clean(*trace_id) + "' (expected 32 hex digits, not all zero)";
    return false;
  }
  if (!(span_id->empty() && !ids_required) && !IsValidSpanId(*span_id)) {
    *why = "invalid spanId '" + Clean(*span_id) + "' (expected 16 hex digits, not all zero)";
    return false;
  }
  return true;
}

Result<Json::Value> ParseRequest(std::string_view json, const char* top_key) {
  Result<Json::Value> root = ParseJson(json);
  if (!root.ok()) return root.status();
  if (!root->isObject()) return Status::InvalidArgument("expected a JSON object");
  const Json::Value& list = (*root)[top_key];
  if (!list.isNull() && !list.isArray()) {
    return Status::InvalidArgument(std::string(top_key) + " must be an array");
  }
  return root;
}

// Scope groups under their current name, or the name OTLP used before 0.15.
const Json::Value& ScopeGroups(const Json::Value& resource_entry, const char* name,
                               const char* legacy) {
  const Json::Value& groups = resource_entry[name];
  return groups.isArray() ? groups : resource_entry[legacy];
}

std::string PartialSuccess(const char* field, int64_t rejected, const std::string& error) {
  if (rejected == 0) return "{}";
  std::string out = "{\"partialSuccess\":{\"";
  out += field;
  out += "\":" + std::to_string(rejected) + ",\"errorMessage\":";
  AppendJsonString(out, error);
  out += "}}";
  return out;
}

// A plain JSON value as an OTLP AnyValue: integers stay intValue, other numbers doubleValue.
void AppendAsAnyValue(std::string& out, const Json::Value& v) {
  switch (v.type()) {
    case Json::stringValue:
      out += "{\"stringValue\":";
      AppendJsonString(out, v.asString());
      out += '}';
      break;
    case Json::intValue:
    case Json::uintValue:
      out += "{\"intValue\":\"" + (v.isInt64() ? std::to_string(v.asInt64()) : std::to_string(v.asUInt64())) + "\"}";
      break;
    case Json::realValue:
      out += "{\"doubleValue\":";
      AppendDouble(out, v.asDouble());
      out += '}';
      break;
    case Json::booleanValue:
      out += v.asBool() ? "{\"boolValue\":true}" : "{\"boolValue\":false}";
      break;
    case Json::arrayValue:
      out += "{\"arrayValue\":{\"values\":[";
      for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        AppendAsAnyValue(out, v[i]);
      }
      out += "]}}";
      break;
    case Json::objectValue: {
      out += "{\"kvlistValue\":{\"values\":[";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        out += "{\"key\":";
        AppendJsonString(out, it.name());
        out += ",\"value\":";
        AppendAsAnyValue(out, *it);
        out += '}';
      }
      out += "]}}";
      break;
    }
    case Json::nullValue:
      out += "{}";
      break;
  }
}

// Attributes keep their order (a scan, not a jsoncpp map, which would sort them), so that a
// record sent to meshd prints exactly as it does from the local store.
void AppendAttributesAsKeyValues(std::string& out, const std::string& attributes) {
  out += '[';
  std::vector<JsonMember> members;
  if (ScanJsonObject(attributes, members).ok()) {
    for (size_t i = 0; i < members.size(); ++i) {
      const JsonMember& m = members[i];
      if (i) out += ',';
      out += "{\"key\":";
      AppendJsonString(out, m.key_escaped ? UnescapeJsonString(m.key) : std::string(m.key));
      out += ",\"value\":";
      Result<Json::Value> value = ParseJson(m.value);
      if (value.ok()) AppendAsAnyValue(out, *value);
      else out += "{}";
      out += '}';
    }
  }
  out += ']';
}

}  // namespace

std::string EncodeOtlpLogs(const std::vector<LogRecord>& records) {
  std::vector<std::string> services;
  for (const LogRecord& r : records) {
    if (std::find(services.begin(), services.end(), r.service) == services.end()) {
      services.push_back(r.service);
    }
  }
  std::string out = "{\"resourceLogs\":[";
  for (size_t s = 0; s < services.size(); ++s) {
    if (s) out += ',';
    out += "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":";
    AppendJsonString(out, services[s]);
    out += "}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"meshlog\"},\"logRecords\":[";
    bool first = true;
    for (const LogRecord& r : records) {
      if (r.service != services[s]) continue;
      if (!first) out += ',';
      first = false;
      out += "{\"timeUnixNano\":\"" + std::to_string(r.ts_ns) + "\",\"severityNumber\":" +
             std::to_string(static_cast<int>(r.level)) + ",\"severityText\":\"" +
             std::string(LevelName(r.level)) + "\",\"body\":{\"stringValue\":";
      AppendJsonString(out, r.message);
      out += "}";
      if (!r.trace_id.empty()) out += ",\"traceId\":\"" + r.trace_id + "\"";
      if (!r.span_id.empty()) out += ",\"spanId\":\"" + r.span_id + "\"";
      if (!r.attributes.empty()) {
        out += ",\"attributes\":";
        AppendAttributesAsKeyValues(out, r.attributes);
      }
      out += '}';
    }
    out += "]}]}";
  }
  out += "]}";
  return out;
}

Result<OtlpTraces> DecodeOtlpTraces(std::string_view json) {
  Result<Json::Value> root = ParseRequest(json, "resourceSpans");
  if (!root.ok()) return root.status();
  OtlpTraces out;
  const auto reject = [&](const std::string& why) {
    ++out.rejected;
    if (out.first_error.empty()) out.first_error = why;
  };
  for (const Json::Value& rs : (*root)["resourceSpans"]) {
    const std::string service = ServiceName(rs["resource"]);
    const std::string resource = KeyValuesJson(rs["resource"]["attributes"], "service.name");
    for (const Json::Value& ss : ScopeGroups(rs, "scopeSpans", "instrumentationLibrarySpans")) {
      const Json::Value& scope = ss.isMember("scope") ? ss["scope"] : ss["instrumentationLibrary"];
      const std::string scope_name = Clean(scope["name"].asString());
      for (const Json::Value& s : ss["spans"]) {
        Span span;
        std::string why;
        if (!s.isObject()) {
          reject("span is not an object");
          continue;
        }
        if (!ReadIds(s, true, &span.trace_id, &span.span_id, &why)) {
          reject(why);
          continue;
        }
        span.parent_span_id = LowerHex(s["parentSpanId"]);
        if (!span.parent_span_id.empty() && !IsValidSpanId(span.parent_span_id)) {
          reject("invalid parentSpanId '" + Clean(span.parent_span_id) + "'");
          continue;
        }
        int64_t start = 0, end = 0;
        if (!ReadInt64(s["startTimeUnixNano"], &start) || !ReadInt64(s["endTimeUnixNano"], &end)) {
          reject("span " + span.span_id + " has no valid startTimeUnixNano/endTimeUnixNano");
          continue;
        }
        span.start_ns = start;
        span.duration_ns = end > start ? end - start : 0;
        span.name = Clean(s["name"].asString());
        span.trace_state = Clean(s["traceState"].asString());
        span.service = service;
        span.resource = resource;
        span.scope = scope_name;
        int64_t kind = 0;
        if (ReadInt64(s["kind"], &kind) && kind >= 0 && kind <= 5) span.kind = static_cast<SpanKind>(kind);
        int64_t code = 0;
        if (ReadInt64(s["status"]["code"], &code) && code >= 0 && code <= 2) {
          span.status = static_cast<SpanStatus>(code);
        }
        span.status_message = Clean(s["status"]["message"].asString());
        span.attributes = KeyValuesJson(s["attributes"]);
        const Json::Value& events = s["events"];
        if (events.isArray() && !events.empty()) {
          span.events = "[";
          for (Json::ArrayIndex i = 0; i < events.size(); ++i) {
            int64_t t = 0;
            ReadInt64(events[i]["timeUnixNano"], &t);
            if (i) span.events += ',';
            span.events += "{\"time_ns\":" + std::to_string(t) + ",\"name\":";
            AppendJsonString(span.events, Clean(events[i]["name"].asString()));
            span.events += ",\"attributes\":";
            AppendKeyValues(span.events, events[i]["attributes"], nullptr);
            span.events += '}';
          }
          span.events += ']';
        }
        out.spans.push_back(std::move(span));
      }
    }
  }
  return out;
}

Result<OtlpLogs> DecodeOtlpLogs(std::string_view json) {
  Result<Json::Value> root = ParseRequest(json, "resourceLogs");
  if (!root.ok()) return root.status();
  OtlpLogs out;
  for (const Json::Value& rl : (*root)["resourceLogs"]) {
    const std::string service = ServiceName(rl["resource"]);
    for (const Json::Value& sl : ScopeGroups(rl, "scopeLogs", "instrumentationLibraryLogs")) {
      for (const Json::Value& l : sl["logRecords"]) {
        LogRecord r;
        std::string why;
        if (!l.isObject() || !ReadIds(l, false, &r.trace_id, &r.span_id, &why)) {
          ++out.rejected;
          if (out.first_error.empty()) out.first_error = why.empty() ? "log record is not an object" : why;
          continue;
        }
        r.service = service;
        if (!ReadInt64(l["timeUnixNano"], &r.ts_ns) || r.ts_ns == 0) {
          ReadInt64(l["observedTimeUnixNano"], &r.ts_ns);
        }
        int64_t severity = 0;
        if (ReadInt64(l["severityNumber"], &severity) && LevelFromSeverityNumber(static_cast<int>(severity))) {
          r.level = *LevelFromSeverityNumber(static_cast<int>(severity));
        } else if (auto level = ParseLogLevel(l["severityText"].asString())) {
          r.level = *level;
        }
        const Json::Value& body = l["body"];
        if (body.isObject() && body["stringValue"].isString()) {
          r.message = Clean(body["stringValue"].asString());
        } else if (body.isObject()) {
          AppendAnyValue(r.message, body);
        }
        r.attributes = KeyValuesJson(l["attributes"]);
        out.records.push_back(std::move(r));
      }
    }
  }
  return out;
}

std::string OtlpTracesResponse(const OtlpTraces& decoded) {
  return PartialSuccess("rejectedSpans", decoded.rejected, decoded.first_error);
}

std::string OtlpLogsResponse(const OtlpLogs& decoded) {
  return PartialSuccess("rejectedLogRecords", decoded.rejected, decoded.first_error);
}

}  // namespace mesh

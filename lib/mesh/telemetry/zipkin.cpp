#include "mesh/telemetry/zipkin.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "mesh/base/json_tape.h"
#include "mesh/base/json_text.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"

namespace mesh {
namespace {

std::string LowerHex(const Json::Value& v) {
  std::string s = v.isString() ? v.asString() : "";
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// jsoncpp's accessors throw on a value of the wrong type (asString() of an object, asInt64()
// of a number past int64, operator[] of a string). Untrusted input must be rejected as data,
// never unwind through meshd's handler, so every read below goes through these checks.
std::string Text(const Json::Value& v) {
  return v.isConvertibleTo(Json::stringValue) ? v.asString() : std::string();
}
const Json::Value& Field(const Json::Value& object, const char* name) {
  static const Json::Value kNull;
  return object.isObject() ? object[name] : kNull;
}
// Epoch microseconds that are not negative and still fit in int64 once made nanoseconds.
bool IsMicros(const Json::Value& v) {
  return v.isInt64() && v.asInt64() >= 0 && v.asInt64() <= INT64_MAX / 1000;
}

SpanKind KindOf(const std::string& kind) {
  if (kind == "SERVER") return SpanKind::kServer;
  if (kind == "CLIENT") return SpanKind::kClient;
  if (kind == "PRODUCER") return SpanKind::kProducer;
  if (kind == "CONSUMER") return SpanKind::kConsumer;
  return SpanKind::kUnspecified;
}

// Nanoseconds as Zipkin's microseconds, rounded down; negative times have no Zipkin form.
int64_t Micros(int64_t ns) { return std::max<int64_t>(ns, 0) / 1000; }

// Attributes as string tags. A Zipkin "error" tag means the span failed, so it is written from
// the status alone: an attribute of that name would turn a healthy span into a failed one.
void AppendTags(std::string& out, const Span& s) {
  thread_local JsonTape t;
  const bool error = s.status == SpanStatus::kError;
  bool comma = false;
  const auto open = [&] {
    out += comma ? "," : ",\"tags\":{";
    comma = true;
  };
  if (!s.attributes.empty() && t.Parse(s.attributes).ok() &&
      t.node(t.root()).kind == JsonKind::kObject) {
    t.ForEachChild(t.root(), [&](uint32_t m) {
      const JsonTape::Node& n = t.node(m);
      if ((n.key_escaped ? UnescapeJsonString(n.key) : std::string(n.key)) == "error") return;
      open();
      out += '"';
      out += n.key;
      out += "\":";
      if (n.kind == JsonKind::kString)
        out += n.raw;
      else
        AppendJsonString(out, n.raw);
    });
  }
  if (error) {
    open();
    out += "\"error\":";
    AppendJsonString(out, s.status_message);
  }
  if (comma) out += '}';
}

void AppendAnnotations(std::string& out, const std::string& events) {
  thread_local JsonTape t;
  if (events.empty() || !t.Parse(events).ok()) return;
  bool comma = false;
  t.ForEachChild(t.root(), [&](uint32_t e) {
    if (t.node(e).kind != JsonKind::kObject) return;
    out += comma ? "," : ",\"annotations\":[";
    comma = true;
    const uint32_t time = t.Member(e, "time_ns");
    int64_t ns = 0;
    if (time != JsonTape::kNone && t.node(time).kind == JsonKind::kNumber) {
      const std::string_view raw = t.node(time).raw;
      std::from_chars(raw.data(), raw.data() + raw.size(), ns);
    }
    out += "{\"timestamp\":" + std::to_string(Micros(ns)) + ",\"value\":";
    AppendJsonString(out, t.StringMember(e, "name"));
    out += '}';
  });
  if (comma) out += ']';
}

}  // namespace

Result<OtlpTraces> DecodeZipkinSpans(std::string_view json) {
  Result<Json::Value> root = ParseJson(json);
  if (!root.ok()) return root.status();
  if (!root->isArray()) return Status::InvalidArgument("expected a JSON array of Zipkin v2 spans");
  OtlpTraces out;
  const auto reject = [&](const std::string& why) {
    ++out.rejected;
    if (out.first_error.empty()) out.first_error = why;
  };
  for (const Json::Value& z : *root) {
    if (!z.isObject()) {
      reject("span is not an object");
      continue;
    }
    Span s;
    s.trace_id = LowerHex(z["traceId"]);
    if (s.trace_id.size() == 16) s.trace_id = std::string(16, '0') + s.trace_id;
    s.span_id = LowerHex(z["id"]);
    s.parent_span_id = LowerHex(z["parentId"]);
    if (!IsValidTraceId(s.trace_id)) {
      reject("invalid traceId '" + SanitizedUtf8(Text(z["traceId"])) + "' (expected 16 or 32 hex digits)");
      continue;
    }
    if (!IsValidSpanId(s.span_id)) {
      reject("invalid id '" + SanitizedUtf8(Text(z["id"])) + "' (expected 16 hex digits)");
      continue;
    }
    if (!s.parent_span_id.empty() && !IsValidSpanId(s.parent_span_id)) {
      reject("invalid parentId '" + SanitizedUtf8(Text(z["parentId"])) + "'");
      continue;
    }
    if (!IsMicros(z["timestamp"]) || (!z["duration"].isNull() && !IsMicros(z["duration"]))) {
      reject("span " + s.span_id + " needs integer timestamp and duration in microseconds");
      continue;
    }
    s.start_ns = z["timestamp"].asInt64() * 1000;
    s.duration_ns = z["duration"].isNull() ? 0 : z["duration"].asInt64() * 1000;
    s.name = SanitizedUtf8(Text(z["name"]));
    s.kind = KindOf(Text(z["kind"]));
    s.service = SanitizedUtf8(Text(Field(z["localEndpoint"], "serviceName")));
    if (s.service.empty()) s.service = "unknown_service";
    const Json::Value& tags = z["tags"];
    if (tags.isObject() && !tags.empty()) {
      s.attributes = "{";
      for (auto it = tags.begin(); it != tags.end(); ++it) {
        if (s.attributes.size() > 1) s.attributes += ',';
        AppendJsonString(s.attributes, SanitizedUtf8(it.name()));
        s.attributes += ':';
        AppendJsonString(s.attributes, SanitizedUtf8(Text(*it)));
      }
      s.attributes += '}';
      if (tags.isMember("error")) {
        s.status = SpanStatus::kError;
        s.status_message = SanitizedUtf8(Text(tags["error"]));
      }
    }
    const Json::Value& annotations = z["annotations"];
    if (annotations.isArray() && !annotations.empty()) {
      s.events = "[";
      for (const Json::Value& a : annotations) {
        if (!a.isObject()) continue;
        if (s.events.size() > 1) s.events += ',';
        const int64_t at = IsMicros(a["timestamp"]) ? a["timestamp"].asInt64() * 1000 : 0;
        s.events += "{\"time_ns\":" + std::to_string(at) + ",\"name\":";
        AppendJsonString(s.events, SanitizedUtf8(Text(a["value"])));
        s.events += ",\"attributes\":{}}";
      }
      s.events += ']';
    }
    out.spans.push_back(std::move(s));
  }
  return out;
}

std::string EncodeZipkinSpans(const std::vector<Span>& spans) {
  std::string out = "[";
  for (const Span& s : spans) {
    if (out.size() > 1) out += ',';
    out += "{\"traceId\":";
    AppendJsonString(out, s.trace_id);
    out += ",\"id\":";
    AppendJsonString(out, s.span_id);
    if (!s.parent_span_id.empty()) {
      out += ",\"parentId\":";
      AppendJsonString(out, s.parent_span_id);
    }
    out += ",\"name\":";
    AppendJsonString(out, s.name);
    if (s.kind != SpanKind::kUnspecified && s.kind != SpanKind::kInternal) {
      out += ",\"kind\":\"";
      out += SpanKindName(s.kind);
      out += '"';
    }
    int64_t duration = Micros(s.duration_ns);
    if (duration == 0 && s.duration_ns > 0) duration = 1;
    out += ",\"timestamp\":" + std::to_string(Micros(s.start_ns)) +
           ",\"duration\":" + std::to_string(duration) + ",\"localEndpoint\":{\"serviceName\":";
    AppendJsonString(out, s.service);
    out += '}';
    AppendTags(out, s);
    AppendAnnotations(out, s.events);
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace mesh

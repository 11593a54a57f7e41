#include "mesh/zipkin.h"

#include <cctype>

#include "mesh/json_text.h"
#include "mesh/trace_id.h"
#include "mesh/utf8.h"

namespace mesh {
namespace {

std::string Clean(const std::string& s) {
  if (IsCleanUtf8(s)) return s;
  std::string out;
  AppendSanitizedUtf8(out, s);
  return out;
}

std::string LowerHex(const Json::Value& v) {
  std::string s = v.isString() ? v.asString() : "";
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

SpanKind KindOf(const std::string& kind) {
  if (kind == "SERVER") return SpanKind::kServer;
  if (kind == "CLIENT") return SpanKind::kClient;
  if (kind == "PRODUCER") return SpanKind::kProducer;
  if (kind == "CONSUMER") return SpanKind::kConsumer;
  return SpanKind::kUnspecified;
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
      reject("invalid traceId '" + Clean(z["traceId"].asString()) + "' (expected 16 or 32 hex digits)");
      continue;
    }
    if (!IsValidSpanId(s.span_id)) {
      reject("invalid id '" + Clean(z["id"].asString()) + "' (expected 16 hex digits)");
      continue;
    }
    if (!s.parent_span_id.empty() && !IsValidSpanId(s.parent_span_id)) {
      reject("invalid parentId '" + Clean(z["parentId"].asString()) + "'");
      continue;
    }
    if (!z["timestamp"].isIntegral() || (!z["duration"].isNull() && !z["duration"].isIntegral())) {
      reject("span " + s.span_id + " needs integer timestamp and duration in microseconds");
      continue;
    }
    s.start_ns = z["timestamp"].asInt64() * 1000;
    s.duration_ns = z["duration"].isNull() ? 0 : z["duration"].asInt64() * 1000;
    s.name = Clean(z["name"].asString());
    s.kind = KindOf(z["kind"].asString());
    s.service = Clean(z["localEndpoint"]["serviceName"].asString());
    if (s.service.empty()) s.service = "unknown_service";
    const Json::Value& tags = z["tags"];
    if (tags.isObject() && !tags.empty()) {
      s.attributes = "{";
      for (auto it = tags.begin(); it != tags.end(); ++it) {
        if (s.attributes.size() > 1) s.attributes += ',';
        AppendJsonString(s.attributes, Clean(it.name()));
        s.attributes += ':';
        AppendJsonString(s.attributes, Clean(it->asString()));
      }
      s.attributes += '}';
      if (tags.isMember("error")) {
        s.status = SpanStatus::kError;
        s.status_message = Clean(tags["error"].asString());
      }
    }
    const Json::Value& annotations = z["annotations"];
    if (annotations.isArray() && !annotations.empty()) {
      s.events = "[";
      for (Json::ArrayIndex i = 0; i < annotations.size(); ++i) {
        if (i) s.events += ',';
        s.events += "{\"time_ns\":" + std::to_string(annotations[i]["timestamp"].asInt64() * 1000) + ",\"name\":";
        AppendJsonString(s.events, Clean(annotations[i]["value"].asString()));
        s.events += ",\"attributes\":{}}";
      }
      s.events += ']';
    }
    out.spans.push_back(std::move(s));
  }
  return out;
}

}  // namespace mesh

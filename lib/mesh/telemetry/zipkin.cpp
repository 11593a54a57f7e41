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

// Zipkin endpoints as attributes, named as the OpenTelemetry Collector's Zipkin receiver names
// them: the remote side as peer.service, net.peer.ip, net.peer.port; the local address (its
// serviceName is the span's service) as net.host.ip, net.host.port. Encoding reads them back.
struct EndpointKeys {
  const char* service;  // nullptr: the serviceName is not an attribute
  const char* ip;
  const char* port;
};
constexpr EndpointKeys kRemoteEndpoint = {"peer.service", "net.peer.ip", "net.peer.port"};
constexpr EndpointKeys kLocalEndpoint = {nullptr, "net.host.ip", "net.host.port"};

// Whether an attribute goes into an endpoint when encoding (EndpointMembers takes strings for
// names and addresses, numbers for ports); any other stays a tag, so nothing is lost.
bool GoesToAnEndpoint(std::string_view key, JsonKind kind) {
  for (const EndpointKeys& k : {kRemoteEndpoint, kLocalEndpoint}) {
    if (kind == JsonKind::kString && ((k.service != nullptr && key == k.service) || key == k.ip)) return true;
    if (kind == JsonKind::kNumber && key == k.port) return true;
  }
  return false;
}

// Appends the endpoint's fields to `attributes` (a JSON object's text, or empty); a tag of the
// same name was sent explicitly and wins.
void AppendEndpointAttributes(std::string& attributes, const Json::Value& endpoint, const EndpointKeys& keys,
                              const Json::Value& tags) {
  if (!endpoint.isObject()) return;
  const auto add = [&](const char* key, const std::string& json_value) {
    if (tags.isObject() && tags.isMember(key)) return;
    if (attributes.empty()) attributes = "{";
    else attributes.back() = ',';
    AppendJsonString(attributes, key);
    attributes += ':' + json_value + '}';
  };
  const auto text = [](const Json::Value& v) {
    std::string out;
    AppendJsonString(out, SanitizedUtf8(Text(v)));
    return out;
  };
  if (keys.service != nullptr && !Text(endpoint["serviceName"]).empty()) add(keys.service, text(endpoint["serviceName"]));
  if (!Text(endpoint["ipv6"]).empty()) add(keys.ip, text(endpoint["ipv6"]));
  else if (!Text(endpoint["ipv4"]).empty()) add(keys.ip, text(endpoint["ipv4"]));
  const Json::Value& port = endpoint["port"];
  if (port.isInt() && port.asInt() > 0 && port.asInt() <= 65535) add(keys.port, std::to_string(port.asInt()));
}

// The endpoint an attributes object describes, as Zipkin JSON members (without braces), or "".
std::string EndpointMembers(const JsonTape& t, const EndpointKeys& keys) {
  std::string out;
  const auto member = [&](const char* name, const std::string& json_value) {
    if (!out.empty()) out += ',';
    out += '"';
    out += name;
    out += "\":" + json_value;
  };
  if (keys.service != nullptr) {
    const uint32_t service = t.Member(t.root(), keys.service);
    if (service != JsonTape::kNone && t.node(service).kind == JsonKind::kString) {
      member("serviceName", std::string(t.node(service).raw));
    }
  }
  const uint32_t ip = t.Member(t.root(), keys.ip);
  if (ip != JsonTape::kNone && t.node(ip).kind == JsonKind::kString) {
    member(t.String(ip).find(':') != std::string::npos ? "ipv6" : "ipv4", std::string(t.node(ip).raw));
  }
  const uint32_t port = t.Member(t.root(), keys.port);
  if (port != JsonTape::kNone && t.node(port).kind == JsonKind::kNumber) {
    member("port", std::string(t.node(port).raw));
  }
  return out;
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
      const std::string key = n.key_escaped ? UnescapeJsonString(n.key) : std::string(n.key);
      // The endpoints' fields go back into the endpoints, not the tags.
      if (key == "error" || GoesToAnEndpoint(key, n.kind)) return;
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
    AppendEndpointAttributes(s.attributes, z["remoteEndpoint"], kRemoteEndpoint, tags);
    AppendEndpointAttributes(s.attributes, z["localEndpoint"], kLocalEndpoint, tags);
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
    thread_local JsonTape t;
    const bool attributes = !s.attributes.empty() && t.Parse(s.attributes).ok() &&
                            t.node(t.root()).kind == JsonKind::kObject;
    if (attributes) {
      if (std::string local = EndpointMembers(t, kLocalEndpoint); !local.empty()) out += ',' + local;
    }
    out += '}';
    if (attributes) {
      if (std::string remote = EndpointMembers(t, kRemoteEndpoint); !remote.empty()) {
        out += ",\"remoteEndpoint\":{" + remote + '}';
      }
    }
    AppendTags(out, s);
    AppendAnnotations(out, s.events);
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace mesh

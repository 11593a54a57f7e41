#include "mesh/telemetry/otlp.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "mesh/base/base64.h"
#include "mesh/base/json_scan.h"
#include "mesh/base/json_tape.h"
#include "mesh/base/json_text.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"

namespace mesh {
namespace {

// Decoding walks the body with the JSON scanner rather than building a jsoncpp tree: the
// scanner validates once and hands out views, so a span costs a few string copies instead of
// a tree of allocations. Measured on 1000-span batches this is what lets meshd ingest at the
// rate the issue asks for. String values are copied as the JSON text they already are.

using Tape = JsonTape;
constexpr uint32_t kNone = JsonTape::kNone;

bool KeyIs(const Tape::Node& n, std::string_view name) {
  return n.key_escaped ? UnescapeJsonString(n.key) == name : n.key == name;
}

// A 64-bit integer sent as a decimal string (the OTLP JSON rule) or as a JSON number.
bool ReadInt64(const Tape& t, uint32_t i, int64_t* out) {
  if (i == kNone) return false;
  const Tape::Node& n = t.node(i);
  std::string_view text = n.raw;
  if (n.kind == JsonKind::kString) {
    text = text.substr(1, text.size() - 2);
  } else if (n.kind != JsonKind::kNumber) {
    return false;
  }
  const auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size()) return true;
  // 1.764e18 and the like: a number JSON writers produce for big integers.
  const std::string copy(text);
  char* end = nullptr;
  const double d = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(d) || std::fabs(d) > 9.2e18) {
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

void AppendKeyValues(std::string& out, const Tape& t, uint32_t list, std::string_view skip_key,
                     std::span<const std::string_view> renamed = {});

// An OTLP AnyValue as plain JSON, but for bytesValue: {"bytesValue":"<standard base64>"}, so
// that it stays bytes when encoded back (a JSON string would come back as a stringValue).
void AppendAnyValue(std::string& out, const Tape& t, uint32_t value) {
  const uint32_t first = value == kNone || t.node(value).kind != JsonKind::kObject ? kNone : t.node(value).first_child;
  if (first == kNone) {
    out += "null";
    return;
  }
  const Tape::Node& m = t.node(first);
  if (KeyIs(m, "stringValue")) {
    if (m.kind == JsonKind::kString) out += m.raw;  // already JSON string text
    else out += "null";
  } else if (KeyIs(m, "bytesValue")) {
    // AttributesProblem has refused what is not base64; a log body is not checked.
    const std::optional<std::string> bytes =
        m.kind == JsonKind::kString ? Base64Decode(t.String(first)) : std::nullopt;
    if (bytes) {
      out += "{\"bytesValue\":\"" + Base64Encode(*bytes) + "\"}";
    } else {
      out += "null";
    }
  } else if (KeyIs(m, "intValue")) {
    int64_t n = 0;
    out += ReadInt64(t, first, &n) ? std::to_string(n) : "null";
  } else if (KeyIs(m, "doubleValue")) {
    if (m.kind == JsonKind::kNumber) AppendJsonDouble(out, std::strtod(std::string(m.raw).c_str(), nullptr));
    else out += "null";  // "NaN", "Infinity": no JSON number for them
  } else if (KeyIs(m, "boolValue")) {
    out += m.kind == JsonKind::kTrue ? "true" : "false";
  } else if (KeyIs(m, "arrayValue")) {
    out += '[';
    bool comma = false;
    t.ForEachChild(t.Member(first, "values"), [&](uint32_t element) {
      if (comma) out += ',';
      comma = true;
      AppendAnyValue(out, t, element);
    });
    out += ']';
  } else if (KeyIs(m, "kvlistValue")) {
    AppendKeyValues(out, t, t.Member(first, "values"), {});
  } else {
    out += "null";
  }
}

// [{"key":k,"value":AnyValue}, ...] as a JSON object, leaving out `skip_key`; a key among
// `renamed` gets "_raw" appended.
void AppendKeyValues(std::string& out, const Tape& t, uint32_t list, std::string_view skip_key,
                     std::span<const std::string_view> renamed) {
  out += '{';
  bool comma = false;
  t.ForEachChild(list, [&](uint32_t kv) {
    const uint32_t key = t.Member(kv, "key");
    if (key == kNone || t.node(key).kind != JsonKind::kString) return;
    const std::string name = t.String(key);
    if (!skip_key.empty() && name == skip_key) return;
    if (comma) out += ',';
    comma = true;
    if (std::find(renamed.begin(), renamed.end(), name) != renamed.end()) {
      AppendJsonString(out, name + "_raw");
    } else {
      out += t.node(key).raw;
    }
    out += ':';
    AppendAnyValue(out, t, t.Member(kv, "value"));
  });
  out += '}';
}

std::string KeyValuesJson(const Tape& t, uint32_t list, std::string_view skip_key = {},
                          std::span<const std::string_view> renamed = {}) {
  if (list == kNone || t.node(list).first_child == kNone) return {};
  std::string out;
  AppendKeyValues(out, t, list, skip_key, renamed);
  return out == "{}" ? std::string() : out;
}

std::string ServiceName(const Tape& t, uint32_t resource) {
  std::string name;
  t.ForEachChild(t.Member(resource, "attributes"), [&](uint32_t kv) {
    if (!name.empty() || t.StringMember(kv, "key") != "service.name") return;
    name = t.StringMember(t.Member(kv, "value"), "stringValue");
  });
  return name.empty() ? "unknown_service" : name;
}

std::string LowerHex(const Tape& t, uint32_t obj, std::string_view name) {
  std::string s = t.StringMember(obj, name);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Printable(const std::string& s) {
  std::string out;
  AppendSanitizedUtf8(out, s.substr(0, 64));
  return out;
}

// A list member that must be a JSON array when present (null counts as absent), as protojson
// requires: a scalar or object there is a malformed request, not an empty list.
Status CheckList(const Tape& t, uint32_t node, const char* name) {
  if (node == kNone || t.node(node).kind == JsonKind::kNull || t.node(node).kind == JsonKind::kArray) {
    return Status::Ok();
  }
  return Status::InvalidArgument(std::string(name) + " must be an array");
}

// An OTLP enum: its number, or its protojson name (SPAN_KIND_SERVER); nullopt when neither or
// out of [0, max].
std::optional<int64_t> ReadEnum(const Tape& t, uint32_t node, const std::vector<std::string_view>& names,
                                int64_t max) {
  const Tape::Node& n = t.node(node);
  if (n.kind == JsonKind::kString) {
    const std::string text = t.String(node);
    for (size_t i = 0; i < names.size(); ++i) {
      if (text == names[i]) return static_cast<int64_t>(i);
    }
  }
  // A number, or a number in a string as some exporters send every integer.
  std::string_view text = n.raw;
  if (n.kind == JsonKind::kString) text = text.substr(1, text.size() - 2);
  else if (n.kind != JsonKind::kNumber) return std::nullopt;
  int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

// Why a JSON string (its raw text, quotes included) cannot be stored as it was sent, or "": a
// \u escape of a lone UTF-16 surrogate is no character at all, and a NUL is refused where a
// name is expected (`nul_allowed` false). The OpenTelemetry Collector refuses both; storing a
// replacement character instead would change the data silently.
std::string JsonStringProblem(std::string_view raw, bool nul_allowed) {
  for (size_t i = raw.find("\\u"); i != std::string_view::npos; i = raw.find("\\u", i + 2)) {
    // An escaped backslash ("\\\\u") is not an escape of u: count the backslashes before.
    size_t backslashes = 0;
    while (i >= backslashes + 1 && raw[i - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 1 || i + 6 > raw.size()) continue;
    const unsigned cp = static_cast<unsigned>(std::strtoul(std::string(raw.substr(i + 2, 4)).c_str(), nullptr, 16));
    if (cp == 0 && !nul_allowed) return "a name must not contain NUL";
    if (cp >= 0xDC00 && cp <= 0xDFFF) return "a lone UTF-16 surrogate (\\u" + std::string(raw.substr(i + 2, 4)) + ")";
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      const bool paired = i + 12 <= raw.size() && raw.substr(i + 6, 2) == "\\u" &&
                          (raw[i + 8] == 'd' || raw[i + 8] == 'D') &&
                          std::string_view("cdefCDEF").find(raw[i + 9]) != std::string_view::npos;
      if (!paired) return "a lone UTF-16 surrogate (\\u" + std::string(raw.substr(i + 2, 4)) + ")";
      i += 6;  // the low half is part of this character
    }
  }
  return {};
}

// Why the attributes list (and the AnyValues in it) is malformed, or "" when it is fine:
// not an array, an entry without a string key, an intValue that is not a 64-bit integer, a
// bytesValue that is not base64, an arrayValue or kvlistValue whose values are not a list.
std::string AttributesProblem(const Tape& t, uint32_t list, int depth = 0) {
  if (list == kNone || t.node(list).kind == JsonKind::kNull) return {};
  if (t.node(list).kind != JsonKind::kArray) return "attributes must be an array";
  if (depth > kMaxAttributeDepth) return "attributes nest too deeply";
  std::string why;
  std::function<void(uint32_t)> check_value = [&](uint32_t value) {
    if (!why.empty() || value == kNone || t.node(value).kind != JsonKind::kObject) return;
    const uint32_t first = t.node(value).first_child;
    if (first == kNone) return;
    const Tape::Node& m = t.node(first);
    int64_t n = 0;
    if (KeyIs(m, "stringValue") && m.kind == JsonKind::kString) {
      why = JsonStringProblem(m.raw, true);
    } else if (KeyIs(m, "intValue") && !ReadInt64(t, first, &n)) {
      why = "intValue must be a 64-bit integer";
    } else if (KeyIs(m, "bytesValue") && (m.kind != JsonKind::kString || !Base64Decode(t.String(first)))) {
      why = "bytesValue must be base64";
    } else if (KeyIs(m, "arrayValue")) {
      const uint32_t values = t.Member(first, "values");
      if (values != kNone && t.node(values).kind != JsonKind::kArray) why = "arrayValue.values must be an array";
      t.ForEachChild(values, check_value);
    } else if (KeyIs(m, "kvlistValue")) {
      const std::string inner = AttributesProblem(t, t.Member(first, "values"), depth + 1);
      if (!inner.empty()) why = inner;
    }
  };
  t.ForEachChild(list, [&](uint32_t kv) {
    if (!why.empty()) return;
    const uint32_t key = t.Member(kv, "key");
    if (key == kNone || t.node(key).kind != JsonKind::kString) {
      why = "an attribute has no string key";
      return;
    }
    if (std::string problem = JsonStringProblem(t.node(key).raw, false); !problem.empty()) {
      why = "attribute key: " + problem;
      return;
    }
    check_value(t.Member(kv, "value"));
  });
  return why;
}

// The ids of a span or log record: false (with why) when present but malformed.
bool ReadIds(const Tape& t, uint32_t obj, bool ids_required, std::string* trace_id,
             std::string* span_id, std::string* why) {
  *trace_id = LowerHex(t, obj, "traceId");
  *span_id = LowerHex(t, obj, "spanId");
  if (!ids_required && trace_id->empty() && span_id->empty()) return true;
  if (!IsValidTraceId(*trace_id)) {
    *why = "invalid traceId '" + Printable(*trace_id) + "' (expected 32 hex digits, not all zero)";
    return false;
  }
  if (!(span_id->empty() && !ids_required) && !IsValidSpanId(*span_id)) {
    *why = "invalid spanId '" + Printable(*span_id) + "' (expected 16 hex digits, not all zero)";
    return false;
  }
  return true;
}

// Parses the body (made valid UTF-8 first) and returns its top-level list (resourceSpans,
// resourceLogs), or kNone when it has none.
Result<uint32_t> TopList(std::string_view json, std::string& clean, Tape& t, const char* top_key) {
  if (!IsCleanUtf8(json)) {
    AppendSanitizedUtf8(clean, json);
    json = clean;
  }
  if (Status s = t.Parse(json); !s.ok()) return s;
  if (t.node(t.root()).kind != JsonKind::kObject) return Status::InvalidArgument("expected a JSON object");
  const uint32_t list = t.Member(t.root(), top_key);
  if (list == kNone || t.node(list).kind == JsonKind::kNull) return kNone;
  if (t.node(list).kind != JsonKind::kArray) {
    return Status::InvalidArgument(std::string(top_key) + " must be an array");
  }
  return list;
}

// Scope groups under their current name, or the name OTLP used before 0.15.
uint32_t ScopeGroups(const Tape& t, uint32_t resource_entry, const char* name, const char* legacy) {
  const uint32_t groups = t.Member(resource_entry, name);
  return groups != kNone ? groups : t.Member(resource_entry, legacy);
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

void AppendMembersAsKeyValues(std::string& out, const Tape& t, uint32_t object, bool comma);

// A plain JSON value as an OTLP AnyValue: integers that fit int64 stay intValue, other numbers
// doubleValue. Strings and keys are copied as the JSON text they already are and objects keep
// their member order, so decoding gives back the same text.
void AppendAsAnyValue(std::string& out, const Tape& t, uint32_t i) {
  const Tape::Node& n = t.node(i);
  switch (n.kind) {
    case JsonKind::kString:
      out += "{\"stringValue\":";
      out += n.raw;
      out += '}';
      break;
    case JsonKind::kNumber: {
      int64_t v = 0;
      const auto r = std::from_chars(n.raw.data(), n.raw.data() + n.raw.size(), v);
      if (r.ec == std::errc() && r.ptr == n.raw.data() + n.raw.size()) {
        out += "{\"intValue\":\"" + std::to_string(v) + "\"}";
      } else {
        out += "{\"doubleValue\":";
        AppendJsonDouble(out, std::strtod(std::string(n.raw).c_str(), nullptr));
        out += '}';
      }
      break;
    }
    case JsonKind::kTrue:
      out += "{\"boolValue\":true}";
      break;
    case JsonKind::kFalse:
      out += "{\"boolValue\":false}";
      break;
    case JsonKind::kNull:
      out += "{}";
      break;
    case JsonKind::kArray: {
      out += "{\"arrayValue\":{\"values\":[";
      bool comma = false;
      t.ForEachChild(i, [&](uint32_t element) {
        if (comma) out += ',';
        comma = true;
        AppendAsAnyValue(out, t, element);
      });
      out += "]}}";
      break;
    }
    case JsonKind::kObject:
      if (const uint32_t bytes = StoredBytesValue(t, i); bytes != kNone) {
        out += "{\"bytesValue\":";
        out += t.node(bytes).raw;
        out += '}';
        break;
      }
      out += "{\"kvlistValue\":{\"values\":[";
      AppendMembersAsKeyValues(out, t, i, false);
      out += "]}}";
      break;
  }
}

// The members of a JSON object node as {"key":k,"value":AnyValue} entries, comma-separated
// (with a leading comma when `comma`).
void AppendMembersAsKeyValues(std::string& out, const Tape& t, uint32_t object, bool comma) {
  if (object == kNone || t.node(object).kind != JsonKind::kObject) return;
  t.ForEachChild(object, [&](uint32_t member) {
    if (comma) out += ',';
    comma = true;
    out += "{\"key\":\"";
    out += t.node(member).key;
    out += "\",\"value\":";
    AppendAsAnyValue(out, t, member);
    out += '}';
  });
}

// Attributes keep their order (a tape, not a jsoncpp map, which would sort them), so that a
// record sent to meshd prints exactly as it does from the local store. Text that is not a
// JSON object adds nothing.
void AppendObjectAsKeyValues(std::string& out, std::string_view object, bool comma) {
  if (object.empty()) return;
  thread_local Tape t;
  if (t.Parse(object).ok()) AppendMembersAsKeyValues(out, t, t.root(), comma);
}

void AppendAttributesAsKeyValues(std::string& out, const std::string& attributes) {
  out += '[';
  AppendObjectAsKeyValues(out, attributes, false);
  out += ']';
}

void AppendEvents(std::string& out, std::string_view events) {
  thread_local Tape t;
  if (events.empty() || !t.Parse(events).ok() || t.node(t.root()).kind != JsonKind::kArray) return;
  out += ",\"events\":[";
  bool comma = false;
  t.ForEachChild(t.root(), [&](uint32_t e) {
    if (t.node(e).kind != JsonKind::kObject) return;
    if (comma) out += ',';
    comma = true;
    int64_t time = 0;
    ReadInt64(t, t.Member(e, "time_ns"), &time);
    out += "{\"timeUnixNano\":\"" + std::to_string(time) + "\",\"name\":";
    const uint32_t name = t.Member(e, "name");
    out += name != kNone && t.node(name).kind == JsonKind::kString ? t.node(name).raw : "\"\"";
    out += ",\"attributes\":[";
    AppendMembersAsKeyValues(out, t, t.Member(e, "attributes"), false);
    out += "]}";
  });
  out += ']';
}

// Span::links as OTLP links.
void AppendLinks(std::string& out, std::string_view links) {
  thread_local Tape t;
  if (links.empty() || !t.Parse(links).ok() || t.node(t.root()).kind != JsonKind::kArray) return;
  out += ",\"links\":[";
  bool comma = false;
  t.ForEachChild(t.root(), [&](uint32_t l) {
    if (t.node(l).kind != JsonKind::kObject) return;
    if (comma) out += ',';
    comma = true;
    out += "{\"traceId\":";
    AppendJsonString(out, t.StringMember(l, "trace_id"));
    out += ",\"spanId\":";
    AppendJsonString(out, t.StringMember(l, "span_id"));
    if (const std::string state = t.StringMember(l, "trace_state"); !state.empty()) {
      out += ",\"traceState\":";
      AppendJsonString(out, state);
    }
    out += ",\"attributes\":[";
    AppendMembersAsKeyValues(out, t, t.Member(l, "attributes"), false);
    out += "]}";
  });
  out += ']';
}

void AppendOtlpSpan(std::string& out, const Span& s) {
  out += "{\"traceId\":";
  AppendJsonString(out, s.trace_id);
  out += ",\"spanId\":";
  AppendJsonString(out, s.span_id);
  if (!s.parent_span_id.empty()) {
    out += ",\"parentSpanId\":";
    AppendJsonString(out, s.parent_span_id);
  }
  if (!s.trace_state.empty()) {
    out += ",\"traceState\":";
    AppendJsonString(out, s.trace_state);
  }
  out += ",\"name\":";
  AppendJsonString(out, s.name);
  int64_t end = 0;
  if (__builtin_add_overflow(s.start_ns, std::max<int64_t>(s.duration_ns, 0), &end))
    end = INT64_MAX;
  out += ",\"kind\":" + std::to_string(static_cast<int>(s.kind)) + ",\"startTimeUnixNano\":\"" +
         std::to_string(s.start_ns) + "\",\"endTimeUnixNano\":\"" + std::to_string(end) + '"';
  if (!s.attributes.empty()) {
    out += ",\"attributes\":";
    AppendAttributesAsKeyValues(out, s.attributes);
  }
  AppendEvents(out, s.events);
  AppendLinks(out, s.links);
  if (s.status != SpanStatus::kUnset || !s.status_message.empty()) {
    out += ",\"status\":{\"code\":" + std::to_string(static_cast<int>(s.status));
    if (!s.status_message.empty()) {
      out += ",\"message\":";
      AppendJsonString(out, s.status_message);
    }
    out += '}';
  }
  out += '}';
}

}  // namespace

uint32_t StoredBytesValue(const JsonTape& t, uint32_t object) {
  const uint32_t member = t.node(object).first_child;
  if (member == kNone || t.node(member).next_sibling != kNone || !KeyIs(t.node(member), "bytesValue") ||
      t.node(member).kind != JsonKind::kString) {
    return kNone;
  }
  // Only the text the decoders write (standard alphabet, padded, no escapes): a kvlist that
  // merely looks like it stays a kvlist, so decode -> encode -> decode gives the same text.
  const std::string_view raw = t.node(member).raw;
  const std::optional<std::string> bytes = Base64Decode(raw.substr(1, raw.size() - 2));
  return bytes && Base64Encode(*bytes) == raw.substr(1, raw.size() - 2) ? member : kNone;
}

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

std::string EncodeOtlpTraces(const std::vector<Span>& spans) {
  struct Scope {
    std::string_view name;
    std::string_view version;
    std::string_view attributes;
    std::vector<const Span*> spans;
  };
  struct Resource {
    std::string_view service;
    std::string_view attributes;
    std::vector<Scope> scopes;
  };
  std::vector<Resource> resources;
  for (const Span& s : spans) {
    auto r = std::find_if(resources.begin(), resources.end(), [&](const Resource& x) {
      return x.service == s.service && x.attributes == s.resource;
    });
    if (r == resources.end()) r = resources.insert(r, Resource{s.service, s.resource, {}});
    auto scope = std::find_if(r->scopes.begin(), r->scopes.end(),
                              [&](const Scope& x) {
                                return x.name == s.scope && x.version == s.scope_version &&
                                       x.attributes == s.scope_attributes;
                              });
    if (scope == r->scopes.end()) {
      scope = r->scopes.insert(scope, Scope{s.scope, s.scope_version, s.scope_attributes, {}});
    }
    scope->spans.push_back(&s);
  }
  std::string out = "{\"resourceSpans\":[";
  for (size_t r = 0; r < resources.size(); ++r) {
    if (r) out += ',';
    out += "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":";
    AppendJsonString(out, resources[r].service);
    out += "}}";
    AppendObjectAsKeyValues(out, resources[r].attributes, true);
    out += "]},\"scopeSpans\":[";
    for (size_t i = 0; i < resources[r].scopes.size(); ++i) {
      const Scope& scope = resources[r].scopes[i];
      if (i) out += ',';
      out += "{\"scope\":{\"name\":";
      AppendJsonString(out, scope.name);
      if (!scope.version.empty()) {
        out += ",\"version\":";
        AppendJsonString(out, scope.version);
      }
      if (!scope.attributes.empty()) {
        out += ",\"attributes\":";
        AppendAttributesAsKeyValues(out, std::string(scope.attributes));
      }
      out += "},\"spans\":[";
      for (size_t k = 0; k < scope.spans.size(); ++k) {
        if (k) out += ',';
        AppendOtlpSpan(out, *scope.spans[k]);
      }
      out += "]}";
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

Result<OtlpTraces> DecodeOtlpTraces(std::string_view json) {
  std::string clean;
  thread_local Tape t;
  Result<uint32_t> resources = TopList(json, clean, t, "resourceSpans");
  if (!resources.ok()) return resources.status();
  OtlpTraces out;
  const auto reject = [&](const std::string& why) {
    ++out.rejected;
    if (out.first_error.empty()) out.first_error = why;
  };
  // Lists that are not lists make the whole request malformed (protojson refuses it).
  Status structure;
  t.ForEachChild(*resources, [&](uint32_t rs) {
    const uint32_t groups = ScopeGroups(t, rs, "scopeSpans", "instrumentationLibrarySpans");
    if (structure.ok()) structure = CheckList(t, groups, "scopeSpans");
    t.ForEachChild(groups, [&](uint32_t ss) {
      if (structure.ok()) structure = CheckList(t, t.Member(ss, "spans"), "spans");
    });
  });
  if (!structure.ok()) return structure;
  t.ForEachChild(*resources, [&](uint32_t rs) {
    const uint32_t resource_node = t.Member(rs, "resource");
    const std::string service = ServiceName(t, resource_node);
    const std::string resource = KeyValuesJson(t, t.Member(resource_node, "attributes"), "service.name");
    // A resource that cannot be stored as sent takes its spans with it.
    const std::string resource_problem = AttributesProblem(t, t.Member(resource_node, "attributes"));
    t.ForEachChild(ScopeGroups(t, rs, "scopeSpans", "instrumentationLibrarySpans"), [&](uint32_t ss) {
      uint32_t scope = t.Member(ss, "scope");
      if (scope == kNone) scope = t.Member(ss, "instrumentationLibrary");
      const std::string scope_name = t.StringMember(scope, "name");
      const std::string scope_version = t.StringMember(scope, "version");
      const std::string scope_attributes = KeyValuesJson(t, t.Member(scope, "attributes"));
      // A scope that cannot be stored as sent takes its spans with it, as a resource does.
      const std::string scope_problem = AttributesProblem(t, t.Member(scope, "attributes"));
      t.ForEachChild(t.Member(ss, "spans"), [&](uint32_t s) {
        Span span;
        std::string why;
        if (t.node(s).kind != JsonKind::kObject) return reject("span is not an object");
        if (!resource_problem.empty()) return reject("resource: " + resource_problem);
        if (!scope_problem.empty()) return reject("scope: " + scope_problem);
        if (!ReadIds(t, s, true, &span.trace_id, &span.span_id, &why)) return reject(why);
        span.parent_span_id = LowerHex(t, s, "parentSpanId");
        if (!span.parent_span_id.empty() && !IsValidSpanId(span.parent_span_id)) {
          return reject("invalid parentSpanId '" + Printable(span.parent_span_id) + "'");
        }
        int64_t start = 0, end = 0;
        if (!ReadInt64(t, t.Member(s, "startTimeUnixNano"), &start) ||
            !ReadInt64(t, t.Member(s, "endTimeUnixNano"), &end)) {
          return reject("span " + span.span_id + " has no valid startTimeUnixNano/endTimeUnixNano");
        }
        if (start < 0 || end < 0) return reject("span " + span.span_id + " has a negative time");
        span.start_ns = start;
        span.duration_ns = end > start ? end - start : 0;
        const uint32_t name = t.Member(s, "name");
        if (name != kNone && t.node(name).kind != JsonKind::kString) {
          return reject("span " + span.span_id + ": name must be a string");
        }
        if (std::string why_attrs = AttributesProblem(t, t.Member(s, "attributes")); !why_attrs.empty()) {
          return reject("span " + span.span_id + ": " + why_attrs);
        }
        span.name = t.StringMember(s, "name");
        span.trace_state = t.StringMember(s, "traceState");
        span.service = service;
        span.resource = resource;
        span.scope = scope_name;
        span.scope_version = scope_version;
        span.scope_attributes = scope_attributes;
        if (const uint32_t kind = t.Member(s, "kind"); kind != kNone) {
          const std::optional<int64_t> k = ReadEnum(
              t, kind, {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                        "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"}, 5);
          if (!k) return reject("span " + span.span_id + ": kind must be 0..5 or a SPAN_KIND_ name");
          span.kind = static_cast<SpanKind>(*k);
        }
        const uint32_t status = t.Member(s, "status");
        if (const uint32_t code = t.Member(status, "code"); code != kNone) {
          const std::optional<int64_t> c =
              ReadEnum(t, code, {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"}, 2);
          if (!c) return reject("span " + span.span_id + ": status.code must be 0..2 or a STATUS_CODE_ name");
          span.status = static_cast<SpanStatus>(*c);
        }
        span.status_message = t.StringMember(status, "message");
        span.attributes = KeyValuesJson(t, t.Member(s, "attributes"));
        const uint32_t events = t.Member(s, "events");
        if (events != kNone && t.node(events).first_child != kNone) {
          span.events = "[";
          t.ForEachChild(events, [&](uint32_t e) {
            int64_t time = 0;
            ReadInt64(t, t.Member(e, "timeUnixNano"), &time);
            if (span.events.size() > 1) span.events += ',';
            span.events += "{\"time_ns\":" + std::to_string(time) + ",\"name\":";
            AppendJsonString(span.events, t.StringMember(e, "name"));
            span.events += ",\"attributes\":";
            AppendKeyValues(span.events, t, t.Member(e, "attributes"), {});
            span.events += '}';
          });
          span.events += ']';
        }
        // A link names a span: one with malformed ids rejects the span, as its own ids would.
        const uint32_t links = t.Member(s, "links");
        if (Status list = CheckList(t, links, "links"); !list.ok()) {
          return reject("span " + span.span_id + ": " + list.message());
        }
        if (links != kNone && t.node(links).first_child != kNone) {
          span.links = "[";
          t.ForEachChild(links, [&](uint32_t l) {
            std::string link_trace, link_span;
            if (!why.empty() || !ReadIds(t, l, true, &link_trace, &link_span, &why)) return;
            if (span.links.size() > 1) span.links += ',';
            span.links += "{\"trace_id\":\"" + link_trace + "\",\"span_id\":\"" + link_span + '"';
            if (const std::string state = t.StringMember(l, "traceState"); !state.empty()) {
              span.links += ",\"trace_state\":";
              AppendJsonString(span.links, state);
            }
            span.links += ",\"attributes\":";
            AppendKeyValues(span.links, t, t.Member(l, "attributes"), {});
            span.links += '}';
          });
          span.links += ']';
          if (!why.empty()) return reject("span " + span.span_id + ": link: " + why);
        }
        out.spans.push_back(std::move(span));
      });
    });
  });
  return out;
}

Result<OtlpLogs> DecodeOtlpLogs(std::string_view json) {
  std::string clean;
  thread_local Tape t;
  Result<uint32_t> resources = TopList(json, clean, t, "resourceLogs");
  if (!resources.ok()) return resources.status();
  OtlpLogs out;
  Status structure;
  t.ForEachChild(*resources, [&](uint32_t rl) {
    const uint32_t groups = ScopeGroups(t, rl, "scopeLogs", "instrumentationLibraryLogs");
    if (structure.ok()) structure = CheckList(t, groups, "scopeLogs");
    t.ForEachChild(groups, [&](uint32_t sl) {
      if (structure.ok()) structure = CheckList(t, t.Member(sl, "logRecords"), "logRecords");
    });
  });
  if (!structure.ok()) return structure;
  t.ForEachChild(*resources, [&](uint32_t rl) {
    const std::string service = ServiceName(t, t.Member(rl, "resource"));
    const std::string resource_problem = AttributesProblem(t, t.Member(t.Member(rl, "resource"), "attributes"));
    t.ForEachChild(ScopeGroups(t, rl, "scopeLogs", "instrumentationLibraryLogs"), [&](uint32_t sl) {
      t.ForEachChild(t.Member(sl, "logRecords"), [&](uint32_t l) {
        LogRecord r;
        std::string why;
        if (!resource_problem.empty()) {
          ++out.rejected;
          if (out.first_error.empty()) out.first_error = "resource: " + resource_problem;
          return;
        }
        if (t.node(l).kind != JsonKind::kObject || !ReadIds(t, l, false, &r.trace_id, &r.span_id, &why)) {
          ++out.rejected;
          if (out.first_error.empty()) out.first_error = why.empty() ? "log record is not an object" : why;
          return;
        }
        r.service = service;
        const auto bad = [&](const std::string& why_record) {
          ++out.rejected;
          if (out.first_error.empty()) out.first_error = why_record;
        };
        // A time that is present must be a time: a malformed one is not "no time".
        for (const char* field : {"timeUnixNano", "observedTimeUnixNano"}) {
          const uint32_t node = t.Member(l, field);
          int64_t v = 0;
          if (node != kNone && t.node(node).kind != JsonKind::kNull && (!ReadInt64(t, node, &v) || v < 0)) {
            return bad(std::string(field) + " must be a non-negative 64-bit integer");
          }
        }
        if (!ReadInt64(t, t.Member(l, "timeUnixNano"), &r.ts_ns) || r.ts_ns == 0) {
          ReadInt64(t, t.Member(l, "observedTimeUnixNano"), &r.ts_ns);
        }
        std::optional<int64_t> severity;
        if (const uint32_t node = t.Member(l, "severityNumber"); node != kNone && t.node(node).kind != JsonKind::kNull) {
          severity = ReadEnum(t, node, {}, 24);
          if (!severity) return bad("severityNumber must be 0..24");
        }
        if (std::string why_attrs = AttributesProblem(t, t.Member(l, "attributes")); !why_attrs.empty()) {
          return bad(why_attrs);
        }
        if (severity && LevelFromSeverityNumber(static_cast<int>(*severity))) {
          r.level = *LevelFromSeverityNumber(static_cast<int>(*severity));
        } else if (auto level = ParseLogLevel(t.StringMember(l, "severityText"))) {
          r.level = *level;
        }
        const uint32_t body = t.Member(l, "body");
        const uint32_t text = t.Member(body, "stringValue");
        if (text != kNone && t.node(text).kind == JsonKind::kString) {
          r.message = t.String(text);
        } else if (body != kNone) {
          AppendAnyValue(r.message, t, body);
        }
        r.attributes = KeyValuesJson(t, t.Member(l, "attributes"), {}, kLogRecordMembers);
        out.records.push_back(std::move(r));
      });
    });
  });
  return out;
}

std::string OtlpTracesResponse(const OtlpTraces& decoded) {
  return PartialSuccess("rejectedSpans", decoded.rejected, decoded.first_error);
}

std::string OtlpLogsResponse(const OtlpLogs& decoded) {
  return PartialSuccess("rejectedLogRecords", decoded.rejected, decoded.first_error);
}

std::string OtlpMetricsResponse(int64_t rejected, const std::string& first_error) {
  return PartialSuccess("rejectedDataPoints", rejected, first_error);
}

}  // namespace mesh

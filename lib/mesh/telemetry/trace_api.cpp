#include "mesh/telemetry/trace_api.h"

#include <algorithm>
#include <cctype>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"

namespace mesh {
namespace {

const std::string* Param(const std::map<std::string, std::string>& q, const char* key) {
  auto it = q.find(key);
  return it == q.end() || it->second.empty() ? nullptr : &it->second;
}

Status Malformed(const std::string& why) { return Status::InvalidArgument("not a trace list: " + why); }

// jsoncpp throws when asked for a member as the wrong type, so each one is checked first.
Result<TraceSummary> DecodeSummary(const Json::Value& v) {
  if (!v.isObject()) return Malformed("an entry is not an object");
  TraceSummary t;
  for (const auto& [key, field] : {std::pair<const char*, std::string*>{"trace_id", &t.trace_id},
                                   {"root_service", &t.root_service},
                                   {"root_name", &t.root_name}}) {
    if (v[key].isNull()) continue;
    if (!v[key].isString()) return Malformed(std::string(key) + " is not a string");
    *field = v[key].asString();
  }
  for (const auto& [key, field] : {std::pair<const char*, int64_t*>{"start_ns", &t.start_ns},
                                   {"duration_ns", &t.duration_ns},
                                   {"span_count", &t.span_count}}) {
    if (v[key].isNull()) continue;
    if (!v[key].isInt64()) return Malformed(std::string(key) + " is not an integer");
    *field = v[key].asInt64();
  }
  if (t.trace_id.empty()) return Malformed("an entry has no trace_id");
  const Json::Value& services = v["services"];
  if (!services.isNull()) {
    if (!services.isArray()) return Malformed("services is not an array");
    for (const Json::Value& s : services) {
      if (!s.isString()) return Malformed("a service is not a string");
      t.services.push_back(s.asString());
    }
  }
  if (!v["error"].isNull()) {
    if (!v["error"].isBool()) return Malformed("error is not a boolean");
    t.has_error = v["error"].asBool();
  }
  return t;
}

}  // namespace

std::map<std::string, std::string> TraceFilterToQuery(const TraceFilter& f) {
  std::map<std::string, std::string> q;
  if (!f.service.empty()) q["service"] = f.service;
  if (!f.operation.empty()) q["operation"] = f.operation;
  // Nanoseconds, so that any duration survives the trip exactly.
  if (f.min_duration_ns) q["min_duration"] = std::to_string(*f.min_duration_ns) + "ns";
  if (f.max_duration_ns) q["max_duration"] = std::to_string(*f.max_duration_ns) + "ns";
  if (f.errors_only) q["errors"] = "true";
  if (f.attribute) q["attr"] = f.attribute->key + "=" + f.attribute->value;
  if (!f.trace_id_prefix.empty()) q["trace_prefix"] = f.trace_id_prefix;
  if (f.since_ns) q["since"] = FormatUnixSeconds(*f.since_ns);
  if (f.until_ns) q["until"] = FormatUnixSeconds(*f.until_ns);
  return q;
}

Result<TraceFilter> TraceFilterFromQuery(const std::map<std::string, std::string>& q, int64_t now_ns) {
  TraceFilter f;
  if (const std::string* v = Param(q, "service")) f.service = *v;
  if (const std::string* v = Param(q, "operation")) f.operation = *v;
  for (const char* key : {"min_duration", "max_duration"}) {
    const std::string* v = Param(q, key);
    if (!v) continue;
    Result<int64_t> d = ParseDuration(*v);
    if (!d.ok()) return Status::InvalidArgument("parameter " + std::string(key) + ": " + d.status().message());
    (std::string(key) == "min_duration" ? f.min_duration_ns : f.max_duration_ns) = *d;
  }
  for (const char* key : {"since", "until"}) {
    const std::string* v = Param(q, key);
    if (!v) continue;
    Result<int64_t> t = ParseTimeSpec(*v, now_ns);
    if (!t.ok()) return Status::InvalidArgument("parameter " + std::string(key) + ": " + t.status().message());
    (std::string(key) == "since" ? f.since_ns : f.until_ns) = *t;
  }
  if (const std::string* v = Param(q, "errors")) {
    if (*v != "true" && *v != "1" && *v != "false" && *v != "0") {
      return Status::InvalidArgument("parameter errors: '" + *v + "' is not true, 1, false or 0");
    }
    f.errors_only = *v == "true" || *v == "1";
  }
  if (const std::string* v = Param(q, "attr")) {
    Result<AttributeMatch> match = ParseAttributeMatch(*v);
    if (!match.ok()) return Status::InvalidArgument("parameter attr: " + match.status().message());
    f.attribute = std::move(match).value();
  }
  if (const std::string* v = Param(q, "trace_prefix")) {
    std::string prefix = *v;
    for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool hex = std::all_of(prefix.begin(), prefix.end(),
                                 [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    if (!hex || prefix.size() > 32) {
      return Status::InvalidArgument("parameter trace_prefix: '" + *v + "' is not 1 to 32 hex digits");
    }
    f.trace_id_prefix = std::move(prefix);
  }
  return f;
}

Result<AttributeMatch> ParseAttributeMatch(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not key=value");
  }
  return AttributeMatch{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

void AppendJson(std::string& out, const TraceSummary& t) {
  out += "{\"trace_id\":";
  AppendJsonString(out, t.trace_id);
  out += ",\"start\":\"" + FormatRfc3339(t.start_ns) + "\",\"start_ns\":" + std::to_string(t.start_ns) +
         ",\"duration_ns\":" + std::to_string(t.duration_ns) + ",\"root_service\":";
  AppendJsonString(out, t.root_service);
  out += ",\"root_name\":";
  AppendJsonString(out, t.root_name);
  out += ",\"span_count\":" + std::to_string(t.span_count) + ",\"services\":[";
  for (size_t k = 0; k < t.services.size(); ++k) {
    if (k) out += ',';
    AppendJsonString(out, t.services[k]);
  }
  out += "],\"error\":";
  out += t.has_error ? "true" : "false";
  out += '}';
}

std::string EncodeTraceList(const std::vector<TraceSummary>& traces) {
  std::string out = "{\"traces\":[";
  for (size_t i = 0; i < traces.size(); ++i) {
    if (i) out += ',';
    AppendJson(out, traces[i]);
  }
  out += "]}";
  return out;
}

Result<std::vector<TraceSummary>> DecodeTraceList(std::string_view json) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return doc.status();
  if (!doc->isObject() || !(*doc)["traces"].isArray()) return Malformed("no traces array");
  std::vector<TraceSummary> out;
  for (const Json::Value& v : (*doc)["traces"]) {
    Result<TraceSummary> t = DecodeSummary(v);
    if (!t.ok()) return t.status();
    out.push_back(std::move(t).value());
  }
  return out;
}

}  // namespace mesh

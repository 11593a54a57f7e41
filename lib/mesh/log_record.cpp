#include "mesh/log_record.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <initializer_list>

#include "mesh/json_text.h"
#include "mesh/time_format.h"
#include "mesh/trace_id.h"

namespace mesh {
namespace {

// Removes and returns the first member of obj named in `names`, or null.
Json::Value TakeFirst(Json::Value& obj, std::initializer_list<const char*> names,
                      std::string* taken_name) {
  for (const char* name : names) {
    if (obj.isMember(name)) {
      Json::Value v;
      obj.removeMember(name, &v);
      *taken_name = name;
      return v;
    }
  }
  return Json::Value::nullSingleton();
}

// Keeps a value we could not interpret as an attribute, without colliding with the canonical
// names the JSON form prints itself.
void KeepAsAttribute(Json::Value& obj, const std::string& name, Json::Value value) {
  static constexpr std::string_view kCanonical[] = {"timestamp", "level",   "service",
                                                    "message",   "trace_id", "span_id"};
  for (std::string_view c : kCanonical) {
    if (name == c) {
      obj[name + "_raw"] = std::move(value);
      return;
    }
  }
  obj[name] = std::move(value);
}

bool ParseTimestampValue(const Json::Value& v, int64_t* ns) {
  if (v.isNumeric()) {
    if (v.isInt64() && v.asInt64() > 100'000'000'000'000'000LL) {
      *ns = v.asInt64();  // nanoseconds: keep every digit rather than going through double
      return true;
    }
    *ns = UnixTimestampToNs(v.asDouble());
    return true;
  }
  if (!v.isString()) return false;
  const std::string s = v.asString();
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) && s.find('-') == std::string::npos) {
    int64_t whole = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), whole);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size() && whole > 100'000'000'000'000'000LL) {
      *ns = whole;
      return true;
    }
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return false;
    *ns = UnixTimestampToNs(d);
    return true;
  }
  Result<int64_t> parsed = ParseRfc3339(s);
  if (!parsed.ok()) return false;
  *ns = *parsed;
  return true;
}

bool ParseLevelValue(const Json::Value& v, LogLevel* level) {
  if (v.isString()) {
    const auto parsed = ParseLogLevel(v.asString());
    if (!parsed) return false;
    *level = *parsed;
    return true;
  }
  if (v.isIntegral()) {
    const int64_t n = v.asInt64();
    // pino/bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
    if (n >= 10 && n <= 60 && n % 10 == 0) {
      static constexpr LogLevel kPino[] = {LogLevel::kDebug, LogLevel::kDebug, LogLevel::kInfo,
                                           LogLevel::kWarn,  LogLevel::kError, LogLevel::kFatal};
      *level = kPino[n / 10 - 1];
      return true;
    }
    const auto parsed = LevelFromSeverityNumber(static_cast<int>(n));
    if (!parsed) return false;
    *level = *parsed;
    return true;
  }
  return false;
}

std::string Lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string TextOf(const Json::Value& v) {
  if (v.isString()) return v.asString();
  std::string out;
  AppendJsonValue(out, v);
  return out;
}

}  // namespace

int64_t UnixTimestampToNs(double value) {
  const double magnitude = std::fabs(value);
  double ns;
  if (magnitude < 1e11) ns = value * 1e9;
  else if (magnitude < 1e14) ns = value * 1e6;
  else if (magnitude < 1e17) ns = value * 1e3;
  else ns = value;
  if (!std::isfinite(ns) || std::fabs(ns) > 9.2e18) return 0;
  return static_cast<int64_t>(std::llround(ns));
}

void AppendJson(std::string& out, const LogRecord& r) {
  out += "{\"timestamp\":\"";
  out += FormatRfc3339(r.ts_ns);
  out += "\",\"level\":\"";
  out += LevelName(r.level);
  out += "\",\"service\":";
  AppendJsonString(out, r.service);
  out += ",\"message\":";
  AppendJsonString(out, r.message);
  if (!r.trace_id.empty()) {
    out += ",\"trace_id\":";
    AppendJsonString(out, r.trace_id);
  }
  if (!r.span_id.empty()) {
    out += ",\"span_id\":";
    AppendJsonString(out, r.span_id);
  }
  // Attributes are stored as a compact object we wrote ourselves: splice its members in.
  if (r.attributes.size() > 2 && r.attributes.front() == '{' && r.attributes.back() == '}') {
    out += ',';
    out.append(r.attributes, 1, r.attributes.size() - 2);
  }
  out += '}';
}

std::string ToJson(const LogRecord& record) {
  std::string out;
  AppendJson(out, record);
  return out;
}

Result<LogRecord> LogRecordFromJson(std::string_view json, const LogRecord& defaults) {
  Result<Json::Value> parsed = ParseJson(json);
  if (!parsed.ok()) return parsed.status();
  Json::Value& obj = *parsed;
  if (!obj.isObject()) return Status::InvalidArgument("not a JSON object");

  LogRecord r = defaults;
  std::string name;

  Json::Value ts = TakeFirst(obj, {"timestamp", "time", "ts", "@timestamp"}, &name);
  if (!ts.isNull() && !ParseTimestampValue(ts, &r.ts_ns)) KeepAsAttribute(obj, name, ts);

  Json::Value level = TakeFirst(obj, {"level", "severity", "lvl", "loglevel"}, &name);
  if (!level.isNull() && !ParseLevelValue(level, &r.level)) KeepAsAttribute(obj, name, level);

  Json::Value message = TakeFirst(obj, {"message", "msg"}, &name);
  if (!message.isNull()) r.message = TextOf(message);

  Json::Value service = TakeFirst(obj, {"service"}, &name);
  if (service.isString() && !service.asString().empty()) {
    r.service = service.asString();
  } else if (!service.isNull()) {
    KeepAsAttribute(obj, name, service);
  }

  Json::Value trace = TakeFirst(obj, {"trace_id", "traceId"}, &name);
  if (trace.isString() && IsValidTraceId(Lowercase(trace.asString()))) {
    r.trace_id = Lowercase(trace.asString());
  } else if (!trace.isNull() && !(trace.isString() && trace.asString().empty())) {
    KeepAsAttribute(obj, name, trace);
  }

  Json::Value span = TakeFirst(obj, {"span_id", "spanId"}, &name);
  if (span.isString() && IsValidSpanId(Lowercase(span.asString()))) {
    r.span_id = Lowercase(span.asString());
  } else if (!span.isNull() && !(span.isString() && span.asString().empty())) {
    KeepAsAttribute(obj, name, span);
  }

  if (obj.empty()) {
    r.attributes.clear();
  } else {
    r.attributes.clear();
    AppendJsonValue(r.attributes, obj);
  }
  return r;
}

}  // namespace mesh

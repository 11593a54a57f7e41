#include "mesh/telemetry/log_api.h"

#include <charconv>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/url_encoding.h"

namespace mesh {
namespace {

Result<int64_t> ReadInt(const std::map<std::string, std::string>& q, const std::string& key) {
  const std::string& v = q.at(key);
  int64_t n = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < 0) {
    return Status::InvalidArgument("parameter " + key + "='" + v + "' is not a non-negative integer");
  }
  return n;
}

}  // namespace

std::string LogFilterToQuery(const LogFilter& f) {
  std::string q;
  const auto add = [&](const char* key, const std::string& value) {
    q += q.empty() ? "" : "&";
    q += key;
    q += '=';
    q += UrlEncode(value);
  };
  if (!f.services.empty()) {
    std::string joined;
    for (const std::string& s : f.services) joined += (joined.empty() ? "" : ",") + s;
    add("service", joined);
  }
  if (f.min_level) add("level", std::string(LevelName(*f.min_level)));
  if (f.since_ns) add("since", FormatUnixSeconds(*f.since_ns));
  if (f.until_ns) add("until", FormatUnixSeconds(*f.until_ns));
  if (!f.trace_id.empty()) add("trace_id", f.trace_id);
  if (!f.grep.empty()) add("grep", f.grep);
  if (f.max_cursor) add("max_cursor", std::to_string(*f.max_cursor));
  return q;
}

Result<LogFilter> LogFilterFromQuery(const std::map<std::string, std::string>& q, int64_t now_ns) {
  LogFilter f;
  if (q.count("service") && !q.at("service").empty()) {
    const std::string& list = q.at("service");
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = list.find(',', start);
      const std::string name = list.substr(start, comma - start);
      if (!name.empty()) f.services.push_back(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (q.count("level") && !q.at("level").empty()) {
    auto level = ParseLogLevel(q.at("level"));
    if (!level) return Status::InvalidArgument("unknown level '" + q.at("level") + "'");
    f.min_level = *level;
  }
  for (const char* key : {"since", "until"}) {
    if (!q.count(key) || q.at(key).empty()) continue;
    Result<int64_t> t = ParseTimeSpec(q.at(key), now_ns);
    if (!t.ok()) return t.status().WithContext(std::string("parameter ") + key);
    (std::string(key) == "since" ? f.since_ns : f.until_ns) = *t;
  }
  if (q.count("trace_id") && !q.at("trace_id").empty()) {
    if (!IsValidTraceId(q.at("trace_id"))) {
      return Status::InvalidArgument("invalid trace_id '" + q.at("trace_id") + "'");
    }
    f.trace_id = q.at("trace_id");
  }
  if (q.count("grep")) f.grep = q.at("grep");
  if (q.count("max_cursor")) {
    Result<int64_t> n = ReadInt(q, "max_cursor");
    if (!n.ok()) return n.status();
    f.max_cursor = *n;
  }
  return f;
}

std::string EncodeLogPage(const std::vector<LogRecord>& records, int64_t latest_cursor) {
  std::string out = "{\"cursor\":" + std::to_string(latest_cursor) + ",\"records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) out += ',';
    out += "{\"cursor\":" + std::to_string(records[i].id) + ",\"record\":";
    AppendJson(out, records[i]);
    out += '}';
  }
  out += "]}";
  return out;
}

Result<LogPage> DecodeLogPage(const std::string& json) {
  // Scanned rather than parsed into a jsoncpp tree, which would sort each record's attributes.
  std::vector<JsonMember> top;
  if (Status s = ScanJsonObject(json, top); !s.ok()) return s;
  LogPage page;
  std::string_view records;
  for (const JsonMember& m : top) {
    if (m.key == "cursor" && m.kind == JsonKind::kNumber) {
      std::from_chars(m.value.data(), m.value.data() + m.value.size(), page.cursor);
    } else if (m.key == "records" && m.kind == JsonKind::kArray) {
      records = m.value;
    }
  }
  if (records.empty()) return Status::InvalidArgument("not a logs page: no records array");
  std::vector<std::string_view> entries;
  if (Status s = ScanJsonArray(records, entries); !s.ok()) return s;
  std::vector<JsonMember> fields;
  for (std::string_view entry : entries) {
    if (Status s = ScanJsonObject(entry, fields); !s.ok()) return s;
    LogRecord record;
    bool have_record = false;
    for (const JsonMember& m : fields) {
      if (m.key == "cursor" && m.kind == JsonKind::kNumber) {
        std::from_chars(m.value.data(), m.value.data() + m.value.size(), record.id);
      } else if (m.key == "record" && m.kind == JsonKind::kObject) {
        const int64_t id = record.id;
        Result<LogRecord> r = LogRecordFromJson(m.value, LogRecord{});
        if (!r.ok()) return r.status();
        record = std::move(r).value();
        record.id = id;
        have_record = true;
      }
    }
    if (!have_record) return Status::InvalidArgument("not a logs page: an entry has no record");
    page.records.push_back(std::move(record));
  }
  return page;
}

std::string EncodeLevelCounts(const std::vector<LevelCount>& counts) {
  std::string out = "{\"stats\":[";
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i) out += ',';
    out += "{\"service\":";
    AppendJsonString(out, counts[i].service);
    out += ",\"level\":\"" + std::string(LevelName(counts[i].level)) + "\",\"count\":" +
           std::to_string(counts[i].count) + "}";
  }
  out += "]}";
  return out;
}

Result<std::vector<LevelCount>> DecodeLevelCounts(const std::string& json) {
  Result<Json::Value> root = ParseJson(json);
  if (!root.ok()) return root.status();
  if (!root->isObject() || !(*root)["stats"].isArray()) {
    return Status::InvalidArgument("not a stats answer: no stats array");
  }
  std::vector<LevelCount> out;
  for (const Json::Value& e : (*root)["stats"]) {
    // jsoncpp throws on a member of the wrong type (asString() of an object): check the shape
    // first so that a malformed answer comes back as an error value, not an exception.
    if (!e.isObject() || !e["service"].isString() || !e["level"].isString() ||
        !e["count"].isInt64()) {
      return Status::InvalidArgument("not a stats answer: an entry lacks service, level or count");
    }
    LevelCount c;
    c.service = e["service"].asString();
    c.level = ParseLogLevel(e["level"].asString()).value_or(LogLevel::kInfo);
    c.count = e["count"].asInt64();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace mesh

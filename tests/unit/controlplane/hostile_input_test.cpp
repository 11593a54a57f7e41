// Hostile text through every store and through meshd's HTTP ingest: SQL fragments, LIKE and
// glob wildcards, quotes, backslashes, JSON look-alikes, line breaks, non-ASCII and very long
// strings, as service names, span names, attribute keys and values, log messages, metric label
// values, registry metadata and silences. Each comes back byte for byte, the tables survive,
// and filters match them literally (never as a pattern).
#include <gtest/gtest.h>
#include <json/json.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "in_process_meshd.h"
#include "mesh/base/json_text.h"
#include "mesh/http/http_message.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/store/alert_store.h"
#include "mesh/store/log_store.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/registry.h"
#include "mesh/store/span_store.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/log_api.h"
#include "mesh/telemetry/prometheus_text.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_hostile_input_test {

using testing::InProcessMeshd;
using testing::TempDir;

const std::vector<std::string>& Hostile() {
  static const std::vector<std::string> kStrings = {
      "'; DROP TABLE spans; --",
      "Robert'); DROP TABLE logs;--",
      "\" OR \"1\"=\"1",
      "x' || (SELECT group_concat(sql) FROM sqlite_master) || '",
      "100%",
      "%",
      "_",
      "a_b%c",
      "?*[abc]^$.|+(){}",  // glob and regular-expression metacharacters
      "back\\slash \\\\ \\' \\\"",
      "C:\\Program Files\\mesh\\",
      "\xC3\xBCn\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9 \xE2\x98\x83 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x9A\x80",
      "{\"json\":[1,2,{\"nested\":null}]}",
      "\"},{\"injected\":true,\"x\":\"",
      "line one\nline two\r\nline three\ttabbed",
      "<script>alert(1)</script>",
      std::string(100'000, 'L') + "end",
  };
  return kStrings;
}

// A compact JSON object {"key": "value"} as the stores keep attributes.
std::string JsonObject(const std::string& key, const std::string& value) {
  std::string out = "{";
  AppendJsonString(out, key);
  out += ':';
  AppendJsonString(out, value);
  return out + "}";
}

std::string Hex(size_t i, size_t width) {
  std::string s = std::to_string(i + 1);
  return std::string(width - s.size(), '0') + s;
}

int64_t Now() { return SystemClock::Instance().NowNs(); }

// meshd's longest request target (HttpServer::Options::max_url_bytes).
constexpr size_t kMaxTarget = 8 << 10;

class HostileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }

  int64_t Count(const char* table) {
    Result<Statement> stmt = store_->db().Prepare(std::string("SELECT count(*) FROM ") + table);
    if (!stmt.ok() || !*stmt->Step()) return -1;
    return stmt->ColumnInt64(0);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(HostileStoreTest, SpansKeepHostileServicesNamesAndAttributes) {
  const auto& hostile = Hostile();
  const int64_t t0 = Now();
  std::vector<Span> spans;
  for (size_t i = 0; i < hostile.size(); ++i) {
    Span s;
    s.trace_id = Hex(i, 32);
    s.span_id = Hex(i, 16);
    s.service = hostile[i];
    s.name = hostile[i];
    s.start_ns = t0 + static_cast<int64_t>(i);
    s.duration_ns = 1000;
    s.status = SpanStatus::kError;
    s.status_message = hostile[i];
    s.attributes = JsonObject(hostile[i], hostile[i]);
    spans.push_back(s);
  }
  SpanStore store(*store_);
  ASSERT_TRUE(store.Insert(spans).ok());
  for (size_t i = 0; i < hostile.size(); ++i) {
    Result<std::vector<Span>> back = store.GetTrace(spans[i].trace_id);
    ASSERT_TRUE(back.ok()) << back.status().message();
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ(back->front().service, hostile[i]);
    EXPECT_EQ(back->front().name, hostile[i]);
    EXPECT_EQ(back->front().status_message, hostile[i]);
    EXPECT_EQ(back->front().attributes, spans[i].attributes);
    // Filters are equality, not patterns: "%" finds the trace of "%" only.
    for (TraceFilter f : {TraceFilter{.service = hostile[i]}, TraceFilter{.operation = hostile[i]}}) {
      f.since_ns = t0 - 1;
      Result<std::vector<TraceSummary>> found = store.ListTraces(f, 100);
      ASSERT_TRUE(found.ok()) << found.status().message();
      ASSERT_EQ(found->size(), 1u) << hostile[i].substr(0, 40);
      EXPECT_EQ(found->front().trace_id, spans[i].trace_id);
    }
  }
  EXPECT_EQ(Count("spans"), static_cast<int64_t>(hostile.size()));
}

TEST_F(HostileStoreTest, LogsKeepHostileServicesMessagesAndAttributesAndGrepIsLiteral) {
  const auto& hostile = Hostile();
  std::vector<LogRecord> records;
  for (size_t i = 0; i < hostile.size(); ++i) {
    LogRecord r;
    r.ts_ns = 1'000'000 + static_cast<int64_t>(i);
    r.service = hostile[i];
    r.message = hostile[i];
    r.attributes = JsonObject("k" + hostile[i], hostile[i]);
    records.push_back(r);
  }
  // A NUL inside a message is data too.
  LogRecord nul;
  nul.ts_ns = 2'000'000;
  nul.service = "nul";
  nul.message = std::string("before\0after", 12);
  records.push_back(nul);
  LogStore logs(*store_);
  ASSERT_TRUE(logs.Insert(records).ok());

  Result<std::vector<LogRecord>> all = logs.Tail({}, 1000);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ((*all)[i].service, records[i].service);
    EXPECT_EQ((*all)[i].message, records[i].message);
    EXPECT_EQ((*all)[i].attributes, records[i].attributes);
  }
  for (const std::string& h : hostile) {
    Result<std::vector<LogRecord>> one = logs.Tail({.services = {h}}, 1000);
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(one->size(), 1u) << h.substr(0, 40);
    EXPECT_EQ(one->front().message, h);
    // --grep is a substring test: the records whose message holds h, computed here by find.
    const size_t expected = std::count_if(records.begin(), records.end(), [&](const LogRecord& r) {
      return r.message.find(h) != std::string::npos;
    });
    Result<std::vector<LogRecord>> grep = logs.Tail({.grep = h}, 1000);
    ASSERT_TRUE(grep.ok());
    EXPECT_EQ(grep->size(), expected) << "grep " << h.substr(0, 40);
  }
  EXPECT_EQ(logs.Tail({.grep = "%"}, 1000)->size(), 3u);  // "100%", "%", "a_b%c" (LIKE: all)
  EXPECT_EQ(Count("logs"), static_cast<int64_t>(records.size()));
}

TEST_F(HostileStoreTest, MetricLabelValuesComeBackIntact) {
  const auto& hostile = Hostile();
  MetricFamily f{"hostile_labels", "labels an attacker chose", MetricType::kGauge, {}};
  for (size_t i = 0; i < hostile.size(); ++i) {
    f.samples.push_back({"hostile_labels", {{"i", std::to_string(i)}, {"value", hostile[i]}}, 1.0, {}});
  }
  MetricStore metrics(*store_);
  ASSERT_TRUE(metrics.InsertRows({f}, Now()).ok());
  Result<std::vector<MetricFamily>> latest = metrics.Latest(0);
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  std::map<std::string, std::string> by_index;
  for (const MetricFamily& family : *latest) {
    for (const MetricSample& s : family.samples) by_index[LabelValue(s.labels, "i")] = LabelValue(s.labels, "value");
  }
  ASSERT_EQ(by_index.size(), hostile.size());
  for (size_t i = 0; i < hostile.size(); ++i) EXPECT_EQ(by_index[std::to_string(i)], hostile[i]);
}

TEST_F(HostileStoreTest, RegistryAndSilencesKeepHostileText) {
  const auto& hostile = Hostile();
  Registry registry(*store_);
  AlertStore alerts(*store_);
  for (size_t i = 0; i < hostile.size(); ++i) {
    Instance in;
    in.id = hostile[i] + "@" + std::to_string(i);
    in.service = hostile[i];
    in.host = hostile[i];
    in.port = 1000 + static_cast<int>(i);
    in.meta = JsonObject(hostile[i], hostile[i]);
    in.registered_ns = in.heartbeat_ns = Now();
    in.ttl_ns = 60'000'000'000;
    ASSERT_TRUE(registry.Upsert(in).ok());
    Silence s;
    s.rule = s.service = s.comment = s.created_by = hostile[i];
    s.starts_ns = 1;
    s.ends_ns = INT64_MAX;
    ASSERT_TRUE(alerts.AddSilence(s).ok());
  }
  for (size_t i = 0; i < hostile.size(); ++i) {
    Result<std::vector<Instance>> found = registry.Instances(hostile[i]);
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u) << hostile[i].substr(0, 40);
    EXPECT_EQ(found->front().id, hostile[i] + "@" + std::to_string(i));
    EXPECT_EQ(found->front().host, hostile[i]);
    EXPECT_EQ(found->front().meta, JsonObject(hostile[i], hostile[i]));
    ASSERT_TRUE(registry.Heartbeat(found->front().id, Now()).ok());
  }
  Result<std::vector<Silence>> silences = alerts.Silences(2, false);
  ASSERT_TRUE(silences.ok());
  ASSERT_EQ(silences->size(), hostile.size());
  std::vector<std::string> comments;
  for (const Silence& s : *silences) {
    EXPECT_EQ(s.rule, s.comment);
    EXPECT_EQ(s.service, s.comment);
    EXPECT_EQ(s.created_by, s.comment);
    comments.push_back(s.comment);
  }
  std::vector<std::string> expected = hostile;
  std::sort(expected.begin(), expected.end());
  std::sort(comments.begin(), comments.end());
  EXPECT_EQ(comments, expected);
  EXPECT_EQ(Count("instances"), static_cast<int64_t>(hostile.size()));
}

// ---- through meshd's HTTP API ----------------------------------------------------------------

std::string ToJson(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "";
  b["emitUTF8"] = true;
  return Json::writeString(b, v);
}

Json::Value KeyValue(const std::string& key, const std::string& value) {
  Json::Value kv;
  kv["key"] = key;
  kv["value"]["stringValue"] = value;
  return kv;
}

Json::Value Parse(const std::string& text) {
  Json::Value v;
  Json::CharReaderBuilder b;
  std::string errors;
  std::istringstream in(text);
  EXPECT_TRUE(Json::parseFromStream(b, in, &v, &errors)) << errors << ": " << text.substr(0, 200);
  return v;
}

class HostileIngestTest : public ::testing::Test {
 protected:
  TempDir dir_;
  InProcessMeshd meshd_{dir_.File("mesh.db")};
};

TEST_F(HostileIngestTest, OtlpSpansComeBackFromTheApiIntact) {
  const auto& hostile = Hostile();
  const int64_t t0 = Now();
  Json::Value body;
  for (size_t i = 0; i < hostile.size(); ++i) {
    Json::Value rs;
    rs["resource"]["attributes"].append(KeyValue("service.name", hostile[i]));
    Json::Value span;
    span["traceId"] = Hex(i, 32);
    span["spanId"] = Hex(i, 16);
    span["name"] = hostile[i];
    span["kind"] = 2;
    span["startTimeUnixNano"] = std::to_string(t0 + static_cast<int64_t>(i));
    span["endTimeUnixNano"] = std::to_string(t0 + static_cast<int64_t>(i) + 1000);
    span["attributes"].append(KeyValue(hostile[i], hostile[i]));
    span["status"]["code"] = 2;
    span["status"]["message"] = hostile[i];
    rs["scopeSpans"][0]["spans"].append(span);
    body["resourceSpans"].append(rs);
  }
  const HttpClientResponse posted = meshd_.Request("POST", "/v1/traces", ToJson(body));
  ASSERT_EQ(posted.status, 200) << posted.body;
  ASSERT_EQ(posted.body, "{}") << "some spans were refused";

  for (size_t i = 0; i < hostile.size(); ++i) {
    const HttpClientResponse r = meshd_.Request("GET", "/v1/traces/" + Hex(i, 32));
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    const Json::Value span = Parse(r.body)["spans"][0];
    EXPECT_EQ(span["service"].asString(), hostile[i]);
    EXPECT_EQ(span["name"].asString(), hostile[i]);
    EXPECT_EQ(span["attributes"][hostile[i]].asString(), hostile[i]);
    EXPECT_EQ(span["attributes"].size(), 1u);

    const std::string query = "/v1/traces?since=" + std::to_string((t0 - 1'000'000'000) / 1'000'000'000) +
                              "&service=" + UrlEncode(hostile[i]) + "&operation=" + UrlEncode(hostile[i]);
    const HttpClientResponse listed = meshd_.Request("GET", query);
    if (query.size() > kMaxTarget) {  // the 100 kB string: too long for a URL, and said so
      // 414, or 431 when the target alone is past twice the head limit and the parser stops.
      EXPECT_TRUE(listed.status == 414 || listed.status == 431) << listed.status;
      continue;
    }
    ASSERT_EQ(listed.status, 200) << listed.body.substr(0, 300);
    const Json::Value traces = Parse(listed.body)["traces"];
    ASSERT_EQ(traces.size(), 1u) << hostile[i].substr(0, 40);
    EXPECT_EQ(traces[0]["trace_id"].asString(), Hex(i, 32));
  }
}

TEST_F(HostileIngestTest, OtlpLogsComeBackFromTheApiIntactAndGrepIsLiteral) {
  const auto& hostile = Hostile();
  const int64_t t0 = Now();
  Json::Value body;
  for (size_t i = 0; i < hostile.size(); ++i) {
    Json::Value rl;
    rl["resource"]["attributes"].append(KeyValue("service.name", hostile[i]));
    Json::Value record;
    record["timeUnixNano"] = std::to_string(t0 + static_cast<int64_t>(i));
    record["severityNumber"] = 17;
    record["body"]["stringValue"] = hostile[i];
    record["attributes"].append(KeyValue("k" + hostile[i], hostile[i]));
    rl["scopeLogs"][0]["logRecords"].append(record);
    body["resourceLogs"].append(rl);
  }
  const HttpClientResponse posted = meshd_.Request("POST", "/v1/logs", ToJson(body));
  ASSERT_EQ(posted.status, 200) << posted.body;
  ASSERT_EQ(posted.body, "{}") << "some records were refused";

  const HttpClientResponse r = meshd_.Request("GET", "/v1/logs?limit=1000");
  ASSERT_EQ(r.status, 200);
  Result<LogPage> page = DecodeLogPage(r.body);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->records.size(), hostile.size());
  for (size_t i = 0; i < hostile.size(); ++i) {
    const LogRecord& got = page->records[i];
    EXPECT_EQ(got.service, hostile[i]);
    EXPECT_EQ(got.message, hostile[i]);
    EXPECT_EQ(Parse(got.attributes)["k" + hostile[i]].asString(), hostile[i]);
  }
  for (const std::string& h : hostile) {
    const size_t expected = std::count_if(hostile.begin(), hostile.end(),
                                          [&](const std::string& m) { return m.find(h) != std::string::npos; });
    const std::string query = "/v1/logs?limit=1000&grep=" + UrlEncode(h);
    if (query.size() > kMaxTarget) continue;  // the 100 kB string, as above
    const HttpClientResponse grep = meshd_.Request("GET", query);
    ASSERT_EQ(grep.status, 200);
    EXPECT_EQ(DecodeLogPage(grep.body)->records.size(), expected) << "grep " << h.substr(0, 40);
  }
  // The service filter is exact too (a comma separates names in it, so names without one).
  for (const std::string service : {"%", "_", "100%", "a_b%c", "'; DROP TABLE spans; --"}) {
    const HttpClientResponse one = meshd_.Request("GET", "/v1/logs?limit=1000&service=" + UrlEncode(service));
    ASSERT_EQ(one.status, 200);
    Result<LogPage> only = DecodeLogPage(one.body);
    ASSERT_EQ(only->records.size(), 1u) << service;
    EXPECT_EQ(only->records[0].service, service);
  }
}

// A log attribute named like a field the API prints itself ("service", "message", ...) must
// not print that name twice: a JSON reader keeping the last one would show the attacker's.
TEST_F(HostileIngestTest, LogAttributesCannotImpersonateTheRecordsOwnFields) {
  Json::Value rl;
  rl["resource"]["attributes"].append(KeyValue("service.name", "real-service"));
  Json::Value record;
  record["timeUnixNano"] = std::to_string(Now());
  record["severityNumber"] = 9;
  record["body"]["stringValue"] = "real message";
  for (const char* field : {"timestamp", "level", "service", "message", "trace_id", "span_id"}) {
    record["attributes"].append(KeyValue(field, "forged"));
  }
  rl["scopeLogs"][0]["logRecords"].append(record);
  Json::Value body;
  body["resourceLogs"].append(rl);
  ASSERT_EQ(meshd_.Request("POST", "/v1/logs", ToJson(body)).status, 200);

  const HttpClientResponse r = meshd_.Request("GET", "/v1/logs?limit=10");
  ASSERT_EQ(r.status, 200);
  // jsoncpp keeps the last of repeated names, as JavaScript's JSON.parse does.
  const Json::Value printed = Parse(r.body)["records"][0]["record"];
  EXPECT_EQ(printed["service"].asString(), "real-service");
  EXPECT_EQ(printed["message"].asString(), "real message");
  EXPECT_EQ(printed["level"].asString(), "INFO");
  EXPECT_NE(printed["timestamp"].asString(), "forged");
  EXPECT_FALSE(printed.isMember("trace_id"));
  EXPECT_EQ(printed["service_raw"].asString(), "forged");
  EXPECT_EQ(printed["message_raw"].asString(), "forged");
  Result<LogPage> page = DecodeLogPage(r.body);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->records[0].service, "real-service");
  EXPECT_EQ(page->records[0].message, "real message");
}

TEST_F(HostileIngestTest, PushedMetricLabelValuesComeBackOnMetrics) {
  const auto& hostile = Hostile();
  std::string text = "# TYPE hostile_labels gauge\n";
  for (size_t i = 0; i < hostile.size(); ++i) {
    std::string escaped;
    for (char c : hostile[i]) {
      if (c == '\\') escaped += "\\\\";
      else if (c == '"') escaped += "\\\"";
      else if (c == '\n') escaped += "\\n";
      else escaped += c;
    }
    text += "hostile_labels{i=\"" + std::to_string(i) + "\",value=\"" + escaped + "\"} 1\n";
  }
  const HttpClientResponse posted =
      meshd_.Request("POST", "/v1/metrics", text, {{"Content-Type", "text/plain; version=0.0.4"}});
  ASSERT_EQ(posted.status, 200) << posted.body;

  CurlHttpClient client;
  Result<HttpClientResponse> exposed = client.Send("GET", meshd_.url() + "/metrics", "", {});
  ASSERT_TRUE(exposed.ok());
  ASSERT_EQ(exposed->status, 200);
  Result<std::vector<MetricFamily>> families = ParsePrometheusText(exposed->body);
  ASSERT_TRUE(families.ok()) << families.status().message();
  std::map<std::string, std::string> by_index;
  for (const MetricFamily& f : *families) {
    if (f.name != "hostile_labels") continue;
    for (const MetricSample& s : f.samples) by_index[LabelValue(s.labels, "i")] = LabelValue(s.labels, "value");
  }
  ASSERT_EQ(by_index.size(), hostile.size());
  for (size_t i = 0; i < hostile.size(); ++i) EXPECT_EQ(by_index[std::to_string(i)], hostile[i]) << i;
}

TEST_F(HostileIngestTest, RegistryRefusesHostileServiceNamesAndKeepsHostileMetadata) {
  for (const std::string& name : Hostile()) {
    if (name == "_") continue;  // letters, digits, '.', '-' and '_' make a valid name
    Json::Value reg;
    reg["service"] = name;
    reg["host"] = "127.0.0.1";
    reg["port"] = 8080;
    const HttpClientResponse r = meshd_.Request("POST", "/v1/register", ToJson(reg));
    EXPECT_EQ(r.status, 400) << name.substr(0, 40) << ": " << r.body.substr(0, 200);
  }
  Json::Value reg;
  reg["service"] = "api";
  reg["host"] = "127.0.0.1";
  reg["port"] = 8080;
  for (size_t i = 0; i < Hostile().size(); ++i) reg["meta"]["m" + std::to_string(i)] = Hostile()[i];
  ASSERT_EQ(meshd_.Request("POST", "/v1/register", ToJson(reg)).status, 200);
  const HttpClientResponse r = meshd_.Request("GET", "/v1/services/api");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  const Json::Value meta = Parse(r.body)["instances"][0]["meta"];
  for (size_t i = 0; i < Hostile().size(); ++i) EXPECT_EQ(meta["m" + std::to_string(i)].asString(), Hostile()[i]);
  EXPECT_EQ(Parse(meshd_.Request("GET", "/v1/services").body)["total"].asInt(), 1);
}

TEST_F(HostileIngestTest, SilencesKeepHostileText) {
  for (const std::string& h : Hostile()) {
    Json::Value s;
    s["rule"] = h;
    s["service"] = h;
    s["comment"] = h;
    s["created_by"] = h;
    s["ends_at"] = "2100-01-01T00:00:00Z";
    const HttpClientResponse r = meshd_.Request("POST", "/v1/silences", ToJson(s));
    ASSERT_EQ(r.status, 201) << h.substr(0, 40) << ": " << r.body.substr(0, 200);
  }
  const HttpClientResponse r = meshd_.Request("GET", "/v1/silences");
  ASSERT_EQ(r.status, 200);
  const Json::Value all = Parse(r.body);
  std::vector<std::string> comments;
  for (const Json::Value& s : all) {
    EXPECT_EQ(s["rule"].asString(), s["comment"].asString());
    EXPECT_EQ(s["service"].asString(), s["comment"].asString());
    comments.push_back(s["comment"].asString());
  }
  std::vector<std::string> expected = Hostile();
  std::sort(expected.begin(), expected.end());
  std::sort(comments.begin(), comments.end());
  EXPECT_EQ(comments, expected);
}

}  // namespace
}  // namespace mesh

// Issue 22's meshd --export-otlp on the real binaries: meshd A exports to meshd B (OTLP/HTTP
// protobuf, gzip) and B stores the same spans, log records and samples A stored; what A sends
// decodes with protoc against the OTLP .proto schema; the filters and the tail sampling decide
// what leaves; a receiver down (with A restarted meanwhile) then back gets every span once.
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "free_port.h"
#include "meshd_fixture.h"
#include "otlp_capture_receiver.h"
#include "subprocess.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/store.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::OtlpCaptureReceiver;
using test_support::RunProcess;
using test_support::RunResult;
using namespace std::chrono_literals;

bool PollUntil(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

Json::Value ParseJson(const std::string& body) {
  Json::Value v;
  std::istringstream(body) >> v;
  return v;
}

// A trace of `n` spans of `service` (the first the root), as OTLP/JSON; span ids are
// <prefix><index> padded to 16 hex digits.
std::string OtlpTrace(const std::string& service, const std::string& trace_id, const std::string& prefix, int n,
                      int status_code = 1) {
  std::string spans;
  for (int i = 0; i < n; ++i) {
    char id[17];
    std::snprintf(id, sizeof id, "%s%0*x", prefix.c_str(), static_cast<int>(16 - prefix.size()), i + 1);
    if (!spans.empty()) spans += ',';
    spans += R"({"traceId":")" + trace_id + R"(","spanId":")" + id + R"(","name":"op)" + std::to_string(i) +
             R"(","kind":2,"startTimeUnixNano":"1764075600000000000","endTimeUnixNano":"1764075600250000000",)"
             R"("attributes":[{"key":"http.status_code","value":{"intValue":"200"}},{"key":"peer","value":{"stringValue":"é"}}],)"
             R"("status":{"code":)" + std::to_string(status_code) + "}}";
  }
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
         service + R"("}},{"key":"host.name","value":{"stringValue":"h1"}}]},"scopeSpans":[{"scope":{"name":"test","version":"1.2"},"spans":[)" +
         spans + "]}]}]}";
}

std::string OtlpLog(const std::string& service, const std::string& message) {
  return R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" + service +
         R"("}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1764075600500000000","severityNumber":13,"body":{"stringValue":")" +
         message + R"("},"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","attributes":[{"key":"rows","value":{"intValue":"42"}}]}]}]}]})";
}

double MetricValue(MeshdProcess& meshd, const std::string& series) {
  const std::string text = meshd.Request("GET", "/metrics").body;
  const size_t at = text.find(series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 1));
}

class MeshdExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-export-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Db(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(MeshdExportTest, SpansLogsAndMetricsArriveInASecondMeshdWithTheSameFields) {
  MeshdProcess b(Db("b.db"));
  ASSERT_TRUE(b.ready()) << b.process().err();
  MeshdProcess a(Db("a.db"), {"--export-otlp", b.url(), "--export-otlp-trace-settle", "1s"});
  ASSERT_TRUE(a.ready()) << a.process().err();
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ASSERT_EQ(a.Request("POST", "/v1/traces", OtlpTrace("api", trace_id, "a", 3), {{"Content-Type", "application/json"}}).status, 200);
  ASSERT_EQ(a.Request("POST", "/v1/logs", OtlpLog("api", "slow query"), {{"Content-Type", "application/json"}}).status, 200);
  ASSERT_EQ(a.Request("POST", "/v1/metrics",
                      "# TYPE exp_requests_total counter\nexp_requests_total{service=\"api\",code=\"200\"} 7 1764075600000\n"
                      "# TYPE exp_queue gauge\nexp_queue{service=\"api\"} 2.5 1764075600000\n",
                      {{"Content-Type", "text/plain"}})
                .status,
            200);

  // The same trace, field for field, as each meshd's API shows it.
  ASSERT_TRUE(PollUntil(30s, [&] { return b.Request("GET", "/v1/traces/" + trace_id).status == 200; }))
      << a.process().err();
  const Json::Value in_a = ParseJson(a.Request("GET", "/v1/traces/" + trace_id).body)["spans"];
  const Json::Value in_b = ParseJson(b.Request("GET", "/v1/traces/" + trace_id).body)["spans"];
  ASSERT_EQ(in_a.size(), 3u);
  EXPECT_EQ(in_a, in_b);

  ASSERT_TRUE(PollUntil(30s, [&] { return ParseJson(b.Request("GET", "/v1/logs?service=api").body)["records"].size() == 1; }))
      << b.Request("GET", "/v1/logs?service=api").body;
  const Json::Value log_a = ParseJson(a.Request("GET", "/v1/logs?service=api").body)["records"][0]["record"];
  const Json::Value log_b = ParseJson(b.Request("GET", "/v1/logs?service=api").body)["records"][0]["record"];
  EXPECT_EQ(log_a, log_b);
  EXPECT_EQ(log_b["message"].asString(), "slow query");

  // The samples, by name, labels and value, in each meshd's store.
  const auto samples_in = [&](const std::string& db) {
    std::map<std::string, std::pair<Labels, double>> samples;
    Result<std::unique_ptr<Store>> store = Store::Open({.path = db, .create_if_missing = false, .read_only = true});
    if (!store.ok()) return samples;
    Result<std::vector<MetricFamily>> latest = MetricStore(**store).Latest(0);
    for (const MetricFamily& f : latest.ok() ? *latest : std::vector<MetricFamily>{}) {
      for (const MetricSample& s : f.samples) samples[s.name] = {s.labels, s.value};
    }
    return samples;
  };
  ASSERT_TRUE(PollUntil(30s, [&] { return samples_in(Db("b.db")).size() >= 2; }));
  const auto samples_a = samples_in(Db("a.db"));
  ASSERT_EQ(samples_a.size(), 2u);
  EXPECT_EQ(samples_a, samples_in(Db("b.db")));
  EXPECT_EQ(samples_a.at("exp_requests_total").second, 7);

  EXPECT_TRUE(PollUntil(10s, [&] { return MetricValue(a, "mesh_export_sent_total{exporter=\"otlp\",signal=\"traces\"}") == 3; }));
  EXPECT_EQ(MetricValue(a, "mesh_export_queue_samples{exporter=\"otlp\",signal=\"logs\"}"), 0);
}

// protoc decodes every body meshd sent as the OTLP Export*ServiceRequest of its path, with the
// .proto files (written from the OTLP specification), not with meshd's code.
TEST_F(MeshdExportTest, ExportedBodiesDecodeWithProtocAgainstTheOtlpSchema) {
  OtlpCaptureReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  std::ofstream(Db("token")) << "s3cret\n";
  std::filesystem::permissions(Db("token"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  MeshdProcess a(Db("a.db"), {"--export-otlp", receiver.url(), "--export-otlp-trace-settle", "1s",
                              "--export-otlp-bearer-token-file", Db("token"), "--export-otlp-header", "X-Scope-OrgID=team"});
  ASSERT_TRUE(a.ready()) << a.process().err();
  ASSERT_EQ(a.Request("POST", "/v1/traces", OtlpTrace("api", "4bf92f3577b34da6a3ce929d0e0e4736", "a", 2),
                      {{"Content-Type", "application/json"}}).status, 200);
  ASSERT_EQ(a.Request("POST", "/v1/logs", OtlpLog("api", "hello"), {{"Content-Type", "application/json"}}).status, 200);
  ASSERT_EQ(a.Request("POST", "/v1/metrics",
                      "# TYPE lat_seconds histogram\nlat_seconds_bucket{service=\"api\",le=\"0.5\"} 3\n"
                      "lat_seconds_bucket{service=\"api\",le=\"+Inf\"} 4\nlat_seconds_sum{service=\"api\"} 1.5\n"
                      "lat_seconds_count{service=\"api\"} 4\n",
                      {{"Content-Type", "text/plain"}}).status, 200);
  ASSERT_TRUE(PollUntil(30s, [&] {
    std::set<std::string> paths;
    for (const auto& r : receiver.requests()) paths.insert(r.path);
    return paths.size() == 3;
  })) << a.process().err();

  const std::map<std::string, std::pair<std::string, std::vector<std::string>>> expected = {
      {"/v1/traces", {"opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest", {"name: \"op1\"", "string_value: \"api\""}}},
      {"/v1/logs", {"opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest", {"string_value: \"hello\"", "severity_number: 13"}}},
      {"/v1/metrics", {"opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest", {"name: \"lat_seconds\"", "explicit_bounds: 0.5", "bucket_counts: 3", "bucket_counts: 1"}}},
  };
  for (const auto& r : receiver.requests()) {
    SCOPED_TRACE(r.path);
    EXPECT_EQ(r.content_type, "application/x-protobuf");
    EXPECT_EQ(r.content_encoding, "gzip");
    EXPECT_EQ(r.authorization, "Bearer s3cret");
    const auto& [message, needles] = expected.at(r.path);
    const RunResult decoded = RunProcess({PROTOC_BIN, "--decode=" + message, "-I", OTLP_PROTO_DIR,
                                          std::string(OTLP_PROTO_DIR) + "/opentelemetry/proto/collector/trace/v1/trace_service.proto",
                                          std::string(OTLP_PROTO_DIR) + "/opentelemetry/proto/collector/logs/v1/logs_service.proto",
                                          std::string(OTLP_PROTO_DIR) + "/opentelemetry/proto/collector/metrics/v1/metrics_service.proto"},
                                         r.body);
    ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
    for (const std::string& needle : needles) EXPECT_NE(decoded.out.find(needle), std::string::npos) << needle << "\n" << decoded.out;
  }
}

TEST_F(MeshdExportTest, FiltersAndTailSamplingDecideWhatLeaves) {
  OtlpCaptureReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  MeshdProcess a(Db("a.db"), {"--export-otlp", receiver.url(), "--export-otlp-trace-settle", "1s",
                              "--export-otlp-services", "api", "--export-otlp-signals", "traces,logs",
                              "--export-otlp-sample-rate", "0", "--export-otlp-keep-slower-than", "200ms"});
  ASSERT_TRUE(a.ready()) << a.process().err();
  const auto post = [&](const std::string& path, const std::string& body) {
    ASSERT_EQ(a.Request("POST", path, body, {{"Content-Type", "application/json"}}).status, 200);
  };
  post("/v1/traces", OtlpTrace("api", "11111111111111111111111111111111", "e", 2, /*error*/ 2));  // kept: error
  post("/v1/traces", OtlpTrace("api", "22222222222222222222222222222222", "f", 1));  // kept: 250 ms > 200 ms
  post("/v1/traces", OtlpTrace("web", "33333333333333333333333333333333", "a", 1, 2));  // not api
  post("/v1/logs", OtlpLog("web", "not exported"));
  post("/v1/logs", OtlpLog("api", "exported"));
  ASSERT_EQ(a.Request("POST", "/v1/metrics", "m{service=\"api\"} 1\n", {{"Content-Type", "text/plain"}}).status, 200);
  ASSERT_TRUE(PollUntil(30s, [&] { return receiver.span_counts().size() == 3; })) << a.process().err();

  MeshdProcess slow(Db("b.db"), {"--export-otlp", receiver.url(), "--export-otlp-trace-settle", "1s",
                                 "--export-otlp-sample-rate", "0", "--export-otlp-keep-slower-than", "300ms"});
  ASSERT_TRUE(slow.ready()) << slow.process().err();
  ASSERT_EQ(slow.Request("POST", "/v1/traces", OtlpTrace("api", "44444444444444444444444444444444", "d", 2),
                         {{"Content-Type", "application/json"}}).status, 200);
  ASSERT_TRUE(PollUntil(30s, [&] {
    return MetricValue(slow, "mesh_export_dropped_total{exporter=\"otlp\",reason=\"sampled_out\",signal=\"traces\"}") == 2;
  })) << slow.process().err();

  std::map<std::string, int> spans = receiver.span_counts();
  EXPECT_EQ(spans, (std::map<std::string, int>{{"e000000000000001", 1}, {"e000000000000002", 1}, {"f000000000000001", 1}}));
  int logs = 0;
  for (const auto& r : receiver.requests()) {
    EXPECT_NE(r.path, "/v1/metrics");
    if (r.path == "/v1/logs") {
      ++logs;
      EXPECT_NE(r.body.find("exported"), std::string::npos);
      EXPECT_EQ(r.body.find("not exported"), std::string::npos);
    }
  }
  EXPECT_EQ(logs, 1);
}

// The receiver is away while spans arrive and meshd is restarted; once it is back every span
// arrives, each once. (The 60-second outage is in the reliability suite.)
TEST_F(MeshdExportTest, ReceiverDownAndMeshdRestartedThenEverySpanArrivesOnce) {
  test_support::PortHold hold(0);
  ASSERT_TRUE(hold.held());
  const std::string url = "http://127.0.0.1:" + std::to_string(hold.port());
  const std::vector<std::string> flags = {"--export-otlp", url, "--export-otlp-trace-settle", "1s",
                                          "--export-otlp-max-backoff", "1s"};
  std::set<std::string> sent;
  {
    MeshdProcess a(Db("a.db"), flags);
    ASSERT_TRUE(a.ready()) << a.process().err();
    for (int t = 0; t < 5; ++t) {
      char trace[33];
      std::snprintf(trace, sizeof trace, "%032x", 0xabc00 + t);
      const std::string prefix = "c" + std::to_string(t);
      ASSERT_EQ(a.Request("POST", "/v1/traces", OtlpTrace("api", trace, prefix, 4), {{"Content-Type", "application/json"}}).status, 200);
      for (int i = 1; i <= 4; ++i) {
        char id[17];
        std::snprintf(id, sizeof id, "%s%0*x", prefix.c_str(), static_cast<int>(16 - prefix.size()), i);
        sent.insert(id);
      }
    }
    ASSERT_TRUE(PollUntil(20s, [&] { return MetricValue(a, "mesh_export_failed_total{exporter=\"otlp\",signal=\"traces\"}") >= 1; }))
        << a.process().err();
    EXPECT_EQ(MetricValue(a, "mesh_export_queue_samples{exporter=\"otlp\",signal=\"traces\"}"), 20);
    EXPECT_EQ(a.Stop().exit_code, 0);
  }
  MeshdProcess a(Db("a.db"), flags);
  ASSERT_TRUE(a.ready()) << a.process().err();
  OtlpCaptureReceiver receiver;
  hold.Release();
  ASSERT_TRUE(receiver.Start(hold.port()).ok());
  ASSERT_TRUE(PollUntil(60s, [&] { return receiver.span_counts().size() == sent.size(); })) << a.process().err();
  ASSERT_TRUE(PollUntil(10s, [&] { return MetricValue(a, "mesh_export_queue_samples{exporter=\"otlp\",signal=\"traces\"}") == 0; }));
  for (const auto& [id, times] : receiver.span_counts()) {
    EXPECT_TRUE(sent.count(id)) << id;
    EXPECT_EQ(times, 1) << id;
  }
}

}  // namespace
}  // namespace mesh

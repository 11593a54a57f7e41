// meshd's OTLP routes with protobuf bodies (Content-Type application/x-protobuf), in process
// over HTTP: stored as the JSON bodies are, answered in protobuf as OTLP asks (partial success
// included), gzip-compressed bodies too, and malformed bodies refused with a JSON 400.
#include <gtest/gtest.h>
#include <json/json.h>
#include <zlib.h>

#include <cctype>
#include <string>
#include <vector>

#include "in_process_meshd.h"
#include "mesh/base/json_text.h"
#include "mesh/otlp_proto/otlp_metrics_proto.h"
#include "mesh/otlp_proto/otlp_proto.h"
#include "raw_http.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_otlp_protobuf_ingest_test {

using testing::InProcessMeshd;
using testing::RawHttp;
using testing::RawReply;
using testing::TempDir;

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";

std::vector<Span> Spans(const std::vector<std::string>& span_ids) {
  std::vector<Span> spans;
  for (const std::string& id : span_ids) {
    Span s;
    s.trace_id = kTraceId;
    s.span_id = id;
    s.service = "api";
    s.name = "GET /orders";
    s.kind = SpanKind::kServer;
    s.start_ns = 1764075600000000000;
    s.duration_ns = 250000000;
    s.attributes = R"({"http.status_code":200,"ratio":0.5})";
    spans.push_back(std::move(s));
  }
  return spans;
}

std::string Gzipped(const std::string& plain) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, plain.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

RawReply Post(int port, const std::string& path, const std::string& body, const std::string& extra_headers = "") {
  return RawHttp(port, "POST " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" +
                           "Content-Type: application/x-protobuf\r\n" + extra_headers +
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

bool HasProtobufContentType(const RawReply& r) {
  std::string head = r.head;
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head.find("content-type: application/x-protobuf") != std::string::npos;
}

TEST(OtlpProtobufIngest, StoresSpansAndAnswersInProtobuf) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"));
  const RawReply r = Post(meshd.port(), "/v1/traces", EncodeOtlpTracesProto(Spans({"00f067aa0ba902b7", "00f067aa0ba902b8"})));
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_TRUE(HasProtobufContentType(r)) << r.head;
  EXPECT_EQ(r.body, "");  // an ExportTraceServiceResponse with nothing to report
  const HttpClientResponse trace = meshd.Request("GET", std::string("/v1/traces/") + kTraceId);
  ASSERT_EQ(trace.status, 200) << trace.body;
  Result<Json::Value> v = ParseJson(trace.body);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ((*v)["spans"].size(), 2u) << trace.body;
  EXPECT_EQ((*v)["spans"][0]["attributes"]["http.status_code"].asInt(), 200);
  EXPECT_EQ((*v)["spans"][0]["kind"].asString(), "SERVER");
}

TEST(OtlpProtobufIngest, AcceptsGzippedBodies) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"));
  const RawReply r = Post(meshd.port(), "/v1/traces", Gzipped(EncodeOtlpTracesProto(Spans({"00f067aa0ba902b7"}))),
                          "Content-Encoding: gzip\r\n");
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_EQ(meshd.Request("GET", std::string("/v1/traces/") + kTraceId).status, 200);
}

TEST(OtlpProtobufIngest, ReportsRejectedSpansAsProtobufPartialSuccess) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"));
  // An all-zero span id is no span id: that span is rejected, the other stored.
  const RawReply r = Post(meshd.port(), "/v1/traces", EncodeOtlpTracesProto(Spans({"0000000000000000", "00f067aa0ba902b7"})));
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_TRUE(HasProtobufContentType(r)) << r.head;
  OtlpTraces expected;
  expected.rejected = 1;
  expected.first_error = "invalid spanId '0000000000000000' (expected 16 hex digits, not all zero)";
  EXPECT_EQ(r.body, OtlpTracesProtoResponse(expected));
  const HttpClientResponse trace = meshd.Request("GET", std::string("/v1/traces/") + kTraceId);
  ASSERT_EQ(trace.status, 200);
  EXPECT_EQ((*ParseJson(trace.body))["spans"].size(), 1u);
}

TEST(OtlpProtobufIngest, MalformedBodiesAreAJson400) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"));
  const std::string whole = EncodeOtlpTracesProto(Spans({"00f067aa0ba902b7"}));
  for (const std::string& body : {whole.substr(0, whole.size() / 2), std::string("\xff\xff\xff\xff", 4)}) {
    for (const char* path : {"/v1/traces", "/v1/logs"}) {
      const RawReply r = Post(meshd.port(), path, body);
      EXPECT_EQ(r.status, 400) << path << ": " << r.body;
      Result<Json::Value> v = ParseJson(r.body);
      ASSERT_TRUE(v.ok()) << r.body;
      EXPECT_TRUE((*v)["error"].isString()) << r.body;
    }
  }
  EXPECT_EQ(meshd.Request("GET", std::string("/v1/traces/") + kTraceId).status, 404);
}

// POST /v1/metrics dispatches on Content-Type: OTLP/JSON (partial success for what it refuses),
// the seed's JSON push (told apart by its "service" member), Prometheus text, and protobuf,
// whose malformed bodies get a JSON 400; what is stored shows on /metrics.
TEST(OtlpMetricsIngest, DispatchesOnContentTypeAndKeepsTheOtherPushes) {
  TempDir dir;
  InProcessMeshd meshd(dir.File("mesh.db"));
  const std::vector<std::pair<std::string, std::string>> json = {{"Content-Type", "application/json"}};
  const std::string otlp = R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"shop"}}]},"scopeMetrics":[{"metrics":[
      {"name":"shop.temperature","unit":"Cel","gauge":{"dataPoints":[{"asDouble":21.5}]}},
      {"name":"shop.latency","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[{"count":"1"}]}}]}]}]})";
  HttpClientResponse r = meshd.Request("POST", "/v1/metrics", otlp, json);
  ASSERT_EQ(r.status, 200) << r.body;
  Result<Json::Value> v = ParseJson(r.body);
  ASSERT_TRUE(v.ok()) << r.body;
  EXPECT_EQ((*v)["partialSuccess"]["rejectedDataPoints"].asInt(), 1) << r.body;
  EXPECT_NE((*v)["partialSuccess"]["errorMessage"].asString().find("exponential"), std::string::npos) << r.body;

  r = meshd.Request("POST", "/v1/metrics", R"({"service":"seed","requests":3,"errors":0,"avg_latency_ms":5})", json);
  EXPECT_EQ(r.status, 200) << r.body;
  r = meshd.Request("POST", "/v1/metrics", "# TYPE up gauge\nup{service=\"text\"} 1\n",
                    {{"Content-Type", "text/plain; version=0.0.4"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"samples\":1}");
  r = meshd.Request("POST", "/v1/metrics", "{\"resourceMetrics\":7}", json);
  EXPECT_EQ(r.status, 400) << r.body;

  const RawReply bad = Post(meshd.port(), "/v1/metrics", std::string("\xff\xff\xff\xff", 4));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(ParseJson(bad.body).ok()) << bad.body;
  const RawReply empty = Post(meshd.port(), "/v1/metrics", "");
  EXPECT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(HasProtobufContentType(empty)) << empty.head;
  EXPECT_EQ(empty.body, OtlpMetricsProtoResponse(0, ""));

  const HttpClientResponse exposed = meshd.Request("GET", "/metrics");
  EXPECT_NE(exposed.body.find("shop_temperature_celsius{service=\"shop\"} 21.5"), std::string::npos) << exposed.body;
  EXPECT_NE(exposed.body.find("mesh_seed_requests_total{service=\"seed\"} 3"), std::string::npos);
  EXPECT_NE(exposed.body.find("up{service=\"text\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace mesh

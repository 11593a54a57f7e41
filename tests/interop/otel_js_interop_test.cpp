// meshd against the real OpenTelemetry JS SDK: otel/send_trace.js, run by node with the npm
// packages pinned in otel/package-lock.json, exports a three-span trace over OTLP/HTTP JSON and
// over OTLP/HTTP protobuf and over OTLP/gRPC (@grpc/grpc-js to meshd's --otlp-grpc-listen port);
// otel/send_logs.js exports log records over protobuf and gRPC; otel/send_metrics.js exports a
// counter, an up-down counter, a histogram and a gauge over protobuf, JSON or gRPC.
#include <gtest/gtest.h>
#include <json/json.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "interop_support.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using interop::RunFor;
using interop::TempDir;
using test_support::MeshdProcess;
using test_support::RunResult;
using namespace std::chrono_literals;

class OtelJs : public ::testing::Test {
 protected:
  // npm ci once per run of the suite, into the build tree (OTEL_DIR holds package.json, the lock
  // and the script, copied there by CMake).
  static void SetUpTestSuite() {
    if (!interop::PeerInstalled(NODE_BIN, "node") || !interop::PeerInstalled(NPM_BIN, "npm"))
      return;
    install_ = RunFor(
        {NPM_BIN, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", OTEL_DIR}, 240s);
  }

  void SetUp() override {
    ASSERT_TRUE(interop::PeerInstalled(NODE_BIN, "node"));
    ASSERT_TRUE(interop::PeerInstalled(NPM_BIN, "npm"));
    ASSERT_EQ(install_.exit_code, 0) << "npm ci in " << OTEL_DIR << " failed:\n"
                                     << install_.out << install_.err;
  }

  static RunResult install_;
  TempDir dir_;
};

RunResult OtelJs::install_;

// meshd with its OTLP/gRPC port on a free port.
std::unique_ptr<MeshdProcess> StartMeshd(const std::string& db) {
  return std::make_unique<MeshdProcess>(db, std::vector<std::string>{"--otlp-grpc-listen", "127.0.0.1:0"});
}

// The URL of its gRPC port, from the "meshd OTLP/gRPC listening" line ("" with a test failure).
std::string GrpcUrl(MeshdProcess& meshd) {
  EXPECT_TRUE(meshd.process().WaitForStderr("OTLP/gRPC listening", std::chrono::seconds(10)));
  std::smatch m;
  const std::string err = meshd.process().err();
  if (!std::regex_search(err, m, std::regex("OTLP/gRPC listening[^\\n]*\"(127\\.0\\.0\\.1:[0-9]+)\""))) {
    ADD_FAILURE() << "no gRPC port in\n" << err;
    return "";
  }
  return "http://" + m[1].str();
}

// The spans of a trace by name.
std::map<std::string, Json::Value> ByName(const Json::Value& spans) {
  std::map<std::string, Json::Value> out;
  for (const Json::Value& s : spans) out[s["name"].asString()] = s;
  return out;
}

TEST_F(OtelJs, TraceFromTheSdkKeepsItsTreeAttributeTypesAndErrorStatus) {
  MeshdProcess meshd(dir_.File("mesh.db"));
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const RunResult sent =
      RunFor({NODE_BIN, std::string(OTEL_DIR) + "/send_trace.js", meshd.url()}, 60s);
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(sent.out, m, std::regex("^([0-9a-f]{32})\n$"))) << sent.out;
  const std::string trace_id = m[1].str();

  const HttpClientResponse r = meshd.Request("GET", "/v1/traces/" + trace_id);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json::Value trace = interop::ParseJson(r.body);
  EXPECT_EQ(trace["trace_id"].asString(), trace_id);
  ASSERT_EQ(trace["spans"].size(), 3u) << r.body;
  std::map<std::string, Json::Value> spans = ByName(trace["spans"]);
  ASSERT_EQ(spans.size(), 3u) << r.body;
  const Json::Value &root = spans["checkout"], &child = spans["charge card"],
                    &grandchild = spans["db query"];
  ASSERT_TRUE(root.isObject() && child.isObject() && grandchild.isObject()) << r.body;

  // The chain root -> child -> grandchild, all in the trace and from the resource's service.
  EXPECT_EQ(root["parent_span_id"].asString(), "");
  EXPECT_EQ(child["parent_span_id"].asString(), root["span_id"].asString());
  EXPECT_EQ(grandchild["parent_span_id"].asString(), child["span_id"].asString());
  for (const Json::Value* s : {&root, &child, &grandchild}) {
    EXPECT_EQ((*s)["trace_id"].asString(), trace_id);
    EXPECT_TRUE(std::regex_match((*s)["span_id"].asString(), std::regex("[0-9a-f]{16}")));
    EXPECT_EQ((*s)["service"].asString(), "otel-js-shop");
    EXPECT_EQ((*s)["resource"]["service.version"].asString(), "1.2.3");
    // provider.getTracer("mesh-interop", "0.1.0"): the scope's name and version.
    EXPECT_EQ((*s)["scope"].asString(), "mesh-interop");
    EXPECT_EQ((*s)["scope_version"].asString(), "0.1.0");
    EXPECT_GT((*s)["duration_ns"].asInt64(), 0);
    EXPECT_GT((*s)["start_ns"].asInt64(), 1'600'000'000'000'000'000);
  }
  EXPECT_EQ(root["kind"].asString(), "SERVER");
  EXPECT_EQ(child["kind"].asString(), "CLIENT");
  EXPECT_EQ(grandchild["kind"].asString(), "INTERNAL");

  // Attribute types survive: the SDK sends intValue as a JSON number, doubleValue, boolValue.
  const auto is_int = [](const Json::Value& v) {
    return v.type() == Json::intValue || v.type() == Json::uintValue;
  };
  const Json::Value& ra = root["attributes"];
  EXPECT_TRUE(ra["http.method"].isString() && ra["http.method"].asString() == "POST") << ra;
  EXPECT_TRUE(is_int(ra["http.status_code"]) && ra["http.status_code"].asInt() == 500) << ra;
  EXPECT_TRUE(ra["order.total"].type() == Json::realValue && ra["order.total"].asDouble() == 12.75)
      << ra;
  EXPECT_TRUE(ra["cart.empty"].isBool() && !ra["cart.empty"].asBool()) << ra;
  const Json::Value& ca = child["attributes"];
  EXPECT_TRUE(ca["payment.provider"].isString() && ca["payment.provider"].asString() == "acme")
      << ca;
  EXPECT_TRUE(is_int(ca["retry.count"]) && ca["retry.count"].asInt() == 3) << ca;
  EXPECT_TRUE(ca["payment.amount"].type() == Json::realValue &&
              ca["payment.amount"].asDouble() == 12.75)
      << ca;
  EXPECT_TRUE(ca["payment.declined"].isBool() && ca["payment.declined"].asBool()) << ca;
  const Json::Value& ga = grandchild["attributes"];
  EXPECT_TRUE(is_int(ga["db.rows"]) && ga["db.rows"].asInt() == 42) << ga;
  EXPECT_TRUE(ga["db.cache_hit_ratio"].type() == Json::realValue &&
              ga["db.cache_hit_ratio"].asDouble() == 0.5)
      << ga;
  EXPECT_TRUE(ga["db.cached"].isBool() && ga["db.cached"].asBool()) << ga;
  // The JSON text too: an int is not written as 500.0, a double keeps its fraction.
  EXPECT_NE(r.body.find("\"http.status_code\":500,"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"order.total\":12.75"), std::string::npos) << r.body;

  // ERROR on the span that set it, with its message; the others stay UNSET.
  EXPECT_EQ(child["status"].asString(), "ERROR");
  EXPECT_EQ(child["status_message"].asString(), "card declined");
  EXPECT_EQ(root["status"].asString(), "UNSET");
  EXPECT_EQ(grandchild["status"].asString(), "UNSET");
  ASSERT_EQ(child["events"].size(), 1u) << child;
  EXPECT_EQ(child["events"][0]["name"].asString(), "card declined");
  EXPECT_EQ(child["events"][0]["attributes"]["decline.code"].asString(), "51");

  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// The protobuf exporter (exporter-trace-otlp-proto, Content-Type application/x-protobuf) and the
// gRPC one (exporter-trace-otlp-grpc): the same trace as the JSON exporter sends, stored field for
// field as the JSON one is, and shown by meshtrace.
TEST_F(OtelJs, TraceFromTheProtobufAndGrpcExportersIsStoredAsTheJsonOneIs) {
  std::unique_ptr<MeshdProcess> started = StartMeshd(dir_.File("mesh.db"));
  MeshdProcess& meshd = *started;
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string grpc_url = GrpcUrl(meshd);
  std::map<std::string, std::map<std::string, Json::Value>> by_protocol;
  for (const std::string protocol : {"json", "proto", "grpc"}) {
    const std::string url = protocol == "grpc" ? grpc_url : meshd.url();
    const RunResult sent =
        RunFor({NODE_BIN, std::string(OTEL_DIR) + "/send_trace.js", url, "shop-" + protocol, protocol}, 60s);
    ASSERT_EQ(sent.exit_code, 0) << protocol << ": " << sent.out << sent.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(sent.out, m, std::regex("^([0-9a-f]{32})\n$"))) << sent.out;
    const HttpClientResponse r = meshd.Request("GET", "/v1/traces/" + m[1].str());
    ASSERT_EQ(r.status, 200) << r.body;
    by_protocol[protocol] = ByName(interop::ParseJson(r.body)["spans"]);
    ASSERT_EQ(by_protocol[protocol].size(), 3u) << r.body;
    if (protocol == "proto") {
      const RunResult shown =
          RunFor({MESHTRACE_BIN, "--db", dir_.File("mesh.db"), "show", m[1].str()}, 30s);
      EXPECT_EQ(shown.exit_code, 0) << shown.err;
      for (const char* name : {"checkout", "charge card", "db query", "card declined"}) {
        EXPECT_NE(shown.out.find(name), std::string::npos) << name << " in\n" << shown.out;
      }
    }
  }
  // Everything but what differs between two runs (ids, times, the service named after the
  // protocol) is the same.
  for (const std::string protocol : {"proto", "grpc"}) {
    for (const char* name : {"checkout", "charge card", "db query"}) {
      const Json::Value& a = by_protocol["json"][name];
      const Json::Value& b = by_protocol[protocol][name];
      for (const char* field : {"name", "kind", "status", "status_message", "attributes", "events", "resource", "scope",
                                "scope_version"}) {
        if (std::string(field) == "events") {
          ASSERT_EQ(a[field].size(), b[field].size()) << name;
          for (Json::ArrayIndex i = 0; i < a[field].size(); ++i) {
            EXPECT_EQ(a[field][i]["name"], b[field][i]["name"]) << name;
            EXPECT_EQ(a[field][i]["attributes"], b[field][i]["attributes"]) << name;
          }
          continue;
        }
        EXPECT_EQ(a[field], b[field]) << name << "." << field;
      }
      EXPECT_EQ(b["service"].asString(), "shop-" + protocol);
      EXPECT_EQ(a["parent_span_id"].asString().empty(), b["parent_span_id"].asString().empty()) << name;
    }
    const Json::Value& ca = by_protocol[protocol]["charge card"]["attributes"];
    EXPECT_EQ(ca["retry.count"].type(), Json::intValue) << ca;
    EXPECT_EQ(ca["payment.amount"].type(), Json::realValue) << ca;
    EXPECT_EQ(by_protocol[protocol]["charge card"]["status"].asString(), "ERROR");
  }
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// The protobuf and gRPC log exporters (sdk-logs, exporter-logs-otlp-proto and -grpc): level,
// message, trace context, attribute types and the resource's service.
TEST_F(OtelJs, LogsFromTheProtobufAndGrpcExportersAreStored) {
  std::unique_ptr<MeshdProcess> started = StartMeshd(dir_.File("mesh.db"));
  MeshdProcess& meshd = *started;
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string grpc_url = GrpcUrl(meshd);
  for (const std::string protocol : {"proto", "grpc"}) {
    const std::string service = "otel-js-" + protocol;
    const std::string url = protocol == "grpc" ? grpc_url : meshd.url();
    const RunResult sent = RunFor({NODE_BIN, std::string(OTEL_DIR) + "/send_logs.js", url, service, protocol}, 60s);
    ASSERT_EQ(sent.exit_code, 0) << protocol << ": " << sent.out << sent.err;
    const HttpClientResponse r = meshd.Request("GET", "/v1/logs?service=" + service + "&limit=10");
    ASSERT_EQ(r.status, 200) << r.body;
    std::map<std::string, Json::Value> records;
    const Json::Value page = interop::ParseJson(r.body);
    for (const Json::Value& entry : page["records"]) {
      records[entry["record"]["message"].asString()] = entry["record"];
    }
    ASSERT_EQ(records.size(), 2u) << r.body;
    const Json::Value& failed = records["payment failed"];
    EXPECT_EQ(failed["level"].asString(), "ERROR") << failed;
    EXPECT_EQ(failed["service"].asString(), service);
    EXPECT_EQ(failed["trace_id"].asString(), "5b8efff798038103d269b633813fc60c");
    EXPECT_EQ(failed["span_id"].asString(), "eee19b7ec3c1b174");
    EXPECT_EQ(failed["payment.provider"].asString(), "acme");
    EXPECT_EQ(failed["retry.count"].type(), Json::intValue) << failed;
    EXPECT_EQ(failed["payment.amount"].asDouble(), 12.75);
    EXPECT_EQ(failed["payment.declined"].type(), Json::booleanValue);
    EXPECT_EQ(records["retrying"]["level"].asString(), "WARN");
  }
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// The samples of meshd's /metrics exposition, by series text (name{labels}), for the names
// starting with `prefix`.
std::map<std::string, std::string> Exposed(const std::string& text, const std::string& prefix) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

// The metrics exporters (sdk-metrics; exporter-metrics-otlp-proto, -http and -grpc), with cumulative and
// with delta temporality: two collections, and /metrics shows the values the SDK holds after the
// second, under the names and labels of the OpenTelemetry-to-Prometheus mapping.
TEST_F(OtelJs, MetricsFromEveryExporterAndTemporalityShowOnMetricsAsTheSdkHoldsThem) {
  std::unique_ptr<MeshdProcess> started = StartMeshd(dir_.File("mesh.db"));
  MeshdProcess& meshd = *started;
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string grpc_url = GrpcUrl(meshd);
  for (const std::string protocol : {"proto", "json", "grpc"}) {
    for (const std::string temporality : {"cumulative", "delta"}) {
      const std::string service = "shop-" + protocol + "-" + temporality;
      const std::string url = protocol == "grpc" ? grpc_url : meshd.url();
      const RunResult sent = RunFor(
          {NODE_BIN, std::string(OTEL_DIR) + "/send_metrics.js", url, protocol, temporality, service}, 60s);
      ASSERT_EQ(sent.exit_code, 0) << service << ": " << sent.out << sent.err;
    }
  }
  const HttpClientResponse r = meshd.Request("GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::map<std::string, std::string> exposed = Exposed(r.body, "shop_");
  for (const std::string protocol : {"proto", "json", "grpc"}) {
    for (const std::string temporality : {"cumulative", "delta"}) {
      const std::string labels =
          R"(attempt="2",instance="shop-1",region="eu-west",service="shop-)" + protocol + "-" + temporality + "\"";
      const std::map<std::string, std::string> expected = {
          {"shop_orders_total{attempt=\"2\",instance=\"shop-1\",payment_method=\"card\",region=\"eu-west\","
           "service=\"shop-" + protocol + "-" + temporality + "\"}", "5"},
          {"shop_queue_depth{" + labels + "}", "3"},
          {"shop_temperature_celsius{" + labels + "}", "19.25"},
          {"shop_checkout_duration_milliseconds_bucket{attempt=\"2\",instance=\"shop-1\",le=\"10\",region=\"eu-west\","
           "service=\"shop-" + protocol + "-" + temporality + "\"}", "1"},
          {"shop_checkout_duration_milliseconds_bucket{attempt=\"2\",instance=\"shop-1\",le=\"100\",region=\"eu-west\","
           "service=\"shop-" + protocol + "-" + temporality + "\"}", "2"},
          {"shop_checkout_duration_milliseconds_bucket{attempt=\"2\",instance=\"shop-1\",le=\"1000\",region=\"eu-west\","
           "service=\"shop-" + protocol + "-" + temporality + "\"}", "3"},
          {"shop_checkout_duration_milliseconds_bucket{attempt=\"2\",instance=\"shop-1\",le=\"+Inf\",region=\"eu-west\","
           "service=\"shop-" + protocol + "-" + temporality + "\"}", "3"},
          {"shop_checkout_duration_milliseconds_sum{" + labels + "}", "555"},
          {"shop_checkout_duration_milliseconds_count{" + labels + "}", "3"},
      };
      for (const auto& [series, value] : expected) {
        const auto found = exposed.find(series);
        ASSERT_NE(found, exposed.end()) << series << " not in\n" << r.body;
        EXPECT_EQ(found->second, value) << series;
      }
    }
  }
  EXPECT_NE(r.body.find("# TYPE shop_orders_total counter"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE shop_queue_depth gauge"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE shop_checkout_duration_milliseconds histogram"), std::string::npos);
  EXPECT_NE(r.body.find("# HELP shop_temperature_celsius Shop temperature"), std::string::npos);
  EXPECT_EQ(exposed.size(), 6u * 9u) << r.body;  // 3 exporters x 2 temporalities, 9 series each
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// The script can fail: with meshd refusing the export (a wrong bearer token) it exits 1 and
// says why, instead of printing a trace id nobody stored.
TEST_F(OtelJs, ScriptFailsWhenMeshdRefusesTheExport) {
  const std::string token = dir_.File("token");
  ASSERT_TRUE(interop::WriteFile(token, "s3cret-token-for-the-interop-test\n"));
  ASSERT_EQ(chmod(token.c_str(), 0600), 0);
  MeshdProcess meshd(dir_.File("mesh.db"), {"--token-file", token});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const RunResult sent =
      RunFor({NODE_BIN, std::string(OTEL_DIR) + "/send_trace.js", meshd.url()}, 60s);
  EXPECT_EQ(sent.exit_code, 1) << sent.out << sent.err;
  EXPECT_NE(sent.err.find("send_trace:"), std::string::npos) << sent.err;
  EXPECT_EQ(sent.out, "");
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

}  // namespace
}  // namespace mesh

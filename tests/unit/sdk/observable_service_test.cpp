#include "mesh/sdk/observable_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <json/value.h>

#include <stdexcept>
#include <thread>

#include "in_process_meshd.h"
#include "mesh/base/json_text.h"
#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/telemetry/traceparent.h"
#include "test_support.h"

namespace mesh {
namespace sdk_observable_service_test {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

HttpResponse Hello(const HttpRequest& r, ObservableService::Context& c) {
  if (r.path == "/boom") throw std::runtime_error("kaboom");
  if (r.path == "/fail") return HttpResponse::Error(503, "unavailable");
  ScopedSpan child = c.tracer.StartChild(c.span, "work");
  c.log.Info("working", {{"path", r.path}});
  return HttpResponse::Json(200, "{\"ok\":true}");
}

class ObservableServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<ObservableService> Start(ObservableService::Options o) {
    o.name = o.name.empty() ? "greeter" : o.name;
    o.listen = "127.0.0.1:0";
    o.threads = 4;
    o.log_stream = nullptr;
    Result<std::unique_ptr<ObservableService>> s = ObservableService::Start(o, Hello);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  HttpClientResponse Get(const ObservableService& s, const std::string& path,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    Result<HttpClientResponse> r =
        client_.Send("GET", "http://127.0.0.1:" + std::to_string(s.port()) + path, "", headers);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : HttpClientResponse{};
  }
  CurlHttpClient client_;
  testing::TempDir dir_;
};

TEST_F(ObservableServiceTest, TracesARequestAsAChildOfItsTraceparentAndShipsSpansAndLogsToMeshd) {
  testing::InProcessMeshd meshd(dir_.File("mesh.db"));
  ObservableService::Options o;
  o.meshd = meshd.url();
  std::unique_ptr<ObservableService> s = Start(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(Get(*s, "/hello/x", {{"traceparent", kParent}}).status, 200);
  s->Stop();  // flushes spans and logs

  const HttpClientResponse trace = meshd.Request("GET", "/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_EQ(trace.status, 200) << trace.body;
  Result<Json::Value> v = ParseJson(trace.body);
  ASSERT_TRUE(v.ok());
  const Json::Value& spans = (*v)["spans"];
  ASSERT_EQ(spans.size(), 2u) << trace.body;
  std::string server_id;
  for (const Json::Value& span : spans) {
    if (span["name"].asString() == "GET /hello") {
      EXPECT_EQ(span["parent_span_id"].asString(), "00f067aa0ba902b7");
      EXPECT_EQ(span["service"].asString(), "greeter");
      server_id = span["span_id"].asString();
    }
  }
  ASSERT_FALSE(server_id.empty()) << trace.body;
  for (const Json::Value& span : spans) {
    if (span["name"].asString() == "work") {
      EXPECT_EQ(span["parent_span_id"].asString(), server_id);
    }
  }
  const HttpClientResponse logs = meshd.Request("GET", "/v1/logs?trace_id=4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_THAT(logs.body, HasSubstr("\"working\""));
  EXPECT_THAT(logs.body, HasSubstr("\"request\""));
}

// The response headers, read with the curl program (our client keeps only status and body).
std::string Headers(const ObservableService& s, const std::string& extra) {
  const std::string cmd = "/usr/bin/curl -s -D - -o /dev/null " + extra + " http://127.0.0.1:" +
                          std::to_string(s.port()) + "/hello/x";
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[1024];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (p) pclose(p);
  return out;
}

TEST_F(ObservableServiceTest, EchoesTheTraceIdAndStartsATraceWithoutOne) {
  std::unique_ptr<ObservableService> s = Start({});
  ASSERT_TRUE(s);
  EXPECT_THAT(Headers(*s, std::string("-H 'traceparent: ") + kParent + "'"),
              HasSubstr("X-Trace-ID: 4bf92f3577b34da6a3ce929d0e0e4736"));
  const std::string fresh = Headers(*s, "");
  const size_t at = fresh.find("X-Trace-ID: ");
  ASSERT_NE(at, std::string::npos) << fresh;
  const std::string id = fresh.substr(at + 12, 32);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_NE(id, "4bf92f3577b34da6a3ce929d0e0e4736");
  // A malformed traceparent starts a new trace rather than failing the request.
  EXPECT_THAT(Headers(*s, "-H 'traceparent: 00-zz-yy-01'"), HasSubstr("200 OK"));
}

TEST_F(ObservableServiceTest, CountsAndTimesRequestsByMethodRouteAndCode) {
  std::unique_ptr<ObservableService> s = Start({});
  ASSERT_TRUE(s);
  Get(*s, "/hello/a");
  Get(*s, "/hello/b");
  Get(*s, "/fail");
  const std::string metrics = Get(*s, "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("http_server_requests_total{code=\"200\",method=\"GET\",route=\"/hello\",service=\"greeter\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("http_server_requests_total{code=\"503\",method=\"GET\",route=\"/fail\",service=\"greeter\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("http_server_request_duration_seconds_count{method=\"GET\",route=\"/hello\",service=\"greeter\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("http_server_requests_in_flight{service=\"greeter\"} 0"));
  // /metrics and /healthz are not requests of the service.
  EXPECT_THAT(metrics, Not(HasSubstr("route=\"/metrics\"")));
  EXPECT_EQ(Get(*s, "/healthz").body, "{\"status\":\"ok\"}");
}

TEST_F(ObservableServiceTest, AHandlerThatThrowsAnswers500AndTheServiceLivesOn) {
  std::unique_ptr<ObservableService> s = Start({});
  ASSERT_TRUE(s);
  const HttpClientResponse r = Get(*s, "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, HasSubstr("internal error"));
  EXPECT_THAT(r.body, Not(HasSubstr("kaboom")));  // internals stay in the log
  EXPECT_EQ(Get(*s, "/hello/x").status, 200);
  EXPECT_THAT(Get(*s, "/metrics").body, HasSubstr("code=\"500\",method=\"GET\",route=\"/boom\""));
}

TEST_F(ObservableServiceTest, RouteLabelsAreCappedWhateverClientsSend) {
  std::unique_ptr<ObservableService> s = Start({});
  ASSERT_TRUE(s);
  for (int i = 0; i < 130; ++i) Get(*s, "/p" + std::to_string(i) + "/x");
  const std::string metrics = Get(*s, "/metrics").body;
  size_t series = 0;
  for (size_t at = metrics.find("http_server_requests_total{"); at != std::string::npos;
       at = metrics.find("http_server_requests_total{", at + 1)) {
    ++series;
  }
  EXPECT_EQ(series, 101u);  // 100 routes and "other"
  EXPECT_THAT(metrics, HasSubstr("route=\"other\",service=\"greeter\"} 30"));
}

TEST_F(ObservableServiceTest, ServesOpenMetricsWhenAskedThroughAccept) {
  std::unique_ptr<ObservableService> s = Start({});
  ASSERT_TRUE(s);
  Get(*s, "/hello/a");
  const HttpClientResponse om = Get(*s, "/metrics", {{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}});
  EXPECT_THAT(om.body, HasSubstr("# TYPE http_server_requests counter\n"));
  EXPECT_THAT(om.body, HasSubstr("http_server_requests_total{"));
  EXPECT_THAT(om.body, ::testing::EndsWith("# EOF\n"));
  const HttpClientResponse text = Get(*s, "/metrics", {{"Accept", "text/plain"}});
  EXPECT_THAT(text.body, HasSubstr("# TYPE http_server_requests_total counter\n"));
  EXPECT_THAT(text.body, Not(HasSubstr("# EOF")));
}

TEST_F(ObservableServiceTest, PushesItsMetricsToMeshdWhenAsked) {
  testing::InProcessMeshd meshd(dir_.File("mesh.db"));
  ObservableService::Options o;
  o.name = "worker";
  o.meshd = meshd.url();
  o.push_interval = std::chrono::milliseconds(100);
  std::unique_ptr<ObservableService> s = Start(o);
  ASSERT_TRUE(s);
  Get(*s, "/hello/a");
  s->Stop();  // a last push
  const std::string exposed = meshd.Request("GET", "/metrics").body;
  EXPECT_THAT(exposed, HasSubstr("http_server_requests_total{code=\"200\""));
  EXPECT_THAT(exposed, HasSubstr("service=\"worker\""));
}

TEST_F(ObservableServiceTest, RejectsBadOptions) {
  const auto start = [](ObservableService::Options o) {
    o.log_stream = nullptr;
    return ObservableService::Start(o, Hello).status();
  };
  EXPECT_EQ(start({.name = ""}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(start({.name = "a", .listen = "nowhere"}).code(), Status::Code::kInvalidArgument);
  ObservableService::Options bad_meshd{.name = "a", .listen = "127.0.0.1:0"};
  bad_meshd.meshd = "localhost:9000";
  EXPECT_EQ(start(bad_meshd).code(), Status::Code::kInvalidArgument);
  ObservableService::Options push_nowhere{.name = "a", .listen = "127.0.0.1:0"};
  push_nowhere.push_interval = std::chrono::seconds(1);
  EXPECT_EQ(start(push_nowhere).code(), Status::Code::kInvalidArgument);
}

TEST(FirstPathSegment, KeepsTheFirstSegmentOnly) {
  const auto route = [](const std::string& path) { return FirstPathSegment({.path = path}); };
  EXPECT_EQ(route("/orders/42/items"), "/orders");
  EXPECT_EQ(route("/orders"), "/orders");
  EXPECT_EQ(route("/"), "/");
  EXPECT_EQ(route(""), "/");
}

}  // namespace
}  // namespace mesh

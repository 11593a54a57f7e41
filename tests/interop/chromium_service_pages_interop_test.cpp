// The dashboard's service page and service map in a real browser: headless Chromium loads
// /dashboard/services/{name} and /dashboard/map from a meshd holding known spans, metrics, logs
// and registry entries, runs the pages' script against meshd's JSON API and dumps the DOM it
// built, whose values are checked; a screenshot of each page is kept in the build tree. The
// browser's console must stay silent: any message (an error, a failed fetch) fails the test.
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <string>
#include <vector>

#include "chromium_page.h"
#include "interop_support.h"
#include "meshd_fixture.h"

namespace mesh {
namespace {

using interop::AttributeValues;
using interop::CountOf;
using interop::Element;
using interop::TempDir;
using test_support::MeshdProcess;

constexpr int64_t kMs = 1'000'000;
constexpr char kFailingTrace[] = "c0ffee00000000000000000000000001";
// If this name were ever parsed as HTML, its handler would mark the body: a canary that runs.
constexpr char kHostileService[] = "<img src=x onerror=\"document.body.dataset.pwned='1'\">";
constexpr char kHostileMessage[] = "card declined <b onmouseover=alert(1)>boom</b>";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Hex(uint64_t n, size_t digits) {
  std::string out(digits, '0');
  for (size_t i = digits; i-- > 0 && n > 0; n >>= 4) out[i] = "0123456789abcdef"[n & 15];
  return out;
}

struct TestSpan {
  std::string trace_id, span_id, parent, service, name;
  int64_t start_ns = 0, duration_ns = 0;
  bool error = false;
  int http_status = 0;
  std::string exception_type;
};

// One OTLP/HTTP JSON body holding every span, one resource per span.
std::string OtlpBody(const std::vector<TestSpan>& spans) {
  Json::Value body;
  for (const TestSpan& s : spans) {
    Json::Value resource;
    resource["resource"]["attributes"][0]["key"] = "service.name";
    resource["resource"]["attributes"][0]["value"]["stringValue"] = s.service;
    Json::Value span;
    span["traceId"] = s.trace_id;
    span["spanId"] = s.span_id;
    if (!s.parent.empty()) span["parentSpanId"] = s.parent;
    span["name"] = s.name;
    span["kind"] = 2;
    span["startTimeUnixNano"] = std::to_string(s.start_ns);
    span["endTimeUnixNano"] = std::to_string(s.start_ns + s.duration_ns);
    span["status"]["code"] = s.error ? 2 : 1;
    if (s.http_status) {
      span["attributes"][0]["key"] = "http.response.status_code";
      span["attributes"][0]["value"]["intValue"] = std::to_string(s.http_status);
    }
    if (!s.exception_type.empty()) {
      span["events"][0]["name"] = "exception";
      span["events"][0]["timeUnixNano"] = std::to_string(s.start_ns);
      span["events"][0]["attributes"][0]["key"] = "exception.type";
      span["events"][0]["attributes"][0]["value"]["stringValue"] = s.exception_type;
    }
    resource["scopeSpans"][0]["spans"][0] = span;
    body["resourceSpans"].append(resource);
  }
  return interop::ToJson(body);
}

// checkout's pushed request metrics, stamped `at_ms`: requests by code and a latency histogram
// (le 0.1, 0.5, 1, +Inf), cumulative.
std::string MetricsPush(int64_t at_ms, int ok, int not_found, int unavailable, const std::vector<int>& buckets) {
  const std::string ts = " " + std::to_string(at_ms) + "\n";
  std::string text = "# TYPE mesh_requests_total counter\n";
  text += "mesh_requests_total{service=\"checkout\",code=\"200\"} " + std::to_string(ok) + ts;
  text += "mesh_requests_total{service=\"checkout\",code=\"404\"} " + std::to_string(not_found) + ts;
  text += "mesh_requests_total{service=\"checkout\",code=\"503\"} " + std::to_string(unavailable) + ts;
  text += "# TYPE mesh_request_duration_seconds histogram\n";
  const char* les[] = {"0.1", "0.5", "1", "+Inf"};
  for (size_t i = 0; i < 4; ++i) {
    text += std::string("mesh_request_duration_seconds_bucket{service=\"checkout\",le=\"") + les[i] + "\"} " +
            std::to_string(buckets[i]) + ts;
  }
  return text;
}

class ServicePages : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(interop::PeerInstalled(CHROMIUM_BIN, "chromium"));
    meshd_ = std::make_unique<MeshdProcess>(dir_.File("mesh.db"));
    ASSERT_TRUE(meshd_->ready()) << meshd_->process().err();
    Post("/v1/register", R"({"service":"checkout","host":"127.0.0.1","port":9000,"ttl_seconds":300,"meta":{"version":"2.3.1"}})");
    const int64_t now = NowNs();
    const int64_t start = now - 10 * 60'000 * kMs;  // ten minutes ago: inside every window
    std::vector<TestSpan> spans;
    uint64_t next = 0;
    const auto span = [&](const std::string& trace, const std::string& parent, const std::string& service,
                          const std::string& name, int64_t duration_ms) -> TestSpan& {
      TestSpan& s = spans.emplace_back();
      s.trace_id = trace;
      s.span_id = Hex(++next, 16);
      s.parent = parent;
      s.service = service;
      s.name = name;
      s.start_ns = start;
      s.duration_ns = duration_ms * kMs;
      return s;
    };
    // frontend calls checkout's POST /pay four times; the first call fails (HTTP 503, a
    // TimeoutError), in trace kFailingTrace.
    for (int i = 0; i < 4; ++i) {
      const std::string trace = i == 0 ? kFailingTrace : Hex(0xabc0 + i, 32);
      const std::string root = span(trace, "", "frontend", "GET /", 200).span_id;
      TestSpan& pay = span(trace, root, "checkout", "POST /pay", 125);
      if (i == 0) {
        pay.error = true;
        pay.http_status = 503;
        pay.exception_type = "TimeoutError";
        // checkout calls the hostile service twice from there.
        const std::string pay_id = pay.span_id;
        span(trace, pay_id, kHostileService, "lookup", 5);
        span(trace, pay_id, kHostileService, "lookup", 5);
      }
    }
    // Eleven more operations of checkout, op01 .. op11 taking 10 .. 110 ms.
    for (int i = 1; i <= 11; ++i) span(Hex(0xd000 + i, 32), "", "checkout", (i < 10 ? "op0" : "op") + std::to_string(i), i * 10);
    // A layered call graph for the map: frontend -> 5 gateways -> 10 backends -> 15 stores
    // (with checkout and the hostile one, 33 services).
    const std::string trace = Hex(0xe000, 32);
    const std::string root = span(trace, "", "frontend", "GET /home", 300).span_id;
    std::vector<std::string> gateways, backends;
    for (int g = 0; g < 5; ++g) gateways.push_back(span(trace, root, "gw-" + std::to_string(g), "route", 200).span_id);
    for (int b = 0; b < 10; ++b) backends.push_back(span(trace, gateways[b % 5], "backend-" + std::to_string(b), "work", 100).span_id);
    for (int d = 0; d < 15; ++d) span(trace, backends[d % 10], "store-" + std::to_string(d), "get", 10);
    Post("/v1/traces", OtlpBody(spans), "application/json", "{}");
    // checkout's metrics: a baseline 50 minutes ago, then 110 requests by 20 minutes ago.
    const int64_t now_ms = now / kMs;
    Post("/v1/metrics", MetricsPush(now_ms - 50 * 60'000, 0, 0, 0, {0, 0, 0, 0}), "text/plain");
    Post("/v1/metrics", MetricsPush(now_ms - 20 * 60'000, 100, 4, 6, {60, 95, 105, 110}), "text/plain");
    // checkout's sidecar's process metrics, as meshproxy pushes them (the saturation section).
    Post("/v1/metrics?service=checkout&instance=127.0.0.1:9000",
         "process_resident_memory_bytes 52428800 " + std::to_string(now_ms - 60'000) + "\n" +
             "process_open_fds 40 " + std::to_string(now_ms - 60'000) + "\n" +
             "process_max_fds 1000 " + std::to_string(now_ms - 60'000) + "\n",
         "text/plain");
    Json::Value logs;
    Json::Value& record = logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    logs["resourceLogs"][0]["resource"]["attributes"][0]["key"] = "service.name";
    logs["resourceLogs"][0]["resource"]["attributes"][0]["value"]["stringValue"] = "checkout";
    record["timeUnixNano"] = std::to_string(start);
    record["severityNumber"] = 17;
    record["severityText"] = "ERROR";
    record["body"]["stringValue"] = kHostileMessage;
    record["traceId"] = kFailingTrace;
    Post("/v1/logs", interop::ToJson(logs), "application/json", "{}");
  }
  void TearDown() override {
    if (meshd_ && meshd_->ready()) {
      EXPECT_EQ(meshd_->Stop().exit_code, 0);
    }
  }

  void Post(const std::string& path, const std::string& body, const std::string& type = "application/json",
            const std::string& expected = "") {
    HttpClientResponse r = meshd_->Request("POST", path, body, {{"Content-Type", type}});
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    if (!expected.empty()) {
      ASSERT_EQ(r.body, expected) << path;
    }
  }

  // The DOM that the page at `path` built in headless Chromium, whose console must stay silent;
  // its screenshot goes to `png`.
  std::string Render(const std::string& path, const std::string& png) {
    const std::string dom =
        interop::RenderPage(CHROMIUM_BIN, meshd_->url() + path,
                            dir_.File("chromium-profile-" + std::to_string(++renders_)), png,
                            {.window_size = "1280,1600", .silent_console = true});
    EXPECT_NE(dom.find("<body data-ready=\"true\">"), std::string::npos) << "the page never finished:\n" << dom;
    // Hostile strings stay text: the page's own script is the only one, no <img> or <b> was
    // created, and the canary handler never ran.
    EXPECT_EQ(CountOf(dom, "<script"), 1u) << dom;
    EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("<b onmouseover"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("data-pwned"), std::string::npos) << dom;
    return dom;
  }

  TempDir dir_;
  std::unique_ptr<MeshdProcess> meshd_;
  int renders_ = 0;
};

TEST_F(ServicePages, ServicePageShowsTheStoredValues) {
  const std::string dom = Render("/dashboard/services/checkout?window=1h", DASHBOARD_PNG_DIR "/dashboard-service.png");
  EXPECT_NE(dom.find("<h2 id=\"service-name\">checkout</h2>"), std::string::npos) << dom;
  // 110 requests: 100 2xx, 4 4xx, 6 5xx.
  EXPECT_NE(dom.find("110 requests"), std::string::npos) << dom;
  EXPECT_NE(dom.find("5.45 % errors (5xx)"), std::string::npos) << dom;
  // The histogram's own bucket counts: 60 up to 100 ms, 35 up to 500 ms, 10 up to 1 s, 5 above.
  const std::string latency = Element(dom, "<table id=\"latency\">");
  EXPECT_NE(Element(latency, "<tr data-le=\"0.1\">").find("<td class=\"num\">60</td>"), std::string::npos) << latency;
  EXPECT_NE(Element(latency, "<tr data-le=\"0.5\">").find("<td class=\"num\">35</td>"), std::string::npos) << latency;
  EXPECT_NE(Element(latency, "<tr data-le=\"1\">").find("<td class=\"num\">10</td>"), std::string::npos) << latency;
  EXPECT_NE(Element(latency, "<tr data-le=\"+Inf\">").find("<td class=\"num\">5</td>"), std::string::npos) << latency;
  // The ten highest p99 in order: POST /pay (125 ms), then op11 down to op03.
  EXPECT_EQ(AttributeValues(Element(dom, "<table id=\"slowest\">"), "data-operation"),
            (std::vector<std::string>{"POST /pay", "op11", "op10", "op09", "op08", "op07", "op06", "op05", "op04", "op03"}));
  const std::string errors = Element(dom, "<table id=\"error-types\">");
  EXPECT_NE(Element(errors, "<tr data-kind=\"http\">").find("<td class=\"msg\">503</td>"), std::string::npos) << errors;
  EXPECT_NE(Element(errors, "<tr data-kind=\"exception\">").find("TimeoutError"), std::string::npos) << errors;
  const std::string instance = Element(dom, "<tr data-instance=\"checkout@127.0.0.1:9000\">");
  EXPECT_NE(instance.find(">healthy</td>"), std::string::npos) << instance;
  EXPECT_NE(instance.find("<td>2.3.1</td>"), std::string::npos) << instance;
  EXPECT_NE(instance.find("spiffe://mesh.local/service/checkout"), std::string::npos) << instance;
  // frontend called 4 times, 1 failed: 25.0 %.
  const std::string caller = Element(Element(dom, "<table id=\"callers\">"), "<tr data-service=\"frontend\">");
  EXPECT_NE(caller.find("<td class=\"num\">4</td>"), std::string::npos) << caller;
  EXPECT_NE(caller.find("<td class=\"num bad\">25.0</td>"), std::string::npos) << caller;
  // The hostile callee and the hostile log message are text.
  const std::string callees = Element(dom, "<table id=\"callees\">");
  EXPECT_NE(callees.find("&lt;img src=x onerror=\"document.body.dataset.pwned='1'\"&gt;</a>"), std::string::npos) << callees;
  const std::string logs = Element(dom, "<table id=\"error-logs\">");
  EXPECT_NE(logs.find("card declined &lt;b onmouseover=alert(1)&gt;boom&lt;/b&gt;"), std::string::npos) << logs;
  EXPECT_NE(logs.find(std::string("href=\"/dashboard/traces/") + kFailingTrace + "\""), std::string::npos) << logs;
  // Saturation, per instance: its memory and its fds against their limit.
  const std::string saturation = Element(Element(dom, "<table id=\"saturation\">"), "<tr data-instance=\"127.0.0.1:9000\">");
  EXPECT_NE(saturation.find(">50.0 MiB</td>"), std::string::npos) << saturation;
  EXPECT_NE(saturation.find(">40 / 1000</td>"), std::string::npos) << saturation;
  EXPECT_NE(saturation.find(">4.0</td>"), std::string::npos) << saturation;
}

TEST_F(ServicePages, TheWindowIsTakenFromTheAddressAndOffered) {
  const std::string dom = Render("/dashboard/services/checkout?window=15m", DASHBOARD_PNG_DIR "/dashboard-service-15m.png");
  const std::string picker = Element(dom, "<nav class=\"window-picker\" id=\"window-picker\">");
  EXPECT_NE(picker.find("<a href=\"/dashboard/services/checkout?window=15m\" class=\"chosen\">15m</a>"), std::string::npos) << picker;
  EXPECT_NE(picker.find("<a href=\"/dashboard/services/checkout?window=7d\" class=\"\">7d</a>"), std::string::npos) << picker;
  // The metrics' rises were 20 minutes ago and more: none in the last 15 minutes.
  EXPECT_NE(dom.find("no request metrics in this window"), std::string::npos) << dom;
}

TEST_F(ServicePages, AHostileServiceNameIsShownAsText) {
  const std::string dom = Render("/dashboard/services/%3Cimg%20src=x%20onerror=%22document.body.dataset.pwned='1'%22%3E",
                                 DASHBOARD_PNG_DIR "/dashboard-service-hostile.png");
  EXPECT_NE(dom.find("<h2 id=\"service-name\">&lt;img src=x onerror=\"document.body.dataset.pwned='1'\"&gt;</h2>"), std::string::npos) << dom;
  EXPECT_NE(Element(dom, "<table id=\"callers\">").find(">checkout</a>"), std::string::npos) << dom;
}

TEST_F(ServicePages, MapDrawsEveryServiceAndEachEdgesRate) {
  const std::string dom = Render("/dashboard/map", DASHBOARD_PNG_DIR "/dashboard-map.png");
  const std::string svg = Element(dom, "<svg id=\"service-map\"");
  ASSERT_FALSE(svg.empty()) << dom;
  EXPECT_EQ(CountOf(svg, "class=\"node\""), 33u) << svg;
  // A node opens its service page.
  EXPECT_NE(svg.find("<a href=\"/dashboard/services/checkout?window=1h\" class=\"node\" data-service=\"checkout\">"), std::string::npos) << svg;
  const std::string edges = Element(dom, "<table id=\"edges\">");
  EXPECT_EQ(CountOf(edges, "<tr data-edge="), 1u + 1 + 5 + 10 + 15) << edges;
  // frontend -> checkout: 4 calls in the hour (0.00111 req/s), 1 failed.
  const std::string edge = Element(edges, "<tr data-edge=\"frontend→checkout\">");
  EXPECT_NE(edge.find("<td class=\"num\">4</td><td class=\"num\">0.00111</td><td class=\"num bad\">25.0</td>"), std::string::npos) << edge;
  // Layered by call depth: frontend left of the gateways, left of the backends, left of the stores.
  const auto x_of = [&](const std::string& service) {
    const std::string node = Element(svg, "<a href=\"/dashboard/services/" + service + "?window=1h\"");
    const std::vector<std::string> xs = AttributeValues(node, "x");
    return xs.empty() ? -1.0 : std::stod(xs[0]);
  };
  EXPECT_LT(x_of("frontend"), x_of("gw-0"));
  EXPECT_LT(x_of("gw-0"), x_of("backend-3"));
  EXPECT_LT(x_of("backend-3"), x_of("store-14"));
  EXPECT_EQ(x_of("checkout"), x_of("gw-4"));
}

}  // namespace
}  // namespace mesh

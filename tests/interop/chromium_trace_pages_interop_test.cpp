// The trace explorer (/dashboard/traces), the trace page (/dashboard/traces/{id}) and the
// header's trace id search in headless Chromium, against a meshd holding known spans and logs:
// the DOM the page's script builds is dumped and checked, a screenshot of each page is kept in
// the build tree, the browser's console must stay silent (a script error, a refused fetch or a
// CSP violation all print there), and what needs a click is driven over the DevTools protocol.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <json/json.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "chromium_page.h"
#include "interop_support.h"
#include "mesh/base/url_encoding.h"
#include "meshd_fixture.h"

namespace mesh {
namespace {

using interop::AttributeValues;
using interop::CountOf;
using interop::DevToolsBrowser;
using interop::Element;
using interop::TempDir;
using test_support::MeshdProcess;
using namespace std::chrono_literals;

// Trace one: web GET /checkout 0..100 ms calls api charge 10..40 ms and api reserve 20..90 ms,
// which calls db 30..80 ms (an error). Its critical path, as meshtrace show walks it: the root,
// reserve (the child that ends last), db; charge ends after reserve starts, so it is off it.
constexpr char kTraceOne[] = "1a1a1a1a00000000000000000000000a";
constexpr char kRoot[] = "000000000000000a";
constexpr char kCharge[] = "000000000000000b";
constexpr char kReserve[] = "000000000000000c";
constexpr char kDb[] = "000000000000000d";
// Two worker traces share the 8-digit prefix 2b2b2b2b; the long one is linked from reserve.
constexpr char kTraceLong[] = "2b2b2b2b000000000000000000000002";
constexpr char kTraceShort[] = "2b2b2b2b000000000000000000000003";
constexpr char kWorkerSpan[] = "00000000000000f2";
// If any of these were parsed as HTML, its handler would mark the body: a canary that runs.
constexpr char kHostileOperation[] = "SELECT <script>alert(1)</script>";
constexpr char kHostileAttribute[] = "<img src=x onerror=\"document.body.dataset.pwned='1'\">";
constexpr char kHostileLog[] = "<script>document.body.dataset.pwned='1'</script> slow query";

Json::Value Attribute(const std::string& key, const Json::Value& value) {
  Json::Value a;
  a["key"] = key;
  if (value.isString()) a["value"]["stringValue"] = value;
  else a["value"]["intValue"] = std::to_string(value.asInt64());
  return a;
}

struct TestSpan {
  std::string trace, id, parent, service, name;
  int64_t start_ms, duration_ms;
  int status = 1;
  std::vector<Json::Value> attributes = {};
  std::string link_trace = "", link_span = "";
};

// An OTLP/HTTP JSON body with one span, timed from `t0_ns`.
std::string OtlpSpan(const TestSpan& s, int64_t t0_ns) {
  Json::Value span;
  span["traceId"] = s.trace;
  span["spanId"] = s.id;
  span["parentSpanId"] = s.parent;
  span["name"] = s.name;
  span["kind"] = s.parent.empty() ? 2 : 3;
  span["startTimeUnixNano"] = std::to_string(t0_ns + s.start_ms * 1'000'000);
  span["endTimeUnixNano"] = std::to_string(t0_ns + (s.start_ms + s.duration_ms) * 1'000'000);
  span["status"]["code"] = s.status;
  for (const Json::Value& a : s.attributes) span["attributes"].append(a);
  if (!s.link_trace.empty()) {
    span["links"][0]["traceId"] = s.link_trace;
    span["links"][0]["spanId"] = s.link_span;
  }
  Json::Value body;
  body["resourceSpans"][0]["resource"]["attributes"][0] = Attribute("service.name", s.service);
  body["resourceSpans"][0]["resource"]["attributes"][1] = Attribute("deployment.environment", "staging");
  body["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] = "checkout-instrumentation";
  body["resourceSpans"][0]["scopeSpans"][0]["scope"]["version"] = "1.4.2";
  body["resourceSpans"][0]["scopeSpans"][0]["spans"][0] = span;
  return interop::ToJson(body);
}

std::string OtlpLog(const std::string& service, const std::string& span_id, const std::string& severity,
                    const std::string& message, int64_t time_ns) {
  Json::Value record;
  record["timeUnixNano"] = std::to_string(time_ns);
  record["severityText"] = severity;
  record["body"]["stringValue"] = message;
  record["traceId"] = kTraceOne;
  record["spanId"] = span_id;
  Json::Value body;
  body["resourceLogs"][0]["resource"]["attributes"][0] = Attribute("service.name", service);
  body["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0] = record;
  return interop::ToJson(body);
}

// The span ids of the waterfall rows that carry `marker` (e.g. data-critical="true").
std::vector<std::string> RowsMarked(const std::string& waterfall, const std::string& marker) {
  std::vector<std::string> out;
  const std::regex re("<div class=\"wf-row\" data-span=\"([0-9a-f]+)\"([^>]*)>");
  for (auto it = std::sregex_iterator(waterfall.begin(), waterfall.end(), re); it != std::sregex_iterator(); ++it) {
    if ((*it)[2].str().find(marker) != std::string::npos) out.push_back((*it)[1].str());
  }
  return out;
}

class TracePages : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(interop::PeerInstalled(CHROMIUM_BIN, "chromium"));
    meshd_ = std::make_unique<MeshdProcess>(dir_.File("mesh.db"), std::vector<std::string>{});
    ASSERT_TRUE(meshd_->ready()) << meshd_->process().err();
    // A minute ago, so that everything lies in the explorer's default hour.
    t0_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count() - 60'000'000'000;
    const std::vector<TestSpan> spans = {
        {kTraceOne, kRoot, "", "web", "GET /checkout", 0, 100, 1,
         {Attribute("http.status_code", Json::Int64(200)), Attribute("user.tier", kHostileAttribute)}},
        {kTraceOne, kCharge, kRoot, "api", "charge", 10, 30},
        {kTraceOne, kReserve, kRoot, "api", "reserve", 20, 70, 1, {Attribute("cart.size", Json::Int64(3))},
         kTraceLong, kWorkerSpan},
        {kTraceOne, kDb, kReserve, "db", kHostileOperation, 30, 50, 2},
        {kTraceLong, kWorkerSpan, "", "worker", "consume", -2000, 500, 1, {Attribute("job.kind", "export")}},
        {kTraceShort, "00000000000000f3", "", "worker", "consume", -1000, 5},
    };
    for (const TestSpan& s : spans) {
      const HttpClientResponse r = meshd_->Request("POST", "/v1/traces", OtlpSpan(s, t0_ns_),
                                                   {{"Content-Type", "application/json"}});
      ASSERT_EQ(r.status, 200) << r.body;
    }
    for (const std::string& body : {OtlpLog("db", kDb, "ERROR", kHostileLog, t0_ns_ + 35'000'000),
                                    OtlpLog("api", kCharge, "INFO", "charging card", t0_ns_ + 15'000'000)}) {
      const HttpClientResponse r =
          meshd_->Request("POST", "/v1/logs", body, {{"Content-Type", "application/json"}});
      ASSERT_EQ(r.status, 200) << r.body;
    }
  }
  void TearDown() override {
    if (meshd_ && meshd_->ready()) {
      EXPECT_EQ(meshd_->Stop().exit_code, 0);
    }
  }

  // The DOM that the page at `path` built in headless Chromium, whose console must stay silent;
  // its screenshot goes to `png` in the build tree.
  std::string Render(const std::string& path, const std::string& png) {
    const std::string dom = interop::RenderPage(
        CHROMIUM_BIN, meshd_->url() + path, dir_.File("profile-" + std::to_string(++renders_)),
        std::string(DASHBOARD_PNG_DIR) + "/" + png, {.window_size = "1280,1000", .silent_console = true});
    EXPECT_NE(dom.find("<body data-ready=\"true\">"), std::string::npos) << "never ready: " << path << "\n" << dom;
    return dom;
  }

  // The trace ids of the explorer's result rows for `query`.
  std::vector<std::string> Explore(const std::string& query, const std::string& png) {
    const std::string dom = Render("/dashboard/traces" + query, png);
    const std::string results = Element(dom, "<table id=\"trace-results\">");
    EXPECT_FALSE(results.empty()) << dom;
    // Each result is a dot on the scatter too, linked to its trace.
    const std::string scatter = Element(dom, "<svg id=\"trace-scatter\"");
    EXPECT_EQ(CountOf(scatter, "<a href=\"/dashboard/traces/"), CountOf(results, "<tr data-trace=")) << scatter;
    return AttributeValues(results, "data-trace");
  }

  void ExpectNoMarkupFromData(const std::string& dom) {
    EXPECT_EQ(CountOf(dom, "<script"), 1u) << dom;
    EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("data-pwned"), std::string::npos) << dom;
  }

  TempDir dir_;
  std::unique_ptr<MeshdProcess> meshd_;
  int64_t t0_ns_ = 0;
  int renders_ = 0;
};

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

TEST_F(TracePages, ExplorerFiltersByServiceOperationDurationAndErrors) {
  EXPECT_THAT(Explore("", "traces-explorer.png"), ElementsAre(kTraceOne, kTraceShort, kTraceLong));
  EXPECT_THAT(Explore("?errors=true", "traces-errors.png"), ElementsAre(kTraceOne));
  EXPECT_THAT(Explore("?min_duration=300ms", "traces-min-duration.png"), ElementsAre(kTraceLong));
  EXPECT_THAT(Explore("?max_duration=5ms", "traces-max-duration.png"), ElementsAre(kTraceShort));
  EXPECT_THAT(Explore("?service=worker", "traces-service.png"), ElementsAre(kTraceShort, kTraceLong));
  EXPECT_THAT(Explore("?service=api&operation=reserve", "traces-operation.png"), ElementsAre(kTraceOne));
}

TEST_F(TracePages, ExplorerFiltersByAttributeAndTimeWindowAndKeepsTheSearchInTheAddress) {
  EXPECT_THAT(Explore("?attr=cart.size%3D3", "traces-attr.png"), ElementsAre(kTraceOne));
  EXPECT_THAT(Explore("?attr=job.kind%3Dexport", "traces-attr-string.png"), ElementsAre(kTraceLong));
  EXPECT_THAT(Explore("?since=2h&until=30s", "traces-window.png"), ElementsAre(kTraceOne, kTraceShort, kTraceLong));
  EXPECT_TRUE(Explore("?until=10m", "traces-none.png").empty());
  // The search is the address: the form shows it back.
  const std::string dom = Render("/dashboard/traces?min_duration=300ms&errors=true", "traces-form.png");
  const std::string form = Element(dom, "<form id=\"trace-search-form\"");
  EXPECT_NE(form.find("name=\"min_duration\" id=\"q-min_duration\" placeholder=\"e.g. 200ms\" value=\"300ms\""),
            std::string::npos) << form;
  // Hostile attribute values are text wherever they show.
  ExpectNoMarkupFromData(Render("/dashboard/traces?attr=user.tier%3D" + UrlEncode(kHostileAttribute), "traces-hostile.png"));
}

TEST_F(TracePages, ExplorerSaysWhyItRefusesABadParameter) {
  const std::string dom = Render("/dashboard/traces?min_duration=soon", "traces-bad.png");
  const std::string error = Element(dom, "<p id=\"search-error\"");
  EXPECT_NE(error.find("answered 400: parameter min_duration"), std::string::npos) << dom;
  EXPECT_FALSE(Element(dom, "<form id=\"trace-search-form\"").empty()) << dom;
}

TEST_F(TracePages, TracePageMarksTheCriticalPathAndShowsTheSelectedSpan) {
  const std::string dom =
      Render(std::string("/dashboard/traces/") + kTraceOne + "?span=" + kReserve, "trace-page.png");
  const std::string waterfall = Element(dom, "<div id=\"waterfall\">");
  ASSERT_FALSE(waterfall.empty()) << dom;
  // Depth first, children by start; the critical path is what GET /v1/traces/{id} marks.
  EXPECT_THAT(AttributeValues(waterfall, "data-span"), ElementsAre(kRoot, kCharge, kReserve, kDb));
  EXPECT_THAT(RowsMarked(waterfall, "data-critical=\"true\""), ElementsAre(kRoot, kReserve, kDb));
  EXPECT_THAT(RowsMarked(waterfall, "data-selected=\"true\""), ElementsAre(kReserve));
  EXPECT_NE(waterfall.find("SELECT &lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << waterfall;

  // The detail panel of the selected span: its attribute, its link to the other trace, its
  // resource and scope.
  const std::string detail = Element(dom, "<section id=\"span-detail\"");
  EXPECT_NE(Element(detail, "<table class=\"attrs\" id=\"span-attributes\">").find("<td class=\"key\">cart.size</td><td class=\"msg\">3</td>"),
            std::string::npos) << detail;
  EXPECT_NE(detail.find(std::string("href=\"/dashboard/traces/") + kTraceLong + "?span=" + kWorkerSpan + "\""),
            std::string::npos) << detail;
  EXPECT_NE(detail.find("<td class=\"msg\">CLIENT</td>"), std::string::npos) << detail;
  EXPECT_NE(detail.find("staging"), std::string::npos) << detail;
  EXPECT_NE(detail.find("Scope checkout-instrumentation 1.4.2"), std::string::npos) << detail;

  // Statistics: self time per service (db 50 ms; web 100 less 10..90 = 20 ms; api 30 + 20 ms).
  const std::string stats = Element(dom, "<table id=\"trace-stats\">");
  EXPECT_NE(Element(stats, "<tr data-service=\"db\">").find("50.0 ms"), std::string::npos) << stats;
  EXPECT_NE(Element(stats, "<tr data-service=\"web\">").find("20.0 ms"), std::string::npos) << stats;
  EXPECT_NE(Element(stats, "<tr data-service=\"api\">").find("<td class=\"num\">2</td><td class=\"num\">50.0 ms</td>"),
            std::string::npos) << stats;
  EXPECT_NE(Element(dom, "<p id=\"trace-summary\">").find("total 100.0 ms · 4 spans · 3 services"), std::string::npos) << dom;

  // The logs, by time, each linked to its span; the hostile message is text.
  const std::string logs = Element(dom, "<table id=\"trace-logs\">");
  EXPECT_THAT(AttributeValues(logs, "tr data-span"), ElementsAre(kCharge, kDb)) << logs;
  EXPECT_NE(logs.find("&lt;script&gt;document.body.dataset.pwned='1'&lt;/script&gt; slow query"), std::string::npos) << logs;
  ExpectNoMarkupFromData(dom);
}

TEST_F(TracePages, ClickingSelectsASpanAndCollapsingHidesItsSubtree) {
  DevToolsBrowser browser(CHROMIUM_BIN, meshd_->url() + "/dashboard/traces/" + kTraceOne, dir_.File("profile-devtools"));
  ASSERT_TRUE(browser.attached());
  ASSERT_EQ(browser.WaitFor("document.body.dataset.ready === 'true' ? 'yes' : ''"), "yes");
  browser.Evaluate(std::string("document.querySelector('.wf-row[data-span=\"") + kRoot + "\"]').click(), ''");
  EXPECT_EQ(browser.Evaluate("document.getElementById('span-detail').dataset.span"), kRoot);
  EXPECT_EQ(browser.Evaluate("location.search"), std::string("?span=") + kRoot);
  EXPECT_NE(browser.Evaluate("document.getElementById('span-attributes').textContent").find(kHostileAttribute),
            std::string::npos);
  // Collapsing reserve hides db, and expanding shows it again.
  const std::string reserve_toggle =
      std::string("document.querySelector('.wf-row[data-span=\"") + kReserve + "\"] button.wf-toggle')";
  browser.Evaluate(reserve_toggle + ".click(), ''");
  EXPECT_EQ(browser.Evaluate("String(document.querySelectorAll('#waterfall .wf-row').length)"), "3");
  browser.Evaluate(reserve_toggle + ".click(), ''");
  EXPECT_EQ(browser.Evaluate("String(document.querySelectorAll('#waterfall .wf-row').length)"), "4");
  // A log's span link selects that span.
  browser.Evaluate(std::string("document.querySelector('#trace-logs a[data-span=\"") + kDb + "\"]').click(), ''");
  EXPECT_EQ(browser.Evaluate("document.getElementById('span-detail').dataset.span"), kDb);
}

TEST_F(TracePages, HeaderSearchOpensATraceByPrefixOrListsTheTracesItMatches) {
  const auto search = [&](const std::string& text, const std::string& expect_path) {
    DevToolsBrowser browser(CHROMIUM_BIN, meshd_->url() + "/dashboard", dir_.File("profile-search-" + text));
    EXPECT_TRUE(browser.attached());
    EXPECT_EQ(browser.WaitFor("document.body.dataset.ready === 'true' ? 'yes' : ''"), "yes");
    browser.Evaluate("document.querySelector('#trace-id-search input').value = '" + text +
                     "'; document.getElementById('trace-id-search').requestSubmit(); ''");
    return browser.WaitFor("location.pathname + location.search === '" + expect_path +
                           "' && document.body.dataset.ready === 'true' ? location.pathname + location.search : ''");
  };
  EXPECT_EQ(search("1A1A1A1A", std::string("/dashboard/traces/") + kTraceOne),
            std::string("/dashboard/traces/") + kTraceOne);
  EXPECT_EQ(search("2b2b2b2b", "/dashboard/traces?trace_prefix=2b2b2b2b"), "/dashboard/traces?trace_prefix=2b2b2b2b");
  const std::string listed = Render("/dashboard/traces?trace_prefix=2b2b2b2b", "traces-prefix.png");
  EXPECT_THAT(AttributeValues(Element(listed, "<table id=\"trace-results\">"), "data-trace"),
              UnorderedElementsAre(kTraceLong, kTraceShort));
}

// A 2,000-span trace (a root and 40 calls of 48 or 49 queries each): the page draws
// it all, and a redraw (fetching the trace and its logs, building the rows, laying them out and
// painting) is timed in the page and printed; docs/benchmarks.md keeps the figure. The bound
// asserted is a generous deadline for a shared machine, not the < 1 s target.
TEST_F(TracePages, DrawsATwoThousandSpanTrace) {
  constexpr char kBig[] = "3c3c3c3c00000000000000000000000f";
  Json::Value body;
  body["resourceSpans"][0]["resource"]["attributes"][0] = Attribute("service.name", "big");
  Json::Value& spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"];
  int next = 1;
  const auto add = [&](int id, int parent, int64_t start_us, int64_t duration_us) {
    char span_id[17], parent_id[17];
    std::snprintf(span_id, sizeof span_id, "%016x", id);
    std::snprintf(parent_id, sizeof parent_id, "%016x", parent);
    Json::Value span;
    span["traceId"] = kBig;
    span["spanId"] = span_id;
    if (parent) span["parentSpanId"] = parent_id;
    span["name"] = "op " + std::to_string(id);
    span["kind"] = 1;
    span["startTimeUnixNano"] = std::to_string(t0_ns_ + start_us * 1000);
    span["endTimeUnixNano"] = std::to_string(t0_ns_ + (start_us + duration_us) * 1000);
    span["attributes"].append(Attribute("i", Json::Int64(id)));
    spans.append(span);
  };
  const int root = next++;
  add(root, 0, 0, 2'000'000);
  for (int c = 0; c < 40; ++c) {
    const int call = next++;
    add(call, root, c * 50'000, 45'000);
    // 49 queries under each call but the last, which has 48: 1 + 40 + 1,959 spans.
    for (int q = 0; q < (c == 39 ? 48 : 49); ++q) add(next++, call, c * 50'000 + q * 900, 800);
  }
  ASSERT_EQ(spans.size(), 2000u);
  HttpClientResponse r = meshd_->Request("POST", "/v1/traces", interop::ToJson(body), {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;

  DevToolsBrowser browser(CHROMIUM_BIN, meshd_->url() + "/dashboard/traces/" + kBig, dir_.File("profile-big"));
  ASSERT_TRUE(browser.attached());
  const auto loaded_by = std::chrono::steady_clock::now() + 30s;
  ASSERT_EQ(browser.WaitFor("document.body.dataset.ready === 'true' ? 'yes' : ''"), "yes");
  EXPECT_LT(std::chrono::steady_clock::now(), loaded_by);
  EXPECT_EQ(browser.Evaluate("String(document.querySelectorAll('#waterfall .wf-row').length)"), "2000");
  std::vector<double> redraws;
  for (int i = 0; i < 5; ++i) {
    const std::string ms = browser.Evaluate(
        "(async () => { const t = performance.now(); await render(); document.body.offsetHeight;"
        " await new Promise((done) => requestAnimationFrame(() => setTimeout(done))); return String(performance.now() - t); })()");
    ASSERT_FALSE(ms.empty());
    redraws.push_back(std::stod(ms));
  }
  std::sort(redraws.begin(), redraws.end());
  std::printf("2,000-span trace page redraw in Chromium: median %.0f ms, max %.0f ms\n", redraws[2], redraws[4]);
  RecordProperty("redraw_median_ms", static_cast<int>(redraws[2]));
  EXPECT_LT(redraws[2], 15000.0);
}

}  // namespace
}  // namespace mesh

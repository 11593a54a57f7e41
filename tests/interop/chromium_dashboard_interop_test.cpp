// meshd's dashboard in a real browser: headless Chromium loads /dashboard and
// /dashboard/traces/{id}, runs the page's script against meshd's JSON API, and dumps the DOM it
// built; a screenshot of each page is kept in the build tree for people to look at. What the
// DOM cannot show (the page's address) is asked of the page over the DevTools protocol.
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "chromium_page.h"
#include "interop_support.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using interop::CountOf;
using interop::Element;
using interop::TempDir;
using test_support::MeshdProcess;

constexpr char kTraceId[] = "aaaabbbbccccddddeeeeffff00001111";
constexpr char kRootSpan[] = "1111111111111111";
constexpr char kChildSpan[] = "2222222222222222";
constexpr char kHostileService[] = "<script>alert(1)</script>";
// If this name were ever parsed as HTML, its handler would mark the body: a canary that runs.
constexpr char kHostileOperation[] = "GET /<img src=x onerror=\"document.body.dataset.pwned='1'\">";

// An OTLP/HTTP JSON body with one span, timed relative to now (the dashboard lists the last hour).
std::string OtlpSpan(const std::string& span_id, const std::string& parent, const std::string& name,
                     int64_t start_ns, int64_t end_ns, int status_code) {
  Json::Value attr;
  attr["key"] = "service.name";
  attr["value"]["stringValue"] = kHostileService;
  Json::Value span;
  span["traceId"] = kTraceId;
  span["spanId"] = span_id;
  span["parentSpanId"] = parent;
  span["name"] = name;
  span["kind"] = 2;
  span["startTimeUnixNano"] = std::to_string(start_ns);
  span["endTimeUnixNano"] = std::to_string(end_ns);
  span["status"]["code"] = status_code;
  Json::Value body;
  body["resourceSpans"][0]["resource"]["attributes"][0] = attr;
  body["resourceSpans"][0]["scopeSpans"][0]["spans"][0] = span;
  return interop::ToJson(body);
}

class Dashboard : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(interop::PeerInstalled(CHROMIUM_BIN, "chromium"));
    meshd_ = std::make_unique<MeshdProcess>(dir_.File("mesh.db"), MeshdArgs());
    ASSERT_TRUE(meshd_->ready()) << meshd_->process().err();
    HttpClientResponse r = meshd_->Request(
        "POST", "/v1/register",
        R"({"service":"checkout","host":"127.0.0.1","port":9000,"ttl_seconds":300})");
    ASSERT_EQ(r.status, 200) << r.body;
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (const std::string& body :
         {OtlpSpan(kRootSpan, "", kHostileOperation, now - 50'000'000, now, 1),
          OtlpSpan(kChildSpan, kRootSpan, "db", now - 40'000'000, now - 10'000'000, 2)}) {
      r = meshd_->Request("POST", "/v1/traces", body, {{"Content-Type", "application/json"}});
      ASSERT_EQ(r.status, 200) << r.body;
      ASSERT_EQ(r.body, "{}");
    }
  }
  void TearDown() override {
    if (meshd_ && meshd_->ready()) {
      EXPECT_EQ(meshd_->Stop().exit_code, 0);
    }
  }

  virtual std::vector<std::string> MeshdArgs() { return {}; }

  // The DOM that the page at `path` built in headless Chromium; its screenshot goes to `png`.
  std::string Render(const std::string& path, const std::string& png) {
    return interop::RenderPage(CHROMIUM_BIN, meshd_->url() + path, NextProfile(), png);
  }

  // location.href as the page's own script left it once the page is ready (body
  // data-ready="true"); empty, with a test failure, when it does not get there in 30 s.
  // --dump-dom cannot show the address, so this asks the page over the DevTools protocol.
  std::string LocationOnceReady(const std::string& path) {
    interop::DevToolsBrowser browser(CHROMIUM_BIN, meshd_->url() + path, NextProfile());
    EXPECT_TRUE(browser.attached()) << "no page to attach to in Chromium";
    const std::string href =
        browser.WaitFor("document.body && document.body.dataset.ready === 'true' ? location.href : ''");
    EXPECT_FALSE(href.empty()) << "the page at " << path << " never became ready";
    return href;
  }

  std::string NextProfile() { return dir_.File("chromium-profile-" + std::to_string(++renders_)); }

  TempDir dir_;
  std::unique_ptr<MeshdProcess> meshd_;
  int renders_ = 0;
};

TEST_F(Dashboard, OverviewListsServicesAndTracesAndEscapesHostileNames) {
  const std::string dom = Render("/dashboard", DASHBOARD_PNG_DIR "/dashboard.png");
  ASSERT_NE(dom.find("<body data-ready=\"true\">"), std::string::npos)
      << "the page never finished:\n"
      << dom;

  const std::string services = Element(dom, "<table id=\"services\">");
  ASSERT_FALSE(services.empty()) << dom;
  const std::string checkout = Element(services, "<tr data-service=\"checkout\">");
  ASSERT_FALSE(checkout.empty()) << services;
  EXPECT_NE(checkout.find(">checkout</a>"), std::string::npos) << checkout;
  EXPECT_NE(checkout.find("<td class=\"num\">1</td>"), std::string::npos)
      << "one instance: " << checkout;
  ASSERT_FALSE(Element(dom, "<table id=\"errors\">").empty()) << dom;

  const std::string traces = Element(dom, "<table id=\"traces\">");
  ASSERT_FALSE(traces.empty()) << dom;
  EXPECT_NE(traces.find(std::string("href=\"/dashboard/traces/") + kTraceId + "\""),
            std::string::npos)
      << traces;
  // The hostile service name is text, escaped, in the trace's row ...
  EXPECT_NE(traces.find("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"), std::string::npos)
      << traces;
  EXPECT_NE(traces.find("&lt;img src=x onerror="), std::string::npos) << traces;
  // ... and never markup: the page's own script is the only <script>, no <img> was created, and
  // the canary handler never ran.
  EXPECT_EQ(CountOf(dom, "<script"), 1u) << dom;
  EXPECT_EQ(dom.find("<script>alert"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("data-pwned"), std::string::npos) << dom;
}

TEST_F(Dashboard, TraceViewDrawsOneWaterfallRowPerSpan) {
  const std::string dom = Render(std::string("/dashboard/traces/") + kTraceId,
                                 DASHBOARD_PNG_DIR "/dashboard-trace.png");
  ASSERT_NE(dom.find("<body data-ready=\"true\">"), std::string::npos)
      << "the page never finished:\n"
      << dom;
  const std::string waterfall = Element(dom, "<div id=\"waterfall\">");
  ASSERT_FALSE(waterfall.empty()) << dom;
  EXPECT_EQ(CountOf(waterfall, "class=\"wf-row\""), 2u) << waterfall;
  // Parent first, then its child, and the child's ERROR shows as an error bar.
  const size_t root =
      waterfall.find(std::string("class=\"wf-row\" data-span=\"") + kRootSpan + "\"");
  const size_t child =
      waterfall.find(std::string("class=\"wf-row\" data-span=\"") + kChildSpan + "\"");
  ASSERT_NE(root, std::string::npos) << waterfall;
  ASSERT_NE(child, std::string::npos) << waterfall;
  EXPECT_LT(root, child);
  EXPECT_EQ(CountOf(waterfall, "class=\"wf-bar error\""), 1u) << waterfall;
  EXPECT_GT(waterfall.find("class=\"wf-bar error\""), child);
  EXPECT_NE(waterfall.find("<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>"), std::string::npos)
      << waterfall;
  EXPECT_EQ(CountOf(dom, "<script"), 1u) << dom;
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("data-pwned"), std::string::npos) << dom;
}

// meshd started with --read-token-file: the page itself loads without a token, and its API
// calls carry the one given in the address (or asked for on the first 401).
class DashboardWithReadToken : public Dashboard {
 protected:
  std::vector<std::string> MeshdArgs() override {
    const std::string token_file = dir_.File("read.token");
    interop::WriteFile(token_file, "r-5ecret\n");
    std::filesystem::permissions(token_file, std::filesystem::perms(0600));
    return {"--read-token-file", token_file};
  }
};

TEST_F(DashboardWithReadToken, ATokenInTheAddressOpensTheApiAndLeavesTheAddress) {
  const std::string dom = Render("/dashboard#token=r-5ecret", DASHBOARD_PNG_DIR "/dashboard-token.png");
  ASSERT_NE(dom.find("<body data-ready=\"true\">"), std::string::npos) << "the page never finished:\n" << dom;
  const std::string services = Element(dom, "<table id=\"services\">");
  EXPECT_FALSE(Element(services, "<tr data-service=\"checkout\">").empty()) << services;
  EXPECT_NE(Element(dom, "<table id=\"traces\">").find(kTraceId), std::string::npos) << dom;
  // The token leaves the address bar (and so the history and a copied link), asked of the page.
  EXPECT_EQ(LocationOnceReady("/dashboard#token=r-5ecret"), meshd_->url() + "/dashboard");
}

// Without a token the page asks for one in a form (and shows no data); a refused token asks
// again, saying so.
TEST_F(DashboardWithReadToken, WithoutATokenThePageAsksForIt) {
  const std::string dom = Render("/dashboard", DASHBOARD_PNG_DIR "/dashboard-no-token.png");
  const std::string form = Element(dom, "<form id=\"token-form\">");
  ASSERT_FALSE(form.empty()) << dom;
  EXPECT_NE(form.find("meshd wants its read token"), std::string::npos) << form;
  EXPECT_NE(form.find("<input type=\"password\" id=\"token\""), std::string::npos) << form;
  EXPECT_NE(dom.find("waiting for the read token"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<body data-ready=\"true\">"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("checkout"), std::string::npos) << dom;

  const std::string wrong = Render("/dashboard#token=not-it", DASHBOARD_PNG_DIR "/dashboard-wrong-token.png");
  EXPECT_NE(Element(wrong, "<form id=\"token-form\">").find("meshd refused that token"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("checkout"), std::string::npos) << wrong;
}

}  // namespace
}  // namespace mesh

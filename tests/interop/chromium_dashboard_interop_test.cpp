// meshd's dashboard in a real browser: headless Chromium loads /dashboard and
// /dashboard/traces/{id}, runs the page's script against meshd's JSON API, and dumps the DOM it
// built; a screenshot of each page is kept in the build tree for people to look at. What the
// DOM cannot show (the page's address) is asked of the page over the DevTools protocol.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "interop_support.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using interop::CountOf;
using interop::TempDir;
using test_support::MeshdProcess;
using test_support::RunResult;
using test_support::Subprocess;
using namespace std::chrono_literals;

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

  // Loads `path` in headless Chromium with a fresh profile, lets the page's script run for five
  // seconds of virtual time, and returns the DOM it built; saves a screenshot to `png`.
  std::string Render(const std::string& path, const std::string& png) {
    std::error_code ec;
    std::filesystem::remove(png, ec);  // a stale screenshot must not pass for a new one
    const std::string profile = dir_.File("chromium-profile-" + std::to_string(++renders_));
    Subprocess chromium({CHROMIUM_BIN, "--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         // A container's small /dev/shm crashes renderers; /tmp has room.
                         "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                         "--virtual-time-budget=5000", "--window-size=1280,800",
                         "--screenshot=" + png, "--dump-dom", meshd_->url() + path});
    const RunResult r = chromium.Wait(60s);
    EXPECT_EQ(r.exit_code, 0) << "chromium on " << path << ":\n" << r.err;
    EXPECT_NE(r.out.find("</html>"), std::string::npos) << "no DOM dumped for " << path << ":\n"
                                                        << r.err;
    const std::string image = interop::ReadFile(png);
    EXPECT_GT(image.size(), 1000u) << png;
    EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << png;
    return r.out;
  }

  // Loads `path` in headless Chromium and returns location.href as the page's own script left
  // it once the page is ready (body data-ready="true"); empty, with a test failure, when it does
  // not get there in 30 s. --dump-dom cannot show the address, so this asks the page over the
  // DevTools protocol: --remote-debugging-pipe reads JSON commands, each ended by a NUL, on the
  // browser's fd 3 and writes the answers, the same way, on its fd 4.
  std::string LocationOnceReady(const std::string& path) {
    int to_browser[2], from_browser[2];
    if (pipe(to_browser) != 0 || pipe(from_browser) != 0) {
      ADD_FAILURE() << "pipe failed";
      return "";
    }
    const std::vector<std::string> argv = {
        CHROMIUM_BIN, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--user-data-dir=" + dir_.File("chromium-profile-" + std::to_string(++renders_)),
        "--remote-debugging-pipe", meshd_->url() + path};
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      // The pipe ends go to 3 and 4 by way of higher numbers, so no dup2 overwrites another.
      const int in = fcntl(to_browser[0], F_DUPFD, 10), out = fcntl(from_browser[1], F_DUPFD, 10);
      dup2(in, 3);
      dup2(out, 4);
      const int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      for (int fd = 5; fd < 1024; ++fd) close(fd);
      execv(args[0], args.data());
      _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    signal(SIGPIPE, SIG_IGN);  // a browser that died fails the write, not the test process
    const int commands = to_browser[1], answers = from_browser[0];
    std::string buffered;
    int next_id = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    // Sends one command and returns the answer with its id (events in between are skipped);
    // null on a closed pipe or at the deadline.
    const auto call = [&](const std::string& method, const Json::Value& params, const std::string& session) {
      Json::Value command;
      command["id"] = ++next_id;
      command["method"] = method;
      command["params"] = params;
      if (!session.empty()) command["sessionId"] = session;
      const std::string text = interop::ToJson(command) + '\0';
      if (write(commands, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return Json::Value();
      while (true) {
        for (size_t end; (end = buffered.find('\0')) != std::string::npos;) {
          const Json::Value message = interop::ParseJson(buffered.substr(0, end));
          buffered.erase(0, end + 1);
          if (message["id"].asInt() == next_id) return message;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        struct pollfd p {answers, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return Json::Value();
        char chunk[65536];
        const ssize_t n = read(answers, chunk, sizeof chunk);
        if (n <= 0) return Json::Value();
        buffered.append(chunk, static_cast<size_t>(n));
      }
    };
    std::string href;
    std::string session;
    while (session.empty() && std::chrono::steady_clock::now() < deadline) {
      const Json::Value targets = call("Target.getTargets", Json::Value(Json::objectValue), "");
      if (targets.isNull()) break;
      for (const Json::Value& t : targets["result"]["targetInfos"]) {
        if (t["type"].asString() != "page") continue;
        Json::Value attach;
        attach["targetId"] = t["targetId"];
        attach["flatten"] = true;
        session = call("Target.attachToTarget", attach, "")["result"]["sessionId"].asString();
        break;
      }
      if (session.empty()) std::this_thread::sleep_for(100ms);
    }
    EXPECT_FALSE(session.empty()) << "no page to attach to in Chromium";
    while (!session.empty() && std::chrono::steady_clock::now() < deadline) {
      Json::Value evaluate;
      evaluate["expression"] = "document.body && document.body.dataset.ready === 'true' ? location.href : ''";
      evaluate["returnByValue"] = true;
      const Json::Value answer = call("Runtime.evaluate", evaluate, session);
      if (answer.isNull()) break;
      href = answer["result"]["result"]["value"].asString();
      if (!href.empty()) break;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_FALSE(href.empty()) << "the page at " << path << " never became ready";
    call("Browser.close", Json::Value(Json::objectValue), "");
    close(commands);
    close(answers);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(100ms);
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    return href;
  }

  TempDir dir_;
  std::unique_ptr<MeshdProcess> meshd_;
  int renders_ = 0;
};

// The HTML of the element that starts at the first match of `open` (a tag with its attributes)
// and ends at the matching close of the same tag name; empty when there is none.
std::string Element(const std::string& dom, const std::string& open) {
  const size_t start = dom.find(open);
  if (start == std::string::npos) return "";
  const std::string tag = open.substr(1, open.find_first_of(" >") - 1);
  size_t depth = 0, at = start;
  while (at < dom.size()) {
    const size_t next_open = dom.find("<" + tag, at + 1);
    const size_t next_close = dom.find("</" + tag + ">", at + 1);
    if (next_close == std::string::npos) return "";
    if (next_open != std::string::npos && next_open < next_close) {
      ++depth;
      at = next_open;
      continue;
    }
    if (depth == 0) return dom.substr(start, next_close + tag.size() + 3 - start);
    --depth;
    at = next_close;
  }
  return "";
}

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

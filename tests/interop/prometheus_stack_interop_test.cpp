// The files that plug mesh into an existing Prometheus and Grafana (share/mesh/prometheus.yml,
// alerts.rules.yml and its promtool unit tests, grafana/mesh-overview.json) under Debian's
// promtool and Prometheus; and the shipped Prometheus configuration running for real against
// meshd and two meshproxy sidecars found through meshd's /v1/prometheus/targets.
#include <gtest/gtest.h>
#include <json/json.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "interop_support.h"
#include "meshd_fixture.h"
#include "subprocess.h"

#include "mesh/http_curl/curl_http_client.h"

namespace mesh {
namespace {

using interop::Get;
using interop::ParseJson;
using interop::PollUntil;
using interop::PrometheusServer;
using interop::QueryPrometheus;
using interop::ReadFile;
using interop::TempDir;
using interop::WriteFile;
using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;
using namespace std::chrono_literals;

const std::string kShare = SHARE_DIR;

RunResult Promtool(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PROMTOOL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

// Replaces every occurrence of `from`; the count of replacements.
size_t ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  size_t n = 0;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++n;
  }
  return n;
}

TEST(ShippedPrometheusConfig, PassesPromtoolCheckConfigWithItsRuleFile) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  const RunResult r = Promtool({"check", "config", kShare + "/prometheus.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("SUCCESS: 1 rule files found"), std::string::npos)
      << r.out << r.err;
}

TEST(ShippedAlertRules, PassPromtoolCheckRules) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  const RunResult r = Promtool({"check", "rules", kShare + "/alerts.rules.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("SUCCESS: 2 rules found"), std::string::npos) << r.out << r.err;
  const std::string rules = ReadFile(kShare + "/alerts.rules.yml");
  for (const char* needle : {"alert: high_error_rate", "alert: high_latency", "severity: critical",
                             "severity: warning", "for: 1m", "summary:", "description:"}) {
    EXPECT_NE(rules.find(needle), std::string::npos) << needle;
  }
}

// alerts.rules.test.yml proves each rule fires past its threshold and not below it; with the
// thresholds lowered the same tests fail, so they do tell the difference.
TEST(ShippedAlertRules, PromtoolUnitTestsPassAndCatchAThresholdChange) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  RunResult r = Promtool({"test", "rules", kShare + "/alerts.rules.test.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("SUCCESS"), std::string::npos) << r.out << r.err;

  TempDir dir;
  std::string rules = ReadFile(kShare + "/alerts.rules.yml");
  ASSERT_EQ(ReplaceAll(rules, "> 0.05", "> 0.03"), 1u);
  ASSERT_EQ(ReplaceAll(rules, "> 0.5\n", "> 0.4\n"), 1u);
  ASSERT_TRUE(WriteFile(dir.File("alerts.rules.yml"), rules));
  ASSERT_TRUE(
      WriteFile(dir.File("alerts.rules.test.yml"), ReadFile(kShare + "/alerts.rules.test.yml")));
  r = Promtool({"test", "rules", dir.File("alerts.rules.test.yml")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Each rule now also fires for the service kept just below the real threshold.
  EXPECT_NE(r.err.find("service=\"orders\", severity=\"critical\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("service=\"edge\", severity=\"warning\""), std::string::npos) << r.err;
}

// ---- the Grafana dashboard ---------------------------------------------------------------------

Json::Value Dashboard() { return ParseJson(ReadFile(kShare + "/grafana/mesh-overview.json")); }

// Every panel, rows' nested panels included.
std::vector<Json::Value> AllPanels(const Json::Value& dashboard) {
  std::vector<Json::Value> out;
  for (const Json::Value& p : dashboard["panels"]) {
    out.push_back(p);
    for (const Json::Value& nested : p["panels"]) out.push_back(nested);
  }
  return out;
}

// The PromQL of every panel target, with Grafana's variables replaced by what they stand for.
std::vector<std::string> Expressions(const Json::Value& dashboard) {
  std::vector<std::string> out;
  for (const Json::Value& p : AllPanels(dashboard)) {
    for (const Json::Value& t : p["targets"]) {
      std::string expr = t["expr"].asString();
      ReplaceAll(expr, "$__rate_interval", "1m");
      ReplaceAll(expr, "${service}", ".*");
      ReplaceAll(expr, "$service", ".*");
      out.push_back(expr);
    }
  }
  return out;
}

// No Grafana runs here: the checks are the rules an import relies on (a uid and no id, a
// datasource variable rather than an import-time input, unique panel ids and refIds, panels
// inside the 24-column grid without overlap) and the panels the brief asks for.
TEST(GrafanaDashboard, FollowsGrafanasImportRulesAndHasTheGoldenSignalPanels) {
  const Json::Value d = Dashboard();
  ASSERT_TRUE(d.isObject()) << "share/mesh/grafana/mesh-overview.json is not a JSON object";
  EXPECT_EQ(d["uid"].asString(), "mesh-overview");
  EXPECT_FALSE(d["title"].asString().empty());
  EXPECT_GE(d["schemaVersion"].asInt(), 36);
  EXPECT_TRUE(d["id"].isNull()) << "an id would clash with the importing Grafana's own";

  // The datasource is a variable (no import-time input to fill), and so is the service.
  std::map<std::string, Json::Value> vars;
  for (const Json::Value& v : d["templating"]["list"]) vars[v["name"].asString()] = v;
  ASSERT_TRUE(vars.count("datasource"));
  EXPECT_EQ(vars["datasource"]["type"].asString(), "datasource");
  EXPECT_EQ(vars["datasource"]["query"].asString(), "prometheus");
  ASSERT_TRUE(vars.count("service"));
  EXPECT_EQ(vars["service"]["type"].asString(), "query");
  EXPECT_EQ(vars["service"]["query"]["query"].asString(),
            "label_values(mesh_requests_total, service)");
  EXPECT_EQ(vars["service"]["datasource"]["uid"].asString(), "${datasource}");

  std::set<int> ids;
  std::set<std::string> kinds;
  bool detail_row = false, traces_link = false, traces_table = false;
  for (const Json::Value& p : AllPanels(d)) {
    const std::string title = p["title"].asString();
    SCOPED_TRACE(title);
    EXPECT_FALSE(p["type"].asString().empty());
    EXPECT_FALSE(title.empty());
    kinds.insert(p["type"].asString());
    EXPECT_TRUE(ids.insert(p["id"].asInt()).second) << "duplicate panel id " << p["id"];
    const Json::Value& g = p["gridPos"];
    ASSERT_TRUE(g["x"].isInt() && g["y"].isInt() && g["w"].isInt() && g["h"].isInt()) << g;
    EXPECT_GE(g["x"].asInt(), 0);
    EXPECT_GT(g["w"].asInt(), 0);
    EXPECT_GT(g["h"].asInt(), 0);
    EXPECT_LE(g["x"].asInt() + g["w"].asInt(), 24);
    if (p["type"] == "row") {
      detail_row = detail_row || p["repeat"].asString() == "service";
      continue;
    }
    if (p["type"] == "text") {
      const std::string content = p["options"]["content"].asString();
      traces_link = content.find("${meshd}/dashboard") != std::string::npos &&
                    content.find("meshtrace") != std::string::npos;
      continue;
    }
    for (const Json::Value& link : p["fieldConfig"]["defaults"]["links"]) {
      traces_table = traces_table || (p["type"] == "table" &&
                                      link["url"].asString().starts_with("${meshd}/dashboard/traces?service="));
    }
    ASSERT_TRUE(p["targets"].isArray() && !p["targets"].empty()) << "no targets";
    EXPECT_EQ(p["datasource"]["uid"].asString(), "${datasource}");
    std::set<std::string> refs;
    for (const Json::Value& t : p["targets"]) {
      EXPECT_FALSE(t["expr"].asString().empty());
      EXPECT_TRUE(refs.insert(t["refId"].asString()).second) << "duplicate refId";
      EXPECT_EQ(t["datasource"]["uid"].asString(), "${datasource}");
    }
  }
  EXPECT_TRUE(detail_row) << "no service-detail row repeated per $service";
  EXPECT_TRUE(traces_link) << "no text panel linking to meshd's dashboard and meshtrace";
  EXPECT_TRUE(traces_table) << "no table linking each service to its traces in meshd";
  EXPECT_TRUE(kinds.count("stat") && kinds.count("timeseries") && kinds.count("heatmap") && kinds.count("table"))
      << ::testing::PrintToString(kinds);

  // No two panels on the same cells (Grafana would push one down, out of its row).
  const std::vector<Json::Value> panels = AllPanels(d);
  for (size_t a = 0; a < panels.size(); ++a) {
    for (size_t b = a + 1; b < panels.size(); ++b) {
      const Json::Value &p = panels[a]["gridPos"], &q = panels[b]["gridPos"];
      const bool overlap = p["x"].asInt() < q["x"].asInt() + q["w"].asInt() &&
                           q["x"].asInt() < p["x"].asInt() + p["w"].asInt() &&
                           p["y"].asInt() < q["y"].asInt() + q["h"].asInt() &&
                           q["y"].asInt() < p["y"].asInt() + p["h"].asInt();
      EXPECT_FALSE(overlap) << panels[a]["title"] << " overlaps " << panels[b]["title"];
    }
  }

  // The golden signals the brief asks for are all there.
  std::string all;
  for (const std::string& e : Expressions(d)) all += e + "\n";
  for (const char* needle :
       {"histogram_quantile(0.5,", "histogram_quantile(0.95,", "histogram_quantile(0.99,",
        "mesh_instance_up", "code=~\"5..\"", "rate(mesh_requests_total",
        // Service details: the request timeline by status class, the latency distribution, callers.
        "code=~\"2..\"", "code=~\"4..\"", "increase(mesh_request_duration_seconds_bucket", "topk(10,",
        // Saturation per instance, and meshd's own.
        "rate(process_cpu_seconds_total{mesh_role=\"proxy\"", "process_resident_memory_bytes{mesh_role=\"proxy\"",
        "process_open_fds{mesh_role=\"proxy\"", "process_max_fds{mesh_role=\"proxy\"",
        "mesh_client_connections{mesh_role=\"proxy\"", "mesh_telemetry_queue_depth{mesh_role=\"proxy\"",
        "process_cpu_seconds_total{job=\"meshd\", service=\"\"}", "mesh_store_write_queue_depth{job=\"meshd\"}"}) {
    EXPECT_NE(all.find(needle), std::string::npos) << needle;
  }
}

// Every expression, its variables substituted, as a recording rule under `promtool check rules`.
std::string RecordingRules(const std::vector<std::string>& exprs) {
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  for (size_t i = 0; i < exprs.size(); ++i) {
    Json::Value quoted(exprs[i]);  // a JSON string is a valid YAML double-quoted scalar
    rules += "      - record: mesh_dashboard:expr_" + std::to_string(i) +
             "\n        expr: " + interop::ToJson(quoted) + "\n";
  }
  return rules;
}

TEST(GrafanaDashboard, EveryExpressionParsesUnderPromtool) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  const std::vector<std::string> exprs = Expressions(Dashboard());
  ASSERT_GE(exprs.size(), 35u);
  for (const std::string& e : exprs) {
    EXPECT_EQ(e.find('$'), std::string::npos) << "a variable left unsubstituted: " << e;
  }
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.File("dashboard.rules.yml"), RecordingRules(exprs)));
  RunResult r = Promtool({"check", "rules", dir.File("dashboard.rules.yml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SUCCESS: " + std::to_string(exprs.size()) + " rules found"),
            std::string::npos)
      << r.out << r.err;

  // The check does reject a bad expression.
  std::vector<std::string> broken = exprs;
  broken.push_back("sum(rate(mesh_requests_total[1m])");
  ASSERT_TRUE(WriteFile(dir.File("broken.rules.yml"), RecordingRules(broken)));
  r = Promtool({"check", "rules", dir.File("broken.rules.yml")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

// ---- the shipped configuration, live -----------------------------------------------------------

// A demo service and its sidecar, with the sidecar's ports.
struct Sidecar {
  std::unique_ptr<Subprocess> app;
  std::unique_ptr<Subprocess> proxy;
  int app_port = 0;
  int inbound = 0;
  int admin = 0;
};

// Starts mesh_demo_service `name` and a meshproxy in front of it registered with `meshd_url`.
void StartSidecar(Sidecar& s, const std::string& name, const std::string& meshd_url,
                  const std::vector<std::string>& proxy_flags = {}) {
  s.app = std::make_unique<Subprocess>(
      std::vector<std::string>{DEMO_SERVICE_BIN, "--name", name, "--port", "0"});
  ASSERT_TRUE(s.app->WaitForOutput("listening on", 10s)) << s.app->err();
  std::smatch m;
  const std::string out = s.app->out();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("127\\.0\\.0\\.1:([0-9]+)")));
  s.app_port = std::stoi(m[1].str());
  // The kernel picks the sidecar's ports (no race with other suites); they are read from its log.
  std::vector<std::string> argv = {MESHPROXY_BIN,
                                   "--service",
                                   name,
                                   "--service-port",
                                   m[1].str(),
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--outbound",
                                   "",
                                   "--admin",
                                   "127.0.0.1:0",
                                   "--meshd",
                                   meshd_url,
                                   "--threads",
                                   "1"};
  argv.insert(argv.end(), proxy_flags.begin(), proxy_flags.end());
  s.proxy = std::make_unique<Subprocess>(argv);
  ASSERT_TRUE(s.proxy->WaitForStderr("meshproxy listening", 10s)) << s.proxy->err();
  const std::string log = s.proxy->err();
  for (auto [key, port] : {std::pair{"inbound", &s.inbound}, std::pair{"admin", &s.admin}}) {
    std::smatch bound;
    ASSERT_TRUE(std::regex_search(log, bound, std::regex(std::string("\"") + key + "\":\"http://127\\.0\\.0\\.1:([0-9]+)")))
        << key << " port not in the log: " << log;
    *port = std::stoi(bound[1].str());
  }
}

// share/mesh/prometheus.yml as shipped, pointed at this meshd and made fast: the only changes
// are the meshd address and the intervals.
std::string DerivedConfig(const std::string& meshd_address) {
  std::string config = ReadFile(kShare + "/prometheus.yml");
  EXPECT_EQ(ReplaceAll(config, "127.0.0.1:9000", meshd_address), 5u)
      << "the placeholder address moved";
  EXPECT_EQ(ReplaceAll(config, "scrape_interval: 15s", "scrape_interval: 1s"), 1u);
  EXPECT_EQ(ReplaceAll(config, "evaluation_interval: 15s", "evaluation_interval: 1s"), 1u);
  EXPECT_EQ(ReplaceAll(config, "refresh_interval: 30s", "refresh_interval: 1s"), 2u);
  return config;
}

std::map<std::string, std::vector<Json::Value>> ActiveTargetsByJob(const std::string& prometheus) {
  std::map<std::string, std::vector<Json::Value>> out;
  const Json::Value targets = ParseJson(Get(prometheus + "/api/v1/targets").body);
  for (const Json::Value& t : targets["data"]["activeTargets"])
    out[t["labels"]["job"].asString()].push_back(t);
  return out;
}

TEST(ShippedPrometheusConfig, ScrapesMeshdAndTheSidecarsItLists) {
  ASSERT_TRUE(interop::PeerInstalled(PROMETHEUS_BIN, "prometheus"));
  TempDir dir;
  MeshdProcess meshd(dir.File("mesh.db"));
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string meshd_address = meshd.url().substr(std::string("http://").size());
  Sidecar frontend, orders;
  ASSERT_NO_FATAL_FAILURE(StartSidecar(frontend, "frontend", meshd.url()));
  // orders says its app serves /metrics: Prometheus is to find the app as a target too.
  ASSERT_NO_FATAL_FAILURE(
      StartSidecar(orders, "orders", meshd.url(), {"--app-metrics-path", "/metrics"}));
  CurlHttpClient client;
  const std::map<std::string, std::pair<int, int>> sent = {{"frontend", {frontend.inbound, 5}},
                                                           {"orders", {orders.inbound, 8}}};
  for (const auto& [name, port_count] : sent) {
    for (int i = 0; i < port_count.second; ++i) {
      Result<HttpClientResponse> r =
          client.Send("GET", "http://127.0.0.1:" + std::to_string(port_count.first) + "/", "", {});
      ASSERT_TRUE(r.ok() && r->status == 200)
          << name << ": " << (r.ok() ? r->body : r.status().message());
    }
  }
  // Both registered before Prometheus asks for the targets.
  ASSERT_TRUE(PollUntil(10s, [&] {
    return ParseJson(meshd.Request("GET", "/v1/prometheus/targets").body).size() == 4;
  })) << meshd.Request("GET", "/v1/prometheus/targets").body;

  ASSERT_TRUE(WriteFile(dir.File("alerts.rules.yml"), ReadFile(kShare + "/alerts.rules.yml")));
  PrometheusServer prometheus(dir, DerivedConfig(meshd_address), PROMETHEUS_BIN);
  if (!prometheus.WaitReady(30s)) {
    FAIL() << "prometheus not ready on " << prometheus.url() << ":\n" << prometheus.Stop().err;
  }

  Json::Value up;
  ASSERT_TRUE(PollUntil(30s,
                        [&] {
                          up = QueryPrometheus(prometheus.url(), "up{mesh_role=\"proxy\"} == 1");
                          return up.size() == 2;
                        }))
      << "sidecars not up after 30 s: " << interop::ToJson(up)
      << "\ntargets: " << Get(prometheus.url() + "/api/v1/targets").body;
  std::set<std::string> instances;
  for (const Json::Value& s : up) {
    EXPECT_EQ(s["metric"]["job"].asString(), "mesh-proxies");
    instances.insert(s["metric"]["instance"].asString());
  }
  EXPECT_EQ(instances, (std::set<std::string>{"127.0.0.1:" + std::to_string(frontend.admin),
                                              "127.0.0.1:" + std::to_string(orders.admin)}));

  // The proxies' own counters, scraped from their admin ports, labelled by discovery.
  Json::Value requests;
  ASSERT_TRUE(PollUntil(30s, [&] {
    requests = QueryPrometheus(
        prometheus.url(),
        "mesh_requests_total{mesh_role=\"proxy\",direction=\"inbound\",code=\"200\"}");
    return requests.size() == 2;
  })) << interop::ToJson(requests);
  for (const Json::Value& s : requests) {
    const Json::Value& labels = s["metric"];
    const std::string service = labels["service"].asString();
    SCOPED_TRACE(service);
    ASSERT_TRUE(sent.count(service)) << interop::ToJson(s);
    EXPECT_EQ(s["value"][1].asString(), std::to_string(sent.at(service).second));
    EXPECT_EQ(labels["job"].asString(), "mesh-proxies");
    EXPECT_EQ(labels["mesh_instance"].asString(),
              service + "@127.0.0.1:" + std::to_string(sent.at(service).first));
    EXPECT_FALSE(labels.isMember("exported_service")) << interop::ToJson(s);
  }

  // meshd is scraped once, by its own job (its http_sd group is dropped by the others); the app
  // is found at its metrics path and scraped (mesh_demo_service is an ObservableService, which
  // answers Prometheus's OpenMetrics request).
  std::map<std::string, std::vector<Json::Value>> jobs;
  ASSERT_TRUE(PollUntil(20s, [&] {
    jobs = ActiveTargetsByJob(prometheus.url());
    return jobs["meshd"].size() == 1 && jobs["mesh-apps"].size() == 1 &&
           jobs["meshd"][0]["health"].asString() == "up" && jobs["mesh-apps"][0]["health"].asString() == "up";
  })) << Get(prometheus.url() + "/api/v1/targets").body;
  Json::Value app_requests;
  ASSERT_TRUE(PollUntil(10s, [&] {
    app_requests = QueryPrometheus(prometheus.url(), "http_server_requests_total{job=\"mesh-apps\",service=\"orders\"}");
    return !app_requests.isNull() && app_requests.size() >= 1;
  })) << interop::ToJson(app_requests);
  EXPECT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs["meshd"][0]["scrapeUrl"].asString(), meshd.url() + "/metrics");
  EXPECT_EQ(jobs["mesh-apps"][0]["scrapeUrl"].asString(),
            "http://127.0.0.1:" + std::to_string(orders.app_port) + "/metrics");
  EXPECT_EQ(jobs["mesh-apps"][0]["labels"]["mesh_role"].asString(), "app");
  EXPECT_EQ(jobs["mesh-apps"][0]["labels"]["service"].asString(), "orders");
  EXPECT_EQ(jobs["mesh-proxies"].size(), 2u);
  Json::Value instance_up;
  ASSERT_TRUE(PollUntil(10s, [&] {
    instance_up = QueryPrometheus(prometheus.url(), "mesh_instance_up{job=\"meshd\"} == 1");
    return instance_up.size() == 2;
  })) << interop::ToJson(instance_up);

  // The alert rules loaded and evaluate cleanly.
  const Json::Value rules = ParseJson(Get(prometheus.url() + "/api/v1/rules").body);
  std::set<std::string> alerts;
  for (const Json::Value& group : rules["data"]["groups"]) {
    for (const Json::Value& rule : group["rules"]) {
      alerts.insert(rule["name"].asString());
      EXPECT_NE(rule["health"].asString(), "err") << interop::ToJson(rule);
    }
  }
  EXPECT_EQ(alerts, (std::set<std::string>{"high_error_rate", "high_latency"}));

  // Every dashboard query runs on this Prometheus; the per-service rate sees both services.
  for (const std::string& expr : Expressions(Dashboard())) {
    const Json::Value body =
        ParseJson(Get(prometheus.url() + "/api/v1/query?query=" + UrlEncode(expr)).body);
    EXPECT_EQ(body["status"].asString(), "success") << expr << ": " << interop::ToJson(body);
  }
  Json::Value rps;
  EXPECT_TRUE(PollUntil(10s, [&] {
    rps = QueryPrometheus(
        prometheus.url(),
        "sum by (service) (rate(mesh_requests_total{mesh_role=\"proxy\", direction=\"inbound\", "
        "service=~\".*\"}[1m]))");
    return rps.size() == 2;
  })) << interop::ToJson(rps);

  EXPECT_EQ(prometheus.Stop().exit_code, 0);
  for (Sidecar* s : {&frontend, &orders}) {
    s->proxy->Signal(SIGTERM);
    EXPECT_EQ(s->proxy->Wait(30s).exit_code, 0) << s->proxy->err();
  }
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

}  // namespace
}  // namespace mesh

// meshd against the real Prometheus tools from Debian: a Prometheus server scraping meshd's
// /metrics, and `promtool check metrics` linting the exposition meshd serves.
#include <gtest/gtest.h>
#include <json/json.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
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
using interop::TempDir;
using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;
using namespace std::chrono_literals;

constexpr char kCounterPush[] =
    "# HELP mesh_requests_total Requests served\n"
    "# TYPE mesh_requests_total counter\n"
    "mesh_requests_total{code=\"200\"} 42\n";

constexpr char kHistogramPush[] =
    "# HELP mesh_request_duration_seconds Request latency\n"
    "# TYPE mesh_request_duration_seconds histogram\n"
    "mesh_request_duration_seconds_bucket{le=\"0.1\"} 3\n"
    "mesh_request_duration_seconds_bucket{le=\"0.5\"} 5\n"
    "mesh_request_duration_seconds_bucket{le=\"+Inf\"} 6\n"
    "mesh_request_duration_seconds_sum 1.7\n"
    "mesh_request_duration_seconds_count 6\n";

// "host:port" of a URL such as http://127.0.0.1:4321.
std::string HostPort(const std::string& url) {
  const size_t scheme = url.find("://");
  return scheme == std::string::npos ? url : url.substr(scheme + 3);
}

// A Prometheus configuration scraping one target every second.
// honor_labels: meshd re-exposes pushed series like a Pushgateway, so their own `instance`
// and `service` labels must win over the target's (else they become exported_instance).
std::string ScrapeConfig(const std::string& target) {
  return "global:\n"
         "  scrape_interval: 1s\n"
         "  scrape_timeout: 1s\n"
         "  evaluation_interval: 1s\n"
         "scrape_configs:\n"
         "  - job_name: meshd\n"
         "    honor_labels: true\n"
         "    static_configs:\n"
         "      - targets: ['" +
         target + "']\n";
}

TEST(PrometheusScrape, SeesPushedCounterWithItsServiceLabelAndInstanceUp) {
  ASSERT_TRUE(interop::PeerInstalled(PROMETHEUS_BIN, "prometheus"));
  TempDir dir;
  MeshdProcess meshd(dir.File("mesh.db"));
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  HttpClientResponse r = meshd.Request("POST", "/v1/metrics?service=api&instance=i1", kCounterPush);
  ASSERT_EQ(r.status, 200) << r.body;
  r = meshd.Request("POST", "/v1/register",
                    R"({"service":"api","host":"10.0.0.7","port":8080,"ttl_seconds":300})");
  ASSERT_EQ(r.status, 200) << r.body;

  PrometheusServer prometheus(dir, ScrapeConfig(HostPort(meshd.url())), PROMETHEUS_BIN);
  if (!prometheus.WaitReady(30s)) {
    FAIL() << "prometheus not ready on " << prometheus.url() << ":\n" << prometheus.Stop().err;
  }

  Json::Value requests;
  ASSERT_TRUE(PollUntil(30s,
                        [&] {
                          requests = QueryPrometheus(prometheus.url(), "mesh_requests_total");
                          return !requests.isNull();
                        }))
      << "no mesh_requests_total after 30 s; targets: "
      << Get(prometheus.url() + "/api/v1/targets").body;
  ASSERT_EQ(requests.size(), 1u) << interop::ToJson(requests);
  const Json::Value& metric = requests[0]["metric"];
  EXPECT_EQ(requests[0]["value"][1].asString(), "42");
  EXPECT_EQ(metric["service"].asString(), "api");
  EXPECT_EQ(metric["instance"].asString(), "i1");
  EXPECT_EQ(metric["code"].asString(), "200");
  EXPECT_EQ(metric["job"].asString(), "meshd");

  Json::Value up;
  ASSERT_TRUE(PollUntil(10s, [&] {
    up = QueryPrometheus(prometheus.url(), "mesh_instance_up");
    return !up.isNull();
  }));
  ASSERT_EQ(up.size(), 1u) << interop::ToJson(up);
  EXPECT_EQ(up[0]["value"][1].asString(), "1");
  EXPECT_EQ(up[0]["metric"]["service"].asString(), "api");
  EXPECT_EQ(up[0]["metric"]["instance"].asString(), "10.0.0.7:8080");

  // The scrape itself was clean: the target is up and Prometheus reports no parse error.
  const Json::Value targets = ParseJson(Get(prometheus.url() + "/api/v1/targets").body);
  ASSERT_EQ(targets["data"]["activeTargets"].size(), 1u);
  EXPECT_EQ(targets["data"]["activeTargets"][0]["health"].asString(), "up");
  EXPECT_EQ(targets["data"]["activeTargets"][0]["lastError"].asString(), "");

  EXPECT_EQ(prometheus.Stop().exit_code, 0);
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// meshd with --read-token-file: Prometheus scrapes /metrics and discovers targets with the
// read token from `authorization: credentials_file:` (as share/mesh/prometheus.yml shows); a
// job without it is refused with 401. Scrapes default to the Bearer type; service discovery in
// Prometheus 2.42 needs `type: Bearer` spelled out.
TEST(PrometheusScrape, ReadTokenFromACredentialsFileOpensMetricsAndDiscovery) {
  ASSERT_TRUE(interop::PeerInstalled(PROMETHEUS_BIN, "prometheus"));
  TempDir dir;
  const std::string token_file = dir.File("meshd-read.token");
  ASSERT_TRUE(interop::WriteFile(token_file, "r-5ecret\n"));
  std::filesystem::permissions(token_file, std::filesystem::perms(0600));
  MeshdProcess meshd(dir.File("mesh.db"), {"--read-token-file", token_file});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  HttpClientResponse r = meshd.Request("POST", "/v1/register",
                                       R"({"service":"api","host":"127.0.0.1","port":8080,"ttl_seconds":300,)"
                                       R"("meta":{"role":"proxy","admin":"127.0.0.1:1"}})");
  ASSERT_EQ(r.status, 200) << r.body;

  const std::string target = HostPort(meshd.url());
  const std::string config = ScrapeConfig(target) +
                             "    authorization:\n"
                             "      credentials_file: " + token_file + "\n"
                             "  - job_name: meshd-without-token\n"
                             "    static_configs:\n"
                             "      - targets: ['" + target + "']\n"
                             "  - job_name: discovered\n"
                             "    http_sd_configs:\n"
                             "      - url: " + meshd.url() + "/v1/prometheus/targets\n"
                             "        refresh_interval: 1s\n"
                             "        authorization:\n"
                             "          type: Bearer\n"  // Prometheus 2.42 sends the bare token without it
                             "          credentials_file: " + token_file + "\n";
  PrometheusServer prometheus(dir, config, PROMETHEUS_BIN);
  if (!prometheus.WaitReady(30s)) {
    FAIL() << "prometheus not ready on " << prometheus.url() << ":\n" << prometheus.Stop().err;
  }
  std::map<std::string, Json::Value> by_job;
  ASSERT_TRUE(PollUntil(30s, [&] {
    by_job.clear();
    const Json::Value targets = ParseJson(Get(prometheus.url() + "/api/v1/targets").body);
    for (const Json::Value& t : targets["data"]["activeTargets"]) {
      if (t["health"].asString() != "unknown") by_job[t["labels"]["job"].asString()] = t;
    }
    return by_job.count("meshd") && by_job.count("meshd-without-token") && by_job.count("discovered");
  })) << Get(prometheus.url() + "/api/v1/targets").body;
  EXPECT_EQ(by_job["meshd"]["health"].asString(), "up") << interop::ToJson(by_job["meshd"]);
  EXPECT_EQ(by_job["meshd-without-token"]["health"].asString(), "down");
  EXPECT_NE(by_job["meshd-without-token"]["lastError"].asString().find("401"), std::string::npos)
      << interop::ToJson(by_job["meshd-without-token"]);
  // Discovery went through: the registry's targets are listed (whatever their own health).
  EXPECT_FALSE(by_job["discovered"]["scrapeUrl"].asString().empty()) << interop::ToJson(by_job["discovered"]);

  EXPECT_EQ(prometheus.Stop().exit_code, 0);
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// A meshd holding pushed counters and histograms, registry instances and its own ingest
// histogram, so that every kind of family it can expose is in /metrics.
class Promtool : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
    meshd_ = std::make_unique<MeshdProcess>(dir_.File("mesh.db"));
    ASSERT_TRUE(meshd_->ready()) << meshd_->process().err();
    for (const char* push : {kCounterPush, kHistogramPush}) {
      const HttpClientResponse r =
          meshd_->Request("POST", "/v1/metrics?service=api&instance=i1", push);
      ASSERT_EQ(r.status, 200) << r.body;
    }
    // The seed's JSON push (POST /metrics), whose families meshd names itself.
    const HttpClientResponse seed = meshd_->Request(
        "POST", "/metrics", R"({"service":"legacy","requests":120,"errors":3,"avg_latency_ms":42.5})",
        {{"Content-Type", "application/json"}});
    ASSERT_EQ(seed.status, 200) << seed.body;
    for (const char* body :
         {R"({"service":"api","host":"10.0.0.7","port":8080,"ttl_seconds":300})",
          R"({"service":"checkout","host":"10.0.0.8","port":9090,"ttl_seconds":300})"}) {
      const HttpClientResponse r = meshd_->Request("POST", "/v1/register", body);
      ASSERT_EQ(r.status, 200) << r.body;
    }
    const HttpClientResponse r = meshd_->Request(
        "POST", "/v1/traces",
        R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},)"
        R"("scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",)"
        R"("name":"GET /","kind":2,"startTimeUnixNano":"1764075600000000000","endTimeUnixNano":"1764075600250000000"}]}]}]})",
        {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void TearDown() override {
    if (meshd_ && meshd_->ready()) {
      EXPECT_EQ(meshd_->Stop().exit_code, 0);
    }
  }

  std::string Exposition() {
    const HttpClientResponse r = meshd_->Request("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }
  static RunResult CheckMetrics(const std::string& exposition) {
    return RunProcess({PROMTOOL_BIN, "check", "metrics"}, exposition);
  }

  TempDir dir_;
  std::unique_ptr<MeshdProcess> meshd_;
};

// promtool's problems, one per line of its output ("<metric> <problem>"), without the noise.
std::vector<std::string> Problems(const RunResult& r) {
  std::vector<std::string> out;
  std::istringstream lines(r.out + r.err);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

TEST_F(Promtool, FindsNoFormatErrorInMeshdExposition) {
  const std::string exposition = Exposition();
  ASSERT_NE(exposition.find("mesh_request_duration_seconds_bucket{"), std::string::npos)
      << exposition;
  ASSERT_NE(exposition.find("mesh_instance_up{instance=\"10.0.0.8:9090\",service=\"checkout\"} 1"),
            std::string::npos)
      << exposition;
  // The seed's average latency in base units (promtool: no abbreviated units such as _ms).
  ASSERT_NE(exposition.find("mesh_seed_avg_latency_seconds{service=\"legacy\"} 0.0425"), std::string::npos)
      << exposition;
  const RunResult r = CheckMetrics(exposition);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Problems(r).empty()) << r.out << r.err;
}

// The HELP text a client pushes is kept and served again.
TEST_F(Promtool, KeepsTheHelpTextOfPushedFamilies) {
  const std::string exposition = Exposition();
  EXPECT_NE(exposition.find("# HELP mesh_requests_total Requests served\n"), std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("# HELP mesh_request_duration_seconds Request latency\n"),
            std::string::npos)
      << exposition;
  const RunResult r = CheckMetrics(exposition);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// What client_golang exposes for a summary with no observation yet, and a gauge at +Inf: the
// push is stored whole (it once failed whole, with a retryable 503 from a NOT NULL constraint)
// and /metrics serves NaN and +Inf back as they came, in an exposition promtool accepts.
TEST_F(Promtool, StoresAndServesNaNAndInfinitiesAsPushed) {
  const HttpClientResponse r = meshd_->Request(
      "POST", "/v1/metrics?service=golang&instance=g1",
      "# HELP rpc_durations_seconds RPC latency distributions.\n"
      "# TYPE rpc_durations_seconds summary\n"
      "rpc_durations_seconds{service=\"exponential\",quantile=\"0.5\"} NaN\n"
      "rpc_durations_seconds{service=\"exponential\",quantile=\"0.9\"} NaN\n"
      "rpc_durations_seconds{service=\"exponential\",quantile=\"0.99\"} NaN\n"
      "rpc_durations_seconds_sum{service=\"exponential\"} 0\n"
      "rpc_durations_seconds_count{service=\"exponential\"} 0\n"
      "# HELP go_gc_duration_limit_seconds A limit.\n"
      "# TYPE go_gc_duration_limit_seconds gauge\n"
      "go_gc_duration_limit_seconds +Inf\n");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"samples\":6}");
  const std::string exposition = Exposition();
  EXPECT_NE(exposition.find("rpc_durations_seconds{instance=\"g1\",quantile=\"0.5\",service=\"exponential\"} NaN\n"),
            std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("rpc_durations_seconds_count{instance=\"g1\",service=\"exponential\"} 0\n"),
            std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("go_gc_duration_limit_seconds{instance=\"g1\",service=\"golang\"} +Inf\n"),
            std::string::npos)
      << exposition;
  const RunResult check = CheckMetrics(exposition);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(Problems(check).empty()) << check.out << check.err;
}

// meshproxy's admin port after traffic through both of its sides (inbound 200s, an outbound
// call to an unknown service answered 503 by the proxy itself).
TEST(PromtoolOnMeshproxy, FindsNoFormatErrorInTheSidecarsExposition) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  Subprocess service({DEMO_SERVICE_BIN, "--name", "shop", "--port", "0"});
  ASSERT_TRUE(service.WaitForOutput("listening on", 10s)) << service.err();
  std::smatch m;
  const std::string out = service.out();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("127\\.0\\.0\\.1:([0-9]+)")));
  Subprocess proxy({MESHPROXY_BIN, "--service", "shop", "--service-port", m[1].str(), "--listen",
                    "127.0.0.1:0", "--outbound", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--threads", "1"});
  ASSERT_TRUE(proxy.WaitForStderr("meshproxy listening", 10s)) << proxy.err();
  const std::string log = proxy.err();
  std::smatch in, outbound, admin;
  ASSERT_TRUE(std::regex_search(log, in, std::regex("\"inbound\":\"(http://[^\"]+)\"")));
  ASSERT_TRUE(std::regex_search(log, outbound, std::regex("\"outbound\":\"(http://[^\"]+)\"")));
  ASSERT_TRUE(std::regex_search(log, admin, std::regex("\"admin\":\"(http://[^\"]+)\"")));
  CurlHttpClient client;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.Send("GET", in[1].str() + "/", "", {})->status, 200);
  ASSERT_EQ(client.Send("GET", outbound[1].str() + "/", "", {{"Host", "nobody"}})->status, 503);
  std::string exposition;
  ASSERT_TRUE(PollUntil(10s, [&] {
    Result<HttpClientResponse> r = client.Send("GET", admin[1].str() + "/metrics", "", {});
    exposition = r.ok() ? r->body : "";
    return exposition.find("code=\"503\"") != std::string::npos;
  })) << "no 503 in the sidecar's exposition after 10 s:\n" << exposition;
  ASSERT_NE(exposition.find("mesh_requests_total{code=\"200\",direction=\"inbound\",service=\"shop\"} 3"),
            std::string::npos) << exposition;
  const RunResult r = RunProcess({PROMTOOL_BIN, "check", "metrics"}, exposition);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << exposition;
  proxy.Signal(SIGTERM);
  EXPECT_EQ(proxy.Wait(30s).exit_code, 0);
}

// What promtool does not check: every histogram series needs a le="+Inf" bucket equal to its
// _count. Returns one line per violation; `histograms` gets the histogram families seen.
std::vector<std::string> HistogramProblems(const std::string& exposition,
                                           std::set<std::string>* histograms) {
  std::map<std::string, std::string> inf, count;  // series (name{labels without le}) -> value
  const std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) histogram$)");
  const std::regex sample_line(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
  const std::regex le_label(R"re((^|,)le="([^"]*)")re");
  std::vector<std::string> problems;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      histograms->insert(m[1].str());
      continue;
    }
    if (line.empty() || line[0] == '#' || !std::regex_match(line, m, sample_line)) continue;
    const std::string name = m[1].str(), value = m[4].str();
    std::string labels = m[3].str();
    for (const std::string& h : *histograms) {
      if (name == h + "_bucket") {
        std::smatch le;
        if (!std::regex_search(labels, le, le_label)) {
          problems.push_back("bucket without le: " + line);
          continue;
        }
        const bool is_inf = le[2].str() == "+Inf";
        labels = std::regex_replace(labels, le_label, "");
        if (!labels.empty() && labels[0] == ',') labels.erase(0, 1);
        if (is_inf) inf[h + "{" + labels + "}"] = value;
      } else if (name == h + "_count") {
        count[h + "{" + labels + "}"] = value;
      }
    }
  }
  for (const auto& [series, n] : count) {
    if (!inf.count(series)) {
      problems.push_back(series + " has no le=\"+Inf\" bucket");
    } else if (inf[series] != n) {
      problems.push_back(series + " has le=\"+Inf\" " + inf[series] + " but _count " + n);
    }
  }
  for (const auto& [series, n] : inf) {
    if (!count.count(series)) problems.push_back(series + " has no _count");
  }
  return problems;
}

// The trap: promtool passes a histogram with no +Inf bucket. The check above catches it.
TEST(HistogramCheck, CatchesWhatPromtoolLetsThrough) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  const std::string head = "# HELP h_seconds Latency\n# TYPE h_seconds histogram\n";
  const std::string no_inf = head +
                             "h_seconds_bucket{le=\"0.1\",service=\"a\"} 3\n"
                             "h_seconds_sum{service=\"a\"} 1.7\nh_seconds_count{service=\"a\"} 6\n";
  const RunResult r = RunProcess({PROMTOOL_BIN, "check", "metrics"}, no_inf);
  EXPECT_EQ(r.exit_code, 0) << "promtool now checks +Inf buckets: " << r.out << r.err;
  std::set<std::string> seen;
  EXPECT_EQ(HistogramProblems(no_inf, &seen),
            std::vector<std::string>{"h_seconds{service=\"a\"} has no le=\"+Inf\" bucket"});
  EXPECT_EQ(seen, std::set<std::string>{"h_seconds"});
  const std::string wrong_inf =
      head + "h_seconds_bucket{le=\"+Inf\"} 5\nh_seconds_sum 1.7\nh_seconds_count 6\n";
  EXPECT_EQ(HistogramProblems(wrong_inf, &seen),
            std::vector<std::string>{"h_seconds{} has le=\"+Inf\" 5 but _count 6"});
  EXPECT_TRUE(HistogramProblems(kHistogramPush, &seen).empty());
}

TEST_F(Promtool, EveryHistogramSeriesHasAnInfBucketEqualToItsCount) {
  const std::string exposition = Exposition();
  std::set<std::string> histograms;
  const std::vector<std::string> problems = HistogramProblems(exposition, &histograms);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\nin:\n" << exposition;
  EXPECT_TRUE(histograms.count("mesh_request_duration_seconds")) << exposition;
  EXPECT_TRUE(histograms.count("mesh_ingest_duration_seconds")) << exposition;
  EXPECT_NE(
      exposition.find(
          "mesh_request_duration_seconds_bucket{instance=\"i1\",le=\"+Inf\",service=\"api\"} 6\n"),
      std::string::npos)
      << exposition;
}

// A pushed histogram without its le="+Inf" bucket, which promtool would not flag, is refused
// (or, were meshd to repair it, re-exposed with +Inf equal to _count).
TEST_F(Promtool, RefusesOrRepairsAPushedHistogramWithoutInfBucket) {
  const HttpClientResponse r = meshd_->Request(
      "POST", "/v1/metrics?service=api&instance=i2",
      "# HELP h_seconds x\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"0.1\"} 3\n"
      "h_seconds_sum 1.7\nh_seconds_count 6\n");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("+Inf"), std::string::npos) << r.body;
  const std::string exposition = Exposition();
  std::set<std::string> histograms;
  const std::vector<std::string> problems = HistogramProblems(exposition, &histograms);
  EXPECT_TRUE(problems.empty()) << "POST answered " << r.status << " " << r.body << "; "
                                << ::testing::PrintToString(problems);
}

// The check above can fail: promtool refuses meshd's own exposition once it is broken.
TEST_F(Promtool, RejectsABrokenCopyOfTheExposition) {
  const std::string good = Exposition();
  ASSERT_NE(CheckMetrics(good).exit_code, 1) << "the unbroken exposition already fails to parse";
  // An unterminated label value, and a sample with no value.
  for (const std::string& broken :
       {good + "mesh_requests_total{code=\"200} 42\n", good + "mesh_store_bytes\n"}) {
    const RunResult r = CheckMetrics(broken);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("parsing error"), std::string::npos) << r.out << r.err;
  }
}

}  // namespace
}  // namespace mesh

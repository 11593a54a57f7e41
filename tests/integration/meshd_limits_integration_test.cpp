// Issue 18, resource limits and hygiene on the real meshd (and meshproxy, meshlog): compressed
// bodies are inflated only after the route and the token are accepted, and within bounds;
// cardinality bounds on metric pushes; --cert-ttl range checks; store files 0600; the alert URL
// allow-list.
#include <gtest/gtest.h>
#include <json/json.h>
#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mesh/base/clock.h"
#include "mesh/http/asio_http_server.h"
#include "meshd_fixture.h"
#include "sanitizer_build.h"
#include "subprocess.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;
using namespace std::chrono_literals;

constexpr char kToken[] = "limits-write-token-3c9e";

Json::Value ParseBody(const std::string& body) {
  Json::Value v;
  std::istringstream(body) >> v;
  return v;
}

// gzip of `total` zero bytes, deflated a MiB at a time: the test holds the compressed bytes
// (about a thousandth), never the plain ones.
std::string GzipOfZeros(size_t total) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  std::string chunk(1 << 16, '\0');
  for (size_t fed = 0; fed < total;) {
    const size_t n = std::min(zeros.size(), total - fed);
    fed += n;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    zs.avail_in = static_cast<uInt>(n);
    const int flush = fed == total ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
      zs.avail_out = static_cast<uInt>(chunk.size());
      deflate(&zs, flush);
      out.append(chunk.data(), chunk.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return out;
}

std::string Gzip(const std::string& plain) {
  RunResult gz = RunProcess({"/bin/gzip", "-c"}, plain);
  EXPECT_EQ(gz.exit_code, 0);
  return gz.out;
}

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or -1.
int64_t StatusKib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Resets the peak RSS (VmHWM) to the current RSS, so that the peak of what follows is measured.
bool ResetPeakRss(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.close();
  return static_cast<bool>(out);
}

int64_t Sample(const std::string& exposition, const std::string& series) {
  const size_t at = exposition.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(exposition.substr(at + series.size() + 1));
}

class MeshdLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-limits-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    token_file_ = dir_ + "/token";
    std::ofstream(token_file_) << kToken;
    chmod(token_file_.c_str(), 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  using Headers = std::vector<std::pair<std::string, std::string>>;
  static Headers Gzipped(bool with_token) {
    Headers h = {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}};
    if (with_token) h.emplace_back("Authorization", std::string("Bearer ") + kToken);
    return h;
  }

  std::string dir_;
  std::string token_file_;
};

const char* const kIngestRoutes[] = {"/v1/traces",    "/v1/logs",         "/v1/metrics", "/metrics",
                                     "/api/v2/spans", "/v1/alerts/check", "/v1/register"};

TEST_F(MeshdLimitsTest, UnauthenticatedGzipBombsGet401AndInflateNothing) {
  MeshdProcess meshd(dir_ + "/mesh.db", {"--token-file", token_file_});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string small_bomb = GzipOfZeros(size_t{10} << 20);  // 10 MiB of zeros
  const std::string large_bomb = GzipOfZeros(size_t{1} << 30);   // 1 GiB of zeros
  ASSERT_LT(small_bomb.size(), size_t{32} << 10);
  ASSERT_LT(large_bomb.size(), size_t{2} << 20);  // under --max-body: meshd reads it whole
  const pid_t pid = meshd.process().pid();
  // Warm up what every request touches (handler threads, buffers), then measure the peak.
  for (int i = 0; i < 8; ++i) meshd.Request("POST", "/v1/logs", small_bomb, Gzipped(false));
  const int64_t rss_before = StatusKib(pid, "VmRSS");
  ASSERT_GT(rss_before, 0);
  ASSERT_TRUE(ResetPeakRss(pid)) << "cannot reset meshd's peak RSS";
  for (const char* route : kIngestRoutes) {
    for (const std::string* bomb : {&small_bomb, &large_bomb}) {
      const HttpClientResponse r = meshd.Request("POST", route, *bomb, Gzipped(false));
      EXPECT_EQ(r.status, 401) << route << ": " << r.body;
    }
  }
  // An unknown route is refused before anything is inflated too.
  EXPECT_EQ(meshd.Request("POST", "/v1/nowhere", large_bomb, Gzipped(true)).status, 404);
  const int64_t peak = StatusKib(pid, "VmHWM");
  if (!test_support::kAddressSanitizer) {
    EXPECT_LT(peak - rss_before, 8 * 1024) << "meshd's peak RSS grew " << (peak - rss_before) << " KiB";
  }
  EXPECT_EQ(meshd.Request("GET", "/healthz").status, 200);
}

TEST_F(MeshdLimitsTest, AuthenticatedGzipBombsGet413NamingTheBoundAndRealBodiesStillIngest) {
  MeshdProcess meshd(dir_ + "/mesh.db", {"--token-file", token_file_});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  // 10 MiB in about 10 KiB: past 100 times its size long before --max-body.
  HttpClientResponse r =
      meshd.Request("POST", "/v1/traces", GzipOfZeros(size_t{10} << 20), Gzipped(true));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(ParseBody(r.body)["bound"].asString(), "--max-inflate-ratio") << r.body;
  EXPECT_EQ(ParseBody(r.body)["limit"].asInt(), 100) << r.body;
  // 1 GiB in about 1 MiB: 100 times that is past the 8 MiB --max-body, which stops it.
  r = meshd.Request("POST", "/v1/logs", GzipOfZeros(size_t{1} << 30), Gzipped(true));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(ParseBody(r.body)["bound"].asString(), "--max-body") << r.body;
  EXPECT_EQ(ParseBody(r.body)["limit"].asInt(), 8 << 20) << r.body;
  EXPECT_NE(ParseBody(r.body)["error"].asString().find("8388608"), std::string::npos) << r.body;

  const std::string span =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},)"
      R"("scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",)"
      R"("name":"zipped","kind":2,"startTimeUnixNano":"1764075600000000000","endTimeUnixNano":"1764075600250000000"}]}]}]})";
  r = meshd.Request("POST", "/v1/traces", Gzip(span), Gzipped(true));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(meshd.Request("GET", "/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736").status, 200);
  r = meshd.Request("POST", "/v1/metrics", Gzip("# TYPE up gauge\nup{service=\"api\"} 1\n"),
                    {{"Content-Type", "text/plain"},
                     {"Content-Encoding", "gzip"},
                     {"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(meshd.Request("GET", "/healthz").status, 200);
}

TEST_F(MeshdLimitsTest, CardinalityBoundsRefuseWholePushesSayWhichAndCountThem) {
  const std::vector<std::string> flags = {"--max-series-per-push", "5", "--max-series-per-service",
                                          "8"};
  const auto push = [](MeshdProcess& meshd, const std::string& service, int first, int count) {
    std::string text = "# TYPE card gauge\n";
    for (int i = first; i < first + count; ++i) {
      text += "card{service=\"" + service + "\",k=\"" + std::to_string(i) + "\"} 1\n";
    }
    return meshd.Request("POST", "/v1/metrics", text, {{"Content-Type", "text/plain"}});
  };
  {
    MeshdProcess meshd(dir_ + "/mesh.db", flags);
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    HttpClientResponse r = push(meshd, "api", 0, 6);
    EXPECT_EQ(r.status, 400) << r.body;
    Json::Value refusal = ParseBody(r.body);
    EXPECT_EQ(refusal["bound"].asString(), "per_push") << r.body;
    EXPECT_EQ(refusal["limit"].asInt(), 5);
    EXPECT_EQ(refusal["series"].asInt(), 6);
    EXPECT_NE(refusal["error"].asString().find("--max-series-per-push"), std::string::npos)
        << r.body;
    std::string exposition = meshd.Request("GET", "/metrics").body;
    EXPECT_EQ(exposition.find("card{"), std::string::npos) << "part of a refused push was stored";
    EXPECT_EQ(Sample(exposition, "mesh_series_refused_total{reason=\"per_push\"}"), 6)
        << exposition;

    EXPECT_EQ(push(meshd, "api", 0, 5).status, 200);
    EXPECT_EQ(push(meshd, "api", 0, 5).status, 200);  // the same series again add nothing
    // The seed's JSON push adds 3 series of api: 8, the limit.
    r = meshd.Request("POST", "/metrics",
                      R"({"service":"api","requests":10,"errors":1,"avg_latency_ms":5})");
    EXPECT_EQ(r.status, 200) << r.body;
    r = push(meshd, "api", 3, 3);  // k=3, k=4 stored, k=5 new: 9 series
    EXPECT_EQ(r.status, 400) << r.body;
    refusal = ParseBody(r.body);
    EXPECT_EQ(refusal["bound"].asString(), "per_service") << r.body;
    EXPECT_EQ(refusal["service"].asString(), "api");
    EXPECT_EQ(refusal["limit"].asInt(), 8);
    EXPECT_EQ(refusal["series"].asInt(), 9);
    EXPECT_EQ(push(meshd, "web", 0, 5).status, 200);  // another service has its own count
    exposition = meshd.Request("GET", "/metrics").body;
    EXPECT_EQ(exposition.find("k=\"5\",service=\"api\""), std::string::npos) << exposition;
    EXPECT_NE(exposition.find("card{k=\"4\",service=\"api\"}"), std::string::npos) << exposition;
    EXPECT_EQ(Sample(exposition, "mesh_series_refused_total{reason=\"per_service\"}"), 3)
        << exposition;
    EXPECT_EQ(meshd.Stop().exit_code, 0);
  }
  // The count is the store's: a restart does not reset it.
  MeshdProcess meshd(dir_ + "/mesh.db", flags);
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const HttpClientResponse r = push(meshd, "api", 100, 1);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ParseBody(r.body)["bound"].asString(), "per_service") << r.body;
  EXPECT_EQ(push(meshd, "api", 0, 5).status, 200);
}

TEST_F(MeshdLimitsTest, CertTtlOutsideTenSecondsToThirtyDaysIsAUsageError) {
  for (const char* ttl : {"5s", "31d", "0s"}) {
    const RunResult r = RunProcess(
        {MESHD_BIN, "--listen", "127.0.0.1:0", "--db", dir_ + "/mesh.db", "--cert-ttl", ttl});
    EXPECT_EQ(r.exit_code, 2) << ttl << ": " << r.err;
    EXPECT_NE(r.err.find("meshd: --cert-ttl: certificate lifetime " + std::string(ttl) +
                         " is outside 10s..30d"),
              std::string::npos)
        << r.err;
  }
  const std::vector<std::string> proxy = {MESHPROXY_BIN,    "--service", "x",
                                          "--service-port", "80",        "--cert-ttl"};
  for (const char* ttl : {"1s", "90d"}) {
    std::vector<std::string> argv = proxy;
    argv.push_back(ttl);
    const RunResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 2) << ttl << ": " << r.err;
    EXPECT_NE(r.err.find("outside 10s..30d"), std::string::npos) << r.err;
  }
  const std::string config = dir_ + "/proxy.json";
  std::ofstream(config) << R"({"service":"x","service_port":80,"cert_ttl":"45d"})";
  const RunResult r = RunProcess({MESHPROXY_BIN, "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("outside 10s..30d"), std::string::npos) << r.err;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 07777;
}

TEST_F(MeshdLimitsTest, StoresAreCreatedOwnerOnlyWhateverTheUmask) {
  const mode_t saved = umask(0);  // inherited by the programs started below
  {
    MeshdProcess meshd(dir_ + "/meshd.db");
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    EXPECT_EQ(meshd.Request("POST", "/v1/logs", R"({"resourceLogs":[]})").status, 200);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      EXPECT_EQ(ModeOf(dir_ + "/meshd.db" + suffix), 0600u) << suffix;
    }
    EXPECT_EQ(meshd.Stop().exit_code, 0);
  }
  const RunResult ingest =
      RunProcess({MESHLOG_BIN, "--db", dir_ + "/meshlog.db", "ingest", "-s", "x"},
                 "{\"level\":\"info\",\"message\":\"hello\"}\n");
  umask(saved);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_EQ(ModeOf(dir_ + "/meshlog.db"), 0600u);
  EXPECT_EQ(ingest.err.find("warning"), std::string::npos) << ingest.err;
}

TEST_F(MeshdLimitsTest, AnExistingStoreReadableByOthersIsTightenedWithAWarning) {
  const std::string db = dir_ + "/mesh.db";
  ASSERT_EQ(
      RunProcess({MESHLOG_BIN, "--db", db, "ingest", "-s", "x"}, "{\"message\":\"a\"}\n").exit_code,
      0);
  ASSERT_EQ(chmod(db.c_str(), 0644), 0);
  MeshdProcess meshd(db);
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  EXPECT_EQ(ModeOf(db), 0600u);
  EXPECT_NE(meshd.process().err().find("was mode 0644 (readable beyond its owner): now 0600"),
            std::string::npos)
      << meshd.process().err();
  EXPECT_EQ(meshd.Stop().exit_code, 0);
  ASSERT_EQ(chmod(db.c_str(), 0640), 0);
  const RunResult r =
      RunProcess({MESHLOG_BIN, "--db", db, "ingest", "-s", "x"}, "{\"message\":\"b\"}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("meshlog: warning: " + db + " was mode 0640"), std::string::npos) << r.err;
  EXPECT_EQ(ModeOf(db), 0600u);
}

// A webhook receiver on 127.0.0.1 that counts what it is sent.
class Receiver {
 public:
  Receiver() {
    Result<std::unique_ptr<AsioHttpServer>> server =
        AsioHttpServer::Start({.listen = "127.0.0.1:0", .threads = 1}, [this](const HttpRequest&) {
          ++received_;
          return HttpResponse::Json(200, "{}");
        });
    EXPECT_TRUE(server.ok()) << server.status().message();
    if (server.ok()) server_ = std::move(server).value();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0) + path;
  }
  int received() const { return received_; }

 private:
  std::atomic<int> received_{0};
  std::unique_ptr<AsioHttpServer> server_;
};

TEST_F(MeshdLimitsTest, AlertChecksSendOnlyToAllowedUrls) {
  Receiver receiver;
  const auto check = [&](MeshdProcess& meshd, const std::string& webhook) {
    const std::string rules =
        R"({"rules":[{"name":"errors","signal":"error_rate","window":"5m","op":">","threshold":5,"severity":"critical"}]})";
    Json::Value body;
    body["rules"] = ParseBody(rules);
    body["webhook"] = webhook;
    return meshd.Request("POST", "/v1/alerts/check", Json::FastWriter().write(body));
  };
  const auto push_errors = [](MeshdProcess& meshd) {
    const int64_t now_ms = SystemClock::Instance().NowNs() / 1'000'000;
    for (int k = 2; k >= 0; --k) {
      const std::string ts = " " + std::to_string(now_ms - k * 60'000) + "\n";
      const std::string l = "service=\"payments\"";
      const std::string text = "# TYPE mesh_requests_total counter\nmesh_requests_total{" + l +
                               ",code=\"200\"} " + std::to_string(100 * (3 - k)) + ts +
                               "mesh_requests_total{" + l + ",code=\"503\"} " +
                               std::to_string(50 * (3 - k)) + ts;
      ASSERT_EQ(meshd.Request("POST", "/v1/metrics", text, {{"Content-Type", "text/plain"}}).status,
                200);
    }
  };
  {
    MeshdProcess meshd(dir_ + "/none.db");  // no allow-list: posted checks send nowhere
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    push_errors(meshd);
    const HttpClientResponse r = check(meshd, receiver.url("/hook"));
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(ParseBody(r.body)["url"].asString(), receiver.url("/hook")) << r.body;
    EXPECT_EQ(ParseBody(r.body)["flag"].asString(), "--alert-url-allow") << r.body;
  }
  MeshdProcess meshd(dir_ + "/allowed.db",
                     {"--alert-url-allow", receiver.url("/hook"), "--alert-url-allow",
                      "http://alertmanager.example:9093/"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  push_errors(meshd);
  const std::string port = receiver.url("").substr(std::string("http://127.0.0.1:").size());
  for (const std::string& tricked : {
           receiver.url("/hook-admin"),           // not the /hook segment
           receiver.url("/hook/../admin"),        // resolved past the prefix
           "http://127.0.0.2:" + port + "/hook",  // another host
           "http://alertmanager.example:9093@127.0.0.1:" + port + "/hook",  // user info
       }) {
    const HttpClientResponse r = check(meshd, tricked);
    EXPECT_TRUE(r.status == 403 || r.status == 400) << tricked << ": " << r.status << " " << r.body;
  }
  EXPECT_EQ(receiver.received(), 0);
  const HttpClientResponse r = check(meshd, receiver.url("/hook"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_GE(receiver.received(), 1) << r.body;
}

}  // namespace
}  // namespace mesh

// Runs the real meshd (and meshlog --server against it) on loopback ports.
#include <gtest/gtest.h>
#include <json/json.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>

#include "../unit/raw_http.h"
#include "meshd_fixture.h"
#include "subprocess.h"

#include "mesh/http_curl/curl_http_client.h"

namespace mesh {
namespace {

using test_support::CreateToken;
using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;
using testing::RawConnection;
using testing::RawHttp;
using testing::RawReply;
using namespace std::chrono_literals;

Json::Value ParseBody(const std::string& body) {
  Json::Value v;
  std::istringstream(body) >> v;
  return v;
}

std::string OtlpSpan(const std::string& service, const std::string& trace_id,
                     const std::string& span_id, const std::string& parent, const std::string& name) {
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
         service + R"("}}]},"scopeSpans":[{"scope":{"name":"test"},"spans":[{"traceId":")" + trace_id +
         R"(","spanId":")" + span_id + R"(","parentSpanId":")" + parent + R"(","name":")" + name +
         R"(","kind":2,"startTimeUnixNano":"1764075600000000000","endTimeUnixNano":"1764075600250000000","attributes":[{"key":"http.status_code","value":{"intValue":"200"}}],"status":{"code":1}}]}]}]})";
}

class MeshdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Db(const std::string& name = "mesh.db") const { return dir_ + "/" + name; }

  std::string dir_;
};

TEST_F(MeshdTest, MeshlogPrintsTheSameAgainstServerAndLocalFile) {
  MeshdProcess meshd(Db("server.db"));
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string input =
      R"({"timestamp":"2026-11-25T10:00:00.5Z","level":"info","service":"api","message":"request handled","route":"/orders","latency_ms":12.5,"ok":true})"
      "\n"
      R"({"timestamp":"2026-11-25T10:00:01Z","level":"warn","service":"db","message":"slow query on orders","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","rows":42})"
      "\n"
      R"({"timestamp":"2026-11-25T10:00:02Z","level":"error","service":"api","message":"upstream timeout","nested":{"a":[1,2]}})"
      "\n";
  const std::vector<std::string> local = {MESHLOG_BIN, "--db", Db("local.db")};
  const std::vector<std::string> remote = {MESHLOG_BIN, "--server", meshd.url()};
  const auto run = [](std::vector<std::string> base, std::vector<std::string> args,
                      const std::string& in = "") {
    base.insert(base.end(), args.begin(), args.end());
    return RunProcess(base, in, {"NO_COLOR=1"});
  };
  ASSERT_EQ(run(local, {"ingest", "-s", "x"}, input).exit_code, 0);
  RunResult sent = run(remote, {"ingest", "-s", "x"}, input);
  ASSERT_EQ(sent.exit_code, 0) << sent.err;

  const std::vector<std::vector<std::string>> commands = {
      {"tail", "-n", "10"},
      {"tail", "-n", "10", "-o", "logfmt"},
      {"tail", "--service", "api", "-o", "pretty"},
      {"tail", "--level", "warn"},
      {"tail", "--trace", "4bf92f3577b34da6a3ce929d0e0e4736"},
      {"tail", "--since", "2026-11-25T10:00:01Z", "--until", "2026-11-25T10:00:02Z"},
      {"tail", "--grep", "slow"},
      {"query", "orders"},
      {"query", "orders", "--reverse", "-n", "1"},
      {"query", "--count", "\"upstream timeout\""},
      {"stats", "-o", "json"},
      {"stats"},
  };
  for (const auto& args : commands) {
    RunResult a = run(local, args);
    RunResult b = run(remote, args);
    std::string joined;
    for (const auto& s : args) joined += s + " ";
    EXPECT_EQ(a.exit_code, 0) << joined << a.err;
    EXPECT_EQ(b.exit_code, 0) << joined << b.err;
    EXPECT_FALSE(a.out.empty()) << joined;
    EXPECT_EQ(a.out, b.out) << joined;
  }
  // Usage errors are the same too.
  RunResult bad = run(remote, {"query", "\"unclosed"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

TEST_F(MeshdTest, FollowWorksAgainstTheServer) {
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  Subprocess follow({MESHLOG_BIN, "--server", meshd.url(), "tail", "-f", "--poll", "50", "-o", "raw"});
  ASSERT_EQ(RunProcess({MESHLOG_BIN, "--server", meshd.url(), "write", "first"}).exit_code, 0);
  ASSERT_TRUE(follow.WaitForOutput("first\n", 10s)) << follow.out();
  ASSERT_EQ(RunProcess({MESHLOG_BIN, "--server", meshd.url(), "write", "second"}).exit_code, 0);
  ASSERT_TRUE(follow.WaitForOutput("second\n", 10s)) << follow.out();
  follow.Signal(SIGINT);
  RunResult r = follow.Wait(10s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "first\nsecond\n");
}

TEST_F(MeshdTest, StoresOtlpTracesAndServesThem) {
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r = meshd.Request("POST", "/v1/traces", OtlpSpan("web", trace, "00f067aa0ba902b7", "", "GET /"),
                         {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  r = meshd.Request("POST", "/v1/traces", OtlpSpan("api", trace, "1111111111111111", "00f067aa0ba902b7", "query"));
  EXPECT_EQ(r.status, 200);
  // Re-sending the same span does not duplicate it.
  r = meshd.Request("POST", "/v1/traces", OtlpSpan("api", trace, "1111111111111111", "00f067aa0ba902b7", "query"));
  EXPECT_EQ(r.status, 200);

  r = meshd.Request("GET", "/v1/traces/" + trace);
  ASSERT_EQ(r.status, 200) << r.body;
  Json::Value t = ParseBody(r.body);
  ASSERT_EQ(t["spans"].size(), 2u) << r.body;
  EXPECT_EQ(t["spans"][1]["parent_span_id"].asString(), "00f067aa0ba902b7");
  EXPECT_EQ(t["spans"][0]["attributes"]["http.status_code"].asInt(), 200);
  EXPECT_EQ(t["spans"][0]["duration_ns"].asInt64(), 250000000);
  EXPECT_EQ(meshd.Request("GET", "/v1/traces/4bf9").status, 200);  // a unique prefix

  r = meshd.Request("GET", "/v1/traces?service=api&min_duration=100ms&since=2025-01-01T00:00:00Z");
  Json::Value list = ParseBody(r.body);
  ASSERT_EQ(list["traces"].size(), 1u) << r.body;
  EXPECT_EQ(list["traces"][0]["root_service"].asString(), "web");
  EXPECT_EQ(list["traces"][0]["span_count"].asInt(), 2);
  EXPECT_EQ(ParseBody(meshd.Request("GET", "/v1/traces?min_duration=1s&since=2025-01-01T00:00:00Z").body)["traces"].size(), 0u);

  // A batch with one bad span keeps the good ones and says what it rejected.
  r = meshd.Request("POST", "/v1/traces", OtlpSpan("api", "00000000000000000000000000000000", "1111111111111111", "", "x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(ParseBody(r.body)["partialSuccess"]["rejectedSpans"].asInt(), 1) << r.body;
}

TEST_F(MeshdTest, SixtyFourConcurrentClientsLoseNothing) {
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  constexpr int kClients = 64;
  constexpr int kBatches = 5;
  constexpr int kPerBatch = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      CurlHttpClient http;
      for (int b = 0; b < kBatches; ++b) {
        std::string records;
        for (int i = 0; i < kPerBatch; ++i) {
          if (i) records += ',';
          records += R"({"timeUnixNano":"1764075600000000000","severityNumber":9,"body":{"stringValue":"client )" +
                     std::to_string(c) + " batch " + std::to_string(b) + " record " + std::to_string(i) + "\"}}";
        }
        const std::string body = R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"load"}}]},"scopeLogs":[{"logRecords":[)" +
                                 records + "]}]}]}";
        auto r = http.Send("POST", meshd.url() + "/v1/logs", body, {{"Content-Type", "application/json"}});
        if (!r.ok() || r->status != 200) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto r = meshd.Request("GET", "/v1/logs/stats");
  Json::Value stats = ParseBody(r.body);
  ASSERT_EQ(stats["stats"].size(), 1u) << r.body;
  EXPECT_EQ(stats["stats"][0]["count"].asInt(), kClients * kBatches * kPerBatch);
}

TEST_F(MeshdTest, BadRequestsGetJsonErrors) {
  const std::string token_file = dir_ + "/token";
  std::ofstream(token_file) << "s3cret\n";
  std::filesystem::permissions(token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  MeshdProcess meshd(Db(), {"--token-file", token_file, "--max-body", "1000"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer s3cret"}};
  const std::vector<std::pair<std::string, std::string>> orders = {{"Authorization", "Bearer " + CreateToken(Db(), "a")}};
  struct Case {
    std::string method, path, body;
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
  };
  const std::vector<Case> cases = {
      {"GET", "/no/such/route", "", {}, 404},
      {"PUT", "/v1/logs", "", auth, 405},
      {"POST", "/v1/logs", "{\"resourceLogs\":[]}", {}, 401},
      {"POST", "/v1/logs", "{\"resourceLogs\":[]}", {{"Authorization", "Bearer wrong"}}, 401},
      {"POST", "/v1/logs", "{\"resourceLogs\":[", auth, 400},
      {"POST", "/v1/logs", "{\"resourceLogs\":5}", auth, 400},
      // A truncated protobuf export (field 1, length 11, nothing after).
      {"POST", "/v1/traces", "\x0a\x0b", {{"Authorization", "Bearer s3cret"}, {"Content-Type", "application/x-protobuf"}}, 400},
      {"POST", "/v1/traces", std::string(2000, ' '), auth, 413},
      {"POST", "/v1/register", "{\"service\":\"../x\",\"host\":\"h\",\"port\":1}", orders, 400},
      {"POST", "/v1/register", "{\"service\":\"a\",\"host\":\"h\",\"port\":70000}", orders, 400},
      {"POST", "/v1/register", "{\"service\":\"a\",\"host\":\"h\",\"port\":1}", auth, 403},
      {"GET", "/v1/logs?level=loud", "", {}, 400},
      {"GET", "/v1/logs?limit=-3", "", {}, 400},
      {"GET", "/v1/traces/zzzz", "", {}, 400},
      {"GET", "/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736", "", {}, 404},
      {"POST", "/v1/instances/nobody/heartbeat", "", orders, 404},
  };
  for (const Case& c : cases) {
    auto r = meshd.Request(c.method, c.path, c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << ": " << r.body;
    Json::Value v = ParseBody(r.body);
    EXPECT_TRUE(v["error"].isString()) << c.method << " " << c.path << ": " << r.body;
  }
  EXPECT_EQ(meshd.Request("POST", "/v1/logs", "{\"resourceLogs\":[]}", auth).status, 200);
  EXPECT_EQ(meshd.Request("GET", "/healthz").status, 200);
}

TEST_F(MeshdTest, TokenFileReadableByOthersIsRefused) {
  const std::string token_file = dir_ + "/token";
  std::ofstream(token_file) << "s3cret\n";
  std::filesystem::permissions(token_file, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  RunResult r = RunProcess({MESHD_BIN, "--listen", "127.0.0.1:0", "--db", Db(), "--token-file", token_file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

// Token files as an operator might leave them: written with the default umask (0644).
TEST_F(MeshdTest, TokenFilesWithMode0644AreRefusedAtStartUp) {
  for (const char* flag : {"--token-file", "--read-token-file"}) {
    const std::string token_file = dir_ + "/token" + flag;
    std::ofstream(token_file) << "s3cret\n";
    std::filesystem::permissions(token_file, std::filesystem::perms(0644));
    RunResult r = RunProcess({MESHD_BIN, "--listen", "127.0.0.1:0", "--db", Db(), flag, token_file});
    EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.err;
    EXPECT_EQ(r.err, "meshd: token file " + token_file + " is readable by group or others (chmod 600 " +
                         token_file + ")\n")
        << flag;
    // Refused before anything else: no store was created, nothing listened.
    EXPECT_FALSE(std::filesystem::exists(Db())) << flag;
  }
}

TEST_F(MeshdTest, ReadTokenGuardsReadsAndWriteTokenGuardsWrites) {
  const std::string write_file = dir_ + "/write.token", read_file = dir_ + "/read.token";
  std::ofstream(write_file) << "w-5ecret\n";
  std::ofstream(read_file) << "r-5ecret\n";
  for (const std::string& f : {write_file, read_file}) std::filesystem::permissions(f, std::filesystem::perms(0600));
  MeshdProcess meshd(Db(), {"--token-file", write_file, "--read-token-file", read_file});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  EXPECT_NE(meshd.process().err().find("\"read_auth\":\"bearer\""), std::string::npos) << meshd.process().err();
  using Headers = std::vector<std::pair<std::string, std::string>>;
  const Headers none, wrong = {{"Authorization", "Bearer nope"}}, read = {{"Authorization", "Bearer r-5ecret"}},
                      write = {{"Authorization", "Bearer w-5ecret"}};
  const std::string logs = R"({"resourceLogs":[]})";
  struct Case {
    std::string method, path;
    Headers headers;
    int status;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/logs", none, 401},     {"POST", "/v1/logs", wrong, 401},
      {"POST", "/v1/logs", read, 403},     {"POST", "/v1/logs", write, 200},
      {"GET", "/v1/logs", none, 401},      {"GET", "/v1/logs", wrong, 401},
      {"GET", "/v1/logs", read, 200},      {"GET", "/v1/logs", write, 200},
      {"GET", "/metrics", none, 401},      {"GET", "/metrics", read, 200},
      {"GET", "/v1/services", none, 401},  {"GET", "/v1/services", read, 200},
      {"GET", "/healthz", none, 200},      {"GET", "/dashboard", none, 200},
  };
  for (const Case& c : cases) {
    const HttpClientResponse r = meshd.Request(c.method, c.path, c.method == "POST" ? logs : "", c.headers);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << (c.headers.empty() ? "" : c.headers[0].second);
    if (c.status == 401 || c.status == 403) {  // 403: a known credential that does not grant this
      EXPECT_TRUE(ParseBody(r.body)["error"].isString()) << r.body;
    }
  }
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// meshlog and meshtrace send --token-file (or $MESH_TOKEN) on their reads too, and say what to
// do when meshd wants a token they did not give.
TEST_F(MeshdTest, CliReadsSendTheTokenMeshdWants) {
  const std::string read_file = dir_ + "/read.token";
  std::ofstream(read_file) << "r-5ecret\n";
  std::filesystem::permissions(read_file, std::filesystem::perms(0600));
  MeshdProcess meshd(Db(), {"--read-token-file", read_file});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  ASSERT_EQ(meshd.Request("POST", "/v1/traces", OtlpSpan("api", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "", "GET /x"),
                          {{"Content-Type", "application/json"}})
                .status,
            200);
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{MESHLOG_BIN, "--server", meshd.url(), "tail"},
        std::vector<std::string>{MESHTRACE_BIN, "--server", meshd.url(), "show", "4bf92f3577b34da6a3ce929d0e0e4736"}}) {
    RunResult refused = RunProcess(command);
    EXPECT_EQ(refused.exit_code, 1) << command[0] << ": " << refused.err;
    EXPECT_NE(refused.err.find("answered 401"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("--token-file or $MESH_TOKEN"), std::string::npos) << refused.err;

    std::vector<std::string> with_file = command;
    with_file.insert(with_file.begin() + 1, {"--token-file", read_file});
    RunResult by_file = RunProcess(with_file);
    EXPECT_EQ(by_file.exit_code, 0) << command[0] << ": " << by_file.err;
    RunResult by_env = RunProcess(command, "", {"MESH_TOKEN=r-5ecret"});
    EXPECT_EQ(by_env.exit_code, 0) << command[0] << ": " << by_env.err;
  }
  RunResult shown = RunProcess({MESHTRACE_BIN, "--server", meshd.url(), "--token-file", read_file, "show",
                                "4bf92f3577b34da6a3ce929d0e0e4736"});
  EXPECT_NE(shown.out.find("GET /x"), std::string::npos) << shown.out;
}

TEST_F(MeshdTest, OversizedRequestsGetJsonErrorsAndMeshdStaysUp) {
  MeshdProcess meshd(Db(), {"--max-body", "1000", "--max-header-bytes", "16384"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const struct {
    std::string method, path, body;
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
  } cases[] = {
      {"POST", "/v1/logs", std::string(5000, ' '), {{"Transfer-Encoding", "chunked"}}, 413},
      {"GET", "/v1/logs?grep=" + std::string(9000, 'a'), "", {}, 414},
      {"GET", "/v1/logs", "", {{"X-Big", std::string(20000, 'a')}}, 431},
      // Past twice --max-header-bytes the parser stops reading: still a 431, not a malformed head.
      {"GET", "/v1/logs", "", {{"X-Big", std::string(40000, 'a')}}, 431},
  };
  for (const auto& c : cases) {
    const HttpClientResponse r = meshd.Request(c.method, c.path, c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << c.path.substr(0, 20) << ": " << r.body;
    EXPECT_TRUE(ParseBody(r.body)["error"].isString()) << r.body;
  }
  EXPECT_EQ(meshd.Request("GET", "/healthz").status, 200);
  RunResult bad = RunProcess({MESHD_BIN, "--listen", "127.0.0.1:0", "--db", Db(), "--max-header-bytes", "10"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

TEST_F(MeshdTest, RegistryTracksHealthAndSurvivesRestart) {
  {
    MeshdProcess meshd(Db());
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    auto r = meshd.Request("POST", "/v1/register", R"({"service":"api","host":"127.0.0.1","port":8080,"meta":{"version":"1.2"}})");
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string id = ParseBody(r.body)["id"].asString();
    EXPECT_EQ(meshd.Request("POST", "/v1/instances/" + id + "/heartbeat").status, 200);
    // The seed's payload and answer shapes still work.
    r = meshd.Request("POST", "/register", R"({"service_name":"web","host":"127.0.0.1","port":8081})");
    EXPECT_EQ(ParseBody(r.body)["status"].asString(), "registered");
    r = meshd.Request("POST", "/v1/register", R"({"service":"short","host":"127.0.0.1","port":9,"ttl_seconds":1})");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(meshd.Stop().exit_code, 0);
  }
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  Json::Value seed = ParseBody(meshd.Request("GET", "/services").body);
  EXPECT_EQ(seed["total"].asInt(), 3) << seed;
  Json::Value api = ParseBody(meshd.Request("GET", "/v1/services/api").body);
  ASSERT_EQ(api["instances"].size(), 1u);
  EXPECT_TRUE(api["instances"][0]["healthy"].asBool());
  EXPECT_EQ(api["instances"][0]["meta"]["version"].asString(), "1.2");
  // The 1 s TTL instance goes unhealthy, then after three TTLs it is removed.
  bool removed = false;
  for (int i = 0; i < 100 && !removed; ++i) {
    removed = meshd.Request("GET", "/v1/services/short").status == 404;
    if (!removed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(removed);
  EXPECT_EQ(meshd.Request("DELETE", "/v1/instances/api@127.0.0.1:8080").status, 200);
  EXPECT_EQ(meshd.Request("GET", "/v1/services/api").status, 404);
}

// Issue 18's slow clients and issue 26's sidecar fleet on one meshd: 200 kept-alive connections
// (sidecars between refreshes) and 30 trickling a byte a second hold no thread, so liveness and a
// registration are answered at once; the trickling ones are closed at the head timeout however
// steadily they send, and the kept ones stay open past it.
TEST_F(MeshdTest, HealthAndRegistrationAreAnsweredBesideKeptAndTricklingConnections) {
  MeshdProcess meshd(Db(), {"--header-timeout", "1s"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const int port = std::stoi(meshd.url().substr(meshd.url().rfind(':') + 1));
  std::vector<std::unique_ptr<RawConnection>> kept;
  for (int i = 0; i < 200; ++i) {
    kept.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(kept.back()->Send("GET /healthz HTTP/1.1\r\nHost: meshd\r\n\r\n")) << i;
  }
  for (auto& c : kept) ASSERT_EQ(c->ReadOne(10s).status, 200);
  std::vector<std::unique_ptr<RawConnection>> trickling;
  for (int i = 0; i < 30; ++i) {
    trickling.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(trickling.back()->Send("GET /v1/services HTTP/1.1\r\nHost: meshd\r\nX-Slow: "));
  }
  const auto trickle_started = std::chrono::steady_clock::now();
  std::atomic<bool> done = false;
  std::atomic<int> cut = 0;
  std::thread trickler([&] {
    std::vector<bool> closed(trickling.size());
    // A byte a second each, until meshd closed them all (or 20 s).
    for (int second = 0; second < 20 && !done && cut < 30; ++second) {
      for (size_t i = 0; i < trickling.size(); ++i) {
        if (!closed[i] && (!trickling[i]->Send("a") || trickling[i]->Read(1ms).closed)) {
          closed[i] = true;
          ++cut;
        }
      }
      for (int i = 0; i < 10 && !done; ++i) std::this_thread::sleep_for(100ms);
    }
  });

  const RawReply health = RawHttp(port, "GET /healthz HTTP/1.1\r\nHost: meshd\r\nConnection: close\r\n\r\n", 2s);
  EXPECT_EQ(health.status, 200) << "/healthz not answered within 2 s: " << health.head;
  const auto registered = meshd.Request("POST", "/v1/register", R"({"service":"beside","host":"127.0.0.1","port":7})");
  EXPECT_EQ(registered.status, 200) << registered.body;
  // Every trickling connection is cut, about a second after it started (10 s: a loaded machine).
  while (cut < 30 && std::chrono::steady_clock::now() - trickle_started < 10s) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(cut, 30) << "trickling connections still open 10 s after a 1 s head timeout";
  done = true;
  trickler.join();
  // The kept connections were idle for longer than the head timeout and are still served.
  for (size_t i = 0; i < kept.size(); i += 20) {
    ASSERT_TRUE(kept[i]->Send("GET /healthz HTTP/1.1\r\nHost: meshd\r\n\r\n")) << i;
    const RawReply again = kept[i]->ReadOne(5s);
    EXPECT_EQ(again.status, 200) << "kept connection " << i << " was closed while idle: " << again.head;
  }
}

TEST_F(MeshdTest, ServerFlagsAreCheckedAndTheDefaultsLogged) {
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--header-timeout", "soon"},
                                              {"--header-timeout", "10ms"}, {"--idle-timeout", "2h"},
                                              {"--threads", "0"}}) {
    RunResult r = RunProcess({MESHD_BIN, "--listen", "127.0.0.1:0", "--db", Db(), bad[0], bad[1]});
    EXPECT_EQ(r.exit_code, 2) << bad[0] << " " << bad[1] << ": " << r.err;
    EXPECT_NE(r.err.find("meshd: " + bad[0]), std::string::npos) << r.err;
  }
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  // Connection slots: the open-file limit raised to its hard limit (meshd inherits this
  // process's), less 256 descriptors kept for the store, logs and outgoing connections.
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  std::smatch m;
  const std::string err = meshd.process().err();
  ASSERT_TRUE(std::regex_search(err, m, std::regex("\"max_connections\":([0-9]+)"))) << err;
  EXPECT_EQ(std::stoull(m[1].str()), std::max<uint64_t>(limit.rlim_max, 257) - 256) << err;
}

// A meshd that was down longer than an instance's TTL cannot tell whether the instance was:
// after its restart the instance stays healthy for one TTL, its time to heartbeat again, instead
// of every caller finding no healthy instance until then.
TEST_F(MeshdTest, AnOutageLongerThanTheTtlDoesNotMakeInstancesUnhealthy) {
  {
    MeshdProcess meshd(Db());
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    auto r = meshd.Request("POST", "/v1/register", R"({"service":"api","host":"127.0.0.1","port":9,"ttl_seconds":2})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(meshd.Stop().exit_code, 0);
  }
  std::this_thread::sleep_for(2500ms);  // the outage: longer than the 2 s TTL
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  Json::Value api = ParseBody(meshd.Request("GET", "/v1/services/api").body);
  ASSERT_EQ(api["instances"].size(), 1u) << api;
  EXPECT_TRUE(api["instances"][0]["healthy"].asBool()) << api;
  EXPECT_EQ(ParseBody(meshd.Request("GET", "/v1/services").body)["services"][0]["healthy"].asInt(), 1);
  // No heartbeat comes: one TTL after meshd's start, the instance is unhealthy.
  bool unhealthy = false;
  for (int i = 0; i < 60 && !unhealthy; ++i) {
    api = ParseBody(meshd.Request("GET", "/v1/services/api").body);
    unhealthy = api["instances"].size() == 1 && !api["instances"][0]["healthy"].asBool();
    if (!unhealthy) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(unhealthy) << api;
}

// What Prometheus' http_sd reads: meshd at the address it was reached at (the Host header), each
// healthy instance's sidecar admin port, and its app when the sidecar names a metrics path.
TEST_F(MeshdTest, PrometheusTargetsListMeshdSidecarsAndApps) {
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  auto r = meshd.Request("POST", "/v1/register",
                         R"({"service":"orders","host":"127.0.0.1","port":15011,)"
                         R"("meta":{"admin":"127.0.0.1:15091","app":"127.0.0.1:8081","app_metrics_path":"/metrics"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = meshd.Request("POST", "/v1/register",
                    R"({"service":"api","host":"127.0.0.1","port":15001,"meta":{"admin":"127.0.0.1:15090"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = meshd.Request("GET", "/v1/prometheus/targets");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json::Value groups = ParseBody(r.body);
  ASSERT_TRUE(groups.isArray()) << r.body;
  ASSERT_EQ(groups.size(), 4u) << r.body;
  EXPECT_EQ(groups[0]["targets"][0].asString(), meshd.url().substr(std::string("http://").size()));
  EXPECT_EQ(groups[0]["labels"]["mesh_role"].asString(), "meshd");
  EXPECT_EQ(groups[1]["targets"][0].asString(), "127.0.0.1:15090");
  EXPECT_EQ(groups[1]["labels"]["service"].asString(), "api");
  EXPECT_EQ(groups[1]["labels"]["mesh_instance"].asString(), "api@127.0.0.1:15001");
  EXPECT_EQ(groups[1]["labels"]["mesh_role"].asString(), "proxy");
  EXPECT_EQ(groups[2]["targets"][0].asString(), "127.0.0.1:15091");
  EXPECT_EQ(groups[3]["targets"][0].asString(), "127.0.0.1:8081");
  EXPECT_EQ(groups[3]["labels"]["mesh_role"].asString(), "app");
  EXPECT_EQ(groups[3]["labels"]["__metrics_path__"].asString(), "/metrics");
  // Behind a proxy or a DNS name, the Host header the scraper sent is meshd's address.
  r = meshd.Request("GET", "/v1/prometheus/targets", "", {{"Host", "meshd.example:9000"}});
  EXPECT_EQ(ParseBody(r.body)[0]["targets"][0].asString(), "meshd.example:9000") << r.body;
  EXPECT_EQ(meshd.Request("DELETE", "/v1/instances/orders@127.0.0.1:15011").status, 200);
  EXPECT_EQ(ParseBody(meshd.Request("GET", "/v1/prometheus/targets").body).size(), 2u);
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

// meshd --advertise: the address meshd hands out for itself wins over the Host header, and an
// instance registered on IPv6 is listed in brackets.
TEST_F(MeshdTest, PrometheusTargetsNameMeshdAtItsAdvertisedAddress) {
  MeshdProcess meshd(Db(), {"--advertise", "[2001:db8::9]:9000"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  EXPECT_NE(meshd.process().err().find("\"advertised\":\"http://[2001:db8::9]:9000\""), std::string::npos)
      << meshd.process().err();
  auto r = meshd.Request("POST", "/v1/register",
                         R"({"service":"api","host":"::1","port":15001,"meta":{"admin":"0.0.0.0:15090"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = meshd.Request("GET", "/v1/prometheus/targets", "", {{"Host", "meshd.example:9000"}});
  const Json::Value groups = ParseBody(r.body);
  ASSERT_EQ(groups.size(), 2u) << r.body;
  EXPECT_EQ(groups[0]["targets"][0].asString(), "[2001:db8::9]:9000") << r.body;
  EXPECT_EQ(groups[1]["targets"][0].asString(), "[::1]:15090") << r.body;
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

TEST_F(MeshdTest, RefusesAnAdvertiseAddressNobodyCanReach) {
  for (const char* bad : {"0.0.0.0:9000", "[::]:9000", "10.0.0.5", "10.0.0.5:0", "::1:9000", "[x]:9000"}) {
    const RunResult r = RunProcess({MESHD_BIN, "--db", Db(), "--listen", "127.0.0.1:0", "--advertise", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("meshd: --advertise"), std::string::npos) << r.err;
  }
}

TEST_F(MeshdTest, AcceptsGzippedBodiesAndRefusesUnknownEncodings) {
  MeshdProcess meshd(Db());
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::string body = OtlpSpan("api", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "", "zipped");
  // Compress with the gzip tool, as a collector would have.
  RunResult gz = RunProcess({"/bin/gzip", "-c"}, body);
  ASSERT_EQ(gz.exit_code, 0);
  auto r = meshd.Request("POST", "/v1/traces", gz.out,
                         {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(meshd.Request("GET", "/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736").status, 200);
  r = meshd.Request("POST", "/v1/traces", gz.out.substr(0, gz.out.size() / 2),
                    {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400) << r.body;
  r = meshd.Request("POST", "/v1/traces", body, {{"Content-Encoding", "br"}});
  EXPECT_EQ(r.status, 415) << r.body;
}

TEST_F(MeshdTest, RetentionPrunesOldLogsSpansAndSamples) {
  MeshdProcess meshd(Db(), {"--retention", "1h"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  // A record from 2020 and one from now: only the old one goes.
  const std::string logs =
      R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1600000000000000000","body":{"stringValue":"old"}},{"body":{"stringValue":"new"}}]}]}]})";
  ASSERT_EQ(meshd.Request("POST", "/v1/logs", logs).status, 200);
  ASSERT_EQ(meshd.Request("POST", "/v1/traces", OtlpSpan("api", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "", "old span")).status, 200);
  ASSERT_EQ(meshd.Request("POST", "/v1/metrics?service=api", "old_total 1 1600000000000\nnew_total 2\n").status, 200);
  bool pruned = false;
  for (int i = 0; i < 100 && !pruned; ++i) {
    const Json::Value stats = ParseBody(meshd.Request("GET", "/v1/logs/stats").body);
    pruned = stats["stats"].size() == 1 && stats["stats"][0]["count"].asInt() == 1 &&
             meshd.Request("GET", "/v1/traces/4bf92f3577b34da6a3ce929d0e0e4736").status == 404;
    if (!pruned) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(pruned);
  const Json::Value page = ParseBody(meshd.Request("GET", "/v1/logs").body);
  ASSERT_EQ(page["records"].size(), 1u);
  EXPECT_EQ(page["records"][0]["record"]["message"].asString(), "new");
  EXPECT_EQ(meshd.Stop().exit_code, 0);
  RunResult samples = RunProcess({"/usr/bin/sqlite3", Db(), "SELECT count(*) FROM metric_samples"});
  EXPECT_EQ(samples.out, "1\n") << samples.err;
}


TEST_F(MeshdTest, CreatesItsCaOnFirstStartAndImportsAnother) {
  {
    MeshdProcess meshd(Db(), {"--trust-domain", "prod.example"});
    ASSERT_TRUE(meshd.ready());
    const Json::Value ca = ParseBody(meshd.Request("GET", "/v1/ca").body);
    EXPECT_EQ(ca["trust_domain"].asString(), "prod.example");
    EXPECT_NE(ca["ca_pem"].asString().find("BEGIN CERTIFICATE"), std::string::npos);
  }
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/ca/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Another meshd takes this CA over with `meshd ca import`, and serves it.
  RunResult imported = RunProcess({MESHD_BIN, "ca", "import", "--cert", dir_ + "/ca/ca.crt", "--key",
                                   dir_ + "/ca/ca.key", "--db", Db("other/mesh.db")});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  MeshdProcess other(Db("other/mesh.db"));
  ASSERT_TRUE(other.ready());
  std::ifstream original(dir_ + "/ca/ca.crt");
  const std::string original_pem((std::istreambuf_iterator<char>(original)), std::istreambuf_iterator<char>());
  EXPECT_EQ(ParseBody(other.Request("GET", "/v1/ca").body)["ca_pem"].asString(), original_pem);

  // A key that is not the certificate's is refused, and nothing is replaced.
  RunResult mismatched = RunProcess({MESHD_BIN, "ca", "import", "--cert", dir_ + "/ca/ca.crt", "--key",
                                     dir_ + "/ca/ca.crt", "--ca-dir", dir_ + "/third"});
  EXPECT_EQ(mismatched.exit_code, 2);
  EXPECT_NE(mismatched.err.find("CA key"), std::string::npos) << mismatched.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/third/ca.key"));
}

// Issue 18: a small body nested a few hundred levels deep killed meshd on a worker thread's
// stack. Every route that reads a JSON body refuses nesting past 64 levels with a 400 naming
// the bound, before any parser recurses (the token is checked first: 401 without it), and
// meshd answers after each one.
TEST_F(MeshdTest, DeeplyNestedJsonBodiesGet400OnEveryJsonRouteAndMeshdStaysUp) {
  const std::string token_file = dir_ + "/token";
  std::ofstream(token_file) << "s3cret\n";
  std::filesystem::permissions(token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  MeshdProcess meshd(Db(), {"--token-file", token_file});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const std::pair<std::string, std::string> json = {"Content-Type", "application/json"};
  const std::pair<std::string, std::string> write_token = {"Authorization", "Bearer s3cret"};
  // Registry writes and certificates need a service's token (the write token is refused before
  // any parsing, 403).
  const std::pair<std::string, std::string> service_token = {"Authorization", "Bearer " + CreateToken(Db(), "a")};
  // From ControlPlane::AddRoutes and SecurityApi::AddRoutes: every POST that reads JSON.
  const std::vector<std::string> routes = {"/v1/traces", "/v1/logs", "/api/v2/spans", "/v1/register", "/register",
                                           "/v1/metrics", "/metrics", "/v1/alerts/check", "/v1/silences",
                                           "/v1/certs"};
  std::string objects;
  for (int i = 0; i < 1000; ++i) objects += R"({"a":)";
  objects += "1" + std::string(1000, '}');
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"1k objects", objects},
      {"1k arrays", std::string(1000, '[') + std::string(1000, ']')},
      {"100k arrays", std::string(100'000, '[') + std::string(100'000, ']')},
      {"100k unclosed arrays", std::string(100'000, '[')},
  };
  for (const std::string& route : routes) {
    EXPECT_EQ(meshd.Request("POST", route, bodies[0].second, {json}).status, 401) << route;
    const bool for_a_service = route == "/v1/register" || route == "/register" || route == "/v1/certs";
    const std::pair<std::string, std::string> auth = for_a_service ? service_token : write_token;
    for (const auto& [what, body] : bodies) {
      const HttpClientResponse r = meshd.Request("POST", route, body, {json, auth});
      EXPECT_EQ(r.status, 400) << route << " " << what << ": " << r.body;
      EXPECT_NE(ParseBody(r.body)["error"].asString().find("nested deeper than 64 levels"), std::string::npos)
          << route << " " << what << ": " << r.body;
      ASSERT_EQ(meshd.Request("GET", "/healthz").status, 200) << "after " << route << " " << what;
    }
  }
  // A gzip'd deep body is checked once inflated. Compressed, the 100k-deep body is a few hundred
  // bytes: past 100 times that, it is refused as a bomb before it is whole.
  RunResult gz = RunProcess({"/bin/gzip", "-c"}, bodies[1].second);
  ASSERT_EQ(gz.exit_code, 0);
  HttpClientResponse r = meshd.Request("POST", "/v1/traces", gz.out, {json, write_token, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("nested deeper than 64 levels"), std::string::npos) << r.body;
  gz = RunProcess({"/bin/gzip", "-c"}, bodies[2].second);
  ASSERT_EQ(gz.exit_code, 0);
  EXPECT_LT(gz.out.size(), 1000u);
  r = meshd.Request("POST", "/v1/traces", gz.out, {json, write_token, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(ParseBody(r.body)["bound"].asString(), "--max-inflate-ratio") << r.body;
  // Still storing what is good, and stopping cleanly.
  EXPECT_EQ(meshd.Request("POST", "/v1/traces",
                          OtlpSpan("api", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "", "after"),
                          {json, write_token}).status, 200);
  EXPECT_EQ(meshd.Stop().exit_code, 0) << meshd.process().err();
}

// A policy file rewritten with nesting past the bound is refused like any bad policy: meshd
// keeps serving the last good one and says why in reload_error.
TEST_F(MeshdTest, ADeeplyNestedPolicyFileIsRefusedAndTheLastGoodOneKept) {
  const std::string policy = dir_ + "/policy.json";
  std::ofstream(policy) << R"({"allow":[{"from":"a","to":"b"}]})";
  MeshdProcess meshd(Db(), {"--policy", policy});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const Json::Value before = ParseBody(meshd.Request("GET", "/v1/policy").body);
  ASSERT_EQ(before["policy"]["allow"][0]["to"].asString(), "b");
  std::this_thread::sleep_for(10ms);  // a later mtime than the first file's
  std::ofstream(policy) << R"({"allow":[{"from":"a","to":"b","x":)" + std::string(100'000, '[') + "}]}";
  Json::Value after;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    after = ParseBody(meshd.Request("GET", "/v1/policy").body);
    if (after.isMember("reload_error")) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(after["reload_error"].asString().find("nested deeper than 64 levels"), std::string::npos) << after;
  EXPECT_EQ(after["version"], before["version"]);
  EXPECT_EQ(after["policy"], before["policy"]);
  EXPECT_EQ(meshd.Stop().exit_code, 0) << meshd.process().err();
}

TEST_F(MeshdTest, RefusesToStartWithABadPolicyOrAnExposedCaKey) {
  std::ofstream(dir_ + "/policy.json") << R"({"allow":[{"from":"a"}]})";
  RunResult bad_policy = RunProcess({MESHD_BIN, "--db", Db(), "--listen", "127.0.0.1:0", "--policy", dir_ + "/policy.json"});
  EXPECT_EQ(bad_policy.exit_code, 2);
  EXPECT_NE(bad_policy.err.find("\"to\" is required"), std::string::npos) << bad_policy.err;
  ASSERT_EQ(chmod((dir_ + "/ca/ca.key").c_str(), 0644), 0);  // made by that attempt
  RunResult exposed = RunProcess({MESHD_BIN, "--db", Db(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(exposed.exit_code, 2);
  EXPECT_NE(exposed.err.find("readable by group or others"), std::string::npos) << exposed.err;
}

}  // namespace
}  // namespace mesh

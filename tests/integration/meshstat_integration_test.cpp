// Runs the real meshstat binary on a store filled through a real meshd (metrics pushed in the
// Prometheus text format, spans in OTLP JSON, logs in OTLP JSON), on the file and through meshd
// (--server), and as cron runs it (`>> golden.csv`).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "meshd_fixture.h"
#include "mesh/store/log_store.h"
#include "mesh/store/span_store.h"
#include "mesh/store/store.h"
#include "subprocess.h"
#include "terminal_safety.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A push as meshproxy makes it, with explicit timestamps (milliseconds) ten minutes apart.
std::string Push(int64_t ts_ms, double ok, double failed, double fast, double all,
                 double in_flight) {
  const std::string t = " " + std::to_string(ts_ms) + "\n";
  std::ostringstream out;
  out << "# TYPE mesh_requests_total counter\n"
      << "mesh_requests_total{service=\"shop\",direction=\"inbound\",code=\"200\"} " << ok << t
      << "mesh_requests_total{service=\"shop\",direction=\"inbound\",code=\"503\"} " << failed << t
      << "# TYPE mesh_request_duration_seconds histogram\n"
      << "mesh_request_duration_seconds_bucket{service=\"shop\",direction=\"inbound\",le=\"0.1\"} "
      << fast << t
      << "mesh_request_duration_seconds_bucket{service=\"shop\",direction=\"inbound\",le=\"+Inf\"} "
      << all << t << "mesh_request_duration_seconds_sum{service=\"shop\",direction=\"inbound\"} 1"
      << t << "mesh_request_duration_seconds_count{service=\"shop\",direction=\"inbound\"} " << all
      << t << "# TYPE mesh_requests_in_flight gauge\n"
      << "mesh_requests_in_flight{service=\"shop\",direction=\"inbound\"} " << in_flight << t;
  return out.str();
}

class MeshstatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshstat-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = dir_ + "/mesh.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Fills the store through meshd: 600 requests (6 failed) over the last 20 minutes, a span
  // and two error logs.
  void Fill(MeshdProcess& meshd) {
    const int64_t now_ms = NowNs() / 1'000'000;
    const int64_t minute = 60'000;
    for (const auto& [ago, ok, failed, fast, all, busy] :
         {std::tuple{20, 0.0, 0.0, 0.0, 0.0, 1.0}, std::tuple{10, 297.0, 3.0, 270.0, 300.0, 4.0},
          std::tuple{1, 594.0, 6.0, 540.0, 600.0, 2.0}}) {
      const HttpClientResponse r =
          meshd.Request("POST", "/v1/metrics?instance=i1",
                        Push(now_ms - ago * minute, ok, failed, fast, all, busy),
                        {{"Content-Type", "text/plain; version=0.0.4"}});
      ASSERT_EQ(r.status, 200) << r.body;
    }
    const std::string start = std::to_string(NowNs() - 300'000'000'000);
    const std::string end = std::to_string(NowNs() - 299'750'000'000);
    HttpClientResponse r = meshd.Request(
        "POST", "/v1/traces",
        R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},)"
        R"("scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",)"
        R"("name":"GET /basket","kind":2,"startTimeUnixNano":")" +
            start + R"(","endTimeUnixNano":")" + end + R"("}]}]}]})",
        {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string ts = std::to_string(NowNs() - 120'000'000'000);
    const std::string record =
        R"({"timeUnixNano":")" + ts +
        R"(","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"stock service unreachable"}})";
    r = meshd.Request(
        "POST", "/v1/logs",
        R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},)"
        R"("scopeLogs":[{"logRecords":[)" +
            record + "," + record + "]}]}]}",
        {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  RunResult Meshstat(std::vector<std::string> args) const {
    args.insert(args.begin(), MESHSTAT_BIN);
    return RunProcess(args, "", {"NO_COLOR=1"});
  }

  std::string dir_;
  std::string db_;
};

TEST_F(MeshstatTest, ReportOnTheFileAndThroughMeshdAgree) {
  MeshdProcess meshd(db_);
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  Fill(meshd);
  // A fixed end, so that both runs cover the same window.
  const int64_t now_s = NowNs() / 1'000'000'000;
  const std::string since = std::to_string(now_s - 3600), until = std::to_string(now_s);
  for (const char* format : {"table", "json", "csv", "prom", "markdown"}) {
    const RunResult local =
        Meshstat({"--db", db_, "report", "--since", since, "--until", until, "--format", format});
    EXPECT_EQ(local.exit_code, 0) << local.err;
    const RunResult remote = Meshstat(
        {"report", "--server", meshd.url(), "--since", since, "--until", until, "-f", format});
    EXPECT_EQ(remote.exit_code, 0) << remote.err;
    EXPECT_EQ(remote.out, local.out) << format;
    if (std::string(format) == "table") {
      EXPECT_NE(local.out.find("shop     0.17  600       1.00"), std::string::npos) << local.out;
      EXPECT_NE(local.out.find("GET /basket"), std::string::npos) << local.out;
      EXPECT_NE(local.out.find("shop     2      "), std::string::npos) << local.out;
      EXPECT_NE(local.out.find("stock service unreachable"), std::string::npos) << local.out;
    }
  }
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

TEST_F(MeshstatTest, ServerReportsSendTheReadToken) {
  const std::string token_file = dir_ + "/read.token";
  std::ofstream(token_file) << "r-5ecret\n";
  std::filesystem::permissions(token_file, std::filesystem::perms(0600));
  MeshdProcess meshd(db_, {"--read-token-file", token_file});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  Fill(meshd);
  const RunResult refused = Meshstat({"report", "--server", meshd.url()});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("answered 401"), std::string::npos) << refused.err;
  const RunResult by_file = Meshstat({"report", "--server", meshd.url(), "--token-file", token_file});
  EXPECT_EQ(by_file.exit_code, 0) << by_file.err;
  EXPECT_NE(by_file.out.find("shop"), std::string::npos) << by_file.out;
  const RunResult by_env = RunProcess({MESHSTAT_BIN, "report", "--server", meshd.url()}, "", {"MESH_TOKEN=r-5ecret"});
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

TEST_F(MeshstatTest, CronAppendsCsvRowsUnderOneHeader) {
  MeshdProcess meshd(db_);
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  Fill(meshd);
  EXPECT_EQ(meshd.Stop().exit_code, 0);
  const std::string golden = dir_ + "/golden.csv";
  for (int run = 0; run < 3; ++run) {
    const RunResult r = RunProcess({"/bin/sh", "-c",
                                    std::string(MESHSTAT_BIN) + " --db " + db_ +
                                        " report --since 1h --format csv >> " + golden});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::ifstream in(golden);
  std::string line;
  int headers = 0, service_rows = 0;
  while (std::getline(in, line)) {
    if (line.rfind("time,window_seconds,kind,", 0) == 0) ++headers;
    if (line.find(",service,shop,,600,") != std::string::npos) ++service_rows;
  }
  EXPECT_EQ(headers, 1);
  EXPECT_EQ(service_rows, 3);
}

TEST_F(MeshstatTest, TopWithoutATerminalPrintsPlainTablesAndStops) {
  MeshdProcess meshd(db_);
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  Fill(meshd);
  EXPECT_EQ(meshd.Stop().exit_code, 0);
  const RunResult r =
      Meshstat({"--db", db_, "top", "--every", "200ms", "--since", "1h", "--iterations", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\033'), std::string::npos);
  size_t tables = 0;
  for (size_t at = r.out.find("SERVICE"); at != std::string::npos;
       at = r.out.find("SERVICE", at + 1))
    ++tables;
  EXPECT_EQ(tables, 2u) << r.out;
}

TEST_F(MeshstatTest, UsageErrorsExitTwoAndHelpAndVersionWork) {
  RunResult r = Meshstat({"--db", db_, "report", "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("meshstat: --since: ", 0), 0u) << r.err;
  r = Meshstat({"report", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("meshstat: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = Meshstat({"--db", db_, "report", "--format", "yaml"});
  EXPECT_EQ(r.exit_code, 2);
  for (const char* sub : {"report", "top"}) {
    r = Meshstat({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--since"), std::string::npos) << r.out;
  }
  r = Meshstat({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("meshstat ", 0), 0u) << r.out;
}

TEST_F(MeshstatTest, HumanFormatsNeverSendStoredControlsToTheTerminal) {
  using test_support::ExpectTerminalSafe;
  using test_support::kHostileText;
  {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = db_});
    ASSERT_TRUE(store.ok()) << store.status().message();
    Span span;
    span.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    span.span_id = "00f067aa0ba902b7";
    span.service = "shop" + kHostileText;
    span.name = "GET " + kHostileText;
    span.kind = SpanKind::kServer;
    span.start_ns = NowNs() - 60'000'000'000;
    span.duration_ns = 1'000'000;
    ASSERT_TRUE(SpanStore(**store).Insert({span}).ok());
    LogRecord log;
    log.ts_ns = NowNs() - 60'000'000'000;
    log.service = span.service;
    log.level = LogLevel::kError;
    log.message = "failed " + kHostileText;
    ASSERT_TRUE(LogStore(**store).Insert({log}).ok());
  }
  for (const char* format : {"table", "markdown"}) {
    RunResult r = Meshstat({"--db", db_, "report", "--since", "1h", "--format", format});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ExpectTerminalSafe(r.out, format);
  }
  RunResult top = Meshstat({"--db", db_, "top", "--since", "1h", "--iterations", "1"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  ExpectTerminalSafe(top.out, "top");
  // CSV keeps the data exact, in a quoted field.
  RunResult csv = Meshstat({"--db", db_, "report", "--since", "1h", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_NE(csv.out.find(",\"shop" + kHostileText + "\","), std::string::npos) << csv.out;
}

}  // namespace
}  // namespace mesh

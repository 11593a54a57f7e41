// meshalert as cron and monitoring systems run it: separate processes, one a minute, that share
// nothing but the store meshd fills; a watch daemon stopped by SIGTERM; exit codes and errors.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <string>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/time_format.h"
#include "meshd_fixture.h"
#include "mesh/store/alert_store.h"
#include "mesh/store/store.h"
#include "subprocess.h"
#include "terminal_safety.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;
using namespace std::chrono_literals;

constexpr int64_t kSecond = 1'000'000'000;

constexpr char kRules[] = R"({"rules":[
  {"name":"high_error_rate","signal":"error_rate","window":"1m","op":">","threshold":5,"for":"60s",
   "resolve_threshold":3,"severity":"critical"},
  {"name":"high_latency","signal":"latency_p99","window":"1m","op":">","threshold":500,"for":"60s",
   "severity":"warning"}]})";

class MeshalertIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshalert_it_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/rules.json") << kRules;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // What a sidecar pushes to meshd: cumulative counters, stamped `at` (Unix ns).
  void Push(MeshdProcess& meshd, int64_t at, bool failing, bool slow) {
    ok_ += failing ? 80 : 100;
    errors_ += failing ? 20 : 0;
    const double total = ok_ + errors_;
    slow_ += slow ? 100 : 0;
    const std::string ts = " " + std::to_string(at / 1'000'000) + "\n";
    const std::string l = "service=\"payments\",direction=\"inbound\"";
    std::string text = "# TYPE mesh_requests_total counter\n";
    text += "mesh_requests_total{" + l + ",code=\"200\"} " + std::to_string(ok_) + ts;
    text += "mesh_requests_total{" + l + ",code=\"503\"} " + std::to_string(errors_) + ts;
    text += "# TYPE mesh_request_duration_seconds histogram\n";
    text += "mesh_request_duration_seconds_bucket{" + l + ",le=\"0.1\"} " + std::to_string(total - slow_) + ts;
    text += "mesh_request_duration_seconds_bucket{" + l + ",le=\"2\"} " + std::to_string(total) + ts;
    text += "mesh_request_duration_seconds_bucket{" + l + ",le=\"+Inf\"} " + std::to_string(total) + ts;
    text += "mesh_request_duration_seconds_sum{" + l + "} 1" + ts;
    text += "mesh_request_duration_seconds_count{" + l + "} " + std::to_string(total) + ts;
    HttpClientResponse r = meshd.Request("POST", "/v1/metrics?service=payments&instance=i1", text);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  RunResult Meshalert(std::vector<std::string> args) {
    args.insert(args.begin(), {MESHALERT_BIN, "--db", dir_ + "/mesh.db"});
    return RunProcess(args);
  }

  std::string dir_;
  double ok_ = 0, errors_ = 0, slow_ = 0;
};

TEST_F(MeshalertIntegration, TenCronRunsFirePendingThenCriticalThenResolve) {
  MeshdProcess meshd(dir_ + "/mesh.db");
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  // Twelve minutes ago: two healthy minutes, five failing ones, five healthy again.
  const int64_t t0 = SystemClock::Instance().NowNs() / kSecond * kSecond - 720 * kSecond;
  for (int64_t s = 0; s <= 720; s += 15) Push(meshd, t0 + s * kSecond, s > 120 && s <= 420, false);

  std::vector<int> codes;
  std::string out;
  for (int64_t minute = 2; minute <= 11; ++minute) {
    RunResult r = Meshalert({"check", "--rules", dir_ + "/rules.json", "--rule", "high_error_rate", "--at",
                             FormatUnixSeconds(t0 + minute * 60 * kSecond)});
    codes.push_back(r.exit_code);
    out += r.out;
    EXPECT_EQ(r.err, "") << minute;
  }
  // Firing from 4m; at 8m the window still holds one failing push (4 %): above the resolve
  // threshold of 3 %, so it resolves at 9m.
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 2, 2, 2, 2, 2, 0, 0, 0})) << out;
  EXPECT_NE(out.find("OK high_error_rate service=payments state=pending"), std::string::npos) << out;
  EXPECT_NE(out.find("CRITICAL high_error_rate service=payments state=firing"), std::string::npos) << out;

  RunResult history = Meshalert({"history", "--since", "1h", "-o", "json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_NE(history.out.find("\"event\":\"firing\""), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("\"event\":\"resolved\""), std::string::npos) << history.out;

  // The same store through meshd answers the same.
  RunResult remote = RunProcess({MESHALERT_BIN, "--server", meshd.url(), "list"});
  RunResult local = Meshalert({"list"});
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_EQ(remote.out, local.out);
}

TEST_F(MeshalertIntegration, ServerReadsSendTheReadToken) {
  const std::string token_file = dir_ + "/read.token";
  std::ofstream(token_file) << "r-5ecret\n";
  std::filesystem::permissions(token_file, std::filesystem::perms(0600));
  MeshdProcess meshd(dir_ + "/mesh.db", {"--read-token-file", token_file});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  for (const char* command : {"list", "history"}) {
    const RunResult refused = RunProcess({MESHALERT_BIN, "--server", meshd.url(), command});
    EXPECT_EQ(refused.exit_code, 1) << command << ": " << refused.err;
    EXPECT_NE(refused.err.find("answered 401"), std::string::npos) << refused.err;
    const RunResult allowed =
        RunProcess({MESHALERT_BIN, "--server", meshd.url(), "--token-file", token_file, command});
    EXPECT_EQ(allowed.exit_code, 0) << command << ": " << allowed.err;
  }
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

TEST_F(MeshalertIntegration, WatchEvaluatesInALoopAndStopsCleanlyOnSigterm) {
  MeshdProcess meshd(dir_ + "/mesh.db");
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const int64_t now = SystemClock::Instance().NowNs();
  for (int64_t s = 120; s >= 0; s -= 15) Push(meshd, now - s * kSecond, true, true);
  Subprocess watch({MESHALERT_BIN, "--db", dir_ + "/mesh.db", "watch", "--every", "1s", "--rules",
                    dir_ + "/rules.json"});
  ASSERT_TRUE(watch.WaitForOutput("high_latency service=payments", 20s)) << watch.err();
  ASSERT_TRUE(watch.WaitForOutput("high_error_rate service=payments state=pending", 20s)) << watch.out();
  // A second round a second later (reading output until it shows up, for at most 20 s).
  const auto rounds = [&] {
    size_t n = 0;
    const std::string out = watch.out();
    for (size_t at = out.find("high_latency"); at != std::string::npos; at = out.find("high_latency", at + 1)) ++n;
    return n;
  };
  for (int i = 0; i < 100 && rounds() < 2; ++i) watch.WaitForOutput("\n\n", 200ms);
  EXPECT_GE(rounds(), 2u) << watch.out();
  watch.Signal(SIGTERM);
  RunResult r = watch.Wait(20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(MeshalertIntegration, MeshdRetentionPrunesOldAlertHistory) {
  // Checked through meshd as of three hours ago: the events are older than the retention meshd
  // is restarted with.
  {
    MeshdProcess meshd(dir_ + "/mesh.db");
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    const int64_t t0 = SystemClock::Instance().NowNs() - 3 * 3600 * kSecond;
    for (int64_t s = 0; s <= 180; s += 15) Push(meshd, t0 + s * kSecond, true, false);
    for (int64_t at : {60, 120, 180}) {
      RunProcess({MESHALERT_BIN, "--server", meshd.url(), "check", "--rules", dir_ + "/rules.json", "--rule",
                  "high_error_rate", "--at", FormatUnixSeconds(t0 + at * kSecond)});
    }
    RunResult history = RunProcess({MESHALERT_BIN, "--server", meshd.url(), "history", "--since", "0"});
    EXPECT_NE(history.out.find("firing"), std::string::npos) << history.out << history.err;
    EXPECT_EQ(meshd.Stop().exit_code, 0);
  }
  MeshdProcess meshd(dir_ + "/mesh.db", {"--retention", "1h"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  bool pruned = false;
  for (int i = 0; i < 100 && !pruned; ++i) {
    const RunResult h = RunProcess({MESHALERT_BIN, "--server", meshd.url(), "history", "--since", "0", "-o", "json"});
    pruned = h.exit_code == 0 && h.out.empty();
    if (!pruned) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(pruned);
  // The alert's state is not history: it stays.
  EXPECT_NE(RunProcess({MESHALERT_BIN, "--server", meshd.url(), "list"}).out.find("firing"), std::string::npos);
}

TEST_F(MeshalertIntegration, ExitCodesForUsageErrorsAndHelp) {
  EXPECT_EQ(RunProcess({MESHALERT_BIN, "--help"}).exit_code, 0);
  EXPECT_EQ(RunProcess({MESHALERT_BIN, "check", "--help"}).exit_code, 0);
  EXPECT_EQ(RunProcess({MESHALERT_BIN, "--version"}).exit_code, 0);
  // A monitoring plugin's bad arguments are UNKNOWN; other commands' are usage errors.
  EXPECT_EQ(RunProcess({MESHALERT_BIN, "check", "--frobnicate"}).exit_code, 3);
  EXPECT_EQ(RunProcess({MESHALERT_BIN, "list", "--frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunProcess({MESHALERT_BIN}).exit_code, 2);
  RunResult no_store = Meshalert({"check", "--rules", dir_ + "/rules.json"});
  EXPECT_EQ(no_store.exit_code, 3);
  EXPECT_NE(no_store.err.find("meshalert: "), std::string::npos) << no_store.err;
  RunResult test = RunProcess({MESHALERT_BIN, "test", "--rules", MESH_SOURCE_DIR "/share/mesh/rules.example.json"});
  EXPECT_EQ(test.exit_code, 0) << test.err;
  EXPECT_NE(test.out.find("SUCCESS"), std::string::npos);
}

TEST_F(MeshalertIntegration, HumanOutputsNeverSendStoredControlsToTheTerminal) {
  using test_support::ExpectTerminalSafe;
  using test_support::kHostileText;
  const int64_t now = SystemClock::Instance().NowNs();
  {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_ + "/mesh.db"});
    ASSERT_TRUE(store.ok()) << store.status().message();
    CommittingAlertStore alerts(**store);
    StoredAlert a;
    a.rule = "rule" + kHostileText;
    a.service = "svc" + kHostileText;
    a.severity = "critical" + kHostileText;
    a.state.phase = AlertPhase::kFiring;
    a.state.fired_at_ns = now - 60 * kSecond;
    a.state.last_eval_ns = now;
    a.notify_error = "refused: " + kHostileText;
    AlertEvent e{0, now - 60 * kSecond, a.rule, a.service, "firing", a.severity, 1.0, "detail " + kHostileText};
    ASSERT_TRUE(alerts.Save({a}, {e}).ok());
    ASSERT_TRUE(alerts.AddSilence({0, a.rule, a.service, now, now + 3600 * kSecond, "why " + kHostileText, "me" + kHostileText})
                    .ok());
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"}, {"history", "--since", "1h"}, {"silence", "list"}}) {
    RunResult r = Meshalert(args);
    ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    ExpectTerminalSafe(r.out, args[0]);
  }
}

}  // namespace
}  // namespace mesh

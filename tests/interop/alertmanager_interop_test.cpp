// meshalert against Debian's real Alertmanager: a firing alert posted by `meshalert check`
// shows in Alertmanager's /api/v2/alerts and in `amtool alert query` with its labels and
// annotations; once it resolves, Alertmanager's own webhook announces it resolved with the
// endsAt meshalert sent.
#include <gtest/gtest.h>
#include <json/json.h>

#include <mutex>
#include <string>
#include <vector>

#include "alert_fixture.h"
#include "free_port.h"
#include "interop_support.h"
#include "mesh/base/time_format.h"
#include "mesh/http_server/http_server.h"
#include "subprocess.h"

namespace mesh {
namespace {

using interop::Get;
using interop::ParseJson;
using interop::PollUntil;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;
using namespace std::chrono_literals;

constexpr int64_t kSecond = 1'000'000'000;

constexpr char kRules[] = R"([{"name":"high_error_rate","signal":"error_rate","service":"*","window":"1m",
  "op":">","threshold":5,"for":"30s","severity":"critical","labels":{"team":"payments"},
  "annotations":{"summary":"{{service}} fails {{value}}% of requests"}}])";

// Records every webhook body Alertmanager posts.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    Result<std::unique_ptr<HttpServer>> s =
        HttpServer::Start({.listen = "127.0.0.1:0", .threads = 2}, [this](const HttpRequest& r) {
          std::lock_guard<std::mutex> lock(mu_);
          bodies_.push_back(r.body);
          return HttpResponse::Json(200, "{}");
        });
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (s.ok()) server_ = std::move(s).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  std::string Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const std::string& b : bodies_) all += b + "\n";
    return all;
  }
  // The alerts of every notification so far with this status.
  std::vector<Json::Value> Alerts(const std::string& status) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Json::Value> out;
    for (const std::string& b : bodies_) {
      const Json::Value notification = ParseJson(b);
      for (const Json::Value& a : notification["alerts"]) {
        if (a["status"].asString() == status) out.push_back(a);
      }
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::unique_ptr<HttpServer> server_;
};

class AlertmanagerServer {
 public:
  AlertmanagerServer(const interop::TempDir& dir, const std::string& webhook) {
    const std::string config =
        "route:\n"
        "  receiver: hook\n"
        "  group_by: ['alertname', 'service']\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: hook\n"
        "    webhook_configs:\n"
        "      - url: '" + webhook + "'\n"
        "        send_resolved: true\n";
    EXPECT_TRUE(interop::WriteFile(dir.File("alertmanager.yml"), config));
    // Port 0, read back from the log: no other suite can take the port between pick and bind.
    process_ = std::make_unique<Subprocess>(std::vector<std::string>{
        ALERTMANAGER_BIN, "--config.file=" + dir.File("alertmanager.yml"), "--storage.path=" + dir.File("am"),
        "--web.listen-address=127.0.0.1:0", "--cluster.listen-address=", "--log.level=info"});
  }
  ~AlertmanagerServer() {
    process_->Signal(SIGTERM);
    process_->Wait(20s);
  }
  // Reads the bound port from the log, then polls /-/ready; url() is empty until then.
  bool WaitReady(std::chrono::milliseconds timeout) {
    if (!process_->started()) return false;
    const int port = interop::ListeningPort(*process_, timeout);
    if (port == 0) return false;
    url_ = "http://127.0.0.1:" + std::to_string(port);
    return PollUntil(timeout, [&] { return Get(url_ + "/-/ready").status == 200; });
  }
  const std::string& url() const { return url_; }
  std::string err() { return process_->err(); }

 private:
  std::string url_;
  std::unique_ptr<Subprocess> process_;
};

class AlertmanagerInterop : public testing::AlertStoreTest {
 protected:
  // Sidecar pushes every 15 s over [from, to] (Unix ns) with this share of 5xx answers.
  void Traffic(int64_t from, int64_t to, double error_share) {
    for (int64_t t = from; t <= to; t += 15 * kSecond) {
      ok_ += 100 * (1 - error_share);
      errors_ += 100 * error_share;
      PushRequests("payments", t, ok_, errors_, ok_ + errors_);
    }
  }
  RunResult Check(int64_t at, const std::string& alertmanager) {
    return RunProcess({MESHALERT_BIN, "--db", dir_.File("mesh.db"), "check", "--rules", dir_.File("rules.json"),
                       "--at", FormatUnixSeconds(at), "--alertmanager", alertmanager, "--external-url",
                       "http://meshd.example:9000"});
  }
  double ok_ = 0, errors_ = 0;
};

TEST_F(AlertmanagerInterop, AFiringAlertReachesAlertmanagerAndItsResolutionCarriesEndsAt) {
  ASSERT_TRUE(interop::PeerInstalled(ALERTMANAGER_BIN, "prometheus-alertmanager"));
  ASSERT_TRUE(interop::PeerInstalled(AMTOOL_BIN, "amtool (prometheus-alertmanager)"));
  ASSERT_TRUE(interop::WriteFile(dir_.File("rules.json"), kRules));
  interop::TempDir am_dir;
  WebhookReceiver receiver;
  AlertmanagerServer am(am_dir, receiver.url());
  ASSERT_TRUE(am.WaitReady(30s)) << am.err();

  // Ten minutes ago payments failed 20 % of its requests for four minutes, then healed.
  const int64_t now = SystemClock::Instance().NowNs();
  const int64_t t0 = now - 600 * kSecond;
  Traffic(t0, t0 + 240 * kSecond, 0.2);
  Traffic(t0 + 255 * kSecond, now, 0.0);

  ASSERT_EQ(Check(t0 + 60 * kSecond, am.url()).exit_code, 0);  // pending
  RunResult firing = Check(t0 + 120 * kSecond, am.url());
  ASSERT_EQ(firing.exit_code, 2) << firing.out << firing.err;

  Json::Value alerts;
  ASSERT_TRUE(PollUntil(20s, [&] {
    alerts = ParseJson(Get(am.url() + "/api/v2/alerts").body);
    return alerts.isArray() && alerts.size() == 1;
  })) << interop::ToJson(alerts);
  const Json::Value& a = alerts[0];
  EXPECT_EQ(a["labels"]["alertname"].asString(), "high_error_rate");
  EXPECT_EQ(a["labels"]["service"].asString(), "payments");
  EXPECT_EQ(a["labels"]["severity"].asString(), "critical");
  EXPECT_EQ(a["labels"]["team"].asString(), "payments");
  EXPECT_EQ(a["annotations"]["summary"].asString(), "payments fails 20% of requests");
  EXPECT_EQ(a["status"]["state"].asString(), "active");
  EXPECT_EQ(a["startsAt"].asString().substr(0, 19), FormatRfc3339(t0 + 120 * kSecond).substr(0, 19));
  EXPECT_EQ(a["generatorURL"].asString(), "http://meshd.example:9000/dashboard");

  const RunResult query = RunProcess({AMTOOL_BIN, "--alertmanager.url=" + am.url(), "alert", "query"});
  EXPECT_EQ(query.exit_code, 0) << query.err;
  EXPECT_NE(query.out.find("high_error_rate"), std::string::npos) << query.out;

  ASSERT_TRUE(PollUntil(20s, [&] { return !receiver.Alerts("firing").empty(); }))
      << am.err() << receiver.Bodies();
  EXPECT_EQ(receiver.Alerts("firing")[0]["labels"]["service"].asString(), "payments");

  // Still failing a minute later: no new transition, so nothing new is sent.
  ASSERT_EQ(Check(t0 + 180 * kSecond, am.url()).exit_code, 2);
  // Healed: resolved, with endsAt the time of the check that saw it.
  const int64_t resolved_at = t0 + 300 * kSecond;
  RunResult resolved = Check(resolved_at, am.url());
  ASSERT_EQ(resolved.exit_code, 0) << resolved.out << resolved.err;
  EXPECT_NE(resolved.out.find("state=inactive"), std::string::npos) << resolved.out;

  ASSERT_TRUE(PollUntil(30s, [&] { return !receiver.Alerts("resolved").empty(); })) << am.err();
  const Json::Value done = receiver.Alerts("resolved")[0];
  EXPECT_EQ(done["labels"]["alertname"].asString(), "high_error_rate");
  EXPECT_EQ(done["endsAt"].asString().substr(0, 19), FormatRfc3339(resolved_at).substr(0, 19));
  ASSERT_TRUE(PollUntil(10s, [&] {
    const Json::Value active = ParseJson(Get(am.url() + "/api/v2/alerts?active=true").body);
    return active.isArray() && active.empty();
  }));
}

TEST_F(AlertmanagerInterop, ARefusedNotificationIsRetriedOnTheNextRun) {
  ASSERT_TRUE(interop::PeerInstalled(ALERTMANAGER_BIN, "prometheus-alertmanager"));
  ASSERT_TRUE(interop::WriteFile(dir_.File("rules.json"), kRules));
  const int64_t now = SystemClock::Instance().NowNs();
  const int64_t t0 = now - 300 * kSecond;
  Traffic(t0, now, 0.2);
  // Nothing listens here: the run reports the failure and keeps the notification owed. The port
  // stays held (bound, not listening) so that no other suite's server answers on it.
  test_support::PortHold hold(0);
  ASSERT_TRUE(hold.held());
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(hold.port());
  ASSERT_EQ(Check(t0 + 60 * kSecond, nowhere).exit_code, 0);
  RunResult failed = Check(t0 + 120 * kSecond, nowhere);
  EXPECT_EQ(failed.exit_code, 2);
  EXPECT_NE(failed.err.find("retried next run"), std::string::npos) << failed.err;

  interop::TempDir am_dir;
  WebhookReceiver receiver;
  AlertmanagerServer am(am_dir, receiver.url());
  ASSERT_TRUE(am.WaitReady(30s)) << am.err();
  ASSERT_EQ(Check(t0 + 180 * kSecond, am.url()).exit_code, 2);
  Json::Value alerts;
  ASSERT_TRUE(PollUntil(20s, [&] {
    alerts = ParseJson(Get(am.url() + "/api/v2/alerts").body);
    return alerts.isArray() && alerts.size() == 1;
  })) << interop::ToJson(alerts);
  EXPECT_EQ(alerts[0]["labels"]["service"].asString(), "payments");
}

}  // namespace
}  // namespace mesh

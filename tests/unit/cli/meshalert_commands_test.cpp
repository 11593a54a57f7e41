#include "mesh/cli/meshalert_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <json/value.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "alert_fixture.h"
#include "in_process_meshd.h"
#include "mesh/alerting/default_alert_rules.h"
#include "mesh/base/json_text.h"

namespace mesh {
namespace cli_meshalert_commands_test {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::kSecond;
using testing::kT0;

class FixedClock : public Clock {
 public:
  int64_t NowNs() const override { return now; }
  int64_t now = kT0;
};

// A command's io with captured stdout/stderr and a chosen environment.
struct Captured {
  Captured() {
    io.out = out = std::tmpfile();
    io.err = err = std::tmpfile();
    io.clock = &clock;
    io.getenv = [this](const char* name) -> const char* {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    };
  }
  ~Captured() {
    std::fclose(out);
    std::fclose(err);
  }
  static std::string Drain(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::rewind(f);
    (void)!ftruncate(fileno(f), 0);
    return s;
  }
  std::string Out() { return Drain(out); }
  std::string Err() { return Drain(err); }

  CommandIo io;
  FixedClock clock;
  std::map<std::string, std::string> env;
  std::FILE* out;
  std::FILE* err;
};

constexpr const char* kRules = R"({"rules":[
  {"name":"high_error_rate","signal":"error_rate","window":"1m","op":">","threshold":5,"for":"60s",
   "severity":"critical"},
  {"name":"slow","signal":"latency_p99","window":"1m","op":">","threshold":500,"severity":"warning"}]})";

class MeshalertCommandsTest : public testing::AlertStoreTest {
 protected:
  void SetUp() override {
    AlertStoreTest::SetUp();
    rules_ = dir_.File("rules.json");
    testing::WriteFile(rules_, kRules);
    c_.env["MESH_DB"] = dir_.File("mesh.db");
    c_.env["MESH_RULES"] = rules_;
  }

  // 10 % errors, all fast, pushed every 15 s over [from_s, to_s].
  void Failing(const std::string& service, int64_t from_s, int64_t to_s, double share = 0.1) {
    for (int64_t t = from_s; t <= to_s; t += 15) {
      ok_ += 100 * (1 - share);
      errors_ += 100 * share;
      PushRequests(service, kT0 + t * kSecond, ok_, errors_, ok_ + errors_);
    }
  }

  int CheckAt(int64_t at_s, CheckOptions o = {}) {
    o.at = FormatAt(at_s);
    return RunCheck(o, c_.io);
  }
  static std::string FormatAt(int64_t at_s) { return std::to_string(kT0 / kSecond + at_s); }

  Captured c_;
  std::string rules_;
  double ok_ = 0, errors_ = 0;
};

TEST_F(MeshalertCommandsTest, CronRunsOfCheckBehaveLikeADaemon) {
  Failing("payments", 0, 600);
  // Ten separate runs, one a minute: nothing lives between them but the store.
  std::vector<int> codes;
  for (int64_t minute = 1; minute <= 10; ++minute) {
    if (minute == 7) {  // payments heals at 6m30s
      ok_ += 1e6;
      PushRequests("payments", kT0 + 405 * kSecond, ok_, errors_, ok_ + errors_);
      for (int64_t t = 420; t <= 600; t += 15) {
        ok_ += 100;
        PushRequests("payments", kT0 + t * kSecond, ok_, errors_, ok_ + errors_);
      }
    }
    codes.push_back(CheckAt(minute * 60));
  }
  // pending at 1m, firing from 2m (for 60s), healed in the 7m window.
  EXPECT_EQ(codes, (std::vector<int>{0, 2, 2, 2, 2, 2, 0, 0, 0, 0}));
  const std::string out = c_.Out();
  EXPECT_THAT(out, HasSubstr("OK high_error_rate service=payments state=pending since=2025-11-25T13:01:00.000Z"));
  EXPECT_THAT(out, HasSubstr("CRITICAL high_error_rate service=payments state=firing since=2025-11-25T13:02:00.000Z "
                             "error_rate 10% > 5%"));
  AlertListOptions list;
  ASSERT_EQ(RunAlertList(list, c_.io), 0);
  EXPECT_THAT(c_.Out(), ::testing::ContainsRegex("high_error_rate +payments +inactive +critical .* file\n"));
  HistoryOptions history;
  history.since = "0";
  ASSERT_EQ(RunHistory(history, c_.io), 0);
  const std::string h = c_.Out();
  EXPECT_THAT(h, HasSubstr("pending"));
  EXPECT_THAT(h, HasSubstr("firing"));
  EXPECT_THAT(h, HasSubstr("resolved"));
}

TEST_F(MeshalertCommandsTest, ExitCodesFollowTheMonitoringPluginConvention) {
  CheckOptions only_errors;
  only_errors.rules = {"high_error_rate"};
  EXPECT_EQ(CheckAt(60, only_errors), 3) << "no data yet is UNKNOWN";
  Failing("payments", 0, 180);
  EXPECT_EQ(CheckAt(120, only_errors), 0);  // pending
  EXPECT_EQ(CheckAt(180, only_errors), 2);  // firing, critical
  CheckOptions slow;
  slow.rules = {"slow"};
  EXPECT_EQ(CheckAt(180, slow), 0);  // fast requests
}

TEST_F(MeshalertCommandsTest, JsonOutputIsOneObjectPerAlert) {
  Failing("payments", 0, 60);
  CheckOptions o;
  o.output = "json";
  CheckAt(60, o);
  const std::string out = c_.Out();
  const size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  Result<Json::Value> v = ParseJson(out.substr(0, nl));
  ASSERT_TRUE(v.ok()) << out;
  EXPECT_EQ((*v)["rule"].asString(), "high_error_rate");
  EXPECT_EQ((*v)["service"].asString(), "payments");
  EXPECT_EQ((*v)["state"].asString(), "pending");
  EXPECT_EQ((*v)["status"].asString(), "OK");
  EXPECT_DOUBLE_EQ((*v)["value"].asDouble(), 10);
}

TEST_F(MeshalertCommandsTest, BadInputIsUnknownWithAClearMessage) {
  CheckOptions o;
  o.rules = {"missing_rule"};
  EXPECT_EQ(CheckAt(60, o), 3);
  EXPECT_THAT(c_.Err(), HasSubstr("no rule named \"missing_rule\""));
  testing::WriteFile(rules_, R"([{"name":"x","signal":"error_rate","op":">","threshold":5,"window":"often"}])");
  EXPECT_EQ(CheckAt(60), 3);
  EXPECT_THAT(c_.Err(), HasSubstr("rule \"x\": field \"window\""));
  testing::WriteFile(rules_, kRules);
  CheckOptions bad_at;
  bad_at.at = "yesterday-ish";
  EXPECT_EQ(RunCheck(bad_at, c_.io), 3);
  EXPECT_THAT(c_.Err(), HasSubstr("--at"));
  CheckOptions bad_output;
  bad_output.output = "yaml";
  EXPECT_EQ(CheckAt(60, bad_output), 3);
  CheckOptions bad_url;
  bad_url.notify.alertmanager = "localhost:9093";
  EXPECT_EQ(CheckAt(60, bad_url), 3);
  EXPECT_THAT(c_.Err(), HasSubstr("invalid URL"));
  CheckOptions no_file;
  no_file.rules_file = dir_.File("absent.json");
  EXPECT_EQ(CheckAt(60, no_file), 3);
  EXPECT_THAT(c_.Err(), HasSubstr("cannot read rules file"));
}

TEST_F(MeshalertCommandsTest, RulesAreFoundInTheXdgConfigFolder) {
  c_.env.erase("MESH_RULES");
  c_.env["XDG_CONFIG_HOME"] = "/etc/xdg-test";
  EXPECT_EQ(ResolveRulesPath("", c_.io), "/etc/xdg-test/mesh/rules.json");
  c_.env.erase("XDG_CONFIG_HOME");
  c_.env["HOME"] = "/home/u";
  EXPECT_EQ(ResolveRulesPath("", c_.io), "/home/u/.config/mesh/rules.json");
  EXPECT_EQ(ResolveRulesPath("mine.json", c_.io), "mine.json");
}

TEST_F(MeshalertCommandsTest, WithoutARulesFileTheBuiltInRulesApply) {
  c_.env.erase("MESH_RULES");
  c_.env["HOME"] = dir_.File("home");  // a fresh account: no ~/.config/mesh/rules.json
  Failing("payments", 0, 180);
  CheckOptions o;
  o.rules = {"high_error_rate"};
  EXPECT_EQ(CheckAt(60, o), 0);  // pending: 10 % > 5 % for less than 1m
  EXPECT_EQ(CheckAt(120, o), 2) << c_.Err();
  EXPECT_THAT(c_.Out(), HasSubstr("CRITICAL high_error_rate service=payments state=firing"));
  EXPECT_EQ(c_.Err(), "");
  // Every built-in at once: nothing registered and no sidecar counters is OK for instance_down
  // and saturation, not UNKNOWN; the worst is high_error_rate's CRITICAL.
  EXPECT_EQ(CheckAt(180), 2);
  const std::string all = c_.Out();
  EXPECT_THAT(all, HasSubstr("OK high_latency_p99 service=payments"));
  EXPECT_THAT(all, HasSubstr("OK instance_down service=*"));
  EXPECT_THAT(all, HasSubstr("OK saturation service=*"));
}

TEST_F(MeshalertCommandsTest, ANamedRulesFileMustExistAndTheErrorNamesTheExample) {
  c_.env["MESH_RULES"] = dir_.File("absent.json");
  EXPECT_EQ(CheckAt(60), 3);
  const std::string err = c_.Err();
  EXPECT_THAT(err, HasSubstr("meshalert: cannot read rules file " + dir_.File("absent.json")));
  EXPECT_THAT(err, HasSubstr("copy " MESH_SHARE_DIR "/rules.example.json there"));
  EXPECT_THAT(err, HasSubstr("meshalert rules --defaults > " + dir_.File("absent.json")));
  c_.env.erase("MESH_RULES");
  c_.env["HOME"] = dir_.File("home");
  CheckOptions flag;
  flag.rules_file = dir_.File("absent.json");
  EXPECT_EQ(CheckAt(60, flag), 3);
  EXPECT_THAT(c_.Err(), HasSubstr("rules.example.json"));
  // A file there but unreadable is not "absent": it is an error even at the default location.
  std::filesystem::create_directories(dir_.File("home/.config/mesh"));
  testing::WriteFile(dir_.File("home/.config/mesh/rules.json"), "{\"rules\": [");
  EXPECT_EQ(CheckAt(60), 3);
  EXPECT_THAT(c_.Err(), HasSubstr("home/.config/mesh/rules.json: rules file:"));
}

TEST_F(MeshalertCommandsTest, RulesDefaultsPrintsAFileThatCheckTakesBack) {
  RulesOptions defaults;
  defaults.defaults = true;
  ASSERT_EQ(RunRules(defaults, c_.io), 0);
  const std::string printed = c_.Out();
  EXPECT_EQ(printed, std::string(DefaultAlertRulesJson()));
  testing::WriteFile(rules_, printed);
  ASSERT_EQ(RunRulesTest({}, c_.io), 0);
  EXPECT_THAT(c_.Out(), HasSubstr("SUCCESS: 4 rules found"));
  Failing("payments", 0, 120);
  CheckOptions o;
  o.rules = {"high_error_rate"};
  EXPECT_EQ(CheckAt(60, o), 0);
  EXPECT_EQ(CheckAt(120, o), 2) << c_.Err();
}

TEST_F(MeshalertCommandsTest, RulesPrintsTheRulesInForceAsOneSelfContainedFile) {
  ASSERT_EQ(RunRules({}, c_.io), 0);  // kRules: high_error_rate overridden, "slow" added
  const std::string printed = c_.Out();
  Result<Json::Value> doc = ParseJson(printed);
  ASSERT_TRUE(doc.ok()) << printed;
  EXPECT_FALSE((*doc)["defaults"].asBool());
  std::vector<std::string> names;
  for (const Json::Value& r : (*doc)["rules"]) names.push_back(r["name"].asString());
  EXPECT_THAT(names, ::testing::ElementsAre("high_error_rate", "high_latency_p99", "instance_down", "saturation", "slow"));
  EXPECT_FALSE((*doc)["rules"][0].isMember("resolve_threshold")) << "the file's rule, not the built-in";
  // Fed back, it is the same rules and nothing more.
  testing::WriteFile(rules_, printed);
  ASSERT_EQ(RunRules({}, c_.io), 0);
  EXPECT_EQ(c_.Out(), printed);
  RulesOptions broken;
  testing::WriteFile(rules_, "[{\"name\": 1}]");
  EXPECT_EQ(RunRules(broken, c_.io), 2);
  EXPECT_THAT(c_.Err(), HasSubstr("field \"name\""));
}

TEST_F(MeshalertCommandsTest, ListShowsEveryRuleInForceAndWhereItComesFrom) {
  AlertListOptions list;
  ASSERT_EQ(RunAlertList(list, c_.io), 0);
  std::string out = c_.Out();
  EXPECT_THAT(out, ::testing::ContainsRegex("high_latency_p99 +\\* +unevaluated +warning .* built-in"));
  EXPECT_THAT(out, ::testing::ContainsRegex("slow +\\* +unevaluated +warning .* file"));
  EXPECT_THAT(out, ::testing::ContainsRegex("high_error_rate +\\* +unevaluated +critical .* file"));
  Failing("payments", 0, 60);
  CheckAt(60);
  c_.Out();
  list.output = "json";
  ASSERT_EQ(RunAlertList(list, c_.io), 0);
  out = c_.Out();
  EXPECT_THAT(out, HasSubstr(R"("rule":"high_error_rate")"));
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\{[^}]*"rule":"high_error_rate"[^}]*"service":"payments"[^}]*"source":"file")"));
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\{"rule":"instance_down","service":"\*","severity":"critical","source":"built-in","state":"unevaluated"\})"));
  // A broken rules file does not hide the stored states: a warning, and no source.
  testing::WriteFile(rules_, "not json");
  list.output = "table";
  ASSERT_EQ(RunAlertList(list, c_.io), 0);
  EXPECT_THAT(c_.Out(), ::testing::ContainsRegex("high_error_rate +payments +pending"));
  EXPECT_THAT(c_.Err(), HasSubstr("meshalert: warning: " + rules_));
}

TEST_F(MeshalertCommandsTest, TestValidatesRulesLikePromtool) {
  RulesTestOptions o;
  EXPECT_EQ(RunRulesTest(o, c_.io), 0);
  EXPECT_THAT(c_.Out(), HasSubstr("SUCCESS: 2 rules found"));
  testing::WriteFile(rules_, R"([{"name":"x","signal":"error_rate","op":">","threshold":5,"severity":"page"}])");
  EXPECT_EQ(RunRulesTest(o, c_.io), 1);
  EXPECT_THAT(c_.Err(), HasSubstr("rule \"x\": field \"severity\""));
  o.rules_file = dir_.File("absent.json");
  EXPECT_EQ(RunRulesTest(o, c_.io), 1);
}

TEST_F(MeshalertCommandsTest, SilencesMuteACheckAndCanBeExpired) {
  Failing("payments", 0, 300);
  SilenceAddOptions add;
  add.rule = "high_*";
  add.service = "payments";
  add.duration = "2h";
  add.comment = "known incident";
  c_.clock.now = kT0 + 60 * kSecond;
  ASSERT_EQ(RunSilenceAdd(add, c_.io), 0);
  EXPECT_EQ(c_.Out(), "1\n");
  EXPECT_EQ(CheckAt(120), 0);
  EXPECT_EQ(CheckAt(180), 0);
  EXPECT_THAT(c_.Out(), HasSubstr("state=firing"));
  SilenceListOptions list;
  ASSERT_EQ(RunSilenceList(list, c_.io), 0);
  EXPECT_THAT(c_.Out(), HasSubstr("known incident"));
  SilenceExpireOptions expire;
  expire.id = 1;
  c_.clock.now = kT0 + 200 * kSecond;
  ASSERT_EQ(RunSilenceExpire(expire, c_.io), 0);
  EXPECT_EQ(CheckAt(240), 2);
  expire.id = 42;
  EXPECT_EQ(RunSilenceExpire(expire, c_.io), 1);
  EXPECT_THAT(c_.Err(), HasSubstr("no silence with id 42"));
  add.comment = "";
  EXPECT_EQ(RunSilenceAdd(add, c_.io), 2);
  add.comment = "x";
  add.duration = "forever";
  EXPECT_EQ(RunSilenceAdd(add, c_.io), 2);
}

TEST_F(MeshalertCommandsTest, ExecNotificationsRunOnTransitions) {
  Failing("payments", 0, 300);
  const std::string log = dir_.File("notified");
  CheckOptions o;
  o.rules = {"high_error_rate"};
  o.notify.exec = "echo \"$MESH_ALERT_STATUS $MESH_ALERT_SERVICE\" >> " + log;
  for (int64_t t = 60; t <= 240; t += 60) CheckAt(t, o);
  EXPECT_EQ(testing::ReadFile(log), "firing payments\n");
}

TEST_F(MeshalertCommandsTest, TheServerGivesTheSameAnswersAsTheFile) {
  Failing("payments", 0, 300);
  // Local run on a copy of the store, remote run on meshd serving the original. meshd's clock
  // stands just after the pushes, so that nothing it holds is old by its clock.
  testing::FakeClock meshd_clock(kT0 + 300 * kSecond);
  testing::InProcessMeshd meshd(dir_.File("mesh.db"), {}, meshd_clock);
  Captured remote;
  remote.env["MESH_RULES"] = rules_;
  remote.env["MESH_SERVER"] = meshd.url();
  CheckOptions o;
  o.at = FormatAt(120);
  EXPECT_EQ(RunCheck(o, remote.io), 0) << remote.Err();
  o.at = FormatAt(180);
  EXPECT_EQ(RunCheck(o, remote.io), 2) << remote.Err();
  const std::string remote_out = remote.Out();
  EXPECT_THAT(remote_out, HasSubstr("CRITICAL high_error_rate service=payments state=firing"));

  AlertListOptions list;
  ASSERT_EQ(RunAlertList(list, remote.io), 0) << remote.Err();
  const std::string remote_list = remote.Out();
  ASSERT_EQ(RunAlertList(list, c_.io), 0);
  EXPECT_EQ(remote_list, c_.Out());

  HistoryOptions history;
  history.since = "0";
  ASSERT_EQ(RunHistory(history, remote.io), 0) << remote.Err();
  const std::string remote_history = remote.Out();
  ASSERT_EQ(RunHistory(history, c_.io), 0);
  EXPECT_EQ(remote_history, c_.Out());
  EXPECT_THAT(remote_history, HasSubstr("firing"));

  // meshd ends silences on its own clock.
  remote.clock.now = meshd_clock.NowNs();
  SilenceAddOptions add;
  add.rule = "slow";
  add.comment = "remote";
  ASSERT_EQ(RunSilenceAdd(add, remote.io), 0) << remote.Err();
  EXPECT_EQ(remote.Out(), "1\n");
  SilenceListOptions slist;
  slist.output = "json";
  ASSERT_EQ(RunSilenceList(slist, remote.io), 0);
  EXPECT_THAT(remote.Out(), HasSubstr("\"comment\":\"remote\""));
  SilenceExpireOptions expire;
  expire.id = 1;
  ASSERT_EQ(RunSilenceExpire(expire, remote.io), 0) << remote.Err();
  expire.id = 7;
  EXPECT_EQ(RunSilenceExpire(expire, remote.io), 1);
  EXPECT_THAT(remote.Err(), HasSubstr("no silence with id 7"));

  CheckOptions exec;
  exec.notify.exec = "true";
  EXPECT_EQ(RunCheck(exec, remote.io), 3);
  EXPECT_THAT(remote.Err(), HasSubstr("--exec"));
}

TEST_F(MeshalertCommandsTest, MeshdAlertRoutesAnswerBadInputWith4xxJson) {
  testing::InProcessMeshd meshd(dir_.File("mesh.db"));
  const auto expect_error = [&](const std::string& method, const std::string& path, const std::string& body,
                                int status, const std::string& says) {
    const HttpClientResponse r = meshd.Request(method, path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    Result<Json::Value> v = ParseJson(r.body);
    ASSERT_TRUE(v.ok()) << r.body;
    EXPECT_THAT((*v)["error"].asString(), HasSubstr(says)) << r.body;
  };
  expect_error("POST", "/v1/alerts/check", "not json", 400, "");
  expect_error("POST", "/v1/alerts/check", "[]", 400, "expected a JSON object");
  expect_error("POST", "/v1/alerts/check",
               R"({"rules":[{"name":"x","signal":"error_rate","op":">","threshold":5,"for":"ever"}]})", 400,
               "rule \"x\": field \"for\"");
  expect_error("POST", "/v1/alerts/check", R"({"rules":[],"at":"tomorrow"})", 400, "at:");
  expect_error("POST", "/v1/alerts/check", R"({"rules":[],"alertmanager":"ftp://x"})", 400, "http(s) URL");
  expect_error("POST", "/v1/alerts/check", R"({"rules":[],"repeat_interval_ns":-1})", 400, "repeat_interval_ns");
  expect_error("GET", "/v1/alerts/history?since=never", "", 400, "since");
  expect_error("GET", "/v1/silences?at=later", "", 400, "at");
  expect_error("POST", "/v1/silences", "{}", 400, "required");
  expect_error("POST", "/v1/silences", R"({"rule":"r","service":"*","comment":"c","starts_at":"2026-01-02T00:00:00Z",
               "ends_at":"2026-01-01T00:00:00Z"})", 400, "ends_at must be after starts_at");
  expect_error("DELETE", "/v1/silences/abc", "", 400, "positive integer");
  expect_error("DELETE", "/v1/silences/99", "", 404, "no silence with id 99");
  // An empty rule set is a valid round with nothing to say.
  const HttpClientResponse ok = meshd.Request("POST", "/v1/alerts/check", R"({"rules":[]})");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_THAT(ok.body, HasSubstr("\"results\":[]"));
}

}  // namespace
}  // namespace mesh

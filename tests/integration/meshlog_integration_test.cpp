// Runs the real meshlog binary on temporary stores: what a user does from a shell.
#include <gtest/gtest.h>
#include <json/json.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "mesh/store/log_store.h"
#include "mesh/store/store.h"
#include "subprocess.h"
#include "terminal_safety.h"

namespace mesh {
namespace {

using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;
using namespace std::chrono_literals;

class MeshlogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshlog-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = dir_ + "/mesh.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> Cmd(std::vector<std::string> args) const {
    args.insert(args.begin(), {MESHLOG_BIN, "--db", db_});
    return args;
  }
  RunResult Meshlog(std::vector<std::string> args, const std::string& input = "") const {
    return RunProcess(Cmd(std::move(args)), input, {"NO_COLOR=1"});
  }
  RunResult Shell(const std::string& script) const {
    return RunProcess({"/bin/bash", "-c", "set -o pipefail; " + script},
               "", {"MESH_DB=" + db_, "MESHLOG=" MESHLOG_BIN});
  }
  int64_t CountRecords() const {
    RunResult r = Meshlog({"stats", "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Json::Value v;
    std::istringstream(r.out) >> v;
    return v["total"].asInt64();
  }
  static std::vector<Json::Value> JsonLines(const std::string& text) {
    std::vector<Json::Value> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      Json::Value v;
      std::istringstream(line) >> v;
      out.push_back(v);
    }
    return out;
  }

  std::string dir_;
  std::string db_;
};

TEST_F(MeshlogTest, IngestThenTailThroughJqPreservesEveryField) {
  const std::string input =
      R"({"timestamp":"2026-11-25T10:00:00.123456789Z","level":"warn","service":"api","message":"slow \"quoted\" query","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","user":{"id":7,"tags":["a","b"]},"latency_ms":0.1,"big":18446744073709551617,"ok":true,"none":null})"
      "\n"
      R"({"ts":1795600801,"msg":"second","severity":"ERROR","unicode":"héllo ✓"})"
      "\n";
  RunResult ingest = Meshlog({"ingest", "--service", "fallback"}, input);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_NE(ingest.err.find("ingested 2 records"), std::string::npos) << ingest.err;

  RunResult jq = Shell("$MESHLOG tail -n 10 | jq -c .");
  ASSERT_EQ(jq.exit_code, 0) << jq.err;
  std::vector<Json::Value> lines = JsonLines(jq.out);
  ASSERT_EQ(lines.size(), 2u) << jq.out;
  const Json::Value& first = lines[0];
  EXPECT_EQ(first["timestamp"].asString(), "2026-11-25T10:00:00.123456789Z");
  EXPECT_EQ(first["level"].asString(), "WARN");
  EXPECT_EQ(first["service"].asString(), "api");
  EXPECT_EQ(first["message"].asString(), "slow \"quoted\" query");
  EXPECT_EQ(first["trace_id"].asString(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(first["span_id"].asString(), "00f067aa0ba902b7");
  EXPECT_EQ(first["user"]["id"].asInt(), 7);
  EXPECT_EQ(first["user"]["tags"][1].asString(), "b");
  EXPECT_DOUBLE_EQ(first["latency_ms"].asDouble(), 0.1);
  EXPECT_TRUE(first["ok"].asBool());
  EXPECT_TRUE(first.isMember("none"));
  const Json::Value& second = lines[1];
  EXPECT_EQ(second["timestamp"].asString(), "2026-11-25T10:00:01.000Z");
  EXPECT_EQ(second["level"].asString(), "ERROR");
  EXPECT_EQ(second["service"].asString(), "fallback");
  EXPECT_EQ(second["message"].asString(), "second");
  EXPECT_EQ(second["unicode"].asString(), "héllo ✓");

  // The big integer keeps every digit (jq itself would round it, so read our own output).
  RunResult raw = Meshlog({"tail", "-n", "1", "--service", "api"});
  EXPECT_NE(raw.out.find("\"big\":18446744073709551617"), std::string::npos) << raw.out;

  // Re-ingesting our own output stores the same records again.
  RunResult again = Meshlog({"ingest", "--service", "x"}, raw.out);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  RunResult both = Meshlog({"tail", "--service", "api"});
  std::vector<Json::Value> copies = JsonLines(both.out);
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[0], copies[1]);
}

// `journalctl -o json | meshlog ingest -f journal`, with records written as journald writes them
// (every value a string, a non-UTF-8 MESSAGE as an array of byte values): level, time, service
// and fields; without --service each record names its own.
TEST_F(MeshlogTest, IngestJournalJsonKeepsLevelTimeServiceAndFields) {
  const std::string input =
      R"({"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795600800123456","__MONOTONIC_TIMESTAMP":"99",)"
      R"("_BOOT_ID":"b1","PRIORITY":"3","SYSLOG_IDENTIFIER":"sshd","_SYSTEMD_UNIT":"ssh.service","_PID":"812",)"
      R"("MESSAGE":"Connection closed by 10.0.0.9"})"
      "\n"
      R"({"__REALTIME_TIMESTAMP":"1795600801000000","PRIORITY":"4","_SYSTEMD_UNIT":"cron.service",)"
      R"("MESSAGE":[98,97,100,32,255]})"
      "\n"
      R"({"__REALTIME_TIMESTAMP":"1795600802000000","PRIORITY":"x","SYSLOG_IDENTIFIER":"kernel"})"
      "\n";
  RunResult ingest = Meshlog({"ingest", "-f", "journal"}, input);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  std::vector<Json::Value> lines = JsonLines(Meshlog({"tail", "-n", "10", "-o", "json"}).out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["timestamp"].asString(), "2026-11-25T10:00:00.123456Z");
  EXPECT_EQ(lines[0]["level"].asString(), "ERROR");
  EXPECT_EQ(lines[0]["service"].asString(), "sshd");
  EXPECT_EQ(lines[0]["message"].asString(), "Connection closed by 10.0.0.9");
  EXPECT_EQ(lines[0]["_PID"].asString(), "812");
  EXPECT_FALSE(lines[0].isMember("__CURSOR"));
  EXPECT_EQ(lines[1]["level"].asString(), "WARN");
  EXPECT_EQ(lines[1]["service"].asString(), "cron.service");
  EXPECT_EQ(lines[1]["message"].asString(), "bad \xEF\xBF\xBD");
  EXPECT_EQ(lines[2]["level"].asString(), "INFO");
  EXPECT_EQ(lines[2]["message"].asString(), "");
  EXPECT_EQ(lines[2]["PRIORITY"].asString(), "x");
  // The default -f auto detects the records; --service then names every one.
  ASSERT_EQ(Meshlog({"ingest", "--service", "host"}, input).exit_code, 0);
  EXPECT_EQ(JsonLines(Meshlog({"tail", "--service", "host", "-o", "json"}).out).size(), 3u);
}

TEST_F(MeshlogTest, FollowSeesRecordsWrittenByAnotherProcess) {
  ASSERT_EQ(Meshlog({"write", "--service", "api", "before"}).exit_code, 0);
  Subprocess follow(Cmd({"tail", "-f", "--poll", "50", "-o", "json", "--service", "api"}));
  ASSERT_TRUE(follow.started());
  ASSERT_TRUE(follow.WaitForOutput("before", 10s)) << follow.out();
  ASSERT_EQ(Meshlog({"write", "--service", "other", "not for us"}).exit_code, 0);
  ASSERT_EQ(Meshlog({"write", "--service", "api", "--level", "error", "after"}).exit_code, 0);
  ASSERT_TRUE(follow.WaitForOutput("after", 10s)) << follow.out();
  follow.Signal(SIGINT);
  RunResult r = follow.Wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("not for us"), std::string::npos);
  EXPECT_EQ(JsonLines(r.out).size(), 2u) << r.out;
}

TEST_F(MeshlogTest, ConcurrentIngestProcessesLoseNothing) {
  constexpr int kProcesses = 4;
  constexpr int kLines = 20000;
  std::vector<std::unique_ptr<Subprocess>> procs;
  for (int p = 0; p < kProcesses; ++p) {
    procs.push_back(std::make_unique<Subprocess>(
        Cmd({"ingest", "--service", "svc" + std::to_string(p), "--format", "logfmt"})));
  }
  std::vector<std::thread> writers;
  for (int p = 0; p < kProcesses; ++p) {
    writers.emplace_back([&, p] {
      std::string chunk;
      for (int i = 0; i < kLines; ++i) {
        chunk += "level=info msg=\"line " + std::to_string(i) + "\" worker=" + std::to_string(p) + "\n";
      }
      procs[p]->Write(chunk);
      procs[p]->CloseStdin();
    });
  }
  for (auto& w : writers) w.join();
  for (auto& p : procs) {
    RunResult r = p->Wait(120s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(CountRecords(), kProcesses * kLines);
  RunResult one = Meshlog({"query", "--count", "--service", "svc2", "line"});
  EXPECT_EQ(one.out, std::to_string(kLines) + "\n") << one.err;
}

TEST_F(MeshlogTest, SigtermDuringIngestFlushesWhatWasRead) {
  Subprocess ingest(Cmd({"ingest", "--service", "app", "--format", "text", "--tee"}));
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += "event " + std::to_string(i) + "\n";
  ingest.Write(lines);
  ASSERT_TRUE(ingest.WaitForOutput("event 499\n", 10s));  // --tee shows it was read
  ingest.Signal(SIGTERM);
  RunResult r = ingest.Wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountRecords(), 500);
}

TEST_F(MeshlogTest, HeadEndsTailQuietly) {
  std::string input;
  for (int i = 0; i < 5000; ++i) input += "{\"message\":\"m" + std::to_string(i) + "\"}\n";
  ASSERT_EQ(Meshlog({"ingest", "--service", "s"}, input).exit_code, 0);
  RunResult r = Shell("$MESHLOG tail -n 5000 | head -1; echo \"status=${PIPESTATUS[0]}\"");
  EXPECT_NE(r.out.find("status=0"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(MeshlogTest, QueryFindsWordsPhrasesAndPrefixes) {
  ASSERT_EQ(Meshlog({"write", "-s", "db", "connection reset by peer"}).exit_code, 0);
  ASSERT_EQ(Meshlog({"write", "-s", "db", "peer connection established"}).exit_code, 0);
  ASSERT_EQ(Meshlog({"write", "-s", "web", "request timeout"}).exit_code, 0);
  EXPECT_EQ(Meshlog({"query", "--count", "connection"}).out, "2\n");
  EXPECT_EQ(Meshlog({"query", "--count", "\"connection reset\""}).out, "1\n");
  EXPECT_EQ(Meshlog({"query", "--count", "time*"}).out, "1\n");
  RunResult newest = Meshlog({"query", "-o", "raw", "connection"});
  EXPECT_EQ(newest.out, "peer connection established\nconnection reset by peer\n");
  RunResult oldest = Meshlog({"query", "-o", "raw", "--reverse", "-n", "1", "connection"});
  EXPECT_EQ(oldest.out, "connection reset by peer\n");
  RunResult bad = Meshlog({"query", "\"unclosed"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("invalid search query"), std::string::npos) << bad.err;
}

TEST_F(MeshlogTest, EveryTailAndQueryFilterUsesAnIndex) {
  std::string input;
  for (int i = 0; i < 2000; ++i) {
    input += "{\"service\":\"s" + std::to_string(i % 7) + "\",\"message\":\"word" +
             std::to_string(i % 13) + "\"}\n";
  }
  ASSERT_EQ(Meshlog({"ingest", "--service", "s"}, input).exit_code, 0);
  auto store = Store::Open({.path = db_, .create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status().message();
  LogFilter none;
  LogFilter by_level;
  by_level.min_level = LogLevel::kWarn;
  LogFilter by_time;
  by_time.since_ns = 1;
  by_time.until_ns = 2;
  LogFilter by_trace;
  by_trace.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  LogFilter by_services;
  by_services.services = {"s1", "s2"};
  LogFilter by_grep;
  by_grep.grep = "word";
  const std::vector<std::pair<std::string, SqlQuery>> queries = {
      {"tail", BuildTailQuery(none, "", 100)},
      {"tail --service", BuildTailQuery(none, "s1", 100)},
      {"tail --level", BuildTailQuery(by_level, "", 100)},
      {"tail --since --until", BuildTailQuery(by_time, "", 100)},
      {"tail --trace", BuildTailQuery(by_trace, "", 100)},
      {"tail --grep", BuildTailQuery(by_grep, "s1", 100)},
      {"tail --follow", BuildAfterQuery(10, by_services, 100)},
      {"query", BuildSearchQuery("logs_fts", "word1", none, 100, false)},
      {"query --service", BuildSearchQuery("logs_fts", "word1", by_services, 100, false)},
      {"query --count", BuildCountQuery("logs_fts", "word1", by_level)},
      {"stats --since", BuildStatsQuery(by_time)},
  };
  for (const auto& [name, query] : queries) {
    auto plan = (*store)->ExplainQueryPlan(query);
    ASSERT_TRUE(plan.ok()) << name << ": " << plan.status().message();
    std::string joined;
    for (const std::string& step : *plan) joined += step + "; ";
    bool uses_index = false;
    for (const std::string& step : *plan) {
      EXPECT_NE(step, "SCAN logs") << name << " scans the whole table: " << joined;
      uses_index = uses_index || step.find("INDEX") != std::string::npos ||
                   step.find("PRIMARY KEY") != std::string::npos ||
                   step.find("VIRTUAL TABLE") != std::string::npos;
    }
    EXPECT_TRUE(uses_index) << name << ": " << joined;
  }
}

TEST_F(MeshlogTest, UsageErrorsExitTwoWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {"tail", "--level", "loud"},
      {"tail", "--since", "5 minutes"},
      {"tail", "--trace", "4BF92F3577B34DA6A3CE929D0E0E4736"},
      {"write", "--trace", "00000000000000000000000000000000", "m"},
      {"write", "--span", "xyz", "m"},
      {"write", "m", "novalue"},
      {"ingest", "--service", "a", "--format", "xml"},
      {"tail", "--output", "yaml"},
      {"stats", "--output", "csv"},
      {"tail", "--no-such-flag"},
      {},
  };
  ASSERT_EQ(Meshlog({"write", "seed"}).exit_code, 0);
  for (const auto& args : cases) {
    RunResult r = Meshlog(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << r.err;
    EXPECT_EQ(r.err.rfind("meshlog: ", 0), 0u) << joined << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << r.err;
  }
  EXPECT_EQ(CountRecords(), 1);
}

TEST_F(MeshlogTest, BadStoresFailClearlyAndStayUntouched) {
  // Not a SQLite file.
  const std::string text_file = dir_ + "/notes.txt";
  std::ofstream(text_file) << "just some notes\n";
  RunResult r = RunProcess({MESHLOG_BIN, "--db", text_file, "write", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a mesh database"), std::string::npos) << r.err;
  std::ifstream in(text_file);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "just some notes\n");

  // A folder that cannot be created (a file is in the way).
  r = RunProcess({MESHLOG_BIN, "--db", text_file + "/sub/mesh.db", "write", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot create directory"), std::string::npos) << r.err;

  // A store made by a newer mesh is refused, and what it holds stays.
  ASSERT_EQ(Meshlog({"write", "keep me"}).exit_code, 0);
  RunResult bump = RunProcess({"/usr/bin/sqlite3", db_, "UPDATE schema_version SET version = 99"});
  ASSERT_EQ(bump.exit_code, 0) << bump.err;
  r = Meshlog({"write", "new"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("newer than this build supports"), std::string::npos) << r.err;
  RunResult rows = RunProcess({"/usr/bin/sqlite3", db_, "SELECT message FROM logs"});
  EXPECT_EQ(rows.out, "keep me\n");

  // Reading a store that does not exist does not create one.
  r = RunProcess({MESHLOG_BIN, "--db", dir_ + "/missing.db", "tail"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/missing.db"));
}

TEST_F(MeshlogTest, HostileLinesAreStoredNotDropped) {
  std::string input = "{\"message\":\"before\"}\n";
  input += std::string(10 << 20, 'x') + "\n";              // a 10 MiB line
  input += std::string("bad \xff\xfe utf8 and NUL \0 here\n", 27);
  input += "{\"message\":\"after\"}\n";
  RunResult r = Meshlog({"ingest", "--service", "s"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 truncated"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 with invalid UTF-8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 unparsed"), std::string::npos) << r.err;
  EXPECT_EQ(CountRecords(), 4);
  std::vector<Json::Value> lines = JsonLines(Meshlog({"tail", "-o", "json"}).out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["message"].asString(), "before");
  EXPECT_EQ(lines[1]["message"].asString().size(), 1u << 20);
  EXPECT_EQ(lines[1]["truncated_bytes"].asInt64(), (10 << 20) - (1 << 20));
  EXPECT_EQ(lines[2]["message"].asString(), "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8 and NUL \xEF\xBF\xBD here");
  EXPECT_TRUE(lines[2].isMember("parse_error"));
  EXPECT_EQ(lines[3]["message"].asString(), "after");
}

TEST_F(MeshlogTest, StatsCountsPerServiceAndLevel) {
  ASSERT_EQ(Meshlog({"write", "-s", "api", "-l", "error", "e1"}).exit_code, 0);
  ASSERT_EQ(Meshlog({"write", "-s", "api", "-l", "error", "e2"}).exit_code, 0);
  ASSERT_EQ(Meshlog({"write", "-s", "web", "-l", "debug", "d1"}).exit_code, 0);
  RunResult table = Meshlog({"stats"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("SERVICE"), std::string::npos);
  Json::Value v;
  std::istringstream(Meshlog({"stats", "-o", "json"}).out) >> v;
  EXPECT_EQ(v["total"].asInt(), 3);
  EXPECT_EQ(v["services"][0]["service"].asString(), "api");
  EXPECT_EQ(v["services"][0]["ERROR"].asInt(), 2);
  EXPECT_EQ(v["services"][1]["DEBUG"].asInt(), 1);
  RunResult warn = Meshlog({"tail", "--level", "warn", "-o", "raw"});
  EXPECT_EQ(warn.out, "e1\ne2\n");
}

TEST_F(MeshlogTest, HumanFormatsNeverSendStoredControlsToTheTerminal) {
  using test_support::ExpectTerminalSafe;
  using test_support::kHostileText;
  ASSERT_EQ(Meshlog({"write", "-s", "svc" + kHostileText, "-l", "error", kHostileText, "k" + kHostileText + "=" + kHostileText})
                .exit_code,
            0);
  for (const char* format : {"pretty", "logfmt"}) {
    RunResult r = Meshlog({"tail", "-o", format});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ExpectTerminalSafe(r.out, format);
  }
  RunResult stats = Meshlog({"stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  ExpectTerminalSafe(stats.out, "stats");
  // Machine formats keep the data: JSON escapes it, raw into a pipe is the message as stored.
  RunResult json = Meshlog({"tail", "-o", "json"});
  EXPECT_EQ(json.out.find('\x1b'), std::string::npos) << json.out;
  ASSERT_EQ(JsonLines(json.out).size(), 1u);
  EXPECT_EQ(JsonLines(json.out)[0]["message"].asString(), kHostileText);
  EXPECT_EQ(Meshlog({"tail", "-o", "raw"}).out, kHostileText + "\n");
  // logfmt reads back: meshlog's own logfmt ingested again gives the same message.
  RunResult logfmt = Meshlog({"tail", "-o", "logfmt"});
  RunResult again = RunProcess({MESHLOG_BIN, "--db", dir_ + "/again.db", "ingest", "-s", "x", "-f", "logfmt"}, logfmt.out);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  RunResult back = RunProcess({MESHLOG_BIN, "--db", dir_ + "/again.db", "tail", "-o", "json"});
  ASSERT_EQ(JsonLines(back.out).size(), 1u) << back.out;
  EXPECT_EQ(JsonLines(back.out)[0]["message"].asString(), kHostileText);
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace {

// A text log in many formats, as a user's files are: `meshlog tail --level error` must find
// exactly its error lines, and --since/--until must select by the lines' own times.
TEST_F(MeshlogTest, TextLogsAreStoredWithTheirOwnTimesAndLevels) {
  const std::string file = dir_ + "/mixed.log";
  std::ofstream(file)
      << "Dec  7 08:00:01 web1 sshd[24200]: Accepted publickey for root\n"
         "<11>Dec  7 08:10:00 web1 app: E-syslog disk failing\n"
         "[Mon Dec 07 08:20:00 2026] [error] E-apache child workerEnv in error state 6\n"
         "2026/12/07 08:30:00 [warn] 7#7: conflicting server name\n"
         "2026-12-07 08:40:00,123 ERROR [main] com.x.Foo - E-log4j request failed\n"
         "java.lang.IllegalStateException: boom\n"
         "\tat com.x.Foo.bar(Foo.java:10)\n"
         "\t... 3 more\n"
         "E1207 08:50:00.000001 12 server.go:42] E-glog connection refused\n"
         "I1207 09:10:00.000001 12 server.go:43] recovered\n"
         "2026-12-07 09:20:00,000 - worker - ERROR - E-python job failed\n"
         "Traceback (most recent call last):\n"
         "  File \"job.py\", line 3, in <module>\n"
         "ValueError: bad input\n"
         "2026-12-07T09:30:00Z INFO done\n"
         "a line in no format at all\n";
  // Year-less lines take the file's year: its modification time is 2026-12-07T12:00:00Z.
  const struct timespec mtime[2] = {{1'796'644'800, 0}, {1'796'644'800, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, file.c_str(), mtime, 0), 0);

  RunResult ingest = Shell("\"$MESHLOG\" ingest -s app --tz UTC < " + file);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_NE(ingest.err.find("ingested 10 records"), std::string::npos) << ingest.err;
  EXPECT_NE(ingest.err.find("6 stack-trace lines joined"), std::string::npos) << ingest.err;

  std::vector<Json::Value> errors = JsonLines(Meshlog({"tail", "--level", "error", "-n", "100", "-o", "json"}).out);
  std::vector<std::string> tags;
  for (const Json::Value& e : errors) tags.push_back(e["message"].asString().substr(0, e["message"].asString().find(' ')));
  EXPECT_EQ(tags, (std::vector<std::string>{"E-syslog", "E-apache", "E-log4j", "E-glog", "E-python"}));
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0]["timestamp"].asString(), "2026-12-07T08:10:00.000Z");
  EXPECT_EQ(errors[2]["message"].asString(),
            "E-log4j request failed\njava.lang.IllegalStateException: boom\n"
            "\tat com.x.Foo.bar(Foo.java:10)\n\t... 3 more");
  EXPECT_EQ(errors[2]["logger"].asString(), "com.x.Foo");
  EXPECT_EQ(errors[2]["thread"].asString(), "main");
  EXPECT_NE(errors[4]["message"].asString().find("ValueError: bad input"), std::string::npos);

  std::vector<Json::Value> window = JsonLines(
      Meshlog({"tail", "--since", "2026-12-07T08:30:00Z", "--until", "2026-12-07T09:00:00Z", "-n",
               "100", "-o", "json"}).out);
  std::vector<std::string> times;
  for (const Json::Value& w : window) times.push_back(w["timestamp"].asString());
  EXPECT_EQ(times, (std::vector<std::string>{"2026-12-07T08:30:00.000Z", "2026-12-07T08:40:00.123Z",
                                             "2026-12-07T08:50:00.000001Z"}));
}

TEST_F(MeshlogTest, ExplainShowsEachLinesFormatSafelyAndStoresNothing) {
  const std::string input =
      "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user \x1b]0;pwned\x07 from 1.2.3.4\n"
      "\tat com.x.Foo.bar(Foo.java:10)\n"
      "plain words\n";
  RunResult r = Meshlog({"ingest", "--explain", "--tz", "UTC", "--year", "2020"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("line 1: syslog; time 2020-12-10T06:55:46.000Z; level INFO; fields "
                       "{\"host\":\"LabSZ\",\"program\":\"sshd\",\"pid\":24200}"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("line 2: Java stack trace, joined to the record of line 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("line 3: no format, kept as text; time of ingest"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("file format: syslog"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "an escape reached the terminal";
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(MeshlogTest, IngestFormatFlagsRefuseWhatTheyCannotUse) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"ingest", "-s", "a", "--format-name", "klingon"},
           {"ingest", "-s", "a", "-f", "json", "--format-name", "syslog"},
           {"ingest", "-s", "a", "--tz", "Mars/Olympus"},
           {"ingest", "-s", "a", "--year", "10000"},
       }) {
    RunResult r = Meshlog(args, "x\n");
    EXPECT_EQ(r.exit_code, 2) << args[3] << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(db_));
}

// `tail -f app.log | meshlog ingest`: a record waiting for a stack trace that does not come is
// stored once the pipe has been quiet for --idle-flush, not when the pipe closes.
TEST_F(MeshlogTest, QuietPipeStoresTheRecordHeldForItsStackTrace) {
  Subprocess ingest(Cmd({"ingest", "-s", "app", "-f", "text", "--idle-flush", "100"}));
  ingest.Write("2026-12-07T08:00:00Z ERROR failed\n\tat com.x.Foo.bar(Foo.java:10)\n");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    out = Meshlog({"tail", "-o", "raw"}).out;
    if (!out.empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(out, "failed\n\tat com.x.Foo.bar(Foo.java:10)\n");
  ingest.CloseStdin();
  EXPECT_EQ(ingest.Wait(10s).exit_code, 0);
  EXPECT_EQ(CountRecords(), 1);
}

}  // namespace
}  // namespace mesh

// Runs the real meshtrace binary on temporary stores, and against a real meshd (--server).
#include <gtest/gtest.h>
#include <json/json.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "meshd_fixture.h"
#include "subprocess.h"
#include "terminal_safety.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::RunResult;

// Three services: web calls api, api calls db, which fails; all within the last minute.
std::string SampleJsonLines(int64_t now_ns) {
  const int64_t t = now_ns - 30'000'000'000;
  std::ostringstream out;
  const auto line = [&](const char* id, const char* parent, const char* service, const char* name,
                        int64_t start_ms, int64_t duration_ms, const char* status) {
    out << "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"" << id << "\""
        << (*parent ? std::string(",\"parent_span_id\":\"") + parent + "\"" : std::string())
        << ",\"service\":\"" << service << "\",\"name\":\"" << name
        << "\",\"kind\":\"SERVER\",\"start_ns\":" << t + start_ms * 1'000'000
        << ",\"duration_ns\":" << duration_ms * 1'000'000 << ",\"status\":\"" << status
        << "\",\"attributes\":{\"http.status_code\":200,\"ratio\":0.5,\"ok\":true}}\n";
  };
  line("00f067aa0ba902b7", "", "web", "GET /checkout", 0, 300, "UNSET");
  line("00f067aa0ba902b8", "00f067aa0ba902b7", "api", "GET /cart", 10, 200, "UNSET");
  line("00f067aa0ba902b9", "00f067aa0ba902b8", "db", "SELECT cart", 20, 150, "ERROR");
  return out.str();
}

class MeshtraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshtrace-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = dir_ + "/mesh.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  RunResult Meshtrace(std::vector<std::string> args, const std::string& input = "",
                      const std::string& db = "") const {
    args.insert(args.begin(), {MESHTRACE_BIN, "--db", db.empty() ? db_ : db});
    return RunProcess(args, input, {"NO_COLOR=1"});
  }
  RunResult Remote(const std::string& url, std::vector<std::string> args) const {
    args.insert(args.begin(), {MESHTRACE_BIN, "--server", url});
    return RunProcess(args, "", {"NO_COLOR=1"});
  }
  std::string WriteFile(const std::string& name, const std::string& content) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static Json::Value ParseJsonText(const std::string& text) {
    Json::Value v;
    std::istringstream(text) >> v;
    return v;
  }
  void ImportSample() {
    RunResult r = Meshtrace({"import", WriteFile("sample.jsonl", SampleJsonLines(NowNs()))});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out, "imported 3 spans (jsonl), 3 new\n");
  }

  std::string dir_;
  std::string db_;
};

TEST_F(MeshtraceTest, UsageErrorsExitTwoWithOneLine) {
  // CLI11 alone exits 106 and up on these; the CLIs' convention is 2 and one line naming the tool.
  const std::vector<std::vector<std::string>> cases = {
      {"list", "--no-such-flag"}, {"show"}, {"frobnicate"}, {}};
  for (const auto& args : cases) {
    RunResult r = Meshtrace(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << r.err;
    EXPECT_EQ(r.err.rfind("meshtrace: ", 0), 0u) << joined << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << r.err;
  }
  EXPECT_EQ(Meshtrace({"--help"}).exit_code, 0);
}

TEST_F(MeshtraceTest, ExecNestedThreeLevelsDeepYieldsOneTraceAndTheCommandsStatus) {
  RunResult r = Meshtrace({"exec", "--service", "outer", "--attr", "job=nightly", "--", MESHTRACE_BIN,
                           "--db", db_, "exec", "--service", "middle", "--", MESHTRACE_BIN, "--db",
                           db_, "exec", "--service", "inner", "--", "/bin/sh", "-c",
                           "test -n \"$TRACEPARENT\" && exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  RunResult list = Meshtrace({"list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const Json::Value trace = ParseJsonText(list.out);
  EXPECT_EQ(trace["span_count"].asInt(), 3) << list.out;
  EXPECT_EQ(trace["root_service"].asString(), "outer");
  EXPECT_TRUE(trace["error"].asBool());
  EXPECT_EQ(list.out.find('\n'), list.out.size() - 1) << "one trace only: " << list.out;

  RunResult show = Meshtrace({"show", trace["trace_id"].asString(), "-o", "json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const Json::Value spans = ParseJsonText(show.out)["spans"];
  ASSERT_EQ(spans.size(), 3u);
  std::map<std::string, Json::Value> by_service;
  for (const Json::Value& s : spans) by_service[s["service"].asString()] = s;
  EXPECT_FALSE(by_service["outer"].isMember("parent_span_id") &&
               !by_service["outer"]["parent_span_id"].asString().empty());
  EXPECT_EQ(by_service["middle"]["parent_span_id"], by_service["outer"]["span_id"]);
  EXPECT_EQ(by_service["inner"]["parent_span_id"], by_service["middle"]["span_id"]);
  EXPECT_EQ(by_service["inner"]["status"].asString(), "ERROR");
  EXPECT_EQ(by_service["inner"]["attributes"]["process.exit_code"].asInt(), 3);
  EXPECT_EQ(by_service["outer"]["attributes"]["job"].asString(), "nightly");
}

TEST_F(MeshtraceTest, ExecOfAMissingCommandExits127AndRecordsTheFailure) {
  RunResult r = Meshtrace({"exec", "--", dir_ + "/no-such-program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("cannot run"), std::string::npos) << r.err;
  RunResult list = Meshtrace({"list", "--errors", "-o", "json"});
  EXPECT_EQ(ParseJsonText(list.out)["span_count"].asInt(), 1) << list.out << list.err;
}

TEST_F(MeshtraceTest, ExportThenImportIsLosslessInOtlpAndJsonLines) {
  ImportSample();
  RunResult original = Meshtrace({"show", "4bf92f", "-o", "json"});
  ASSERT_EQ(original.exit_code, 0) << original.err;
  for (const std::string format : {"otlp", "jsonl"}) {
    RunResult exported = Meshtrace({"export", "--format", format});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    const std::string other = dir_ + "/" + format + ".db";
    RunResult imported = Meshtrace({"import", "-"}, exported.out, other);
    ASSERT_EQ(imported.exit_code, 0) << format << ": " << imported.err;
    EXPECT_EQ(imported.out, "imported 3 spans (" + format + "), 3 new\n");
    RunResult copy = Meshtrace({"show", "4bf92f3577b34da6a3ce929d0e0e4736", "-o", "json"}, "", other);
    EXPECT_EQ(copy.out, original.out) << format;
  }
}

TEST_F(MeshtraceTest, ZipkinRoundTripKeepsIdsLinksServicesAndErrors) {
  ImportSample();
  RunResult exported = Meshtrace({"export", "4bf92f3577b34da6a3ce929d0e0e4736", "--format", "zipkin"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string other = dir_ + "/zipkin.db";
  RunResult imported = Meshtrace({"import", "-"}, exported.out, other);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const Json::Value a = ParseJsonText(Meshtrace({"show", "4bf92f", "-o", "json"}).out)["spans"];
  const Json::Value b = ParseJsonText(Meshtrace({"show", "4bf92f", "-o", "json"}, "", other).out)["spans"];
  ASSERT_EQ(b.size(), a.size());
  for (Json::ArrayIndex i = 0; i < a.size(); ++i) {
    for (const char* key : {"trace_id", "span_id", "parent_span_id", "service", "name", "status"}) {
      EXPECT_EQ(b[i][key], a[i][key]) << key;
    }
    // Zipkin counts microseconds.
    for (const char* key : {"start_ns", "duration_ns"}) {
      EXPECT_EQ(b[i][key].asInt64(), a[i][key].asInt64() / 1000 * 1000) << key;
    }
  }
}

TEST_F(MeshtraceTest, ReimportingTheSameSpansCreatesNoDuplicates) {
  ImportSample();
  RunResult again = Meshtrace({"import", dir_ + "/sample.jsonl"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "imported 3 spans (jsonl), 0 new\n");
  RunResult list = Meshtrace({"list", "-o", "json"});
  EXPECT_EQ(ParseJsonText(list.out)["span_count"].asInt(), 3);
}

TEST_F(MeshtraceTest, ABadImportImportsNothing) {
  std::string lines = SampleJsonLines(NowNs());
  lines += "{\"trace_id\":\"not-hex\",\"span_id\":\"00f067aa0ba902ba\"}\n";
  RunResult r = Meshtrace({"import", WriteFile("bad.jsonl", lines)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("line 4"), std::string::npos) << r.err;
  RunResult list = Meshtrace({"list", "-o", "json"});
  EXPECT_EQ(list.out, "") << "nothing imported";
  for (const std::string& junk : {std::string(""), std::string("hello"), std::string("[1,2"),
                                  std::string("{\"resourceSpans\":[{\"scopeSpans\":"),
                                  std::string(SampleJsonLines(NowNs()).substr(0, 200))}) {
    RunResult bad = Meshtrace({"import", "-"}, junk);
    EXPECT_NE(bad.exit_code, 0) << junk;
    EXPECT_FALSE(bad.err.empty()) << junk;
  }
  EXPECT_EQ(Meshtrace({"list", "-o", "json"}).out, "");
}

TEST_F(MeshtraceTest, ShowExplainsUnknownAmbiguousAndMalformedIds) {
  ImportSample();
  std::string other = SampleJsonLines(NowNs());
  for (size_t at = other.find("4bf92f3577b34da6a3ce929d0e0e4736"); at != std::string::npos;
       at = other.find("4bf92f3577b34da6a3ce929d0e0e4736")) {
    other.replace(at, 32, "4bf92f3577b34da6a3ce929d0e0e4737");
  }
  ASSERT_EQ(Meshtrace({"import", WriteFile("other.jsonl", other)}).exit_code, 0);
  RunResult unknown = Meshtrace({"show", "ffff"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
  RunResult ambiguous = Meshtrace({"show", "4bf9"});
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("4bf92f3577b34da6a3ce929d0e0e4736"), std::string::npos) << ambiguous.err;
  EXPECT_NE(ambiguous.err.find("4bf92f3577b34da6a3ce929d0e0e4737"), std::string::npos) << ambiguous.err;
  RunResult malformed = Meshtrace({"show", "xyz"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.err.find("invalid trace id"), std::string::npos) << malformed.err;
}

TEST_F(MeshtraceTest, ShowDrawsTheTreeWithEveryService) {
  ImportSample();
  RunResult r = Meshtrace({"show", "4bf92f", "--width", "100", "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text : {"web", "api", "db", "GET /checkout", "SELECT cart", "http.status_code"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no colors when not on a terminal";
}

TEST_F(MeshtraceTest, StatsCountsOperationsAndServiceEdges) {
  ImportSample();
  RunResult r = Meshtrace({"stats", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json::Value v = ParseJsonText(r.out);
  EXPECT_EQ(v["operations"].size(), 3u);
  EXPECT_EQ(v["edges"].size(), 2u);
  EXPECT_EQ(v["edges"][0]["caller"].asString(), "api");
  EXPECT_EQ(v["edges"][0]["callee"].asString(), "db");
  EXPECT_EQ(v["edges"][0]["errors"].asInt(), 1);
  RunResult csv = Meshtrace({"stats", "-o", "csv", "--service", "db"});
  EXPECT_EQ(csv.out,
            "type,service,operation,callee,count,errors,error_pct,p50_ms,p95_ms,p99_ms\n"
            "operation,db,SELECT cart,,1,1,100.00,150.000,150.000,150.000\n"
            "edge,api,,db,1,1,100.00,,,\n");
}

TEST_F(MeshtraceTest, EveryCommandPrintsTheSameThroughMeshd) {
  ImportSample();
  MeshdProcess meshd(db_);
  ASSERT_TRUE(meshd.ready());
  const std::vector<std::vector<std::string>> commands = {
      {"show", "4bf92f", "-o", "json"},
      {"show", "4bf92f", "--width", "90", "-v"},
      {"list", "-o", "json"},
      {"list", "--service", "db", "--min-duration", "100ms"},
      {"stats", "-o", "csv"},
      {"export", "--format", "jsonl"},
      {"export", "--format", "otlp"},
  };
  for (const auto& args : commands) {
    RunResult local = Meshtrace(args);
    RunResult remote = Remote(meshd.url(), args);
    EXPECT_EQ(remote.exit_code, 0) << args[0] << ": " << remote.err;
    EXPECT_EQ(remote.out, local.out) << args[0] << " " << args.back();
  }
  // Import and exec through meshd land in its store.
  const std::string other = SampleJsonLines(NowNs());
  RunResult exec = Remote(meshd.url(), {"exec", "--service", "cron", "--", "/bin/true"});
  EXPECT_EQ(exec.exit_code, 0) << exec.err;
  RunResult list = Meshtrace({"list", "--service", "cron", "-o", "json"});
  EXPECT_EQ(ParseJsonText(list.out)["root_service"].asString(), "cron") << list.out << list.err;
  EXPECT_EQ(meshd.Stop().exit_code, 0);
}

TEST_F(MeshtraceTest, HumanOutputsNeverSendStoredControlsToTheTerminal) {
  using test_support::ExpectTerminalSafe;
  using test_support::kHostileJson;
  const std::string h = kHostileJson;
  const int64_t t = NowNs() - 30'000'000'000;
  const auto span = [&](const char* id, const char* parent, const std::string& service) {
    return "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"" + std::string(id) + "\"" +
           (*parent ? std::string(",\"parent_span_id\":\"") + parent + "\"" : std::string()) +
           ",\"service\":\"" + service + "\",\"name\":\"op" + h + "\",\"kind\":\"SERVER\",\"start_ns\":" +
           std::to_string(t) + ",\"duration_ns\":1000000,\"status\":\"ERROR\",\"status_message\":\"" + h +
           "\",\"attributes\":{\"k" + h + "\":\"" + h + "\"}}\n";
  };
  RunResult imported = Meshtrace({"import", WriteFile("hostile.jsonl", span("00f067aa0ba902b7", "", "web" + h) +
                                                                         span("00f067aa0ba902b8", "00f067aa0ba902b7", "api" + h))});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"}, {"stats"}, {"show", "4bf92f3577b34da6a3ce929d0e0e4736"},
        {"show", "-v", "4bf92f3577b34da6a3ce929d0e0e4736"}}) {
    RunResult r = Meshtrace(args);
    ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    ExpectTerminalSafe(r.out, args[0]);
  }
}

}  // namespace
}  // namespace mesh

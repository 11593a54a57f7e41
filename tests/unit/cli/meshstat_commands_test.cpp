// meshstat's commands run in-process with injected stdin/stdout/stderr and a fake clock, on the
// fixed store of report_fixture.h, locally and through meshd's GET /v1/report (a real control
// plane on 127.0.0.1:0): exit codes, error lines, the CSV header rule, top's refresh loop, and
// its terminal handling on a pseudo-terminal.
#include "mesh/cli/meshstat_commands.h"

#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "in_process_meshd.h"
#include "mesh/store/report_queries.h"
#include "mesh/telemetry/report.h"
#include "report_fixture.h"
#include "test_support.h"

namespace mesh {
namespace cli_meshstat_commands_test {

using namespace std::chrono_literals;
using testing::kReportSince;
using testing::kReportT0;

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string data;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  return data;
}

// Waits until top has taken the terminal on `slave` (no echo, not canonical): the readiness
// signal, since it installs its stop handlers before it does. False after `timeout`.
bool WaitUntilRaw(int slave, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    struct termios now {};
    if (tcgetattr(slave, &now) == 0 && !(now.c_lflag & ICANON) && !(now.c_lflag & ECHO)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class MeshstatCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = db_});
    ASSERT_TRUE(store.ok()) << store.status().message();
    Status s = testing::FillReportFixture(**store);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Runs `run` with fresh temporary files as stdin (holding `input`), stdout (holding
  // `existing`) and stderr, the clock at kReportT0 and an environment of `env` only.
  template <typename Fn>
  Ran Run(Fn run, const std::string& input = "", const std::string& existing = "",
          bool tty = false) {
    std::FILE* in = std::tmpfile();
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    std::fputs(input.c_str(), in);
    std::rewind(in);
    std::fputs(existing.c_str(), out);
    std::fflush(out);
    CommandIo io;
    io.in = in;
    io.out = out;
    io.err = err;
    io.out_is_tty = tty;
    io.clock = &clock_;
    io.getenv = [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    Ran r;
    r.code = run(io);
    r.out = Slurp(out);
    r.err = Slurp(err);
    std::fclose(in);
    std::fclose(out);
    std::fclose(err);
    return r;
  }

  Ran Report(StatReportOptions o, const std::string& existing = "") {
    if (o.backend.server.empty() && o.backend.db.empty()) o.backend.db = db_;
    return Run([&](const CommandIo& io) { return RunStatReport(o, io); }, "", existing);
  }

  Ran Top(StatTopOptions o, const std::string& input = "", bool tty = false) {
    if (o.backend.server.empty() && o.backend.db.empty()) o.backend.db = db_;
    return Run([&](const CommandIo& io) { return RunStatTop(o, io); }, input, "", tty);
  }

  std::string Expected(const std::string& format) {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = db_});
    Result<mesh::Report> r = BuildReport(**store, {kReportSince, kReportT0, ""});
    EXPECT_TRUE(r.ok());
    if (format == "json") return RenderReportJson(*r);
    if (format == "csv") return RenderReportCsv(*r, true);
    if (format == "prom") return RenderReportPrometheus(*r);
    if (format == "markdown") return RenderReportMarkdown(*r);
    return RenderReportTable(*r);
  }

  testing::TempDir dir_;
  std::string db_ = dir_.File("mesh.db");
  testing::FakeClock clock_{kReportT0};
  std::map<std::string, std::string> env_;
};

TEST_F(MeshstatCommandsTest, ReportDefaultsToATableOfTheLastHour) {
  const Ran r = Report({});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, Expected("table"));
  EXPECT_EQ(r.out.rfind("services 2026-11-25T11:00:00.000Z to 2026-11-25T12:00:00.000Z (1h)\n", 0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("api      0.50  1800      2.00     50ms  183ms  250ms  7"),
            std::string::npos)
      << r.out;
}

TEST_F(MeshstatCommandsTest, ReportPrintsEveryFormat) {
  for (const char* format : {"table", "json", "csv", "prom", "markdown"}) {
    const Ran r = Report({.format = format});
    EXPECT_EQ(r.code, 0) << format << ": " << r.err;
    EXPECT_EQ(r.out, Expected(format)) << format;
  }
}

TEST_F(MeshstatCommandsTest, ReportThroughMeshdPrintsTheSameInEveryFormat) {
  testing::InProcessMeshd meshd(db_, {}, clock_);
  for (const char* format : {"table", "json", "csv", "prom", "markdown"}) {
    const Ran local = Report({.format = format});
    StatReportOptions remote_options{.format = format};
    remote_options.backend.server = meshd.url() + "/";
    const Ran remote = Report(remote_options);
    EXPECT_EQ(remote.code, 0) << format << ": " << remote.err;
    EXPECT_EQ(remote.out, local.out) << format;
  }
  // $MESH_SERVER stands for --server, and --service travels too.
  env_["MESH_SERVER"] = meshd.url();
  StatReportOptions o{.service = "web", .format = "csv"};
  o.backend.db = dir_.File("not-used.db");
  const Ran remote = Report(o);
  EXPECT_EQ(remote.code, 0) << remote.err;
  env_.clear();
  EXPECT_EQ(remote.out, Report({.service = "web", .format = "csv"}).out);
  EXPECT_NE(remote.out.find(",service,web,,360,"), std::string::npos) << remote.out;
}

TEST_F(MeshstatCommandsTest, MeshdReportRouteAnswersJsonAndRefusesBadParameters) {
  testing::InProcessMeshd meshd(db_, {}, clock_);
  HttpClientResponse ok =
      meshd.Request("GET", "/v1/report?since=1795604400&until=1795608000&service=api");
  ASSERT_EQ(ok.status, 200) << ok.body;
  Result<mesh::Report> r = DecodeReportJson(ok.body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->services.size(), 1u);
  EXPECT_EQ(r->services[0].signals.requests, 1800);
  for (const char* bad : {"/v1/report?since=yesterday", "/v1/report?until=soon",
                          "/v1/report?since=1795608000&until=1795604400"}) {
    HttpClientResponse answer = meshd.Request("GET", bad);
    EXPECT_EQ(answer.status, 400) << bad << ": " << answer.body;
    EXPECT_EQ(answer.body.rfind("{\"error\":\"", 0), 0u) << answer.body;
  }
}

TEST_F(MeshstatCommandsTest, UsageErrorsExitTwoWithOneLine) {
  struct Case {
    StatReportOptions options;
    std::string err;
  };
  const Case cases[] = {
      {{.format = "xml"},
       "meshstat: unknown format 'xml' (use table, json, csv, prom or markdown)\n"},
      {{.format = "csv", .header = "sometimes"},
       "meshstat: unknown --header 'sometimes' (use auto, always or never)\n"},
      {{.until = "2026-11-25T10:00:00Z"}, "meshstat: --until must be after --since\n"},
  };
  for (const Case& c : cases) {
    const Ran r = Report(c.options);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
  const Ran since = Report({.since = "yesterday"});
  EXPECT_EQ(since.code, 2);
  EXPECT_EQ(since.err.rfind("meshstat: --since: ", 0), 0u) << since.err;
  EXPECT_EQ(Count(since.err, "\n"), 1u) << since.err;
  StatReportOptions bad_server;
  bad_server.backend.server = "ftp://example.com";
  const Ran server = Report(bad_server);
  EXPECT_EQ(server.code, 2);
  EXPECT_EQ(server.err,
            "meshstat: invalid server URL 'ftp://example.com' (expected http://host:port)\n");
}

TEST_F(MeshstatCommandsTest, RuntimeFailuresExitOneWithOneLine) {
  StatReportOptions missing;
  missing.backend.db = dir_.File("nothing-here.db");
  Ran r = Report(missing);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("meshstat: no store at " + dir_.File("nothing-here.db"), 0), 0u) << r.err;
  EXPECT_EQ(Count(r.err, "\n"), 1u);
  StatReportOptions down;
  down.backend.server = "http://127.0.0.1:1";
  r = Report(down);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("meshstat: ", 0), 0u) << r.err;
  EXPECT_EQ(Count(r.err, "\n"), 1u) << r.err;
}

TEST_F(MeshstatCommandsTest, AnEmptyStoreSaysSo) {
  testing::TempDir dir;
  ASSERT_TRUE(Store::Open({.path = dir.File("empty.db")}).ok());
  StatReportOptions o;
  o.backend.db = dir.File("empty.db");
  const Ran r = Report(o);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "services 2026-11-25T11:00:00.000Z to 2026-11-25T12:00:00.000Z (1h)\n\n"
            "no metrics, spans or error logs in this window\n");
}

// `meshstat report --format csv >> golden.csv` from cron: the header goes into a new or empty
// file only, so that the history has one header line.
TEST_F(MeshstatCommandsTest, CsvHeaderOnlyWhenNotAppendingToData) {
  const std::string header = std::string(kReportCsvHeader) + "\n";
  Ran r = Report({.format = "csv"});
  EXPECT_EQ(r.out.rfind(header, 0), 0u) << r.out;
  r = Report({.format = "csv"}, header + "earlier,row\n");
  EXPECT_EQ(Count(r.out, header), 1u) << r.out;
  EXPECT_EQ(r.out.rfind(header + "earlier,row\n2026-11-25T12:00:00.000Z,", 0), 0u) << r.out;
  r = Report({.format = "csv", .header = "always"}, "x\n");
  EXPECT_EQ(r.out.rfind("x\n" + header, 0), 0u) << r.out;
  r = Report({.format = "csv", .header = "never"});
  EXPECT_EQ(r.out.find("time,"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.rfind("2026-11-25T12:00:00.000Z,3600,service,api,", 0), 0u) << r.out;
}

TEST_F(MeshstatCommandsTest, TopPrintsOnePlainTablePerRefreshWhenNotATerminal) {
  const auto started = std::chrono::steady_clock::now();
  const Ran r = Top({.every = "100ms", .window = "1h", .iterations = 3});
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find('\033'), std::string::npos);
  Result<std::unique_ptr<Store>> store = Store::Open({.path = db_});
  const std::string table =
      RenderSignalsTable(*BuildReport(**store, {kReportSince, kReportT0, ""}));
  EXPECT_EQ(r.out, table + "\n" + table + "\n" + table);
}

// The q waits in stdin from the start. A refresh long enough that the first one cannot outlast
// it under load (top reads keys only until the next refresh is due), and a second iteration as
// the bound should q be ignored: two screens then, not a hang.
TEST_F(MeshstatCommandsTest, TopQuitsOnQ) {
  const Ran r = Top({.every = "5s", .window = "1h", .iterations = 2}, "q");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Count(r.out, "services 2026-"), 1u) << r.out;
}

TEST_F(MeshstatCommandsTest, TopOnATerminalRedrawsTheScreen) {
  const Ran r = Top({.every = "100ms", .window = "1h", .iterations = 2}, "", /*tty=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("\033[H\033[2Jservices 2026-11-25T11:00:00.000Z", 0), 0u) << r.out;
  EXPECT_EQ(Count(r.out, "\033[H\033[2J"), 2u);
  EXPECT_NE(r.out.find("q to quit"), std::string::npos);
}

TEST_F(MeshstatCommandsTest, TopThroughMeshdPrintsTheSame) {
  testing::InProcessMeshd meshd(db_, {}, clock_);
  StatTopOptions o{.every = "100ms", .window = "1h", .service = "api", .iterations = 2};
  const Ran local = Top(o);
  o.backend.server = meshd.url();
  const Ran remote = Top(o);
  EXPECT_EQ(remote.code, 0) << remote.err;
  EXPECT_EQ(remote.out, local.out);
  EXPECT_NE(remote.out.find("api      0.50"), std::string::npos) << remote.out;
}

TEST_F(MeshstatCommandsTest, TopRefusesBadFlags) {
  for (const StatTopOptions& o :
       {StatTopOptions{.every = "10ms"}, StatTopOptions{.every = "soon"},
        StatTopOptions{.window = "0s"}, StatTopOptions{.iterations = -1}}) {
    const Ran r = Top(o);
    EXPECT_EQ(r.code, 2) << o.every << " " << o.window;
    EXPECT_EQ(r.err.rfind("meshstat: ", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

// The keyboard is read a key at a time without echo while top runs, and the terminal comes
// back as it was when a signal ends it; SIGTERM exits 143, and the handler is given back.
TEST_F(MeshstatCommandsTest, TopRestoresTheTerminalOnSignals) {
  for (int sig : {SIGINT, SIGTERM}) {
    int master = -1, slave = -1;
    ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    struct termios before {};
    ASSERT_EQ(tcgetattr(slave, &before), 0);
    ASSERT_TRUE(before.c_lflag & ICANON);
    std::FILE* in = fdopen(dup(slave), "r");
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    CommandIo io;
    io.in = in;
    io.out = out;
    io.err = err;
    io.clock = &clock_;
    io.getenv = [](const char*) -> const char* { return nullptr; };
    std::atomic<bool> raw_while_running{false};
    std::thread poke([&] {
      raw_while_running = WaitUntilRaw(slave, 10s);
      // Not ready: the handler may be missing, so end top with a key rather than the signal.
      if (raw_while_running) {
        kill(getpid(), sig);
      } else {
        (void)!write(master, "q\n", 2);
      }
    });
    StatTopOptions o{.every = "100ms", .window = "1h"};
    o.backend.db = db_;
    // What top must give back: SIG_DFL in a process of its own, whatever an earlier test left
    // when the whole suite runs in one process (make asan).
    struct sigaction found {};
    sigaction(sig, nullptr, &found);
    const int code = RunStatTop(o, io);
    poke.join();
    EXPECT_EQ(code, sig == SIGTERM ? 128 + SIGTERM : 0) << Slurp(err);
    EXPECT_TRUE(raw_while_running);
    struct termios after {};
    ASSERT_EQ(tcgetattr(slave, &after), 0);
    EXPECT_EQ(after.c_lflag, before.c_lflag);
    struct sigaction now {};
    sigaction(sig, nullptr, &now);
    EXPECT_EQ(now.sa_handler, found.sa_handler);
    std::fclose(in);
    std::fclose(out);
    std::fclose(err);
    close(slave);
    close(master);
  }
}

TEST_F(MeshstatCommandsTest, TopQuitsOnQTypedAtTheTerminal) {
  int master = -1, slave = -1;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  std::FILE* in = fdopen(dup(slave), "r");
  std::FILE* out = std::tmpfile();
  CommandIo io;
  io.in = in;
  io.out = out;
  io.clock = &clock_;
  io.getenv = [](const char*) -> const char* { return nullptr; };
  // A refresh every hour: top ends at once only because it reads the key while it waits. The
  // typist waits for the raw terminal, since a key typed before it would sit in the line buffer.
  std::atomic<bool> ready{false};
  std::thread typist([&] {
    ready = WaitUntilRaw(slave, 10s);
    // no newline when ready: the terminal is not canonical
    (void)!write(master, ready ? "q" : "q\n", ready ? 1 : 2);
  });
  StatTopOptions o{.every = "1h", .window = "1h"};
  o.backend.db = db_;
  std::future<int> code = std::async(std::launch::async, [&] { return RunStatTop(o, io); });
  typist.join();
  EXPECT_TRUE(ready) << "top never took the terminal";
  // A generous bound: the claim is "before the next refresh, an hour away", not a latency.
  if (code.wait_for(60s) != std::future_status::ready) {
    ADD_FAILURE() << "q did not end top";
    kill(getpid(), SIGINT);  // its handler ends the refresh loop
  }
  EXPECT_EQ(code.get(), 0);
  EXPECT_EQ(Count(Slurp(out), "services 2026-"), 1u);
  std::fclose(in);
  std::fclose(out);
  close(slave);
  close(master);
}

}  // namespace
}  // namespace mesh

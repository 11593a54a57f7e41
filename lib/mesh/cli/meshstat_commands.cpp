#include "mesh/cli/meshstat_commands.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>

#include "mesh/base/terminal_text.h"
#include "mesh/base/time_format.h"
#include "mesh/http/http_client.h"
#include "mesh/http/http_message.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/sdk/remote_log.h"
#include "mesh/store/report_queries.h"
#include "mesh/telemetry/report.h"
#include "mesh/telemetry/report_source.h"

namespace mesh {
namespace {

constexpr const char* kTool = "meshstat";
constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kMinRefreshNs = 100'000'000;

int Fail(const CommandIo& io, const Status& status) { return FailCommand(kTool, io, status); }

// A meshd's report: it computes it with the same BuildReport and sends it in the one JSON
// form this decodes. Not thread-safe (one CurlHttpClient).
class MeshdReports : public ReportSource {
 public:
  MeshdReports(std::string server, std::string token) : base_(std::move(server)), token_(std::move(token)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  Result<Report> Get(const ReportQuery& query) override {
    // Absolute times, so that meshd's clock does not move the window.
    std::string path = "/v1/report?since=" + FormatUnixSeconds(query.since_ns) +
                       "&until=" + FormatUnixSeconds(query.until_ns);
    if (!query.service.empty()) path += "&service=" + UrlEncode(query.service);
    Result<HttpClientResponse> r = http_.Send("GET", base_ + path, "", BearerHeader(token_));
    if (!r.ok()) return r.status();
    if (r->status / 100 != 2) return StatusFromHttp(base_, r->status, r->body);
    Result<Report> report = DecodeReportJson(r->body);
    if (!report.ok())
      return Status::IOError("unexpected answer from " + base_ + ": " + report.status().message());
    return report;
  }

 private:
  std::string base_;
  std::string token_;
  CurlHttpClient http_;
};

Result<std::unique_ptr<ReportSource>> OpenSource(const BackendOptions& o, const CommandIo& io) {
  Result<std::string> server = ResolveServer(o, io);
  if (!server.ok()) return server.status();
  if (!server->empty()) {
    Result<std::string> token = ResolveToken(o, io);
    if (!token.ok()) return token.status();
    return std::unique_ptr<ReportSource>(new MeshdReports(*server, *token));
  }
  Store::Options options;
  options.path = ResolveStorePath(o.db, io.getenv);
  options.create_if_missing = false;
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<ReportSource>(new StoreReports(std::move(store).value()));
}

// true when standard output is a regular file that already holds data: `>> history.csv`.
bool AppendingToData(std::FILE* out) {
  struct stat st;
  return fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

// --- top: the terminal and signals ----------------------------------------------------------

volatile sig_atomic_t g_stop_signal = 0;

void OnStopSignal(int sig) { g_stop_signal = sig; }

// SIGINT, SIGTERM and SIGHUP set g_stop_signal (without SA_RESTART, so that a wait returns at
// once); the previous handlers come back on destruction.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~StopSignals() {
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[std::size(kSignals)]{};
};

// Keys arrive one at a time and are not echoed while top runs; the terminal's own settings
// come back on destruction (every exit path, signals included, goes through it).
class RawKeys {
 public:
  explicit RawKeys(int fd) : fd_(fd) {
    if (!isatty(fd_) || tcgetattr(fd_, &saved_) != 0) return;
    struct termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawKeys() {
    if (active_) tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawKeys(const RawKeys&) = delete;
  RawKeys& operator=(const RawKeys&) = delete;

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

// Waits until `deadline`, a stop signal, or a quit key on `fd` (q, Q, or ^C when the terminal
// does not turn it into SIGINT). `fd` is set to -1 once it reaches its end. true: quit.
bool WaitOrQuit(std::chrono::steady_clock::time_point deadline, int& fd) {
  while (g_stop_signal == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    struct pollfd p {
      fd, POLLIN, 0
    };
    const int n = poll(fd >= 0 ? &p : nullptr, fd >= 0 ? 1 : 0, static_cast<int>(left.count()) + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) continue;
    char buf[64];
    const ssize_t got = read(fd, buf, sizeof buf);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) continue;
      fd = -1;  // end of input (or unreadable): keep refreshing, stop listening
      continue;
    }
    if (std::any_of(buf, buf + got, [](char c) { return c == 'q' || c == 'Q' || c == 3; }))
      return true;
  }
  return true;
}

}  // namespace

int RunStatReport(const StatReportOptions& o, const CommandIo& io) {
  static const char* const kFormats[] = {"table", "json", "csv", "prom", "markdown"};
  if (std::find_if(std::begin(kFormats), std::end(kFormats),
                   [&](const char* f) { return o.format == f; }) == std::end(kFormats)) {
    return Fail(io, Status::InvalidArgument("unknown format '" + o.format +
                                            "' (use table, json, csv, prom or markdown)"));
  }
  if (o.header != "auto" && o.header != "always" && o.header != "never") {
    return Fail(io, Status::InvalidArgument("unknown --header '" + o.header +
                                            "' (use auto, always or never)"));
  }
  // Whole seconds: a cron history reads "13:00:00Z", and a relative --since gives a round window.
  const int64_t now = io.clock->NowNs() / kNsPerSecond * kNsPerSecond;
  ReportQuery query;
  query.service = o.service;
  query.until_ns = now;
  Result<int64_t> since = ParseTimeSpec(o.since, now);
  if (!since.ok()) return Fail(io, since.status().WithContext("--since"));
  query.since_ns = std::max<int64_t>(0, *since);
  if (!o.until.empty()) {
    Result<int64_t> until = ParseTimeSpec(o.until, now);
    if (!until.ok()) return Fail(io, until.status().WithContext("--until"));
    query.until_ns = *until;
  }
  if (query.until_ns <= query.since_ns)
    return Fail(io, Status::InvalidArgument("--until must be after --since"));
  Result<std::unique_ptr<ReportSource>> source = OpenSource(o.backend, io);
  if (!source.ok()) return Fail(io, source.status());
  Result<Report> report = (*source)->Get(query);
  if (!report.ok()) return Fail(io, report.status());
  std::string out;
  if (o.format == "json") {
    out = RenderReportJson(*report);
  } else if (o.format == "csv") {
    const bool header = o.header == "always" || (o.header == "auto" && !AppendingToData(io.out));
    out = RenderReportCsv(*report, header);
  } else if (o.format == "prom") {
    out = RenderReportPrometheus(*report);
  } else if (o.format == "markdown") {
    out = RenderReportMarkdown(*report);
  } else {
    out = RenderReportTable(*report);
  }
  if (!WriteOut(io, out)) return WriteFailure(kTool, io);
  return 0;
}

int RunStatTop(const StatTopOptions& o, const CommandIo& io) {
  Result<int64_t> every = ParseDuration(o.every);
  if (!every.ok()) return Fail(io, every.status().WithContext("--every"));
  if (*every < kMinRefreshNs)
    return Fail(io, Status::InvalidArgument("--every must be at least 100ms"));
  Result<int64_t> window = ParseDuration(o.window);
  if (!window.ok()) return Fail(io, window.status().WithContext("--since"));
  if (*window <= 0)
    return Fail(io, Status::InvalidArgument("--since must be a positive duration, like 1m"));
  if (o.iterations < 0)
    return Fail(io, Status::InvalidArgument("--iterations must not be negative"));
  Result<std::unique_ptr<ReportSource>> source = OpenSource(o.backend, io);
  if (!source.ok()) return Fail(io, source.status());

  StopSignals signals;
  int keys = io.in ? fileno(io.in) : -1;
  RawKeys raw(keys);
  bool quit = false;
  for (int refresh = 0; !quit && g_stop_signal == 0; ++refresh) {
    const auto started = std::chrono::steady_clock::now();
    const int64_t now = io.clock->NowNs() / kNsPerSecond * kNsPerSecond;
    ReportQuery query{std::max<int64_t>(0, now - *window), now, o.service};
    Result<Report> report = (*source)->Get(query);
    std::string screen;
    if (!report.ok()) {
      // A meshd restart or a busy store should not end a live view; a first failure does.
      if (refresh == 0) return Fail(io, report.status());
      if (!io.out_is_tty) {
        PrintError(kTool, io, report.status().message());
      } else {
        screen = std::string(kTool) + ": " + TerminalSafe(report.status().message()) + "\n";
      }
    } else {
      screen = RenderSignalsTable(*report);
    }
    if (io.out_is_tty) {
      screen = "\033[H\033[2J" + screen + "\nrefreshing every " + o.every + "; q to quit\n";
    } else if (refresh > 0 && !screen.empty()) {
      screen = "\n" + screen;
    }
    if (!WriteOut(io, screen)) return WriteFailure(kTool, io);
    if (o.iterations > 0 && refresh + 1 >= o.iterations) break;
    quit = WaitOrQuit(started + std::chrono::nanoseconds(*every), keys);
  }
  const int sig = g_stop_signal;
  if (sig == SIGTERM || sig == SIGHUP) return 128 + sig;
  return 0;
}

}  // namespace mesh

// controlplane_load: N simulated sidecars against one meshd, for bench/controlplane_load.sh.
// Each sidecar does what meshproxy's RegistryClient does, on its own keep-alive connection:
// POST /v1/register (again every second until meshd answers 200), POST
// /v1/instances/{id}/heartbeat every 5 s (a 404 registers again), GET /v1/services/{upstream}
// every 2 s (with --etag sending the ETag of the last answer as If-None-Match, as RegistryClient
// does), every call bounded by 2 s and a failed or timed-out connection replaced by a new
// one; a kept connection the server closed before answering is retried once on a fresh one, as
// AsioHttpClient does. Starts are jittered over one heartbeat interval. A prober GETs /healthz
// every 100 ms, each on a fresh connection.
//
// With a command after `--` the tool starts meshd itself ("{port}" in it becomes 0 at the first
// start, then the port meshd chose) and can kill -9 it and start it again (--restart-after) to
// measure the recovery. --pollers N lets only the first N sidecars poll (the rest register and
// heartbeat only: 10,000 instances need not mean 10,000 watchers), each watching --watch services
// plus "watched", a service every poller watches; --change-at S registers a new instance of
// "watched" (TTL 2 s, never heartbeated) S seconds in and measures how long until every poller
// has seen it, then how long after its TTL until every poller has seen it unhealthy. Prints one line of key=value figures; latencies are exact percentiles
// (nearest rank) of every answered request, failures are counted apart. --wait S makes each
// poller long-poll instead, as meshproxy does against a meshd that can: one connection per
// upstream, GET /v1/services/{name}?wait=S with the last ETag, again at once after each answer
// (falling back to --discovery-ms polling when meshd answers without Mesh-Wait, or with a 429);
// its latencies are not sampled (they are the wait).
// Exit: 0 all registered, no failed probe (but while meshd is down) and, with a restart, every
// sidecar heartbeated within one heartbeat interval plus a second of it; 1 a target missed;
// 2 a usage error; 3 could not run.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

// Before Asio: 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cmd/command_line.h"
#include "mesh/base/json_text.h"
#include "mesh/base/token_file.h"
#include "mesh/base/url_encoding.h"
#include "mesh/http/http_url.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

struct Options {
  std::string meshd_url;
  int sidecars = 1000;
  int services = 100;
  double duration_s = 60;
  std::string token_file;
  int meshd_pid = 0;
  double restart_after_s = 0;  // 0: no restart
  std::string meshd_log;
  int heartbeat_ms = 5000;
  int discovery_ms = 2000;
  int timeout_ms = 2000;
  int probe_ms = 100;
  unsigned seed = 1;
  int pollers = -1;   // -1: every sidecar polls
  int watch = 1;      // services each poller watches, besides "watched"
  bool etag = false;  // send If-None-Match
  int wait_s = 0;     // long-poll for this long (0: poll every discovery_ms)
  double change_at_s = 0;  // 0: no change measured
  std::vector<std::string> meshd_command;
};

constexpr char kWatched[] = "watched";
constexpr char kChangeId[] = "watched@127.0.0.2:1";
constexpr int kChangeTtlS = 2;

auto Redirect(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

double MsSince(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// Latencies of answered requests, and the calls that failed (transport error, time-out or an
// answer the sidecar cannot use).
struct Samples {
  std::vector<double> ms;
  long calls = 0;
  long failures = 0;

  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  std::string Percentile(double q) {
    if (ms.empty()) return "none";
    std::sort(ms.begin(), ms.end());
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
    char out[32];
    std::snprintf(out, sizeof out, "%.1f", ms[std::max<size_t>(rank, 1) - 1]);
    return out;
  }
};

struct Reply {
  bool answered = false;  // false: transport failure or time-out
  int status = 0;
  std::string body;
  std::string etag;
  bool long_poll = false;  // the answer carried Mesh-Wait: meshd held, or could have held, it
  Clock::time_point started;
  double ms = 0;
};

struct Target {
  tcp::endpoint endpoint;
  std::string authority;
  std::string token;
  Ms timeout;
};

// One keep-alive client connection, like AsioHttpClient: reused while the server keeps it,
// replaced after any failure.
class Connection {
 public:
  Connection(asio::io_context& io, const Target& target) : stream_(io), target_(target) {}

  asio::awaitable<Reply> Send(http::verb verb, const std::string& path, const std::string& body,
                              const std::string& if_none_match = "", Ms longer = Ms(0)) {
    Reply reply;
    reply.started = Clock::now();
    stream_.expires_at(reply.started + target_.timeout + longer);
    http::request<http::string_body> request{verb, path, 11};
    request.set(http::field::host, target_.authority);
    request.set(http::field::content_type, "application/json");
    if (!target_.token.empty()) request.set(http::field::authorization, "Bearer " + target_.token);
    if (!if_none_match.empty()) request.set(http::field::if_none_match, if_none_match);
    if (verb != http::verb::get || !body.empty()) request.content_length(body.size());
    request.body() = body;
    while (true) {
      const bool reused = open_;
      beast::error_code ec;
      if (!open_) {
        co_await stream_.async_connect(target_.endpoint, Redirect(ec));
        if (ec) break;
        open_ = true;
        stream_.socket().set_option(tcp::no_delay(true), ec);
      }
      co_await http::async_write(stream_, request, Redirect(ec));
      bool answered = false;
      if (!ec) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 << 20);
        co_await http::async_read(stream_, buffer_, parser, Redirect(ec));
        if (!ec) {
          reply.answered = true;
          reply.status = static_cast<int>(parser.get().result_int());
          reply.body = std::move(parser.get().body());
          reply.etag = std::string(parser.get()[http::field::etag]);
          reply.long_poll = parser.get().count("Mesh-Wait") > 0;
          if (!parser.get().keep_alive() || buffer_.size() > 0) Close();
          break;
        }
        answered = parser.got_some() || buffer_.size() > 0;
      }
      Close();
      if (!reused || answered || ec == beast::error::timeout) break;
    }
    if (!reply.answered) Close();
    reply.ms = MsSince(reply.started);
    co_return reply;
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
    open_ = false;
  }

 private:
  beast::tcp_stream stream_;
  const Target& target_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

// CPU time and peak RSS of a process, from /proc. -1 when unreadable.
long CpuTicks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const size_t paren = line.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  long utime = -1, stime = -1;
  fields >> utime >> stime;
  return fields ? utime + stime : -1;
}

long PeakRssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// meshd started by this tool: stderr to a log file, killed with the tool (PDEATHSIG).
class MeshdProcess {
 public:
  MeshdProcess(std::vector<std::string> command, std::string log)
      : command_(std::move(command)), log_(std::move(log)) {}
  ~MeshdProcess() { Stop(); }

  int pid() const { return pid_; }

  // Starts meshd with "{port}" in its arguments replaced by `port`. False when fork fails.
  bool Start(int port) {
    std::vector<std::string> args;
    for (std::string a : command_) {
      for (size_t at; (at = a.find("{port}")) != std::string::npos;)
        a.replace(at, 6, std::to_string(port));
      args.push_back(std::move(a));
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(fd, 2);
      dup2(fd, 1);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fd);
    return pid_ > 0;
  }

  // kill -9, then the CPU ticks it used (read while it is a zombie, before reaping it).
  long Kill() {
    kill(pid_, SIGKILL);
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    waitid(P_PID, pid_, &info, WEXITED | WNOWAIT);
    const long ticks = CpuTicks(pid_);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
    return ticks;
  }

  // SIGTERM, then SIGKILL after 10 s.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      usleep(50'000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

  // The URL of meshd's first "meshd listening" log line since `from` bytes into the log.
  std::string ListeningUrl(std::streamoff from) const {
    std::ifstream in(log_);
    in.seekg(from);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = text.find("\"url\":\"http://");
    if (at == std::string::npos) return "";
    const size_t end = text.find('"', at + 7);
    return end == std::string::npos ? "" : text.substr(at + 7, end - at - 7);
  }

  std::streamoff LogSize() const {
    std::ifstream in(log_, std::ios::ate);
    return in ? static_cast<std::streamoff>(in.tellg()) : 0;
  }

 private:
  std::vector<std::string> command_;
  std::string log_;
  int pid_ = 0;
};

struct Sidecar {
  std::string service, body, id;
  std::vector<std::string> upstreams;  // polled, "watched" first; none: not a poller
  std::vector<std::string> etags;      // of each upstream's last answer (--etag)
  bool saw_change = false, saw_ejection = false;
  bool registered = false;
  bool recovered = false;  // a heartbeat or registration answered 200 after the restart
};

// State of one run; the io_context has one thread, so nothing here needs a lock.
struct Run {
  Options options;
  Target target;
  asio::io_context io{1};
  Clock::time_point start, end;
  std::vector<Sidecar> sidecars;
  Samples registers, heartbeats, discoveries, probes;
  long unchanged = 0;          // discoveries answered 304
  long discovery_bytes = 0;    // response bodies of discoveries
  int pollers = 0;
  // The change: when the instance was registered, and when every poller had seen it, then seen
  // it unhealthy (from the end of its TTL).
  std::optional<Clock::time_point> changed_at;
  int saw_change = 0, saw_ejection = 0;
  std::optional<double> all_saw_change_ms, all_saw_ejection_ms;
  std::string change_error;
  long reregistrations = 0;
  MeshdProcess* meshd = nullptr;  // when this tool started it
  int meshd_pid = 0;
  long cpu_ticks_before = -1, cpu_ticks_of_killed = 0;
  long peak_rss_kb = -1;
  // The restart: kill and start times, and when each figure was first reached.
  std::optional<Clock::time_point> killed_at, restarted_at;
  std::optional<double> ready_ms, all_healthy_ms, all_heartbeated_ms;
  int recovered = 0;
  long restart_failures = 0;
  long probe_failures_in_outage = 0;  // between the kill and the first 200 of the new meshd
  std::string restart_error;
  int meshd_healthy = -1, meshd_instances = -1;
  // Coroutines still running; on_idle runs when the last one ends.
  int active = 0;
  std::function<void()> on_idle;

  void Spawn(asio::awaitable<void> task) {
    ++active;
    asio::co_spawn(io, std::move(task), [this](std::exception_ptr e) {
      if (--active == 0 && on_idle) on_idle();
      if (e) std::rethrow_exception(e);  // out of io.run(), to main
    });
  }

  void Failed(Samples& s, const Reply& r) {
    ++s.failures;
    if (killed_at && r.started >= *killed_at && !all_heartbeated_ms) ++restart_failures;
  }
};

asio::awaitable<void> SleepUntil(Clock::time_point when) {
  asio::steady_timer timer(co_await asio::this_coro::executor, when);
  beast::error_code ec;
  co_await timer.async_wait(Redirect(ec));
}

void NoteRecovered(Run& run, Sidecar& s, const Reply& r) {
  if (!run.restarted_at || s.recovered || r.started < *run.restarted_at) return;
  s.recovered = true;
  if (++run.recovered == static_cast<int>(run.sidecars.size()))
    run.all_heartbeated_ms = MsSince(*run.restarted_at);
}

asio::awaitable<void> Register(Run& run, Sidecar& s, Connection& c) {
  const Reply r = co_await c.Send(http::verb::post, "/v1/register", s.body);
  ++run.registers.calls;
  if (!r.answered || r.status != 200) {
    run.Failed(run.registers, r);
    if (r.answered) run.registers.ms.push_back(r.ms);
    co_return;
  }
  run.registers.ms.push_back(r.ms);
  mesh::Result<Json::Value> answer = mesh::ParseJson(r.body);
  if (!answer.ok() || !answer->isObject() || !(*answer)["id"].isString()) {
    run.Failed(run.registers, r);
    co_return;
  }
  s.id = (*answer)["id"].asString();
  s.registered = true;
  NoteRecovered(run, s, r);
}

asio::awaitable<void> Heartbeat(Run& run, Sidecar& s, Connection& c) {
  const Reply r = co_await c.Send(http::verb::post,
                                  "/v1/instances/" + mesh::UrlEncode(s.id) + "/heartbeat", "");
  ++run.heartbeats.calls;
  if (r.answered) run.heartbeats.ms.push_back(r.ms);
  if (r.answered && r.status == 404) {  // meshd forgot us: register again, as meshproxy does
    ++run.reregistrations;
    s.registered = false;
    co_await Register(run, s, c);
  } else if (!r.answered || r.status != 200) {
    run.Failed(run.heartbeats, r);
  } else {
    NoteRecovered(run, s, r);
  }
}

// Whether an answer about "watched" shows the changed instance, and healthy or not.
// A long-poll parked before the change and answered because of it counts: its answer is later.
void NoteChange(Run& run, Sidecar& s, const Reply& r) {
  const Clock::time_point answered = r.started + std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double, std::milli>(r.ms));
  if (!run.changed_at || answered < *run.changed_at || r.status != 200) return;
  const size_t at = r.body.find(std::string("\"id\":\"") + kChangeId + "\"");
  if (at == std::string::npos) return;
  if (!s.saw_change) {
    s.saw_change = true;
    if (++run.saw_change == run.pollers) run.all_saw_change_ms = MsSince(*run.changed_at);
  }
  const size_t health = r.body.find("\"healthy\":", at);
  const auto ejected_at = *run.changed_at + std::chrono::seconds(kChangeTtlS);
  if (!s.saw_ejection && health != std::string::npos && r.body.compare(health + 10, 5, "false") == 0) {
    s.saw_ejection = true;
    if (++run.saw_ejection == run.pollers) run.all_saw_ejection_ms = MsSince(ejected_at);
  }
}

asio::awaitable<void> Discover(Run& run, Sidecar& s, Connection& c) {
  for (size_t i = 0; i < s.upstreams.size(); ++i) {
    // Named, not temporaries of the co_await expression: GCC 12 frees a conditional's
    // temporary there twice.
    const std::string path = "/v1/services/" + mesh::UrlEncode(s.upstreams[i]);
    const std::string tag = run.options.etag ? s.etags[i] : std::string();
    const Reply r = co_await c.Send(http::verb::get, path, "", tag);
    ++run.discoveries.calls;
    if (r.answered) run.discoveries.ms.push_back(r.ms);
    // A 404 is an answer: the upstream has no instance yet; a 304: no change since the tag.
    if (!r.answered || (r.status != 200 && r.status != 404 && r.status != 304)) {
      run.Failed(run.discoveries, r);
      continue;
    }
    run.discovery_bytes += static_cast<long>(r.body.size());
    if (r.status == 304) {
      ++run.unchanged;
      continue;
    }
    s.etags[i] = r.etag;
    if (i == 0) NoteChange(run, s, r);
  }
}

// A long-polling poller's watch of upstream i, on a connection of its own, until the run ends.
asio::awaitable<void> Watch(Run& run, Sidecar& s, size_t i, Clock::time_point first) {
  co_await SleepUntil(first);
  Connection c(run.io, run.target);
  const std::string path = "/v1/services/" + mesh::UrlEncode(s.upstreams[i]);
  while (Clock::now() < run.end) {
    // Never held past the run's end.
    const long left_s = std::chrono::ceil<std::chrono::seconds>(run.end - Clock::now()).count();
    const long wait_s = std::clamp<long>(left_s, 1, run.options.wait_s);
    const std::string target = path + "?wait=" + std::to_string(wait_s);
    const std::string tag = s.etags[i];
    const Reply r = co_await c.Send(http::verb::get, target, "", tag, std::chrono::seconds(wait_s));
    ++run.discoveries.calls;
    const bool usable = r.answered && (r.status == 200 || r.status == 404 || r.status == 304);
    if (!usable) run.Failed(run.discoveries, r);
    if (usable) {
      run.discovery_bytes += static_cast<long>(r.body.size());
      if (r.status == 304) ++run.unchanged;
      else s.etags[i] = r.etag;
      if (r.status != 304 && i == 0) NoteChange(run, s, r);
    }
    // A meshd that does not long-poll (or is full, or failed): poll at the refresh period.
    if (!usable || !r.long_poll) co_await SleepUntil(Clock::now() + Ms(run.options.discovery_ms));
  }
}

// RegistryClient::Run's schedule.
asio::awaitable<void> RunSidecar(Run& run, Sidecar& s, Clock::time_point first) {
  co_await SleepUntil(first);
  Connection c(run.io, run.target);
  const Ms heartbeat_every(run.options.heartbeat_ms), discovery_every(run.options.discovery_ms);
  // A sidecar that polls nothing here (not a poller, or long-polling in Watch) has no next
  // poll: with one in the past it would wake at once, again and again.
  const bool polls = !s.upstreams.empty() && run.options.wait_s == 0;
  Clock::time_point next_heartbeat = first, next_discovery = polls ? first : Clock::time_point::max();
  while (true) {
    const Clock::time_point now = Clock::now();
    if (now >= run.end) break;
    if (now >= next_heartbeat) {
      if (s.registered)
        co_await Heartbeat(run, s, c);
      else
        co_await Register(run, s, c);
      next_heartbeat = now + (s.registered ? heartbeat_every : Ms(1000));
    }
    if (now >= next_discovery) {
      co_await Discover(run, s, c);
      next_discovery = now + discovery_every;
    }
    const Clock::time_point wake = std::min(next_heartbeat, next_discovery);
    if (wake >= run.end) break;
    co_await SleepUntil(wake);
  }
  c.Close();
}

asio::awaitable<void> Probe(Run& run) {
  Connection c(run.io, run.target);
  const Reply r = co_await c.Send(http::verb::get, "/healthz", "");
  ++run.probes.calls;
  if (!r.answered || r.status != 200) {
    ++run.probes.failures;
    if (run.killed_at && r.started >= *run.killed_at && !run.ready_ms)
      ++run.probe_failures_in_outage;
    if (r.answered) run.probes.ms.push_back(r.ms);
    co_return;
  }
  run.probes.ms.push_back(r.ms);
  if (run.restarted_at && !run.ready_ms && r.started >= *run.restarted_at)
    run.ready_ms = MsSince(*run.restarted_at);
}

// "watched" exists from the start (an instance that never expires); with --change-at, a second
// instance appears then and is left to expire.
asio::awaitable<void> RunChange(Run& run) {
  Connection c(run.io, run.target);
  const std::string stays = std::string("{\"service\":\"") + kWatched +
                            "\",\"host\":\"127.0.0.3\",\"port\":1,\"ttl_seconds\":86400}";
  const Reply base = co_await c.Send(http::verb::post, "/v1/register", stays);
  if (!base.answered || base.status != 200) run.change_error = "cannot register the watched service's first instance";
  if (run.options.change_at_s <= 0) co_return;
  co_await SleepUntil(run.start + Ms(static_cast<long>(run.options.change_at_s * 1000)));
  const std::string appears = std::string("{\"service\":\"") + kWatched +
                              "\",\"host\":\"127.0.0.2\",\"port\":1,\"ttl_seconds\":" +
                              std::to_string(kChangeTtlS) + "}";
  run.changed_at = Clock::now();
  const Reply r = co_await c.Send(http::verb::post, "/v1/register", appears);
  if (!r.answered || r.status != 200) run.change_error = "cannot register the changed instance";
}

asio::awaitable<void> RunProber(Run& run) {
  for (Clock::time_point next = run.start; next < run.end; next += Ms(run.options.probe_ms)) {
    co_await SleepUntil(next);
    run.Spawn(Probe(run));  // a slow probe does not delay the next
  }
}

// meshd's own view, GET /v1/services: how many instances it has and how many are healthy.
asio::awaitable<bool> ReadMeshdView(Run& run) {
  Connection c(run.io, run.target);
  const Reply r = co_await c.Send(http::verb::get, "/v1/services", "");
  if (!r.answered || r.status != 200) co_return false;
  mesh::Result<Json::Value> doc = mesh::ParseJson(r.body);
  if (!doc.ok() || !(*doc)["services"].isArray()) co_return false;
  int instances = 0, healthy = 0;
  for (const Json::Value& s : (*doc)["services"]) {
    instances += s["instances"].asInt();
    healthy += s["healthy"].asInt();
  }
  run.meshd_instances = instances;
  run.meshd_healthy = healthy;
  co_return true;
}

asio::awaitable<void> RunRestart(Run& run) {
  co_await SleepUntil(run.start + Ms(static_cast<long>(run.options.restart_after_s * 1000)));
  run.peak_rss_kb = std::max(run.peak_rss_kb, PeakRssKb(run.meshd->pid()));
  run.killed_at = Clock::now();
  const long ticks = run.meshd->Kill();
  if (ticks >= 0 && run.cpu_ticks_before >= 0) {
    run.cpu_ticks_of_killed = ticks - run.cpu_ticks_before;
    run.cpu_ticks_before = 0;  // the new process starts from zero
  } else {
    run.cpu_ticks_before = -1;  // unknown: no CPU figure rather than half of one
  }
  if (!run.meshd->Start(run.target.endpoint.port())) {
    run.restart_error = "cannot start meshd again";
    co_return;
  }
  run.restarted_at = Clock::now();
  run.meshd_pid = run.meshd->pid();
  const int n = static_cast<int>(run.sidecars.size());
  while (Clock::now() < run.end) {
    if (co_await ReadMeshdView(run) && run.meshd_healthy >= n) {
      run.all_healthy_ms = MsSince(*run.restarted_at);
      co_return;
    }
    co_await SleepUntil(Clock::now() + Ms(run.options.probe_ms));
  }
}

void BuildSidecars(Run& run) {
  const Options& o = run.options;
  for (int i = 0; i < o.sidecars; ++i) {
    Sidecar s;
    s.service = "svc-" + std::to_string(i % o.services);
    if (o.pollers < 0 || i < o.pollers) {  // whom this sidecar calls
      s.upstreams.push_back(kWatched);
      for (int w = 1; w <= o.watch; ++w) s.upstreams.push_back("svc-" + std::to_string((i + w) % o.services));
      s.etags.resize(s.upstreams.size());
      ++run.pollers;
    }
    // One pod address per sidecar, its inbound port as meshproxy registers it.
    const std::string host = "10." + std::to_string(i >> 16 & 255) + "." +
                             std::to_string(i >> 8 & 255) + "." + std::to_string(i & 255);
    s.body = "{\"service\":\"" + s.service + "\",\"host\":\"" + host +
             "\",\"port\":15001,\"ttl_seconds\":15,\"meta\":{\"proxy\":\"meshproxy " MESH_VERSION
             "\",\"admin\":\"" +
             host + ":15000\"}}";
    run.sidecars.push_back(std::move(s));
  }
}

// Starts meshd (when asked to) and waits until its /healthz answers; "" or what went wrong.
std::string StartMeshd(Run& run, MeshdProcess& meshd) {
  if (!meshd.Start(0)) return "cannot start " + run.options.meshd_command[0];
  run.meshd = &meshd;
  run.meshd_pid = meshd.pid();
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  while (run.options.meshd_url.empty()) {
    run.options.meshd_url = meshd.ListeningUrl(0);
    if (Clock::now() > deadline || waitpid(meshd.pid(), nullptr, WNOHANG) != 0) {
      return "meshd did not start (see " + run.options.meshd_log + ")";
    }
    usleep(50'000);
  }
  return "";
}

std::string ResolveTarget(Run& run) {
  mesh::Result<mesh::HttpUrl> url = mesh::ParseHttpUrl(run.options.meshd_url);
  if (!url.ok() || url->tls)
    return "meshd's log names an unusable URL '" + run.options.meshd_url + "'";
  beast::error_code ec;
  tcp::resolver resolver(run.io);
  const auto found = resolver.resolve(url->host, std::to_string(url->port), ec);
  if (ec || found.empty()) return "cannot resolve " + url->host + ": " + ec.message();
  run.target.endpoint = found.begin()->endpoint();
  run.target.authority = url->Authority();
  run.target.timeout = Ms(run.options.timeout_ms);
  return "";
}

// Polls /healthz until it answers 200, for up to 20 s.
asio::awaitable<void> AwaitHealthy(Run& run, bool& healthy) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    Connection c(run.io, run.target);
    const Reply r = co_await c.Send(http::verb::get, "/healthz", "");
    if (r.answered && r.status == 200) {
      healthy = true;
      co_return;
    }
    co_await SleepUntil(Clock::now() + Ms(50));
  }
}

bool WaitHealthy(Run& run) {
  bool healthy = false;
  asio::co_spawn(run.io, AwaitHealthy(run, healthy), asio::detached);
  run.io.run();
  run.io.restart();
  return healthy;
}

asio::awaitable<void> ReadFinalView(Run& run) { co_await ReadMeshdView(run); }

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int Measure(Run& run) {
  const Options& o = run.options;
  BuildSidecars(run);
  if (run.meshd_pid) run.cpu_ticks_before = CpuTicks(run.meshd_pid);
  const double own_cpu_before = CpuSeconds();
  run.start = Clock::now();
  run.end = run.start + Ms(static_cast<long>(o.duration_s * 1000));
  std::mt19937 random(o.seed);
  std::uniform_int_distribution<int> jitter(0, o.heartbeat_ms - 1);
  for (Sidecar& s : run.sidecars) {
    const Clock::time_point first = run.start + Ms(jitter(random));
    run.Spawn(RunSidecar(run, s, first));
    for (size_t i = 0; o.wait_s > 0 && i < s.upstreams.size(); ++i) run.Spawn(Watch(run, s, i, first));
  }
  run.Spawn(RunProber(run));
  run.Spawn(RunChange(run));
  if (o.restart_after_s > 0) run.Spawn(RunRestart(run));
  asio::signal_set signals(run.io, SIGINT, SIGTERM);
  bool interrupted = false;
  signals.async_wait([&](beast::error_code ec, int) {
    if (!ec) interrupted = true;
    run.io.stop();
  });
  run.on_idle = [&] { signals.cancel(); };
  // Every call is bounded by the timeout, so the run ends by then; the bound is a backstop.
  run.io.run_until(run.end + Ms(o.timeout_ms) * 3 + std::chrono::seconds(2));
  if (interrupted) return 3;
  const double wall_s = MsSince(run.start) / 1000;
  const double own_cpu = CpuSeconds() - own_cpu_before;
  long meshd_ticks = -1;
  if (run.meshd_pid) {
    const long now_ticks = CpuTicks(run.meshd_pid);
    if (now_ticks >= 0 && run.cpu_ticks_before >= 0)
      meshd_ticks = now_ticks - run.cpu_ticks_before + run.cpu_ticks_of_killed;
    run.peak_rss_kb = std::max(run.peak_rss_kb, PeakRssKb(run.meshd_pid));
  }
  // meshd's view once the sidecars have stopped, on a fresh io loop bounded by the timeout.
  run.io.restart();
  asio::co_spawn(run.io, ReadFinalView(run), asio::detached);
  run.io.run_for(Ms(o.timeout_ms) * 2);

  int registered = 0;
  for (const Sidecar& s : run.sidecars) registered += s.registered;
  const int n = o.sidecars;
  const auto fixed = [](double v) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f", v);
    return std::string(out);
  };
  std::string line = "sidecars=" + std::to_string(n) + " services=" + std::to_string(o.services) +
                     " duration_s=" + fixed(wall_s);
  const auto add = [&line](const std::string& key, const std::string& value) {
    line += " " + key + "=" + value;
  };
  add("registered", std::to_string(registered) + "/" + std::to_string(n));
  add("register_failures", std::to_string(run.registers.failures));
  add("reregistrations", std::to_string(run.reregistrations));
  add("heartbeats", std::to_string(run.heartbeats.calls));
  add("heartbeat_failures", std::to_string(run.heartbeats.failures));
  add("heartbeat_p50_ms", run.heartbeats.Percentile(0.5));
  add("heartbeat_p99_ms", run.heartbeats.Percentile(0.99));
  add("heartbeat_max_ms", run.heartbeats.Percentile(1));
  add("discoveries", std::to_string(run.discoveries.calls));
  add("discovery_failures", std::to_string(run.discoveries.failures));
  add("discovery_p99_ms", run.discoveries.Percentile(0.99));
  add("discovery_304", std::to_string(run.unchanged));
  add("discovery_body_mib", fixed(static_cast<double>(run.discovery_bytes) / (1 << 20)));
  add("pollers", std::to_string(run.pollers));
  add("healthz_probes", std::to_string(run.probes.calls));
  add("healthz_failures", std::to_string(run.probes.failures));
  add("healthz_p99_ms", run.probes.Percentile(0.99));
  add("healthz_max_ms", run.probes.Percentile(1));
  add("meshd_healthy", run.meshd_healthy < 0 ? "unknown"
                                             : std::to_string(run.meshd_healthy) + "/" +
                                                   std::to_string(run.meshd_instances));
  add("meshd_cpu_percent", meshd_ticks < 0
                               ? "unknown"
                               : fixed(100.0 * static_cast<double>(meshd_ticks) /
                                       static_cast<double>(sysconf(_SC_CLK_TCK)) / wall_s));
  add("meshd_rss_kb", run.peak_rss_kb < 0 ? "unknown" : std::to_string(run.peak_rss_kb));
  add("bench_cpu_percent", fixed(100.0 * own_cpu / wall_s));
  bool ok = registered == n && run.probes.failures == run.probe_failures_in_outage && run.change_error.empty();
  if (!run.change_error.empty()) std::fprintf(stderr, "controlplane_load: %s\n", run.change_error.c_str());
  if (o.change_at_s > 0) {
    const auto ms = [&](const std::optional<double>& v) { return v ? fixed(*v) : std::string("never"); };
    add("change_seen", std::to_string(run.saw_change) + "/" + std::to_string(run.pollers));
    add("change_all_seen_ms", ms(run.all_saw_change_ms));
    add("ejection_seen", std::to_string(run.saw_ejection) + "/" + std::to_string(run.pollers));
    add("ejection_all_seen_ms", ms(run.all_saw_ejection_ms));
    ok = ok && run.all_saw_change_ms && run.all_saw_ejection_ms;
  }
  if (o.restart_after_s > 0) {
    const auto ms = [&](const std::optional<double>& v) {
      return v ? fixed(*v) : std::string("never");
    };
    const double budget_ms = o.heartbeat_ms + 1000.0;
    const bool within = run.all_heartbeated_ms && *run.all_heartbeated_ms <= budget_ms;
    add("restart_ready_ms", ms(run.ready_ms));
    add("restart_all_healthy_ms", ms(run.all_healthy_ms));
    add("restart_all_heartbeated_ms", ms(run.all_heartbeated_ms));
    add("restart_heartbeated", std::to_string(run.recovered) + "/" + std::to_string(n));
    add("restart_failed_requests", std::to_string(run.restart_failures));
    add("restart_healthz_failures", std::to_string(run.probe_failures_in_outage));
    add("restart_within_" + std::to_string(static_cast<int>(budget_ms)) + "ms",
        within ? "yes" : "no");
    ok = ok && within;
    if (!run.restart_error.empty())
      std::fprintf(stderr, "controlplane_load: %s\n", run.restart_error.c_str());
  }
  std::printf("%s\n", line.c_str());
  return ok ? 0 : 1;
}

int Usage(const std::string& what) {
  std::fprintf(stderr, "controlplane_load: %s (see controlplane_load --help)\n", what.c_str());
  return 2;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "controlplane_load: %s\n", what.c_str());
  return 3;
}

// What is wrong with the options, or "".
std::string Validate(const Options& o) {
  const bool spawns = !o.meshd_command.empty();
  const bool port_slot = spawns && std::any_of(o.meshd_command.begin(), o.meshd_command.end(),
                                               [](const std::string& a) {
                                                 return a.find("{port}") != std::string::npos;
                                               });
  if (o.sidecars < 1 || o.sidecars > 60000) return "--sidecars must be in 1..60000";
  if (o.services < 1 || o.services > o.sidecars) return "--services must be in 1..--sidecars";
  if (!(o.duration_s >= 1 && o.duration_s <= 86400))
    return "--duration must be in 1..86400 seconds";
  if (o.heartbeat_ms < 100 || o.heartbeat_ms > 600000)
    return "--heartbeat-ms must be in 100..600000";
  if (o.discovery_ms < 100 || o.discovery_ms > 600000)
    return "--discovery-ms must be in 100..600000";
  if (o.timeout_ms < 10 || o.timeout_ms > 60000) return "--timeout-ms must be in 10..60000";
  if (o.wait_s < 0 || o.wait_s > 60) return "--wait must be in 0..60";
  if (o.probe_ms < 10 || o.probe_ms > 60000) return "--probe-ms must be in 10..60000";
  if (o.meshd_pid < 0) return "--meshd-pid must be a process id";
  if (o.pollers < -1 || o.pollers > o.sidecars) return "--pollers must be in 0..--sidecars";
  if (o.watch < 0 || o.watch > o.services) return "--watch must be in 0..--services";
  if (o.change_at_s != 0 && !(o.change_at_s > 0 && o.change_at_s + kChangeTtlS < o.duration_s))
    return "--change-at must be in (0, --duration - 2)";
  if (o.meshd_pid > 0 && CpuTicks(o.meshd_pid) < 0)
    return "no process " + std::to_string(o.meshd_pid) + " to measure";
  if (spawns && o.meshd_pid)
    return "--meshd-pid is for a meshd started elsewhere; this tool starts the one after --";
  if (!spawns && o.meshd_url.empty()) return "give --meshd URL, or a meshd command after --";
  if (port_slot && !o.meshd_url.empty())
    return "--meshd and a {port} in the meshd command exclude each other";
  if (spawns && !port_slot && o.meshd_url.empty())
    return "give --meshd URL, or put {port} in meshd's --listen";
  if (!o.meshd_url.empty()) {
    mesh::Result<mesh::HttpUrl> url = mesh::ParseHttpUrl(o.meshd_url);
    if (!url.ok()) return "--meshd: " + url.status().message();
    if (url->tls) return "--meshd: https:// is not supported (meshd serves plain HTTP)";
  }
  if (o.restart_after_s != 0) {
    if (!spawns) return "--restart-after needs the meshd command after --: this tool restarts it";
    if (!(o.restart_after_s > 0 && o.restart_after_s < o.duration_s))
      return "--restart-after must be in (0, --duration)";
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "N simulated meshproxy sidecars (register, heartbeat, discovery) against one meshd; prints "
      "key=value "
      "figures. Starts meshd itself when its command follows --, with {port} in it (0, then the "
      "chosen port "
      "on a restart).",
      "controlplane_load"};
  app.add_option("--meshd", o.meshd_url,
                 "meshd's URL (default: read from the started meshd's log)");
  app.add_option("--sidecars", o.sidecars, "simulated sidecars, each on its own connection")
      ->capture_default_str();
  app.add_option("--services", o.services, "services the instances are spread over")
      ->capture_default_str();
  app.add_option("--duration", o.duration_s, "seconds of load")->capture_default_str();
  app.add_option("--token-file", o.token_file, "meshd's write token, sent as a bearer token");
  app.add_option("--meshd-pid", o.meshd_pid,
                 "meshd started elsewhere: its CPU and peak RSS from /proc");
  app.add_option("--restart-after", o.restart_after_s,
                 "kill -9 the started meshd after this many seconds and start it again");
  app.add_option("--meshd-log", o.meshd_log,
                 "where the started meshd's output goes (default: a temporary file)");
  app.add_option("--heartbeat-ms", o.heartbeat_ms, "heartbeat interval (meshproxy: 5000)")
      ->capture_default_str();
  app.add_option("--discovery-ms", o.discovery_ms, "discovery refresh interval (meshproxy: 2000)")
      ->capture_default_str();
  app.add_option("--timeout-ms", o.timeout_ms, "bound of every call (meshproxy: 2000)")
      ->capture_default_str();
  app.add_option("--probe-ms", o.probe_ms, "/healthz probe interval")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the start jitter")->capture_default_str();
  app.add_option("--pollers", o.pollers, "sidecars that poll discovery, the first N (default: all)");
  app.add_option("--watch", o.watch, "services each poller watches besides \"watched\"")->capture_default_str();
  app.add_flag("--etag", o.etag, "send each service's last ETag as If-None-Match (meshproxy does)");
  app.add_option("--wait", o.wait_s,
                 "long-poll discovery for up to this many seconds, each upstream on its own connection "
                 "(meshproxy does against a meshd that can; implies --etag)");
  app.add_option("--change-at", o.change_at_s,
                 "register a new instance of \"watched\" (TTL 2 s) after this many seconds; measure "
                 "when every poller has seen it, then seen it unhealthy");
  app.add_option("meshd_command", o.meshd_command, "after --: meshd and its arguments");
  if (std::optional<int> exit = mesh::cmd::ParseCommandLine(app, argc, argv)) return *exit;
  if (const std::string wrong = Validate(o); !wrong.empty()) return Usage(wrong);

  // One socket per sidecar, and a started meshd inherits the limit.
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 &&
      files.rlim_cur < static_cast<rlim_t>(o.sidecars) + 64) {
    return Fail("--sidecars " + std::to_string(o.sidecars) +
                " needs more open files than the limit of " + std::to_string(files.rlim_cur) +
                " (raise ulimit -Hn)");
  }
  signal(SIGPIPE, SIG_IGN);

  Run run;
  run.options = o;
  run.meshd_pid = o.meshd_pid;
  if (!o.token_file.empty()) {
    mesh::Result<std::string> token = mesh::ReadTokenFile(o.token_file);
    if (!token.ok()) return Usage("--token-file: " + token.status().message());
    run.target.token = *token;
  }
  bool temporary_log = false;
  if (!o.meshd_command.empty() && o.meshd_log.empty()) {
    char path[] = "/tmp/controlplane_load-meshd-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0)
      return Fail("cannot create a log file in /tmp: " + std::string(std::strerror(errno)));
    close(fd);
    run.options.meshd_log = path;
    temporary_log = true;
  }
  MeshdProcess meshd(o.meshd_command, run.options.meshd_log);
  int code = 3;
  try {
    std::string error;
    if (!o.meshd_command.empty()) error = StartMeshd(run, meshd);
    if (error.empty()) error = ResolveTarget(run);
    if (error.empty() && !WaitHealthy(run))
      error = "meshd at " + run.options.meshd_url + " did not answer /healthz with 200 within 20 s";
    code = error.empty() ? Measure(run) : Fail(error);
  } catch (const std::exception& e) {
    code = Fail(e.what());
  }
  meshd.Stop();
  if (temporary_log && code != 3) unlink(run.options.meshd_log.c_str());
  return code;
}

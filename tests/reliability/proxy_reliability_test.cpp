// Reliability of meshproxy under faults (issue 8): the real meshd, meshproxy and
// mesh_demo_service binaries on loopback ephemeral ports, plus small upstreams written here on
// raw sockets. Each test prints its figures ("[figures] ...") for docs/reliability.md.
//
// - ControlPlaneOutage...: meshd stopped for 30 s under steady traffic (longer than the
//   registry's 15 s TTL), then restarted on the same store and port.
// - SidecarKilled...: kill -9 of one of three instances' sidecars under concurrent traffic.
// - MisbehavingUpstream...: resets, stalls, slow answers, bodies cut short, garbage responses.
// - FiveHundredKeepAliveConnections...: more connections than the proxy has threads.
// - MalformedRequestCorpus...: a deterministic corpus of bad requests on the inbound port.
// - OutOfDescriptors...: 256 descriptors and 1,000 clients (issue 26, point 3).
// - ThirtySidecars...: 30 sidecars on one meshd, which is killed (-9) and restarted.
// - ABurstTowardASlowUpstream..., ClientsThatGiveUp...: the circuit breaker and abandoned
//   requests (issue 26, point 4).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "mesh/base/time_format.h"
#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "meshd_fixture.h"
#include "free_port.h"
#include "sanitizer_build.h"
#include "subprocess.h"

namespace mesh {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using test_support::MeshdProcess;
using test_support::RunProcess;
using test_support::Subprocess;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Json::Value ParseJsonText(const std::string& text) {
  Json::Value v;
  std::istringstream in(text);
  try {
    in >> v;
  } catch (const std::exception&) {
    return Json::Value();
  }
  return v;
}

// ---- /proc figures ------------------------------------------------------------------------

int OpenFds(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// True while `pid` (our child) has not exited.
bool Alive(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

// Waits until the fd count drops to `target` or below; returns the last count.
int SettledFds(pid_t pid, int target, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int n = OpenFds(pid);
  while (n > target && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    n = OpenFds(pid);
  }
  return n;
}

// ---- HTTP helpers -------------------------------------------------------------------------

Result<HttpClientResponse> Get(int port, const std::string& path,
                               std::vector<std::pair<std::string, std::string>> headers = {},
                               long timeout_ms = 5000) {
  CurlHttpClient client(timeout_ms);
  return client.Send("GET", "http://127.0.0.1:" + std::to_string(port) + path, "", headers);
}

int StatusOf(const Result<HttpClientResponse>& r) { return r.ok() ? r->status : 0; }

// The sum of every sample of `name` whose labels contain each of `labels`.
double MetricSum(const std::string& text, const std::string& name,
                 const std::vector<std::string>& labels = {}) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || (line.size() > name.size() && line[name.size()] != '{' &&
                                     line[name.size()] != ' ')) {
      continue;
    }
    bool all = true;
    for (const std::string& l : labels) all = all && line.find(l) != std::string::npos;
    if (!all) continue;
    const size_t space = line.rfind(' ');
    if (space != std::string::npos) sum += std::stod(line.substr(space + 1));
  }
  return sum;
}

std::string Metrics(int admin_port) {
  Result<HttpClientResponse> r = Get(admin_port, "/metrics");
  return r.ok() ? r->body : std::string();
}

// ---- raw sockets --------------------------------------------------------------------------

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// One HTTP response as a client sees it on a raw socket.
struct RawReply {
  int status = 0;         // 0: no status line arrived
  std::string head;       // status line and headers
  std::string body;
  bool complete = false;  // the whole body (by Content-Length or chunked framing) arrived
  bool closed = false;    // the proxy closed the connection
  bool timed_out = false;
  std::string Header(const std::string& name) const {
    std::smatch m;
    if (std::regex_search(head, m, std::regex("\r\n" + name + ":[ \t]*([^\r]*)", std::regex::icase))) {
      return m[1].str();
    }
    return "";
  }
};

// Reads one response from `fd`, giving up at the deadline (a hang shows as timed_out).
RawReply ReadReply(int fd, std::chrono::milliseconds timeout) {
  RawReply r;
  std::string buf;
  const auto deadline = Clock::now() + timeout;
  size_t head_end = std::string::npos;
  std::optional<size_t> length;
  bool chunked = false;
  const auto done = [&] {
    if (head_end == std::string::npos) return false;
    if (length) return buf.size() - head_end >= *length;
    if (chunked) return buf.size() >= head_end + 5 && buf.compare(buf.size() - 5, 5, "0\r\n\r\n") == 0;
    return r.status == 204 || r.status == 304;
  };
  while (!done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[16384];
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    buf.append(chunk, static_cast<size_t>(n));
    if (head_end == std::string::npos) {
      const size_t end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      head_end = end + 4;
      r.head = buf.substr(0, end);
      if (r.head.rfind("HTTP/1.", 0) == 0 && r.head.size() >= 12) r.status = std::atoi(r.head.c_str() + 9);
      const std::string cl = r.Header("Content-Length");
      if (!cl.empty()) length = std::stoul(cl);
      chunked = r.Header("Transfer-Encoding").find("chunked") != std::string::npos;
    }
  }
  if (head_end != std::string::npos) {
    r.body = buf.substr(head_end);
    r.complete = done();
    if (r.complete && length) r.body.resize(*length);
  }
  return r;
}

// True when the peer has closed `fd` (or does so within the timeout).
bool PeerClosed(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

// A JSON error body from the proxy: {"error":..,"service":..,"request_id":..}.
bool IsProxyJsonError(const RawReply& r) {
  const Json::Value v = ParseJsonText(r.body);
  return r.Header("Content-Type").find("application/json") != std::string::npos && v.isObject() &&
         v["error"].isString() && !v["error"].asString().empty() && v["service"].isString() &&
         v["request_id"].isString();
}

using test_support::FreePort;

// ---- processes ----------------------------------------------------------------------------

// A meshproxy started on 127.0.0.1:0 for every port; the ports come from its log line.
struct Sidecar {
  std::unique_ptr<Subprocess> process;
  int inbound = 0, outbound = 0, admin = 0;
  pid_t pid() const { return process->pid(); }
};

Sidecar StartSidecar(const std::string& service, int service_port, const std::string& meshd_url,
                     std::vector<std::string> extra = {}) {
  Sidecar s;
  std::vector<std::string> args = {MESHPROXY_BIN, "--service", service, "--service-port",
                                   std::to_string(service_port), "--listen", "127.0.0.1:0",
                                   "--admin", "127.0.0.1:0", "--threads", "1"};
  if (std::find(extra.begin(), extra.end(), "--outbound") == extra.end()) {
    args.insert(args.end(), {"--outbound", "127.0.0.1:0"});
  }
  if (!meshd_url.empty()) args.insert(args.end(), {"--meshd", meshd_url});
  args.insert(args.end(), extra.begin(), extra.end());
  s.process = std::make_unique<Subprocess>(args);
  EXPECT_TRUE(s.process->WaitForStderr("meshproxy listening", 10s)) << s.process->err();
  const std::string err = s.process->err();
  std::smatch m;
  const auto port = [&](const std::string& key) {
    return std::regex_search(err, m, std::regex("\"" + key + "\":\"http://127\\.0\\.0\\.1:([0-9]+)\""))
               ? std::stoi(m[1].str())
               : 0;
  };
  s.inbound = port("inbound");
  s.outbound = port("outbound");
  s.admin = port("admin");
  return s;
}

struct DemoService {
  std::unique_ptr<Subprocess> process;
  int port = 0;
};

DemoService StartDemo(const std::string& name, std::vector<std::string> extra = {}) {
  DemoService d;
  std::vector<std::string> args = {DEMO_SERVICE_BIN, "--name", name, "--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  d.process = std::make_unique<Subprocess>(args);
  EXPECT_TRUE(d.process->WaitForOutput("listening on", 10s)) << d.process->err();
  std::smatch m;
  const std::string out = d.process->out();
  if (std::regex_search(out, m, std::regex("127\\.0\\.0\\.1:([0-9]+)"))) d.port = std::stoi(m[1].str());
  return d;
}

void StopGently(std::unique_ptr<Subprocess>& p) {
  if (!p) return;
  p->Signal(SIGTERM);
  p->Wait(15s);
  p.reset();
}

std::string TempDir() {
  char tmpl[] = "/tmp/mesh-reliability-XXXXXX";
  return mkdtemp(tmpl);
}

// Calls `once` from `threads` threads, each at most every `period`, until stopped.
class Traffic {
 public:
  using Call = std::function<bool(int thread, int64_t n)>;
  Traffic(int threads, std::chrono::milliseconds period, Call once) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, t, period, once] {
        auto next = Clock::now();
        while (!stop_.load()) {
          const int64_t n = sent_.fetch_add(1);
          if (!once(t, n)) failed_.fetch_add(1);
          next += period;
          std::this_thread::sleep_until(next);
        }
      });
    }
  }
  ~Traffic() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int64_t sent() const { return sent_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> sent_{0}, failed_{0};
  std::vector<std::thread> threads_;
};

void Figures(const std::string& text) {
  std::printf("[figures] %s\n", text.c_str());
  std::fflush(stdout);
}

// ---- scenario 1: control plane outage -----------------------------------------------------

std::string TraceId(int64_t n) {
  char id[33];
  std::snprintf(id, sizeof id, "5eed%028llx", static_cast<unsigned long long>(n));
  return id;
}

constexpr auto kOutage = 30s;

TEST(ProxyReliability, ControlPlaneOutageLosesNoRequestsAndTelemetryResumes) {
  const std::string dir = TempDir();
  const std::string db = dir + "/mesh.db";
  auto meshd = std::make_unique<MeshdProcess>(db);
  ASSERT_TRUE(meshd->ready());
  const std::string meshd_url = meshd->url();
  const std::string meshd_port = meshd_url.substr(meshd_url.rfind(':') + 1);

  DemoService callee_app = StartDemo("callee");
  Sidecar callee = StartSidecar("callee", callee_app.port, meshd_url);
  // The caller app must know its sidecar's outbound port when it starts and the sidecar the
  // app's port: the outbound port is one the kernel picked a moment ago.
  const int outbound = FreePort();
  DemoService caller_app =
      StartDemo("caller", {"--next", "callee", "--outbound", "127.0.0.1:" + std::to_string(outbound)});
  Sidecar caller =
      StartSidecar("caller", caller_app.port, meshd_url, {"--outbound", "127.0.0.1:" + std::to_string(outbound)});
  ASSERT_EQ(caller.outbound, outbound);
  // Wait until a request crosses the whole path: caller sidecar → caller → its outbound
  // sidecar → callee's sidecar → callee.
  bool flowing = false;
  for (int i = 0; i < 100 && !flowing; ++i) {
    flowing = StatusOf(Get(caller.inbound, "/warm")) == 200;
    if (!flowing) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(flowing);

  std::mutex mu;
  std::vector<std::pair<Clock::time_point, int64_t>> sent_at;  // when each trace was sent
  std::vector<std::string> failures;
  Traffic traffic(1, 50ms, [&](int, int64_t n) {
    const auto at = Clock::now();
    {
      std::lock_guard lock(mu);
      sent_at.emplace_back(at, n);
    }
    Result<HttpClientResponse> r = Get(caller.inbound, "/steady",
                                       {{"traceparent", "00-" + TraceId(n) + "-00f067aa0ba902b7-01"}});
    if (StatusOf(r) == 200) return true;
    std::lock_guard lock(mu);
    failures.push_back(r.ok() ? std::to_string(r->status) + " " + r->body : r.status().message());
    return false;
  });
  const auto traffic_start = Clock::now();
  std::this_thread::sleep_for(2s);
  const double sent_before_outage_per_s = traffic.sent() / Seconds(Clock::now() - traffic_start);
  const double dropped_before = MetricSum(Metrics(caller.admin), "mesh_telemetry_dropped_total") +
                                MetricSum(Metrics(callee.admin), "mesh_telemetry_dropped_total");
  const auto outage_start = Clock::now();
  const test_support::RunResult stopped = meshd->Stop();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  // Nobody else may bind meshd's port while it is away: it comes back at the same address.
  test_support::PortHold hold(std::stoi(meshd_port));
  ASSERT_TRUE(hold.held()) << "port " << meshd_port << " was taken while meshd was down";
  const int64_t sent_when_stopped = traffic.sent();
  std::this_thread::sleep_for(kOutage);
  const int64_t sent_during_outage = traffic.sent() - sent_when_stopped;
  const int64_t failed_during_outage = traffic.failed();
  const double dropped_during = MetricSum(Metrics(caller.admin), "mesh_telemetry_dropped_total") +
                                MetricSum(Metrics(callee.admin), "mesh_telemetry_dropped_total");

  // Back on the same store and port.
  meshd.reset();
  auto restarted = std::make_unique<Subprocess>(
      std::vector<std::string>{MESHD_BIN, "--listen", "127.0.0.1:" + meshd_port, "--db", db});
  ASSERT_TRUE(restarted->WaitForStderr("meshd listening", 10s)) << restarted->err();
  hold.Release();
  const auto back_at = Clock::now();
  CurlHttpClient control(2000);
  const auto stored = [&](int64_t n) {
    Result<HttpClientResponse> r = control.Send("GET", meshd_url + "/v1/traces/" + TraceId(n), "", {});
    return r.ok() && r->status == 200;
  };
  // The first request sent after meshd is back must reach the store.
  const int64_t first_after = traffic.sent();
  bool resumed = false;
  for (int i = 0; i < 100 && !resumed; ++i) {
    std::this_thread::sleep_for(100ms);
    resumed = traffic.sent() > first_after && stored(first_after);
  }
  const double recovery_s = Seconds(Clock::now() - back_at);
  std::this_thread::sleep_for(1s);
  traffic.Stop();

  // Spans of requests made while meshd was down: count how many made it.
  int outage_traces = 0, outage_stored = 0;
  {
    std::lock_guard lock(mu);
    for (const auto& [at, n] : sent_at) {
      if (at > outage_start + 1s && at + 1s < back_at && n % 10 == 0) {
        ++outage_traces;
        outage_stored += stored(n) ? 1 : 0;
      }
    }
  }
  bool registered_again = false;
  for (int i = 0; i < 100 && !registered_again; ++i) {
    Result<HttpClientResponse> r = control.Send("GET", meshd_url + "/v1/services/callee", "", {});
    registered_again = r.ok() && r->body.find("\"healthy\":true") != std::string::npos;
    if (!registered_again) std::this_thread::sleep_for(100ms);
  }

  EXPECT_EQ(traffic.failed(), 0) << (failures.empty() ? "" : failures.front());
  // How fast the one caller goes depends on the build and the machine (a sanitized build on a
  // loaded machine sends a third of what a Release build does); what must hold is that the
  // outage does not slow it down.
  const double sent_during_outage_per_s = sent_during_outage / Seconds(kOutage);
  EXPECT_GT(sent_during_outage_per_s, sent_before_outage_per_s / 2)
      << "traffic kept flowing while meshd was down (requests per second before the outage "
      << sent_before_outage_per_s << ")";
  EXPECT_TRUE(resumed) << "spans of requests sent after the restart reach meshd";
  EXPECT_TRUE(registered_again) << "the sidecars' registrations are healthy again";
  EXPECT_TRUE(dropped_during > dropped_before || outage_stored == outage_traces)
      << "telemetry meshd could not take is counted as dropped";
  EXPECT_GT(outage_traces, 5);
  Figures("outage: requests sent " + std::to_string(traffic.sent()) + " (during the 30 s outage " +
          std::to_string(sent_during_outage) + "), failed " + std::to_string(traffic.failed()) +
          " (during outage " + std::to_string(failed_during_outage) + "); telemetry dropped " +
          std::to_string(static_cast<int64_t>(dropped_before)) + " before, " +
          std::to_string(static_cast<int64_t>(dropped_during)) + " after the outage; outage traces stored " +
          std::to_string(outage_stored) + "/" + std::to_string(outage_traces) +
          "; spans resumed " + std::to_string(recovery_s) + " s after meshd was back");

  StopGently(caller.process);
  StopGently(callee.process);
  StopGently(restarted);
  std::filesystem::remove_all(dir);
}

// ---- scenario 2: a sidecar killed ----------------------------------------------------------

// Healthy instances of `service` in meshd's registry, and whether `port` is among them.
std::pair<int, bool> HealthyInstances(const std::string& meshd_url, const std::string& service, int port) {
  Result<HttpClientResponse> r = CurlHttpClient(2000).Send("GET", meshd_url + "/v1/services/" + service, "", {});
  if (!r.ok()) return {0, false};
  int healthy = 0;
  bool found = false;
  const Json::Value doc = ParseJsonText(r->body);
  for (const Json::Value& i : doc["instances"]) {
    if (!i["healthy"].asBool()) continue;
    ++healthy;
    found = found || i["port"].asInt() == port;
  }
  return {healthy, found};
}

int ServedInbound(int admin_port, const std::string& service) {
  return static_cast<int>(MetricSum(Metrics(admin_port), "mesh_requests_total",
                                    {"code=\"200\"", "direction=\"inbound\"", "service=\"" + service + "\""}));
}

TEST(ProxyReliability, SidecarKilledUnderTrafficFailsAtMostInFlightAndRejoinsWhenRestarted) {
  const std::string dir = TempDir();
  MeshdProcess meshd(dir + "/mesh.db");
  ASSERT_TRUE(meshd.ready());
  std::vector<DemoService> apps;
  std::vector<Sidecar> sidecars;
  // The instances answer in 40 ms: above the balancer's 30 ms prior for an endpoint it has
  // not measured yet, so that a rejoining instance competes at once. (With ~1 ms answers a new
  // instance waits out the prior's decay, about 30 s: see docs/reliability.md.)
  for (int i = 0; i < 3; ++i) {
    apps.push_back(StartDemo("payments", {"--slow-percent", "100", "--slow-ms", "40"}));
    sidecars.push_back(StartSidecar("payments", apps.back().port, meshd.url()));
  }
  DemoService caller_app = StartDemo("caller");
  Sidecar caller = StartSidecar("caller", caller_app.port, meshd.url());
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    ready = HealthyInstances(meshd.url(), "payments", 0).first == 3;
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(ready);
  // Until every sidecar has served once, the caller's snapshot may still miss an instance.
  // Telemetry (hence /metrics) is counted off the request path, every few hundred ms.
  for (int i = 0; i < 200; ++i) {
    Get(caller.outbound, "/warm", {{"Host", "payments"}});
    bool all = true;
    for (const Sidecar& s : sidecars) all = all && ServedInbound(s.admin, "payments") > 0;
    if (all) break;
    std::this_thread::sleep_for(50ms);
  }
  for (const Sidecar& s : sidecars) {
    ASSERT_GT(ServedInbound(s.admin, "payments"), 0)
        << s.inbound << " " << Metrics(s.admin) << "\nCALLER " << Metrics(caller.admin) << "\nMESHD "
        << meshd.Request("GET", "/v1/services/payments").body;
  }

  constexpr int kClients = 4;
  std::mutex mu;
  std::vector<std::string> failures;
  Traffic traffic(kClients, 50ms, [&](int, int64_t) {
    Result<HttpClientResponse> r = Get(caller.outbound, "/pay", {{"Host", "payments"}}, 3000);
    if (StatusOf(r) == 200) return true;
    std::lock_guard lock(mu);
    failures.push_back(r.ok() ? std::to_string(r->status) + " " + r->body : r.status().message());
    return false;
  });
  std::this_thread::sleep_for(1500ms);
  Sidecar& victim = sidecars[0];
  const int victim_port = victim.inbound;
  const int64_t sent_before_kill = traffic.sent();
  victim.process->Signal(SIGKILL);
  const auto killed_at = Clock::now();
  victim.process->Wait(5s);

  // The balancer soon stops trying the dead instance. How soon depends on the machine's pace:
  // its failure penalty steers traffic away at once but decays, so a slow run tries it again
  // now and then until 5 failures in a row eject it (for 30 s, beyond the test). So what is
  // asserted is the bound, not a moment: see connect failures at the end.
  const std::vector<std::string> connect_failure = {"direction=\"outbound\"", "outcome=\"connect_failure\""};
  std::this_thread::sleep_for(2s);
  const double failures_at_2s = MetricSum(Metrics(caller.admin), "mesh_upstream_attempts_total", connect_failure);
  std::this_thread::sleep_for(2s);
  const int served_others_at_4s = ServedInbound(sidecars[1].admin, "payments") + ServedInbound(sidecars[2].admin, "payments");

  // A new sidecar for the same app rejoins (on a new port, as a restarted pod would) and gets
  // traffic again.
  const auto restart_at = Clock::now();
  Sidecar restarted = StartSidecar("payments", apps[0].port, meshd.url());
  bool rejoined = false;
  for (int i = 0; i < 100 && !rejoined; ++i) {
    std::this_thread::sleep_for(100ms);
    rejoined = HealthyInstances(meshd.url(), "payments", restarted.inbound).second;
  }
  const double rejoin_s = Seconds(Clock::now() - restart_at);

  // Without heartbeats the dead instance turns unhealthy after its TTL (15 s, fixed in
  // meshproxy's registration) and leaves the healthy set the callers balance over.
  bool left = false;
  while (!left && Clock::now() < killed_at + 25s) {
    left = !HealthyInstances(meshd.url(), "payments", victim_port).second;
    if (!left) std::this_thread::sleep_for(250ms);
  }
  const double left_s = Seconds(Clock::now() - killed_at);
  const int restarted_served = ServedInbound(restarted.admin, "payments");
  traffic.Stop();
  const std::string caller_metrics = Metrics(caller.admin);
  const double failures_at_end = MetricSum(caller_metrics, "mesh_upstream_attempts_total", connect_failure);
  const double ejections = MetricSum(caller_metrics, "mesh_outlier_ejections_total");

  EXPECT_LE(traffic.failed(), kClients) << "at most the requests in flight at the kill fail: "
                                        << (failures.empty() ? "" : failures.front());
  // At most 5 in a row before the ejection, plus the attempts the other clients had already
  // sent its way when the fifth failed.
  EXPECT_LE(failures_at_end, 5 + kClients - 1) << "the dead instance is no longer tried";
  EXPECT_GT(served_others_at_4s, 0);
  EXPECT_TRUE(rejoined) << "the restarted sidecar is back in the healthy set";
  EXPECT_GT(restarted_served, 0) << "the restarted sidecar gets traffic again";
  EXPECT_TRUE(left) << "the dead instance leaves the healthy set after its TTL";
  EXPECT_EQ(HealthyInstances(meshd.url(), "payments", 0).first, 3);
  Figures("sidecar kill: requests sent " + std::to_string(traffic.sent()) + " (" +
          std::to_string(sent_before_kill) + " before the kill), failed " + std::to_string(traffic.failed()) +
          " with " + std::to_string(kClients) + " clients; caller connect failures " +
          std::to_string(static_cast<int64_t>(failures_at_2s)) + " at +2 s, " +
          std::to_string(static_cast<int64_t>(failures_at_end)) + " in all; ejections " +
          std::to_string(static_cast<int64_t>(ejections)) + "; restarted sidecar served " +
          std::to_string(restarted_served) + ", first after " + std::to_string(rejoin_s) +
          " s (registered); dead instance unhealthy in meshd " + std::to_string(left_s) + " s after the kill");

  StopGently(restarted.process);
  StopGently(caller.process);
  for (Sidecar& s : sidecars) {
    if (s.process && Alive(s.pid())) StopGently(s.process);
  }
  std::filesystem::remove_all(dir);
}

// ---- scenario 3: a misbehaving upstream ---------------------------------------------------

// A listening socket on 127.0.0.1 and a kernel-picked port.
int ListenLoopback(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(fd, 1024);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// Reads a request head (up to the blank line) within the timeout; empty when none came.
std::string ReadHead(int fd, std::chrono::milliseconds timeout) {
  std::string buf;
  const auto deadline = Clock::now() + timeout;
  while (buf.find("\r\n\r\n") == std::string::npos && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char chunk[4096];
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  return buf;
}

// An upstream that misbehaves as the request path asks: one thread per connection.
class ChaosUpstream {
 public:
  ChaosUpstream() {
    listener_ = ListenLoopback(port_);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~ChaosUpstream() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (std::thread& t : connections_) t.join();
    close(listener_);
  }
  int port() const { return port_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Waits (bounded) until the proxy gives up on the connection.
  void HoldUntilPeerCloses(int fd) {
    const auto deadline = Clock::now() + 5s;
    while (!stop_ && Clock::now() < deadline && !PeerClosed(fd, 50ms)) {
    }
  }

  void Serve(int fd) {
    const std::string head = ReadHead(fd, 3s);
    const size_t sp = head.find(' ');
    const std::string path = sp == std::string::npos ? "" : head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
    if (path == "/reset" || path == "/reset-mid") {
      if (path == "/reset-mid") SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial");
      std::this_thread::sleep_for(20ms);
      const linger hard{1, 0};  // close with RST
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    } else if (path == "/close") {
      // Closes without a word.
    } else if (path == "/stall") {
      HoldUntilPeerCloses(fd);
    } else if (path == "/slow") {
      for (int i = 0; i < 30 && !stop_ && !PeerClosed(fd, 50ms); ++i) {
      }
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    } else if (path == "/slow-body") {
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n");
      for (int i = 0; i < 10 && !stop_ && SendAll(fd, "0123456789"); ++i) std::this_thread::sleep_for(300ms);
    } else if (path == "/stalled-body") {
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n0123456789");
      HoldUntilPeerCloses(fd);
    } else if (path == "/mid-body") {
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'x'));
    } else if (path == "/garbage-status") {
      SendAll(fd, "HTTP/1.1 abc WHAT\r\nContent-Length: 0\r\n\r\n");
    } else if (path == "/no-version") {
      SendAll(fd, "200 OK\r\nContent-Length: 2\r\n\r\nok");
    } else if (path == "/binary") {
      std::mt19937 rng(7);
      std::string junk(512, '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      SendAll(fd, junk);
    } else if (path == "/huge-header") {
      SendAll(fd, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\nContent-Length: 0\r\n\r\n");
    } else if (path == "/bad-length") {
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nok");
    } else if (path == "/interim-forever") {
      for (int i = 0; i < 40 && !stop_ && SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n"); ++i) {
        std::this_thread::sleep_for(50ms);
      }
    } else {
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    }
    close(fd);
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
};

// What a client must see for each misbehaviour. Before the upstream's status line: the proxy
// answers 502/504 with its JSON body. After it (the proxy streams): the status already went
// out, so the body is visibly cut short and the connection closed. A body that keeps moving
// passes whole, however long it takes.
enum class Expect { k502, k504, kCutShort, k200, kWhole };

TEST(ProxyReliability, MisbehavingUpstreamGets502Or504NeverHangsAndLeaksNothing) {
  ChaosUpstream upstream;
  Sidecar proxy = StartSidecar("chaos", upstream.port(), "", {"--timeout", "1s", "--stream-idle-timeout", "1s"});
  const pid_t pid = proxy.pid();
  const std::vector<std::pair<std::string, Expect>> fast = {
      {"/reset", Expect::k502},        {"/close", Expect::k502},      {"/garbage-status", Expect::k502},
      {"/no-version", Expect::k502},   {"/binary", Expect::k502},     {"/huge-header", Expect::k502},
      {"/bad-length", Expect::k502},   {"/mid-body", Expect::kCutShort}, {"/reset-mid", Expect::kCutShort},
      {"/ok", Expect::k200}};
  const std::vector<std::pair<std::string, Expect>> slow = {
      {"/stall", Expect::k504}, {"/slow", Expect::k504}, {"/interim-forever", Expect::k504},
      {"/slow-body", Expect::kWhole}, {"/stalled-body", Expect::kCutShort}};
  const auto exchange = [&](const std::string& path, Expect expect, std::string& why) {
    const int fd = Connect(proxy.inbound);
    if (fd < 0) {
      why = path + ": cannot connect";
      return false;
    }
    SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: chaos\r\n\r\n");
    const RawReply r = ReadReply(fd, 5s);  // the timeout is 1 s: 5 s means a hang
    const bool cut_short = r.status == 200 && !r.complete && r.closed;
    close(fd);
    bool ok = false;
    switch (expect) {
      case Expect::k502: ok = r.status == 502 && r.complete && IsProxyJsonError(r); break;
      case Expect::k504: ok = r.status == 504 && r.complete && IsProxyJsonError(r); break;
      case Expect::kCutShort: ok = cut_short; break;
      case Expect::k200: ok = r.status == 200 && r.complete && r.body == "ok"; break;
      case Expect::kWhole: ok = r.status == 200 && r.complete && r.body.size() == 100; break;
    }
    if (!ok) {
      why = path + ": status " + std::to_string(r.status) + (r.timed_out ? " (hung)" : "") +
            (r.complete ? " complete" : " incomplete") + " body " + r.body.substr(0, 200);
    }
    return ok;
  };
  // Warm up, then take the baseline.
  std::string why;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(exchange("/ok", Expect::k200, why)) << why;
  std::this_thread::sleep_for(300ms);
  const int fds_before = OpenFds(pid);
  const long rss_before = RssKib(pid);

  constexpr int kClients = 4;
  constexpr int kRounds = 2;
  constexpr int kFastRepeats = 10;
  std::atomic<int> sent{0}, bad{0}, hung{0};
  std::mutex mu;
  std::vector<std::string> failures;
  const auto started = Clock::now();
  {
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        std::mt19937 order(static_cast<unsigned>(c));
        for (int round = 0; round < kRounds; ++round) {
          std::vector<std::pair<std::string, Expect>> plan = slow;
          for (int i = 0; i < kFastRepeats; ++i) plan.insert(plan.end(), fast.begin(), fast.end());
          std::shuffle(plan.begin(), plan.end(), order);
          for (const auto& [path, expect] : plan) {
            ++sent;
            std::string reason;
            if (!exchange(path, expect, reason)) {
              ++bad;
              if (reason.find("hung") != std::string::npos) ++hung;
              std::lock_guard lock(mu);
              failures.push_back(reason);
            }
          }
        }
      });
    }
    for (std::thread& t : clients) t.join();
  }
  const double chaos_s = Seconds(Clock::now() - started);
  const int fds_peak_after = OpenFds(pid);
  const int fds_after = SettledFds(pid, fds_before + 2, 3s);
  const long rss_after = RssKib(pid);

  EXPECT_TRUE(Alive(pid)) << "the proxy never crashes";
  EXPECT_EQ(StatusOf(Get(proxy.admin, "/healthz")), 200);
  EXPECT_TRUE(exchange("/ok", Expect::k200, why)) << why;
  EXPECT_EQ(bad.load(), 0) << failures.size() << " unexpected answers, first: "
                           << (failures.empty() ? "" : failures.front());
  EXPECT_EQ(hung.load(), 0);
  EXPECT_LE(fds_after, fds_before + 2) << "descriptors return to their baseline";
  if (!test_support::kAddressSanitizer) {
    EXPECT_LE(rss_after, rss_before + 4096) << "RSS returns near its baseline (KiB)";
  }
  Figures("chaos upstream: requests " + std::to_string(sent.load()) + " in " + std::to_string(chaos_s) +
          " s, unexpected " + std::to_string(bad.load()) + ", hung " + std::to_string(hung.load()) +
          "; fds " + std::to_string(fds_before) + " before, " + std::to_string(fds_peak_after) +
          " right after, " + std::to_string(fds_after) + " settled; VmRSS " + std::to_string(rss_before) +
          " KiB before, " + std::to_string(rss_after) + " KiB after");
  StopGently(proxy.process);
}

// ---- scenarios 4 and 5: a well-behaved upstream that checks what reaches it --------------

// True when `head` is a request head a strict HTTP/1.1 server accepts: a request line, then
// "name: value" lines with token names and values free of CR, LF and NUL.
bool WellFormedHead(const std::string& head) {
  static const std::regex request_line("[A-Z]+ [^ \\x00-\\x1f]+ HTTP/1\\.1");
  static const std::regex field("[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \\t]*[^\\x00-\\x08\\x0a-\\x1f\\x7f]*");
  std::vector<std::string> lines;
  for (size_t at = 0; at < head.size();) {
    const size_t end = head.find("\r\n", at);
    lines.push_back(head.substr(at, end - at));
    if (end == std::string::npos) break;
    at = end + 2;
  }
  if (lines.empty() || !std::regex_match(lines[0], request_line)) return false;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (!std::regex_match(lines[i], field)) return false;
  }
  return true;
}

// A poll()-driven keep-alive upstream on one thread: answers every request "ok", closes
// connections idle for a second (as nginx's keepalive_timeout would), and records every
// request head it sees.
class CheckingUpstream {
 public:
  CheckingUpstream() {
    listener_ = ListenLoopback(port_);
    fcntl(listener_, F_SETFL, O_NONBLOCK);  // the loop accepts until EAGAIN
    thread_ = std::thread([this] { Loop(); });
  }
  ~CheckingUpstream() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, c] : conns_) close(fd);
    close(listener_);
  }
  int port() const { return port_; }
  int64_t requests() const { return requests_.load(); }
  std::vector<std::string> malformed() {
    std::lock_guard lock(mu_);
    return malformed_;
  }

 private:
  struct Conn {
    std::string buf;
    Clock::time_point active;
  };

  // Consumes complete requests from `c.buf`; false when the connection must close.
  bool Drain(int fd, Conn& c) {
    for (;;) {
      const size_t end = c.buf.find("\r\n\r\n");
      if (end == std::string::npos) return c.buf.size() < 1 << 20;
      const std::string head = c.buf.substr(0, end);
      size_t consumed = end + 4;
      std::smatch m;
      if (std::regex_search(head, m, std::regex("\r\nContent-Length: *([0-9]+)", std::regex::icase))) {
        const size_t length = std::stoul(m[1].str());
        if (c.buf.size() < consumed + length) return true;
        consumed += length;
      } else if (std::regex_search(head, std::regex("\r\nTransfer-Encoding: *chunked", std::regex::icase))) {
        const size_t last = c.buf.find("\r\n0\r\n\r\n", end);
        if (last == std::string::npos) return true;
        consumed = last + 7;
      }
      ++requests_;
      // An obs-fold may arrive folded into its value (RFC 9112 §5.2): a header line of its own
      // is an injection.
      if (!WellFormedHead(head) || head.find("\nX-Injected") != std::string::npos ||
          head.find("/smuggled") != std::string::npos) {
        std::lock_guard lock(mu_);
        malformed_.push_back(head);
      }
      c.buf.erase(0, consumed);
      if (!SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")) return false;
    }
  }

  void Loop() {
    while (!stop_) {
      std::vector<pollfd> fds = {{listener_, POLLIN, 0}};
      for (auto& [fd, c] : conns_) fds.push_back({fd, POLLIN, 0});
      poll(fds.data(), fds.size(), 50);
      if (fds[0].revents & POLLIN) {
        for (int fd; (fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0;) {
          conns_[fd] = Conn{"", Clock::now()};
        }
      }
      const auto now = Clock::now();
      for (size_t i = 1; i < fds.size(); ++i) {
        const int fd = fds[i].fd;
        Conn& c = conns_[fd];
        bool keep = true;
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          char chunk[65536];
          const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
          if (n <= 0) {
            keep = false;
          } else {
            c.buf.append(chunk, static_cast<size_t>(n));
            c.active = now;
            keep = Drain(fd, c);
          }
        } else if (now - c.active > 1s) {
          keep = false;
        }
        if (!keep) {
          close(fd);
          conns_.erase(fd);
        }
      }
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> requests_{0};
  std::map<int, Conn> conns_;  // the loop's thread only
  std::mutex mu_;
  std::vector<std::string> malformed_;
  std::thread thread_;
};

TEST(ProxyReliability, FiveHundredKeepAliveConnectionsOnOneThreadAreAllServedAndReleased) {
  CheckingUpstream upstream;
  Sidecar proxy = StartSidecar("crowd", upstream.port(), "");
  const pid_t pid = proxy.pid();
  ASSERT_EQ(StatusOf(Get(proxy.inbound, "/warm")), 200);
  std::this_thread::sleep_for(1200ms);  // the warm-up's pooled connection idles out upstream
  ASSERT_EQ(StatusOf(Get(proxy.inbound, "/warm")), 200);
  const int fds_before = OpenFds(pid);
  const long rss_before = RssKib(pid);

  constexpr int kConnections = 500;
  constexpr int kRounds = 2;
  std::vector<int> conns;
  int refused = 0;
  for (int i = 0; i < kConnections; ++i) {
    const int fd = Connect(proxy.inbound);
    if (fd < 0) {
      ++refused;
      continue;
    }
    conns.push_back(fd);
  }
  const auto started = Clock::now();
  int served = 0, failed = 0, closed_cleanly = 0;
  for (int round = 0; round < kRounds; ++round) {
    // Every connection has a request outstanding at once: 500 concurrent on one thread.
    for (int fd : conns) SendAll(fd, "GET /r" + std::to_string(round) + " HTTP/1.1\r\nHost: crowd\r\n\r\n");
    for (int fd : conns) {
      const RawReply r = ReadReply(fd, 20s);
      if (r.status == 200 && r.complete && r.body == "ok") {
        ++served;
      } else if (r.status == 0 && r.closed) {
        ++closed_cleanly;
      } else {
        ++failed;
      }
    }
  }
  const double served_s = Seconds(Clock::now() - started);
  const int fds_held = OpenFds(pid);
  const long rss_held = RssKib(pid);
  for (int fd : conns) close(fd);
  // The upstream closes idle pooled connections after 1 s; the next request through the proxy
  // finds them closed and lets them go.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(StatusOf(Get(proxy.inbound, "/after")), 200);
  const int fds_after = SettledFds(pid, fds_before + 2, 3s);
  const long rss_after = RssKib(pid);

  EXPECT_TRUE(Alive(pid));
  EXPECT_EQ(failed, 0) << "every request served or its connection closed cleanly";
  EXPECT_EQ(served + closed_cleanly, kConnections * kRounds);
  EXPECT_EQ(served, kConnections * kRounds) << "with 20000 descriptors nothing needs refusing";
  // Not fds_before + kConnections: the warm-up's pooled upstream connection, counted in
  // fds_before, may have idled out meanwhile (it does when the 500 connects take over 1 s).
  EXPECT_GE(fds_held, kConnections) << "the connections really were open at once";
  EXPECT_LE(fds_after, fds_before + 2) << "descriptors return to their baseline";
  Figures("500 keep-alive connections on --threads 1: connected " + std::to_string(conns.size()) +
          ", refused " + std::to_string(refused) + ", requests served " + std::to_string(served) + "/" +
          std::to_string(kConnections * kRounds) + " in " + std::to_string(served_s) + " s, closed " +
          std::to_string(closed_cleanly) + ", failed " + std::to_string(failed) + "; fds " +
          std::to_string(fds_before) + " before, " + std::to_string(fds_held) + " held, " +
          std::to_string(fds_after) + " after; VmRSS " + std::to_string(rss_before) + " / " +
          std::to_string(rss_held) + " / " + std::to_string(rss_after) + " KiB");
  StopGently(proxy.process);
}

// The malformed inputs: hand-written cases, then deterministic garbage and truncations.
std::vector<std::pair<std::string, std::string>> MalformedCorpus() {
  std::vector<std::pair<std::string, std::string>> c = {
      {"no target", "GET\r\n\r\n"},
      {"bad version", "GET / HTTP/9.9\r\nHost: a\r\n\r\n"},
      {"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n"},
      {"bad method char", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"NUL in target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"s},
      {"request line over 16 KiB", "GET /" + std::string(17 * 1024, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"header over 16 KiB", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(17 * 1024, 'b') + "\r\n\r\n"},
      {"headers over 16 KiB", [] {
         std::string r = "GET / HTTP/1.1\r\nHost: a\r\n";
         for (int i = 0; i < 400; ++i) r += "X-H" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
         return r + "\r\n";
       }()},
      {"Content-Length letters", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n"},
      {"Content-Length negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"},
      {"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\nab"},
      {"Content-Length twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
      {"Content-Length overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"},
      {"CL and TE smuggling",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"TE not chunked last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
      {"bare LF injection", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\nX-Injected: 1\r\n\r\n"},
      {"bare CR injection", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rX-Injected: 1\r\n\r\n"},
      {"NUL in header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0X-Injected: 1\r\n\r\n"s},
      {"space in header name", "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n"},
      {"header without colon", "GET / HTTP/1.1\r\nHost: a\r\nX-Injected\r\n\r\n"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n X-Injected: 1\r\n\r\n"},
      {"CRLF injection in target", "GET /a%0d%0aX-Injected:%201\r\nX-Injected: 2 HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"truncated chunked body", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"},
      {"chunk size overflow",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\nab\r\n"},
      {"truncated Content-Length body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc"},
      {"truncated head", "GET / HTTP/1.1\r\nHost: a\r\nX-A: "},
      {"TLS hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s + std::string(64, '\x42')},
      {"all zero bytes", std::string(256, '\0')},
  };
  std::mt19937 rng(20261125);
  for (int i = 0; i < 120; ++i) {
    std::string junk(1 + rng() % 2048, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    c.emplace_back("garbage " + std::to_string(i), junk);
  }
  // A valid request cut at many lengths, then with one byte replaced by a control character.
  const std::string valid = "POST /orders?id=7 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-Note: fine\r\n\r\nhello";
  for (size_t cut = 1; cut < valid.size(); cut += 3) c.emplace_back("cut at " + std::to_string(cut), valid.substr(0, cut));
  for (size_t at = 0; at + 9 < valid.size(); at += 4) {
    std::string bad = valid;
    bad[at] = static_cast<char>(rng() % 2 ? '\x01' : '\x7f');
    c.emplace_back("control byte at " + std::to_string(at), bad);
  }
  return c;
}

TEST(ProxyReliability, MalformedRequestCorpusGets4xxOrCloseAndNeverReachesTheUpstream) {
  CheckingUpstream upstream;
  Sidecar proxy = StartSidecar("strict", upstream.port(), "", {"--timeout", "1s"});
  const pid_t pid = proxy.pid();
  const auto corpus = MalformedCorpus();
  int rejected_4xx = 0, closed = 0, passed = 0, bad = 0, good_checks = 0;
  std::map<int, int> statuses;
  std::vector<std::string> failures;
  const auto started = Clock::now();
  for (size_t i = 0; i < corpus.size(); ++i) {
    const auto& [name, bytes] = corpus[i];
    const int fd = Connect(proxy.inbound);
    ASSERT_GE(fd, 0) << "the proxy accepts after input " << i;
    SendAll(fd, bytes);
    shutdown(fd, SHUT_WR);  // nothing more is coming: a truncated input ends here
    const RawReply r = ReadReply(fd, 5s);
    close(fd);
    ++statuses[r.status];
    // Cuts of a valid request and flipped bytes in its body may still be valid requests,
    // and an obs-fold may be folded into one value (RFC 9112 §5.2 allows either).
    const bool may_pass = name.rfind("cut at", 0) == 0 || name.rfind("control byte", 0) == 0 || name == "obs-fold";
    if (r.status >= 400 && r.status < 500) {
      ++rejected_4xx;
    } else if (r.status == 0 && (r.closed || !r.timed_out)) {
      ++closed;
    } else if (may_pass && r.status > 0 && !r.timed_out) {
      ++passed;
    } else {
      ++bad;
      failures.push_back(name + ": status " + std::to_string(r.status) + (r.timed_out ? " (hung)" : ""));
    }
    if (i % 50 == 49) {
      ASSERT_EQ(StatusOf(Get(proxy.inbound, "/check")), 200) << "the proxy lives on after input " << i;
      ++good_checks;
    }
  }
  const double corpus_s = Seconds(Clock::now() - started);
  EXPECT_TRUE(Alive(pid));
  EXPECT_EQ(StatusOf(Get(proxy.inbound, "/check")), 200);
  std::string all_failures;
  for (const std::string& f : failures) all_failures += f + "; ";
  EXPECT_EQ(bad, 0) << all_failures;
  const std::vector<std::string> malformed = upstream.malformed();
  EXPECT_TRUE(malformed.empty()) << malformed.size() << " malformed requests reached the upstream, first: "
                                 << (malformed.empty() ? "" : malformed.front());
  std::string by_status;
  for (const auto& [status, n] : statuses) by_status += " " + std::to_string(status) + ":" + std::to_string(n);
  Figures("malformed corpus: " + std::to_string(corpus.size()) + " inputs in " + std::to_string(corpus_s) +
          " s, 4xx " + std::to_string(rejected_4xx) + ", closed without answer " + std::to_string(closed) +
          ", valid-after-mutation " + std::to_string(passed) + ", unexpected " + std::to_string(bad) +
          "; good checks " + std::to_string(good_checks) + "; upstream saw " +
          std::to_string(upstream.requests()) + " requests, malformed " + std::to_string(malformed.size()) +
          "; statuses (0 = none)" + by_status);
  StopGently(proxy.process);
}

// ---- scenario 6: out of descriptors (issue 26, point 3) --------------------------------

// Issue 26: under --nofile 256 and 1,000 clients the sidecar accepted clients until no
// descriptor was left for upstreams, and answered 1.35M of 1.36M requests with 502.
TEST(ProxyReliability, OutOfDescriptorsTheSidecarClosesWhatIsOverItsLimitAndServesTheRestForReal) {
  CheckingUpstream upstream;
  // The sidecar inherits 256 descriptors: the limit is lowered in this process for the spawn only.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  Sidecar proxy = StartSidecar("fdlimit", upstream.port(), "");
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  std::smatch m;
  const std::string log = proxy.process->err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("\"max_client_connections\":([0-9]+)"))) << log;
  const int limit = std::stoi(m[1].str());
  EXPECT_EQ(limit, (256 - 64) / 2 / 2) << "two listeners share what 256 descriptors leave";

  constexpr int kClients = 1000;
  std::vector<int> conns;
  for (int i = 0; i < kClients; ++i) {
    const int fd = Connect(proxy.inbound);
    if (fd >= 0) conns.push_back(fd);
  }
  ASSERT_EQ(static_cast<int>(conns.size()), kClients) << "the kernel completes every handshake";
  const auto started = Clock::now();
  for (size_t i = 0; i < conns.size(); ++i) SendAll(conns[i], "GET /c" + std::to_string(i) + " HTTP/1.1\r\nHost: fdlimit\r\n\r\n");
  int served = 0, refused = 0, bad_gateway = 0, other = 0;
  for (int fd : conns) {
    const RawReply r = ReadReply(fd, 10s);
    if (r.status == 200 && r.complete && r.body == "ok") {
      ++served;
    } else if (r.status == 0 && r.closed) {
      ++refused;
    } else if (r.status == 502) {
      ++bad_gateway;
    } else {
      ++other;
    }
  }
  const double answered_s = Seconds(Clock::now() - started);
  const std::string metrics = Metrics(proxy.admin);
  const double counted = MetricSum(metrics, "mesh_client_connections_refused_total", {"reason=\"limit\""});
  const double accept_errors = MetricSum(metrics, "mesh_client_connections_refused_total", {"reason=\"accept_error\""});
  for (int fd : conns) close(fd);
  // Once the clients are gone (the proxy has seen them close), their places are free again.
  const auto release_deadline = Clock::now() + 5s;
  while (MetricSum(Metrics(proxy.admin), "mesh_client_connections", {"direction=\"inbound\""}) > 0 &&
         Clock::now() < release_deadline) {
    std::this_thread::sleep_for(20ms);
  }
  int served_after = 0;
  for (int i = 0; i < 100; ++i) {
    if (StatusOf(Get(proxy.inbound, "/after")) == 200) ++served_after;
  }

  EXPECT_TRUE(Alive(proxy.pid()));
  EXPECT_EQ(bad_gateway, 0) << "no client is accepted only to get 502 for lack of a descriptor";
  EXPECT_EQ(other, 0);
  EXPECT_EQ(served, limit) << "the clients within the limit get the upstream's real answer";
  EXPECT_EQ(served + refused, kClients);
  EXPECT_EQ(counted, refused) << "every refusal is counted";
  EXPECT_EQ(accept_errors, 0) << "the limit keeps accept() from running out of descriptors";
  EXPECT_EQ(served_after, 100);
  Figures("256 descriptors, 1000 clients: limit " + std::to_string(limit) + " per listener; served " +
          std::to_string(served) + " (200 from the upstream), closed at once " + std::to_string(refused) +
          " (counted " + std::to_string(static_cast<int64_t>(counted)) + "), 502 " + std::to_string(bad_gateway) +
          ", accept errors " + std::to_string(static_cast<int64_t>(accept_errors)) + ", all answered in " +
          std::to_string(answered_s) + " s; afterwards " + std::to_string(served_after) + "/100 served");
  StopGently(proxy.process);
}

// Issue 26: meshd on civetweb gave each sidecar's kept-alive connection a worker thread of 16,
// so 16 of 30 sidecars registered and, after a restart, never all 30. Here 30 real sidecars
// register; meshd is killed (-9) and restarted on the same store and port; every sidecar's
// heartbeat must land on the new meshd within one heartbeat interval (5 s) and a few seconds.
TEST(ProxyReliability, ThirtySidecarsAllRegisterAndAllHeartbeatAgainAfterMeshdIsKilled) {
  constexpr int kSidecars = 30;
  char tmpl[] = "/tmp/mesh-fleet-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string db = dir + "/mesh.db";
  auto meshd = std::make_unique<MeshdProcess>(db);
  ASSERT_TRUE(meshd->ready()) << meshd->process().err();
  const std::string meshd_url = meshd->url();
  const std::string meshd_port = meshd_url.substr(meshd_url.rfind(':') + 1);
  std::vector<Sidecar> fleet;
  for (int i = 0; i < kSidecars; ++i) fleet.push_back(StartSidecar("fleet", 41000 + i, meshd_url, {"--outbound", ""}));
  CurlHttpClient control(2000);
  // Every instance of fleet, healthy, with its last heartbeat (ns) at or after `since_ns`.
  const auto heartbeats_since = [&](int64_t since_ns) {
    Result<HttpClientResponse> r = control.Send("GET", meshd_url + "/v1/services/fleet", "", {});
    if (!r.ok() || r->status != 200) return 0;
    int fresh = 0;
    const Json::Value doc = ParseJsonText(r->body);
    for (const Json::Value& i : doc["instances"]) {
      const Result<int64_t> beat = ParseRfc3339(i["last_heartbeat"].asString());
      fresh += i["healthy"].asBool() && beat.ok() && *beat >= since_ns ? 1 : 0;
    }
    return fresh;
  };
  const auto wait_for_all = [&](int64_t since_ns, Clock::duration limit) {
    const auto deadline = Clock::now() + limit;
    int fresh = 0;
    while ((fresh = heartbeats_since(since_ns)) < kSidecars && Clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    return fresh;
  };
  const auto unix_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  ASSERT_EQ(wait_for_all(0, 20s), kSidecars) << "not every sidecar registered";

  meshd->process().Signal(SIGKILL);
  meshd->process().Wait(10s);
  test_support::PortHold hold(std::stoi(meshd_port));
  ASSERT_TRUE(hold.held()) << "port " << meshd_port << " was taken while meshd was down";
  meshd.reset();
  const int64_t restarted_ns = unix_ns();
  const auto restarted_at = Clock::now();
  Subprocess restarted({MESHD_BIN, "--listen", "127.0.0.1:" + meshd_port, "--db", db});
  ASSERT_TRUE(restarted.WaitForStderr("meshd listening", 10s)) << restarted.err();
  hold.Release();
  // One heartbeat interval, plus the restart and a loaded machine's slack.
  const int back = wait_for_all(restarted_ns, 12s);
  const double all_back_s = Seconds(Clock::now() - restarted_at);
  EXPECT_EQ(back, kSidecars) << "sidecars whose heartbeat reached the restarted meshd within 12 s";
  std::printf("[figures] %d sidecars: all registered; after meshd kill -9 and restart, %d heartbeating again "
              "within %.1f s of the restart\n",
              kSidecars, back, all_back_s);
  for (Sidecar& s : fleet) StopGently(s.process);
  restarted.Signal(SIGTERM);
  restarted.Wait(20s);
  std::filesystem::remove_all(dir);
}

// ---- issue 26, point 4: a burst toward a slow upstream ------------------------------------

// An upstream on raw sockets, a thread per connection: "/hold" is answered once Release() was
// called, unless the peer closes first (counted: an abandonment the upstream could see);
// anything else at once; keep-alive. Counts connections open at once and their peak.
class HoldingUpstream {
 public:
  HoldingUpstream() {
    listener_ = ListenLoopback(port_);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~HoldingUpstream() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (std::thread& t : connections_) t.join();
    close(listener_);
  }
  int port() const { return port_; }
  void Release() { released_ = true; }
  int open() const { return open_.load(); }
  int peak() const { return peak_.load(); }
  int held() const { return held_.load(); }
  int abandoned() const { return abandoned_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int now = ++open_;
      for (int peak = peak_.load(); now > peak && !peak_.compare_exchange_weak(peak, now);) {
      }
      std::lock_guard lock(mu_);
      connections_.emplace_back([this, fd] {
        Serve(fd);
        close(fd);
        --open_;
      });
    }
  }

  void Serve(int fd) {
    std::string buf;
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buf.append(chunk, static_cast<size_t>(n));
      const size_t end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const bool hold = buf.rfind("GET /hold ", 0) == 0;
      buf.erase(0, end + 4);
      ++requests_;
      if (hold) {
        ++held_;
        bool gone = false;
        while (!released_ && !stop_ && !(gone = PeerClosed(fd, 10ms))) {
        }
        --held_;
        if (gone) {
          ++abandoned_;
          return;
        }
      }
      if (!SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) return;
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> released_{false};
  std::atomic<int> open_{0};
  std::atomic<int> peak_{0};
  std::atomic<int> held_{0};
  std::atomic<int> abandoned_{0};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
};

// Polls the `wanted` connections until all but `until_left` have a whole answer (or are closed),
// or the deadline passes; keeps the answers, and when the last one came.
struct Arrivals {
  std::vector<RawReply> replies;
  Clock::time_point last{};
};
Arrivals ReadAll(const std::vector<int>& fds, const std::vector<bool>& wanted, size_t until_left,
                 std::chrono::seconds timeout) {
  Arrivals a;
  a.replies.resize(fds.size());
  std::vector<std::string> bufs(fds.size());
  std::vector<bool> done(fds.size(), false);
  size_t left = 0;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (wanted[i]) ++left;
    else done[i] = true;
  }
  const auto deadline = Clock::now() + timeout;
  while (left > until_left && Clock::now() < deadline) {
    std::vector<pollfd> polled;
    std::vector<size_t> index;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!done[i]) {
        polled.push_back({fds[i], POLLIN, 0});
        index.push_back(i);
      }
    }
    if (poll(polled.data(), polled.size(), 50) <= 0) continue;
    for (size_t k = 0; k < polled.size(); ++k) {
      if (polled[k].revents == 0) continue;
      const size_t i = index[k];
      char chunk[4096];
      const ssize_t n = recv(fds[i], chunk, sizeof chunk, MSG_DONTWAIT);
      RawReply& r = a.replies[i];
      if (n <= 0) {
        r.closed = true;
      } else {
        bufs[i].append(chunk, static_cast<size_t>(n));
      }
      const size_t end = bufs[i].find("\r\n\r\n");
      if (end != std::string::npos) {
        r.head = bufs[i].substr(0, end);
        if (r.head.size() >= 12) r.status = std::atoi(r.head.c_str() + 9);
        const std::string cl = r.Header("Content-Length");
        r.body = bufs[i].substr(end + 4);
        r.complete = !cl.empty() && r.body.size() >= std::stoul(cl);
      }
      if (r.complete || r.closed) {
        done[i] = true;
        --left;
        a.last = Clock::now();
      }
    }
  }
  return a;
}

TEST(ProxyReliability, ABurstTowardASlowUpstreamOpensAtMostTheLimitAndAnswersTheRest503AtOnce) {
  HoldingUpstream upstream;
  // Requests in progress stay at their default (1024): those beyond the queue are refused at
  // once, so in progress never pass connections + pending (150) here.
  constexpr int kConnections = 50, kPending = 100, kClients = 2000;
  // The upstream holds its answers for the whole refusal phase, which takes over 10 s under
  // ASan on a loaded machine: a head timeout above the test's own deadlines (20 s + 30 s), so
  // that the proxy's 504s never stand in for the limits this test is about.
  Sidecar proxy = StartSidecar("burst", upstream.port(), "",
                               {"--max-upstream-connections", std::to_string(kConnections), "--max-upstream-pending",
                                std::to_string(kPending), "--timeout", "120s"});
  std::vector<int> conns;
  for (int i = 0; i < kClients; ++i) {
    const int fd = Connect(proxy.inbound);
    if (fd >= 0) conns.push_back(fd);
  }
  ASSERT_EQ(static_cast<int>(conns.size()), kClients);
  const auto started = Clock::now();
  for (int fd : conns) SendAll(fd, "GET /hold HTTP/1.1\r\nHost: burst\r\n\r\n");
  // The upstream answers nothing until released: every answer before that is the proxy's own.
  const Arrivals refused = ReadAll(conns, std::vector<bool>(conns.size(), true), kConnections + kPending, 20s);
  int overflow = 0, other_early = 0;
  std::vector<bool> still(conns.size(), false);
  for (size_t i = 0; i < conns.size(); ++i) {
    const RawReply& r = refused.replies[i];
    if (r.status == 503 && r.complete && IsProxyJsonError(r) &&
        ParseJsonText(r.body)["error"].asString().find("upstream overflow") != std::string::npos) {
      ++overflow;
    } else if (r.status == 0 && !r.closed) {
      still[i] = true;
    } else {
      ++other_early;
    }
  }
  const double refused_in_s = Seconds(refused.last - started);
  const int held = upstream.held();
  const int peak_held_phase = upstream.peak();
  const std::string metrics = Metrics(proxy.admin);
  const double by_requests = MetricSum(metrics, "mesh_upstream_overflow_total", {"limit=\"requests\""});
  const double by_pending = MetricSum(metrics, "mesh_upstream_overflow_total", {"limit=\"pending\""});

  upstream.Release();
  const auto released = Clock::now();
  const Arrivals served = ReadAll(conns, still, 0, 30s);
  int ok = 0;
  for (size_t i = 0; i < conns.size(); ++i) {
    if (still[i] && served.replies[i].status == 200 && served.replies[i].body == "ok") ++ok;
  }
  const double served_in_s = Seconds(served.last - released);
  for (int fd : conns) close(fd);

  EXPECT_EQ(held, kConnections) << "the upstream holds as many requests as connections are allowed";
  EXPECT_EQ(peak_held_phase, kConnections) << "never more connections than the limit";
  EXPECT_EQ(overflow, kClients - kConnections - kPending);
  EXPECT_EQ(other_early, 0);
  EXPECT_EQ(by_requests, 0);
  EXPECT_EQ(by_pending, overflow) << "every 503 is counted";
  EXPECT_EQ(ok, kConnections + kPending) << "the queued requests are served once connections finish";
  EXPECT_EQ(upstream.requests(), kConnections + kPending) << "nothing refused reached the upstream";
  EXPECT_TRUE(Alive(proxy.pid()));
  Figures("burst of " + std::to_string(kClients) + " toward an upstream holding its answers, limits connections " +
          std::to_string(kConnections) + " / pending " + std::to_string(kPending) + ": upstream peak connections " + std::to_string(peak_held_phase) + ", held " +
          std::to_string(held) + "; 503 at once " + std::to_string(overflow) + " (counted " +
          std::to_string(static_cast<int64_t>(by_pending)) + " as limit=pending), the last " + std::to_string(refused_in_s) +
          " s after the burst was sent; once released " + std::to_string(ok) + " served in " +
          std::to_string(served_in_s) + " s, upstream peak overall " + std::to_string(upstream.peak()));
  StopGently(proxy.process);
}

TEST(ProxyReliability, ClientsThatGiveUpCloseTheirUpstreamConnectionsAndTheNextRequestIsServedAtOnce) {
  HoldingUpstream upstream;
  constexpr int kClients = 20;
  Sidecar proxy = StartSidecar("abandon", upstream.port(), "", {"--max-upstream-connections", std::to_string(kClients)});
  std::vector<int> conns;
  for (int i = 0; i < kClients; ++i) {
    const int fd = Connect(proxy.inbound);
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /hold HTTP/1.1\r\nHost: abandon\r\n\r\n");
    conns.push_back(fd);
  }
  const auto until_held = Clock::now() + 10s;
  while (upstream.held() < kClients && Clock::now() < until_held) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(upstream.held(), kClients);
  const auto gave_up = Clock::now();
  for (int fd : conns) close(fd);
  const auto until_seen = Clock::now() + 10s;
  while (upstream.abandoned() < kClients && Clock::now() < until_seen) std::this_thread::sleep_for(1ms);
  const double seen_in_s = Seconds(Clock::now() - gave_up);
  const int abandoned = upstream.abandoned();
  const auto next_sent = Clock::now();
  const int next = StatusOf(Get(proxy.inbound, "/now", {{"x-mesh-timeout", "10s"}}));
  const double next_in_s = Seconds(Clock::now() - next_sent);

  // A deadline that passes: 504, and the upstream sees its connection closed.
  const int before = upstream.abandoned();
  const int late = StatusOf(Get(proxy.inbound, "/hold", {{"x-mesh-timeout", "300ms"}}));
  const auto until_closed = Clock::now() + 10s;
  while (upstream.abandoned() == before && Clock::now() < until_closed) std::this_thread::sleep_for(1ms);
  const std::string metrics = Metrics(proxy.admin);

  EXPECT_EQ(abandoned, kClients) << "the upstream saw every abandoned request's connection closed";
  EXPECT_EQ(next, 200) << "no connection stays taken by an abandoned request";
  EXPECT_EQ(late, 504);
  EXPECT_EQ(upstream.abandoned(), before + 1) << "a passed deadline closes the upstream connection";
  EXPECT_EQ(MetricSum(metrics, "mesh_upstream_abandoned_total", {"direction=\"inbound\""}), kClients);
  EXPECT_TRUE(Alive(proxy.pid()));
  Figures(std::to_string(kClients) + " clients gave up on held requests: the upstream saw " + std::to_string(abandoned) +
          " connections closed within " + std::to_string(seen_in_s) + " s; the next request: " + std::to_string(next) +
          " in " + std::to_string(next_in_s) + " s; deadline passed: " + std::to_string(late) +
          " and the upstream connection closed");
  StopGently(proxy.process);
}

}  // namespace
}  // namespace mesh

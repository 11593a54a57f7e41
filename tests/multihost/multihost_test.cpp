// The mesh across hosts: four network namespaces ("hosts") joined by a bridge in a fifth, with
// addresses of their own (10.213.0.0/24, which exists only inside them; nothing touches the
// root namespace's links or routes). meshd runs on host m; the demo service with its sidecar on
// hosts b, c and d, B calling C calling D, and a second C on host d so that C survives host c.
// Every process is started with `ip netns exec`; the test reaches the hosts from threads that
// joined a host's namespace (setns is per thread). Each test builds its own mesh and tears it
// down, processes first (by pid), then the namespaces, also when it fails; namespaces left by an
// interrupted run (same prefix, a pid no longer alive) are removed first.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mesh/http_curl/curl_http_client.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh::multihost_test {
using namespace std::chrono_literals;
using test_support::RunProcess;
using test_support::RunResult;
using test_support::Subprocess;

constexpr const char* kPrefix = "meshmh";
constexpr const char* kSubnet = "10.213.0.";
constexpr const char* kTraceId = "4d4f53485f4d554c5449484f53545f31";

std::string IpTool() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs `ip args...`; "" when it succeeded, else what it printed.
std::string Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {IpTool()};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = RunProcess(argv);
  if (r.exit_code == 0) return "";
  std::string command = "ip";
  for (const std::string& a : args) command += " " + a;
  return command + ": " + r.err + (r.err.empty() ? "exit " + std::to_string(r.exit_code) : "");
}

// Kills what runs in the namespace (by pid) and deletes it.
void RemoveNamespace(const std::string& name) {
  const RunResult pids = RunProcess({IpTool(), "netns", "pids", name});
  std::istringstream in(pids.out);
  for (pid_t pid = 0; in >> pid;) {
    if (pid > 1) kill(pid, SIGKILL);
  }
  (void)Ip({"netns", "del", name});
}

// Namespaces named kPrefix<pid>-... whose pid is not alive, and that run's directory: an
// interrupted earlier run's.
void RemoveLeftovers() {
  const RunResult list = RunProcess({IpTool(), "netns", "list"});
  std::istringstream in(list.out);
  for (std::string line; std::getline(in, line);) {
    const std::string name = line.substr(0, line.find(' '));
    if (!name.starts_with(kPrefix)) continue;
    const pid_t owner =
        static_cast<pid_t>(std::atol(name.c_str() + std::string_view(kPrefix).size()));
    if (owner > 0 && (kill(owner, 0) == 0 || errno != ESRCH)) continue;  // a live run's
    RemoveNamespace(name);
    std::error_code ignored;
    std::filesystem::remove_all(
        std::filesystem::temp_directory_path() / ("meshmh-" + std::to_string(owner)), ignored);
  }
}

// Why this machine cannot run the suite, or "" when it can.
std::string WhyNotRunnable() {
  if (geteuid() != 0) return "needs root (creates network namespaces); run as root to include it";
  if (IpTool().empty()) return "no `ip` tool (iproute2) found";
  const std::string probe = std::string(kPrefix) + std::to_string(getpid()) + "-probe";
  if (std::string failed = Ip({"netns", "add", probe}); !failed.empty())
    return "`ip netns` unavailable: " + failed;
  // Some containers allow namespaces but not the links the suite needs: try both kinds there.
  std::string failed = Ip({"-n", probe, "link", "add", "probe-a", "type", "veth", "peer", "name",
                           "probe-b"});
  if (failed.empty()) failed = Ip({"-n", probe, "link", "add", "probe-br", "type", "bridge"});
  (void)Ip({"netns", "del", probe});
  if (!failed.empty()) return "veth or bridge links unavailable: " + failed;
  return "";
}

// The hosts and their bridge. Each host has eth0 (10.213.0.N/24, default route through it)
// whose peer v<host> is in the bridge namespace. Deleting the namespaces removes the links.
class Network {
 public:
  explicit Network(std::string tag) : tag_(std::move(tag)) {}
  ~Network() {
    for (auto it = hosts_.rbegin(); it != hosts_.rend(); ++it) RemoveNamespace(Ns(*it));
    if (bridge_made_) RemoveNamespace(Ns("br"));
  }

  std::string Ns(const std::string& host) const { return tag_ + "-" + host; }
  static std::string Address(int n) { return kSubnet + std::to_string(n); }

  // "" on success, else the failing command.
  std::string Bridge() {
    if (std::string e = Ip({"netns", "add", Ns("br")}); !e.empty()) return e;
    bridge_made_ = true;
    for (const std::vector<std::string>& step : std::vector<std::vector<std::string>>{
             {"-n", Ns("br"), "link", "add", "br0", "type", "bridge"},
             {"-n", Ns("br"), "link", "set", "br0", "up"}}) {
      if (std::string e = Ip(step); !e.empty()) return e;
    }
    return "";
  }
  std::string AddHost(const std::string& host, int n) {
    if (std::string e = Ip({"netns", "add", Ns(host)}); !e.empty()) return e;
    hosts_.push_back(host);
    const std::string veth = "v" + host;
    for (const std::vector<std::string>& step : std::vector<std::vector<std::string>>{
             {"-n", Ns("br"), "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
              Ns(host)},
             {"-n", Ns("br"), "link", "set", veth, "master", "br0"},
             {"-n", Ns("br"), "link", "set", veth, "up"},
             {"-n", Ns(host), "addr", "add", Address(n) + "/24", "dev", "eth0"},
             {"-n", Ns(host), "link", "set", "eth0", "up"},
             {"-n", Ns(host), "link", "set", "lo", "up"},
             {"-n", Ns(host), "route", "add", "default", "dev", "eth0"}}) {
      if (std::string e = Ip(step); !e.empty()) return e;
    }
    return "";
  }
  // Cuts the host off the bridge (its peer link down) or puts it back.
  std::string SetLink(const std::string& host, bool up) {
    return Ip({"-n", Ns("br"), "link", "set", "v" + host, up ? "up" : "down"});
  }

 private:
  std::string tag_;
  std::vector<std::string> hosts_;
  bool bridge_made_ = false;
};

// Runs `f` on a thread that joined `ns`'s network namespace: its sockets are that host's.
template <class F>
auto OnHost(const std::string& ns, F f) -> decltype(f()) {
  decltype(f()) result{};
  std::thread worker([&] {
    const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && setns(fd, CLONE_NEWNET) == 0) result = f();
    if (fd >= 0) close(fd);
  });
  worker.join();
  return result;
}

// A GET from the calling thread; status -1 when no HTTP answer came.
HttpClientResponse Get(const std::string& url,
                       std::vector<std::pair<std::string, std::string>> headers = {},
                       long timeout_ms = 3000) {
  CurlHttpClient client(timeout_ms);
  Result<HttpClientResponse> r = client.Send("GET", url, "", headers);
  if (!r.ok()) return HttpClientResponse{.status = -1, .body = r.status().message(), .headers = {}};
  return *r;
}

Json::Value ParseJson(const std::string& text) {
  Json::Value v;
  std::istringstream in(text);
  Json::CharReaderBuilder builder;
  std::string errors;
  if (!Json::parseFromStream(builder, in, &v, &errors)) return Json::Value();
  return v;
}

class MultiHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = WhyNotRunnable(); !why.empty())
      GTEST_SKIP() << "multihost suite skipped: " << why;
    RemoveLeftovers();
    net_ = std::make_unique<Network>(std::string(kPrefix) + std::to_string(getpid()));
    dir_ =
        (std::filesystem::temp_directory_path() / ("meshmh-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_EQ(net_->Bridge(), "");
    for (const auto& [host, n] :
         std::vector<std::pair<std::string, int>>{{"m", 1}, {"b", 2}, {"c", 3}, {"d", 4}}) {
      ASSERT_EQ(net_->AddHost(host, n), "");
    }
    // B may call C and C may call D: nothing else.
    std::ofstream(dir_ + "/policy.json")
        << R"({"allow":[{"from":"b","to":"c"},{"from":"c","to":"d"}]})";
    StartMeshd();
    ASSERT_TRUE(meshd_ready_) << meshd_->err();
    // Three ways of saying the address: listen on the host's address (C on c), listen on every
    // interface and let the default route tell (B, D), listen on every interface and --advertise
    // (the second C, on d).
    StartService("b", "b", "c", 8080, {"--listen", "0.0.0.0:15001", "--plaintext-inbound"});
    StartService("c", "c", "d", 8080, {"--listen", Network::Address(3) + ":15001"});
    StartService("d", "d", "", 8080, {"--listen", "0.0.0.0:15001"});
    StartService("d", "c", "d", 8081,
                 {"--listen", "0.0.0.0:15011", "--advertise", Network::Address(4) + ":15011",
                  "--outbound", "127.0.0.1:15012", "--admin", "0.0.0.0:15091"});
    for (const std::string& admin : {Admin(2), Admin(3), Admin(4), Admin(4, 15091)}) {
      ASSERT_TRUE(PollFromM(
          admin + "/ready", [](const HttpClientResponse& r) { return r.status == 200; }, 30s))
          << admin << " never ready";
    }
  }

  void TearDown() override {
    StopTraffic();
    processes_.clear();  // SIGKILL by pid, reaped
    meshd_.reset();
    net_.reset();  // then the namespaces and their links
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void StartMeshd() {
    meshd_ = std::make_unique<Subprocess>(std::vector<std::string>{
        IpTool(), "netns", "exec", net_->Ns("m"), MESHD_BIN, "--listen", "0.0.0.0:9000",
        "--advertise", Network::Address(1) + ":9000", "--db", dir_ + "/mesh.db", "--retention",
        "36500d", "--policy", dir_ + "/policy.json"});
    meshd_ready_ = meshd_->WaitForStderr("meshd listening", 15s);
  }

  // Demo service `service` on `host` at `port` (calling `next` through its sidecar), and its
  // sidecar with mTLS and the service's own scoped token.
  void StartService(const std::string& host, const std::string& service, const std::string& next,
                    int port, std::vector<std::string> sidecar_flags) {
    const std::string token = test_support::WriteTokenFile(
        dir_ + "/" + service + "-" + host + ".token",
        test_support::CreateToken(dir_ + "/mesh.db", service, {"--ttl", "0"}));
    std::vector<std::string> proxy = {IpTool(),
                                      "netns",
                                      "exec",
                                      net_->Ns(host),
                                      MESHPROXY_BIN,
                                      "--service",
                                      service,
                                      "--service-port",
                                      std::to_string(port),
                                      "--meshd",
                                      MeshdUrl(),
                                      "--mtls",
                                      "--token-file",
                                      token,
                                      "--data-dir",
                                      dir_ + "/" + service + "-" + host};
    const auto has = [&](const char* flag) {
      return std::find(sidecar_flags.begin(), sidecar_flags.end(), flag) != sidecar_flags.end();
    };
    if (!has("--outbound"))
      sidecar_flags.insert(sidecar_flags.end(), {"--outbound", "127.0.0.1:15002"});
    if (!has("--admin")) sidecar_flags.insert(sidecar_flags.end(), {"--admin", "0.0.0.0:15090"});
    const std::string outbound =
        sidecar_flags[std::find(sidecar_flags.begin(), sidecar_flags.end(), "--outbound") -
                      sidecar_flags.begin() + 1];
    proxy.insert(proxy.end(), sidecar_flags.begin(), sidecar_flags.end());
    std::vector<std::string> app = {IpTool(),       "netns",          "exec",
                                    net_->Ns(host), DEMO_SERVICE_BIN, "--name",
                                    service,        "--port",         std::to_string(port),
                                    "--meshd",      MeshdUrl()};
    if (!next.empty()) app.insert(app.end(), {"--next", next, "--outbound", outbound});
    processes_.push_back(std::make_unique<Subprocess>(app));
    processes_.push_back(std::make_unique<Subprocess>(proxy));
  }

  static std::string MeshdUrl() { return "http://" + Network::Address(1) + ":9000"; }
  static std::string Admin(int host, int port = 15090) {
    return "http://" + Network::Address(host) + ":" + std::to_string(port);
  }
  static std::string Edge() { return "http://" + Network::Address(2) + ":15001"; }

  // Polls `url` from host m until `done` holds or `timeout` passes.
  bool PollFromM(const std::string& url, const std::function<bool(const HttpClientResponse&)>& done,
                 std::chrono::milliseconds timeout) {
    return OnHost(net_->Ns("m"), [&] {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      while (std::chrono::steady_clock::now() < deadline) {
        if (done(Get(url))) return true;
        std::this_thread::sleep_for(100ms);
      }
      return false;
    });
  }

  // Whether meshd lists `host:port` as a healthy instance of `service`.
  static bool Healthy(const HttpClientResponse& r, const std::string& host, int port) {
    if (r.status != 200) return false;
    const Json::Value doc = ParseJson(r.body);
    for (const Json::Value& i : doc["instances"]) {
      if (i["host"].asString() == host && i["port"].asInt() == port) return i["healthy"].asBool();
    }
    return false;
  }

  // Inbound requests a sidecar has answered (its mesh_requests_total, inbound), from host m.
  double Served(const std::string& admin) {
    const HttpClientResponse r = OnHost(net_->Ns("m"), [&] { return Get(admin + "/metrics"); });
    double total = 0;
    std::istringstream in(r.body);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("mesh_requests_total{") &&
          line.find("direction=\"inbound\"") != std::string::npos) {
        total += std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return total;
  }

  // Calls B's edge from host m in a loop, one request at a time, until StopTraffic.
  void StartTraffic() {
    traffic_ = std::thread([this] {
      OnHost(net_->Ns("m"), [this] {
        while (!stop_traffic_) {
          const HttpClientResponse r = Get(Edge() + "/orders", {}, 15000);
          ++sent_;
          if (r.status != 200) {
            ++failed_;
            std::lock_guard lock(failures_mu_);
            failures_.push_back(std::to_string(r.status) + " " + r.body.substr(0, 200));
          }
          std::this_thread::sleep_for(20ms);
        }
        return 0;
      });
    });
  }
  void StopTraffic() {
    stop_traffic_ = true;
    if (traffic_.joinable()) traffic_.join();
  }
  std::string Failures() {
    std::lock_guard lock(failures_mu_);
    std::string all;
    for (const std::string& f : failures_) all += f + "\n";
    return all;
  }
  // Waits until `more` further requests went through.
  bool TrafficFor(int64_t more, std::chrono::milliseconds timeout) {
    const int64_t until = sent_ + more;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (sent_ < until && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    return sent_ >= until;
  }

  std::unique_ptr<Network> net_;
  std::string dir_;
  std::unique_ptr<Subprocess> meshd_;
  bool meshd_ready_ = false;
  std::vector<std::unique_ptr<Subprocess>> processes_;
  std::thread traffic_;
  std::atomic<bool> stop_traffic_{false};
  std::atomic<int64_t> sent_{0}, failed_{0};
  std::mutex failures_mu_;
  std::vector<std::string> failures_;
};

TEST_F(MultiHostTest, BCallsCCallsDAcrossThreeHostsOverMtlsInOneTrace) {
  // Each sidecar registered the address other hosts reach it at.
  const std::string services = MeshdUrl() + "/v1/services/";
  EXPECT_TRUE(PollFromM(
      services + "b", [](const HttpClientResponse& r) { return Healthy(r, "10.213.0.2", 15001); },
      5s));
  EXPECT_TRUE(PollFromM(
      services + "c", [](const HttpClientResponse& r) { return Healthy(r, "10.213.0.3", 15001); },
      5s));
  EXPECT_TRUE(PollFromM(
      services + "c", [](const HttpClientResponse& r) { return Healthy(r, "10.213.0.4", 15011); },
      5s));
  EXPECT_TRUE(PollFromM(
      services + "d", [](const HttpClientResponse& r) { return Healthy(r, "10.213.0.4", 15001); },
      5s));

  const std::string traceparent = std::string("00-") + kTraceId + "-00f067aa0ba902b7-01";
  HttpClientResponse r;
  ASSERT_TRUE(PollFromM(
      Edge() + "/checkout",
      [&](const HttpClientResponse& got) {
        r = got;
        return got.status == 200;
      },
      20s))
      << r.status << " " << r.body;
  r = OnHost(net_->Ns("m"), [&] {
    return Get(Edge() + "/checkout", {{"traceparent", traceparent}});
  });
  ASSERT_EQ(r.status, 200) << r.body;
  const Json::Value answer = ParseJson(r.body);
  EXPECT_EQ(answer["service"].asString(), "b") << r.body;
  EXPECT_EQ(answer["next"]["service"].asString(), "c") << r.body;
  EXPECT_EQ(answer["next"]["next"]["service"].asString(), "d") << r.body;

  // One trace, its spans from the three hosts' services.
  std::set<std::string> traced;
  const bool stitched = PollFromM(
      MeshdUrl() + "/v1/traces/" + kTraceId,
      [&](const HttpClientResponse& got) {
        traced.clear();
        std::function<void(const Json::Value&)> collect = [&](const Json::Value& v) {
          if (v.isObject()) {
            if (v["service"].isString()) traced.insert(v["service"].asString());
            for (const std::string& k : v.getMemberNames()) collect(v[k]);
          } else if (v.isArray()) {
            for (const Json::Value& e : v) collect(e);
          }
        };
        if (got.status == 200) collect(ParseJson(got.body));
        return traced.contains("b") && traced.contains("c") && traced.contains("d");
      },
      15s);
  EXPECT_TRUE(stitched) << "services in trace: " << traced.size();

  // mTLS only: a plain caller on another host gets no answer from C's inbound port.
  const HttpClientResponse plain =
      OnHost(net_->Ns("m"), [] { return Get("http://10.213.0.3:15001/"); });
  EXPECT_NE(plain.status, 200) << plain.body;
  // The policy allows B -> C and C -> D only: B's call straight to D is refused by D's sidecar.
  const HttpClientResponse denied = OnHost(net_->Ns("b"), [] {
    return Get("http://127.0.0.1:15002/x", {{"Host", "d"}});
  });
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find("policy does not allow b to call d"), std::string::npos)
      << denied.body;
}

TEST_F(MultiHostTest, AHostCutOffIsEjectedItsTrafficFailsOverAndItRejoins) {
  StartTraffic();
  // Both instances of C serve before the cut.
  const auto until_both = std::chrono::steady_clock::now() + 20s;
  while ((Served(Admin(3)) < 1 || Served(Admin(4, 15091)) < 1) &&
         std::chrono::steady_clock::now() < until_both) {
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GE(Served(Admin(3)), 1);
  ASSERT_GE(Served(Admin(4, 15091)), 1);
  ASSERT_EQ(failed_, 0) << Failures();

  ASSERT_EQ(net_->SetLink("c", false), "");
  const int64_t sent_at_cut = sent_;
  // meshd stops hearing from host c: its instance is marked unhealthy (one TTL, 15 s), while
  // B's calls go on through the C on host d.
  const std::string services_c = MeshdUrl() + "/v1/services/c";
  EXPECT_TRUE(PollFromM(
      services_c,
      [](const HttpClientResponse& r) {
        return r.status == 200 && !Healthy(r, "10.213.0.3", 15001) &&
               Healthy(r, "10.213.0.4", 15011);
      },
      30s));
  EXPECT_TRUE(TrafficFor(20, 15s));
  EXPECT_GT(sent_ - sent_at_cut, 20);

  // Back on the bridge: heartbeats reach meshd again and the instance serves again.
  ASSERT_EQ(net_->SetLink("c", true), "");
  EXPECT_TRUE(PollFromM(
      services_c, [](const HttpClientResponse& r) { return Healthy(r, "10.213.0.3", 15001); },
      20s));
  const double served_before = Served(Admin(3));
  const auto until_served = std::chrono::steady_clock::now() + 45s;
  while (Served(Admin(3)) <= served_before && std::chrono::steady_clock::now() < until_served) {
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_GT(Served(Admin(3)), served_before);
  StopTraffic();
  std::cout << "failover: " << sent_ << " requests, " << failed_ << " failed\n";
  // One request at a time: at most the one in flight when the link went down fails.
  EXPECT_LE(failed_, 1) << Failures();
}

TEST_F(MultiHostTest, MeshdRestartedOnItsHostWhileTrafficFlows) {
  StartTraffic();
  ASSERT_TRUE(TrafficFor(20, 20s));
  meshd_->Signal(SIGTERM);
  EXPECT_EQ(meshd_->Wait(20s).exit_code, 0);
  EXPECT_TRUE(TrafficFor(10, 10s));  // meshd away: the sidecars route on what they know
  StartMeshd();
  ASSERT_TRUE(meshd_ready_) << meshd_->err();
  // The new meshd hears from every sidecar again, and the calls never stopped succeeding.
  const std::string services = MeshdUrl() + "/v1/services/";
  EXPECT_TRUE(PollFromM(
      services + "c", [](const HttpClientResponse& r) { return Healthy(r, "10.213.0.3", 15001); },
      20s));
  EXPECT_TRUE(PollFromM(
      services + "d", [](const HttpClientResponse& r) { return Healthy(r, "10.213.0.4", 15001); },
      20s));
  EXPECT_TRUE(TrafficFor(20, 20s));
  StopTraffic();
  std::cout << "meshd restart: " << sent_ << " requests, " << failed_ << " failed\n";
  EXPECT_EQ(failed_, 0) << Failures();
  EXPECT_GT(sent_, 50);
}

// A host with no default route cannot tell which of its addresses others reach: a sidecar
// listening on every interface there refuses to start and asks for --advertise.
TEST(MultiHostAddress, AWildcardListenWithoutADefaultRouteAsksForAdvertise) {
  if (const std::string why = WhyNotRunnable(); !why.empty())
    GTEST_SKIP() << "multihost suite skipped: " << why;
  RemoveLeftovers();
  Network isolated(std::string(kPrefix) + std::to_string(getpid()) + "x");
  ASSERT_EQ(isolated.Bridge(), "");  // a namespace with only its loopback up: no route out
  ASSERT_EQ(Ip({"-n", isolated.Ns("br"), "link", "set", "lo", "up"}), "");
  const RunResult r = RunProcess({IpTool(), "netns", "exec", isolated.Ns("br"), MESHPROXY_BIN,
                                  "--service", "orders", "--service-port", "8081", "--listen",
                                  "0.0.0.0:15001", "--meshd", "http://127.0.0.1:9000"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("give --advertise HOST:PORT"), std::string::npos) << r.err;
  // With it, the same sidecar starts (and is stopped here once it listens).
  Subprocess advertised({IpTool(), "netns", "exec", isolated.Ns("br"), MESHPROXY_BIN, "--service",
                         "orders", "--service-port", "8081", "--listen", "0.0.0.0:15001",
                         "--advertise", "10.213.0.9:15001", "--meshd", "http://127.0.0.1:9000"});
  EXPECT_TRUE(advertised.WaitForStderr("\"advertised\":\"10.213.0.9:15001\"", 10s))
      << advertised.err();
}

}  // namespace mesh::multihost_test

// meshproxy against the npm `ws` WebSocket library (ws/package-lock.json pins it) under node: a
// ws echo server behind a sidecar, and a ws client calling it through that sidecar's inbound
// port, then through another sidecar's outbound port over mTLS. The client checks every echo
// byte for byte and a clean close (ws/echo_client.js).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "free_port.h"
#include "interop_support.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using interop::RunFor;
using interop::TempDir;
using test_support::MeshdProcess;
using test_support::RunResult;
using test_support::Subprocess;
using namespace std::chrono_literals;

// A meshproxy and the ports it bound (read from its log).
struct Sidecar {
  std::unique_ptr<Subprocess> process;
  int inbound = 0;
  int outbound = 0;
  int admin = 0;
};

class WsInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!interop::PeerInstalled(NODE_BIN, "node") || !interop::PeerInstalled(NPM_BIN, "npm")) return;
    install_ = RunFor({NPM_BIN, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", WS_DIR}, 240s);
  }

  void SetUp() override {
    ASSERT_TRUE(interop::PeerInstalled(NODE_BIN, "node"));
    ASSERT_TRUE(interop::PeerInstalled(NPM_BIN, "npm"));
    ASSERT_EQ(install_.exit_code, 0) << "npm ci in " << WS_DIR << " failed:\n" << install_.out << install_.err;
    server_ = std::make_unique<Subprocess>(std::vector<std::string>{NODE_BIN, std::string(WS_DIR) + "/echo_server.js"});
    ASSERT_TRUE(server_->WaitForOutput("listening ", 20s)) << server_->err();
    std::smatch m;
    const std::string out = server_->out();
    ASSERT_TRUE(std::regex_search(out, m, std::regex("listening ([0-9]+)")));
    server_port_ = m[1].str();
  }
  void TearDown() override {
    for (Sidecar* s : {&callee_, &caller_}) {
      if (s->process) s->process->Signal(SIGTERM);
    }
    if (server_) server_->Signal(SIGTERM);
  }

  void StartSidecar(Sidecar& s, const std::string& service, const std::vector<std::string>& flags) {
    s.outbound = test_support::FreePort();
    std::vector<std::string> args = {MESHPROXY_BIN, "--service", service, "--service-port", server_port_,
                                     "--listen", "127.0.0.1:0", "--outbound",
                                     "127.0.0.1:" + std::to_string(s.outbound), "--admin", "127.0.0.1:0",
                                     "--threads", "1"};
    args.insert(args.end(), flags.begin(), flags.end());
    s.process = std::make_unique<Subprocess>(args);
    ASSERT_TRUE(s.process->WaitForStderr("meshproxy listening", 20s)) << s.process->err();
    const std::string err = s.process->err();
    for (auto [key, port] : {std::pair{"inbound", &s.inbound}, std::pair{"admin", &s.admin}}) {
      std::smatch bound;
      ASSERT_TRUE(std::regex_search(err, bound, std::regex(std::string("\"") + key + "\":\"http://127\\.0\\.0\\.1:([0-9]+)")))
          << err;
      *port = std::stoi(bound[1].str());
    }
  }

  RunResult Echo(int port, const std::string& host) {
    return RunFor({NODE_BIN, std::string(WS_DIR) + "/echo_client.js", "ws://127.0.0.1:" + std::to_string(port) + "/",
                   host},
                  60s);
  }

  // Polls the sidecar's /metrics until it shows `needle` (the telemetry thread counts every 500 ms).
  bool MetricsShow(const Sidecar& s, const std::string& needle) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (interop::Fetch("GET", "http://127.0.0.1:" + std::to_string(s.admin) + "/metrics").body.find(needle) !=
          std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  static RunResult install_;
  TempDir dir_;
  std::unique_ptr<Subprocess> server_;
  std::string server_port_;
  Sidecar callee_, caller_;
};

RunResult WsInterop::install_;

TEST_F(WsInterop, EchoesThroughOneSidecar) {
  StartSidecar(callee_, "wsecho", {});
  const RunResult r = Echo(callee_.inbound, "wsecho");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "echoed 22 messages\n");
  EXPECT_TRUE(MetricsShow(callee_, "mesh_tunnels_total{direction=\"inbound\",service=\"wsecho\"} 1"));
  EXPECT_TRUE(MetricsShow(callee_, "mesh_requests_total{code=\"101\",direction=\"inbound\",service=\"wsecho\"} 1"));
}

TEST_F(WsInterop, EchoesThroughOutboundMtlsAndInbound) {
  MeshdProcess meshd(dir_.File("mesh.db"));
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const auto mtls = [&](const std::string& service) {
    const std::string token = test_support::CreateToken(dir_.File("mesh.db"), service, {"--ttl", "0"});
    return std::vector<std::string>{"--meshd", meshd.url(), "--mtls", "--token-file",
                                    test_support::WriteTokenFile(dir_.File(service + ".token"), token),
                                    "--data-dir", dir_.File(service)};
  };
  StartSidecar(callee_, "wsecho", mtls("wsecho"));
  std::vector<std::string> caller_flags = mtls("wsclient");
  caller_flags.push_back("--plaintext-inbound");
  StartSidecar(caller_, "wsclient", caller_flags);
  // Once the caller's sidecar has found wsecho's instance, a plain GET answers 200 "ok".
  const std::string via = "http://127.0.0.1:" + std::to_string(caller_.outbound) + "/";
  HttpClientResponse ready;
  for (int attempt = 0; attempt < 100 && ready.status != 200; ++attempt) {
    ready = interop::Fetch("GET", via, "", {{"Host", "wsecho"}});
    if (ready.status != 200) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(ready.status, 200) << ready.body;
  const RunResult r = Echo(caller_.outbound, "wsecho");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "echoed 22 messages\n");
  EXPECT_TRUE(MetricsShow(caller_, "mesh_tunnels_total{direction=\"outbound\",service=\"wsclient\"} 1"));
  EXPECT_TRUE(MetricsShow(
      callee_, "mesh_requests_total{client_service=\"wsclient\",code=\"101\",direction=\"inbound\",service=\"wsecho\"} 1"));
}

}  // namespace
}  // namespace mesh

// Helpers for the interop suites, which run meshd against real third-party peers (Prometheus,
// promtool, the OpenTelemetry JS SDK under node, headless Chromium): a temporary directory that
// removes itself, a program run to its end, plain HTTP GETs, JSON parsing, a deadline-bound
// poll, a check that a peer's binary is installed, the port a Prometheus-project server bound,
// and a Prometheus server.
// Not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <json/json.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "mesh/http/http_client.h"
#include "mesh/http/http_message.h"
#include "mesh/http_curl/curl_http_client.h"
#include "subprocess.h"

namespace mesh::interop {

// A fresh directory under $TMPDIR or /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mesh_interop_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
      return;
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The port that a server of the Prometheus project (Prometheus, Alertmanager) started with
// --web.listen-address=127.0.0.1:0 and --log.level=info bound, from its `msg="Listening on"`
// log line; 0 when the line does not come within `timeout`. Binding port 0 leaves no window in
// which another suite could take the port first. Go's logger writes a line in one write(), so
// the line is whole once its start is seen.
inline int ListeningPort(test_support::Subprocess& process, std::chrono::milliseconds timeout) {
  if (!process.WaitForStderr("msg=\"Listening on\" address=127.0.0.1:", timeout)) return 0;
  const std::string err = process.err();
  std::smatch m;
  if (!std::regex_search(err, m, std::regex(R"(msg="Listening on" address=127\.0\.0\.1:([0-9]+))"))) return 0;
  return std::stoi(m[1].str());
}

// Runs `argv` to its end (killed by pid past `timeout`) and returns what it printed and its exit.
inline test_support::RunResult RunFor(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  test_support::Subprocess p(argv);
  return p.Wait(timeout);
}

// One HTTP request; a transport failure comes back as status 0 with the reason as the body, so
// that a poll can keep trying while the peer is still starting.
inline HttpClientResponse Fetch(const std::string& method, const std::string& url,
                                const std::string& body = "",
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  CurlHttpClient client(5000);
  Result<HttpClientResponse> r = client.Send(method, url, body, headers);
  if (!r.ok()) return {0, r.status().message(), {}};
  return *r;
}

inline HttpClientResponse Get(const std::string& url) { return Fetch("GET", url); }

// Parses JSON text; a null value when it is not JSON.
inline Json::Value ParseJson(const std::string& text) {
  Json::Value v;
  Json::CharReaderBuilder builder;
  std::string errors;
  std::istringstream in(text);
  if (!Json::parseFromStream(builder, in, &v, &errors)) return Json::Value();
  return v;
}

inline std::string ToJson(const Json::Value& v) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, v);
}

// Calls `done` every `every` until it returns true or `timeout` passes; returns its last answer.
// This is the only waiting the suites do: no bare sleeps.
inline bool PollUntil(std::chrono::milliseconds timeout, const std::function<bool()>& done,
                      std::chrono::milliseconds every = std::chrono::milliseconds(200)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

// Succeeds when the peer's program (an absolute path found by CMake) is executable; the failure
// says how to install it, because an interop test that silently skips proves nothing.
inline ::testing::AssertionResult PeerInstalled(const std::string& path, const std::string& what) {
  if (!path.empty() && path.find("NOTFOUND") == std::string::npos &&
      access(path.c_str(), X_OK) == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << what << " is not installed (CMake found '" << path
                                       << "'): run scripts/install-deps.sh, then re-run cmake";
}

// The number of non-overlapping occurrences of `needle` in `text`.
inline size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// The instant-vector result of a PromQL query, or null while Prometheus has no sample yet.
inline Json::Value QueryPrometheus(const std::string& prometheus, const std::string& promql) {
  const HttpClientResponse r = Get(prometheus + "/api/v1/query?query=" + UrlEncode(promql));
  if (r.status != 200) return Json::Value();
  const Json::Value body = ParseJson(r.body);
  if (body["status"].asString() != "success" || body["data"]["result"].empty())
    return Json::Value();
  return body["data"]["result"];
}

// A Prometheus server (`binary`, the path CMake found) on a loopback port of the kernel's choice,
// running `config` (written to prometheus.yml in `dir`, so relative rule_files resolve there)
// with its TSDB in `dir`. Stopped with SIGTERM by the test, or killed by pid when the test ends
// early.
class PrometheusServer {
 public:
  // `listen` is 127.0.0.1:PORT to come back on a port a stopped server had; `extra`, more flags.
  PrometheusServer(const TempDir& dir, const std::string& config, const std::string& binary,
                   const std::string& listen = "127.0.0.1:0", const std::vector<std::string>& extra = {}) {
    EXPECT_TRUE(WriteFile(dir.File("prometheus.yml"), config));
    std::vector<std::string> args = {binary, "--config.file=" + dir.File("prometheus.yml"),
                                     "--storage.tsdb.path=" + dir.File("tsdb"), "--web.listen-address=" + listen,
                                     "--log.level=info"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<test_support::Subprocess>(args);
  }

  // Reads the port Prometheus bound from its log, then polls /-/ready; false when Prometheus
  // did not come up within `timeout`. url() is empty until the port is known.
  bool WaitReady(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (!process_->started()) return false;
    const int port = ListeningPort(*process_, timeout);
    if (port == 0) return false;
    url_ = "http://127.0.0.1:" + std::to_string(port);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return PollUntil(std::max(left, std::chrono::milliseconds(0)),
                     [&] { return Get(url_ + "/-/ready").status == 200; });
  }

  const std::string& url() const { return url_; }
  test_support::RunResult Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait(std::chrono::seconds(20));
  }

 private:
  std::string url_;
  std::unique_ptr<test_support::Subprocess> process_;
};

}  // namespace mesh::interop

// MeshdProcess: a real meshd on 127.0.0.1 and a free port, for integration tests. It waits
// for the "listening" log line (with a deadline) and reads the port from it. CreateToken: a
// scoped token from the real `meshd token create`.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "subprocess.h"

namespace mesh::test_support {

class MeshdProcess {
 public:
  explicit MeshdProcess(const std::string& db, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {MESHD_BIN, "--listen", "127.0.0.1:0", "--db", db};
    // Tests store data with fixed dates: unless a test is about retention, none of it may age
    // out while the test runs, however far the calendar has moved since the test was written.
    if (std::find(extra.begin(), extra.end(), "--retention") == extra.end()) {
      args.insert(args.end(), {"--retention", "36500d"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Subprocess>(args);
    if (!process_->WaitForStderr("meshd listening", std::chrono::seconds(10))) return;
    std::smatch m;
    const std::string err = process_->err();
    // The "meshd listening" line's url: other lines may name other servers (--remote-write's).
    if (std::regex_search(err, m, std::regex("\"url\":\"(https?)://127\\.0\\.0\\.1:([0-9]+)"))) {
      url_ = m[1].str() + "://127.0.0.1:" + m[2].str();
    }
  }

  bool ready() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  Subprocess& process() { return *process_; }

  // Stops meshd with SIGTERM and returns how it exited.
  RunResult Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait(std::chrono::seconds(20));
  }

  HttpClientResponse Request(const std::string& method, const std::string& path,
                             const std::string& body = "",
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    CurlHttpClient client;
    Result<HttpClientResponse> r = client.Send(method, url_ + path, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : HttpClientResponse{};
  }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string url_;
};

// `meshd token create --service <service> [extra...]` on the store `db`: the token it printed
// (empty, with a test failure, when it failed).
inline std::string CreateToken(const std::string& db, const std::string& service,
                               const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {MESHD_BIN, "--db", db, "token", "create", "--service", service};
  args.insert(args.end(), extra.begin(), extra.end());
  const RunResult r = RunProcess(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  EXPECT_EQ(token.find('\n'), std::string::npos) << r.out;
  return r.exit_code == 0 ? token : "";
}

// Writes `token` to `path` with mode 0600, as token files must be.
inline std::string WriteTokenFile(const std::string& path, const std::string& token) {
  {
    std::ofstream out(path);
    out << token << "\n";
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

}  // namespace mesh::test_support

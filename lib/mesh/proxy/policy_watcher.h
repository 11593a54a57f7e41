// PolicyWatcher: a meshproxy's copy of meshd's authorization policy (GET /v1/policy), fetched
// at start and refreshed on a thread of its own. The last policy fetched is kept through a
// meshd outage, and in the data directory (policy.json) through a restart during one, so that
// a proxy never falls back to allowing everything because meshd is away.
// Current() takes no lock: it is called on the proxy's request path. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mesh/base/status.h"
#include "mesh/http/http_client.h"
#include "mesh/security/authorization_policy.h"

namespace mesh {

class PolicyWatcher {
 public:
  struct Options {
    std::string meshd_url;
    std::string token;     // sent as a bearer token (meshd may require one for reads)
    std::string data_dir;  // where policy.json is cached; empty: not cached
    std::chrono::milliseconds refresh_every{5000};
  };

  // `client` defaults to an AsioHttpClient with a 2 s timeout.
  explicit PolicyWatcher(Options options, std::unique_ptr<HttpClient> client = nullptr);
  ~PolicyWatcher();  // stops the thread

  // Fetches once (falling back to the cached copy), then refreshes in the background.
  void Start();
  // Fetches now (meshproxy's SIGHUP calls it beside the thread: fetches are serialised).
  // Errors: meshd unreachable or its answer unusable (the current policy stays).
  Status Refresh();

  // The policy, or null when meshd has none (every identified caller allowed).
  std::shared_ptr<const AuthorizationPolicy> Current() const { return policy_.load(); }
  std::string version() const;

 private:
  Status Apply(const std::string& body, bool cache);
  void Run();

  const Options options_;
  std::mutex fetch_mu_;  // client_ (not thread-safe) and Apply's version check
  std::unique_ptr<HttpClient> client_;
  std::atomic<std::shared_ptr<const AuthorizationPolicy>> policy_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string version_;
  std::thread thread_;
};

}  // namespace mesh

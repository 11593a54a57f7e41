// RegistryClient: a meshproxy's link to meshd's service registry, on a thread of its own.
// - Registers the proxy's instance (retrying every second until meshd answers), heartbeats it,
//   and deregisters on request (SIGTERM path). When meshd has forgotten it (404 on a
//   heartbeat: expired, deleted by an operator, a fresh store) it is not registered() and
//   dropped() until registering again succeeds, tried on the same one-second cadence.
// - Discovery: Instances(service) answers from a snapshot refreshed in the background from
//   GET /v1/services/{name}; a service asked for the first time is fetched at once, in one
//   request however many callers ask (until then Instances() says it is not known yet). When
//   meshd is unreachable the last known instances stay in use: routing survives a
//   control-plane outage. Each refresh sends the ETag of the instances held (If-None-Match):
//   meshd answers 304 with no body while the service's instances and their health are
//   unchanged, so an unchanged registry costs a poll no transfer and meshd no query.
// - Long-polling (watch_wait > 0): once first answered, each watched service is watched on a
//   thread and connection of its own with GET /v1/services/{name}?wait=30 and its ETag; meshd
//   holds the request until the service changes (answered at once with the change) or the wait
//   ends (304), and the next request follows at once. A change so reaches the proxy within
//   meshd's 100 ms tick instead of the next poll. meshd marks the answers it may hold with
//   Mesh-Wait: an answer without it (a meshd before long-polling) hands the service back to the
//   2 s poll; a 429 (meshd holds its --max-watchers) or a failure waits refresh_every and tries again.
// Instances() takes no lock when the service is already watched (an atomic snapshot): it is
// called on the proxy's request path. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/http/http_client.h"
#include "mesh/proxy/upstream.h"

namespace mesh {

class RegistryClient {
 public:
  struct Options {
    std::string meshd_url;  // http://host:port
    std::string token;      // bearer token for meshd writes, or empty
    // This instance; empty service: discovery only, nothing registered.
    std::string service;
    std::string host = "127.0.0.1";
    int port = 0;
    std::string meta_json = "{}";  // a JSON object
    int ttl_seconds = 15;
    std::chrono::milliseconds heartbeat_every{5000};
    std::chrono::milliseconds refresh_every{2000};
    std::chrono::seconds watch_wait{30};  // long-poll for this long; 0: poll every refresh_every
    // The watchers' clients, one each (timeout: the wait plus 5 s). Default: AsioHttpClient, or no
    // long-polling when the constructor was given a client.
    std::function<std::unique_ptr<HttpClient>(long timeout_ms)> make_watch_client = nullptr;
  };

  // `client` defaults to an AsioHttpClient with a 2 s timeout.
  explicit RegistryClient(Options options, std::unique_ptr<HttpClient> client = nullptr);
  ~RegistryClient();  // stops the thread (does not deregister)

  // Replaces the registration's meta object; call before Start() (meshproxy learns its admin
  // port only once that server is bound).
  void SetMeta(std::string meta_json) { options_.meta_json = std::move(meta_json); }
  // Starts registering, heartbeating and refreshing.
  void Start();
  // Stops the thread, then removes the instance from meshd (when registered).
  Status Deregister();

  // The healthy instances of `service` last seen (empty when meshd has none), or nullopt while
  // meshd has not answered for it yet (the first ask starts watching it and wakes the thread).
  // Without a meshd URL every service is known and has no instance.
  std::optional<std::vector<Endpoint>> Instances(const std::string& service);
  // Fetches every watched service now (tests, and start-up).
  void RefreshNow();

  bool registered() const { return registered_.load(); }
  // meshd answered a heartbeat with 404 and the instance is not registered again yet.
  bool dropped() const { return dropped_.load(); }
  std::string instance_id() const;
  int64_t meshd_failures() const { return failures_.load(); }
  // Refreshes meshd answered 304: the instances held were still current.
  int64_t unchanged_refreshes() const { return unchanged_.load(); }
  // Services long-polled now (a thread and connection each).
  size_t long_polled() const;

 private:
  using Snapshot = std::map<std::string, std::vector<Endpoint>>;
  void Run();
  void Register();
  void Heartbeat();
  // Fetches the watched services (only those never answered for, when `new_only`).
  void Refresh(bool new_only);
  // Long-polls `service` (from `etag`) until stopped, or until meshd turns out not to long-poll.
  void Watch(const std::string& service, HttpClient& client, std::string etag);
  // Starts a watcher for each watched service answered once and not yet watched.
  void StartWatchers();
  // Cancels the watchers' calls and joins their threads (stop_ set).
  void StopWatchers();
  // Takes a 200 or 404 answer for `service` into the snapshot; false when unusable.
  bool Apply(const std::string& service, const HttpClientResponse& answer);
  // `if_none_match`: an ETag to send as If-None-Match, or "".
  Result<HttpClientResponse> Send(const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& if_none_match);
  Result<HttpClientResponse> Send(HttpClient& client, const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& if_none_match);

  Options options_;
  std::unique_ptr<HttpClient> client_;  // used by the thread only (and Deregister after it)
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::mutex snapshot_write_mu_;  // the thread's and the watchers' updates, one at a time
  mutable std::mutex mu_;  // watched_, id_, stop_, watchers_, long_polled_
  std::condition_variable wake_;
  std::set<std::string> watched_;
  std::string id_;
  bool stop_ = false;
  std::atomic<bool> registered_{false};
  std::atomic<bool> dropped_{false};
  std::atomic<int64_t> failures_{0};
  std::atomic<int64_t> unchanged_{0};
  std::map<std::string, std::string> etags_;  // service -> ETag of its snapshot entry; the thread's
  struct Watcher {
    std::unique_ptr<HttpClient> client;
    std::thread thread;
  };
  bool long_poll_;  // watchers may start (false once meshd answered a wait without Mesh-Wait)
  std::map<std::string, Watcher> watchers_;  // by service, started once each
  std::set<std::string> long_polled_;        // services whose watcher runs: the poll skips them
  std::thread thread_;
};

}  // namespace mesh

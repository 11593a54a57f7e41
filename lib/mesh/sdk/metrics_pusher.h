// MetricsPusher: for services that are not scraped, pushes a MetricsRegistry to meshd
// (`POST /v1/metrics?service=S&instance=I`, Prometheus text) every interval from a background
// thread, and once more when stopped so that the last counts are not lost. A failed push is
// counted and retried at the next interval with the then-current values (counters are
// cumulative, so nothing is lost but resolution).
//
//   mesh::MetricsPusher pusher(registry, {.meshd = "http://127.0.0.1:9000", .service = "worker",
//                                        .instance = "worker-1"});
//   pusher.Start();
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mesh/base/status.h"
#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/telemetry/metrics.h"

namespace mesh {

class MetricsPusher {
 public:
  struct Options {
    std::string meshd;     // http(s)://host:port
    std::string service;   // the service label meshd files the samples under
    std::string instance;  // this process, e.g. host:port or a pod-like name
    std::string token;     // bearer token when meshd wants one
    std::chrono::milliseconds interval{15000};
  };

  // The client defaults to a CurlHttpClient of its own.
  MetricsPusher(const MetricsRegistry& registry, Options options, std::unique_ptr<HttpClient> client = nullptr);
  ~MetricsPusher();  // Stop()

  // Errors: InvalidArgument for a bad URL, empty service, or an interval under 100 ms.
  Status Start();
  // Pushes one last time and joins the thread. Idempotent.
  void Stop();
  // One push now, on the caller's thread.
  Status PushOnce();

  int64_t pushed() const { return pushed_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  void Run();

  const MetricsRegistry& registry_;
  Options options_;
  std::unique_ptr<HttpClient> client_;
  std::mutex client_mu_;  // one push at a time on the client
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<int64_t> pushed_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace mesh

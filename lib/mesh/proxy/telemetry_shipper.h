// TelemetryShipper: turns the proxy's request records into metrics, spans and access-log
// records, and ships them to meshd, all off the request path.
//
// The I/O threads only call Record(), which pushes the record into a lock-free bounded queue
// (BoundedQueue) and never blocks: when the queue is full the record is dropped and counted.
// A background thread drains the queue every `drain_every` (and ships every `flush_every`): it
// updates the metrics (per-series
// lookups take locks, so they happen here), builds a SERVER (inbound) or CLIENT (outbound) span
// and an access-log record per request, and POSTs them to meshd as OTLP/HTTP JSON; every
// `metrics_every` it pushes the registry in Prometheus text to /v1/metrics. A batch meshd does
// not accept (down, slow, erroring) is dropped and counted in mesh_telemetry_dropped_total:
// requests keep flowing at full speed, and shipping resumes by itself when meshd returns.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mesh/base/bounded_queue.h"
#include "mesh/http/http_client.h"
#include "mesh/proxy/http_proxy.h"
#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/metrics.h"
#include "mesh/telemetry/span.h"

namespace mesh {

class TelemetryShipper {
 public:
  struct Options {
    std::string meshd_url;  // empty: metrics only, nothing shipped
    std::string token;
    std::string service;    // the proxy's service
    std::string instance;   // labels the metric pushes (several instances of one service)
    // Records the I/O threads may queue between two drains; also bounds what waits for meshd.
    // A full queue drops records: drain_every × the request rate must stay under it (4,096 per
    // 50 ms: 80,000 requests/s). Its memory is written as it is used, and a busy proxy uses it all.
    size_t queue_capacity = 4096;
    std::chrono::milliseconds drain_every{50};  // the queue into metrics, spans and logs
    std::chrono::milliseconds flush_every{500};  // drained and shipped to meshd
    std::chrono::milliseconds metrics_every{5000};
    bool access_log = true;
    double access_log_sample = 1.0;  // the share of requests logged, 0..1
  };

  // Registers its metric families in `registry` (which must outlive it). `client` defaults to
  // an AsioHttpClient with a 2 s timeout.
  TelemetryShipper(Options options, MetricsRegistry& registry,
                   std::unique_ptr<HttpClient> client = nullptr);
  ~TelemetryShipper();  // drains the queue, makes one last shipping attempt, stops

  // The request path: never blocks. false when the queue was full (the record is dropped).
  bool Record(ProxiedRequest request, HttpProxy::Direction direction);

  // Drains and ships now (tests, and shutdown).
  void Flush();

  int64_t shipped_spans() const { return shipped_spans_.load(); }
  // Records, spans, logs and metric pushes lost so far.
  int64_t dropped() const { return queue_full_.load() + lost_.load(); }

 private:
  struct Entry {
    ProxiedRequest request;
    HttpProxy::Direction direction = HttpProxy::Direction::kInbound;
  };
  void Run();
  void Drain();
  void Ship();
  void PushMetrics();
  void Drop(const char* kind, size_t n);
  bool Post(const std::string& path, const std::string& content_type, const std::string& body);

  Options options_;
  MetricsRegistry& registry_;
  std::unique_ptr<HttpClient> client_;
  BoundedQueue<Entry> queue_;
  Family<Counter>* requests_;
  Family<Histogram>* durations_;
  Family<Counter>* retries_;
  Family<Counter>* proxy_errors_;
  Family<Counter>* denials_;
  Family<Counter>* dropped_family_;
  // Built, not shipped yet (thread only). Deques: when meshd is away the oldest is dropped for
  // each new one, which a vector made cost the whole backlog's length per record.
  std::deque<Span> spans_;
  std::deque<LogRecord> logs_;
  std::mt19937_64 sample_random_{std::random_device{}()};
  std::atomic<int64_t> shipped_spans_{0};
  std::atomic<int64_t> queue_full_{0};  // records refused by a full queue
  std::atomic<int64_t> lost_{0};        // spans, logs and pushes meshd did not take
  int64_t records_counted_ = 0;         // queue_full_ already added to the metric
  std::mutex mu_;  // one drain and ship at a time (the thread, or Flush)
  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mesh

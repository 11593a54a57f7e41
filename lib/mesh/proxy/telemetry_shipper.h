// TelemetryShipper: counts the proxy's requests into its metrics, and turns them into spans and
// access-log records shipped to meshd, all without slowing the request path.
//
// The I/O threads call Record(), which counts the request at once (RequestMetrics: lock-free,
// exact at any load), then pushes it into a lock-free bounded queue (BoundedQueue) for its span
// and access-log record; the push never blocks: when the queue is full the span (and the log
// record, if the request was sampled for one) is dropped and counted in
// mesh_telemetry_dropped_total{kind="spans"|"logs"}. The access-log sample is drawn on the
// request path, so that a dropped record's log is counted exactly. A background thread drains
// the queue every `drain_every` into a SERVER (inbound) or CLIENT (outbound) span and an
// access-log record per request (no span for a request its caller marked unsampled), and POSTs them to meshd as OTLP/HTTP JSON every `flush_every`;
// every `metrics_every` it pushes the registry in Prometheus text to /v1/metrics (labelled with the
// service and instance, as a Pushgateway grouping key). mesh_telemetry_queue_depth is the queue's
// length at each drain, against mesh_telemetry_queue_capacity. A batch meshd
// does not accept (down, slow, erroring) is dropped and counted in the same counter
// (kind="spans", "logs" or "metrics"): requests keep flowing at full speed, and shipping resumes
// by itself when meshd returns.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mesh/base/bounded_queue.h"
#include "mesh/http/http_client.h"
#include "mesh/proxy/http_proxy.h"
#include "mesh/proxy/request_metrics.h"
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
    // A full queue drops spans and logs (never metrics): drain_every × the request rate must stay
    // under it (4,096 per 50 ms: 80,000 requests/s). Its memory is written as it is used, and a
    // busy proxy uses it all.
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

  // The request path: never blocks. Counts the request; false when the queue was full (its span
  // and log record are dropped and counted).
  bool Record(ProxiedRequest request, HttpProxy::Direction direction);

  // Drains and ships now (tests, and shutdown).
  void Flush();

  // The instance label of the next pushes: the address as bound, known once the listener is up
  // (a port 0 picks one).
  void SetInstance(std::string instance);

  int64_t shipped_spans() const { return shipped_spans_.load(); }
  // Spans, log records and metric pushes lost so far.
  int64_t dropped() const { return lost_.load(); }

 private:
  struct Entry {
    ProxiedRequest request;
    HttpProxy::Direction direction = HttpProxy::Direction::kInbound;
    bool log = false;  // an access-log record goes with the span
  };
  void Run();
  void Drain();
  void Ship();
  void PushMetrics();
  void Drop(Counter& kind, size_t n);
  bool Post(const std::string& path, const std::string& content_type, const std::string& body);

  Options options_;
  MetricsRegistry& registry_;
  std::unique_ptr<HttpClient> client_;
  BoundedQueue<Entry> queue_;
  RequestMetrics metrics_;
  // mesh_telemetry_dropped_total's series, resolved once: the request path counts into them.
  Counter* spans_dropped_;
  Counter* logs_dropped_;
  Counter* pushes_dropped_;
  Gauge* queue_depth_;
  // Built, not shipped yet (thread only). Deques: when meshd is away the oldest is dropped for
  // each new one, which a vector made cost the whole backlog's length per record.
  std::deque<Span> spans_;
  std::deque<LogRecord> logs_;
  std::atomic<int64_t> shipped_spans_{0};
  std::atomic<int64_t> lost_{0};  // spans, logs and pushes dropped
  std::mutex mu_;  // one drain and ship at a time (the thread, or Flush)
  std::mutex instance_mu_;  // options_.instance
  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mesh

// OtlpExporter: meshd --export-otlp. Sends the store's OTLP outbox (store/otlp_outbox.h) to an
// OTLP/HTTP receiver (an OpenTelemetry Collector, Jaeger, Tempo, Loki 3, another meshd):
// traces to BASE/v1/traces, logs to BASE/v1/logs, metrics to BASE/v1/metrics, as protobuf,
// gzip-compressed, oldest first, in batches. Each round it first takes the tail-sampling
// decision of the traces that have settled (no span for settle_ns): kept traces' spans become
// ready, the others are removed and counted (sampled_out).
//
// A batch leaves the outbox only once the receiver answered it: 2xx (sent; a partial success's
// rejected count is dropped and counted as rejected, its message reported) or a 4xx other than
// 429 (refused for good: dropped and counted, as OTLP/HTTP says). A transport error, 5xx or 429
// keeps the batch and retries after an exponential backoff with jitter. The outbox is bounded by
// item count and age; what the bounds drop is counted per signal. Delivery is at least once: a
// batch the receiver took just before meshd stopped is sent again.
//
// Thread-safe: Start runs the sending on a thread of its own; SendOnce is that thread's round
// (tests call it directly instead of starting the thread).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/retry_backoff.h"
#include "mesh/controlplane/export_metrics.h"
#include "mesh/controlplane/otlp_export_policy.h"
#include "mesh/http/http_client.h"
#include "mesh/store/store_writer.h"

namespace mesh {

class OtlpExporter {
 public:
  struct Options {
    std::string url;  // the receiver's base URL ("" : no export); /v1/<signal> is appended
    // Sent with every request besides Content-Type and Content-Encoding (--export-otlp-header,
    // the bearer token).
    std::vector<std::pair<std::string, std::string>> headers;
    OtlpExportPolicy policy;
    int64_t settle_ns = 10'000'000'000;                // --export-otlp-trace-settle
    int64_t max_items = 1'000'000;                     // --export-otlp-max-items
    int64_t max_age_ns = 6LL * 3600 * 1'000'000'000;   // --export-otlp-max-age
    int64_t batch_items = 1'000;                       // per request
    int64_t decisions_per_round = 10'000;
    // How long a trace's decision is remembered for its late spans.
    int64_t remember_decisions_ns = 3600LL * 1'000'000'000;
    RetryBackoff::Options backoff;
    std::chrono::milliseconds idle_poll{1000};  // how often an idle outbox is looked at again
    // Told when sending starts failing, recovers, or items are refused (not at every retry).
    std::function<void(const std::string&)> report = nullptr;
  };

  enum class Outcome { kIdle, kSent, kFailed };

  // `metrics`: ExportMetricFamilies::For("otlp", <signal>) per signal, indexed by OtlpSignal.
  OtlpExporter(Options options, StoreWriter& writer, std::unique_ptr<HttpClient> client, const Clock& clock,
               std::array<ExportMetrics, 3> metrics);
  ~OtlpExporter();  // Stop()

  // One round: decides settled traces, applies the bounds, sends one batch per signal (traces,
  // logs, metrics) and removes each once answered; stops at the first failed request.
  Outcome SendOnce();
  // Runs rounds on a thread until Stop: at once after a sent batch, after idle_poll when there
  // was nothing to send, after the backoff when sending failed.
  void Start();
  // Ends the thread (a request in flight finishes or times out first). Idempotent.
  void Stop();

 private:
  enum class Sent { kNothing, kTaken, kFailed };
  Sent SendBatch(OtlpSignal signal);
  void Run();
  void Report(const std::string& message);

  Options options_;
  StoreWriter& writer_;
  std::unique_ptr<HttpClient> client_;
  const Clock& clock_;
  std::array<ExportMetrics, 3> metrics_;
  bool failing_ = false;  // on the sending thread only
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mesh

// RemoteWriteExporter: meshd --remote-write. Sends the store's remote-write outbox
// (store/remote_write_outbox.h) to a Prometheus remote-write 1.0 receiver, oldest first, in
// batches, and removes a batch only once the receiver answered it: 2xx (sent) or a 4xx other than
// 429 (refused for good, as the specification says: dropped and counted). A transport error, 5xx
// or 429 keeps the batch and retries it after an exponential backoff with jitter. The outbox is
// bounded by size and age; what the bounds drop is counted. Delivery is at least once: a batch
// the receiver took just before meshd stopped is sent again, which Prometheus accepts (same
// timestamp, same value).
//
// Thread-safe: Start runs the sending on a thread of its own; SendOnce is that thread's round
// (tests call it directly instead of starting the thread).
#pragma once

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
#include "mesh/http/http_client.h"
#include "mesh/store/store_writer.h"

namespace mesh {

class RemoteWriteExporter {
 public:
  struct Options {
    std::string url;  // "": no export
    // Sent with every request besides the remote-write ones (--remote-write-header, the bearer token).
    std::vector<std::pair<std::string, std::string>> headers;
    int64_t max_samples = 1'000'000;                      // --remote-write-max-samples
    int64_t max_age_ns = 6LL * 3600 * 1'000'000'000;      // --remote-write-max-age
    int64_t batch_samples = 2'000;                        // per request
    RetryBackoff::Options backoff;
    std::chrono::milliseconds idle_poll{1000};  // how often an empty outbox is looked at again
    // Told when sending starts failing, recovers, or a batch is refused (not at every retry).
    std::function<void(const std::string&)> report = nullptr;
  };

  // The exporter's series: ExportMetricFamilies::For("remote_write", "metrics").
  using Metrics = ExportMetrics;

  enum class Outcome { kIdle, kSent, kRejected, kFailed };

  RemoteWriteExporter(Options options, StoreWriter& writer, std::unique_ptr<HttpClient> client,
                      const Clock& clock, Metrics metrics);
  ~RemoteWriteExporter();  // Stop()

  // One round: applies the bounds, sends the oldest batch, removes it once answered.
  Outcome SendOnce();
  // Runs rounds on a thread until Stop: at once after a sent or refused batch, after idle_poll
  // when there was nothing to send, after the backoff when sending failed.
  void Start();
  // Ends the thread (a request in flight finishes or times out first). Idempotent.
  void Stop();

 private:
  void Run();
  void Report(const std::string& message);

  Options options_;
  StoreWriter& writer_;
  std::unique_ptr<HttpClient> client_;
  const Clock& clock_;
  Metrics metrics_;
  bool failing_ = false;  // on the sending thread only
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mesh

// The meshd sink, apart from logger.cpp so that a program that logs links libcurl only when it
// makes one.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <thread>

#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/sdk/log_sinks.h"
#include "mesh/sdk/remote_log.h"
#include "mesh/telemetry/logger.h"

namespace mesh {
namespace {

// Batches of records POSTed to meshd as OTLP/HTTP JSON by a background thread. Unlike the
// store sink, an outage must not stop the service's logging for good: a batch meshd does not
// take is dropped and counted, a full queue drops the newest record, and shipping goes on.
class MeshdSink : public LogSink {
 public:
  static constexpr size_t kBatch = 512;
  static constexpr size_t kMaxQueued = 16384;

  MeshdSink(std::string url, std::string token)
      : destination_(std::move(url), std::move(token), client_), thread_([this] { Run(); }) {}
  ~MeshdSink() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void Write(const LogRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      CountFailure();
      return;
    }
    queue_.push_back(record);
    if (queue_.size() >= kBatch) wake_.notify_one();
  }
  void Flush() override {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t target = enqueued_total();
    flush_ = true;
    wake_.notify_one();
    done_.wait(lock, [&] { return shipped_ >= target || closing_; });
  }

 private:
  uint64_t enqueued_total() const { return shipped_ + in_flight_ + queue_.size(); }
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      wake_.wait_for(lock, std::chrono::seconds(1),
                     [&] { return closing_ || flush_ || queue_.size() >= kBatch; });
      flush_ = false;
      while (!queue_.empty()) {
        const size_t n = std::min(queue_.size(), kBatch);
        std::vector<LogRecord> batch(
            std::make_move_iterator(queue_.begin()),
            std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
        in_flight_ = n;
        lock.unlock();
        const bool ok = destination_.Insert(batch).ok();
        if (!ok) {
          for (size_t i = 0; i < n; ++i) CountFailure();
        }
        lock.lock();
        in_flight_ = 0;
        shipped_ += n;
      }
      done_.notify_all();
      if (closing_) return;
    }
  }

  CurlHttpClient client_{5000};
  RemoteLogDestination destination_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::deque<LogRecord> queue_;
  uint64_t shipped_ = 0;  // handed to meshd, delivered or counted as failed
  size_t in_flight_ = 0;
  bool flush_ = false;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::shared_ptr<LogSink>> MakeMeshdSink(const std::string& meshd_url,
                                               const std::string& token) {
  if (meshd_url.rfind("http://", 0) != 0 && meshd_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("invalid meshd URL '" + meshd_url +
                                   "' (expected http://host:port)");
  }
  return std::shared_ptr<LogSink>(std::make_shared<MeshdSink>(meshd_url, token));
}

}  // namespace mesh

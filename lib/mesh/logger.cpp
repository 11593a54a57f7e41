#include "mesh/logger.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <iterator>
#include <thread>

#include "mesh/http_client.h"
#include "mesh/json_text.h"
#include "mesh/log_batch_writer.h"
#include "mesh/log_store.h"
#include "mesh/remote_log.h"
#include "mesh/store.h"
#include "mesh/utf8.h"

namespace mesh {
namespace {

thread_local TraceContext current_trace_context;

bool IsReservedName(std::string_view key) {
  return key == "timestamp" || key == "level" || key == "service" || key == "message" ||
         key == "trace_id" || key == "span_id";
}

class StreamSink : public LogSink {
 public:
  explicit StreamSink(std::FILE* stream, bool owned) : stream_(stream), owned_(owned) {}
  ~StreamSink() override {
    if (owned_) std::fclose(stream_);
  }
  void Write(const LogRecord& record) override {
    std::string line;
    AppendJson(line, record);
    line += '\n';
    std::lock_guard lock(mu_);
    if (std::fwrite(line.data(), 1, line.size(), stream_) != line.size() || std::fflush(stream_) != 0) {
      CountFailure();
    }
  }
  void Flush() override {
    std::lock_guard lock(mu_);
    std::fflush(stream_);
  }

 private:
  std::mutex mu_;
  std::FILE* stream_;
  bool owned_;
};

class StoreSink : public LogSink {
 public:
  StoreSink(std::unique_ptr<Store> store)
      : store_(std::move(store)), logs_(*store_), writer_(logs_, LogBatchWriter::Options{}) {}
  ~StoreSink() override { writer_.Close(); }
  void Write(const LogRecord& record) override {
    if (!writer_.Append(record).ok()) CountFailure();
  }
  void Flush() override { writer_.Flush(); }

 private:
  std::unique_ptr<Store> store_;
  LogStore logs_;
  LogBatchWriter writer_;
};

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
        std::vector<LogRecord> batch(std::make_move_iterator(queue_.begin()),
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

Field::Field(std::string key, std::string_view value) : key_(std::move(key)) {
  AppendJsonString(json_, SanitizedUtf8(value));
}

Field::Field(std::string key, double value) : key_(std::move(key)) {
  if (!std::isfinite(value)) {
    json_ = "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  json_.assign(buf, r.ptr);
}

const TraceContext& CurrentTraceContext() { return current_trace_context; }

ScopedTraceContext::ScopedTraceContext(std::string trace_id, std::string span_id)
    : previous_(std::move(current_trace_context)) {
  current_trace_context = TraceContext{std::move(trace_id), std::move(span_id)};
}

ScopedTraceContext::~ScopedTraceContext() { current_trace_context = std::move(previous_); }

std::shared_ptr<LogSink> MakeStreamSink(std::FILE* stream) {
  return std::make_shared<StreamSink>(stream, false);
}

Result<std::shared_ptr<LogSink>> MakeFileSink(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    return Status::IOError("cannot open log file " + path + ": " + std::strerror(errno));
  }
  return std::shared_ptr<LogSink>(std::make_shared<StreamSink>(f, true));
}

Result<std::shared_ptr<LogSink>> MakeMeshdSink(const std::string& meshd_url, const std::string& token) {
  if (meshd_url.rfind("http://", 0) != 0 && meshd_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("invalid meshd URL '" + meshd_url + "' (expected http://host:port)");
  }
  return std::shared_ptr<LogSink>(std::make_shared<MeshdSink>(meshd_url, token));
}

Result<std::shared_ptr<LogSink>> MakeStoreSink(const std::string& db_path) {
  Result<std::unique_ptr<Store>> store = Store::Open({.path = db_path});
  if (!store.ok()) return store.status();
  return std::shared_ptr<LogSink>(std::make_shared<StoreSink>(std::move(store).value()));
}

Logger::Logger(std::string service, LogLevel min_level, const Clock& clock)
    : service_(SanitizedUtf8(service)), min_level_(min_level), clock_(clock) {}

void Logger::AddSink(std::shared_ptr<LogSink> sink) {
  std::lock_guard lock(sinks_mu_);
  sinks_.push_back(std::move(sink));
}

void Logger::Log(LogLevel level, std::string_view message, Fields fields) {
  if (!Enabled(level)) return;
  LogRecord record;
  record.ts_ns = clock_.NowNs();
  record.service = service_;
  record.level = level;
  record.message = SanitizedUtf8(message);
  const TraceContext& context = current_trace_context;
  record.trace_id = context.trace_id;
  record.span_id = context.span_id;
  if (fields.size() > 0) {
    record.attributes = "{";
    for (const Field& field : fields) {
      if (record.attributes.size() > 1) record.attributes += ',';
      const std::string key = IsReservedName(field.key()) ? "attr." + field.key() : field.key();
      AppendJsonString(record.attributes, SanitizedUtf8(key));
      record.attributes += ':';
      record.attributes += field.json();
    }
    record.attributes += '}';
  }
  std::lock_guard lock(sinks_mu_);
  for (const auto& sink : sinks_) sink->Write(record);
}

void Logger::Flush() {
  std::lock_guard lock(sinks_mu_);
  for (const auto& sink : sinks_) sink->Flush();
}

}  // namespace mesh

// Logger: structured logging for C++ services, the seed's TServiceLogger and TCorrelatedLogger
// done properly. Records are JSON objects (timestamp in RFC 3339 with fractional seconds,
// level, service, message, trace_id, span_id, other fields as attributes) written to one or
// more sinks: a stream such as stdout, a file, or (sdk/log_sinks.h) the mesh store or meshd.
//
// Inside a ScopedTraceContext every record the thread logs carries that trace and span id.
//
//   mesh::Logger log("checkout", mesh::LogLevel::kInfo);
//   log.AddSink(mesh::MakeStreamSink(stdout));
//   mesh::ScopedTraceContext span(trace_id, span_id);
//   log.Info("order placed", {{"order_id", 42}, {"total", 19.99}});
//
// Logger is thread-safe; each sink serialises its own writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/status.h"
#include "mesh/telemetry/log_record.h"

namespace mesh {

// One key and its value, already encoded as JSON.
class Field {
 public:
  Field(std::string key, std::string_view value);
  Field(std::string key, const char* value) : Field(std::move(key), std::string_view(value)) {}
  Field(std::string key, const std::string& value) : Field(std::move(key), std::string_view(value)) {}
  Field(std::string key, bool value) : key_(std::move(key)), json_(value ? "true" : "false") {}
  Field(std::string key, double value);
  template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int>>>
  Field(std::string key, Int value) : key_(std::move(key)), json_(std::to_string(value)) {}

  const std::string& key() const { return key_; }
  const std::string& json() const { return json_; }

 private:
  std::string key_;
  std::string json_;
};
using Fields = std::initializer_list<Field>;

// The trace and span a thread is working in, as seen by Logger.
struct TraceContext {
  std::string trace_id;
  std::string span_id;
};
const TraceContext& CurrentTraceContext();

// Sets the thread's trace context for its lifetime, restoring the previous one after; nests.
class ScopedTraceContext {
 public:
  ScopedTraceContext(std::string trace_id, std::string span_id);
  ~ScopedTraceContext();
  ScopedTraceContext(const ScopedTraceContext&) = delete;
  ScopedTraceContext& operator=(const ScopedTraceContext&) = delete;

 private:
  TraceContext previous_;
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  // Must not throw; a sink that fails counts the failure rather than breaking the caller.
  virtual void Write(const LogRecord& record) = 0;
  virtual void Flush() {}
  // Records this sink could not write so far.
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 protected:
  void CountFailure() { failures_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> failures_{0};
};

// JSON lines to a stdio stream (stdout, stderr). The stream is not closed.
std::shared_ptr<LogSink> MakeStreamSink(std::FILE* stream);
// JSON lines appended to a file, created if needed. Errors: IOError naming the path.
Result<std::shared_ptr<LogSink>> MakeFileSink(const std::string& path);
class Logger {
 public:
  explicit Logger(std::string service, LogLevel min_level = LogLevel::kInfo,
                  const Clock& clock = SystemClock::Instance());

  void AddSink(std::shared_ptr<LogSink> sink);
  void set_min_level(LogLevel level) { min_level_.store(level, std::memory_order_relaxed); }
  bool Enabled(LogLevel level) const {
    return level >= min_level_.load(std::memory_order_relaxed);
  }

  // Field keys that clash with the record's own names (timestamp, level, service, message,
  // trace_id, span_id) are written with an "attr." prefix.
  void Log(LogLevel level, std::string_view message, Fields fields = {});
  void Debug(std::string_view message, Fields fields = {}) { Log(LogLevel::kDebug, message, fields); }
  void Info(std::string_view message, Fields fields = {}) { Log(LogLevel::kInfo, message, fields); }
  void Warn(std::string_view message, Fields fields = {}) { Log(LogLevel::kWarn, message, fields); }
  void Error(std::string_view message, Fields fields = {}) { Log(LogLevel::kError, message, fields); }
  void Fatal(std::string_view message, Fields fields = {}) { Log(LogLevel::kFatal, message, fields); }
  void Flush();

 private:
  std::string service_;
  std::atomic<LogLevel> min_level_;
  const Clock& clock_;
  std::mutex sinks_mu_;
  std::vector<std::shared_ptr<LogSink>> sinks_;
};

}  // namespace mesh

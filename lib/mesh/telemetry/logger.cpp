#include "mesh/telemetry/logger.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "mesh/base/json_text.h"
#include "mesh/base/utf8.h"

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

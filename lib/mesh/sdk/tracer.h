// Tracer and ScopedSpan: the C++ tracing API of mesh (the seed's TTracer/TSpan, done properly).
//
//   mesh::OtlpHttpSpanExporter exporter("http://127.0.0.1:9000");
//   mesh::Tracer tracer("checkout", exporter);
//   {
//     mesh::ScopedSpan span = tracer.StartSpan("GET /cart", mesh::SpanKind::kServer,
//                                              mesh::ParseTraceParent(header));  // or a root
//     span.SetAttribute("http.status_code", int64_t{200});
//     mesh::ScopedSpan child = tracer.StartChild(span, "SELECT cart");
//     outgoing_headers["traceparent"] = child.traceparent();
//   }  // both end here (RAII) and are queued for export
//
// Ids come from a per-thread generator seeded from std::random_device (IdGenerator). Finished
// spans are queued and exported in batches (OTLP JSON to meshd, or straight into a store) by
// Flush(), when the queue reaches its batch size, and by the destructor; an export failure is
// counted and the batch dropped, never thrown. Tracer is thread-safe; a ScopedSpan belongs to
// one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/status.h"
#include "mesh/http/http_client.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/span.h"
#include "mesh/telemetry/traceparent.h"

namespace mesh {

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  virtual Status Export(const std::vector<Span>& spans) = 0;
};

// Into a store, one transaction per batch (duplicates ignored).
class StoreSpanExporter : public SpanExporter {
 public:
  explicit StoreSpanExporter(Store& store);
  Status Export(const std::vector<Span>& spans) override;

 private:
  Store& store_;
};

// POST <server>/v1/traces as OTLP/HTTP JSON, with a bearer token when given. A non-2xx answer
// is an error carrying meshd's message.
class OtlpHttpSpanExporter : public SpanExporter {
 public:
  explicit OtlpHttpSpanExporter(std::string server_url, std::string token = "",
                                std::unique_ptr<HttpClient> client = nullptr);
  Status Export(const std::vector<Span>& spans) override;

 private:
  std::string url_;
  std::string token_;
  std::unique_ptr<HttpClient> client_;
};

class Tracer;

class ScopedSpan {
 public:
  ScopedSpan(ScopedSpan&& other) noexcept;
  ScopedSpan& operator=(ScopedSpan&&) = delete;
  ScopedSpan(const ScopedSpan&) = delete;
  ~ScopedSpan();  // End()

  // Attribute values keep their JSON type. Keys and strings must be UTF-8 (invalid bytes
  // become U+FFFD).
  void SetAttribute(std::string_view key, std::string_view value);
  void SetAttribute(std::string_view key, const char* value);
  void SetAttribute(std::string_view key, int64_t value);
  void SetAttribute(std::string_view key, double value);
  void SetAttribute(std::string_view key, bool value);
  void AddEvent(std::string_view name);
  void SetStatus(SpanStatus status, std::string_view message = {});
  // Records the end time and queues the span; later calls do nothing.
  void End();

  const std::string& trace_id() const { return span_.trace_id; }
  const std::string& span_id() const { return span_.span_id; }
  // This span as the parent of a downstream call.
  TraceParent context() const;
  std::string traceparent() const;
  const Span& span() const { return span_; }

 private:
  friend class Tracer;
  ScopedSpan(Tracer* tracer, Span span, std::string attributes_members);
  Tracer* tracer_;
  Span span_;
  std::string attributes_;  // JSON object members, without the braces
  std::string events_;      // JSON array members, without the brackets
  bool ended_ = false;
};

class Tracer {
 public:
  struct Options {
    size_t batch_size = 512;  // queued spans that trigger an export
  };
  // The exporter must outlive the tracer. `clock` defaults to the system clock.
  Tracer(std::string service, SpanExporter& exporter);
  Tracer(std::string service, SpanExporter& exporter, Options options,
         const Clock& clock = SystemClock::Instance());
  ~Tracer();  // Flush()

  // A root span (new trace), or a child of `parent` (an incoming traceparent) when it holds a
  // value.
  ScopedSpan StartSpan(std::string_view name, SpanKind kind = SpanKind::kInternal,
                       const Result<TraceParent>& parent = Status::NotFound("no parent"));
  ScopedSpan StartChild(const ScopedSpan& parent, std::string_view name,
                        SpanKind kind = SpanKind::kInternal);

  // Exports what is queued; the exporter's error, if any.
  Status Flush();
  int64_t exported() const;
  int64_t dropped() const;  // spans lost to failed exports

 private:
  friend class ScopedSpan;
  void Finish(Span span);
  Status Export(const std::vector<Span>& batch);  // counts the batch as exported or dropped

  std::string service_;
  SpanExporter& exporter_;
  Options options_;
  const Clock& clock_;
  std::mutex export_mu_;  // one export at a time: exporters need not be thread-safe
  mutable std::mutex mu_;  // the queue and the counters; never held while exporting
  std::vector<Span> queue_;
  int64_t exported_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace mesh

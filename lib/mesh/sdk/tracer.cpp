#include "mesh/sdk/tracer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <utility>
#include <vector>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/sdk/remote_log.h"
#include "mesh/store/span_store.h"
#include "mesh/telemetry/otlp.h"

namespace mesh {
namespace {

constexpr char kScope[] = "mesh";

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

void AppendUtf8String(std::string& out, std::string_view s) {
  if (IsCleanUtf8(s))
    AppendJsonString(out, s);
  else
    AppendJsonString(out, SanitizedUtf8(s));
}

// Sets `key` to `json` in object members without braces. Setting a key again replaces its
// value (as OpenTelemetry does) rather than repeating the key, which JSON readers disagree on.
void SetMember(std::string& members, std::string_view key, std::string_view json) {
  std::string quoted;
  AppendUtf8String(quoted, key);
  std::vector<JsonMember> scanned;
  // The scanned members point into `object`, which must outlive them.
  const std::string object = "{" + members + "}";
  if (members.find(quoted) != std::string::npos && ScanJsonObject(object, scanned).ok()) {
    std::string kept;
    for (const JsonMember& m : scanned) {
      if (m.key == std::string_view(quoted).substr(1, quoted.size() - 2)) continue;
      if (!kept.empty()) kept += ',';
      kept += '"';
      kept += m.key;
      kept += "\":";
      kept += m.value;
    }
    members = std::move(kept);
  }
  if (!members.empty()) members += ',';
  members += quoted;
  members += ':';
  members += json;
}

}  // namespace

StoreSpanExporter::StoreSpanExporter(Store& store) : store_(store) {}

Status StoreSpanExporter::Export(const std::vector<Span>& spans) {
  SpanStore spans_table(store_);
  Result<int64_t> added = spans_table.Insert(spans);
  return added.status();
}

OtlpHttpSpanExporter::OtlpHttpSpanExporter(std::string server_url, std::string token,
                                           std::unique_ptr<HttpClient> client)
    : url_(TrimSlash(std::move(server_url)) + "/v1/traces"),
      token_(std::move(token)),
      client_(client ? std::move(client) : std::make_unique<CurlHttpClient>()) {}

Status OtlpHttpSpanExporter::Export(const std::vector<Span>& spans) {
  if (spans.empty()) return Status::Ok();
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  Result<HttpClientResponse> r = client_->Send("POST", url_, EncodeOtlpTraces(spans), headers);
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return StatusFromHttp(url_, r->status, r->body);
  return Status::Ok();
}

ScopedSpan::ScopedSpan(Tracer* tracer, Span span, std::string attributes_members)
    : tracer_(tracer), span_(std::move(span)), attributes_(std::move(attributes_members)) {}

ScopedSpan::ScopedSpan(ScopedSpan&& other) noexcept
    : tracer_(std::exchange(other.tracer_, nullptr)),
      span_(std::move(other.span_)),
      attributes_(std::move(other.attributes_)),
      events_(std::move(other.events_)),
      ended_(std::exchange(other.ended_, true)) {}

ScopedSpan::~ScopedSpan() { End(); }

void ScopedSpan::SetAttribute(std::string_view key, std::string_view value) {
  std::string json;
  AppendUtf8String(json, value);
  SetMember(attributes_, key, json);
}

void ScopedSpan::SetAttribute(std::string_view key, const char* value) {
  if (value == nullptr)
    SetMember(attributes_, key, "null");
  else
    SetAttribute(key, std::string_view(value));
}

void ScopedSpan::SetAttribute(std::string_view key, int64_t value) {
  SetMember(attributes_, key, std::to_string(value));
}

void ScopedSpan::SetAttribute(std::string_view key, double value) {
  std::string json;
  AppendJsonDouble(json, value);
  SetMember(attributes_, key, json);
}

void ScopedSpan::SetAttribute(std::string_view key, bool value) {
  SetMember(attributes_, key, value ? "true" : "false");
}

void ScopedSpan::AddEvent(std::string_view name) {
  if (ended_) return;
  if (!events_.empty()) events_ += ',';
  events_ += "{\"time_ns\":" + std::to_string(tracer_->clock_.NowNs()) + ",\"name\":";
  AppendUtf8String(events_, name);
  events_ += ",\"attributes\":{}}";
}

void ScopedSpan::SetStatus(SpanStatus status, std::string_view message) {
  span_.status = status;
  span_.status_message = SanitizedUtf8(message);
}

void ScopedSpan::End() {
  if (ended_ || tracer_ == nullptr) return;
  ended_ = true;
  span_.duration_ns = std::max<int64_t>(tracer_->clock_.NowNs() - span_.start_ns, 0);
  span_.attributes = attributes_.empty() ? std::string() : "{" + attributes_ + "}";
  span_.events = events_.empty() ? std::string() : "[" + events_ + "]";
  // A copy, so that span() still shows what was recorded.
  tracer_->Finish(span_);
}

TraceParent ScopedSpan::context() const {
  TraceParent parent;
  parent.trace_id = span_.trace_id;
  parent.span_id = span_.span_id;
  return parent;
}

std::string ScopedSpan::traceparent() const { return FormatTraceParent(context()); }

Tracer::Tracer(std::string service, SpanExporter& exporter)
    : Tracer(std::move(service), exporter, Options()) {}

Tracer::Tracer(std::string service, SpanExporter& exporter, Options options, const Clock& clock)
    : service_(IsCleanUtf8(service) ? std::move(service) : SanitizedUtf8(service)),
      exporter_(exporter),
      options_(options),
      clock_(clock) {}

Tracer::~Tracer() { Flush(); }

ScopedSpan Tracer::StartSpan(std::string_view name, SpanKind kind,
                             const Result<TraceParent>& parent) {
  IdGenerator& ids = IdGenerator::ThreadLocal();
  Span span;
  // A hand-made TraceParent may hold anything; ParseTraceParent's are always valid.
  if (parent.ok() && IsValidTraceId(parent->trace_id) && IsValidSpanId(parent->span_id)) {
    span.trace_id = parent->trace_id;
    span.parent_span_id = parent->span_id;
  } else {
    span.trace_id = ids.NewTraceId();
  }
  span.span_id = ids.NewSpanId();
  span.service = service_;
  span.name = SanitizedUtf8(name);
  span.kind = kind;
  span.start_ns = clock_.NowNs();
  span.scope = kScope;
  return ScopedSpan(this, std::move(span), {});
}

ScopedSpan Tracer::StartChild(const ScopedSpan& parent, std::string_view name, SpanKind kind) {
  return StartSpan(name, kind, parent.context());
}

void Tracer::Finish(Span span) {
  std::vector<Span> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(span));
    if (queue_.size() < std::max<size_t>(options_.batch_size, 1)) return;
    batch.swap(queue_);
  }
  Export(batch);
}

Status Tracer::Flush() {
  std::vector<Span> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
  }
  return Export(batch);
}

Status Tracer::Export(const std::vector<Span>& batch) {
  if (batch.empty()) return Status::Ok();
  Status status;
  {
    std::lock_guard<std::mutex> lock(export_mu_);
    // Spans end in destructors: an exporter that throws must not take the program down.
    try {
      status = exporter_.Export(batch);
    } catch (const std::exception& e) {
      status = Status::IOError(std::string("span exporter failed: ") + e.what());
    } catch (...) {
      status = Status::IOError("span exporter failed");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  (status.ok() ? exported_ : dropped_) += static_cast<int64_t>(batch.size());
  return status;
}

int64_t Tracer::exported() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exported_;
}

int64_t Tracer::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace mesh

#include "mesh/proxy/telemetry_shipper.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <random>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/http/asio_http_client.h"
#include "mesh/http/http_message.h"
#include "mesh/telemetry/otlp.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

std::string AttributesJson(const ProxiedRequest& r, HttpProxy::Direction d) {
  std::string a = "{\"http.request.method\":";
  AppendJsonString(a, r.method);
  a += ",\"url.path\":";
  AppendJsonString(a, PathOf(r.target));
  a += ",\"http.response.status_code\":" + std::to_string(r.status);
  a += ",\"mesh.direction\":\"";
  a += DirectionName(d);
  a += "\",\"mesh.request_id\":";
  AppendJsonString(a, r.request_id);
  if (!r.upstream.host.empty()) {
    a += ",\"server.address\":";
    AppendJsonString(a, r.upstream.host + ":" + std::to_string(r.upstream.port));
  }
  if (!r.upstream.instance_id.empty()) {
    a += ",\"mesh.instance\":";
    AppendJsonString(a, r.upstream.instance_id);
  }
  if (d == HttpProxy::Direction::kOutbound && !r.authority.empty()) {
    a += ",\"peer.service\":";
    AppendJsonString(a, r.authority.substr(0, r.authority.find(':')));
  }
  if (!r.client_service.empty()) {
    a += ",\"mesh.client_service\":";
    AppendJsonString(a, r.client_service);
  }
  if (!r.client_address.empty()) {
    a += ",\"client.address\":";
    AppendJsonString(a, r.client_address);
  }
  a += ",\"mesh.retries\":" + std::to_string(std::max(0, r.attempts - 1));
  if (r.grpc_status >= 0) {
    // OpenTelemetry's RPC conventions: the path is /package.Service/Method.
    const std::string path = PathOf(r.target);
    const size_t slash = path.find('/', 1);
    a += ",\"rpc.system\":\"grpc\",\"rpc.service\":";
    AppendJsonString(a, path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1));
    a += ",\"rpc.method\":";
    AppendJsonString(a, slash == std::string::npos ? std::string() : path.substr(slash + 1));
    a += ",\"rpc.grpc.status_code\":" + std::to_string(r.grpc_status);
  }
  if (!r.error.empty()) {
    a += ",\"error.message\":";
    AppendJsonString(a, r.error);
  }
  return a + "}";
}

// A gRPC call that failed by OpenTelemetry's rules: any status but OK for a client span; for a
// server span only those that are the server's fault (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
// INTERNAL, UNAVAILABLE, DATA_LOSS).
bool GrpcFailed(const ProxiedRequest& r, HttpProxy::Direction d) {
  if (r.grpc_status <= 0) return false;
  if (d == HttpProxy::Direction::kOutbound) return true;
  for (int code : {2, 4, 12, 13, 14, 15}) {
    if (r.grpc_status == code) return true;
  }
  return false;
}

}  // namespace

TelemetryShipper::TelemetryShipper(Options options, MetricsRegistry& registry,
                                   std::unique_ptr<HttpClient> client)
    : options_(std::move(options)),
      registry_(registry),
      client_(client ? std::move(client) : std::make_unique<AsioHttpClient>(2000)),
      queue_(options_.queue_capacity),
      metrics_(registry, options_.service) {
  Family<Counter>* dropped = MustRegister(registry.AddCounter(
      "mesh_telemetry_dropped_total",
      "Spans, access-log records and metric pushes lost: queue full, or meshd did not take a batch", {"kind"}));
  spans_dropped_ = MustRegister(dropped->WithLabels({"spans"}));
  logs_dropped_ = MustRegister(dropped->WithLabels({"logs"}));
  pushes_dropped_ = MustRegister(dropped->WithLabels({"metrics"}));
  queue_depth_ = MustRegister(MustRegister(registry.AddGauge(
      "mesh_telemetry_queue_depth",
      "Requests waiting in the telemetry queue at its last drain (its peak between two drains)", {"service"}))
                                  ->WithLabels({options_.service}));
  MustRegister(MustRegister(registry.AddGauge("mesh_telemetry_queue_capacity",
                                              "Requests the telemetry queue holds at most (full: spans dropped)",
                                              {"service"}))
                   ->WithLabels({options_.service}))
      ->Set(static_cast<double>(queue_.capacity()));
  while (!options_.meshd_url.empty() && options_.meshd_url.back() == '/') options_.meshd_url.pop_back();
  thread_ = std::thread([this] { Run(); });
}

TelemetryShipper::~TelemetryShipper() {
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  Flush();
}

bool TelemetryShipper::Record(ProxiedRequest request, HttpProxy::Direction direction) {
  metrics_.Count(request, direction);
  if (options_.meshd_url.empty() || request.trace_id.empty()) return true;  // no span to ship
  // Drawn here rather than in Drain, so that a record the queue refuses counts its log as lost
  // exactly when it would have had one. A policy denial is always logged: a security event.
  bool log = request.denied;
  if (!log && options_.access_log) {
    thread_local std::minstd_rand random{std::random_device{}()};
    log = options_.access_log_sample >= 1.0 ||
          std::uniform_real_distribution<double>(0.0, 1.0)(random) < options_.access_log_sample;
  }
  // An unsampled request (its caller's traceparent says so) gets no span, only its log record.
  const bool span = request.sampled;
  if (!span && !log) return true;
  if (queue_.TryPush(Entry{std::move(request), direction, log})) return true;
  if (span) Drop(*spans_dropped_, 1);
  if (log) Drop(*logs_dropped_, 1);
  return false;
}

void TelemetryShipper::Drop(Counter& kind, size_t n) {
  if (n == 0) return;
  lost_ += static_cast<int64_t>(n);
  kind.Inc(static_cast<double>(n));
}

void TelemetryShipper::Drain() {
  queue_depth_->Set(static_cast<double>(queue_.SizeApprox()));
  while (std::optional<Entry> e = queue_.TryPop()) {
    const ProxiedRequest& r = e->request;
    // What meshd cannot take yet stays bounded: the oldest goes first.
    if (r.sampled && spans_.size() >= options_.queue_capacity) {
      spans_.pop_front();
      Drop(*spans_dropped_, 1);
    }
    Span s;
    s.trace_id = r.trace_id;
    s.span_id = r.span_id;
    s.parent_span_id = r.parent_span_id;
    s.service = options_.service;
    s.name = r.method + " " + PathOf(r.target);
    s.kind = e->direction == HttpProxy::Direction::kInbound ? SpanKind::kServer : SpanKind::kClient;
    s.start_ns = r.start_ns;
    s.duration_ns = r.duration_ns;
    s.status = r.status >= 500 || !r.error.empty() || GrpcFailed(r, e->direction) ? SpanStatus::kError
                                                                                   : SpanStatus::kUnset;
    s.status_message = r.error;
    s.attributes = AttributesJson(r, e->direction);
    s.scope = "meshproxy";
    if (e->log) {
      if (logs_.size() >= options_.queue_capacity) {
        logs_.pop_front();
        Drop(*logs_dropped_, 1);
      }
      LogRecord l;
      l.ts_ns = r.start_ns;
      l.service = options_.service;
      l.level = r.status >= 500 ? LogLevel::kError : r.status >= 400 ? LogLevel::kWarn : LogLevel::kInfo;
      l.message = r.denied ? "denied by policy: " + r.error
                           : r.method + " " + r.target + " " + std::to_string(r.status) + " " + FormatDuration(r.duration_ns);
      l.trace_id = r.trace_id;
      l.span_id = r.span_id;
      l.attributes = s.attributes;
      logs_.push_back(std::move(l));
    }
    if (r.sampled) spans_.push_back(std::move(s));
  }
}

bool TelemetryShipper::Post(const std::string& path, const std::string& content_type, const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", content_type}};
  if (!options_.token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.token);
  Result<HttpClientResponse> r = client_->Send("POST", options_.meshd_url + path, body, headers);
  return r.ok() && r->status / 100 == 2;
}

void TelemetryShipper::Ship() {
  constexpr size_t kBatch = 1000;
  while (!spans_.empty()) {
    const size_t n = std::min(kBatch, spans_.size());
    const std::vector<Span> batch(std::make_move_iterator(spans_.begin()),
                                  std::make_move_iterator(spans_.begin() + static_cast<long>(n)));
    spans_.erase(spans_.begin(), spans_.begin() + static_cast<long>(n));
    if (Post("/v1/traces", "application/json", EncodeOtlpTraces(batch))) shipped_spans_ += static_cast<int64_t>(n);
    else Drop(*spans_dropped_, n);
  }
  while (!logs_.empty()) {
    const size_t n = std::min(kBatch, logs_.size());
    const std::vector<LogRecord> batch(std::make_move_iterator(logs_.begin()),
                                       std::make_move_iterator(logs_.begin() + static_cast<long>(n)));
    logs_.erase(logs_.begin(), logs_.begin() + static_cast<long>(n));
    if (!Post("/v1/logs", "application/json", EncodeOtlpLogs(batch))) Drop(*logs_dropped_, n);
  }
}

void TelemetryShipper::SetInstance(std::string instance) {
  std::lock_guard lock(instance_mu_);
  options_.instance = std::move(instance);
}

void TelemetryShipper::PushMetrics() {
  if (options_.meshd_url.empty()) return;
  // Like a Pushgateway grouping key: series of two instances of a service stay apart.
  // The service labels what carries no service label (the process metrics, the queue's drops).
  std::string instance;
  {
    std::lock_guard lock(instance_mu_);
    instance = options_.instance;
  }
  const std::string path = "/v1/metrics?service=" + UrlEncode(options_.service) + "&instance=" + UrlEncode(instance);
  if (!Post(path, "text/plain; version=0.0.4", FormatPrometheusText(registry_.Collect()))) {
    Drop(*pushes_dropped_, 1);
  }
}

void TelemetryShipper::Flush() {
  std::lock_guard lock(mu_);
  Drain();
  Ship();
}

void TelemetryShipper::Run() {
  const auto now = [] { return std::chrono::steady_clock::now(); };
  auto next_ship = now() + options_.flush_every;
  auto next_metrics = now() + options_.metrics_every;
  std::unique_lock lock(wake_mu_);
  while (!stop_) {
    wake_.wait_for(lock, std::min(options_.drain_every, options_.flush_every), [&] { return stop_; });
    if (stop_) break;
    lock.unlock();
    if (now() >= next_ship) {
      Flush();
      next_ship = now() + options_.flush_every;
    } else {
      std::lock_guard drain_lock(mu_);
      Drain();
    }
    if (now() >= next_metrics) {
      PushMetrics();
      next_metrics = now() + options_.metrics_every;
    }
    lock.lock();
  }
}

}  // namespace mesh

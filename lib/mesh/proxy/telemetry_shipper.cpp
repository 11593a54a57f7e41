#include "mesh/proxy/telemetry_shipper.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string_view>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/http/asio_http_client.h"
#include "mesh/http/http_message.h"
#include "mesh/telemetry/otlp.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

const char* DirectionName(HttpProxy::Direction d) {
  return d == HttpProxy::Direction::kInbound ? "inbound" : "outbound";
}

// Registration only fails on a programming error (a bad or reused name): fail loudly.
template <typename T>
T* Must(Result<T*> family) {
  if (!family.ok()) {
    std::fprintf(stderr, "meshproxy: %s\n", family.status().message().c_str());
    std::abort();
  }
  return *family;
}

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
  if (!r.error.empty()) {
    a += ",\"error.message\":";
    AppendJsonString(a, r.error);
  }
  return a + "}";
}

}  // namespace

TelemetryShipper::TelemetryShipper(Options options, MetricsRegistry& registry,
                                   std::unique_ptr<HttpClient> client)
    : options_(std::move(options)),
      registry_(registry),
      client_(client ? std::move(client) : std::make_unique<AsioHttpClient>(2000)),
      queue_(options_.queue_capacity),
      requests_(Must(registry.AddCounter("mesh_requests_total",
                                         "Requests through the proxy (client_service: the caller's mTLS identity)",
                                         {"service", "direction", "code", "client_service"}))),
      durations_(Must(registry.AddHistogram("mesh_request_duration_seconds",
                                            "Request duration through the proxy, as its client sees it",
                                            {"service", "direction"}))),
      retries_(Must(registry.AddCounter("mesh_request_retries_total", "Retried attempts",
                                        {"service", "direction"}))),
      proxy_errors_(Must(registry.AddCounter(
          "mesh_proxy_errors_total", "Answers the proxy made itself (upstream refused, timed out, no instance)",
          {"service", "direction", "code"}))),
      denials_(Must(registry.AddCounter("mesh_policy_denials_total",
                                        "Inbound requests the authorization policy refused (403)",
                                        {"service", "client_service"}))),
      dropped_family_(Must(registry.AddCounter(
          "mesh_telemetry_dropped_total", "Telemetry lost: queue full, or meshd did not take a batch",
          {"kind"}))) {
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
  if (queue_.TryPush(Entry{std::move(request), direction})) return true;
  // Counted into the metric by the thread: a family lookup takes a lock, which the request
  // path must not.
  ++queue_full_;
  return false;
}

void TelemetryShipper::Drop(const char* kind, size_t n) {
  if (n == 0) return;
  if (std::string_view(kind) != "records") lost_ += static_cast<int64_t>(n);
  if (Result<Counter*> c = dropped_family_->WithLabels({kind}); c.ok()) (*c)->Inc(static_cast<double>(n));
}

void TelemetryShipper::Drain() {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  while (std::optional<Entry> e = queue_.TryPop()) {
    const ProxiedRequest& r = e->request;
    const std::string direction = DirectionName(e->direction);
    if (auto c = requests_->WithLabels({options_.service, direction, std::to_string(r.status), r.client_service});
        c.ok()) {
      (*c)->Inc();
    }
    if (r.denied) {
      if (auto c = denials_->WithLabels({options_.service, r.client_service}); c.ok()) (*c)->Inc();
    }
    if (auto h = durations_->WithLabels({options_.service, direction}); h.ok()) {
      (*h)->Observe(static_cast<double>(r.duration_ns) / 1e9);
    }
    if (r.attempts > 1) {
      if (auto c = retries_->WithLabels({options_.service, direction}); c.ok()) (*c)->Inc(r.attempts - 1);
    }
    // Only the answers the proxy made itself: a relay cut short after the upstream's own status
    // went out (the client went away mid-body) is an error of the exchange, not a proxy answer.
    if (!r.error.empty() && r.status >= 500) {
      if (auto c = proxy_errors_->WithLabels({options_.service, direction, std::to_string(r.status)}); c.ok()) {
        (*c)->Inc();
      }
    }
    if (options_.meshd_url.empty() || r.trace_id.empty()) continue;
    // What meshd cannot take yet stays bounded: the oldest goes first.
    if (spans_.size() >= options_.queue_capacity) {
      spans_.pop_front();
      Drop("spans", 1);
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
    s.status = r.status >= 500 || !r.error.empty() ? SpanStatus::kError : SpanStatus::kUnset;
    s.status_message = r.error;
    s.attributes = AttributesJson(r, e->direction);
    s.scope = "meshproxy";
    // A policy denial is always logged, sampled or not: it is a security event.
    if ((options_.access_log && unit(sample_random_) < options_.access_log_sample) || r.denied) {
      if (logs_.size() >= options_.queue_capacity) {
        logs_.pop_front();
        Drop("logs", 1);
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
    spans_.push_back(std::move(s));
  }
  const int64_t full = queue_full_.load();
  Drop("records", static_cast<size_t>(full - records_counted_));
  records_counted_ = full;
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
    else Drop("spans", n);
  }
  while (!logs_.empty()) {
    const size_t n = std::min(kBatch, logs_.size());
    const std::vector<LogRecord> batch(std::make_move_iterator(logs_.begin()),
                                       std::make_move_iterator(logs_.begin() + static_cast<long>(n)));
    logs_.erase(logs_.begin(), logs_.begin() + static_cast<long>(n));
    if (!Post("/v1/logs", "application/json", EncodeOtlpLogs(batch))) Drop("logs", n);
  }
}

void TelemetryShipper::PushMetrics() {
  if (options_.meshd_url.empty()) return;
  // Like a Pushgateway grouping key: series of two instances of a service stay apart.
  const std::string path = "/v1/metrics?instance=" + UrlEncode(options_.instance);
  if (!Post(path, "text/plain; version=0.0.4", FormatPrometheusText(registry_.Collect()))) {
    Drop("metrics", 1);
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

// ObservableService: an HTTP service with the mesh's observability built in, in a few lines
// (the seed's TObservableService, done properly). Every request is
//   - traced: a SERVER span, child of the incoming W3C traceparent (else a new trace), whose
//     trace id is echoed in X-Trace-ID; spans go to meshd as OTLP/HTTP JSON;
//   - counted and timed (RED): http_server_requests_total{service,method,route,code},
//     http_server_request_duration_seconds{service,method,route} (1 ms ... 10 s buckets),
//     http_server_requests_in_flight{service};
//   - logged: one JSON access-log record carrying the trace and span ids, to stdout and, with
//     a meshd, to meshd; the handler's own records get the same ids.
// It also serves GET /metrics (Prometheus 0.0.4 text, or OpenMetrics when asked through
// Accept) and GET /healthz. With push_interval, the metrics are pushed to meshd too, for
// services nobody scrapes.
//
//   mesh::ObservableService::Options o{.name = "orders", .listen = "127.0.0.1:8081",
//                                      .meshd = "http://127.0.0.1:9000"};
//   auto service = mesh::ObservableService::Start(o, [](const mesh::HttpRequest& r,
//                                                       mesh::ObservableService::Context& c) {
//     c.log.Info("listing orders");
//     mesh::ScopedSpan db = c.tracer.StartChild(c.span, "SELECT orders");
//     return mesh::HttpResponse::Json(200, "[]");
//   });
//
// A handler that throws answers 500 with a JSON error; the exception never reaches civetweb.
// The route label is the request path's first segment ("/orders/42" -> "/orders") unless
// Options.route_of says otherwise, and past 100 routes new ones count as "other": label
// cardinality stays bounded whatever the clients send. Thread-safe.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "mesh/base/status.h"
#include "mesh/http/http_message.h"
#include "mesh/sdk/tracer.h"
#include "mesh/telemetry/log_level.h"
#include "mesh/telemetry/logger.h"
#include "mesh/telemetry/metrics.h"

namespace mesh {

class ObservableService {
 public:
  struct Options {
    std::string name;  // the service's name: metric label, span and log service
    std::string listen = "127.0.0.1:8080";
    int threads = 16;
    size_t max_body_bytes = 8 << 20;
    std::string meshd;  // "" keeps telemetry local: metrics on /metrics, logs on log_stream
    std::string token;  // bearer token for meshd
    std::chrono::milliseconds push_interval{0};  // > 0: also push metrics to meshd this often
    LogLevel log_level = LogLevel::kInfo;
    std::FILE* log_stream = stdout;  // JSON lines; nullptr for none
    bool access_log = true;
    // The route label of a request; default: the first path segment.
    std::function<std::string(const HttpRequest&)> route_of;
    // Where the RED metrics go and what /metrics exposes; give your own (it must outlive the
    // service) to register business metrics before the first request. Default: the service's.
    MetricsRegistry* registry = nullptr;
  };

  // What a handler gets besides the request.
  struct Context {
    ScopedSpan& span;  // the request's server span: parent of the handler's own spans
    Logger& log;
    Tracer& tracer;
    MetricsRegistry& metrics;  // for the service's own business metrics
  };
  using Handler = std::function<HttpResponse(const HttpRequest&, Context&)>;

  // Errors: InvalidArgument (no name, bad listen address or meshd URL), IOError (port in use).
  static Result<std::unique_ptr<ObservableService>> Start(Options options, Handler handler);
  ~ObservableService();  // Stop()

  int port() const;
  MetricsRegistry& metrics();
  Logger& logger();
  Tracer& tracer();
  // Stops serving, then flushes spans, logs and (with a push interval) metrics. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit ObservableService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The default route label: "/" or the first path segment ("/orders/42" -> "/orders").
std::string FirstPathSegment(const HttpRequest& request);

}  // namespace mesh

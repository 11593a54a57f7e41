#include "mesh/sdk/observable_service.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "mesh/http/gzip.h"
#include "mesh/http_server/http_server.h"
#include "mesh/sdk/log_sinks.h"
#include "mesh/sdk/metrics_pusher.h"
#include "mesh/telemetry/prometheus_text.h"
#include "mesh/telemetry/traceparent.h"

namespace mesh {
namespace {

constexpr size_t kMaxRoutes = 100;

// Where spans go without a meshd: nowhere, but counted as exported so that the tracer's
// figures stay meaningful. The server span still gives the request its trace and span ids.
class DiscardingExporter : public SpanExporter {
 public:
  Status Export(const std::vector<Span>&) override { return Status::Ok(); }
};

std::string MethodLabel(const std::string& method) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return method;
  }
  return "other";
}

}  // namespace

std::string FirstPathSegment(const HttpRequest& request) {
  const std::string& p = request.path;
  if (p.size() <= 1 || p[0] != '/') return "/";
  const size_t end = p.find('/', 1);
  return p.substr(0, end);
}

struct ObservableService::Impl {
  Options options;
  Handler handler;
  MetricsRegistry own_registry;
  MetricsRegistry* registry = &own_registry;
  Family<Counter>* requests = nullptr;
  Family<Histogram>* duration = nullptr;
  Gauge* in_flight = nullptr;
  std::mutex routes_mu;
  std::set<std::string> routes;
  std::unique_ptr<SpanExporter> exporter;
  std::unique_ptr<Tracer> tracer;
  std::unique_ptr<Logger> logger;
  std::unique_ptr<MetricsPusher> pusher;
  std::unique_ptr<HttpServer> server;
  std::thread flusher;
  std::mutex flush_mu;
  std::condition_variable flush_wake;
  bool stopping = false;

  Status Init() {
    Result<Family<Counter>*> r = registry->AddCounter(
        "http_server_requests_total", "HTTP requests served, by method, route and status code",
        {"service", "method", "route", "code"});
    if (!r.ok()) return r.status();
    requests = *r;
    Result<Family<Histogram>*> d = registry->AddHistogram(
        "http_server_request_duration_seconds", "Time to answer HTTP requests", {"service", "method", "route"});
    if (!d.ok()) return d.status();
    duration = *d;
    Result<Family<Gauge>*> g =
        registry->AddGauge("http_server_requests_in_flight", "HTTP requests being answered", {"service"});
    if (!g.ok()) return g.status();
    Result<Gauge*> series = (*g)->WithLabels({options.name});
    if (!series.ok()) return series.status();
    in_flight = *series;
    return Status::Ok();
  }

  // The route label, bounded: past kMaxRoutes distinct routes, new ones are "other".
  std::string Route(const HttpRequest& r) {
    std::string route = options.route_of ? options.route_of(r) : FirstPathSegment(r);
    std::lock_guard<std::mutex> lock(routes_mu);
    if (routes.count(route)) return route;
    if (routes.size() >= kMaxRoutes) return "other";
    routes.insert(route);
    return route;
  }

  HttpResponse Serve(const HttpRequest& received) {
    // The server hands bodies over as sent; the service's handler gets them plain, within the
    // same bounds as meshd's (the body limit, and 100 times the compressed size).
    std::optional<HttpRequest> inflated;
    if (!received.Header("content-encoding").empty() && !received.body.empty()) {
      inflated = received;
      if (std::optional<HttpResponse> refused =
              InflateRequestBody(*inflated, {.max_bytes = options.max_body_bytes})) {
        return *refused;
      }
    }
    const HttpRequest& r = inflated ? *inflated : received;
    if (r.method == "GET" && r.path == "/metrics") {
      auto exposed = ExposeMetrics(registry->Collect(), r.Header("accept"));
      HttpResponse m;
      m.content_type = std::string(exposed.content_type);
      m.body = std::move(exposed.body);
      return m;
    }
    if (r.method == "GET" && r.path == "/healthz") return HttpResponse::Json(200, "{\"status\":\"ok\"}");

    const auto start = std::chrono::steady_clock::now();
    in_flight->Inc();
    const std::string method = MethodLabel(r.method);
    const std::string route = Route(r);
    ScopedSpan span = tracer->StartSpan(method + " " + route, SpanKind::kServer, ParseTraceParent(r.Header("traceparent")));
    span.SetAttribute("http.request.method", r.method);
    span.SetAttribute("url.path", r.path);
    span.SetAttribute("http.route", route);
    HttpResponse response;
    {
      ScopedTraceContext logging(span.trace_id(), span.span_id());
      Context context{span, *logger, *tracer, *registry};
      try {
        response = handler(r, context);
      } catch (const std::exception& e) {
        logger->Error("handler failed", {{"error", e.what()}, {"path", r.path}});
        response = HttpResponse::Error(500, "internal error");
      } catch (...) {
        logger->Error("handler failed", {{"path", r.path}});
        response = HttpResponse::Error(500, "internal error");
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      span.SetAttribute("http.response.status_code", static_cast<int64_t>(response.status));
      if (response.status >= 500) span.SetStatus(SpanStatus::kError, "HTTP " + std::to_string(response.status));
      if (auto c = requests->WithLabels({options.name, method, route, std::to_string(response.status)}); c.ok()) {
        (*c)->Inc();
      }
      if (auto h = duration->WithLabels({options.name, method, route}); h.ok()) (*h)->Observe(seconds);
      if (options.access_log) {
        logger->Log(response.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "request",
                    {{"method", r.method}, {"path", r.path}, {"status", response.status},
                     {"duration_ms", seconds * 1e3}});
      }
    }
    in_flight->Dec();
    response.headers.emplace_back("X-Trace-ID", span.trace_id());
    return response;
  }

  void FlushLoop() {
    std::unique_lock<std::mutex> lock(flush_mu);
    while (!flush_wake.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
      lock.unlock();
      tracer->Flush();
      lock.lock();
    }
  }
};

Result<std::unique_ptr<ObservableService>> ObservableService::Start(Options options, Handler handler) {
  if (options.name.empty()) return Status::InvalidArgument("an observable service needs a name");
  if (!handler) return Status::InvalidArgument("an observable service needs a handler");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  const Options& o = impl->options;
  if (o.registry) impl->registry = o.registry;
  if (Status s = impl->Init(); !s.ok()) return s;
  impl->logger = std::make_unique<Logger>(o.name, o.log_level);
  if (o.log_stream) impl->logger->AddSink(MakeStreamSink(o.log_stream));
  if (!o.meshd.empty()) {
    Result<std::shared_ptr<LogSink>> sink = MakeMeshdSink(o.meshd, o.token);
    if (!sink.ok()) return sink.status();
    impl->logger->AddSink(*sink);
    impl->exporter = std::make_unique<OtlpHttpSpanExporter>(o.meshd, o.token);
  } else {
    impl->exporter = std::make_unique<DiscardingExporter>();
  }
  // Spans leave on the flusher's thread every second, rarely on a request's.
  impl->tracer = std::make_unique<Tracer>(o.name, *impl->exporter, Tracer::Options{.batch_size = 4096});
  if (o.push_interval.count() > 0 && o.meshd.empty()) {
    return Status::InvalidArgument("a metrics push interval needs a meshd URL");
  }
  Impl* raw = impl.get();
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      {.listen = o.listen, .threads = o.threads, .max_body_bytes = o.max_body_bytes},
      [raw](const HttpRequest& r) { return raw->Serve(r); });
  if (!server.ok()) return server.status();
  impl->server = std::move(server).value();
  if (o.push_interval.count() > 0) {
    // The instance label: the address actually bound (port 0 picks one).
    const std::string host = o.listen.substr(0, o.listen.rfind(':'));
    impl->pusher = std::make_unique<MetricsPusher>(
        *impl->registry,
        MetricsPusher::Options{.meshd = o.meshd, .service = o.name,
                               .instance = host + ":" + std::to_string(impl->server->port()), .token = o.token,
                               .interval = o.push_interval});
    if (Status s = impl->pusher->Start(); !s.ok()) return s;
  }
  impl->flusher = std::thread([raw] { raw->FlushLoop(); });
  return std::unique_ptr<ObservableService>(new ObservableService(std::move(impl)));
}

ObservableService::ObservableService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ObservableService::~ObservableService() { Stop(); }

int ObservableService::port() const { return impl_->server ? impl_->server->port() : 0; }
MetricsRegistry& ObservableService::metrics() { return *impl_->registry; }
Logger& ObservableService::logger() { return *impl_->logger; }
Tracer& ObservableService::tracer() { return *impl_->tracer; }

void ObservableService::Stop() {
  if (!impl_->server) return;
  impl_->server.reset();  // no request runs past this point
  {
    std::lock_guard<std::mutex> lock(impl_->flush_mu);
    impl_->stopping = true;
  }
  impl_->flush_wake.notify_all();
  impl_->flusher.join();
  impl_->tracer->Flush();
  if (impl_->pusher) impl_->pusher->Stop();
  impl_->logger->Flush();
}

}  // namespace mesh

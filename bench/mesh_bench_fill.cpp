// mesh_bench_fill: fills a store with synthetic, deterministic mesh telemetry for the report and
// alert benchmarks (bench/meshstat_bench.sh, the meshalert bench), through the library's normal
// write path: per service, one meshproxy-like instance whose MetricsRegistry (the families and
// buckets meshproxy uses) is collected every interval and stored with MetricStore, as meshd does
// with a push; spans with SpanStore, log records with LogStore; all through one StoreWriter
// (group commit, one transaction per hour of data).
//
//   mesh_bench_fill --db PATH --services 50 --hours 24 --interval 15s [--end RFC3339|now]
//                   [--spans-per-interval 2] [--logs-per-interval 2] [--calls] [--seed 1]
//
// Per service and interval: mesh_requests_total{service,direction="inbound",code="200"|"500",
// instance} (2 to 40 requests a second with a daily swing, 0.5% to 5% errors),
// mesh_request_duration_seconds (DefaultLatencyBuckets, log-normal around a per-service median),
// mesh_requests_in_flight; spans of eight operations (3% errors); log records, a quarter of
// them at level error with one of five messages. The same arguments give the same store.
// With --calls the services call each other as a binary tree (service k's spans are children
// of service (k-1)/2's, in the same traces): the service map's edges, for
// bench/service_views_bench.sh.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/time_format.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/store.h"
#include "mesh/store/store_writer.h"
#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/metrics.h"
#include "mesh/telemetry/span.h"

namespace {

constexpr int64_t kSecond = 1'000'000'000;

const char* const kOperations[] = {"GET /items",  "GET /items/{id}", "POST /orders",
                                   "GET /cart",   "PUT /cart",       "DELETE /items/{id}",
                                   "GET /search", "POST /checkout"};
const char* const kErrorMessages[] = {"upstream connect error or disconnect/reset before headers",
                                      "database timeout after 5s", "payment declined by provider",
                                      "cache unavailable: connection refused",
                                      "invalid request body: unexpected end of JSON input"};

struct Options {
  std::string db;
  int services = 50;
  double hours = 24;
  std::string interval = "15s";
  std::string end = "now";
  int spans_per_interval = 2;
  int logs_per_interval = 2;
  bool calls = false;
  uint64_t seed = 1;
};

std::string Hex(std::mt19937_64& rng, int digits) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = 0; i < digits; i += 16) {
    uint64_t v = rng() | 1;  // never all zeros
    for (int j = i; j < std::min(digits, i + 16); ++j, v >>= 4)
      out[static_cast<size_t>(j)] = kDigits[v & 15];
  }
  return out;
}

// One service's sidecar: its metrics registry (as meshproxy registers them) and its traffic.
struct Service {
  std::string name;
  std::string instance;
  double base_rps;
  double error_rate;
  double median_seconds;
  std::unique_ptr<mesh::MetricsRegistry> registry;
  mesh::Counter* ok = nullptr;
  mesh::Counter* failed = nullptr;
  mesh::Histogram* durations = nullptr;
  mesh::Gauge* in_flight = nullptr;
  double carry = 0;  // fractional requests carried to the next interval
};

Service MakeService(int index) {
  Service s;
  char name[32];
  std::snprintf(name, sizeof name, "svc-%02d", index);
  s.name = name;
  s.instance = "host-" + std::to_string(index) + ":15001";
  s.base_rps = 2 + (index * 7) % 39;
  s.error_rate = 0.005 + 0.005 * (index % 10);
  s.median_seconds = 0.004 * (1 + (index * 3) % 25);
  s.registry = std::make_unique<mesh::MetricsRegistry>();
  auto* requests = *s.registry->AddCounter("mesh_requests_total", "Requests through the proxy",
                                           {"service", "direction", "code"});
  auto* durations = *s.registry->AddHistogram(
      "mesh_request_duration_seconds", "Request duration through the proxy, as its client sees it",
      {"service", "direction"});
  auto* in_flight = *s.registry->AddGauge("mesh_requests_in_flight", "Requests being proxied",
                                          {"service", "direction"});
  s.ok = *requests->WithLabels({s.name, "inbound", "200"});
  s.failed = *requests->WithLabels({s.name, "inbound", "500"});
  s.durations = *durations->WithLabels({s.name, "inbound"});
  s.in_flight = *in_flight->WithLabels({s.name, "inbound"});
  return s;
}

struct Batch {
  std::vector<mesh::MetricFamily> families;
  std::vector<mesh::Span> spans;
  std::vector<mesh::LogRecord> logs;
  int64_t samples = 0;
};

// The batch holds the same number of spans per service, service after service: span j of
// service k becomes a child of span j of service (k-1)/2, in its trace, starting just after it.
void LinkCalls(std::vector<mesh::Span>& spans, size_t services) {
  const size_t per = spans.size() / services;
  for (size_t k = 1; k < services; ++k) {
    for (size_t j = 0; j < per; ++j) {
      const mesh::Span& parent = spans[(k - 1) / 2 * per + j];
      mesh::Span& child = spans[k * per + j];
      child.trace_id = parent.trace_id;
      child.parent_span_id = parent.span_id;
      child.start_ns = parent.start_ns + 1'000'000;
      child.kind = mesh::SpanKind::kServer;
    }
  }
}

// One interval of one service ending at t_ns: traffic into its registry, then a "push".
void Simulate(Service& s, int64_t t_ns, int64_t interval_ns, const Options& o, std::mt19937_64& rng,
              Batch& batch) {
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  const double day_phase =
      2 * M_PI * static_cast<double>(t_ns % (86400 * kSecond)) / (86400.0 * kSecond);
  const double rps = s.base_rps * (1 + 0.5 * std::sin(day_phase)) * (0.9 + 0.2 * uniform(rng));
  const double seconds = static_cast<double>(interval_ns) / kSecond;
  const double expected = rps * seconds + s.carry;
  const int64_t n = static_cast<int64_t>(expected);
  s.carry = expected - static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const bool error = uniform(rng) < s.error_rate;
    (error ? s.failed : s.ok)->Inc();
    s.durations->Observe(s.median_seconds * std::exp(0.6 * normal(rng)));
  }
  s.in_flight->Set(std::round(rps * s.median_seconds * (1 + 3 * uniform(rng) * uniform(rng))));

  for (mesh::MetricFamily& f : s.registry->Collect()) {
    for (mesh::MetricSample& sample : f.samples) {
      // What meshd does with the push's ?instance= grouping key.
      sample.labels.emplace_back("instance", s.instance);
      std::sort(sample.labels.begin(), sample.labels.end());
      sample.timestamp_ms = t_ns / 1'000'000;
      ++batch.samples;
    }
    batch.families.push_back(std::move(f));
  }

  for (int i = 0; i < o.spans_per_interval; ++i) {
    mesh::Span span;
    span.trace_id = Hex(rng, 32);
    span.span_id = Hex(rng, 16);
    span.service = s.name;
    const size_t op = rng() % std::size(kOperations);
    span.name = kOperations[op];
    span.kind = mesh::SpanKind::kServer;
    span.start_ns = t_ns - static_cast<int64_t>(uniform(rng) * static_cast<double>(interval_ns));
    const double median = s.median_seconds * (1 + static_cast<double>(op));
    span.duration_ns = static_cast<int64_t>(median * std::exp(0.6 * normal(rng)) * kSecond);
    const bool error = uniform(rng) < 0.03;
    span.status = error ? mesh::SpanStatus::kError : mesh::SpanStatus::kUnset;
    span.attributes = std::string("{\"http.method\":\"") + (span.name[0] == 'G' ? "GET" : "POST") +
                      "\",\"http.status_code\":" + (error ? "500" : "200") + "}";
    span.scope = "meshproxy";
    batch.spans.push_back(std::move(span));
  }
  for (int i = 0; i < o.logs_per_interval; ++i) {
    mesh::LogRecord r;
    r.ts_ns = t_ns - static_cast<int64_t>(uniform(rng) * static_cast<double>(interval_ns));
    r.service = s.name;
    if (uniform(rng) < 0.25) {
      r.level = mesh::LogLevel::kError;
      // Skewed: the first messages are the most frequent.
      const double u = uniform(rng);
      r.message = kErrorMessages[static_cast<size_t>(
          u * u * static_cast<double>(std::size(kErrorMessages)))];
      r.trace_id = Hex(rng, 32);
    } else {
      r.level = mesh::LogLevel::kInfo;
      r.message = "request served";
    }
    r.attributes = "{\"instance\":\"" + s.instance + "\"}";
    batch.logs.push_back(std::move(r));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"mesh_bench_fill: synthetic mesh telemetry (metrics, spans, logs) for benchmarks",
               "mesh_bench_fill"};
  app.add_option("--db", o.db, "Store file to fill (created when missing)")->required();
  app.add_option("--services", o.services, "Services, one instance each")->capture_default_str();
  app.add_option("--hours", o.hours, "Hours of history, ending at --end")->capture_default_str();
  app.add_option("--interval", o.interval, "Push interval (metric samples, spans, logs)")
      ->capture_default_str();
  app.add_option("--end", o.end, "End of the history: RFC 3339, Unix seconds or now")
      ->capture_default_str();
  app.add_option("--spans-per-interval", o.spans_per_interval, "Spans per service per interval")
      ->capture_default_str();
  app.add_option("--logs-per-interval", o.logs_per_interval, "Log records per service per interval")
      ->capture_default_str();
  app.add_flag("--calls", o.calls, "Make each service's spans children of another service's (a binary tree of calls)");
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const int64_t now = mesh::SystemClock::Instance().NowNs();
  mesh::Result<int64_t> interval = mesh::ParseDuration(o.interval);
  mesh::Result<int64_t> end = mesh::ParseTimeSpec(o.end, now);
  if (!interval.ok() || *interval <= 0 || !end.ok() || o.services <= 0 || o.hours <= 0 ||
      o.spans_per_interval < 0 || o.logs_per_interval < 0) {
    std::fprintf(stderr, "mesh_bench_fill: bad arguments (%s)\n",
                 !interval.ok() ? interval.status().message().c_str()
                 : !end.ok()    ? end.status().message().c_str()
                                : "counts must be positive");
    return 2;
  }
  mesh::Result<std::unique_ptr<mesh::Store>> store = mesh::Store::Open({.path = o.db});
  if (!store.ok()) {
    std::fprintf(stderr, "mesh_bench_fill: %s\n", store.status().message().c_str());
    return 1;
  }
  mesh::StoreWriter writer(std::move(store).value());

  std::vector<Service> services;
  for (int i = 0; i < o.services; ++i) services.push_back(MakeService(i));
  std::mt19937_64 rng(o.seed);
  const int64_t start = *end - static_cast<int64_t>(o.hours * 3600 * kSecond);
  const int64_t hour = 3600 * kSecond;
  const auto began = std::chrono::steady_clock::now();
  int64_t samples = 0, spans = 0, logs = 0;
  // The first push is at `start`: a window [start, end] then holds every rise.
  for (int64_t chunk = start; chunk <= *end; chunk += hour) {
    Batch batch;
    for (Service& s : services) {
      for (int64_t t = chunk; t < std::min(chunk + hour, *end + 1); t += *interval) {
        Simulate(s, t, *interval, o, rng, batch);
      }
    }
    if (o.calls) LinkCalls(batch.spans, services.size());
    mesh::Status status = writer.Submit([&](mesh::WriteContext& c) -> mesh::Status {
      mesh::Result<int64_t> n = mesh::MetricStore(c.store).InsertRows(batch.families, now);
      if (!n.ok()) return n.status();
      if (mesh::Result<int64_t> s = c.spans.InsertRows(batch.spans); !s.ok()) return s.status();
      return c.logs.InsertRows(batch.logs);
    });
    if (!status.ok()) {
      std::fprintf(stderr, "mesh_bench_fill: %s\n", status.message().c_str());
      return 1;
    }
    samples += batch.samples;
    spans += static_cast<int64_t>(batch.spans.size());
    logs += static_cast<int64_t>(batch.logs.size());
  }
  writer.Stop();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("%d services, %s to %s: %lld samples, %lld spans, %lld log records in %.1f s\n",
              o.services, mesh::FormatRfc3339(start).c_str(), mesh::FormatRfc3339(*end).c_str(),
              static_cast<long long>(samples), static_cast<long long>(spans),
              static_cast<long long>(logs), took);
  return 0;
}

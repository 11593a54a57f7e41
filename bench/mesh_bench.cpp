// mesh_bench: Google Benchmark micro-benchmarks of the pure functions on meshlog's hot paths:
// parsing one input line (JSON, logfmt, text), scanning a JSON object without a tree versus
// building a jsoncpp tree, printing a record as JSON, and formatting a timestamp; and meshd's
// OTLP span decoding, the same batch as OTLP/JSON and as protobuf (items are spans), and OTLP
// metrics decoding, the same export both ways (items are data points).
//
//   build/bench/mesh_bench [--benchmark_filter=REGEX] [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/otlp_proto/otlp_metrics_proto.h"
#include "mesh/otlp_proto/otlp_proto.h"
#include "mesh/telemetry/otlp.h"
#include "mesh/telemetry/log_line_parser.h"
#include "mesh/telemetry/log_record.h"

namespace {

// A line as gen_logs writes it (and as a typical JSON logger prints it).
constexpr std::string_view kJsonLine =
    R"({"timestamp":"2026-11-25T13:17:45.120731Z","level":"info","service":"checkout-api",)"
    R"("message":"cache refresh completed upstream quickly retrying id=4821733",)"
    R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7",)"
    R"("user_id":48213,"path":"/api/v1/orders/9127","status":200,"latency_ms":12.407})";

// The same record as logfmt (Go slog TextHandler style).
constexpr std::string_view kLogfmtLine =
    R"(time=2026-11-25T13:17:45.120731Z level=info service=checkout-api )"
    R"(msg="cache refresh completed upstream quickly retrying id=4821733" )"
    R"(trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 )"
    R"(user_id=48213 path=/api/v1/orders/9127 status=200 latency_ms=12.407)";

// A plain text line with a leading level word.
constexpr std::string_view kTextLine =
    "INFO cache refresh completed upstream quickly retrying id=4821733 user=48213 "
    "path=/api/v1/orders/9127 status=200 latency=12.407ms";

class FixedClock : public mesh::Clock {
 public:
  int64_t NowNs() const override { return 1'795'605'465'120'731'000; }
};

void ParseLine(benchmark::State& state, mesh::InputFormat format, std::string_view line) {
  FixedClock clock;
  mesh::LogLineParser::Options options;
  options.format = format;
  options.service = "bench";
  mesh::LogLineParser parser(options, clock);
  for (auto _ : state) {
    mesh::LogRecord r = parser.Parse(line);
    benchmark::DoNotOptimize(r);
  }
  if (parser.counters().parse_errors != 0) state.SkipWithError("the line did not parse");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_ParseJsonLine(benchmark::State& state) {
  ParseLine(state, mesh::InputFormat::kJson, kJsonLine);
}
BENCHMARK(BM_ParseJsonLine);

void BM_ParseLogfmtLine(benchmark::State& state) {
  ParseLine(state, mesh::InputFormat::kLogfmt, kLogfmtLine);
}
BENCHMARK(BM_ParseLogfmtLine);

void BM_ParseTextLine(benchmark::State& state) {
  ParseLine(state, mesh::InputFormat::kText, kTextLine);
}
BENCHMARK(BM_ParseTextLine);

void BM_ScanJsonObject(benchmark::State& state) {
  std::vector<mesh::JsonMember> members;
  for (auto _ : state) {
    mesh::Status s = mesh::ScanJsonObject(kJsonLine, members);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(members.data());
  }
  if (members.size() != 10) state.SkipWithError("unexpected member count");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kJsonLine.size()));
}
BENCHMARK(BM_ScanJsonObject);

void BM_JsoncppParseJson(benchmark::State& state) {
  for (auto _ : state) {
    mesh::Result<Json::Value> v = mesh::ParseJson(kJsonLine);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kJsonLine.size()));
}
BENCHMARK(BM_JsoncppParseJson);

void BM_AppendJson(benchmark::State& state) {
  FixedClock clock;
  mesh::LogLineParser::Options options;
  options.service = "bench";
  mesh::LogLineParser parser(options, clock);
  const mesh::LogRecord record = parser.Parse(kJsonLine);
  std::string out;
  for (auto _ : state) {
    out.clear();
    mesh::AppendJson(out, record);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AppendJson);

void BM_FormatRfc3339(benchmark::State& state) {
  int64_t ns = 1'795'605'465'120'731'000;
  for (auto _ : state) {
    std::string s = mesh::FormatRfc3339(ns);
    benchmark::DoNotOptimize(s);
    ns += 1'234'567;  // a different instant each time, as on a real stream
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FormatRfc3339);

// bench/otlp_load's batch: 1,000 spans, 10 per trace, 3 attributes each, every span new.
std::vector<mesh::Span> OtlpBatch() {
  std::vector<mesh::Span> spans;
  for (int i = 0; i < 1000; ++i) {
    mesh::Span s;
    char trace_id[33], span_id[17];
    std::snprintf(trace_id, sizeof trace_id, "4bf92f3577b34da6a3ce929d%08x", i / 10 + 1);
    std::snprintf(span_id, sizeof span_id, "00f067aa%08x", i + 1);
    s.trace_id = trace_id;
    s.span_id = span_id;
    s.service = "svc1";
    s.name = "GET /api/orders";
    s.kind = mesh::SpanKind::kServer;
    s.start_ns = 1'795'605'465'120'731'000 + i * 1'000'000;
    s.duration_ns = 2'500'000;
    s.attributes = R"({"http.method":"GET","http.status_code":200,"http.route":"/api/orders"})";
    spans.push_back(std::move(s));
  }
  return spans;
}

void BM_DecodeOtlpTracesJson(benchmark::State& state) {
  const std::string body = mesh::EncodeOtlpTraces(OtlpBatch());
  for (auto _ : state) {
    mesh::Result<mesh::OtlpTraces> r = mesh::DecodeOtlpTraces(body);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 1000));
}
BENCHMARK(BM_DecodeOtlpTracesJson);

void BM_DecodeOtlpTracesProto(benchmark::State& state) {
  const std::string body = mesh::EncodeOtlpTracesProto(OtlpBatch());
  for (auto _ : state) {
    mesh::Result<mesh::OtlpTraces> r = mesh::DecodeOtlpTracesProto(body);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 1000));
}
BENCHMARK(BM_DecodeOtlpTracesProto);

// OTLP metrics export, the same payload encoded both ways: one resource (service.name,
// service.instance.id), 10 monotonic sums and 10 histograms (10 explicit bounds), each with 10
// data points of 2 attributes: 200 points, the shape of an SDK's periodic export of RED metrics.
// Protobuf is written out on the wire by hand (field numbers of the specification), JSON as the
// OTLP/JSON mapping; the benchmarks check that both decode to the same points.
namespace otlp_metrics_payload {

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string Len(int field, const std::string& payload) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(payload.size()) + payload;
}
std::string VarintField(int field, uint64_t v) { return Varint(static_cast<uint64_t>(field) << 3) + Varint(v); }
std::string Fixed64Bytes(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}
std::string Fixed64(int field, uint64_t v) { return Varint(static_cast<uint64_t>(field) << 3 | 1) + Fixed64Bytes(v); }
std::string DoubleBytes(double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  return Fixed64Bytes(bits);
}
std::string Double(int field, double d) { return Varint(static_cast<uint64_t>(field) << 3 | 1) + DoubleBytes(d); }
std::string StringAttribute(const std::string& key, const std::string& value) {
  return Len(1, key) + Len(2, Len(1, value));
}
std::string JsonAttribute(const std::string& key, const std::string& value) {
  return R"({"key":")" + key + R"(","value":{"stringValue":")" + value + R"("}})";
}

constexpr int kMetricsPerKind = 10;
constexpr int kPointsPerMetric = 10;
constexpr int64_t kTimeNs = 1'795'605'465'000'000'000;
constexpr double kBounds[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};

std::string Route(int point) { return "/api/r" + std::to_string(point); }

std::string Proto() {
  std::string metrics;
  for (int m = 0; m < kMetricsPerKind; ++m) {
    std::string sum, histogram;
    for (int p = 0; p < kPointsPerMetric; ++p) {
      const std::string attributes = Len(7, StringAttribute("http.route", Route(p))) + Len(7, StringAttribute("http.method", "GET"));
      // NumberDataPoint: attributes 7, time 3, as_int 6. HistogramDataPoint: attributes 9,
      // time 3, count 4, sum 5, bucket_counts 6 (packed), explicit_bounds 7 (packed).
      sum += Len(1, attributes + Fixed64(3, kTimeNs) + Fixed64(6, 1000 + p));
      std::string counts, bounds;
      for (size_t b = 0; b <= std::size(kBounds); ++b) counts += Fixed64Bytes(b + 1);
      for (double bound : kBounds) bounds += DoubleBytes(bound);
      const std::string histogram_attributes = Len(9, StringAttribute("http.route", Route(p))) + Len(9, StringAttribute("http.method", "GET"));
      histogram += Len(1, histogram_attributes + Fixed64(3, kTimeNs) + Fixed64(4, 66) + Double(5, 1234.5) + Len(6, counts) + Len(7, bounds));
    }
    // Metric: name 1, unit 3, sum 7 { data_points 1, temporality 2, is_monotonic 3 },
    // histogram 9 { data_points 1, temporality 2 }.
    metrics += Len(2, Len(1, "requests_" + std::to_string(m)) + Len(3, "1") + Len(7, sum + VarintField(2, 2) + VarintField(3, 1)));
    metrics += Len(2, Len(1, "latency_" + std::to_string(m)) + Len(3, "ms") + Len(9, histogram + VarintField(2, 2)));
  }
  const std::string resource = Len(1, StringAttribute("service.name", "shop")) + Len(1, StringAttribute("service.instance.id", "shop-1"));
  return Len(1, Len(1, resource) + Len(2, Len(1, Len(1, "bench")) + metrics));
}

std::string Json() {
  std::string metrics;
  for (int m = 0; m < kMetricsPerKind; ++m) {
    std::string sum, histogram;
    for (int p = 0; p < kPointsPerMetric; ++p) {
      const std::string attributes = "[" + JsonAttribute("http.route", Route(p)) + "," + JsonAttribute("http.method", "GET") + "]";
      const std::string time = R"("timeUnixNano":")" + std::to_string(kTimeNs) + R"(")";
      if (p) sum += ',', histogram += ',';
      sum += R"({"attributes":)" + attributes + "," + time + R"(,"asInt":")" + std::to_string(1000 + p) + R"("})";
      std::string counts, bounds;
      for (size_t b = 0; b <= std::size(kBounds); ++b) counts += (b ? ",\"" : "\"") + std::to_string(b + 1) + "\"";
      for (double bound : kBounds) bounds += (bounds.empty() ? "" : ",") + std::to_string(static_cast<int>(bound));
      histogram += R"({"attributes":)" + attributes + "," + time + R"(,"count":"66","sum":1234.5,"bucketCounts":[)" + counts +
                   R"(],"explicitBounds":[)" + bounds + "]}";
    }
    if (m) metrics += ',';
    metrics += R"({"name":"requests_)" + std::to_string(m) + R"(","unit":"1","sum":{"dataPoints":[)" + sum +
               R"(],"aggregationTemporality":2,"isMonotonic":true}},)";
    metrics += R"({"name":"latency_)" + std::to_string(m) + R"(","unit":"ms","histogram":{"dataPoints":[)" + histogram +
               R"(],"aggregationTemporality":2}})";
  }
  return R"({"resourceMetrics":[{"resource":{"attributes":[)" + JsonAttribute("service.name", "shop") + "," +
         JsonAttribute("service.instance.id", "shop-1") + R"(]},"scopeMetrics":[{"scope":{"name":"bench"},"metrics":[)" +
         metrics + "]}]}]}";
}

// The decoded payload, flattened to compare the two decoders' outcomes.
std::string Fingerprint(const mesh::OtlpMetrics& decoded) {
  std::string out = std::to_string(decoded.rejected);
  for (const mesh::OtlpMetric& m : decoded.metrics) {
    out += "|" + m.service + "," + m.instance + "," + m.name + "," + m.unit + "," + std::to_string(static_cast<int>(m.kind)) +
           "," + std::to_string(static_cast<int>(m.temporality)) + "," + std::to_string(m.monotonic);
    for (const mesh::OtlpMetricPoint& p : m.points) {
      out += ";" + std::to_string(p.time_ns) + "," + std::to_string(p.value) + "," + std::to_string(p.count) + "," +
             std::to_string(p.sum.value_or(-1)) + "," + std::to_string(p.bounds.size()) + "," + std::to_string(p.bucket_counts.size());
      for (const auto& [key, value] : p.attributes) out += "," + key + "=" + value;
    }
  }
  return out;
}

constexpr int64_t kPoints = 2 * kMetricsPerKind * kPointsPerMetric;

}  // namespace otlp_metrics_payload

void DecodeOtlpMetricsBench(benchmark::State& state, const std::string& body,
                            mesh::Result<mesh::OtlpMetrics> (*decode)(std::string_view)) {
  namespace payload = otlp_metrics_payload;
  mesh::Result<mesh::OtlpMetrics> proto = mesh::DecodeOtlpMetricsProto(payload::Proto());
  mesh::Result<mesh::OtlpMetrics> json = mesh::DecodeOtlpMetricsJson(payload::Json());
  if (!proto.ok() || !json.ok() || payload::Fingerprint(*proto) != payload::Fingerprint(*json) ||
      proto->metrics.size() != 2 * payload::kMetricsPerKind || proto->rejected != 0) {
    state.SkipWithError("the protobuf and JSON payloads do not decode to the same points");
    return;
  }
  for (auto _ : state) {
    mesh::Result<mesh::OtlpMetrics> r = decode(body);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(state.iterations() * payload::kPoints);
}

void BM_DecodeOtlpMetricsJson(benchmark::State& state) {
  DecodeOtlpMetricsBench(state, otlp_metrics_payload::Json(), mesh::DecodeOtlpMetricsJson);
}
BENCHMARK(BM_DecodeOtlpMetricsJson);

void BM_DecodeOtlpMetricsProto(benchmark::State& state) {
  DecodeOtlpMetricsBench(state, otlp_metrics_payload::Proto(), mesh::DecodeOtlpMetricsProto);
}
BENCHMARK(BM_DecodeOtlpMetricsProto);

}  // namespace

BENCHMARK_MAIN();

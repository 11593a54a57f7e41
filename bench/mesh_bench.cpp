// mesh_bench: Google Benchmark micro-benchmarks of the pure functions on meshlog's hot paths:
// parsing one input line (JSON, logfmt, text), scanning a JSON object without a tree versus
// building a jsoncpp tree, printing a record as JSON, and formatting a timestamp; and meshd's
// OTLP span decoding, the same batch as OTLP/JSON and as protobuf (items are spans).
//
//   build/bench/mesh_bench [--benchmark_filter=REGEX] [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
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
  mesh::LogLineParser parser({.format = format, .service = "bench"}, clock);
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
  mesh::LogLineParser parser({.format = mesh::InputFormat::kJson, .service = "bench"}, clock);
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

}  // namespace

BENCHMARK_MAIN();

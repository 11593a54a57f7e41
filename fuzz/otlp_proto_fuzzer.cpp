// Fuzz target: OTLP/HTTP protobuf ingest, the application/x-protobuf bodies meshd takes on
// POST /v1/traces, /v1/logs and /v1/metrics (DecodeOtlpTracesProto, DecodeOtlpLogsProto,
// DecodeOtlpMetricsProto; the metrics JSON decoder too). Every input goes to every decoder.
//
// Invariants: what is decoded is what the store may hold (valid ids, non-negative times, clean
// UTF-8, attributes and events as JSON of the right shape that the project's JSON readers take,
// kMaxJsonDepth included), the protobuf answers are built, and spans encoded back to protobuf
// decode to the same spans (what the JSON fuzz target checks of the JSON codec); metrics map to
// families with valid names that pass CheckHistograms.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/otlp_proto/otlp_metrics_proto.h"
#include "mesh/otlp_proto/otlp_proto.h"
#include "mesh/telemetry/otlp_metric_mapper.h"
#include "mesh/telemetry/prometheus_text.h"
#include "otlp_invariants.h"

using namespace otlp_invariants;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  if (const mesh::Result<mesh::OtlpTraces> traces = mesh::DecodeOtlpTracesProto(body); traces.ok()) {
    for (const mesh::Span& s : traces->spans) CheckSpan(s);
    mesh::OtlpTracesProtoResponse(*traces);
    const mesh::Result<mesh::OtlpTraces> again =
        mesh::DecodeOtlpTracesProto(mesh::EncodeOtlpTracesProto(traces->spans));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->rejected == 0);
    FUZZ_CHECK(SameElements(traces->spans, again->spans));
  }

  if (const mesh::Result<mesh::OtlpLogs> logs = mesh::DecodeOtlpLogsProto(body); logs.ok()) {
    for (const mesh::LogRecord& r : logs->records) CheckRecord(r);
    mesh::OtlpLogsProtoResponse(*logs);
  }

  for (const mesh::Result<mesh::OtlpMetrics>& metrics :
       {mesh::DecodeOtlpMetricsProto(body), mesh::DecodeOtlpMetricsJson(body)}) {
    if (!metrics.ok()) continue;
    mesh::OtlpMetricsProtoResponse(metrics->rejected, metrics->first_error);
    mesh::OtlpMetricMapper mapper;
    mesh::OtlpMetricMapper::Mapped mapped = mapper.Map(*metrics);
    for (const mesh::MetricFamily& f : mapped.families) {
      FUZZ_CHECK(mesh::IsValidMetricName(f.name));
      for (const mesh::MetricSample& sample : f.samples) {
        for (const auto& [name, value] : sample.labels) FUZZ_CHECK(mesh::IsValidLabelName(name));
      }
    }
    FUZZ_CHECK(mesh::CheckHistograms(mapped.families).ok());
    mapper.Commit(mapped);
  }
  return 0;
}

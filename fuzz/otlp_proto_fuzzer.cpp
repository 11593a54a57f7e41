// Fuzz target: OTLP/HTTP protobuf ingest, the application/x-protobuf bodies meshd takes on
// POST /v1/traces and /v1/logs (DecodeOtlpTracesProto, DecodeOtlpLogsProto). Every input goes
// to both decoders.
//
// Invariants: what is decoded is what the store may hold (valid ids, non-negative times, clean
// UTF-8, attributes and events as JSON of the right shape that the project's JSON readers take,
// kMaxJsonDepth included), the protobuf answers are built, and spans encoded back to protobuf
// decode to the same spans (what the JSON fuzz target checks of the JSON codec).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/otlp_proto/otlp_proto.h"
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
  return 0;
}

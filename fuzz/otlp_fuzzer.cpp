// Fuzz target: OTLP/HTTP JSON ingest, the bodies meshd takes on POST /v1/traces and /v1/logs
// (DecodeOtlpTraces, DecodeOtlpLogs; /v1/metrics takes Prometheus text, see
// prometheus_text_fuzzer). Every input goes to both decoders: the top-level key decides which
// one finds anything, and they share the JSON tape and AnyValue code.
//
// Invariants: what is decoded is what the store may hold (valid ids, non-negative times,
// clean UTF-8, attributes and events as JSON of the right shape), and encoding the decoded
// spans or records and decoding again gives them back, which meshtrace export and meshlog's
// remote sink rely on.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/telemetry/otlp.h"
#include "otlp_invariants.h"

using namespace otlp_invariants;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  if (const mesh::Result<mesh::OtlpTraces> traces = mesh::DecodeOtlpTraces(body); traces.ok()) {
    for (const mesh::Span& s : traces->spans) CheckSpan(s);
    mesh::OtlpTracesResponse(*traces);
    const mesh::Result<mesh::OtlpTraces> again = mesh::DecodeOtlpTraces(mesh::EncodeOtlpTraces(traces->spans));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->rejected == 0);
    FUZZ_CHECK(SameElements(traces->spans, again->spans));
  }

  if (const mesh::Result<mesh::OtlpLogs> logs = mesh::DecodeOtlpLogs(body); logs.ok()) {
    for (const mesh::LogRecord& r : logs->records) CheckRecord(r);
    mesh::OtlpLogsResponse(*logs);
    const mesh::Result<mesh::OtlpLogs> again = mesh::DecodeOtlpLogs(mesh::EncodeOtlpLogs(logs->records));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->rejected == 0);
    FUZZ_CHECK(SameElements(logs->records, again->records));
  }
  return 0;
}

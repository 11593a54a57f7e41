// Fuzz target: OTLP/HTTP protobuf ingest, the application/x-protobuf bodies meshd takes on
// POST /v1/traces and /v1/logs (DecodeOtlpTracesProto, DecodeOtlpLogsProto). Every input goes
// to both decoders.
//
// Invariants: what is decoded is what the store may hold (valid ids, non-negative times, clean
// UTF-8, attributes and events as JSON of the right shape that the project's JSON readers take,
// kMaxJsonDepth included), the protobuf answers are built, and spans encoded back to protobuf
// decode to the same spans (what the JSON fuzz target checks of the JSON codec).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fuzz_check.h"
#include "mesh/base/json_tape.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/otlp_proto/otlp_proto.h"

namespace {

bool IsEmptyOrJson(const std::string& text, mesh::JsonKind kind) {
  if (text.empty()) return true;
  mesh::JsonTape tape;
  return tape.Parse(text).ok() && tape.node(tape.root()).kind == kind;
}

auto Fields(const mesh::Span& s) {
  return std::tie(s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.service, s.name, s.kind,
                  s.start_ns, s.duration_ns, s.status, s.status_message, s.attributes, s.events,
                  s.resource, s.scope, s.links);
}

// The encoder groups by resource and scope, so the order may change: compare sorted.
bool SameSpans(std::vector<mesh::Span> a, std::vector<mesh::Span> b) {
  const auto less = [](const mesh::Span& x, const mesh::Span& y) { return Fields(x) < Fields(y); };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const mesh::Span& x, const mesh::Span& y) { return Fields(x) == Fields(y); });
}

void CheckSpan(const mesh::Span& s) {
  FUZZ_CHECK(mesh::IsValidTraceId(s.trace_id));
  FUZZ_CHECK(mesh::IsValidSpanId(s.span_id));
  FUZZ_CHECK(s.parent_span_id.empty() || mesh::IsValidSpanId(s.parent_span_id));
  FUZZ_CHECK(s.start_ns >= 0 && s.duration_ns >= 0);
  FUZZ_CHECK(static_cast<int>(s.kind) >= 0 && static_cast<int>(s.kind) <= 5);
  FUZZ_CHECK(static_cast<int>(s.status) >= 0 && static_cast<int>(s.status) <= 2);
  for (const std::string* text : {&s.trace_state, &s.service, &s.name, &s.status_message, &s.attributes,
                                  &s.events, &s.resource, &s.scope}) {
    FUZZ_CHECK(mesh::IsCleanUtf8(*text));
  }
  FUZZ_CHECK(IsEmptyOrJson(s.attributes, mesh::JsonKind::kObject));
  FUZZ_CHECK(IsEmptyOrJson(s.resource, mesh::JsonKind::kObject));
  FUZZ_CHECK(IsEmptyOrJson(s.events, mesh::JsonKind::kArray));
  FUZZ_CHECK(IsEmptyOrJson(s.links, mesh::JsonKind::kArray));
}

void CheckRecord(const mesh::LogRecord& r) {
  FUZZ_CHECK(r.trace_id.empty() || mesh::IsValidTraceId(r.trace_id));
  FUZZ_CHECK(r.span_id.empty() || mesh::IsValidSpanId(r.span_id));
  FUZZ_CHECK(r.span_id.empty() || !r.trace_id.empty());
  FUZZ_CHECK(r.ts_ns >= 0);
  FUZZ_CHECK(mesh::IsCleanUtf8(r.service) && mesh::IsCleanUtf8(r.message) && mesh::IsCleanUtf8(r.attributes));
  FUZZ_CHECK(IsEmptyOrJson(r.attributes, mesh::JsonKind::kObject));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  if (const mesh::Result<mesh::OtlpTraces> traces = mesh::DecodeOtlpTracesProto(body); traces.ok()) {
    for (const mesh::Span& s : traces->spans) CheckSpan(s);
    mesh::OtlpTracesProtoResponse(*traces);
    const mesh::Result<mesh::OtlpTraces> again =
        mesh::DecodeOtlpTracesProto(mesh::EncodeOtlpTracesProto(traces->spans));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->rejected == 0);
    FUZZ_CHECK(SameSpans(traces->spans, again->spans));
  }

  if (const mesh::Result<mesh::OtlpLogs> logs = mesh::DecodeOtlpLogsProto(body); logs.ok()) {
    for (const mesh::LogRecord& r : logs->records) CheckRecord(r);
    mesh::OtlpLogsProtoResponse(*logs);
  }
  return 0;
}

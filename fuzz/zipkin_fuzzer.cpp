// Fuzz target: Zipkin v2 JSON ingest, the body meshd takes on POST /api/v2/spans
// (DecodeZipkinSpans).
//
// Invariants: what is decoded is what the store may hold (valid ids, non-negative times, clean
// UTF-8, attributes and events as JSON of the right shape); a batch with a refused span says why.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/base/json_tape.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/zipkin.h"

namespace {

bool IsEmptyOrJson(const std::string& text, mesh::JsonKind kind) {
  if (text.empty()) return true;
  mesh::JsonTape tape;
  return tape.Parse(text).ok() && tape.node(tape.root()).kind == kind;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const mesh::Result<mesh::OtlpTraces> decoded = mesh::DecodeZipkinSpans(body);
  if (!decoded.ok()) return 0;
  FUZZ_CHECK(decoded->rejected == 0 || !decoded->first_error.empty());
  for (const mesh::Span& s : decoded->spans) {
    FUZZ_CHECK(mesh::IsValidTraceId(s.trace_id));
    FUZZ_CHECK(mesh::IsValidSpanId(s.span_id));
    FUZZ_CHECK(s.parent_span_id.empty() || mesh::IsValidSpanId(s.parent_span_id));
    FUZZ_CHECK(s.start_ns >= 0 && s.duration_ns >= 0);
    for (const std::string* text : {&s.service, &s.name, &s.status_message, &s.attributes, &s.events, &s.resource}) {
      FUZZ_CHECK(mesh::IsCleanUtf8(*text));
    }
    FUZZ_CHECK(IsEmptyOrJson(s.attributes, mesh::JsonKind::kObject));
    FUZZ_CHECK(IsEmptyOrJson(s.resource, mesh::JsonKind::kObject));
    FUZZ_CHECK(IsEmptyOrJson(s.events, mesh::JsonKind::kArray));
  }
  return 0;
}

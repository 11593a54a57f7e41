// Fuzz target: ParseTraceParent on any header value. A traceparent that parses must format
// back to a header that parses to the same trace, parent and sampled flag: that is what a
// service forwards downstream.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/base/trace_id.h"
#include "mesh/telemetry/traceparent.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  const mesh::Result<mesh::TraceParent> parsed = mesh::ParseTraceParent(header);
  if (!parsed.ok()) return 0;
  FUZZ_CHECK(mesh::IsValidTraceId(parsed->trace_id));
  FUZZ_CHECK(mesh::IsValidSpanId(parsed->span_id));

  const std::string formatted = mesh::FormatTraceParent(*parsed);
  FUZZ_CHECK(formatted.size() == 55);
  const mesh::Result<mesh::TraceParent> again = mesh::ParseTraceParent(formatted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->trace_id == parsed->trace_id);
  FUZZ_CHECK(again->span_id == parsed->span_id);
  FUZZ_CHECK(again->sampled == parsed->sampled);
  return 0;
}

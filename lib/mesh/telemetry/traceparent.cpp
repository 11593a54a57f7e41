#include "mesh/telemetry/traceparent.h"

#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"

namespace mesh {
namespace {

constexpr size_t kVersion00Length = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

Status Invalid(std::string_view header, const std::string& why) {
  return Status::InvalidArgument("invalid traceparent '" + SanitizedUtf8(header.substr(0, 80)) +
                                 "': " + why);
}

}  // namespace

Result<TraceParent> ParseTraceParent(std::string_view header) {
  // HTTP allows optional whitespace around a field value; proxies do not always strip it.
  const std::string_view original = header;
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t'))
    header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t'))
    header.remove_suffix(1);
  if (header.size() < kVersion00Length) {
    return Invalid(original, "expected 55 characters (00-<32 hex>-<16 hex>-<2 hex>)");
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') {
    return Invalid(original, "expected four fields separated by '-'");
  }
  const std::string_view version = header.substr(0, 2);
  const std::string_view trace_id = header.substr(3, 32);
  const std::string_view span_id = header.substr(36, 16);
  const std::string_view flags = header.substr(53, 2);
  if (!IsLowerHex(version)) return Invalid(original, "version is not two lowercase hex digits");
  if (version == "ff") return Invalid(original, "version ff is forbidden");
  if (version == "00" && header.size() != kVersion00Length) {
    return Invalid(original, "version 00 has exactly four fields");
  }
  // A later version may append fields; only its first four are ours to read.
  if (header.size() > kVersion00Length && header[kVersion00Length] != '-') {
    return Invalid(original, "flags must be followed by '-' or the end");
  }
  if (!IsValidTraceId(trace_id)) {
    return Invalid(original, "trace id must be 32 lowercase hex digits, not all zero");
  }
  if (!IsValidSpanId(span_id)) {
    return Invalid(original, "parent id must be 16 lowercase hex digits, not all zero");
  }
  if (!IsLowerHex(flags)) return Invalid(original, "flags are not two lowercase hex digits");
  TraceParent parent;
  parent.trace_id = std::string(trace_id);
  parent.span_id = std::string(span_id);
  parent.sampled = (HexValue(flags[1]) & 1) != 0;
  return parent;
}

std::string FormatTraceParent(const TraceParent& parent) {
  std::string out;
  out.reserve(kVersion00Length);
  AppendTraceParent(out, parent.trace_id, parent.span_id, parent.sampled);
  return out;
}

void AppendTraceParent(std::string& out, std::string_view trace_id, std::string_view span_id, bool sampled) {
  out += "00-";
  out += trace_id;
  out += '-';
  out += span_id;
  out += sampled ? "-01" : "-00";
}

}  // namespace mesh

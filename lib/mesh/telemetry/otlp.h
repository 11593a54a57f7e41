// OTLP/HTTP JSON decoding: the bodies OpenTelemetry exporters POST to /v1/traces and /v1/logs.
//
// Follows the OTLP JSON mapping: lowerCamelCase names, hex trace and span ids, enums as
// integers, 64-bit integers as decimal strings (plain JSON numbers are accepted too, as real
// exporters send them). A span or log record that is invalid on its own (bad ids, missing or
// malformed times) is rejected and counted, not fatal to the batch, as OTLP's partial success
// expects. A span without a name is kept with an empty one.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/json_tape.h"
#include "mesh/base/status.h"
#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/span.h"

namespace mesh {

struct OtlpTraces {
  std::vector<Span> spans;
  int64_t rejected = 0;
  std::string first_error;  // why the first rejected span was rejected
};

struct OtlpLogs {
  std::vector<LogRecord> records;
  int64_t rejected = 0;
  std::string first_error;
};

// The members the JSON form of a log record prints itself (LogRecord's AppendJson), into which
// its attributes are spliced: an attribute of the same name would print the name twice, and a
// reader keeping the last one (JavaScript's JSON.parse does) would show the sender's value in
// place of the record's. Both OTLP decoders keep such attributes as "<name>_raw", as
// LogRecordFromJson does.
inline constexpr std::string_view kLogRecordMembers[] = {"timestamp", "level",    "service",
                                                         "message",   "trace_id", "span_id"};

// How deeply kvlistValues may nest in an attribute value (both OTLP decoders): deeper, the
// span or record is rejected.
inline constexpr int kMaxAttributeDepth = 16;

// Errors: InvalidArgument when the body is not JSON or not an ExportTraceServiceRequest.
Result<OtlpTraces> DecodeOtlpTraces(std::string_view json);
// Log records take their service from the resource's service.name, else "unknown_service".
Result<OtlpLogs> DecodeOtlpLogs(std::string_view json);

// A bytesValue is stored in attribute JSON as {"bytesValue":"<standard base64>"}, which the
// encoders turn back into bytesValue (a plain string would come back as a stringValue). Of
// object node `object` of `t`: its base64 string node when it is exactly that (one member of
// that name holding standard padded base64 without escapes), or JsonTape::kNone (a kvlistValue). A kvlistValue of that
// one shape is indistinguishable from it and comes back as bytes.
uint32_t StoredBytesValue(const JsonTape& t, uint32_t object);

// Encodes records as an ExportLogsServiceRequest (one resource per service, in order of
// first appearance); attributes become typed AnyValues. What meshlog sends to meshd.
std::string EncodeOtlpLogs(const std::vector<LogRecord>& records);

// Encodes spans as an ExportTraceServiceRequest (one resource per service and resource JSON,
// one scope per scope name, version and attributes, in order of first appearance), so that DecodeOtlpTraces
// gives back equal spans: ids, times as decimal strings, kind, status, trace state, typed
// attributes (strings, int64 as intValue strings, doubles, booleans, arrays, objects as
// kvlistValue, a stored {"bytesValue":B} as bytesValue B), events, links, resource attributes
// and scope (name, version and attributes). What meshtrace export and the Tracer
// send.
std::string EncodeOtlpTraces(const std::vector<Span>& spans);

// The OTLP response body: {} or {"partialSuccess":{"rejectedSpans":N,"errorMessage":"..."}}.
std::string OtlpTracesResponse(const OtlpTraces& decoded);
std::string OtlpLogsResponse(const OtlpLogs& decoded);
// {} or {"partialSuccess":{"rejectedDataPoints":N,"errorMessage":"..."}}.
std::string OtlpMetricsResponse(int64_t rejected, const std::string& first_error);

}  // namespace mesh

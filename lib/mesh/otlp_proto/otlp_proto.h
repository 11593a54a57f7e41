// OTLP/HTTP protobuf decoding: the application/x-protobuf bodies OpenTelemetry exporters POST
// to /v1/traces and /v1/logs, and the protobuf answers OTLP expects back.
//
// Same outcome as the JSON decoders of mesh/telemetry/otlp.h, field for field: an export sent
// as protobuf gives the spans and records its JSON encoding gives (ids as lowercase hex,
// attributes as the same JSON text up to string escapes: the JSON path keeps a sender's \u00e9,
// protobuf strings are escaped as mesh writes JSON; bytesValue as {"bytesValue":"<base64>"}, as
// the JSON path stores it; scope name and version; links), with the same per-span and
// per-record rejections counted for partial success.
// What protobuf cannot carry the same way: a time that is absent reads as 0 (proto3 has no
// presence), and a string that is not UTF-8 makes the whole body malformed, as it does for
// the OpenTelemetry Collector. Nesting is bounded by libprotobuf's recursion limit (100
// messages: a body nesting deeper is malformed, and the JSON stored stays within
// kMaxJsonDepth) and kvlistValues by kMaxAttributeDepth, as in JSON. libprotobuf's own error log is silenced: hostile bodies must not write to stderr.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"
#include "mesh/telemetry/otlp.h"
#include "mesh/telemetry/otlp_signal.h"

namespace mesh {

inline constexpr std::string_view kOtlpProtobufContentType = "application/x-protobuf";

// Errors: InvalidArgument when the body is not an ExportTraceServiceRequest (truncated,
// garbage, a string that is not UTF-8, nested too deeply).
Result<OtlpTraces> DecodeOtlpTracesProto(std::string_view body);
// Log records take their service from the resource's service.name, else "unknown_service".
Result<OtlpLogs> DecodeOtlpLogsProto(std::string_view body);

// ExportTraceServiceResponse / ExportLogsServiceResponse, serialized: empty when nothing was
// rejected, else a partial_success with the count and the first reason.
std::string OtlpTracesProtoResponse(const OtlpTraces& decoded);
std::string OtlpLogsProtoResponse(const OtlpLogs& decoded);

// Encodes spans as an ExportTraceServiceRequest laid out as EncodeOtlpTraces lays out its
// JSON (what the tests, the fuzz corpus and the benchmark send). Attribute values are typed as
// EncodeOtlpTraces types them.
std::string EncodeOtlpTracesProto(const std::vector<Span>& spans);

// Encodes log records as an ExportLogsServiceRequest, one resource per service (service.name),
// one scope ("meshd"): what DecodeOtlpLogsProto decodes back into the same records (time,
// level as severity number and text, message as a string body, ids, attributes).
std::string EncodeOtlpLogsProto(const std::vector<LogRecord>& records);

// What an OTLP receiver's answer to an export says it refused (its partial_success).
struct OtlpExportAnswer {
  int64_t rejected = 0;  // spans, log records or data points refused
  std::string error_message;
};
// Decodes an Export{Trace,Logs,Metrics}ServiceResponse (`signal` says which). An empty body is
// full success. Errors: InvalidArgument when the body is not that message.
Result<OtlpExportAnswer> DecodeOtlpExportResponse(OtlpSignal signal, std::string_view body);

}  // namespace mesh

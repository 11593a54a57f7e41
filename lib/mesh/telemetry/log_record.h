// LogRecord: one log entry, the unit meshlog stores, filters and prints, and its JSON codec.
//
// The JSON form is flat and jq-friendly: {"timestamp":"<RFC 3339>","level":"INFO",
// "service":"api","message":"...","trace_id":"...","span_id":"...", <attributes...>}.
// trace_id/span_id appear only when set. Attributes sit at the top level beside the known
// fields; they are stored as one compact JSON object. Plain value type; functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mesh/base/status.h"
#include "mesh/telemetry/log_level.h"

namespace mesh {

struct LogRecord {
  int64_t id = 0;  // the store's cursor (rowid); 0 for a record not read from a store
  int64_t ts_ns = 0;
  std::string service;
  LogLevel level = LogLevel::kInfo;
  std::string message;
  std::string trace_id;    // 32 lowercase hex, or empty
  std::string span_id;     // 16 lowercase hex, or empty
  std::string attributes;  // a compact JSON object ("{...}"), or empty for none
};

// Appends the record's JSON form (no newline). Text fields must be valid UTF-8.
void AppendJson(std::string& out, const LogRecord& record);
std::string ToJson(const LogRecord& record);

// Decodes one JSON object. Known names fill the fields, the first present winning:
//   timestamp|time|ts|@timestamp   RFC 3339, or Unix time as a number or numeric string in
//                                  seconds, milliseconds, microseconds or nanoseconds
//   level|severity|lvl|loglevel    a level name, an OpenTelemetry severity number, or a pino
//                                  level (10..60)
//   message|msg, service, trace_id|traceId, span_id|spanId
// Every other member becomes an attribute. A known member whose value cannot be used (a level
// "verbose-ish", a malformed trace id) is kept as an attribute rather than dropped; when its
// name is a canonical one it is stored as "<name>_raw". Fields absent from the JSON keep the
// value they have in `defaults`. Errors: InvalidArgument for invalid JSON or a non-object.
Result<LogRecord> LogRecordFromJson(std::string_view json, const LogRecord& defaults);

// Interprets a numeric Unix timestamp by magnitude: seconds below 1e11, milliseconds below
// 1e14, microseconds below 1e17, nanoseconds above.
int64_t UnixTimestampToNs(double value);

}  // namespace mesh

// One record of `journalctl -o json` (systemd's journal export as JSON, one object per line) as a
// LogRecord, for `meshlog ingest -f journal` and auto-detection:
//   MESSAGE                -> message (a string, or journald's array of byte values for a
//                             message that is not UTF-8 text: decoded, invalid bytes as U+FFFD)
//   PRIORITY "0".."7"      -> level: 0-2 FATAL, 3 ERROR, 4 WARN, 5-6 INFO, 7 DEBUG
//   __REALTIME_TIMESTAMP   -> timestamp (microseconds since the epoch, a decimal string)
//   SYSLOG_IDENTIFIER, else _SYSTEMD_UNIT -> service, unless defaults.service is set (--service)
// Every other field is an attribute (a multi-valued field as the JSON array journald writes),
// but for the cursor and sequence fields, the monotonic time and the boot id
// (__CURSOR, __SEQNUM, __SEQNUM_ID, __MONOTONIC_TIMESTAMP, _BOOT_ID), which only locate the
// entry in one machine's journal; a field named like one of the record's own (message,
// service, ...) is kept as "<name>_raw". A PRIORITY or __REALTIME_TIMESTAMP that cannot be read is
// kept as an attribute and the default level or time applies. Pure functions, thread-safe.
#pragma once

#include <string_view>

#include "mesh/base/status.h"
#include "mesh/telemetry/log_record.h"

namespace mesh {

// Whether the line is a journal record: a JSON object with __REALTIME_TIMESTAMP or __CURSOR
// (cheap: looks for the member name, does not parse).
bool LooksLikeJournalJson(std::string_view line);

// The service of a record that has neither SYSLOG_IDENTIFIER nor _SYSTEMD_UNIT, when
// defaults.service is empty.
inline constexpr std::string_view kJournalDefaultService = "journal";

// Errors: InvalidArgument for invalid JSON or a non-object.
Result<LogRecord> LogRecordFromJournalJson(std::string_view line, const LogRecord& defaults);

}  // namespace mesh

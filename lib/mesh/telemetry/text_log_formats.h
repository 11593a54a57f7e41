// TextLogFormats: the table of plain-text log line formats `meshlog ingest` recognises (syslog,
// Apache and nginx error logs, access logs, log4j layouts, Python logging, Go's log, glog, ISO
// 8601 prefixes) and, for each, a hand-written scanner that pulls the timestamp as the line
// writes it, the level, the program/logger/pid/thread and the message out of one line.
//
// A scanner either matches the whole shape and fills a TextLineMatch whose views point into the
// line, or returns false and leaves nothing meaningful behind; it never reads past the line and
// never allocates. Turning the line's time into Unix time (year, zone) is text_log_time.h's job.
// Pure functions over constant data, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "mesh/base/time_zone.h"
#include "mesh/telemetry/log_level.h"

namespace mesh {

// A timestamp as a line writes it, before the year and zone rules are applied.
struct LineTime {
  CivilTime civil;
  bool has_year = true;                  // false: syslog, glog ("Dec 10 06:55:46")
  std::optional<int32_t> utc_offset_s;   // set when the line names its zone
};

struct TextLineMatch {
  static constexpr size_t kMaxFields = 10;
  std::optional<LineTime> time;  // nullopt: the format carries no time (Python's default)
  std::optional<LogLevel> level;
  std::string_view message;
  std::array<std::pair<std::string_view, std::string_view>, kMaxFields> fields{};
  size_t field_count = 0;

  // Keeps a named field ("program", "pid", "logger", "thread", ...); an empty value or "-" (a
  // nil value in syslog and access logs) is skipped, as is anything beyond kMaxFields.
  void AddField(std::string_view key, std::string_view value);
};

struct TextLogFormat {
  std::string_view name;         // what -f and --format-name accept
  std::string_view description;  // for --help, the man page and --explain
  std::string_view example;
  bool (*match)(std::string_view line, TextLineMatch& out);
};

// Every format, the most specific shapes first: a line is given to each in this order when the
// file's own format does not match it.
std::span<const TextLogFormat> TextLogFormats();

// The format of that name, or nullptr.
const TextLogFormat* FindTextLogFormat(std::string_view name);

// A level as text formats spell it, case-insensitively: ParseLogLevel's words plus Java's
// SEVERE and CONFIG/FINE/FINER/FINEST and Apache's trace1..trace8. nullopt otherwise.
std::optional<LogLevel> TextLevelWord(std::string_view word);

// The level a message announces in its first word: "error: ...", "[WARN] ...", "ERROR ...".
// A lower-case word must be bracketed or followed by ':' so that "alert users" stays a message.
std::optional<LogLevel> MessageLeadingLevel(std::string_view message);

// A syslog priority's severity (PRI % 8): emerg, alert and crit are FATAL, err ERROR, warning
// WARN, notice and info INFO, debug DEBUG.
LogLevel SyslogSeverityLevel(int severity);

}  // namespace mesh

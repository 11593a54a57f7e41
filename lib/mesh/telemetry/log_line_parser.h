// LogLineParser: turns one line of a program's output into a LogRecord, for `meshlog ingest`.
//
// It never fails and never drops a line: a line that does not parse in the chosen format is
// kept whole as the message of a text record whose attribute "parse_error" says why. Invalid
// UTF-8 and NUL bytes are replaced by U+FFFD before anything else. One parser per thread.
//
// Text lines (kText, and kAuto for lines that are not JSON) are matched against the formats of
// text_log_formats.h: the format most of the first kDetectLines lines matched is tried first, then
// every other one, so a file is read in its own format and a stray line in another still parses.
// A recognised line gives its time (text_log_time.h's year and zone rules), level and fields
// (program, logger, pid, thread, ...) as attributes; a line that matches none is kept as before:
// a text record whose level is its first word's, if any. kJournal reads `journalctl -o json`
// records (journal_record.h). kAuto reads a line starting with '{' as a journal record when it
// has __REALTIME_TIMESTAMP or __CURSOR, else as JSON, and one starting with key=value as logfmt, and once the first line was JSON, a line that
// is in no format gets json's "parse_error", as with -f json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include "mesh/base/clock.h"
#include "mesh/base/time_zone.h"
#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/text_log_formats.h"

namespace mesh {

enum class InputFormat { kAuto, kJson, kLogfmt, kText, kJournal };

// "auto", "json", "logfmt", "text", "journal"; nullopt otherwise (a text format's name is not an
// InputFormat: see FindTextLogFormat).
std::optional<InputFormat> ParseInputFormat(std::string_view text);

class LogLineParser {
 public:
  struct Options {
    InputFormat format = InputFormat::kJson;
    std::string service;  // used when the line names none (a journal record: used over its own)
    LogLevel default_level = LogLevel::kInfo;
    const TextLogFormat* text_format = nullptr;  // kText: this format only (--format-name)
    std::shared_ptr<const TimeZone> zone;        // for zone-less times; null: the local time
    int64_t reference_ns = 0;                    // for year-less times; 0: the clock's now
    std::optional<int> year;                     // for year-less times, instead of the rule
  };
  static constexpr size_t kDetectLines = 20;
  struct Counters {
    uint64_t records = 0;
    uint64_t parse_errors = 0;  // stored as text with parse_error
    uint64_t sanitized = 0;     // had invalid UTF-8 or NUL bytes replaced
    uint64_t truncated = 0;     // longer than the line limit
    uint64_t recognised = 0;    // in a text format: time, level and fields taken from the line
  };

  LogLineParser(Options options, const Clock& clock);

  // Parses `line` (no trailing newline). `dropped_bytes` > 0 says the reader cut the line at its
  // size limit; the record then carries "truncated_bytes". Records without a timestamp of their
  // own get the clock's now.
  LogRecord Parse(std::string_view line, uint64_t dropped_bytes = 0);

  const Counters& counters() const { return counters_; }

  // What the last Parse read the line as: "json", "logfmt", "journal", a text format's name, or "" when it
  // is in none (kept as plain text).
  std::string_view last_format() const { return last_format_; }
  // Whether the last record's time came from its line (otherwise it is the clock's now).
  bool last_time_from_line() const { return last_time_from_line_; }
  // The text format most of the first lines matched, or nullptr.
  const TextLogFormat* detected_format() const { return detected_; }

 private:
  LogRecord ParseText(std::string_view line, const LogRecord& defaults) const;
  // A record from a recognised text format, or nullopt when the line is in none.
  std::optional<LogRecord> ParseTextFormats(std::string_view line, const LogRecord& defaults);
  const TextLogFormat* MatchTextFormat(std::string_view line, TextLineMatch& match);
  Result<LogRecord> ParseLogfmtLine(std::string_view line, const LogRecord& defaults) const;

  Options options_;
  const Clock& clock_;
  Counters counters_;
  std::string scratch_;
  std::string_view last_format_;
  bool last_time_from_line_ = false;
  const TextLogFormat* detected_ = nullptr;
  size_t detect_seen_ = 0;
  std::vector<uint32_t> detect_votes_;  // per format of TextLogFormats(), over the first lines
  std::optional<bool> first_line_json_;  // kAuto: whether the first line was JSON
};

}  // namespace mesh

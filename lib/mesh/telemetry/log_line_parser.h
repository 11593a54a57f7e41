// LogLineParser: turns one line of a program's output into a LogRecord, for `meshlog ingest`.
//
// It never fails and never drops a line: a line that does not parse in the chosen format is
// kept whole as the message of a text record whose attribute "parse_error" says why. Invalid
// UTF-8 and NUL bytes are replaced by U+FFFD before anything else. One parser per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mesh/base/clock.h"
#include "mesh/telemetry/log_record.h"

namespace mesh {

enum class InputFormat { kJson, kLogfmt, kText };

// "json", "logfmt", "text"; nullopt otherwise.
std::optional<InputFormat> ParseInputFormat(std::string_view text);

class LogLineParser {
 public:
  struct Options {
    InputFormat format = InputFormat::kJson;
    std::string service;  // used when the line names none
    LogLevel default_level = LogLevel::kInfo;
  };
  struct Counters {
    uint64_t records = 0;
    uint64_t parse_errors = 0;  // stored as text with parse_error
    uint64_t sanitized = 0;     // had invalid UTF-8 or NUL bytes replaced
    uint64_t truncated = 0;     // longer than the line limit
  };

  LogLineParser(Options options, const Clock& clock);

  // Parses `line` (no trailing newline). `dropped_bytes` > 0 says the reader cut the line at its
  // size limit; the record then carries "truncated_bytes". Records without a timestamp of their
  // own get the clock's now.
  LogRecord Parse(std::string_view line, uint64_t dropped_bytes = 0);

  const Counters& counters() const { return counters_; }

 private:
  LogRecord ParseText(std::string_view line, const LogRecord& defaults) const;
  Result<LogRecord> ParseLogfmtLine(std::string_view line, const LogRecord& defaults) const;

  Options options_;
  const Clock& clock_;
  Counters counters_;
  std::string scratch_;
};

}  // namespace mesh

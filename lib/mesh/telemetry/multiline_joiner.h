// MultilineJoiner: joins the lines of a Java stack trace or a Python traceback to the log record
// they follow, as lnav and Vector's multiline do, so that one error is one record.
//
// A continuation is a line that cannot start a record of its own: a Java frame ("\tat ..."),
// "Caused by: ...", "Suppressed: ...", "... 12 more", an exception line naming a qualified class
// ("java.lang.IllegalStateException: boom"), a Python "Traceback (most recent call last):" and,
// inside a traceback, its indented lines, its chaining sentences and the final "ValueError: x".
// Any other line is not a continuation, so a line that matches no format is still a record of its
// own, as before. The joiner holds one pending record; it is handed over when the next record
// starts (Start), at the end of input (Take), or after `idle_flush_ns` without a line (TakeIfIdle:
// `tail -f | meshlog ingest` must not hold its last record until more input comes). Times are the
// caller's monotonic clock, so tests need no sleep. A record is bounded: a continuation that
// would exceed max_lines or max_bytes ends it, and starts a new record with the same time, level
// and fields, so nothing is dropped. Joined lines get the parser's UTF-8 repair (invalid bytes
// and NUL become U+FFFD). Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "mesh/telemetry/log_record.h"

namespace mesh {

enum class Continuation { kNone, kJavaStackTrace, kPythonTraceback };

// Classifies one line; `in_traceback` says a Python traceback is open (it is updated: the
// traceback's header opens it, its last line or any other line closes it).
Continuation ClassifyContinuation(std::string_view line, bool& in_traceback);

class MultilineJoiner {
 public:
  struct Limits {
    size_t max_lines = 1000;           // lines of one record, its first included
    size_t max_bytes = 1 << 20;        // bytes of one record's message
    int64_t idle_flush_ns = 500'000'000;
  };
  struct Counters {
    uint64_t joined_lines = 0;  // continuation lines added to a record
    uint64_t split_records = 0;  // records started because the previous one was full
  };

  explicit MultilineJoiner(Limits limits) : limits_(limits) {}

  // Offers a line. Returns kNone when it continues nothing (no pending record, or not a
  // continuation): the caller parses it and calls Start. Otherwise the line is added to the
  // pending record; if that record was full it is moved to `full` first.
  Continuation Join(std::string_view line, int64_t now_mono_ns, std::optional<LogRecord>& full);

  // Makes `record` the pending one; returns the previous pending record, if any.
  std::optional<LogRecord> Start(LogRecord record, int64_t now_mono_ns);

  // The pending record, if any (end of input).
  std::optional<LogRecord> Take();

  // The pending record once no line came for idle_flush_ns; nullopt otherwise.
  std::optional<LogRecord> TakeIfIdle(int64_t now_mono_ns);

  // When TakeIfIdle will hand the pending record over; nullopt without one.
  std::optional<int64_t> IdleDeadline() const;

  const Counters& counters() const { return counters_; }

 private:
  const Limits limits_;
  std::optional<LogRecord> pending_;
  size_t pending_lines_ = 0;
  int64_t last_line_ns_ = 0;
  bool in_traceback_ = false;
  Counters counters_;
};

}  // namespace mesh

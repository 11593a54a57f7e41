// LogSource: where meshlog reads records from. The local SQLite store implements it
// (LogStore); a remote meshd over its JSON API will too, so every meshlog subcommand prints
// the same thing either way. Implementations document their own thread-safety.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/log_record.h"

namespace mesh {

struct LogFilter {
  std::vector<std::string> services;  // any of these; empty means all
  std::optional<LogLevel> min_level;  // this level and above
  std::optional<int64_t> since_ns;    // ts_ns >= since
  std::optional<int64_t> until_ns;    // ts_ns < until
  std::string trace_id;               // exact, when set
  std::string grep;                   // a substring of the message, case-sensitive, when set
  std::optional<int64_t> max_cursor;  // only records stored at or before this cursor
};

struct LevelCount {
  std::string service;
  LogLevel level = LogLevel::kInfo;
  int64_t count = 0;
};

class LogSource {
 public:
  virtual ~LogSource() = default;

  // The newest `limit` matching records by timestamp, returned oldest first (like tail).
  virtual Result<std::vector<LogRecord>> Tail(const LogFilter& filter, size_t limit) = 0;

  // Matching records stored after `cursor` (a LogRecord::id), in storage order, at most limit.
  virtual Result<std::vector<LogRecord>> After(int64_t cursor, const LogFilter& filter,
                                               size_t limit) = 0;

  // The cursor of the newest stored record; 0 when there is none.
  virtual Result<int64_t> LatestCursor() = 0;

  // Full-text search of messages with FTS5 syntax (words, "phrases", prefix*, AND/OR/NOT),
  // newest stored first, or oldest first. Errors: InvalidArgument for a malformed query.
  virtual Result<std::vector<LogRecord>> Search(const std::string& query, const LogFilter& filter,
                                                size_t limit, bool oldest_first) = 0;
  virtual Result<int64_t> CountMatches(const std::string& query, const LogFilter& filter) = 0;

  // Record counts per service and level, ordered by service then level.
  virtual Result<std::vector<LevelCount>> Stats(const LogFilter& filter) = 0;
};

// LogDestination: where meshlog writes records to: the local store (LogStore) or meshd.
class LogDestination {
 public:
  virtual ~LogDestination() = default;
  // Stores the records, all or none; the error says why.
  virtual Status Insert(const std::vector<LogRecord>& records) = 0;
  // Between BeginGroup and EndGroup several Inserts may share one commit, which EndGroup makes
  // (AbortGroup drops them). Bulk writers use it to commit less often; destinations without
  // transactions store each Insert at once and ignore these.
  virtual Status BeginGroup() { return Status::Ok(); }
  virtual Status EndGroup() { return Status::Ok(); }
  virtual void AbortGroup() {}
  // Feeds up to max_rows records to a full-text index the destination keeps off its write
  // path; returns how many (0 when caught up or when there is no such index here).
  virtual Result<int64_t> IndexPending(int64_t max_rows) = 0;
  // Where the records go, for messages ("/var/lib/mesh/mesh.db", "http://meshd:9000").
  virtual std::string Name() const = 0;
};

}  // namespace mesh

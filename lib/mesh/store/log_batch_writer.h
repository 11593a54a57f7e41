// LogBatchWriter: a background thread that hands appended records to a LogDestination (the
// store, or meshd) in batches, and feeds the full-text index when there is nothing to write.
//
// Append() is thread-safe and cheap (a lock and a move); it blocks only when max_queued
// records wait in memory, which bounds memory whatever the input size. Flush() returns once everything
// appended before it is committed. The writer owns the destination while it runs: do not use
// it from other threads until Close().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "mesh/telemetry/log_source.h"

namespace mesh {

class LogBatchWriter {
 public:
  struct Options {
    size_t batch_records = 8192;     // records per queued batch
    size_t max_queued = 65536;       // Append blocks beyond this many records held in memory
    std::chrono::milliseconds flush_interval{200};  // a partial batch waits at most this long
    bool index_when_idle = true;     // feed the full-text index when idle
    int64_t index_batch = 4096;      // records indexed per idle step
    // While input is backlogged, batches share one commit up to these bounds: each commit
    // rewrites the hot index pages, so fewer, larger ones are what bulk loads need.
    size_t max_group_records = 262144;
    std::chrono::milliseconds max_group_time{1000};
  };
  struct Counters {
    uint64_t written = 0;    // handed to the destination (in a commit group, maybe not yet committed)
    uint64_t committed = 0;
    uint64_t transactions = 0;
    uint64_t indexed = 0;
  };

  LogBatchWriter(LogDestination& destination, Options options);
  ~LogBatchWriter();  // Close()

  // Queues one record. Fails (without queuing) once a write has failed: the error says why.
  Status Append(LogRecord record);
  // Waits until every record appended so far is committed; returns the first write error.
  Status Flush();
  // Flushes and stops the thread. Idempotent.
  Status Close();

  Counters counters() const;

 private:
  void Run();
  // Commits the open group; called with mu_ held, releases it meanwhile.
  void CommitGroup(std::unique_lock<std::mutex>& lock, size_t rows);

  LogDestination& destination_;
  const Options options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // the writer waits for batches
  std::condition_variable space_cv_;  // appenders wait for room, Flush waits for commits
  std::vector<LogRecord> filling_;
  std::deque<std::vector<LogRecord>> ready_;
  size_t queued_ = 0;
  uint64_t appended_ = 0;
  bool flush_requested_ = false;
  bool closing_ = false;
  Status error_;
  Counters counters_;
  std::thread thread_;
};

}  // namespace mesh

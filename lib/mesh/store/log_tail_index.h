// LogTailIndexer: keeps a full-text index of the store's newest records in a file of its own
// beside the store (LogTailIndexPath), on a thread of its own, while a bulk ingest holds the
// store's write lock. The store's own index (logs_fts) is fed on the writer's connection, so it
// competes with the inserts for the one write lock and one core; this one is written to another
// file, so it runs on the core the writer leaves idle, and the first search after the ingest
// finds its records already indexed (LogStore searches logs_fts, then this index for the records
// logs_fts lacks, then copies only what neither holds into a temporary index).
//
// The file is a cache: it holds no record, only index entries for rows of `logs`, and is
// ignored (then rebuilt) whenever it does not describe this store (see LogTailIndexState).
// Several indexers may share it: each step is one transaction on the tail file.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "mesh/base/status.h"

namespace mesh {

class Db;

// The tail index of the store at `store_path`.
std::string LogTailIndexPath(const std::string& store_path);

// What a tail index covers: the records with id in (from_id, through_id]. The timestamp and
// message of record through_id tell this store's record from another store's (a store deleted
// and made again beside an old tail file).
struct LogTailIndexState {
  int64_t from_id = 0;
  int64_t through_id = 0;
  int64_t through_ts_ns = 0;
  std::string through_message;
};

// The tail index's state when it describes the store `logs` (a connection to the store, with
// the tail file attached as `tail_schema`): nullopt when it is missing, empty, or was made
// for other records (its last record is not this store's, or it starts past what logs_fts
// covers, `indexed_through`).
std::optional<LogTailIndexState> ReadValidTailState(Db& logs, const std::string& tail_schema,
                                                   int64_t indexed_through);

class LogTailIndexer {
 public:
  struct Options {
    int64_t batch_rows = 20000;      // records per transaction on the tail file
    int64_t min_backlog = 50000;     // the thread waits while fewer records lack an index
    std::chrono::milliseconds poll{100};
  };

  // Opens the tail file (created 0600 when missing) and attaches the store to it, read from
  // only: every write of the indexer goes to the tail file.
  static Result<std::unique_ptr<LogTailIndexer>> Open(const std::string& store_path,
                                                      Options options);
  ~LogTailIndexer();  // Stop()

  // Indexes up to max_rows records that neither logs_fts nor the tail index holds (oldest
  // first), in one transaction on the tail file; returns how many.
  Result<int64_t> Step(int64_t max_rows);
  // How many stored records neither index holds (at most; from the highest id).
  Result<int64_t> Backlog();

  // Runs Step on a thread whenever the backlog reaches min_backlog.
  void Start();
  // Stops the thread, first indexing until at most leave_at_most records lack an index.
  // Returns the first error of the thread or of this final catch-up.
  Status Finish(int64_t leave_at_most);
  void Stop();

 private:
  LogTailIndexer(std::unique_ptr<Db> db, Options options);
  Status CatchUp(int64_t leave_at_most);
  void Run();

  std::unique_ptr<Db> db_;  // main: the tail file; `store`: the store
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace mesh

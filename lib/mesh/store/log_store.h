// LogStore: log records in the SQLite store. Writes go in batched transactions through one
// prepared statement; the full-text index is fed off that path by IndexPending(), in batches,
// while searches also cover records not indexed yet, so a search never misses a stored record:
// a search reads logs_fts, then the tail index (LogTailIndexer's file beside the store) for
// what logs_fts lacks, then copies what neither holds into a temporary index. When that rest
// exceeds kSearchTailRows on a writable store, the search first indexes it into logs_fts.
//
// Not thread-safe: one LogStore per Store connection, used from one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mesh/store/store.h"
#include "mesh/telemetry/log_source.h"

namespace mesh {

class Statement;

class LogStore : public LogSource, public LogDestination {
 public:
  explicit LogStore(Store& store);
  ~LogStore() override;

  // Appends the records in one transaction: all are stored or none (then the error says why).
  Status Insert(const std::vector<LogRecord>& records) override;
  // Appends the records inside the caller's transaction (see StoreWriter).
  Status InsertRows(const std::vector<LogRecord>& records);
  Status BeginGroup() override;
  Status EndGroup() override;
  void AbortGroup() override;

  // Feeds up to max_rows not-yet-indexed records to the full-text index in one transaction.
  // Returns how many it indexed (0 when caught up).
  Result<int64_t> IndexPending(int64_t max_rows) override;
  std::string Name() const override { return store_.path(); }
  // How many stored records the full-text index has not seen yet.
  Result<int64_t> PendingIndexRows();
  // How many records the next search indexes into logs_fts before it answers (0 unless more
  // than kSearchTailRows lack both indexes and the store is writable).
  Result<int64_t> RowsToIndexBeforeSearch();
  // The most records a search copies into a temporary index rather than index for good.
  static constexpr int64_t kSearchTailRows = 100'000;

  Result<std::vector<LogRecord>> Tail(const LogFilter& filter, size_t limit) override;
  Result<std::vector<LogRecord>> After(int64_t cursor, const LogFilter& filter,
                                       size_t limit) override;
  Result<int64_t> LatestCursor() override;
  Result<std::vector<LogRecord>> Search(const std::string& query, const LogFilter& filter,
                                        size_t limit, bool oldest_first) override;
  Result<int64_t> CountMatches(const std::string& query, const LogFilter& filter) override;
  Result<std::vector<LevelCount>> Stats(const LogFilter& filter) override;

 private:
  // An index a search reads: the records it finds with id > after_id (0: all), joined with
  // logs even to count them when it may name deleted records.
  struct SearchPart {
    std::string table;
    int64_t after_id = 0;
    bool join_logs = false;
  };
  // Which ids each index covers, and how many records neither does.
  struct Coverage {
    int64_t indexed_through = 0;  // logs_fts
    int64_t tail_through = 0;     // the tail index, past indexed_through (0: none)
    int64_t covered_through = 0;
    int64_t uncovered = 0;
  };
  void AttachTailIndex();
  Result<Coverage> ReadCoverage();
  // Makes every stored record searchable and opens the read transaction the search runs in
  // (EndRead closes it). Returns the parts to search, newest records first.
  Result<std::vector<SearchPart>> PrepareSearch();
  void EndRead();
  Result<std::vector<LogRecord>> Fetch(const SqlQuery& query);

  Store& store_;
  std::unique_ptr<Statement> insert_;
  bool in_group_ = false;
  bool in_read_ = false;
  bool tail_attached_ = false;
};

// The SQL behind each read, pure so that tests can check their query plans use an index.
// `service` selects one service (empty: all); Tail runs one query per requested service.
SqlQuery BuildTailQuery(const LogFilter& filter, const std::string& service, size_t limit);
SqlQuery BuildAfterQuery(int64_t cursor, const LogFilter& filter, size_t limit);
// `after_id` > 0 limits them to records past it; `join_logs` counts only records still in logs.
SqlQuery BuildSearchQuery(const std::string& fts_table, const std::string& match,
                          const LogFilter& filter, size_t limit, bool oldest_first,
                          int64_t after_id = 0);
SqlQuery BuildCountQuery(const std::string& fts_table, const std::string& match,
                         const LogFilter& filter, int64_t after_id = 0, bool join_logs = false);
SqlQuery BuildStatsQuery(const LogFilter& filter);

}  // namespace mesh

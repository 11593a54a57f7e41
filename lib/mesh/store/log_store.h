// LogStore: log records in the SQLite store. Writes go in batched transactions through one
// prepared statement; the full-text index is fed off that path by IndexPending(), in batches,
// while searches also cover records not indexed yet, so a search never misses a stored record.
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

  Result<std::vector<LogRecord>> Tail(const LogFilter& filter, size_t limit) override;
  Result<std::vector<LogRecord>> After(int64_t cursor, const LogFilter& filter,
                                       size_t limit) override;
  Result<int64_t> LatestCursor() override;
  Result<std::vector<LogRecord>> Search(const std::string& query, const LogFilter& filter,
                                        size_t limit, bool oldest_first) override;
  Result<int64_t> CountMatches(const std::string& query, const LogFilter& filter) override;
  Result<std::vector<LevelCount>> Stats(const LogFilter& filter) override;

 private:
  // Makes every stored record searchable: indexes what it can, and when the store cannot be
  // written copies the unindexed rest into a temporary index. Returns the table(s) to search.
  Result<std::vector<std::string>> PrepareSearch();
  Result<std::vector<LogRecord>> Fetch(const SqlQuery& query);

  Store& store_;
  std::unique_ptr<Statement> insert_;
  bool in_group_ = false;
};

// The SQL behind each read, pure so that tests can check their query plans use an index.
// `service` selects one service (empty: all); Tail runs one query per requested service.
SqlQuery BuildTailQuery(const LogFilter& filter, const std::string& service, size_t limit);
SqlQuery BuildAfterQuery(int64_t cursor, const LogFilter& filter, size_t limit);
SqlQuery BuildSearchQuery(const std::string& fts_table, const std::string& match,
                          const LogFilter& filter, size_t limit, bool oldest_first);
SqlQuery BuildCountQuery(const std::string& fts_table, const std::string& match,
                         const LogFilter& filter);
SqlQuery BuildStatsQuery(const LogFilter& filter);

}  // namespace mesh

#include "mesh/store/log_tail_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mesh/store/log_store.h"
#include "mesh/store/store.h"
#include "raw_sqlite.h"
#include "test_support.h"

namespace mesh {
namespace store_log_tail_index_test {

constexpr int64_t kRows = 1200;

// Deterministic records: a message of three words from a small vocabulary (so that words,
// phrases and prefixes all match many records), one of three services, one of three levels.
std::vector<LogRecord> Records(int64_t count, int64_t first_second = 1000) {
  static const char* kWords[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "alphabet"};
  std::vector<LogRecord> out;
  uint32_t x = 12345;
  const auto next = [&] { return x = x * 1103515245u + 12345u, (x >> 16) & 0x7fff; };
  for (int64_t i = 0; i < count; ++i) {
    LogRecord r;
    r.ts_ns = (first_second + i) * 1'000'000'000;
    r.service = std::vector<std::string>{"api", "db", "worker"}[next() % 3];
    r.level = std::vector<LogLevel>{LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}[next() % 3];
    r.message = std::string(kWords[next() % 7]) + " " + kWords[next() % 7] + " " + kWords[next() % 7] +
                " id=" + std::to_string(i);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<int64_t> Ids(const Result<std::vector<LogRecord>>& records) {
  std::vector<int64_t> ids;
  if (!records.ok()) return {-1};
  for (const LogRecord& r : *records) ids.push_back(r.id);
  return ids;
}

int64_t QueryOne(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

struct OpenStore {
  std::unique_ptr<Store> store;
  std::unique_ptr<LogStore> logs;
};

OpenStore Open(const std::string& path, bool read_only = false) {
  Result<std::unique_ptr<Store>> s = Store::Open({.path = path, .read_only = read_only});
  EXPECT_TRUE(s.ok()) << s.status().message();
  OpenStore o;
  o.store = std::move(s).value();
  o.logs = std::make_unique<LogStore>(*o.store);
  return o;
}

void IndexAll(LogStore& logs) {
  while (true) {
    Result<int64_t> n = logs.IndexPending(1000);
    ASSERT_TRUE(n.ok()) << n.status().message();
    if (*n == 0) return;
  }
}

class LogTailIndexTest : public ::testing::Test {
 protected:
  // The reference: every record in logs_fts.
  void SetUp() override {
    reference_ = Open(dir_.File("reference.db"));
    ASSERT_TRUE(reference_.logs->Insert(Records(kRows)).ok());
    IndexAll(*reference_.logs);
    split_ = Open(path_);
    ASSERT_TRUE(split_.logs->Insert(Records(kRows)).ok());
  }

  // Records 1..store_rows in logs_fts, then through tail_rows in the tail index, the rest in
  // neither (the search's temporary index).
  void Split(int64_t store_rows, int64_t tail_rows) {
    if (store_rows > 0) {
      ASSERT_EQ(*split_.logs->IndexPending(store_rows), store_rows);
    }
    Result<std::unique_ptr<LogTailIndexer>> tail = LogTailIndexer::Open(path_, {});
    ASSERT_TRUE(tail.ok()) << tail.status().message();
    int64_t done = 0;
    while (done < tail_rows) {
      Result<int64_t> n = (*tail)->Step(std::min<int64_t>(700, tail_rows - done));
      ASSERT_TRUE(n.ok()) << n.status().message();
      ASSERT_GT(*n, 0);
      done += *n;
    }
  }

  // Every search and count answers as the fully indexed reference does: same records, same
  // order, whatever the limit, direction and filter.
  void ExpectSameAnswers(LogStore& logs) {
    const std::vector<std::string> queries = {
        "alpha", "\"gamma delta\"", "alpha*", "alpha OR zeta", "beta NOT gamma",
        "NEAR(alpha epsilon, 1)", "message: delta", "nomatch"};
    const std::vector<LogFilter> filters = {
        {}, {.services = {"db"}}, {.min_level = LogLevel::kError},
        {.services = {"api", "worker"}, .since_ns = 1500LL * 1'000'000'000}};
    for (const std::string& q : queries) {
      for (size_t f = 0; f < filters.size(); ++f) {
        // Limits that end inside each part, and one past them all (every filter).
        const std::vector<size_t> limits =
            f == 0 ? std::vector<size_t>{1, 7, 250, 1000, 10000} : std::vector<size_t>{10000};
        for (size_t limit : limits) {
          for (bool oldest_first : {false, true}) {
            EXPECT_EQ(Ids(logs.Search(q, filters[f], limit, oldest_first)),
                      Ids(reference_.logs->Search(q, filters[f], limit, oldest_first)))
                << q << " filter " << f << " limit " << limit << " oldest_first " << oldest_first;
          }
        }
        Result<int64_t> count = logs.CountMatches(q, filters[f]);
        ASSERT_TRUE(count.ok()) << q << ": " << count.status().message();
        EXPECT_EQ(*count, *reference_.logs->CountMatches(q, filters[f])) << q << " filter " << f;
      }
    }
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("mesh.db");
  OpenStore reference_;
  OpenStore split_;
};

TEST_F(LogTailIndexTest, SearchOverStoreIndexTailIndexAndTheRestAnswersAsAFullIndex) {
  Split(400, 600);  // 200 records in neither index
  ASSERT_EQ(*split_.logs->PendingIndexRows(), kRows - 400);
  ExpectSameAnswers(*split_.logs);
}

TEST_F(LogTailIndexTest, SearchAnswersAsAFullIndexWhenTheStoreIndexOvertookPartOfTheTail) {
  Split(400, 600);
  ASSERT_EQ(*split_.logs->IndexPending(300), 300);  // logs_fts now reaches into the tail's range
  ExpectSameAnswers(*split_.logs);
}

TEST_F(LogTailIndexTest, SearchSkipsRecordsDeletedAfterTheTailIndexedThem) {
  Split(400, 700);
  // Retention's way: logs_fts forgets what it indexed, the tail index is left as it was.
  for (OpenStore* o : {&reference_, &split_}) {
    ExecRaw(o->store->path(),
            "INSERT INTO logs_fts(logs_fts, rowid, message) SELECT 'delete', id, message "
            "FROM logs WHERE id % 3 = 0 AND id <= (SELECT indexed_through FROM logs_fts_state); "
            "DELETE FROM logs WHERE id % 3 = 0");
  }
  ASSERT_EQ(QueryOne(path_, "SELECT count(*) FROM logs"), kRows - kRows / 3);
  ExpectSameAnswers(*split_.logs);
}

TEST_F(LogTailIndexTest, ReadOnlySearchWritesNothing) {
  Split(400, 600);
  const std::string tail_path = LogTailIndexPath(path_);
  const int64_t tail_through = QueryOne(tail_path, "SELECT through_id FROM tail_state");
  ASSERT_EQ(tail_through, 1000);
  OpenStore read_only = Open(path_, /*read_only=*/true);
  ExpectSameAnswers(*read_only.logs);
  EXPECT_EQ(QueryOne(path_, "SELECT indexed_through FROM logs_fts_state"), 400);
  EXPECT_EQ(QueryOne(tail_path, "SELECT through_id FROM tail_state"), tail_through);
}

TEST_F(LogTailIndexTest, SearchOfABoundedRestIndexesNothingForGood) {
  Split(0, kRows - 100);
  EXPECT_EQ(*split_.logs->RowsToIndexBeforeSearch(), 0);
  ExpectSameAnswers(*split_.logs);
  EXPECT_EQ(QueryOne(path_, "SELECT indexed_through FROM logs_fts_state"), 0);
}

TEST_F(LogTailIndexTest, IgnoresATailIndexMadeForAnotherStore) {
  Split(0, kRows);
  // The store is replaced by another one (same path, other records); the tail file stays.
  split_ = {};
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  split_ = Open(path_);
  ASSERT_TRUE(split_.logs->Insert(Records(kRows, /*first_second=*/5000)).ok());
  reference_ = {};
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((dir_.File("reference.db") + suffix).c_str());
  reference_ = Open(dir_.File("reference.db"));
  ASSERT_TRUE(reference_.logs->Insert(Records(kRows, 5000)).ok());
  IndexAll(*reference_.logs);
  ExpectSameAnswers(*split_.logs);
}

TEST_F(LogTailIndexTest, IgnoresATailIndexWhoseLastRecordChanged) {
  Split(0, 1000);
  // Same id and timestamp, another message: not the record the tail index was made from.
  ExecRaw(path_, "UPDATE logs SET message = 'zeta zeta' WHERE id = 1000");
  ExecRaw(reference_.store->path(),
          "INSERT INTO logs_fts(logs_fts, rowid, message) SELECT 'delete', id, message FROM logs "
          "WHERE id = 1000; UPDATE logs SET message = 'zeta zeta' WHERE id = 1000; "
          "INSERT INTO logs_fts(rowid, message) SELECT id, message FROM logs WHERE id = 1000");
  ExpectSameAnswers(*split_.logs);
}

TEST_F(LogTailIndexTest, FinishLeavesNoMoreThanAskedOutOfBothIndexes) {
  Result<std::unique_ptr<LogTailIndexer>> tail =
      LogTailIndexer::Open(path_, {.batch_rows = 128, .min_backlog = 256});
  ASSERT_TRUE(tail.ok()) << tail.status().message();
  (*tail)->Start();
  ASSERT_TRUE(split_.logs->Insert(Records(500, 9000)).ok());
  ASSERT_TRUE((*tail)->Finish(10).ok());
  EXPECT_LE(*(*tail)->Backlog(), 10);
  EXPECT_EQ(*split_.logs->RowsToIndexBeforeSearch(), 0);
  EXPECT_EQ(*split_.logs->PendingIndexRows(), kRows + 500);  // none went through logs_fts
}

TEST_F(LogTailIndexTest, StartsAgainWhereTheStoreIndexStopsOnceItOvertookTheTail) {
  Split(0, 600);
  IndexAll(*split_.logs);
  Result<std::unique_ptr<LogTailIndexer>> tail = LogTailIndexer::Open(path_, {});
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*(*tail)->Backlog(), 0);
  EXPECT_EQ(*(*tail)->Step(100), 0);
  ASSERT_TRUE(split_.logs->Insert(Records(50, 9000)).ok());
  ASSERT_TRUE(reference_.logs->Insert(Records(50, 9000)).ok());
  IndexAll(*reference_.logs);
  EXPECT_EQ(*(*tail)->Step(100), 50);
  EXPECT_EQ(QueryOne(LogTailIndexPath(path_), "SELECT from_id FROM tail_state"), kRows);
  EXPECT_EQ(QueryOne(LogTailIndexPath(path_), "SELECT count(*) FROM tail_fts_docsize"), 50);
  ExpectSameAnswers(*split_.logs);
}

TEST_F(LogTailIndexTest, TailFileIsOwnerOnly) {
  Split(0, 10);
  struct stat st {};
  ASSERT_EQ(stat(LogTailIndexPath(path_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

}  // namespace
}  // namespace mesh

#include "mesh/store/log_batch_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mesh/store/log_store.h"
#include "mesh/store/store.h"
#include "test_support.h"

namespace mesh {
namespace store_log_batch_writer_test {

using ::testing::HasSubstr;

LogRecord Rec(int64_t i, const std::string& service = "svc") {
  LogRecord r;
  r.ts_ns = i;
  r.service = service;
  r.message = "record " + std::to_string(i);
  return r;
}

class LogBatchWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
    logs_ = std::make_unique<LogStore>(*store_);
  }

  std::unique_ptr<Store> OpenStore() {
    Result<std::unique_ptr<Store>> s = Store::Open({.path = path_});
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // What another connection sees committed, while the writer owns logs_.
  int64_t CommittedRows() {
    std::unique_ptr<Store> reader = OpenStore();
    LogStore logs(*reader);
    Result<std::vector<LevelCount>> stats = logs.Stats({});
    EXPECT_TRUE(stats.ok());
    int64_t n = 0;
    for (const LevelCount& c : *stats) n += c.count;
    return n;
  }

  int64_t PendingIndexRowsFromAnotherConnection() {
    std::unique_ptr<Store> reader = OpenStore();
    LogStore logs(*reader);
    Result<int64_t> n = logs.PendingIndexRows();
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("mesh.db");
  std::unique_ptr<Store> store_;
  std::unique_ptr<LogStore> logs_;
};

TEST_F(LogBatchWriterTest, AppendsFromSeveralThreadsAreAllCommittedAfterClose) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  {
    LogBatchWriter writer(*logs_, {.batch_records = 64, .max_queued = 1024});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kPerThread; ++i) {
          ASSERT_TRUE(writer.Append(Rec(t * kPerThread + i, "t" + std::to_string(t))).ok());
        }
      });
    }
    for (std::thread& th : threads) th.join();
    ASSERT_TRUE(writer.Close().ok());
    EXPECT_EQ(writer.counters().committed, uint64_t{kThreads * kPerThread});
    EXPECT_GE(writer.counters().transactions, 1u);
  }
  Result<std::vector<LogRecord>> all = logs_->After(0, {}, kThreads * kPerThread + 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), size_t{kThreads * kPerThread});
  std::set<int64_t> seen;
  for (const LogRecord& r : *all) seen.insert(r.ts_ns);
  EXPECT_EQ(seen.size(), size_t{kThreads * kPerThread});  // each record exactly once
  // Each thread's records keep their order.
  for (int t = 0; t < kThreads; ++t) {
    Result<std::vector<LogRecord>> mine =
        logs_->After(0, {.services = {"t" + std::to_string(t)}}, kPerThread + 1);
    ASSERT_EQ(mine->size(), size_t{kPerThread});
    for (size_t i = 1; i < mine->size(); ++i) {
      ASSERT_LT((*mine)[i - 1].ts_ns, (*mine)[i].ts_ns);
    }
  }
}

TEST_F(LogBatchWriterTest, FlushMakesAppendedRecordsVisible) {
  // A long flush interval: only Flush can explain the commit.
  LogBatchWriter writer(*logs_, {.batch_records = 1000, .flush_interval = std::chrono::hours(1)});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer.Append(Rec(i)).ok());
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(writer.counters().committed, 10u);
  EXPECT_EQ(CommittedRows(), 10);
  for (int i = 10; i < 25; ++i) ASSERT_TRUE(writer.Append(Rec(i)).ok());
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(CommittedRows(), 25);
  ASSERT_TRUE(writer.Flush().ok());  // nothing new: returns at once
  EXPECT_TRUE(writer.Close().ok());
}

TEST_F(LogBatchWriterTest, CloseCommitsAPartialBatch) {
  LogBatchWriter writer(*logs_, {.batch_records = 1000, .flush_interval = std::chrono::hours(1)});
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(writer.Append(Rec(i)).ok());
  ASSERT_TRUE(writer.Close().ok());
  EXPECT_EQ(*logs_->LatestCursor(), 7);
}

TEST_F(LogBatchWriterTest, RecordsHeldInMemoryNeverExceedMaxQueued) {
  constexpr size_t kMaxQueued = 8;
  LogBatchWriter writer(*logs_, {.batch_records = 4, .max_queued = kMaxQueued});
  for (uint64_t i = 1; i <= 500; ++i) {
    ASSERT_TRUE(writer.Append(Rec(static_cast<int64_t>(i))).ok());
    // Append returned, so at most kMaxQueued of the i appended records are still in memory
    // (the others are in the store, committed or in the open commit group).
    ASSERT_LE(i - writer.counters().written, kMaxQueued) << i;
  }
  ASSERT_TRUE(writer.Close().ok());
  EXPECT_EQ(writer.counters().committed, 500u);
  EXPECT_EQ(*logs_->LatestCursor(), 500);
}

TEST_F(LogBatchWriterTest, AMaxQueuedBelowTheBatchSizeDoesNotDeadlock) {
  // The queue fills before any batch does, and the flush interval is too long to wait out:
  // the writer must still be handed the records and drain them.
  LogBatchWriter writer(
      *logs_, {.batch_records = 100, .max_queued = 3, .flush_interval = std::chrono::hours(1)});
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&writer, t] {
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(writer.Append(Rec(t * 100 + i)).ok());
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE(writer.Close().ok());
  EXPECT_EQ(writer.counters().committed, 60u);
  EXPECT_EQ(*logs_->LatestCursor(), 60);
}

TEST_F(LogBatchWriterTest, IdleWriterIndexesEverythingForSearch) {
  LogBatchWriter writer(*logs_, {.batch_records = 256, .index_batch = 100});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(writer.Append(Rec(i)).ok());
  ASSERT_TRUE(writer.Flush().ok());
  // Indexing happens in the background: poll with a generous deadline rather than sleeping.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (writer.counters().indexed < 1000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(writer.counters().indexed, 1000u);
  EXPECT_EQ(PendingIndexRowsFromAnotherConnection(), 0);
  ASSERT_TRUE(writer.Close().ok());
  EXPECT_EQ(*logs_->PendingIndexRows(), 0);
}

TEST_F(LogBatchWriterTest, WithoutIdleIndexingRecordsStayPending) {
  {
    LogBatchWriter writer(*logs_, {.batch_records = 16, .index_when_idle = false});
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(writer.Append(Rec(i)).ok());
    ASSERT_TRUE(writer.Close().ok());
    EXPECT_EQ(writer.counters().indexed, 0u);
  }
  EXPECT_EQ(*logs_->PendingIndexRows(), 50);
}

TEST_F(LogBatchWriterTest, AppendAfterCloseFails) {
  LogBatchWriter writer(*logs_, {});
  ASSERT_TRUE(writer.Append(Rec(1)).ok());
  ASSERT_TRUE(writer.Close().ok());
  ASSERT_TRUE(writer.Close().ok());  // idempotent
  Status s = writer.Append(Rec(2));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(*logs_->LatestCursor(), 1);
}

TEST_F(LogBatchWriterTest, AFailedWriteIsReportedByFlushAndLaterAppends) {
  // Another connection removes the table: the writer's next commit fails.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  const int rc = sqlite3_exec(raw, "DROP TABLE logs", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  ASSERT_EQ(rc, SQLITE_OK);
  LogBatchWriter writer(*logs_, {.batch_records = 2});
  (void)writer.Append(Rec(1));
  (void)writer.Append(Rec(2));
  const Status flushed = writer.Flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_THAT(flushed.message(), HasSubstr("logs"));
  EXPECT_FALSE(writer.Append(Rec(3)).ok());
  EXPECT_FALSE(writer.Close().ok());
  EXPECT_EQ(writer.counters().committed, 0u);
}

TEST_F(LogBatchWriterTest, DestructorCommitsWhatWasAppended) {
  {
    LogBatchWriter writer(*logs_, {.flush_interval = std::chrono::hours(1)});
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer.Append(Rec(i)).ok());
  }
  EXPECT_EQ(*logs_->LatestCursor(), 3);
}

}  // namespace
}  // namespace mesh

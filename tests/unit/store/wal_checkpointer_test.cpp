#include "mesh/store/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mesh/store/log_store.h"
#include "test_support.h"

namespace mesh {
namespace store_wal_checkpointer_test {

// A WAL frame: a 24-byte header and a 4 KiB page. The WAL may exceed the limit by the
// transaction that crosses it (about 20 frames here): the bounds below allow 64.
constexpr uintmax_t kFrameBytes = 24 + 4096;
constexpr int kTransactions = 300;
constexpr int kRowsPerTransaction = 20;

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("mesh.db");
    Result<std::unique_ptr<Store>> store = Store::Open({.path = path_});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }

  // Commits kTransactions transactions of kRowsPerTransaction 1 KiB log records (about five
  // pages each) and returns the largest WAL seen after a commit.
  uintmax_t WriteAndWatchWal() {
    LogStore logs(*store_);
    std::vector<LogRecord> batch(kRowsPerTransaction);
    for (LogRecord& r : batch) {
      r.service = "api";
      r.message = std::string(1024, 'x');
    }
    uintmax_t largest = 0;
    for (int t = 0; t < kTransactions; ++t) {
      for (LogRecord& r : batch) r.ts_ns = t;
      EXPECT_TRUE(logs.Insert(batch).ok());
      std::error_code ec;
      const uintmax_t size = std::filesystem::file_size(path_ + "-wal", ec);
      if (!ec) largest = std::max(largest, size);
    }
    return largest;
  }

  int64_t CountLogs() {
    Result<std::unique_ptr<Store>> reader = Store::Open({.path = path_, .read_only = true});
    if (!reader.ok()) return -1;
    LogStore logs(**reader);
    Result<std::vector<LevelCount>> stats = logs.Stats({});
    if (!stats.ok()) return -1;
    int64_t n = 0;
    for (const LevelCount& c : *stats) n += c.count;
    return n;
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(WalCheckpointerTest, BackgroundCheckpointsLetTheWalStartOver) {
  // Without checkpoints the WAL would hold every page written: well over 1,000 frames.
  Result<std::unique_ptr<WalCheckpointer>> c =
      WalCheckpointer::Install(*store_, {.frames_threshold = 64, .frames_limit = 512});
  ASSERT_TRUE(c.ok()) << c.status().message();
  const uintmax_t largest = WriteAndWatchWal();
  EXPECT_LE(largest, (512 + 64) * kFrameBytes);
  // The thread copied the bulk at least once (it may lag behind a fast writer: wait for it).
  for (int i = 0; i < 500 && (*c)->background_checkpoints() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE((*c)->background_checkpoints(), 1);
  EXPECT_EQ(CountLogs(), kTransactions * kRowsPerTransaction);
}

TEST_F(WalCheckpointerTest, TheWriterCheckpointsItselfAtTheLimit) {
  // With the threshold at the limit the thread is never asked: the bound comes from the writer.
  Result<std::unique_ptr<WalCheckpointer>> c =
      WalCheckpointer::Install(*store_, {.frames_threshold = 256, .frames_limit = 256});
  ASSERT_TRUE(c.ok()) << c.status().message();
  const uintmax_t largest = WriteAndWatchWal();
  EXPECT_LE(largest, (256 + 64) * kFrameBytes);
  EXPECT_GE((*c)->writer_checkpoints(), 2);
  EXPECT_EQ((*c)->background_checkpoints(), 0);
  EXPECT_EQ(CountLogs(), kTransactions * kRowsPerTransaction);
}

TEST_F(WalCheckpointerTest, RefusesAReadOnlyStore) {
  store_.reset();
  Result<std::unique_ptr<Store>> reader = Store::Open({.path = path_, .read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  Result<std::unique_ptr<WalCheckpointer>> c = WalCheckpointer::Install(**reader, {});
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(WalCheckpointerTest, RefusesALimitBelowTheThreshold) {
  Result<std::unique_ptr<WalCheckpointer>> c =
      WalCheckpointer::Install(*store_, {.frames_threshold = 100, .frames_limit = 50});
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace mesh

// Store upkeep against a real SQLite file: what PruneBefore deletes and keeps, its batches, and
// the full-text index staying consistent with the logs it prunes.
#include "mesh/store/store_upkeep.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mesh/store/alert_store.h"
#include "mesh/store/log_store.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/span_store.h"
#include "mesh/store/sqlite_db.h"
#include "test_support.h"

namespace mesh {
namespace store_store_upkeep_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;
constexpr int64_t kCutoff = kT0 - 3600 * kSecond;
constexpr int64_t kOld = kCutoff - 60 * kSecond;
constexpr int64_t kNew = kCutoff + 60 * kSecond;

class StoreUpkeepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> s = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }

  int64_t Rows(const std::string& table) {
    Result<Statement> stmt = store_->db().Prepare("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(stmt.ok()) << stmt.status().message();
    if (!stmt.ok()) return -1;
    Result<bool> row = stmt->Step();
    EXPECT_TRUE(row.ok() && *row);
    return stmt->ColumnInt64(0);
  }

  void AddLogs(const std::string& message, int64_t ts_ns, int n) {
    std::vector<LogRecord> records;
    for (int i = 0; i < n; ++i) {
      LogRecord r;
      r.ts_ns = ts_ns + i;
      r.service = "api";
      r.level = LogLevel::kError;
      r.message = message;
      records.push_back(r);
    }
    ASSERT_TRUE(LogStore(*store_).Insert(records).ok());
  }

  void AddSpan(const std::string& span_id, int64_t start_ns) {
    Span s;
    s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    s.span_id = span_id;
    s.service = "api";
    s.name = "GET /";
    s.start_ns = start_ns;
    s.duration_ns = 1000;
    ASSERT_TRUE(SpanStore(*store_).Insert({s}).ok());
  }

  void AddSamples(const std::string& instance, std::vector<int64_t> ts_ns) {
    MetricFamily f{"mesh_requests_total", "Requests", MetricType::kCounter, {}};
    for (int64_t ts : ts_ns) {
      f.samples.push_back(
          {"mesh_requests_total", {{"instance", instance}, {"service", "api"}}, 1, ts / 1'000'000});
    }
    ASSERT_TRUE(MetricStore(*store_).InsertRows({f}, kT0).ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreUpkeepTest, DeletesWhatIsOlderThanTheCutoffAndKeepsTheRest) {
  AddLogs("old", kOld, 2);
  AddLogs("new", kNew, 1);
  AddSpan("00f067aa0ba902b7", kOld);
  AddSpan("00f067aa0ba902b8", kNew);
  AddSamples("gone", {kOld});
  AddSamples("kept", {kOld, kNew});
  AlertStore alerts(*store_);
  ASSERT_TRUE(alerts
                  .Save({}, {{0, kOld, "HighErrors", "api", "firing", "critical", 1.0, ""},
                             {0, kNew, "HighErrors", "api", "resolved", "critical", 0.0, ""}})
                  .ok());
  ASSERT_TRUE(alerts.AddSilence({0, "HighErrors", "*", kOld - 60 * kSecond, kOld, "", "ops"}).ok());
  ASSERT_TRUE(alerts.AddSilence({0, "HighErrors", "*", kOld, kNew, "", "ops"}).ok());

  ASSERT_TRUE(PruneBefore(*store_, kCutoff).ok());

  EXPECT_EQ(Rows("logs"), 1);
  EXPECT_EQ(Rows("spans"), 1);
  EXPECT_EQ(Rows("metric_samples"), 1);
  EXPECT_EQ(Rows("metric_series"), 1);  // the series left without samples goes
  EXPECT_EQ(Rows("alert_events"), 1);
  EXPECT_EQ(Rows("alert_silences"), 1);  // the one still running past the cutoff stays
  Result<std::vector<LogRecord>> left = LogStore(*store_).Tail({}, 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].message, "new");
}

TEST_F(StoreUpkeepTest, DeletesAtMostOneBatchPerTableOldestFirst) {
  AddLogs("old", kOld, 5);
  AddSpan("00f067aa0ba902b1", kOld);
  AddSpan("00f067aa0ba902b2", kOld + 1);
  AddSpan("00f067aa0ba902b3", kOld + 2);
  ASSERT_TRUE(PruneBefore(*store_, kCutoff, 2).ok());
  EXPECT_EQ(Rows("logs"), 3);
  EXPECT_EQ(Rows("spans"), 1);
  Result<std::vector<LogRecord>> left = LogStore(*store_).Tail({}, 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 3u);
  EXPECT_EQ((*left)[0].ts_ns, kOld + 2);  // the two oldest went first
  ASSERT_TRUE(PruneBefore(*store_, kCutoff, 2).ok());
  ASSERT_TRUE(PruneBefore(*store_, kCutoff, 2).ok());
  EXPECT_EQ(Rows("logs"), 0);
  EXPECT_EQ(Rows("spans"), 0);
}

// An external-content FTS5 index must forget exactly the pruned rows it holds: the indexed
// ones among them, not the ones still waiting for IndexPending.
TEST_F(StoreUpkeepTest, TheFullTextIndexForgetsPrunedRowsAndStaysConsistent) {
  LogStore logs(*store_);
  AddLogs("alpha indexed", kOld, 2);
  AddLogs("alpha kept", kNew, 1);
  ASSERT_TRUE(logs.IndexPending(100).ok());
  AddLogs("alpha pending", kOld + 10, 1);  // old, not yet indexed
  ASSERT_TRUE(PruneBefore(*store_, kCutoff).ok());
  ASSERT_TRUE(logs.IndexPending(100).ok());
  Result<int64_t> matches = logs.CountMatches("alpha", {});
  ASSERT_TRUE(matches.ok()) << matches.status().message();
  EXPECT_EQ(*matches, 1);
  EXPECT_TRUE(
      store_->db().Exec("INSERT INTO logs_fts(logs_fts, rank) VALUES('integrity-check', 1)").ok());
}

TEST_F(StoreUpkeepTest, NothingToPruneIsNotAnError) {
  EXPECT_TRUE(PruneBefore(*store_, kCutoff).ok());
  EXPECT_TRUE(CheckpointPassive(*store_).ok());
}

}  // namespace
}  // namespace mesh

#include "mesh/store/log_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "raw_sqlite.h"
#include "test_support.h"

namespace mesh {
namespace store_log_store_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kSec = 1'000'000'000;
constexpr const char* kTraceA = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kTraceB = "0af7651916cd43dd8448eb211c80319c";

LogRecord Rec(int64_t ts_s, std::string service, LogLevel level, std::string message,
              std::string trace_id = "") {
  LogRecord r;
  r.ts_ns = ts_s * kSec;
  r.service = std::move(service);
  r.level = level;
  r.message = std::move(message);
  r.trace_id = std::move(trace_id);
  return r;
}

std::vector<int64_t> Ids(const std::vector<LogRecord>& records) {
  std::vector<int64_t> ids;
  for (const LogRecord& r : records) ids.push_back(r.id);
  return ids;
}

std::vector<int64_t> Seconds(const std::vector<LogRecord>& records) {
  std::vector<int64_t> out;
  for (const LogRecord& r : records) out.push_back(r.ts_ns / kSec);
  return out;
}

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> s = Store::Open({.path = path_});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
    logs_ = std::make_unique<LogStore>(*store_);
  }

  // Six records, ids 1..6; the last is the oldest by timestamp.
  void InsertSample() {
    ASSERT_TRUE(logs_
                    ->Insert({
                        Rec(100, "api", LogLevel::kInfo, "user logged in"),
                        Rec(101, "db", LogLevel::kWarn, "slow query on orders"),
                        Rec(102, "api", LogLevel::kError, "payment failed", kTraceA),
                        Rec(103, "worker", LogLevel::kDebug, "job started"),
                        Rec(104, "api", LogLevel::kInfo, "user logged out", kTraceA),
                        Rec(99, "db", LogLevel::kError, "connection reset by peer", kTraceB),
                    })
                    .ok());
  }

  std::vector<LogRecord> TailOrDie(const LogFilter& filter, size_t limit) {
    Result<std::vector<LogRecord>> r = logs_->Tail(filter, limit);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<LogRecord>{};
  }

  std::vector<LogRecord> SearchOrDie(const std::string& q, const LogFilter& filter = {},
                                     size_t limit = 100, bool oldest_first = false) {
    Result<std::vector<LogRecord>> r = logs_->Search(q, filter, limit, oldest_first);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status().message();
    return r.ok() ? *r : std::vector<LogRecord>{};
  }

  // Every step of the plan uses an index, the primary key or the full-text index: none is a
  // bare scan of the whole logs table.
  void ExpectIndexedPlan(const SqlQuery& query) {
    Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(query);
    ASSERT_TRUE(plan.ok()) << query.sql << ": " << plan.status().message();
    ASSERT_FALSE(plan->empty()) << query.sql;
    std::string all;
    for (const std::string& step : *plan) {
      all += step + "\n";
      EXPECT_NE(step, "SCAN logs") << query.sql;
      EXPECT_NE(step, "SCAN TABLE logs") << query.sql;
    }
    EXPECT_TRUE(all.find("USING") != std::string::npos ||
                all.find("VIRTUAL TABLE INDEX") != std::string::npos)
        << query.sql << "\n"
        << all;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("mesh.db");
  std::unique_ptr<Store> store_;
  std::unique_ptr<LogStore> logs_;
};

// ---- Insert and Tail -------------------------------------------------------------------------

TEST_F(LogStoreTest, InsertStoresEveryFieldAndAssignsIncreasingIds) {
  LogRecord r = Rec(100, "api", LogLevel::kWarn, "hello", kTraceA);
  r.span_id = "00f067aa0ba902b7";
  r.attributes = R"({"user":42})";
  r.id = 999;  // ignored: the store assigns ids
  ASSERT_TRUE(logs_->Insert({r, Rec(101, "api", LogLevel::kInfo, "second")}).ok());
  const std::vector<LogRecord> all = TailOrDie({}, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, 1);
  EXPECT_EQ(all[1].id, 2);
  EXPECT_EQ(all[0].ts_ns, 100 * kSec);
  EXPECT_EQ(all[0].service, "api");
  EXPECT_EQ(all[0].level, LogLevel::kWarn);
  EXPECT_EQ(all[0].message, "hello");
  EXPECT_EQ(all[0].trace_id, kTraceA);
  EXPECT_EQ(all[0].span_id, "00f067aa0ba902b7");
  EXPECT_EQ(all[0].attributes, R"({"user":42})");
  EXPECT_EQ(all[1].trace_id, "");
  EXPECT_EQ(all[1].attributes, "");
}

TEST_F(LogStoreTest, InsertOfNothingSucceeds) {
  EXPECT_TRUE(logs_->Insert({}).ok());
  EXPECT_EQ(*logs_->LatestCursor(), 0);
}

TEST_F(LogStoreTest, TailReturnsTheNewestByTimestampOldestFirst) {
  InsertSample();
  EXPECT_THAT(Seconds(TailOrDie({}, 3)), ElementsAre(102, 103, 104));
  EXPECT_THAT(Seconds(TailOrDie({}, 100)), ElementsAre(99, 100, 101, 102, 103, 104));
  EXPECT_TRUE(TailOrDie({}, 0).empty());
}

TEST_F(LogStoreTest, TailOrdersEqualTimestampsByStorageOrder) {
  ASSERT_TRUE(
      logs_
          ->Insert({Rec(5, "a", LogLevel::kInfo, "first"), Rec(5, "b", LogLevel::kInfo, "second"),
                    Rec(5, "a", LogLevel::kInfo, "third")})
          .ok());
  EXPECT_THAT(Ids(TailOrDie({}, 10)), ElementsAre(1, 2, 3));
  EXPECT_THAT(Ids(TailOrDie({.services = {"a", "b"}}, 10)), ElementsAre(1, 2, 3));
}

TEST_F(LogStoreTest, TailFiltersByOneOrSeveralServices) {
  InsertSample();
  EXPECT_THAT(Seconds(TailOrDie({.services = {"api"}}, 100)), ElementsAre(100, 102, 104));
  EXPECT_THAT(Seconds(TailOrDie({.services = {"api", "db"}}, 3)), ElementsAre(101, 102, 104));
  EXPECT_THAT(Seconds(TailOrDie({.services = {"db", "worker"}}, 100)), ElementsAre(99, 101, 103));
  EXPECT_TRUE(TailOrDie({.services = {"nobody"}}, 100).empty());
}

TEST_F(LogStoreTest, TailFiltersByMinimumLevel) {
  InsertSample();
  EXPECT_THAT(Seconds(TailOrDie({.min_level = LogLevel::kWarn}, 100)), ElementsAre(99, 101, 102));
  EXPECT_THAT(Seconds(TailOrDie({.min_level = LogLevel::kFatal}, 100)), ElementsAre());
  EXPECT_EQ(TailOrDie({.min_level = LogLevel::kDebug}, 100).size(), 6u);
}

TEST_F(LogStoreTest, TailFiltersBySinceInclusiveAndUntilExclusive) {
  InsertSample();
  EXPECT_THAT(Seconds(TailOrDie({.since_ns = 101 * kSec, .until_ns = 104 * kSec}, 100)),
              ElementsAre(101, 102, 103));
  EXPECT_THAT(Seconds(TailOrDie({.since_ns = 103 * kSec}, 100)), ElementsAre(103, 104));
  EXPECT_THAT(Seconds(TailOrDie({.until_ns = 100 * kSec}, 100)), ElementsAre(99));
}

TEST_F(LogStoreTest, TailFiltersByTraceId) {
  InsertSample();
  EXPECT_THAT(Seconds(TailOrDie({.trace_id = kTraceA}, 100)), ElementsAre(102, 104));
  EXPECT_THAT(Seconds(TailOrDie({.trace_id = kTraceB}, 100)), ElementsAre(99));
}

TEST_F(LogStoreTest, TailGrepIsACaseSensitiveSubstring) {
  InsertSample();
  EXPECT_THAT(Seconds(TailOrDie({.grep = "user"}, 100)), ElementsAre(100, 104));
  EXPECT_THAT(Seconds(TailOrDie({.grep = "logged o"}, 100)), ElementsAre(104));
  EXPECT_TRUE(TailOrDie({.grep = "User"}, 100).empty());
  EXPECT_TRUE(TailOrDie({.grep = "%"}, 100).empty());  // not a LIKE pattern
}

TEST_F(LogStoreTest, TailFiltersByMaxCursor) {
  InsertSample();
  EXPECT_THAT(Ids(TailOrDie({.max_cursor = 3}, 100)), ElementsAre(1, 2, 3));
}

TEST_F(LogStoreTest, TailCombinesFilters) {
  InsertSample();
  EXPECT_THAT(
      Seconds(TailOrDie(
          {.services = {"api", "db"}, .min_level = LogLevel::kError, .since_ns = 100 * kSec}, 100)),
      ElementsAre(102));
}

// ---- After and LatestCursor ------------------------------------------------------------------

TEST_F(LogStoreTest, LatestCursorIsZeroWhenEmptyThenTheNewestId) {
  EXPECT_EQ(*logs_->LatestCursor(), 0);
  InsertSample();
  EXPECT_EQ(*logs_->LatestCursor(), 6);
}

TEST_F(LogStoreTest, AfterReturnsLaterRecordsInStorageOrder) {
  InsertSample();
  Result<std::vector<LogRecord>> all = logs_->After(0, {}, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(Ids(*all), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(Ids(*logs_->After(2, {}, 2)), ElementsAre(3, 4));
  EXPECT_TRUE(logs_->After(6, {}, 100)->empty());
}

TEST_F(LogStoreTest, AfterAppliesTheFilter) {
  InsertSample();
  EXPECT_THAT(Ids(*logs_->After(0, {.services = {"db"}}, 100)), ElementsAre(2, 6));
  EXPECT_THAT(Ids(*logs_->After(2, {.services = {"api", "db"}}, 100)), ElementsAre(3, 5, 6));
  EXPECT_THAT(Ids(*logs_->After(0, {.min_level = LogLevel::kError}, 100)), ElementsAre(3, 6));
}

TEST_F(LogStoreTest, AfterCursorFollowsNewInserts) {
  InsertSample();
  const int64_t cursor = *logs_->LatestCursor();
  ASSERT_TRUE(logs_->Insert({Rec(1, "api", LogLevel::kInfo, "late but old timestamp")}).ok());
  Result<std::vector<LogRecord>> next = logs_->After(cursor, {}, 100);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().message, "late but old timestamp");
}

// ---- Search ----------------------------------------------------------------------------------

TEST_F(LogStoreTest, SearchFindsWordsNewestStoredFirst) {
  InsertSample();
  EXPECT_THAT(Ids(SearchOrDie("user")), ElementsAre(5, 1));
  EXPECT_THAT(Ids(SearchOrDie("USER")), ElementsAre(5, 1));  // the tokenizer folds case
  EXPECT_THAT(Ids(SearchOrDie("user", {}, 100, /*oldest_first=*/true)), ElementsAre(1, 5));
  EXPECT_TRUE(SearchOrDie("nothing").empty());
}

TEST_F(LogStoreTest, SearchSupportsPhrasesPrefixesAndOperators) {
  InsertSample();
  EXPECT_THAT(Ids(SearchOrDie("\"logged in\"")), ElementsAre(1));
  EXPECT_THAT(Ids(SearchOrDie("\"in logged\"")), ElementsAre());
  EXPECT_THAT(Ids(SearchOrDie("log*")), ElementsAre(5, 1));
  EXPECT_THAT(Ids(SearchOrDie("user NOT out")), ElementsAre(1));
  EXPECT_THAT(Ids(SearchOrDie("slow OR reset")), ElementsAre(6, 2));
  EXPECT_THAT(Ids(SearchOrDie("payment AND failed")), ElementsAre(3));
}

TEST_F(LogStoreTest, SearchHonoursTheLimit) {
  InsertSample();
  EXPECT_THAT(Ids(SearchOrDie("user OR slow OR job", {}, 2)), ElementsAre(5, 4));
  EXPECT_THAT(Ids(SearchOrDie("user OR slow OR job", {}, 2, true)), ElementsAre(1, 2));
}

TEST_F(LogStoreTest, SearchAppliesTheFilter) {
  InsertSample();
  EXPECT_THAT(Ids(SearchOrDie("user OR reset", {.services = {"db"}})), ElementsAre(6));
  EXPECT_THAT(Ids(SearchOrDie("user", {.trace_id = kTraceA})), ElementsAre(5));
  EXPECT_THAT(Ids(SearchOrDie("user", {.since_ns = 101 * kSec})), ElementsAre(5));
}

TEST_F(LogStoreTest, SearchFindsRecordsNotIndexedYet) {
  InsertSample();
  ASSERT_EQ(*logs_->PendingIndexRows(), 6);  // nothing called IndexPending
  EXPECT_THAT(Ids(SearchOrDie("user")), ElementsAre(5, 1));
}

TEST_F(LogStoreTest, SearchFindsRecordsAfterIndexPending) {
  InsertSample();
  EXPECT_EQ(*logs_->IndexPending(1000), 6);
  EXPECT_EQ(*logs_->PendingIndexRows(), 0);
  EXPECT_THAT(Ids(SearchOrDie("user")), ElementsAre(5, 1));
  ASSERT_TRUE(logs_->Insert({Rec(200, "api", LogLevel::kInfo, "user deleted")}).ok());
  EXPECT_EQ(*logs_->PendingIndexRows(), 1);
  EXPECT_THAT(Ids(SearchOrDie("user")), ElementsAre(7, 5, 1));
}

TEST_F(LogStoreTest, IndexPendingWorksInBatchesUntilCaughtUp) {
  std::vector<LogRecord> batch;
  for (int i = 0; i < 10; ++i)
    batch.push_back(Rec(i, "s", LogLevel::kInfo, "m" + std::to_string(i)));
  ASSERT_TRUE(logs_->Insert(batch).ok());
  EXPECT_EQ(*logs_->IndexPending(4), 4);
  EXPECT_EQ(*logs_->PendingIndexRows(), 6);
  EXPECT_EQ(*logs_->IndexPending(4), 4);
  EXPECT_EQ(*logs_->IndexPending(4), 2);
  EXPECT_EQ(*logs_->IndexPending(4), 0);
  EXPECT_EQ(*logs_->PendingIndexRows(), 0);
}

TEST_F(LogStoreTest, SearchCoversUnindexedRecordsWhenTheIndexCannotBeFed) {
  // The first three records are indexed; then indexing fails (as for a read-only or busy store)
  // and the search must merge the index with a temporary one over the rest.
  ASSERT_TRUE(logs_
                  ->Insert({Rec(1, "a", LogLevel::kInfo, "alpha one"),
                            Rec(2, "a", LogLevel::kInfo, "alpha two"),
                            Rec(3, "b", LogLevel::kWarn, "beta three")})
                  .ok());
  ASSERT_EQ(*logs_->IndexPending(100), 3);
  ExecRaw(path_,
          "CREATE TRIGGER block_indexing BEFORE UPDATE ON logs_fts_state "
          "BEGIN SELECT RAISE(ABORT, 'indexing disabled by the test'); END");
  ASSERT_TRUE(logs_
                  ->Insert({Rec(4, "a", LogLevel::kInfo, "alpha four"),
                            Rec(5, "b", LogLevel::kError, "beta five"),
                            Rec(6, "a", LogLevel::kInfo, "alpha six")})
                  .ok());
  EXPECT_FALSE(logs_->IndexPending(100).ok());
  EXPECT_EQ(*logs_->PendingIndexRows(), 3);

  EXPECT_THAT(Ids(SearchOrDie("alpha")), ElementsAre(6, 4, 2, 1));
  EXPECT_THAT(Ids(SearchOrDie("alpha", {}, 100, true)), ElementsAre(1, 2, 4, 6));
  EXPECT_THAT(Ids(SearchOrDie("alpha", {}, 3)), ElementsAre(6, 4, 2));
  EXPECT_THAT(Ids(SearchOrDie("alpha", {}, 3, true)), ElementsAre(1, 2, 4));
  EXPECT_THAT(Ids(SearchOrDie("beta", {.min_level = LogLevel::kError})), ElementsAre(5));
  EXPECT_EQ(*logs_->CountMatches("alpha", {}), 4);
  EXPECT_EQ(*logs_->CountMatches("alpha OR beta", {.services = {"b"}}), 2);
  // Searching twice does not count the temporary rows twice.
  EXPECT_EQ(*logs_->CountMatches("alpha", {}), 4);
  EXPECT_EQ(*logs_->PendingIndexRows(), 3);

  ExecRaw(path_, "DROP TRIGGER block_indexing");
  EXPECT_EQ(*logs_->IndexPending(100), 3);
  EXPECT_THAT(Ids(SearchOrDie("alpha")), ElementsAre(6, 4, 2, 1));
}

TEST_F(LogStoreTest, CountMatchesCountsWithAndWithoutFilters) {
  InsertSample();
  EXPECT_EQ(*logs_->CountMatches("user", {}), 2);
  EXPECT_EQ(*logs_->CountMatches("user", {.services = {"api"}}), 2);
  EXPECT_EQ(*logs_->CountMatches("user", {.min_level = LogLevel::kError}), 0);
  EXPECT_EQ(*logs_->CountMatches("user OR reset OR slow", {.services = {"db"}}), 2);
  EXPECT_EQ(*logs_->CountMatches("nothing", {}), 0);
}

TEST_F(LogStoreTest, BadSearchSyntaxIsInvalidArgument) {
  InsertSample();
  for (const char* q :
       {"\"unterminated", "AND", "user AND", "(user", "user)", "nosuchcolumn:user", "*", "NOT"}) {
    Result<std::vector<LogRecord>> r = logs_->Search(q, {}, 10, false);
    ASSERT_FALSE(r.ok()) << q;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument)
        << q << ": " << r.status().message();
    EXPECT_THAT(r.status().message(), HasSubstr("invalid search query"));
    Result<int64_t> n = logs_->CountMatches(q, {});
    ASSERT_FALSE(n.ok()) << q;
    EXPECT_EQ(n.status().code(), Status::Code::kInvalidArgument) << q;
  }
}

// ---- Stats -----------------------------------------------------------------------------------

TEST_F(LogStoreTest, StatsCountsPerServiceAndLevelInOrder) {
  InsertSample();
  Result<std::vector<LevelCount>> stats = logs_->Stats({});
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  std::vector<std::string> rows;
  for (const LevelCount& c : *stats) {
    rows.push_back(c.service + " " + std::string(LevelName(c.level)) + " " +
                   std::to_string(c.count));
  }
  EXPECT_THAT(
      rows, ElementsAre("api INFO 2", "api ERROR 1", "db WARN 1", "db ERROR 1", "worker DEBUG 1"));
}

TEST_F(LogStoreTest, StatsAppliesTheFilter) {
  InsertSample();
  Result<std::vector<LevelCount>> stats = logs_->Stats({.since_ns = 102 * kSec});
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 3u);
  EXPECT_EQ((*stats)[0].service, "api");
  EXPECT_EQ((*stats)[0].level, LogLevel::kInfo);
  EXPECT_EQ((*stats)[0].count, 1);
  EXPECT_TRUE(logs_->Stats({.services = {"nobody"}})->empty());
}

// ---- hostile text ----------------------------------------------------------------------------

TEST_F(LogStoreTest, HostileTextIsStoredAndReadBackIntact) {
  LogRecord r = Rec(1, "o'brien \"svc\"", LogLevel::kInfo, "'; DROP TABLE logs; --");
  r.attributes = R"({"q":"' OR 1=1 --","s":"\"); DELETE FROM logs; --"})";
  LogRecord r2 =
      Rec(2, "svc", LogLevel::kInfo,
          "quotes ' \" ` and \\ backslash, percent % underscore _ \n newline caf\xC3\xA9");
  ASSERT_TRUE(logs_->Insert({r, r2}).ok());

  const std::vector<LogRecord> all = TailOrDie({}, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].service, r.service);
  EXPECT_EQ(all[0].message, r.message);
  EXPECT_EQ(all[0].attributes, r.attributes);
  EXPECT_EQ(all[1].message, r2.message);

  EXPECT_THAT(Ids(TailOrDie({.services = {"o'brien \"svc\""}}, 10)), ElementsAre(1));
  EXPECT_THAT(Ids(TailOrDie({.grep = "'; DROP"}, 10)), ElementsAre(1));
  EXPECT_THAT(Ids(TailOrDie({.grep = "% underscore _"}, 10)), ElementsAre(2));
  EXPECT_THAT(Ids(SearchOrDie("DROP")), ElementsAre(1));
  EXPECT_THAT(Ids(SearchOrDie("\"DROP TABLE logs\"")), ElementsAre(1));
  // A hostile query is at worst a syntax error; the table survives it.
  (void)logs_->Search("'; DROP TABLE logs; --", {}, 10, false);
  (void)logs_->Search("\"\"); DROP TABLE logs; --", {}, 10, false);
  (void)logs_->Tail({.services = {"x'); DROP TABLE logs; --"}}, 10);
  EXPECT_EQ(TailOrDie({}, 10).size(), 2u);
}

// ---- query plans -----------------------------------------------------------------------------

TEST_F(LogStoreTest, TailQueriesUseAnIndex) {
  InsertSample();
  ExpectIndexedPlan(BuildTailQuery({}, "", 100));
  ExpectIndexedPlan(BuildTailQuery({}, "api", 100));
  ExpectIndexedPlan(BuildTailQuery({.trace_id = kTraceA}, "", 100));
  ExpectIndexedPlan(BuildTailQuery({.since_ns = 5, .until_ns = 10}, "", 100));
  ExpectIndexedPlan(BuildTailQuery({.min_level = LogLevel::kWarn, .grep = "x"}, "api", 100));
}

TEST_F(LogStoreTest, AfterQueryUsesThePrimaryKey) {
  InsertSample();
  ExpectIndexedPlan(BuildAfterQuery(3, {}, 100));
  ExpectIndexedPlan(BuildAfterQuery(3, {.services = {"api", "db"}}, 100));
}

TEST_F(LogStoreTest, SearchQueriesUseTheFullTextIndex) {
  InsertSample();
  ExpectIndexedPlan(BuildSearchQuery("logs_fts", "user", {}, 100, false));
  ExpectIndexedPlan(BuildSearchQuery("logs_fts", "user", {}, 100, true));
  ExpectIndexedPlan(BuildSearchQuery("logs_fts", "user", {.services = {"api"}}, 100, false));
  ExpectIndexedPlan(BuildCountQuery("logs_fts", "user", {}));
  ExpectIndexedPlan(BuildCountQuery("logs_fts", "user", {.min_level = LogLevel::kWarn}));
}

TEST_F(LogStoreTest, StatsQueryWithSinceUsesAnIndex) {
  InsertSample();
  ExpectIndexedPlan(BuildStatsQuery({.since_ns = 101 * kSec}));
  ExpectIndexedPlan(BuildStatsQuery({}));
}

TEST(LogStoreQueries, BindEveryFilterAsAParameter) {
  const SqlQuery q = BuildTailQuery({.min_level = LogLevel::kWarn,
                                     .since_ns = 1,
                                     .until_ns = 2,
                                     .trace_id = "t'",
                                     .grep = "g'",
                                     .max_cursor = 3},
                                    "svc'", 50);
  EXPECT_EQ(q.sql.find("svc'"), std::string::npos);
  EXPECT_EQ(q.sql.find("g'"), std::string::npos);
  EXPECT_EQ(static_cast<size_t>(std::count(q.sql.begin(), q.sql.end(), '?')), q.params.size());
  EXPECT_EQ(q.params.size(), 8u);
}

}  // namespace
}  // namespace mesh

#include "mesh/store/span_rollup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mesh/store/span_store.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/store/store_upkeep.h"
#include "test_support.h"

namespace mesh {
namespace store_span_rollup_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kT0 = 1764075600 * kSecond + 17 * kSecond;  // 17 s past an hour
const char* const kServices[] = {"api", "db", "cache", "frontend", "auth"};

std::string Hex(int n, size_t width) {
  std::string digits = std::to_string(n);
  return std::string(width - std::min(width, digits.size()), '0') + digits;
}

Span MakeSpan(int trace, int id, int parent, const std::string& service, const std::string& name, int64_t start_ns,
              int64_t duration_ns, bool error) {
  Span s;
  s.trace_id = Hex(trace, 32);
  s.span_id = Hex(id, 16);
  s.parent_span_id = parent == 0 ? "" : Hex(parent, 16);
  s.service = service;
  s.name = name;
  s.kind = SpanKind::kServer;
  s.start_ns = start_ns;
  s.duration_ns = duration_ns;
  s.status = error ? SpanStatus::kError : SpanStatus::kUnset;
  return s;
}

// `traces` traces over 3 hours from kT0, a root and one to three children in other services
// (a child of a child at times), seeded durations and errors, in a shuffled order so that
// children often arrive before their parents.
std::vector<Span> Traces(int traces, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<Span> spans;
  int next_id = 1;
  for (int t = 1; t <= traces; ++t) {
    const int64_t start = kT0 + static_cast<int64_t>(t) * 3 * kHour / traces;
    const int root = next_id++;
    const int root_service = static_cast<int>(rng() % 5);
    spans.push_back(MakeSpan(t, root, 0, kServices[root_service], "GET /" + std::to_string(rng() % 3), start,
                             static_cast<int64_t>(1 + rng() % 500'000'000), rng() % 10 == 0));
    int parent = root;
    for (unsigned c = 0, n = 1 + rng() % 3; c < n; ++c) {
      const int id = next_id++;
      const int service = (root_service + 1 + static_cast<int>(rng() % 4)) % 5;
      // Spans of a trace may straddle a minute or hour boundary.
      spans.push_back(MakeSpan(t, id, parent, kServices[service], "call" + std::to_string(rng() % 2),
                               start + static_cast<int64_t>(rng() % 90) * kSecond,
                               static_cast<int64_t>(1 + rng() % 200'000'000), rng() % 7 == 0));
      if (rng() % 2 == 0) parent = id;
    }
  }
  std::shuffle(spans.begin(), spans.end(), rng);
  return spans;
}

// What reading every span of the window gives: the reference.
SpanTallies Expected(const std::vector<Span>& spans, int64_t since, int64_t until) {
  SpanTallies want;
  std::map<std::pair<std::string, std::string>, const Span*> by_id;
  for (const Span& s : spans) by_id[{s.trace_id, s.span_id}] = &s;
  for (const Span& s : spans) {
    if (s.start_ns < since || s.start_ns >= until) continue;
    const bool error = s.status == SpanStatus::kError;
    SpanTallies::Tally& op = want.ops[{s.service, s.name}];
    op.durations.Add(s.duration_ns);
    if (error) ++op.errors;
    const auto parent = by_id.find({s.trace_id, s.parent_span_id});
    if (s.parent_span_id.empty() || parent == by_id.end() || parent->second->service == s.service) continue;
    SpanTallies::Tally& edge = want.edges[{parent->second->service, s.service}];
    edge.durations.Add(s.duration_ns);
    if (error) ++edge.errors;
  }
  return want;
}

// Same keys, errors and histograms (so every count and quantile) as the reference.
void ExpectSame(const SpanTallies& got, const SpanTallies& want, const std::string& what) {
  const auto same = [&](const auto& a, const auto& b, const char* kind) {
    ASSERT_EQ(a.size(), b.size()) << what << " " << kind;
    for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
      EXPECT_EQ(x->first, y->first) << what << " " << kind;
      EXPECT_EQ(x->second.errors, y->second.errors) << what << " " << kind << " " << x->first.first;
      EXPECT_EQ(x->second.durations.Encode(), y->second.durations.Encode()) << what << " " << kind << " " << x->first.first;
    }
  };
  same(got.ops, want.ops, "ops");
  same(got.edges, want.edges, "edges");
}

// Windows of every shape: aligned and not, shorter than a minute, across hours, the lot.
const std::vector<std::pair<int64_t, int64_t>> kWindows = {
    {kT0 - kHour, kT0 + 4 * kHour},
    {kT0, kT0 + 15 * kMinute},
    {kT0 + 3 * kSecond, kT0 + 3 * kSecond + 2 * kHour + 10 * kMinute + 5 * kSecond},
    {kT0 + 43 * kSecond, kT0 + 50 * kSecond},
    {kT0 - 17 * kSecond + kHour, kT0 - 17 * kSecond + 2 * kHour},
    {kT0 + 90 * kMinute + 1, kT0 + 181 * kMinute - 1},
};

class SpanRollupTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Open(); }

  std::unique_ptr<Store> Open() {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  void Insert(Store& store, const std::vector<Span>& spans) { ASSERT_TRUE(SpanStore(store).Insert(spans).ok()); }

  int64_t RollUp(Store& store, int64_t batch = kRollUpBatchSpans) {
    Result<int64_t> n = RollUpSpans(store, batch);
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? *n : -1;
  }

  void ExpectEveryWindowExact(const std::vector<Span>& spans, const std::string& what) {
    for (const auto& [since, until] : kWindows) {
      Result<SpanTallies> got = QuerySpanTallies(*store_, since, until);
      ASSERT_TRUE(got.ok()) << got.status().message();
      ExpectSame(*got, Expected(spans, since, until), what + " window from " + std::to_string(since - kT0));
    }
  }

  int64_t Rows(const std::string& sql) {
    Result<int64_t> n = QueryInt64(store_->db(), {sql, {}});
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? *n : -1;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST(SplitWindow, CoversTheWindowOnceWithRawEndsAndWholeMinutesAndHours) {
  const int64_t h = 1764075600 * kSecond;
  const std::vector<WindowPiece> pieces = SplitWindow(h - 90 * kSecond + 5, h + 2 * kHour + 61 * kSecond);
  const std::vector<WindowPiece> want = {{0, h - 90 * kSecond + 5, h - kMinute},
                                         {60, h - kMinute, h},
                                         {3600, h, h + 2 * kHour},
                                         {60, h + 2 * kHour, h + 2 * kHour + kMinute},
                                         {0, h + 2 * kHour + kMinute, h + 2 * kHour + 61 * kSecond}};
  EXPECT_EQ(pieces, want);
}

TEST(SplitWindow, ReadsAWindowWithoutAWholeMinuteRawAndAnEmptyOneNotAtAll) {
  const int64_t m = 1764075600 * kSecond + 7 * kMinute;
  EXPECT_EQ(SplitWindow(m + 1, m + kMinute + 5), (std::vector<WindowPiece>{{0, m + 1, m + kMinute + 5}}));
  EXPECT_TRUE(SplitWindow(m, m).empty());
  EXPECT_TRUE(SplitWindow(m, m - 1).empty());
  // Near the ends of int64 nothing is rounded (it could overflow): one raw piece.
  EXPECT_EQ(SplitWindow(INT64_MIN, INT64_MAX), (std::vector<WindowPiece>{{0, INT64_MIN, INT64_MAX}}));
}

TEST_F(SpanRollupTest, EveryWindowIsExactBeforeDuringAndAfterTheRollUp) {
  const std::vector<Span> spans = Traces(400, 1);
  // Inserted in pieces, rolled up in small batches between them: calls whose two spans land in
  // different batches, in both orders.
  const std::vector<Span> first(spans.begin(), spans.begin() + 97);
  Insert(*store_, first);
  ExpectEveryWindowExact(first, "nothing rolled up");
  for (size_t at = 97; at < spans.size(); at += 97) {
    RollUp(*store_, 61);
    Insert(*store_, std::vector<Span>(spans.begin() + at, spans.begin() + std::min(at + 97, spans.size())));
  }
  ExpectEveryWindowExact(spans, "partly rolled up");
  while (RollUp(*store_) > 0) {
  }
  EXPECT_EQ(Rows("SELECT rolled_through_id FROM span_rollup_state"), Rows("SELECT max(id) FROM spans"));
  ExpectEveryWindowExact(spans, "all rolled up");
}

TEST_F(SpanRollupTest, AServiceScopeHasExactlyThatServicesOperationsAndEdges) {
  const std::vector<Span> spans = Traces(300, 8);
  Insert(*store_, spans);
  RollUp(*store_, 500);  // part rolled up, part raw
  for (const auto& [since, until] : kWindows) {
    SpanTallies want = Expected(spans, since, until);
    std::erase_if(want.ops, [](const auto& op) { return op.first.first != "db"; });
    std::erase_if(want.edges, [](const auto& e) { return e.first.first != "db" && e.first.second != "db"; });
    Result<SpanTallies> got = QuerySpanTallies(*store_, since, until, {.service = "db", .operation_durations = true});
    ASSERT_TRUE(got.ok()) << got.status().message();
    ExpectSame(*got, want, "db's scope from " + std::to_string(since - kT0));
    // Without operation durations: the same operations, no counts; edges in full.
    Result<SpanTallies> names = QuerySpanTallies(*store_, since, until, {.service = "", .operation_durations = false});
    ASSERT_TRUE(names.ok());
    const SpanTallies all = Expected(spans, since, until);
    ASSERT_EQ(names->ops.size(), all.ops.size());
    for (const auto& [key, tally] : names->ops) {
      EXPECT_EQ(all.ops.count(key), 1u) << key.first;
      EXPECT_EQ(tally.durations.count(), 0);
    }
    SpanTallies edges_only = all;
    edges_only.ops = names->ops;
    ExpectSame(*names, edges_only, "names only");
  }
}

TEST_F(SpanRollupTest, ALateSpanForARolledUpHourCountsOnce) {
  std::vector<Span> spans = Traces(200, 2);
  Insert(*store_, spans);
  while (RollUp(*store_) > 0) {
  }
  // Arriving now for the first hour: a new root, and a child of a stored span.
  const std::vector<Span> late = {MakeSpan(9001, 90001, 0, "api", "late", kT0 + 5 * kMinute + 3, 7'000'000, true),
                                  MakeSpan(9001, 90002, 90001, "db", "late-child", kT0 + 5 * kMinute + 4, 3'000'000, false),
                                  MakeSpan(1, 90003, 1, "auth", "late-call", kT0 + 6 * kMinute, 9'000'000, true)};
  Insert(*store_, late);
  spans.insert(spans.end(), late.begin(), late.end());
  ExpectEveryWindowExact(spans, "late spans not rolled up yet");
  EXPECT_EQ(RollUp(*store_), 3);
  ExpectEveryWindowExact(spans, "late spans rolled up");
  EXPECT_EQ(RollUp(*store_), 0);
  ExpectEveryWindowExact(spans, "after an idle roll-up");
}

TEST_F(SpanRollupTest, AParentArrivingAfterItsRolledUpChildCountsTheCallOnce) {
  const Span child = MakeSpan(7, 71, 70, "db", "SELECT", kT0 + 2 * kHour, 4'000'000, true);
  const Span parent = MakeSpan(7, 70, 0, "api", "GET /", kT0 + 2 * kHour - 1, 9'000'000, false);
  Insert(*store_, {child});
  EXPECT_EQ(RollUp(*store_), 1);
  Insert(*store_, {parent});
  ExpectEveryWindowExact({child, parent}, "parent not rolled up");
  EXPECT_EQ(RollUp(*store_), 1);
  ExpectEveryWindowExact({child, parent}, "parent rolled up");
  Result<SpanTallies> got = QuerySpanTallies(*store_, kT0, kT0 + 3 * kHour);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->edges.size(), 1u);
  EXPECT_EQ(got->edges.begin()->second.durations.count(), 1);
  EXPECT_EQ(got->edges.begin()->second.errors, 1);
}

TEST_F(SpanRollupTest, PruningForgetsEndedBucketsAndCountsASpanThatReusesAPrunedId) {
  const std::vector<Span> spans = Traces(100, 3);
  Insert(*store_, spans);
  while (RollUp(*store_) > 0) {
  }
  const int64_t newest = Rows("SELECT max(id) FROM spans");
  const int64_t cutoff = kT0 + 10 * kHour;
  for (int i = 0; i < 100 && Rows("SELECT count(*) FROM spans") > 0; ++i) {
    ASSERT_TRUE(PruneBefore(*store_, cutoff, 50).ok());
  }
  EXPECT_EQ(Rows("SELECT count(*) FROM spans"), 0);
  EXPECT_EQ(Rows("SELECT rolled_through_id FROM span_rollup_state"), 0);
  EXPECT_EQ(Rows("SELECT count(*) FROM span_rollup_ops"), 0);
  EXPECT_EQ(Rows("SELECT count(*) FROM span_rollup_edges"), 0);
  // A span stored after the prune gets an id a pruned span had: it is counted, once.
  const Span fresh = MakeSpan(5000, 50000, 0, "api", "fresh", kT0 + 30 * kMinute, 1'000'000, false);
  Insert(*store_, {fresh});
  EXPECT_LE(Rows("SELECT max(id) FROM spans"), newest);
  Result<SpanTallies> got = QuerySpanTallies(*store_, kT0, kT0 + kHour);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->ops.count({"api", "fresh"}), 1u);
  EXPECT_EQ(got->ops.at({"api", "fresh"}).durations.count(), 1);
  EXPECT_EQ(RollUp(*store_), 1);
  got = QuerySpanTallies(*store_, kT0, kT0 + kHour);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->ops.size(), 1u);
  EXPECT_EQ(got->ops.at({"api", "fresh"}).durations.count(), 1);
}

// Pruning only the newest spans (late ones, with old start times): ids come back below the old
// watermark, and are still counted.
TEST_F(SpanRollupTest, PruningTheNewestIdsLowersTheWatermark) {
  std::vector<Span> spans = Traces(50, 9);
  Insert(*store_, spans);
  const Span old_late = MakeSpan(6000, 60000, 0, "auth", "ancient", kT0 - 48 * kHour, 5'000'000, false);
  Insert(*store_, {old_late});
  while (RollUp(*store_) > 0) {
  }
  const int64_t newest = Rows("SELECT max(id) FROM spans");
  ASSERT_TRUE(PruneBefore(*store_, kT0 - 24 * kHour).ok());  // only the ancient, newest span
  EXPECT_EQ(Rows("SELECT rolled_through_id FROM span_rollup_state"), newest - 1);
  const Span fresh = MakeSpan(6001, 60001, 0, "auth", "fresh", kT0 + kMinute, 2'000'000, false);
  Insert(*store_, {fresh});
  EXPECT_EQ(Rows("SELECT max(id) FROM spans"), newest);  // the pruned span's id again
  spans.push_back(fresh);
  ExpectEveryWindowExact(spans, "reused id, not rolled up");
  EXPECT_EQ(RollUp(*store_), 1);
  ExpectEveryWindowExact(spans, "reused id, rolled up");
}

TEST_F(SpanRollupTest, OnePrunePassDeletesAtMostSixtyBucketStartsOfEachWidth) {
  std::vector<Span> spans;
  for (int m = 0; m < 180; ++m) spans.push_back(MakeSpan(7000 + m, 70000 + m, 0, "api", "tick", kT0 + m * kMinute, 1000, false));
  Insert(*store_, spans);
  while (RollUp(*store_) > 0) {
  }
  ASSERT_EQ(Rows("SELECT count(DISTINCT start_ns) FROM span_rollup_ops WHERE width_s = 60"), 180);
  const int64_t cutoff = kT0 + 100 * kHour;
  ASSERT_TRUE(PruneBefore(*store_, cutoff, 1000).ok());
  EXPECT_EQ(Rows("SELECT count(DISTINCT start_ns) FROM span_rollup_ops WHERE width_s = 60"), 120);
  EXPECT_EQ(Rows("SELECT count(*) FROM span_rollup_ops WHERE width_s = 3600"), 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PruneBefore(*store_, cutoff, 1000).ok());
  EXPECT_EQ(Rows("SELECT count(*) FROM span_rollup_ops"), 0);
}

TEST_F(SpanRollupTest, PruningKeepsBucketsThatEndAfterTheCutoff) {
  const std::vector<Span> spans = Traces(100, 4);
  Insert(*store_, spans);
  while (RollUp(*store_) > 0) {
  }
  const int64_t cutoff = kT0 + 90 * kMinute + 30 * kSecond;
  for (int pass = 0; pass < 3; ++pass) ASSERT_TRUE(PruneBefore(*store_, cutoff, 100000).ok());  // 60 minutes a pass
  EXPECT_EQ(Rows("SELECT count(*) FROM span_rollup_ops WHERE start_ns + width_s * 1000000000 <= " +
                 std::to_string(cutoff)),
            0);
  // Windows after the cutoff's hour are still exact.
  std::vector<Span> kept;
  for (const Span& s : spans) {
    if (s.start_ns >= cutoff) kept.push_back(s);
  }
  const int64_t since = kT0 - 17 * kSecond + 2 * kHour;
  Result<SpanTallies> got = QuerySpanTallies(*store_, since, kT0 + 4 * kHour);
  ASSERT_TRUE(got.ok());
  ExpectSame(*got, Expected(kept, since, kT0 + 4 * kHour), "after the prune");
}

TEST_F(SpanRollupTest, ARestartedStoreGoesOnFromItsWatermark) {
  const std::vector<Span> spans = Traces(300, 5);
  Insert(*store_, spans);
  RollUp(*store_, 250);
  store_.reset();
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  ExpectEveryWindowExact(spans, "reopened half rolled up");
  while (RollUp(*store_) > 0) {
  }
  ExpectEveryWindowExact(spans, "reopened and rolled up");
}

TEST_F(SpanRollupTest, TwoWritersRollingUpTheSameStoreCountEverySpanOnce) {
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  const std::vector<Span> spans = Traces(300, 6);
  for (size_t at = 0; at < spans.size(); at += 50) {
    Store& writer = (at / 50) % 2 == 0 ? *store_ : *other;
    Insert(writer, std::vector<Span>(spans.begin() + at, spans.begin() + std::min(at + 50, spans.size())));
    RollUp(*store_, 40);
    RollUp(*other, 40);
  }
  while (RollUp(*other) > 0) {
  }
  ExpectEveryWindowExact(spans, "two writers");
}

TEST_F(SpanRollupTest, ADamagedRollUpRowIsCorruptionNotAWrongAnswer) {
  Insert(*store_, Traces(50, 7));
  while (RollUp(*store_) > 0) {
  }
  ASSERT_TRUE(store_->db().Exec("UPDATE span_rollup_ops SET durations = '12;oops'").ok());
  Result<SpanTallies> got = QuerySpanTallies(*store_, kT0 - kHour, kT0 + 4 * kHour);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kCorruption);
  // A span for a damaged bucket: its service, operation and minute.
  Result<Statement> bucket = store_->db().Prepare("SELECT service, name, start_ns FROM span_rollup_ops WHERE width_s = 60 LIMIT 1");
  ASSERT_TRUE(bucket.ok());
  ASSERT_TRUE(*bucket->Step());
  Insert(*store_, {MakeSpan(99, 990, 0, bucket->ColumnText(0), bucket->ColumnText(1), bucket->ColumnInt64(2), 1, false)});
  Result<int64_t> rolled = RollUpSpans(*store_);
  ASSERT_FALSE(rolled.ok());  // never overwrites a bucket it cannot read
  EXPECT_EQ(Rows("SELECT count(*) FROM span_rollup_ops WHERE durations = '12;oops'"),
            Rows("SELECT count(*) FROM span_rollup_ops"));
}

TEST_F(SpanRollupTest, EveryStatementReadsByAnIndex) {
  for (const SqlQuery& q : SpanRollupQueriesForPlanCheck()) {
    Result<std::vector<std::string>> plan = store_->ExplainQueryPlan(q);
    ASSERT_TRUE(plan.ok()) << q.sql << ": " << plan.status().message();
    std::string all;
    for (const std::string& step : *plan) all += step + "\n";
    for (const std::string& step : *plan) {
      std::istringstream words(step);
      std::string verb, table;
      words >> verb >> table;
      // span_rollup_state holds one row.
      if (verb == "SCAN" && table != "span_rollup_state") {
        EXPECT_NE(step.find("INDEX"), std::string::npos) << q.sql << "\n" << all;
      }
    }
  }
}

}  // namespace store_span_rollup_test
}  // namespace mesh

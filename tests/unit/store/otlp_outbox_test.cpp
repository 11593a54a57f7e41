#include "mesh/store/otlp_outbox.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mesh/store/sqlite_db.h"
#include "test_support.h"

namespace mesh {
namespace store_otlp_outbox_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;
const std::string kTraceA(32, 'a');
const std::string kTraceB(32, 'b');

OtlpOutboxItem SpanItem(const std::string& trace, const std::string& body, bool keep = false) {
  return {OtlpSignal::kTraces, body, trace, keep};
}
OtlpOutboxItem LogItem(const std::string& body) { return {OtlpSignal::kLogs, body, "", false}; }

class OtlpOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> opened = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }
  OtlpOutboxEnqueued Enqueue(const std::vector<OtlpOutboxItem>& items, int64_t at) {
    Result<OtlpOutboxEnqueued> r = OtlpOutbox(*store_).Enqueue(items, at);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : OtlpOutboxEnqueued{};
  }
  std::vector<std::string> Ready(OtlpSignal signal, int64_t limit = 100) {
    Result<std::vector<OtlpOutboxRow>> rows = OtlpOutbox(*store_).Ready(signal, limit);
    EXPECT_TRUE(rows.ok()) << rows.status().message();
    std::vector<std::string> bodies;
    for (const OtlpOutboxRow& row : rows.ok() ? *rows : std::vector<OtlpOutboxRow>{}) bodies.push_back(row.body);
    return bodies;
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(OtlpOutboxTest, LogsAreReadyAtOnceOldestFirstWithBinaryBodiesIntact) {
  const std::string binary("\x0a\x00\xff\x12", 4);
  Enqueue({LogItem(binary), LogItem("second")}, kT0);
  EXPECT_EQ(Ready(OtlpSignal::kLogs), (std::vector<std::string>{binary, "second"}));
  EXPECT_TRUE(Ready(OtlpSignal::kTraces).empty());
  EXPECT_EQ(Ready(OtlpSignal::kLogs, 1).size(), 1u);
}

TEST_F(OtlpOutboxTest, SpansWaitUntilTheirTraceHasSettledAndIsDecided) {
  OtlpOutbox outbox(*store_);
  Enqueue({SpanItem(kTraceA, "a1"), SpanItem(kTraceB, "b1", /*keep=*/true)}, kT0);
  Enqueue({SpanItem(kTraceA, "a2")}, kT0 + 5 * kSecond);
  EXPECT_TRUE(Ready(OtlpSignal::kTraces).empty());
  // Settled before kT0 + 3 s: only B (A had a span at +5 s).
  Result<std::vector<SettledTrace>> settled = outbox.Settled(kT0 + 3 * kSecond, 100);
  ASSERT_TRUE(settled.ok());
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_EQ((*settled)[0].trace_id, kTraceB);
  EXPECT_TRUE((*settled)[0].keep);
  Result<int64_t> removed = outbox.Decide(kTraceB, true, kT0 + 3 * kSecond);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 0);
  EXPECT_EQ(Ready(OtlpSignal::kTraces), (std::vector<std::string>{"b1"}));
  // A settles later and is decided against: both its spans go, counted.
  settled = outbox.Settled(kT0 + 20 * kSecond, 100);
  ASSERT_TRUE(settled.ok());
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_FALSE((*settled)[0].keep);
  removed = outbox.Decide(kTraceA, false, kT0 + 20 * kSecond);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(Ready(OtlpSignal::kTraces), (std::vector<std::string>{"b1"}));
  settled = outbox.Settled(kT0 + 30 * kSecond, 100);
  ASSERT_TRUE(settled.ok());
  EXPECT_TRUE(settled->empty());
}

TEST_F(OtlpOutboxTest, ALateSpanFollowsItsTracesDecisionUntilTheDecisionIsForgotten) {
  OtlpOutbox outbox(*store_);
  Enqueue({SpanItem(kTraceA, "a1"), SpanItem(kTraceB, "b1")}, kT0);
  ASSERT_TRUE(outbox.Decide(kTraceA, true, kT0 + 10 * kSecond).ok());
  ASSERT_TRUE(outbox.Decide(kTraceB, false, kT0 + 10 * kSecond).ok());
  const OtlpOutboxEnqueued late = Enqueue({SpanItem(kTraceA, "a2"), SpanItem(kTraceB, "b2", true)}, kT0 + 60 * kSecond);
  EXPECT_EQ(late.items, 1);
  EXPECT_EQ(late.sampled_out, 1);
  EXPECT_EQ(Ready(OtlpSignal::kTraces), (std::vector<std::string>{"a1", "a2"}));
  // Forgotten: a span of B starts a new decision.
  ASSERT_TRUE(outbox.ForgetDecisions(kT0 + 11 * kSecond).ok());
  EXPECT_EQ(Enqueue({SpanItem(kTraceB, "b3")}, kT0 + 70 * kSecond).items, 1);
  Result<std::vector<SettledTrace>> settled = outbox.Settled(kT0 + 80 * kSecond, 100);
  ASSERT_TRUE(settled.ok());
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_EQ((*settled)[0].trace_id, kTraceB);
}

TEST_F(OtlpOutboxTest, TrimDropsTheTooOldAndTheOldestBeyondTheBoundCountedPerSignal) {
  OtlpOutbox outbox(*store_);
  Enqueue({LogItem("old log"), SpanItem(kTraceA, "old span")}, kT0);
  std::vector<OtlpOutboxItem> fresh;
  for (int i = 0; i < 5; ++i) fresh.push_back(LogItem("log " + std::to_string(i)));
  fresh.push_back({OtlpSignal::kMetrics, "point", "", false});
  Enqueue(fresh, kT0 + 100 * kSecond);
  Result<OtlpOutboxTrim> trim = outbox.Trim(/*max_items=*/4, /*min_enqueued_ns=*/kT0 + kSecond);
  ASSERT_TRUE(trim.ok()) << trim.status().message();
  EXPECT_EQ(trim->too_old, (OtlpSignalCounts{1, 1, 0}));
  EXPECT_EQ(trim->over_size, (OtlpSignalCounts{0, 2, 0}));
  EXPECT_EQ(Ready(OtlpSignal::kLogs), (std::vector<std::string>{"log 2", "log 3", "log 4"}));
  Result<OtlpOutboxState> state = outbox.State();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->items, (OtlpSignalCounts{0, 3, 1}));
  EXPECT_EQ(state->oldest_enqueued_ns[1], kT0 + 100 * kSecond);
  EXPECT_EQ(state->oldest_enqueued_ns[0], 0);
}

TEST_F(OtlpOutboxTest, RemoveTakesOutExactlyTheSentItems) {
  OtlpOutbox outbox(*store_);
  Enqueue({LogItem("a"), LogItem("b"), LogItem("c")}, kT0);
  Result<std::vector<OtlpOutboxRow>> rows = outbox.Ready(OtlpSignal::kLogs, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  ASSERT_TRUE(outbox.Remove({(*rows)[0].id, (*rows)[2].id}).ok());
  EXPECT_EQ(Ready(OtlpSignal::kLogs), (std::vector<std::string>{"b"}));
}

// What an ingest request enqueued inside its transaction and then rolled back is not queued.
TEST_F(OtlpOutboxTest, AnEnqueueRolledBackWithItsTransactionLeavesNothing) {
  Status s = InWriteTransaction(store_->db(), [&] {
    if (!OtlpOutbox(*store_).Enqueue({LogItem("a"), SpanItem(kTraceA, "s")}, kT0).ok()) return Status::Ok();
    return Status::IOError("the span insert failed");
  });
  EXPECT_FALSE(s.ok());
  Result<OtlpOutboxState> state = OtlpOutbox(*store_).State();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->items, (OtlpSignalCounts{0, 0, 0}));
  Result<std::vector<SettledTrace>> settled = OtlpOutbox(*store_).Settled(kT0 + 100 * kSecond, 10);
  ASSERT_TRUE(settled.ok());
  EXPECT_TRUE(settled->empty());
}

TEST_F(OtlpOutboxTest, ReadingReadyItemsAndSettledTracesAndKeepingATraceSeekTheirIndexes) {
  const auto plan = [&](const SqlQuery& q) {
    Result<std::vector<std::string>> lines = store_->ExplainQueryPlan(q);
    EXPECT_TRUE(lines.ok()) << lines.status().message();
    std::string all;
    for (const std::string& line : lines.ok() ? *lines : std::vector<std::string>{}) all += line + "\n";
    return all;
  };
  const std::string ready = plan(OtlpOutbox::ReadyQuery(OtlpSignal::kLogs, 10));
  EXPECT_NE(ready.find("otlp_outbox_ready"), std::string::npos) << ready;
  EXPECT_EQ(ready.find("TEMP B-TREE"), std::string::npos) << ready;
  const std::string settled = plan(OtlpOutbox::SettledQuery(kT0, 10));
  EXPECT_NE(settled.find("otlp_outbox_traces_waiting"), std::string::npos) << settled;
  EXPECT_EQ(settled.find("TEMP B-TREE"), std::string::npos) << settled;
  const std::string keep = plan(OtlpOutbox::KeepQuery(kTraceA));
  EXPECT_NE(keep.find("otlp_outbox_waiting"), std::string::npos) << keep;
}

}  // namespace store_otlp_outbox_test
}  // namespace mesh

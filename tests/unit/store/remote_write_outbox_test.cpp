#include "mesh/store/remote_write_outbox.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mesh/store/sqlite_db.h"
#include "test_support.h"

namespace mesh {
namespace store_remote_write_outbox_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

class RemoteWriteOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> opened = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }
  // n gauge samples g{i="k"} = k, enqueued at `at`, first value `first`.
  void Enqueue(int n, int64_t at, int first = 0) {
    MetricFamily f{"g", "", MetricType::kGauge, {}};
    for (int k = first; k < first + n; ++k) f.samples.push_back({"g", {{"i", std::to_string(k)}}, double(k), {}});
    Result<int64_t> r = RemoteWriteOutbox(*store_).Enqueue({f}, at);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, n);
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(RemoteWriteOutboxTest, GivesBackSamplesOldestFirstWithTheirTimestamps) {
  MetricFamily f{"mesh_requests_total", "", MetricType::kCounter,
                 {{"mesh_requests_total", {{"code", "200"}, {"service", "api"}}, 7, 1234},
                  {"mesh_requests_total", {{"code", "500"}, {"service", "api"}}, std::nan(""), {}}}};
  ASSERT_TRUE(RemoteWriteOutbox(*store_).Enqueue({f}, kT0).ok());
  Result<std::vector<OutboxSample>> got = RemoteWriteOutbox(*store_).Oldest(10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].sample.name, "mesh_requests_total");
  EXPECT_EQ((*got)[0].sample.labels, (Labels{{"code", "200"}, {"service", "api"}}));
  EXPECT_EQ((*got)[0].sample.value, 7);
  EXPECT_EQ((*got)[0].sample.timestamp_ms, 1234);
  // A sample pushed without a timestamp is sent at its storing time, NaN kept.
  EXPECT_EQ((*got)[1].sample.timestamp_ms, kT0 / 1'000'000);
  EXPECT_TRUE(std::isnan((*got)[1].sample.value));
  EXPECT_LT((*got)[0].id, (*got)[1].id);
}

TEST_F(RemoteWriteOutboxTest, RemoveThroughLeavesOnlyLaterSamples) {
  Enqueue(5, kT0);
  Result<std::vector<OutboxSample>> first = RemoteWriteOutbox(*store_).Oldest(3);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(RemoteWriteOutbox(*store_).RemoveThrough(first->back().id).ok());
  Result<std::vector<OutboxSample>> rest = RemoteWriteOutbox(*store_).Oldest(10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].sample.value, 3);
  EXPECT_EQ((*rest)[1].sample.value, 4);
  Result<OutboxState> state = RemoteWriteOutbox(*store_).State();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->samples, 2);
}

TEST_F(RemoteWriteOutboxTest, StateOfAnEmptyOutboxIsZero) {
  Result<OutboxState> state = RemoteWriteOutbox(*store_).State();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->samples, 0);
  EXPECT_EQ(state->oldest_enqueued_ns, 0);
}

TEST_F(RemoteWriteOutboxTest, TrimDropsTheOldestBeyondTheSizeBoundAndCountsThem) {
  Enqueue(10, kT0);
  Result<OutboxTrim> trim = RemoteWriteOutbox(*store_).Trim(4, 0);
  ASSERT_TRUE(trim.ok());
  EXPECT_EQ(trim->over_size, 6);
  EXPECT_EQ(trim->too_old, 0);
  Result<std::vector<OutboxSample>> kept = RemoteWriteOutbox(*store_).Oldest(100);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 4u);
  EXPECT_EQ(kept->front().sample.value, 6);  // the newest four stay
  EXPECT_EQ(RemoteWriteOutbox(*store_).State()->samples, 4);
}

TEST_F(RemoteWriteOutboxTest, TrimDropsSamplesQueuedBeforeTheAgeBound) {
  Enqueue(3, kT0);
  Enqueue(2, kT0 + 3600 * kSecond, 3);
  Result<OutboxTrim> trim = RemoteWriteOutbox(*store_).Trim(1000, kT0 + 60 * kSecond);
  ASSERT_TRUE(trim.ok());
  EXPECT_EQ(trim->too_old, 3);
  EXPECT_EQ(trim->over_size, 0);
  Result<OutboxState> state = RemoteWriteOutbox(*store_).State();
  EXPECT_EQ(state->samples, 2);
  EXPECT_EQ(state->oldest_enqueued_ns, kT0 + 3600 * kSecond);
}

TEST_F(RemoteWriteOutboxTest, TrimWithinBoundsDropsNothing) {
  Enqueue(5, kT0);
  Result<OutboxTrim> trim = RemoteWriteOutbox(*store_).Trim(5, kT0);
  ASSERT_TRUE(trim.ok());
  EXPECT_EQ(trim->too_old + trim->over_size, 0);
  EXPECT_EQ(RemoteWriteOutbox(*store_).State()->samples, 5);
}

// A rolled-back transaction (a push refused, a job failed) leaves nothing queued.
TEST_F(RemoteWriteOutboxTest, EnqueueRollsBackWithItsTransaction) {
  ASSERT_TRUE(store_->db().Exec("BEGIN").ok());
  Enqueue(3, kT0);
  ASSERT_TRUE(store_->db().Exec("ROLLBACK").ok());
  EXPECT_EQ(RemoteWriteOutbox(*store_).State()->samples, 0);
  Enqueue(2, kT0);
  EXPECT_EQ(RemoteWriteOutbox(*store_).State()->samples, 2);
}

}  // namespace store_remote_write_outbox_test
}  // namespace mesh

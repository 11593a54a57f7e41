#include "mesh/store/store_info.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mesh/store/metric_store.h"
#include "test_support.h"

namespace mesh {
namespace store_store_info_test {

class StoreInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> s = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreInfoTest, SizeIsThePagesInUse) {
  Result<int64_t> empty = StoreSizeBytes(*store_);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_GT(*empty, 0);  // the schema
  MetricFamily f{"m", "", MetricType::kGauge, {}};
  for (int i = 0; i < 2000; ++i)
    f.samples.push_back({"m", {{"service", "s" + std::to_string(i)}}, 1.0, i});
  ASSERT_TRUE(MetricStore(*store_).InsertRows({f}, 0).ok());
  Result<int64_t> grown = StoreSizeBytes(*store_);
  ASSERT_TRUE(grown.ok());
  EXPECT_GT(*grown, *empty);
}

TEST_F(StoreInfoTest, ServicesWithMetricsAreDistinctSortedAndNamed) {
  Result<std::vector<std::string>> none = ServicesWithMetrics(*store_);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());
  MetricFamily f{"mesh_requests_total", "", MetricType::kCounter, {}};
  f.samples.push_back({"mesh_requests_total", {{"service", "web"}}, 1, 1});
  f.samples.push_back({"mesh_requests_total", {{"code", "500"}, {"service", "api"}}, 1, 1});
  f.samples.push_back({"mesh_requests_total", {{"code", "200"}, {"service", "api"}}, 1, 1});
  f.samples.push_back({"mesh_requests_total", {{"instance", "no-service"}}, 1, 1});
  ASSERT_TRUE(MetricStore(*store_).InsertRows({f}, 0).ok());
  Result<std::vector<std::string>> services = ServicesWithMetrics(*store_);
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(*services, (std::vector<std::string>{"api", "web"}));
}

}  // namespace
}  // namespace mesh

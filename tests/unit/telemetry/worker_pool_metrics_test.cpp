#include "mesh/telemetry/worker_pool_metrics.h"

#include <gtest/gtest.h>

namespace mesh {
namespace telemetry_worker_pool_metrics_test {

TEST(WorkerPoolMetrics, ExportsConnectionsPoolSizesAndBusySecondsLabelledByListenerAndPool) {
  const std::vector<MetricFamily> families = ServerUsageFamilies(
      {{"api", 12}, {"otlp_grpc", 3}},
      {{"http_handlers", 4, 2'500'000'000}, {"otlp_grpc_handlers", 4, 0}});
  ASSERT_EQ(families.size(), 3u);
  EXPECT_EQ(families[0].name, "mesh_client_connections");
  EXPECT_EQ(families[0].type, MetricType::kGauge);
  ASSERT_EQ(families[0].samples.size(), 2u);
  EXPECT_EQ(families[0].samples[1].labels, (Labels{{"listener", "otlp_grpc"}}));
  EXPECT_EQ(families[0].samples[1].value, 3);
  EXPECT_EQ(families[1].name, "mesh_workers");
  EXPECT_EQ(families[1].type, MetricType::kGauge);
  EXPECT_EQ(families[1].samples[0].labels, (Labels{{"pool", "http_handlers"}}));
  EXPECT_EQ(families[1].samples[0].value, 4);
  EXPECT_EQ(families[2].name, "mesh_worker_busy_seconds_total");
  EXPECT_EQ(families[2].type, MetricType::kCounter);
  EXPECT_DOUBLE_EQ(families[2].samples[0].value, 2.5);  // nanoseconds become seconds
  EXPECT_EQ(families[2].samples[1].value, 0);
}

TEST(WorkerPoolMetrics, LeavesOutFamiliesWithoutSamples) {
  EXPECT_TRUE(ServerUsageFamilies({}, {}).empty());
  const std::vector<MetricFamily> only_connections = ServerUsageFamilies({{"api", 0}}, {});
  ASSERT_EQ(only_connections.size(), 1u);
  EXPECT_EQ(only_connections[0].name, "mesh_client_connections");
}

}  // namespace telemetry_worker_pool_metrics_test
}  // namespace mesh

#include "mesh/sdk/metrics_pusher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "in_process_meshd.h"
#include "test_support.h"

namespace mesh {
namespace sdk_metrics_pusher_test {

using ::testing::HasSubstr;

class MetricsPusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Family<Counter>* jobs = *registry_.AddCounter("jobs_total", "Jobs done");
    counter_ = *jobs->WithLabels({});
  }
  MetricsRegistry registry_;
  Counter* counter_ = nullptr;
  testing::TempDir dir_;
};

TEST_F(MetricsPusherTest, PushesOnItsIntervalAndOnceMoreWhenStopped) {
  testing::InProcessMeshd meshd(dir_.File("mesh.db"));
  MetricsPusher pusher(registry_, {.meshd = meshd.url(), .service = "worker", .instance = "w1",
                                   .interval = std::chrono::milliseconds(100)});
  ASSERT_TRUE(pusher.Start().ok());
  counter_->Inc(3);
  for (int i = 0; i < 100 && pusher.pushed() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(pusher.pushed(), 2);
  counter_->Inc(4);
  pusher.Stop();
  EXPECT_EQ(pusher.failed(), 0);
  const std::string exposed = meshd.Request("GET", "/metrics").body;
  EXPECT_THAT(exposed, HasSubstr("jobs_total{instance=\"w1\",service=\"worker\"} 7"));
}

TEST_F(MetricsPusherTest, AnUnreachableMeshdIsCountedAndNeverThrown) {
  MetricsPusher pusher(registry_, {.meshd = "http://127.0.0.1:1", .service = "worker",
                                   .interval = std::chrono::milliseconds(100)});
  Status s = pusher.PushOnce();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(pusher.failed(), 1);
  ASSERT_TRUE(pusher.Start().ok());
  pusher.Stop();
  EXPECT_GE(pusher.failed(), 2);
}

TEST_F(MetricsPusherTest, RejectsBadOptions) {
  EXPECT_EQ(MetricsPusher(registry_, {.meshd = "127.0.0.1:9000", .service = "w"}).Start().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(MetricsPusher(registry_, {.meshd = "http://127.0.0.1:9000", .service = ""}).Start().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(MetricsPusher(registry_, {.meshd = "http://127.0.0.1:9000", .service = "w",
                                      .interval = std::chrono::milliseconds(10)})
                .Start()
                .code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace mesh

#include "mesh/proxy/config_reload.h"

#include <gtest/gtest.h>

namespace mesh {
namespace proxy_config_reload_test {

ProxyConfig Running() {
  ProxyConfig c;
  c.service = "orders";
  c.service_port = 8081;
  c.meshd = "http://127.0.0.1:9000";
  return c;
}

TEST(ConfigReload, TheSameConfigurationChangesNothing) {
  const ConfigReview review = ReviewReloadedConfig(Running(), Running());
  EXPECT_TRUE(review.refused.ok());
  EXPECT_TRUE(review.changed.empty());
}

TEST(ConfigReload, NamesEachSettingThatDiffers) {
  ProxyConfig next = Running();
  next.timeout = std::chrono::milliseconds(2500);
  next.access_log_sample = 0.5;
  next.listen = "127.0.0.1:16001";
  const ConfigReview review = ReviewReloadedConfig(Running(), next);
  EXPECT_TRUE(review.refused.ok());
  EXPECT_EQ(review.changed, (std::vector<std::string>{"listen", "timeout", "access_log_sample"}));
}

TEST(ConfigReload, RefusesAFileThatCouldNotBeRead) {
  const ConfigReview review =
      ReviewReloadedConfig(Running(), Result<ProxyConfig>(Status::InvalidArgument("cannot read /etc/mesh/p.json")));
  EXPECT_FALSE(review.refused.ok());
  EXPECT_EQ(review.refused.message(), "cannot read /etc/mesh/p.json");
  EXPECT_TRUE(review.changed.empty());
}

TEST(ConfigReload, RefusesAnInvalidConfigurationWithItsReason) {
  ProxyConfig next = Running();
  next.threads = 100000;
  next.timeout = std::chrono::milliseconds(0);
  const ConfigReview review = ReviewReloadedConfig(Running(), next);
  EXPECT_FALSE(review.refused.ok());
  EXPECT_FALSE(review.refused.message().empty());
  EXPECT_TRUE(review.changed.empty()) << "a refused file reports no change: nothing of it is kept";
}

TEST(ConfigReload, RefusesAFileThatLostTheServiceName) {
  ProxyConfig next = Running();
  next.service.clear();
  EXPECT_FALSE(ReviewReloadedConfig(Running(), next).refused.ok());
}

}  // namespace
}  // namespace mesh

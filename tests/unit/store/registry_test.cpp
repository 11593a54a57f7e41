#include "mesh/store/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace store_registry_test {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

Instance MakeInstance(std::string id, std::string service, int port, int64_t heartbeat_ns,
                      int64_t ttl_ns = 10 * kSecond) {
  Instance i;
  i.id = std::move(id);
  i.service = std::move(service);
  i.host = "10.0.0.1";
  i.port = port;
  i.meta = R"({"version":"1.2.3"})";
  i.registered_ns = heartbeat_ns;
  i.heartbeat_ns = heartbeat_ns;
  i.ttl_ns = ttl_ns;
  return i;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    registry_ = std::make_unique<Registry>(*store_);
  }

  std::vector<Instance> All() {
    Result<std::vector<Instance>> all = registry_->Instances("");
    EXPECT_TRUE(all.ok()) << all.status().message();
    return all.ok() ? *all : std::vector<Instance>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, UpsertStoresEveryField) {
  ASSERT_TRUE(registry_->Upsert(MakeInstance("api-1", "api", 8080, kT0)).ok());
  const std::vector<Instance> all = All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, "api-1");
  EXPECT_EQ(all[0].service, "api");
  EXPECT_EQ(all[0].host, "10.0.0.1");
  EXPECT_EQ(all[0].port, 8080);
  EXPECT_EQ(all[0].meta, R"({"version":"1.2.3"})");
  EXPECT_EQ(all[0].registered_ns, kT0);
  EXPECT_EQ(all[0].heartbeat_ns, kT0);
  EXPECT_EQ(all[0].ttl_ns, 10 * kSecond);
}

TEST_F(RegistryTest, UpsertIsIdempotentById) {
  const Instance i = MakeInstance("api-1", "api", 8080, kT0);
  ASSERT_TRUE(registry_->Upsert(i).ok());
  ASSERT_TRUE(registry_->Upsert(i).ok());
  ASSERT_TRUE(registry_->Upsert(i).ok());
  EXPECT_EQ(All().size(), 1u);
}

TEST_F(RegistryTest, UpsertOfAKnownIdRefreshesItButKeepsRegistrationTime) {
  ASSERT_TRUE(registry_->Upsert(MakeInstance("api-1", "api", 8080, kT0)).ok());
  Instance moved = MakeInstance("api-1", "api", 9090, kT0 + 5 * kSecond, 30 * kSecond);
  moved.host = "10.0.0.2";
  moved.meta = "";
  ASSERT_TRUE(registry_->Upsert(moved).ok());
  const std::vector<Instance> all = All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].host, "10.0.0.2");
  EXPECT_EQ(all[0].port, 9090);
  EXPECT_EQ(all[0].meta, "");
  EXPECT_EQ(all[0].heartbeat_ns, kT0 + 5 * kSecond);
  EXPECT_EQ(all[0].ttl_ns, 30 * kSecond);
  EXPECT_EQ(all[0].registered_ns, kT0);
}

TEST_F(RegistryTest, HeartbeatMovesTheHeartbeatTime) {
  ASSERT_TRUE(registry_->Upsert(MakeInstance("api-1", "api", 8080, kT0)).ok());
  ASSERT_TRUE(registry_->Heartbeat("api-1", kT0 + 7 * kSecond).ok());
  EXPECT_EQ(All()[0].heartbeat_ns, kT0 + 7 * kSecond);
  // The same time again still finds the instance.
  EXPECT_TRUE(registry_->Heartbeat("api-1", kT0 + 7 * kSecond).ok());
}

TEST_F(RegistryTest, HeartbeatOfAnUnknownIdIsNotFound) {
  ASSERT_TRUE(registry_->Upsert(MakeInstance("api-1", "api", 8080, kT0)).ok());
  const Status s = registry_->Heartbeat("api-2", kT0);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("api-2"));
  EXPECT_THAT(s.message(), HasSubstr("register it again"));
  EXPECT_EQ(All()[0].heartbeat_ns, kT0);
}

TEST_F(RegistryTest, RemoveDeletesAndUnknownIsNotFound) {
  ASSERT_TRUE(registry_->Upsert(MakeInstance("api-1", "api", 8080, kT0)).ok());
  EXPECT_TRUE(registry_->Remove("api-1").ok());
  EXPECT_TRUE(All().empty());
  EXPECT_EQ(registry_->Remove("api-1").code(), Status::Code::kNotFound);
}

TEST_F(RegistryTest, InstancesFiltersByServiceAndOrders) {
  ASSERT_TRUE(registry_->Upsert(MakeInstance("w2", "web", 2, kT0)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("a1", "api", 9, kT0)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("w1", "web", 1, kT0)).ok());
  Result<std::vector<Instance>> web = registry_->Instances("web");
  ASSERT_TRUE(web.ok());
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ((*web)[0].id, "w1");  // by service, host, port
  EXPECT_EQ((*web)[1].id, "w2");
  const std::vector<Instance> all = All();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "a1");
  Result<std::vector<Instance>> none = registry_->Instances("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(RegistryTest, SurvivesReopeningTheStore) {
  ASSERT_TRUE(registry_->Upsert(MakeInstance("api-1", "api", 8080, kT0)).ok());
  registry_.reset();
  store_.reset();
  Result<std::unique_ptr<Store>> reopened = Store::Open({.path = dir_.File("mesh.db")});
  ASSERT_TRUE(reopened.ok());
  Registry registry(**reopened);
  Result<std::vector<Instance>> all = registry.Instances("api");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].port, 8080);
}

}  // namespace
}  // namespace mesh

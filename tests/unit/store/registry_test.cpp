#include "mesh/store/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace {

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

TEST_F(RegistryTest, SweepRemovesOnlyInstancesSilentForThreeTtls) {
  const int64_t ttl = 10 * kSecond;
  const int64_t now = kT0 + 100 * kSecond;
  ASSERT_TRUE(registry_->Upsert(MakeInstance("fresh", "api", 1, now - kSecond, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("unhealthy", "api", 2, now - 2 * ttl, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("edge", "api", 3, now - 3 * ttl, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("gone", "api", 4, now - 3 * ttl - 1, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("long-gone", "web", 5, kT0, ttl)).ok());
  // A long TTL keeps an instance silent for a long time.
  ASSERT_TRUE(registry_->Upsert(MakeInstance("patient", "web", 6, kT0, 60 * kSecond)).ok());

  Result<int64_t> swept = registry_->Sweep(now);
  ASSERT_TRUE(swept.ok()) << swept.status().message();
  EXPECT_EQ(*swept, 2);
  std::vector<std::string> ids;
  for (const Instance& i : All()) ids.push_back(i.id);
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre("fresh", "unhealthy", "edge", "patient"));

  Result<int64_t> again = registry_->Sweep(now);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
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

TEST_F(RegistryTest, ServicesCountInstancesAndHealthyOnes) {
  const int64_t now = kT0 + 60 * kSecond;
  const int64_t ttl = 10 * kSecond;
  ASSERT_TRUE(registry_->Upsert(MakeInstance("a1", "api", 1, now - kSecond, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("a2", "api", 2, now - ttl, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("a3", "api", 3, now - ttl - 1, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("w1", "web", 1, now - 50 * kSecond, ttl)).ok());
  Result<std::vector<ServiceSummary>> services = registry_->Services(now);
  ASSERT_TRUE(services.ok()) << services.status().message();
  ASSERT_EQ(services->size(), 2u);
  EXPECT_EQ((*services)[0].name, "api");
  EXPECT_EQ((*services)[0].instances, 3);
  EXPECT_EQ((*services)[0].healthy, 2);
  EXPECT_EQ((*services)[1].name, "web");
  EXPECT_EQ((*services)[1].instances, 1);
  EXPECT_EQ((*services)[1].healthy, 0);

  // Health is computed at read time: a heartbeat makes the web instance healthy again.
  ASSERT_TRUE(registry_->Heartbeat("w1", now).ok());
  services = registry_->Services(now);
  ASSERT_TRUE(services.ok());
  EXPECT_EQ((*services)[1].healthy, 1);
}

TEST_F(RegistryTest, AfterARestartInstancesGetOneTtlToHeartbeatBeforeBeingJudged) {
  // Every heartbeat is 40 s old when meshd comes back: the outage, not the instances, says so.
  const int64_t ttl = 10 * kSecond;
  const int64_t up_since = kT0 + 40 * kSecond;
  ASSERT_TRUE(registry_->Upsert(MakeInstance("a1", "api", 1, kT0, ttl)).ok());
  ASSERT_TRUE(registry_->Upsert(MakeInstance("a2", "api", 2, kT0, ttl)).ok());
  Registry restarted(*store_, up_since);

  Result<std::vector<ServiceSummary>> services = restarted.Services(up_since + kSecond);
  ASSERT_TRUE(services.ok()) << services.status().message();
  EXPECT_EQ((*services)[0].healthy, 2);
  Result<int64_t> swept = restarted.Sweep(up_since + kSecond);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 0);
  // Without the start, the same rows would have been judged unhealthy at once.
  services = registry_->Services(up_since + kSecond);
  ASSERT_TRUE(services.ok());
  EXPECT_EQ((*services)[0].healthy, 0);

  // a1 heartbeats again; a2 really died during the outage: one TTL later it is unhealthy,
  // three TTLs later it is swept, as if its last heartbeat had been meshd's start.
  ASSERT_TRUE(restarted.Heartbeat("a1", up_since + 5 * kSecond).ok());
  services = restarted.Services(up_since + ttl + 1);
  ASSERT_TRUE(services.ok());
  EXPECT_EQ((*services)[0].healthy, 1);
  swept = restarted.Sweep(up_since + 3 * ttl + 1);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1);
}

TEST_F(RegistryTest, ServicesOfAnEmptyRegistryIsEmpty) {
  Result<std::vector<ServiceSummary>> services = registry_->Services(kT0);
  ASSERT_TRUE(services.ok());
  EXPECT_TRUE(services->empty());
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

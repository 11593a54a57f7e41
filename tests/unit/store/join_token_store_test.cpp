#include "mesh/store/join_token_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "test_support.h"

namespace mesh {
namespace store_join_token_store_test {

constexpr int64_t kT0 = 1'760'000'000LL * 1'000'000'000;

class JoinTokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
  }
  JoinTokenRecord Record(const std::string& id, int64_t uses = JoinTokenRecord::kUnlimitedUses) {
    return {id, "orders", std::string(64, 'f'), kT0, kT0 + 3600'000'000'000, uses, 0, 0};
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(JoinTokenStoreTest, KeepsWhatWasAddedAndRefusesATakenId) {
  JoinTokenStore tokens(*store_);
  ASSERT_TRUE(tokens.Add(Record("aaaaaa")).ok());
  EXPECT_EQ(tokens.Add(Record("aaaaaa")).code(), Status::Code::kInvalidArgument);
  Result<std::optional<JoinTokenRecord>> found = tokens.Find("aaaaaa");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->service, "orders");
  EXPECT_EQ((*found)->expires_ns, kT0 + 3600'000'000'000);
  EXPECT_FALSE(tokens.Find("bbbbbb")->has_value());
}

TEST_F(JoinTokenStoreTest, RevokeKeepsTheFirstTimeAndAnUnknownIdIsNotFound) {
  JoinTokenStore tokens(*store_);
  ASSERT_TRUE(tokens.Add(Record("aaaaaa")).ok());
  ASSERT_TRUE(tokens.Revoke("aaaaaa", kT0 + 1).ok());
  ASSERT_TRUE(tokens.Revoke("aaaaaa", kT0 + 2).ok());
  EXPECT_EQ((*tokens.Find("aaaaaa"))->revoked_ns, kT0 + 1);
  EXPECT_EQ((*tokens.Find("aaaaaa"))->RefusalAt(kT0), "revoked");
  EXPECT_EQ(tokens.Revoke("zzzzzz", kT0).code(), Status::Code::kNotFound);
  EXPECT_EQ(tokens.RecordUse("aaaaaa", kT0, false).code(), Status::Code::kInvalidArgument);
}

TEST_F(JoinTokenStoreTest, UsesAreSpentOneAtATimeAndNeverBelowZero) {
  JoinTokenStore tokens(*store_);
  ASSERT_TRUE(tokens.Add(Record("aaaaaa", 2)).ok());
  ASSERT_TRUE(tokens.RecordUse("aaaaaa", kT0 + 5, false).ok());  // registering spends nothing
  EXPECT_EQ((*tokens.Find("aaaaaa"))->uses_left, 2);
  EXPECT_EQ((*tokens.Find("aaaaaa"))->last_used_ns, kT0 + 5);
  ASSERT_TRUE(tokens.RecordUse("aaaaaa", kT0 + 6, true).ok());
  ASSERT_TRUE(tokens.RecordUse("aaaaaa", kT0 + 7, true).ok());
  EXPECT_EQ(tokens.RecordUse("aaaaaa", kT0 + 8, true).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*tokens.Find("aaaaaa"))->uses_left, 0);
  EXPECT_EQ((*tokens.Find("aaaaaa"))->RefusalAt(kT0), "used_up");
  EXPECT_EQ(tokens.RecordUse("zzzzzz", kT0, true).code(), Status::Code::kNotFound);
  // Unlimited stays unlimited.
  ASSERT_TRUE(tokens.Add(Record("bbbbbb")).ok());
  ASSERT_TRUE(tokens.RecordUse("bbbbbb", kT0, true).ok());
  EXPECT_EQ((*tokens.Find("bbbbbb"))->uses_left, JoinTokenRecord::kUnlimitedUses);
}

TEST_F(JoinTokenStoreTest, ExpiryIsDecidedByTheRecord) {
  JoinTokenRecord r = Record("aaaaaa");
  EXPECT_EQ(r.RefusalAt(r.expires_ns - 1), "");
  EXPECT_EQ(r.RefusalAt(r.expires_ns), "expired");
  r.expires_ns = 0;
  EXPECT_EQ(r.RefusalAt(INT64_MAX), "");
}

TEST_F(JoinTokenStoreTest, ListsNewestFirst) {
  JoinTokenStore tokens(*store_);
  JoinTokenRecord older = Record("aaaaaa");
  JoinTokenRecord newer = Record("bbbbbb");
  newer.created_ns = kT0 + 1;
  ASSERT_TRUE(tokens.Add(older).ok());
  ASSERT_TRUE(tokens.Add(newer).ok());
  Result<std::vector<JoinTokenRecord>> all = tokens.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "bbbbbb");
}

}  // namespace
}  // namespace mesh

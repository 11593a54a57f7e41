#include "mesh/base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace mesh {
namespace base_status_test {

TEST(Status, DefaultIsOkAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(Status, EachFactoryCarriesItsCodeAndMessage) {
  const struct {
    Status status;
    Status::Code code;
  } cases[] = {
      {Status::InvalidArgument("bad flag"), Status::Code::kInvalidArgument},
      {Status::NotFound("bad flag"), Status::Code::kNotFound},
      {Status::IOError("bad flag"), Status::Code::kIOError},
      {Status::Corruption("bad flag"), Status::Code::kCorruption},
      {Status::Unsupported("bad flag"), Status::Code::kUnsupported},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "bad flag");
    EXPECT_EQ(c.status.ToString(), "bad flag");  // no code prefix: callers add the tool name
  }
}

TEST(Status, WithContextPrefixesTheMessageAndKeepsTheCode) {
  const Status s = Status::IOError("permission denied").WithContext("cannot open /x/mesh.db");
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), "cannot open /x/mesh.db: permission denied");
}

TEST(Status, WithContextLeavesOkUntouched) {
  const Status s = Status::Ok().WithContext("context");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(Result, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
  *r = 7;
  EXPECT_EQ(r.value(), 7);
}

TEST(Result, HoldsAnError) {
  Result<std::string> r = Status::NotFound("no trace 4bf9");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no trace 4bf9");
}

TEST(Result, ArrowReachesTheValue) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
}

TEST(Result, MovesOutAMoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

}  // namespace
}  // namespace mesh

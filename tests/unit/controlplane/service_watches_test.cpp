// ServiceWatches: parked discovery long-polls are answered when their service's version moves
// (with one answer built per service), or with their 304 when their wait ends; abandoned ones
// are forgotten, the cap refuses more, Stop answers all.
#include "mesh/controlplane/service_watches.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "test_support.h"

namespace mesh {
namespace controlplane_service_watches_test {

constexpr int64_t kSecond = 1'000'000'000;

// A parked request as the server would hold it: what it was answered, if anything.
struct Client {
  std::shared_ptr<DeferredResponse> deferred = std::make_shared<DeferredResponse>();
  std::optional<HttpResponse> answer;
  Client() {
    deferred->OnComplete([this](HttpResponse r) { answer = std::move(r); });
  }
};

HttpResponse Unchanged() { return HttpResponse::Json(304, ""); }

class ServiceWatchesTest : public ::testing::Test {
 protected:
  void Tick() {
    watches_.Tick([this](const std::string& s) { return versions_[s]; },
                  [this](const std::string& s) {
                    ++answers_built_[s];
                    return HttpResponse::Json(200, "{\"name\":\"" + s + "\",\"version\":" + std::to_string(versions_[s]) + "}");
                  });
  }
  ::mesh::testing::FakeClock clock_{1000 * kSecond};
  ServiceWatches watches_{clock_, 3, kSecond / 2};
  std::map<std::string, int64_t> versions_{{"api", 1}, {"db", 7}};
  std::map<std::string, int> answers_built_;
};

TEST_F(ServiceWatchesTest, NothingIsAnsweredWhileTheVersionStandsAndTheWaitLasts) {
  Client c;
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, c.deferred, Unchanged()));
  clock_.Advance(29 * kSecond);
  Tick();
  EXPECT_FALSE(c.answer);
  EXPECT_EQ(watches_.parked(), 1u);
}

TEST_F(ServiceWatchesTest, AVersionChangeAnswersEveryWatcherOfThatServiceWithOneAnswerBuilt) {
  Client a1, a2, d;
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, a1.deferred, Unchanged()));
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, a2.deferred, Unchanged()));
  ASSERT_TRUE(watches_.Park("db", 7, 30 * kSecond, d.deferred, Unchanged()));
  versions_["api"] = 2;
  Tick();
  ASSERT_TRUE(a1.answer && a2.answer);
  EXPECT_EQ(a1.answer->status, 200);
  EXPECT_EQ(a1.answer->body, "{\"name\":\"api\",\"version\":2}");
  EXPECT_EQ(a2.answer->body, a1.answer->body);
  EXPECT_EQ(answers_built_["api"], 1) << "one store read per service and tick, not per watcher";
  EXPECT_FALSE(d.answer) << "a watcher of an unchanged service was woken";
  EXPECT_EQ(watches_.parked(), 1u);
}

TEST_F(ServiceWatchesTest, AServiceKeepsChangingItsWatchersAreWokenAtMostOncePerGap) {
  Client first, again;
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, first.deferred, Unchanged()));
  versions_["api"] = 2;
  Tick();
  ASSERT_TRUE(first.answer);
  // Back at once with version 2, while the fleet goes on registering.
  ASSERT_TRUE(watches_.Park("api", 2, 30 * kSecond, again.deferred, Unchanged()));
  versions_["api"] = 3;
  clock_.Advance(kSecond / 10);
  Tick();
  EXPECT_FALSE(again.answer) << "woken twice within the gap";
  clock_.Advance(kSecond / 2);
  Tick();
  ASSERT_TRUE(again.answer) << "the change after the gap was never answered";
  EXPECT_EQ(again.answer->body, "{\"name\":\"api\",\"version\":3}");
}

TEST_F(ServiceWatchesTest, AWatcherHoldingAnOlderVersionIsAnsweredAtTheFirstTick) {
  Client c;
  ASSERT_TRUE(watches_.Park("api", 0, 30 * kSecond, c.deferred, Unchanged()));  // changed meanwhile
  Tick();
  ASSERT_TRUE(c.answer);
  EXPECT_EQ(c.answer->status, 200);
}

TEST_F(ServiceWatchesTest, TheEndOfTheWaitAnswersTheUnchangedAnswer) {
  Client c;
  HttpResponse unchanged = Unchanged();
  unchanged.headers.emplace_back("ETag", "W/\"1-1\"");
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, c.deferred, unchanged));
  clock_.Advance(30 * kSecond);
  Tick();
  ASSERT_TRUE(c.answer);
  EXPECT_EQ(c.answer->status, 304);
  EXPECT_EQ(c.answer->headers, unchanged.headers);
  EXPECT_EQ(answers_built_["api"], 0);
  EXPECT_EQ(watches_.parked(), 0u);
}

TEST_F(ServiceWatchesTest, AnAbandonedWatcherIsForgottenAndFreesItsPlace) {
  Client a, b, c, d;
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, a.deferred, Unchanged()));
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, b.deferred, Unchanged()));
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, c.deferred, Unchanged()));
  EXPECT_FALSE(watches_.Park("api", 1, 30 * kSecond, d.deferred, Unchanged())) << "past the cap of 3";
  a.deferred->Abandon();  // its client left
  Tick();
  EXPECT_EQ(watches_.parked(), 2u);
  EXPECT_TRUE(watches_.Park("api", 1, 30 * kSecond, d.deferred, Unchanged()));
}

TEST_F(ServiceWatchesTest, StopAnswersEveryWatcherAndParksNoMore) {
  Client a, b;
  ASSERT_TRUE(watches_.Park("api", 1, 30 * kSecond, a.deferred, Unchanged()));
  watches_.Stop();
  ASSERT_TRUE(a.answer);
  EXPECT_EQ(a.answer->status, 304);
  EXPECT_FALSE(watches_.Park("api", 1, 30 * kSecond, b.deferred, Unchanged()));
  EXPECT_EQ(watches_.parked(), 0u);
}

}  // namespace controlplane_service_watches_test
}  // namespace mesh

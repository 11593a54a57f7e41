#include "mesh/base/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mesh {
namespace base_bounded_queue_test {

TEST(BoundedQueue, PopsInPushOrder) {
  BoundedQueue<std::string> q(4);
  EXPECT_TRUE(q.TryPush("a"));
  EXPECT_TRUE(q.TryPush("b"));
  EXPECT_EQ(q.TryPop(), "a");
  EXPECT_EQ(q.TryPop(), "b");
  EXPECT_EQ(q.TryPop(), std::nullopt);
}

TEST(BoundedQueue, SizeCountsWhatWaitsUpToCapacity) {
  BoundedQueue<int> q(4);
  EXPECT_EQ(q.SizeApprox(), 0u);
  for (int i = 0; i < 5; ++i) q.TryPush(int{i});  // the fifth is refused
  EXPECT_EQ(q.SizeApprox(), 4u);
  q.TryPop();
  EXPECT_EQ(q.SizeApprox(), 3u);
  while (q.TryPop()) {
  }
  EXPECT_EQ(q.SizeApprox(), 0u);
}

TEST(BoundedQueue, APushIntoAFullQueueFailsAndKeepsTheValue) {
  BoundedQueue<std::string> q(2);
  EXPECT_EQ(q.capacity(), 2u);
  EXPECT_TRUE(q.TryPush("1"));
  EXPECT_TRUE(q.TryPush("2"));
  std::string third = "3";
  EXPECT_FALSE(q.TryPush(std::move(third)));
  EXPECT_EQ(third, "3");
  EXPECT_EQ(q.TryPop(), "1");
  EXPECT_TRUE(q.TryPush(std::move(third)));
  EXPECT_EQ(q.TryPop(), "2");
  EXPECT_EQ(q.TryPop(), "3");
}

// Counts the live instances, so that a test can see every value destroyed exactly once.
struct Tracked {
  static inline int live = 0;
  std::string payload;
  explicit Tracked(std::string p) : payload(std::move(p)) { ++live; }
  Tracked(Tracked&& other) noexcept : payload(std::move(other.payload)) { ++live; }
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { --live; }
};

TEST(BoundedQueue, DestroysPoppedValuesAndTheOnesLeftInside) {
  {
    BoundedQueue<Tracked> queue(8);
    EXPECT_EQ(Tracked::live, 0);  // no value exists before a push
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.TryPush(Tracked("a value too long for small-string storage")));
    EXPECT_EQ(Tracked::live, 5);
    {
      std::optional<Tracked> first = queue.TryPop();
      ASSERT_TRUE(first.has_value());
      EXPECT_EQ(first->payload, "a value too long for small-string storage");
      EXPECT_EQ(Tracked::live, 5);  // four inside, one popped
    }
    EXPECT_EQ(Tracked::live, 4);
  }
  EXPECT_EQ(Tracked::live, 0);
}

TEST(BoundedQueue, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(BoundedQueue<int>(0).capacity(), 2u);
  EXPECT_EQ(BoundedQueue<int>(5).capacity(), 8u);
  EXPECT_EQ(BoundedQueue<int>(1024).capacity(), 1024u);
}

TEST(BoundedQueue, FourProducersAndTwoConsumersLoseAndDuplicateNothing) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 50000;
  BoundedQueue<int> q(1024);
  std::atomic<int> producers_done{0};
  std::vector<std::atomic<int>> seen(kProducers * kPerProducer);
  std::atomic<long> popped{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        int v = p * kPerProducer + i;
        while (!q.TryPush(std::move(v))) std::this_thread::yield();
      }
      ++producers_done;
    });
  }
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&] {
      while (true) {
        if (std::optional<int> v = q.TryPop()) {
          seen[static_cast<size_t>(*v)].fetch_add(1);
          ++popped;
        } else if (producers_done.load() == kProducers) {
          if (std::optional<int> last = q.TryPop()) {
            seen[static_cast<size_t>(*last)].fetch_add(1);
            ++popped;
            continue;
          }
          return;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(popped.load(), static_cast<long>(kProducers) * kPerProducer);
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << i;
}

}  // namespace
}  // namespace mesh

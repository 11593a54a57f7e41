#include "mesh/proxy/upstream_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace mesh {
namespace proxy_upstream_limits_test {

TEST(UpstreamLimits, RefusesARequestBeyondMaxRequestsAndTakesOneAgainOnceASlotIsBack) {
  UpstreamLimits limits({.max_requests = 2});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  RequestSlot a = counts->TryStartRequest();
  RequestSlot b = counts->TryStartRequest();
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(counts->TryStartRequest());
  EXPECT_EQ(counts->requests(), 2);
  { RequestSlot gone = std::move(a); }
  EXPECT_EQ(counts->requests(), 1);
  EXPECT_TRUE(counts->TryStartRequest());
}

TEST(UpstreamLimits, ZeroIsNoLimit) {
  UpstreamLimits limits({});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  std::vector<ConnectionSlot> held;
  for (int i = 0; i < 5000; ++i) held.push_back(counts->TryOpenConnection());
  EXPECT_TRUE(counts->TryStartRequest());
  EXPECT_EQ(counts->connections(), 5000);
}

TEST(UpstreamLimits, EndpointsAreCountedApart) {
  UpstreamLimits limits({.max_connections = 1});
  ConnectionSlot a = limits.For("10.0.0.1:80")->TryOpenConnection();
  ConnectionSlot b = limits.For("10.0.0.2:80")->TryOpenConnection();
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(limits.For("10.0.0.1:80")->TryOpenConnection());
}

TEST(UpstreamLimits, AWaiterGetsTheSlotOfTheNextConnectionClosedAndIsWoken) {
  UpstreamLimits limits({.max_connections = 1, .max_pending = 4});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  auto open = std::make_unique<ConnectionSlot>(counts->TryOpenConnection());
  ASSERT_TRUE(*open);
  int woken = 0;
  PendingConnection pending = counts->WaitForConnection([&] { ++woken; });
  ASSERT_TRUE(pending.queued());
  EXPECT_FALSE(pending.granted());
  EXPECT_EQ(counts->pending(), 1);
  open.reset();
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(pending.granted());
  EXPECT_EQ(counts->pending(), 0);
  EXPECT_EQ(counts->connections(), 1);  // the waiter's, counted from the grant
  ConnectionSlot mine = pending.Take();
  EXPECT_TRUE(mine);
  EXPECT_FALSE(pending.Take());  // once only
  EXPECT_FALSE(counts->TryOpenConnection());
}

TEST(UpstreamLimits, WaitersAreServedFirstComeFirstServed) {
  UpstreamLimits limits({.max_connections = 1});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  auto open = std::make_unique<ConnectionSlot>(counts->TryOpenConnection());
  std::vector<int> order;
  PendingConnection first = counts->WaitForConnection([&] { order.push_back(1); });
  PendingConnection second = counts->WaitForConnection([&] { order.push_back(2); });
  open.reset();
  ASSERT_EQ(order, std::vector<int>{1});
  { ConnectionSlot used = first.Take(); }
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_TRUE(second.Take());
}

TEST(UpstreamLimits, RefusesToQueueBeyondMaxPending) {
  UpstreamLimits limits({.max_connections = 1, .max_pending = 1});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  ConnectionSlot open = counts->TryOpenConnection();
  PendingConnection queued = counts->WaitForConnection([] {});
  PendingConnection refused = counts->WaitForConnection([] {});
  EXPECT_TRUE(queued.queued());
  EXPECT_FALSE(refused.queued());
  EXPECT_FALSE(refused.Take());
}

TEST(UpstreamLimits, AWaiterThatGivesUpLeavesTheQueueAndAGrantNotTakenGoesBack) {
  UpstreamLimits limits({.max_connections = 1, .max_pending = 1});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  auto open = std::make_unique<ConnectionSlot>(counts->TryOpenConnection());
  {
    PendingConnection gave_up = counts->WaitForConnection([] {});
    EXPECT_FALSE(gave_up.Take());  // not granted: leaves the queue
    EXPECT_EQ(counts->pending(), 0);
  }
  {
    PendingConnection granted = counts->WaitForConnection([] {});
    open.reset();
    EXPECT_TRUE(granted.granted());
    EXPECT_EQ(counts->connections(), 1);
  }  // destroyed without Take
  EXPECT_EQ(counts->connections(), 0);
  EXPECT_TRUE(counts->TryOpenConnection());
}

TEST(UpstreamLimits, AWaiterQueuingWhenASlotIsFreeIsGrantedAtOnce) {
  UpstreamLimits limits({.max_connections = 1});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  PendingConnection pending = counts->WaitForConnection([] {});
  EXPECT_TRUE(pending.granted());
  EXPECT_TRUE(pending.Take());
}

// Many threads opening, waiting and closing: the limit is never passed, no waiter is left
// waiting once every slot is back, and the counts return to zero.
TEST(UpstreamLimits, NeverPassesTheLimitUnderContentionAndLosesNoWakeUp) {
  UpstreamLimits limits({.max_connections = 3, .max_pending = 0});
  std::shared_ptr<EndpointCounts> counts = limits.For("10.0.0.1:80");
  std::atomic<int64_t> inside{0};
  std::atomic<int64_t> peak{0};
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        ConnectionSlot slot = counts->TryOpenConnection();
        if (!slot) {
          std::atomic<bool> woken{false};
          PendingConnection pending = counts->WaitForConnection([&woken] { woken.store(true); });
          ASSERT_TRUE(pending.queued());
          while (!pending.granted()) std::this_thread::yield();
          slot = pending.Take();
          ASSERT_TRUE(slot);
        }
        const int64_t now = ++inside;
        int64_t seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        --inside;
        ++served;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(served.load(), 8 * 2000);
  EXPECT_LE(peak.load(), 3);
  EXPECT_EQ(counts->connections(), 0);
  EXPECT_EQ(counts->pending(), 0);
}

TEST(UpstreamLimits, ForgetsUnusedEndpointsPastTheBoundButKeepsThoseInUse) {
  UpstreamLimits limits({.max_connections = 1});
  ConnectionSlot held = limits.For("10.9.9.9:80")->TryOpenConnection();
  for (size_t i = 0; i < 3 * UpstreamLimits::kKeptEndpoints; ++i) {
    limits.For("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":80");
  }
  EXPECT_LE(limits.endpoints_known(), UpstreamLimits::kKeptEndpoints + 2);
  EXPECT_FALSE(limits.For("10.9.9.9:80")->TryOpenConnection());  // still counted
}

}  // namespace
}  // namespace mesh

#include "mesh/telemetry/trace_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace mesh {
namespace telemetry_trace_tree_test {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

Span MakeSpan(const std::string& id, const std::string& parent, int64_t start, int64_t duration) {
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = "svc";
  s.name = "op " + id;
  s.start_ns = start;
  s.duration_ns = duration;
  return s;
}

// Span ids in display order; synthetic nodes appear as "?<missing id>".
std::vector<std::string> PreorderIds(const TraceTree& tree) {
  std::vector<std::string> ids;
  for (size_t n : tree.preorder()) {
    const TraceNode& node = tree.nodes()[n];
    ids.push_back(node.span >= 0 ? tree.spans()[node.span].span_id : "?" + node.missing_parent_id);
  }
  return ids;
}

std::vector<std::string> CriticalIds(const TraceTree& tree) {
  std::vector<std::string> ids;
  for (size_t s : tree.critical_path()) ids.push_back(tree.spans()[s].span_id);
  return ids;
}

const TraceNode& Node(const TraceTree& tree, const std::string& id) {
  const long n = tree.FindSpan(id);
  EXPECT_GE(n, 0) << id;
  return tree.nodes()[n];
}

TEST(TraceTree, EmptyInputGivesAnEmptyTree) {
  const TraceTree tree = TraceTree::Build({});
  EXPECT_THAT(tree.nodes(), IsEmpty());
  EXPECT_THAT(tree.roots(), IsEmpty());
  EXPECT_THAT(tree.preorder(), IsEmpty());
  EXPECT_THAT(tree.critical_path(), IsEmpty());
  EXPECT_EQ(tree.start_ns(), 0);
  EXPECT_EQ(tree.end_ns(), 0);
  EXPECT_EQ(tree.FindSpan("a"), -1);
}

TEST(TraceTree, ChildrenAreOrderedByStartWhateverTheArrivalOrder) {
  std::vector<Span> spans = {
      MakeSpan("r", "", 0, 100),  MakeSpan("a", "r", 10, 10), MakeSpan("b", "r", 30, 10),
      MakeSpan("c", "r", 20, 10), MakeSpan("a1", "a", 15, 1), MakeSpan("a0", "a", 11, 1),
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(spans.begin(), spans.end(), rng);
    const TraceTree tree = TraceTree::Build(spans);
    EXPECT_THAT(PreorderIds(tree), ElementsAre("r", "a", "a0", "a1", "c", "b"));
    EXPECT_EQ(Node(tree, "a1").depth, 2);
  }
}

TEST(TraceTree, ChildrenStartingTogetherAreOrderedBySpanId) {
  const TraceTree tree = TraceTree::Build(
      {MakeSpan("r", "", 0, 100), MakeSpan("c", "r", 5, 1), MakeSpan("b", "r", 5, 1)});
  EXPECT_THAT(PreorderIds(tree), ElementsAre("r", "b", "c"));
}

TEST(TraceTree, RootsAreOrderedByStart) {
  const TraceTree tree =
      TraceTree::Build({MakeSpan("late", "", 50, 10), MakeSpan("early", "", 0, 10)});
  EXPECT_THAT(PreorderIds(tree), ElementsAre("early", "late"));
  EXPECT_EQ(tree.roots().size(), 2u);
}

TEST(TraceTree, DuplicateSpanIdsKeepTheFirst) {
  const TraceTree tree = TraceTree::Build(
      {MakeSpan("r", "", 0, 100), MakeSpan("a", "r", 10, 5), MakeSpan("a", "r", 70, 9)});
  ASSERT_EQ(tree.spans().size(), 2u);
  EXPECT_EQ(tree.spans()[Node(tree, "a").span].start_ns, 10);
  EXPECT_THAT(PreorderIds(tree), ElementsAre("r", "a"));
}

TEST(TraceTree, OrphansHangUnderOneSyntheticNodePerMissingParentAfterTheTrueRoots) {
  const TraceTree tree = TraceTree::Build({
      MakeSpan("o1", "gone1", 5, 10),
      MakeSpan("o3", "gone2", 1, 10),
      MakeSpan("r", "", 50, 100),
      MakeSpan("o2", "gone1", 3, 10),
  });
  EXPECT_THAT(PreorderIds(tree), ElementsAre("r", "?gone2", "o3", "?gone1", "o2", "o1"));
  ASSERT_EQ(tree.roots().size(), 3u);
  const TraceNode& gone1 = tree.nodes()[tree.roots()[2]];
  EXPECT_EQ(gone1.span, -1);
  EXPECT_EQ(gone1.depth, 0);
  EXPECT_EQ(gone1.children.size(), 2u);
  EXPECT_EQ(gone1.display_start_ns, 3);
  EXPECT_EQ(gone1.display_duration_ns, 12);
  EXPECT_EQ(Node(tree, "o1").depth, 1);
}

TEST(TraceTree, SelfParentBecomesAFlaggedRoot) {
  const TraceTree tree = TraceTree::Build({MakeSpan("a", "a", 0, 10), MakeSpan("b", "a", 2, 3)});
  EXPECT_THAT(PreorderIds(tree), ElementsAre("a", "b"));
  EXPECT_TRUE(Node(tree, "a").cycle_broken);
  EXPECT_FALSE(Node(tree, "b").cycle_broken);
  EXPECT_EQ(tree.roots().size(), 1u);
}

TEST(TraceTree, TwoSpanCycleIsBrokenAtTheSpanThatStartsFirst) {
  const TraceTree tree = TraceTree::Build({MakeSpan("a", "b", 5, 10), MakeSpan("b", "a", 0, 20)});
  EXPECT_THAT(PreorderIds(tree), ElementsAre("b", "a"));
  EXPECT_TRUE(Node(tree, "b").cycle_broken);
  EXPECT_FALSE(Node(tree, "a").cycle_broken);
}

TEST(TraceTree, ThreeSpanCycleIsBrokenOnceAndEverySpanAppearsExactlyOnce) {
  const TraceTree tree = TraceTree::Build({
      MakeSpan("a", "c", 10, 10),
      MakeSpan("b", "a", 12, 5),
      MakeSpan("c", "b", 2, 30),
      MakeSpan("tail", "b", 13, 1),
      MakeSpan("r", "", 0, 50),
  });
  EXPECT_THAT(PreorderIds(tree), ElementsAre("r", "c", "a", "b", "tail"));
  EXPECT_TRUE(Node(tree, "c").cycle_broken);
  EXPECT_EQ(tree.roots().size(), 2u);
  EXPECT_EQ(Node(tree, "tail").depth, 3);
}

constexpr int64_t kMs = 1'000'000;

Span OnHost(Span s, const std::string& host) {
  s.resource = "{\"host.name\":\"" + host + "\"}";
  return s;
}

TEST(TraceTree, ChildStartingBeforeItsParentIsShiftedToTheParentStart) {
  const TraceTree tree =
      TraceTree::Build({MakeSpan("p", "", 100 * kMs, 50 * kMs), MakeSpan("c", "p", 90 * kMs, 20 * kMs)});
  const TraceNode& c = Node(tree, "c");
  EXPECT_TRUE(c.skew_adjusted);
  EXPECT_EQ(c.display_start_ns, 100 * kMs);
  EXPECT_EQ(c.display_duration_ns, 20 * kMs);
  EXPECT_EQ(tree.spans()[c.span].start_ns, 90 * kMs);
  EXPECT_FALSE(Node(tree, "p").skew_adjusted);
}

TEST(TraceTree, ChildEndingAfterItsParentIsShiftedToEndWithIt) {
  const TraceTree tree =
      TraceTree::Build({MakeSpan("p", "", 100 * kMs, 50 * kMs), MakeSpan("c", "p", 140 * kMs, 20 * kMs)});
  const TraceNode& c = Node(tree, "c");
  EXPECT_TRUE(c.skew_adjusted);
  EXPECT_EQ(c.display_start_ns, 130 * kMs);
  EXPECT_EQ(c.display_duration_ns, 20 * kMs);
  EXPECT_EQ(tree.spans()[c.span].start_ns, 140 * kMs);
  EXPECT_EQ(tree.end_ns(), 150 * kMs);
}

TEST(TraceTree, ChildLongerThanItsParentIsClampedToTheParentInterval) {
  const TraceTree tree =
      TraceTree::Build({MakeSpan("p", "", 100 * kMs, 50 * kMs), MakeSpan("c", "p", 80 * kMs, 500 * kMs)});
  const TraceNode& c = Node(tree, "c");
  EXPECT_TRUE(c.skew_adjusted);
  EXPECT_EQ(c.display_start_ns, 100 * kMs);
  EXPECT_EQ(c.display_duration_ns, 50 * kMs);
  EXPECT_EQ(tree.spans()[c.span].duration_ns, 500 * kMs);
}

TEST(TraceTree, GrandchildrenMoveWithTheirShiftedParentKeepingTheirOffset) {
  const TraceTree tree = TraceTree::Build({
      MakeSpan("p", "", 100 * kMs, 50 * kMs),
      MakeSpan("c", "p", 0, 20 * kMs),
      MakeSpan("g", "c", 5 * kMs, 10 * kMs),
  });
  EXPECT_EQ(Node(tree, "c").display_start_ns, 100 * kMs);
  EXPECT_EQ(Node(tree, "g").display_start_ns, 105 * kMs);
  EXPECT_EQ(Node(tree, "g").display_duration_ns, 10 * kMs);
  EXPECT_TRUE(Node(tree, "g").skew_adjusted);
}

TEST(TraceTree, ChildInsideItsParentKeepsItsTimes) {
  const TraceTree tree =
      TraceTree::Build({MakeSpan("p", "", 100 * kMs, 50 * kMs), MakeSpan("c", "p", 110 * kMs, 40 * kMs)});
  const TraceNode& c = Node(tree, "c");
  EXPECT_FALSE(c.skew_adjusted);
  EXPECT_EQ(c.display_start_ns, 110 * kMs);
  EXPECT_EQ(c.display_duration_ns, 40 * kMs);
}

TEST(TraceTree, MillisecondTimestampsUnderAPreciseParentAreNotSkew) {
  // A proxy span in nanoseconds and the app's SDK span under it, truncated to milliseconds:
  // the child seems to start 0.4 ms early and end 1.9 ms late, on one machine.
  const int64_t t0 = 1'764'000'000'000 * kMs;
  const TraceTree tree = TraceTree::Build({MakeSpan("proxy", "", t0 + 400'000, 3'100'000),
                                           MakeSpan("app", "proxy", t0, 5 * kMs)});
  const TraceNode& app = Node(tree, "app");
  EXPECT_FALSE(app.skew_adjusted);
  EXPECT_EQ(app.display_start_ns, t0);
  EXPECT_EQ(app.display_duration_ns, 5 * kMs);
}

TEST(TraceTree, JustBeyondTheToleranceIsCorrected) {
  const TraceTree tree = TraceTree::Build(
      {MakeSpan("p", "", 100 * kMs, 50 * kMs), MakeSpan("c", "p", 98 * kMs - 1, 10 * kMs)});
  EXPECT_TRUE(Node(tree, "c").skew_adjusted);
  EXPECT_EQ(Node(tree, "c").display_start_ns, 100 * kMs);
}

TEST(TraceTree, SpansRecordedOnTheSameHostAreNeverShifted) {
  const TraceTree tree = TraceTree::Build({OnHost(MakeSpan("p", "", 100 * kMs, 50 * kMs), "web-1"),
                                           OnHost(MakeSpan("c", "p", 60 * kMs, 20 * kMs), "web-1")});
  EXPECT_FALSE(Node(tree, "c").skew_adjusted);
  EXPECT_EQ(Node(tree, "c").display_start_ns, 60 * kMs);
  EXPECT_EQ(tree.start_ns(), 60 * kMs);
}

TEST(TraceTree, SpansOfDifferentHostsAreShifted) {
  const TraceTree tree = TraceTree::Build({OnHost(MakeSpan("p", "", 100 * kMs, 50 * kMs), "web-1"),
                                           OnHost(MakeSpan("c", "p", 60 * kMs, 20 * kMs), "db-1")});
  EXPECT_TRUE(Node(tree, "c").skew_adjusted);
  EXPECT_EQ(Node(tree, "c").display_start_ns, 100 * kMs);
}

TEST(TraceTree, AMalformedResourceCountsAsAnUnknownHost) {
  Span p = MakeSpan("p", "", 100 * kMs, 50 * kMs);
  Span c = MakeSpan("c", "p", 60 * kMs, 20 * kMs);
  p.resource = "{\"host.name\":";
  c.resource = "{\"host.name\":";
  const TraceTree tree = TraceTree::Build({p, c});
  EXPECT_TRUE(Node(tree, "c").skew_adjusted);
}

TEST(TraceTree, NegativeDurationIsDisplayedAsZero) {
  const TraceTree tree = TraceTree::Build({MakeSpan("p", "", 100, -50)});
  EXPECT_EQ(Node(tree, "p").display_duration_ns, 0);
  EXPECT_EQ(tree.start_ns(), 100);
  EXPECT_EQ(tree.end_ns(), 100);
}

TEST(TraceTree, TimesNearTheLimitsOfInt64DoNotWrap) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  const TraceTree tree = TraceTree::Build({
      MakeSpan("p", "", max - 5, max),
      MakeSpan("c", "p", min, max),
      MakeSpan("o", "gone", min, 1),
      MakeSpan("o2", "gone", max, max),
  });
  EXPECT_EQ(tree.end_ns(), max);
  EXPECT_EQ(tree.start_ns(), min);
  EXPECT_GE(Node(tree, "c").display_start_ns, max - 5);
  EXPECT_EQ(tree.preorder().size(), 5u);
}

TEST(TraceTree, StartAndEndCoverTheDisplayTimesOfAllSpans) {
  const TraceTree tree = TraceTree::Build({
      MakeSpan("r", "", 100 * kMs, 50 * kMs),
      MakeSpan("c", "r", 90 * kMs, 10 * kMs),
      MakeSpan("x", "", 300 * kMs, 7 * kMs),
  });
  EXPECT_EQ(tree.start_ns(), 100 * kMs);
  EXPECT_EQ(tree.end_ns(), 307 * kMs);
}

TEST(TraceTree, FindSpanGivesTheNodeOfTheSpan) {
  const TraceTree tree = TraceTree::Build({MakeSpan("r", "", 0, 5), MakeSpan("c", "r", 1, 1)});
  const long c = tree.FindSpan("c");
  ASSERT_GE(c, 0);
  EXPECT_EQ(tree.spans()[tree.nodes()[c].span].span_id, "c");
  EXPECT_EQ(tree.FindSpan("nope"), -1);
}

TEST(TraceTree, CriticalPathOfSequentialChildrenTakesEveryChild) {
  const TraceTree tree = TraceTree::Build({
      MakeSpan("r", "", 0, 100),
      MakeSpan("a", "r", 0, 40),
      MakeSpan("b", "r", 40, 30),
      MakeSpan("c", "r", 70, 30),
  });
  EXPECT_THAT(CriticalIds(tree), ElementsAre("r", "c", "b", "a"));
  for (const char* id : {"r", "a", "b", "c"}) EXPECT_TRUE(Node(tree, id).on_critical_path) << id;
}

TEST(TraceTree, CriticalPathOfOverlappingChildrenSkipsTheOnesHiddenByALaterFinisher) {
  // b finishes last; a is still running when b starts, so only c (done before b starts) waits.
  const TraceTree tree = TraceTree::Build({
      MakeSpan("r", "", 0, 100),
      MakeSpan("a", "r", 0, 60),
      MakeSpan("b", "r", 50, 50),
      MakeSpan("c", "r", 10, 30),
      MakeSpan("b1", "b", 60, 30),
      MakeSpan("b0", "b", 52, 6),
      MakeSpan("b2", "b", 55, 10),
  });
  EXPECT_THAT(CriticalIds(tree), ElementsAre("r", "b", "b1", "b0", "c"));
  EXPECT_FALSE(Node(tree, "a").on_critical_path);
  EXPECT_FALSE(Node(tree, "b2").on_critical_path);
}

TEST(TraceTree, CriticalPathFollowsAChildThatEndedAfterItsParent) {
  // c's clock runs ahead: it is shown as [30, 100] ms, so a (ending at 20) still precedes it.
  const TraceTree tree = TraceTree::Build({
      MakeSpan("r", "", 0, 100 * kMs),
      MakeSpan("a", "r", 0, 20 * kMs),
      MakeSpan("c", "r", 60 * kMs, 70 * kMs),
  });
  EXPECT_THAT(CriticalIds(tree), ElementsAre("r", "c", "a"));
}

TEST(TraceTree, CriticalPathWithoutChildrenIsTheRootAlone) {
  const TraceTree tree = TraceTree::Build({MakeSpan("r", "", 0, 100)});
  EXPECT_THAT(CriticalIds(tree), ElementsAre("r"));
  EXPECT_TRUE(Node(tree, "r").on_critical_path);
}

TEST(TraceTree, CriticalPathCoversEveryRootIncludingOrphans) {
  const TraceTree tree = TraceTree::Build({
      MakeSpan("r", "", 0, 10),
      MakeSpan("o1", "gone", 20, 10),
      MakeSpan("o2", "gone", 22, 3),
  });
  EXPECT_THAT(CriticalIds(tree), ElementsAre("r", "o1"));
  EXPECT_FALSE(Node(tree, "o2").on_critical_path);
}

TEST(TraceTree, TenThousandDeepChainBuildsWithEverySpan) {
  constexpr int kDepth = 10'000;
  std::vector<Span> spans;
  for (int i = 0; i < kDepth; ++i) {
    spans.push_back(MakeSpan("s" + std::to_string(i), i == 0 ? "" : "s" + std::to_string(i - 1), i,
                             2 * (kDepth - i)));
  }
  std::reverse(spans.begin(), spans.end());
  const TraceTree tree = TraceTree::Build(std::move(spans));
  ASSERT_EQ(tree.preorder().size(), static_cast<size_t>(kDepth));
  EXPECT_EQ(Node(tree, "s9999").depth, kDepth - 1);
  EXPECT_EQ(tree.critical_path().size(), static_cast<size_t>(kDepth));
  EXPECT_EQ(tree.roots().size(), 1u);
}

TEST(TraceTree, TenThousandSpanCycleIsBrokenWithoutRecursion) {
  constexpr int kLength = 10'000;
  std::vector<Span> spans;
  for (int i = 0; i < kLength; ++i) {
    spans.push_back(
        MakeSpan("s" + std::to_string(i), "s" + std::to_string((i + 1) % kLength), i, 1));
  }
  const TraceTree tree = TraceTree::Build(std::move(spans));
  EXPECT_EQ(tree.preorder().size(), static_cast<size_t>(kLength));
  EXPECT_TRUE(Node(tree, "s0").cycle_broken);
  EXPECT_EQ(Node(tree, "s1").depth, kLength - 1);
}

TEST(TraceTree, TenThousandWideTraceKeepsEverySpanInStartOrder) {
  constexpr int kWidth = 10'000;
  std::vector<Span> spans = {MakeSpan("root", "", 0, 1'000'000)};
  std::vector<std::string> ids;
  for (int i = kWidth - 1; i >= 0; --i) {
    spans.push_back(MakeSpan("c" + std::to_string(i), "root", 10 * i, 5));
  }
  const TraceTree tree = TraceTree::Build(std::move(spans));
  ASSERT_EQ(tree.preorder().size(), static_cast<size_t>(kWidth + 1));
  const TraceNode& root = Node(tree, "root");
  ASSERT_EQ(root.children.size(), static_cast<size_t>(kWidth));
  for (size_t i = 1; i < root.children.size(); ++i) {
    EXPECT_LT(tree.nodes()[root.children[i - 1]].display_start_ns,
              tree.nodes()[root.children[i]].display_start_ns);
  }
  EXPECT_EQ(tree.critical_path().size(), static_cast<size_t>(kWidth + 1));
}

TEST(TraceTree, EverySpanAppearsOnceInPreorderForRandomParentLinks) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    const int n = 1 + static_cast<int>(rng() % 40);
    std::vector<Span> spans;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      const int link = static_cast<int>(rng() % (n + 3));
      const std::string parent = link == n       ? ""
                                 : link == n + 1 ? "gone"
                                                 : "s" + std::to_string(link);
      spans.push_back(MakeSpan("s" + std::to_string(i), parent, static_cast<int64_t>(rng() % 100),
                               static_cast<int64_t>(rng() % 50) - 5));
      ids.push_back("s" + std::to_string(i));
    }
    const TraceTree tree = TraceTree::Build(spans);
    std::vector<std::string> seen;
    for (const std::string& id : PreorderIds(tree)) {
      if (id[0] != '?') seen.push_back(id);
    }
    EXPECT_THAT(seen, UnorderedElementsAreArray(ids)) << "round " << round;
    EXPECT_EQ(tree.preorder().size(), tree.nodes().size());
  }
}

}  // namespace
}  // namespace mesh

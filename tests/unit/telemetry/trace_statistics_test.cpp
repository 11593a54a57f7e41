#include "mesh/telemetry/trace_statistics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace mesh {
namespace telemetry_trace_statistics_test {

constexpr int64_t kMs = 1'000'000;

Span MakeSpan(const std::string& id, const std::string& parent, const std::string& service,
              int64_t start_ms, int64_t duration_ms) {
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = service;
  s.name = "op " + id;
  s.start_ns = start_ms * kMs;
  s.duration_ns = duration_ms * kMs;
  return s;
}

int64_t SelfTimeOf(const TraceTree& tree, const std::string& span_id) {
  return SelfTimeNs(tree, static_cast<size_t>(tree.FindSpan(span_id)));
}

TEST(TraceStatistics, SelfTimeIsTheSpanLessTheUnionOfItsChildren) {
  // web 0..100 calls api 10..40 and api 30..60 (overlapping: 50 ms covered) and db 80..90.
  const TraceTree tree = TraceTree::Build({MakeSpan("a", "", "web", 0, 100), MakeSpan("b", "a", "api", 10, 30),
                                           MakeSpan("c", "a", "api", 30, 30), MakeSpan("d", "a", "db", 80, 10)});
  EXPECT_EQ(SelfTimeOf(tree, "a"), 40 * kMs);
  EXPECT_EQ(SelfTimeOf(tree, "b"), 30 * kMs);
  EXPECT_EQ(SelfTimeOf(tree, "d"), 10 * kMs);
}

TEST(TraceStatistics, AChildNestedInAnotherIsNotSubtractedTwice) {
  const TraceTree tree = TraceTree::Build({MakeSpan("a", "", "web", 0, 100), MakeSpan("b", "a", "api", 10, 60),
                                           MakeSpan("c", "a", "api", 20, 10)});
  EXPECT_EQ(SelfTimeOf(tree, "a"), 40 * kMs);
}

TEST(TraceStatistics, SumsSpansAndSelfTimePerServiceMostSelfTimeFirst) {
  // web 0..100 -> api 10..70 -> db 20..60; api's second span 75..80 has no child.
  const TraceTree tree = TraceTree::Build({MakeSpan("a", "", "web", 0, 100), MakeSpan("b", "a", "api", 10, 60),
                                           MakeSpan("c", "b", "db", 20, 40), MakeSpan("d", "a", "api", 75, 5)});
  const TraceStatistics stats = ComputeTraceStatistics(tree);
  EXPECT_EQ(stats.duration_ns, 100 * kMs);
  EXPECT_EQ(stats.span_count, 4);
  ASSERT_EQ(stats.services.size(), 3u);
  EXPECT_EQ(stats.services[0].service, "db");
  EXPECT_EQ(stats.services[0].self_time_ns, 40 * kMs);
  EXPECT_EQ(stats.services[1].service, "web");
  EXPECT_EQ(stats.services[1].self_time_ns, 35 * kMs);
  EXPECT_EQ(stats.services[2].service, "api");
  EXPECT_EQ(stats.services[2].span_count, 2);
  EXPECT_EQ(stats.services[2].self_time_ns, 25 * kMs);
}

TEST(TraceStatistics, SelfTimesAddUpToTheRootWhenChildrenStayInside) {
  const TraceTree tree = TraceTree::Build({MakeSpan("a", "", "web", 0, 100), MakeSpan("b", "a", "api", 10, 60),
                                           MakeSpan("c", "b", "db", 20, 40), MakeSpan("d", "a", "api", 75, 5)});
  int64_t total = 0;
  for (const ServiceTraceStatistics& s : ComputeTraceStatistics(tree).services) total += s.self_time_ns;
  EXPECT_EQ(total, 100 * kMs);
}

TEST(TraceStatistics, OrphansCountAndTheirMissingParentHasNoSelfTime) {
  const TraceTree tree = TraceTree::Build({MakeSpan("b", "gone", "api", 10, 20), MakeSpan("c", "gone", "api", 40, 5)});
  const TraceStatistics stats = ComputeTraceStatistics(tree);
  EXPECT_EQ(stats.span_count, 2);
  ASSERT_EQ(stats.services.size(), 1u);
  EXPECT_EQ(stats.services[0].self_time_ns, 25 * kMs);
  for (size_t i = 0; i < tree.nodes().size(); ++i) {
    if (tree.nodes()[i].span < 0) {
      EXPECT_EQ(SelfTimeNs(tree, i), 0);
    }
  }
}

TEST(TraceStatistics, HostileTimesNeitherWrapNorGoNegative) {
  Span late = MakeSpan("a", "", "web", 0, 0);
  late.start_ns = std::numeric_limits<int64_t>::max() - 10;
  late.duration_ns = std::numeric_limits<int64_t>::max();
  Span early = MakeSpan("b", "", "web", 0, 0);
  early.start_ns = std::numeric_limits<int64_t>::min();
  early.duration_ns = 5;
  const TraceStatistics stats = ComputeTraceStatistics(TraceTree::Build({late, early}));
  EXPECT_GE(stats.duration_ns, 0);
  ASSERT_EQ(stats.services.size(), 1u);
  EXPECT_GE(stats.services[0].self_time_ns, 0);
}

TEST(TraceStatistics, EmptyTraceIsZero) {
  const TraceStatistics stats = ComputeTraceStatistics(TraceTree::Build({}));
  EXPECT_EQ(stats.span_count, 0);
  EXPECT_EQ(stats.duration_ns, 0);
  EXPECT_TRUE(stats.services.empty());
}

TEST(TraceStatistics, JsonEscapesServiceNames) {
  TraceStatistics stats{.duration_ns = 7, .span_count = 1, .services = {{"<script>\"x\"", 1, 7}}};
  std::string out;
  AppendJson(out, stats);
  EXPECT_EQ(out,
            "{\"duration_ns\":7,\"span_count\":1,\"services\":[{\"service\":\"<script>\\\"x\\\"\","
            "\"span_count\":1,\"self_time_ns\":7}]}");
}

}  // namespace telemetry_trace_statistics_test
}  // namespace mesh

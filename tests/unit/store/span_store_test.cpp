#include "mesh/store/span_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace store_span_store_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1764075600'000000000;

// Trace ids: two share the prefix "abc1", the third starts differently.
constexpr char kTraceA[] = "abc10000000000000000000000000001";
constexpr char kTraceB[] = "abc10000000000000000000000000002";
constexpr char kTraceC[] = "def00000000000000000000000000003";

Span MakeSpan(const std::string& trace, const std::string& id, const std::string& parent,
              const std::string& service, const std::string& name, int64_t start_ms,
              int64_t duration_ms, SpanStatus status = SpanStatus::kUnset) {
  Span s;
  s.trace_id = trace;
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = service;
  s.name = name;
  s.kind = parent.empty() ? SpanKind::kServer : SpanKind::kClient;
  s.start_ns = kT0 + start_ms * kMs;
  s.duration_ns = duration_ms * kMs;
  s.status = status;
  return s;
}

class SpanStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    spans_ = std::make_unique<SpanStore>(*store_);
  }

  // Trace A: frontend -> api -> db, 0..300 ms, the db call fails.
  // Trace B: a single api span at 1000 ms.
  // Trace C: two web spans whose parent never arrived, at 2000 ms.
  std::vector<Span> Fixture() {
    return {
        MakeSpan(kTraceA, "000000000000a002", "000000000000a001", "api", "GET /users", 10, 200),
        MakeSpan(kTraceA, "000000000000a001", "", "frontend", "GET /", 0, 300),
        MakeSpan(kTraceA, "000000000000a003", "000000000000a002", "db", "SELECT", 20, 50,
                 SpanStatus::kError),
        MakeSpan(kTraceB, "000000000000b001", "", "api", "GET /health", 1000, 1),
        MakeSpan(kTraceC, "000000000000c002", "00000000000000ff", "web", "render", 2010, 5),
        MakeSpan(kTraceC, "000000000000c001", "00000000000000ff", "web", "fetch", 2000, 40),
    };
  }

  void InsertFixture() {
    Result<int64_t> n = spans_->Insert(Fixture());
    ASSERT_TRUE(n.ok()) << n.status().message();
    ASSERT_EQ(*n, 6);
  }

  std::vector<std::string> ListIds(const TraceFilter& filter, size_t limit = 100) {
    Result<std::vector<TraceSummary>> r = spans_->ListTraces(filter, limit);
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<std::string> ids;
    if (r.ok()) {
      for (const TraceSummary& t : *r) ids.push_back(t.trace_id);
    }
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SpanStore> spans_;
};

TEST_F(SpanStoreTest, InsertingTheSameSpansTwiceAddsNothingTheSecondTime) {
  Result<int64_t> first = spans_->Insert(Fixture());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 6);
  Result<int64_t> second = spans_->Insert(Fixture());
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(*second, 0);
  Result<std::vector<Span>> a = spans_->GetTrace(kTraceA);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 3u);
}

TEST_F(SpanStoreTest, InsertCountsOnlyTheNewSpansOfAMixedBatch) {
  ASSERT_TRUE(spans_->Insert({Fixture()[0]}).ok());
  Result<int64_t> n = spans_->Insert(Fixture());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5);
}

TEST_F(SpanStoreTest, InsertRowsWithoutATransactionCommitsEachSpan) {
  Result<int64_t> n = spans_->InsertRows(Fixture());
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 6);
  EXPECT_TRUE(spans_->GetTrace(kTraceB).ok());
}

TEST_F(SpanStoreTest, InsertOfNothingIsZero) {
  Result<int64_t> n = spans_->Insert({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
}

TEST_F(SpanStoreTest, GetTraceKeepsEveryFieldAndOrdersByStart) {
  std::vector<Span> spans = Fixture();
  spans[1].trace_state = "k=v";
  spans[1].status = SpanStatus::kOk;
  spans[1].status_message = "fine";
  spans[1].attributes = R"({"http.method":"GET"})";
  spans[1].events = R"([{"time_ns":1,"name":"e","attributes":{}}])";
  spans[1].links = R"([{"trace_id":"abc10000000000000000000000000002","span_id":"000000000000b001","attributes":{}}])";
  spans[1].resource = R"({"host.name":"n1"})";
  spans[1].scope = "lib";
  spans[1].scope_version = "1.4.2";
  spans[1].scope_attributes = R"({"lib.flavour":"fast"})";
  ASSERT_TRUE(spans_->Insert(spans).ok());
  Result<std::vector<Span>> trace = spans_->GetTrace(kTraceA);
  ASSERT_TRUE(trace.ok()) << trace.status().message();
  ASSERT_EQ(trace->size(), 3u);
  EXPECT_EQ((*trace)[0].span_id, "000000000000a001");
  EXPECT_EQ((*trace)[1].span_id, "000000000000a002");
  EXPECT_EQ((*trace)[2].span_id, "000000000000a003");
  const Span& root = (*trace)[0];
  EXPECT_EQ(root.trace_id, kTraceA);
  EXPECT_EQ(root.parent_span_id, "");
  EXPECT_EQ(root.trace_state, "k=v");
  EXPECT_EQ(root.service, "frontend");
  EXPECT_EQ(root.name, "GET /");
  EXPECT_EQ(root.kind, SpanKind::kServer);
  EXPECT_EQ(root.start_ns, kT0);
  EXPECT_EQ(root.duration_ns, 300 * kMs);
  EXPECT_EQ(root.status, SpanStatus::kOk);
  EXPECT_EQ(root.status_message, "fine");
  EXPECT_EQ(root.attributes, R"({"http.method":"GET"})");
  EXPECT_EQ(root.events, R"([{"time_ns":1,"name":"e","attributes":{}}])");
  EXPECT_EQ(root.links, R"([{"trace_id":"abc10000000000000000000000000002","span_id":"000000000000b001","attributes":{}}])");
  EXPECT_EQ(root.resource, R"({"host.name":"n1"})");
  EXPECT_EQ(root.scope, "lib");
  EXPECT_EQ(root.scope_version, "1.4.2");
  EXPECT_EQ(root.scope_attributes, R"({"lib.flavour":"fast"})");
  EXPECT_EQ((*trace)[1].parent_span_id, "000000000000a001");
  EXPECT_EQ((*trace)[1].kind, SpanKind::kClient);
  EXPECT_EQ((*trace)[2].status, SpanStatus::kError);
}

TEST_F(SpanStoreTest, GetTraceAcceptsAUniquePrefix) {
  InsertFixture();
  for (const char* prefix : {"d", "def", "def0000000", "abc10000000000000000000000000002"}) {
    Result<std::vector<Span>> trace = spans_->GetTrace(prefix);
    ASSERT_TRUE(trace.ok()) << prefix << ": " << trace.status().message();
    EXPECT_FALSE(trace->empty());
  }
  Result<std::vector<Span>> c = spans_->GetTrace("de");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->front().trace_id, kTraceC);
  Result<std::vector<Span>> b = spans_->GetTrace("abc10000000000000000000000000002");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 1u);
  Result<std::vector<Span>> b_prefix = spans_->GetTrace("abc1000000000000000000000000000");
  EXPECT_EQ(b_prefix.status().code(), Status::Code::kInvalidArgument);  // still two traces
}

TEST_F(SpanStoreTest, GetTraceWithAnAmbiguousPrefixListsTheCandidates) {
  InsertFixture();
  Result<std::vector<Span>> trace = spans_->GetTrace("abc1");
  ASSERT_FALSE(trace.ok());
  EXPECT_EQ(trace.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(trace.status().message(), HasSubstr("matches 2 traces; give more digits"));
  EXPECT_THAT(trace.status().message(), HasSubstr(kTraceA));
  EXPECT_THAT(trace.status().message(), HasSubstr(kTraceB));
}

TEST_F(SpanStoreTest, GetTraceOfAnUnknownIdIsNotFound) {
  InsertFixture();
  for (const char* id : {"ffffffffffffffffffffffffffffffff", "fff", "abc2"}) {
    Result<std::vector<Span>> trace = spans_->GetTrace(id);
    ASSERT_FALSE(trace.ok()) << id;
    EXPECT_EQ(trace.status().code(), Status::Code::kNotFound) << id;
    EXPECT_THAT(trace.status().message(), HasSubstr(std::string("trace ") + id + " not found"));
    EXPECT_THAT(trace.status().message(), HasSubstr(store_->path()));
  }
}

TEST_F(SpanStoreTest, GetTraceOfAnEmptyStoreIsNotFound) {
  EXPECT_EQ(spans_->GetTrace(kTraceA).status().code(), Status::Code::kNotFound);
}

TEST_F(SpanStoreTest, GetTraceWithNonHexIsInvalidArgument) {
  InsertFixture();
  for (const std::string id :
       {"", "xyz", "abc1 ", "ABC1", "abc'--", "abc10000000000000000000000000000012"}) {
    Result<std::vector<Span>> trace = spans_->GetTrace(id);
    ASSERT_FALSE(trace.ok()) << id;
    EXPECT_EQ(trace.status().code(), Status::Code::kInvalidArgument) << id;
  }
}

TEST_F(SpanStoreTest, ListTracesSummarisesEachTraceNewestFirst) {
  InsertFixture();
  Result<std::vector<TraceSummary>> r = spans_->ListTraces({}, 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].trace_id, kTraceC);
  EXPECT_EQ((*r)[1].trace_id, kTraceB);
  EXPECT_EQ((*r)[2].trace_id, kTraceA);

  const TraceSummary& a = (*r)[2];
  EXPECT_EQ(a.start_ns, kT0);
  EXPECT_EQ(a.duration_ns, 300 * kMs);  // first start to last end
  EXPECT_EQ(a.root_service, "frontend");
  EXPECT_EQ(a.root_name, "GET /");
  EXPECT_EQ(a.span_count, 3);
  EXPECT_THAT(a.services, ElementsAre("api", "db", "frontend"));
  EXPECT_TRUE(a.has_error);

  const TraceSummary& b = (*r)[1];
  EXPECT_EQ(b.span_count, 1);
  EXPECT_EQ(b.duration_ns, 1 * kMs);
  EXPECT_FALSE(b.has_error);
  EXPECT_THAT(b.services, ElementsAre("api"));
}

TEST_F(SpanStoreTest, ListTracesTreatsASpanWhoseParentNeverArrivedAsTheRoot) {
  InsertFixture();
  Result<std::vector<TraceSummary>> r = spans_->ListTraces({}, 1);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  const TraceSummary& c = (*r)[0];
  EXPECT_EQ(c.trace_id, kTraceC);
  // Both spans are orphans: the earliest one is the root.
  EXPECT_EQ(c.root_name, "fetch");
  EXPECT_EQ(c.root_service, "web");
  EXPECT_EQ(c.duration_ns, 40 * kMs);
}

TEST_F(SpanStoreTest, ListTracesPrefersTheEarliestParentlessSpanAsRoot) {
  // The child starts before its parent (clock skew) and the parent has no parent.
  ASSERT_TRUE(spans_
                  ->Insert({MakeSpan(kTraceA, "000000000000a002", "000000000000a001", "api",
                                     "child", 0, 10),
                            MakeSpan(kTraceA, "000000000000a001", "", "frontend", "parent", 5, 20)})
                  .ok());
  Result<std::vector<TraceSummary>> r = spans_->ListTraces({}, 10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].root_name, "parent");
  EXPECT_EQ((*r)[0].start_ns, kT0);
  EXPECT_EQ((*r)[0].duration_ns, 25 * kMs);
}

TEST_F(SpanStoreTest, ListTracesFiltersByService) {
  InsertFixture();
  EXPECT_THAT(ListIds({.service = "api"}), ElementsAre(kTraceB, kTraceA));
  EXPECT_THAT(ListIds({.service = "db"}), ElementsAre(kTraceA));
  EXPECT_TRUE(ListIds({.service = "nope"}).empty());
  // The summary still covers the whole trace, not only the matching spans.
  Result<std::vector<TraceSummary>> r = spans_->ListTraces({.service = "db"}, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].span_count, 3);
  EXPECT_EQ((*r)[0].root_service, "frontend");
}

TEST_F(SpanStoreTest, ListTracesFiltersByOperation) {
  InsertFixture();
  EXPECT_THAT(ListIds({.operation = "SELECT"}), ElementsAre(kTraceA));
  EXPECT_THAT(ListIds({.operation = "GET /health"}), ElementsAre(kTraceB));
  EXPECT_TRUE(ListIds({.operation = "GET"}).empty());  // exact, not a substring
}

TEST_F(SpanStoreTest, ListTracesFiltersByDuration) {
  InsertFixture();
  EXPECT_THAT(ListIds({.min_duration_ns = 100 * kMs}), ElementsAre(kTraceA));
  EXPECT_THAT(ListIds({.min_duration_ns = 40 * kMs}), ElementsAre(kTraceC, kTraceA));
  EXPECT_THAT(ListIds({.max_duration_ns = 1 * kMs}), ElementsAre(kTraceB));
  EXPECT_TRUE(ListIds({.min_duration_ns = 301 * kMs}).empty());
}

TEST_F(SpanStoreTest, ListTracesFiltersErrors) {
  InsertFixture();
  EXPECT_THAT(ListIds({.errors_only = true}), ElementsAre(kTraceA));
}

TEST_F(SpanStoreTest, ListTracesFiltersByTimeWindow) {
  InsertFixture();
  EXPECT_THAT(ListIds({.since_ns = kT0 + 1000 * kMs}), ElementsAre(kTraceC, kTraceB));
  EXPECT_THAT(ListIds({.since_ns = kT0 + 1001 * kMs}), ElementsAre(kTraceC));
  EXPECT_THAT(ListIds({.until_ns = kT0 + 1000 * kMs}), ElementsAre(kTraceA));  // exclusive
  EXPECT_THAT(ListIds({.since_ns = kT0 + 15 * kMs, .until_ns = kT0 + 1001 * kMs}),
              ElementsAre(kTraceB, kTraceA));
}

TEST_F(SpanStoreTest, ListTracesCombinesFilters) {
  InsertFixture();
  EXPECT_THAT(ListIds({.service = "api", .errors_only = true}), ElementsAre());
  EXPECT_THAT(ListIds({.service = "db", .errors_only = true}), ElementsAre(kTraceA));
  EXPECT_THAT(ListIds({.service = "api", .min_duration_ns = 100 * kMs}), ElementsAre(kTraceA));
}

TEST_F(SpanStoreTest, ListTracesFiltersByAnAttributeValueOfAnyType) {
  std::vector<Span> spans = Fixture();
  spans[0].attributes = R"({"http.status_code":503,"cache.hit":true,"ratio":0.25,"user":"ann"})";
  spans[3].attributes = R"({"http.status_code":200,"user":"bob=\"x\""})";
  spans[4].resource = R"({"deployment.environment":"canary"})";
  ASSERT_TRUE(spans_->Insert(spans).ok());
  const auto attr = [](const char* key, const char* value) {
    return TraceFilter{.attribute = AttributeMatch{key, value}};
  };
  EXPECT_THAT(ListIds(attr("http.status_code", "503")), ElementsAre(kTraceA));
  EXPECT_THAT(ListIds(attr("http.status_code", "200")), ElementsAre(kTraceB));
  EXPECT_THAT(ListIds(attr("cache.hit", "true")), ElementsAre(kTraceA));
  EXPECT_THAT(ListIds(attr("ratio", "0.25")), ElementsAre(kTraceA));
  EXPECT_THAT(ListIds(attr("user", "bob=\"x\"")), ElementsAre(kTraceB));
  // A resource attribute matches too.
  EXPECT_THAT(ListIds(attr("deployment.environment", "canary")), ElementsAre(kTraceC));
  // Exact value and key: no substring, no other key's value, no 1 for true.
  EXPECT_TRUE(ListIds(attr("user", "an")).empty());
  EXPECT_TRUE(ListIds(attr("http.status_code", "ann")).empty());
  EXPECT_TRUE(ListIds(attr("cache.hit", "1")).empty());
  // SQL and JSON path syntax in a key or value is only text.
  EXPECT_TRUE(ListIds(attr("$.user", "ann")).empty());
  EXPECT_TRUE(ListIds(attr("user", "' OR 1=1 --")).empty());
  // Combined with another filter.
  TraceFilter both = attr("http.status_code", "503");
  both.service = "db";
  EXPECT_TRUE(ListIds(both).empty());
  both.service = "api";
  EXPECT_THAT(ListIds(both), ElementsAre(kTraceA));
}

TEST_F(SpanStoreTest, ListTracesFiltersByTraceIdPrefix) {
  InsertFixture();
  EXPECT_THAT(ListIds({.trace_id_prefix = "abc1"}), ElementsAre(kTraceB, kTraceA));
  EXPECT_THAT(ListIds({.trace_id_prefix = "abc10000000000000000000000000002"}), ElementsAre(kTraceB));
  EXPECT_THAT(ListIds({.trace_id_prefix = "def"}), ElementsAre(kTraceC));
  EXPECT_TRUE(ListIds({.trace_id_prefix = "abc2"}).empty());
}

TEST_F(SpanStoreTest, ListTracesHonoursTheLimit) {
  InsertFixture();
  EXPECT_THAT(ListIds({}, 2), ElementsAre(kTraceC, kTraceB));
  EXPECT_TRUE(ListIds({}, 0).empty());
}

TEST_F(SpanStoreTest, SpansAreVisibleFromAnotherConnection) {
  InsertFixture();
  Result<std::unique_ptr<Store>> other = Store::Open({.path = dir_.File("mesh.db")});
  ASSERT_TRUE(other.ok());
  SpanStore reader(**other);
  Result<std::vector<Span>> trace = reader.GetTrace(kTraceA);
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->size(), 3u);
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace store_span_store_test {

TEST_F(SpanStoreTest, CollectStatsCountsOperationsAndCallsBetweenServices) {
  InsertFixture();
  SpanStats stats;
  ASSERT_TRUE(spans_->CollectStats(kT0, kT0 + 10'000 * kMs, stats).ok());
  const std::vector<OperationStats> ops = stats.Operations();
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(ops[0].service, "api");
  EXPECT_EQ(ops[0].operation, "GET /health");
  EXPECT_EQ(ops[2].service, "db");
  EXPECT_EQ(ops[2].errors, 1);
  EXPECT_EQ(ops[2].p99_ns, 50 * kMs);
  // frontend -> api -> db; trace C's spans have no parent in the store: no edge.
  const std::vector<EdgeStats> edges = stats.Edges();
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[0].caller, "api");
  EXPECT_EQ(edges[0].callee, "db");
  EXPECT_EQ(edges[0].errors, 1);
  EXPECT_EQ(edges[1].caller, "frontend");
  EXPECT_EQ(edges[1].callee, "api");
  EXPECT_EQ(edges[1].calls, 1);
}

TEST_F(SpanStoreTest, CollectStatsKeepsToItsWindow) {
  InsertFixture();
  SpanStats stats;
  ASSERT_TRUE(spans_->CollectStats(kT0 + 1000 * kMs, kT0 + 1001 * kMs, stats).ok());
  ASSERT_EQ(stats.Operations().size(), 1u);
  EXPECT_EQ(stats.Operations()[0].operation, "GET /health");
  EXPECT_TRUE(stats.Edges().empty());
}

TEST_F(SpanStoreTest, ScanSpansPagesThroughAWindowByCursor) {
  InsertFixture();
  std::vector<std::string> seen;
  int64_t cursor = 0;
  for (int page = 0; page < 10; ++page) {
    Result<SpanStore::Page> p = spans_->ScanSpans(kT0, kT0 + 1500 * kMs, cursor, 2);
    ASSERT_TRUE(p.ok()) << p.status().message();
    if (p->spans.empty()) break;
    EXPECT_GT(p->next, cursor);
    cursor = p->next;
    for (const Span& s : p->spans) seen.push_back(s.span_id);
  }
  // Traces A and B started inside the window, trace C after it.
  EXPECT_EQ(seen, (std::vector<std::string>{"000000000000a002", "000000000000a001",
                                            "000000000000a003", "000000000000b001"}));
}

TEST_F(SpanStoreTest, ListTracesStopsAtItsLimitNewestFirst) {
  InsertFixture();
  EXPECT_EQ(ListIds({}, 2), (std::vector<std::string>{kTraceC, kTraceB}));
  EXPECT_EQ(ListIds({.service = "api"}, 1), (std::vector<std::string>{kTraceB}));
}

}  // namespace
}  // namespace mesh

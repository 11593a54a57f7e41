// meshd's trace routes over HTTP: GET /v1/traces/{id} carries the critical path and the
// statistics of the trace's TraceTree; GET /v1/traces takes the explorer's attribute and trace
// id prefix filters and refuses a bad parameter with a 400 that names it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "in_process_meshd.h"
#include "mesh/base/json_text.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_control_plane_traces_test {

constexpr int64_t kT0 = 1764075600'000000000;  // the fake clock's now
constexpr int64_t kMs = 1'000'000;
constexpr char kTrace[] = "1a1a1a1a00000000000000000000000a";

// web GET /checkout 0..100 ms -> api charge 10..40, api reserve 20..90 -> db 30..80 (error),
// `age_ms` before the clock's now.
std::string Checkout(int64_t age_ms) {
  struct S {
    const char *id, *parent, *service, *name;
    int64_t start, duration;
    const char* attributes;
  };
  const std::vector<S> spans = {
      {"000000000000000a", "", "web", "GET /checkout", 0, 100, ""},
      {"000000000000000b", "000000000000000a", "api", "charge", 10, 30, ""},
      {"000000000000000c", "000000000000000a", "api", "reserve", 20, 70,
       R"({"key":"cart.size","value":{"intValue":"3"}})"},
      {"000000000000000d", "000000000000000c", "db", "SELECT", 30, 50, ""},
  };
  std::string body;
  for (const S& s : spans) {
    const int64_t start = kT0 - age_ms * kMs + s.start * kMs;
    body += std::string(body.empty() ? "" : ",") + R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
            s.service + R"("}}]},"scopeSpans":[{"spans":[{"traceId":")" + kTrace + R"(","spanId":")" + s.id +
            R"(","parentSpanId":")" + s.parent + R"(","name":")" + s.name + R"(","kind":2,"startTimeUnixNano":")" +
            std::to_string(start) + R"(","endTimeUnixNano":")" + std::to_string(start + s.duration * kMs) +
            R"(","attributes":[)" + s.attributes + "]}]}]}";
  }
  return R"({"resourceSpans":[)" + body + "]}";
}

class TraceRoutesTest : public ::testing::Test {
 protected:
  void Post(int64_t age_ms) {
    const HttpClientResponse r = meshd_.Request("POST", "/v1/traces", Checkout(age_ms));
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.body, "{}");
  }

  std::vector<std::string> Listed(const std::string& query) {
    const HttpClientResponse r = meshd_.Request("GET", "/v1/traces?" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    Result<Json::Value> list = ParseJson(r.body);
    std::vector<std::string> ids;
    if (list.ok()) {
      for (const Json::Value& t : (*list)["traces"]) ids.push_back(t["trace_id"].asString());
    }
    return ids;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kT0};
  testing::InProcessMeshd meshd_{dir_.File("mesh.db"), {}, clock_};
};

TEST_F(TraceRoutesTest, TraceCarriesTheCriticalPathAndSelfTimePerService) {
  ASSERT_NO_FATAL_FAILURE(Post(1000));
  const HttpClientResponse r = meshd_.Request("GET", std::string("/v1/traces/") + kTrace);
  ASSERT_EQ(r.status, 200) << r.body;
  Result<Json::Value> trace = ParseJson(r.body);
  ASSERT_TRUE(trace.ok()) << r.body;
  std::vector<std::string> critical;
  for (const Json::Value& id : (*trace)["critical_path"]) critical.push_back(id.asString());
  // Root, then reserve (ends last), then db; charge ends after reserve starts: off the path.
  EXPECT_EQ(critical, (std::vector<std::string>{"000000000000000a", "000000000000000c", "000000000000000d"}));
  const Json::Value& stats = (*trace)["statistics"];
  EXPECT_EQ(stats["duration_ns"].asInt64(), 100 * kMs);
  EXPECT_EQ(stats["span_count"].asInt64(), 4);
  ASSERT_EQ(stats["services"].size(), 3u);
  // api 30 + 20 ms and db 50 ms tie (by name then); web 100 less 10..90 is 20 ms.
  EXPECT_EQ(stats["services"][0]["service"].asString(), "api");
  EXPECT_EQ(stats["services"][0]["span_count"].asInt64(), 2);
  EXPECT_EQ(stats["services"][0]["self_time_ns"].asInt64(), 50 * kMs);
  EXPECT_EQ(stats["services"][1]["service"].asString(), "db");
  EXPECT_EQ(stats["services"][2]["service"].asString(), "web");
  EXPECT_EQ(stats["services"][2]["self_time_ns"].asInt64(), 20 * kMs);
  EXPECT_EQ((*trace)["spans"].size(), 4u);
}

TEST_F(TraceRoutesTest, ListFiltersByAttributeAndFindsAnOlderTraceByPrefix) {
  ASSERT_NO_FATAL_FAILURE(Post(3 * 3600 * 1000));  // older than the default hour
  EXPECT_TRUE(Listed("attr=cart.size%3D3").empty());
  EXPECT_EQ(Listed("attr=cart.size%3D3&since=4h"), (std::vector<std::string>{kTrace}));
  EXPECT_TRUE(Listed("attr=cart.size%3D4&since=4h").empty());
  // A prefix is an index range of its own: no default lookback hides the trace it names.
  EXPECT_EQ(Listed("trace_prefix=1A1A1A1A"), (std::vector<std::string>{kTrace}));
  EXPECT_TRUE(Listed("trace_prefix=1a1a1a1b").empty());
}

TEST_F(TraceRoutesTest, ListRefusesABadParameterWithA400NamingIt) {
  for (const auto& [query, named] : std::vector<std::pair<std::string, std::string>>{
           {"attr=no-equals-sign", "parameter attr"},
           {"attr=%3Dvalue", "parameter attr"},
           {"errors=yes", "parameter errors"},
           {"trace_prefix=xyz", "parameter trace_prefix"},
           {"min_duration=soon", "parameter min_duration"}}) {
    const HttpClientResponse r = meshd_.Request("GET", "/v1/traces?" + query);
    EXPECT_EQ(r.status, 400) << query;
    Result<Json::Value> error = ParseJson(r.body);
    ASSERT_TRUE(error.ok()) << r.body;
    EXPECT_NE((*error)["error"].asString().find(named), std::string::npos) << r.body;
  }
}

}  // namespace controlplane_control_plane_traces_test
}  // namespace mesh

#include "mesh/span.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mesh/json_scan.h"
#include "mesh/json_text.h"

namespace mesh {
namespace {

using ::testing::ElementsAre;

Span FullSpan() {
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b7";
  s.parent_span_id = "00f067aa0ba902b6";
  s.trace_state = "congo=t61rcWkgMzE";
  s.service = "checkout";
  s.name = "POST /pay \"now\"";
  s.kind = SpanKind::kServer;
  s.start_ns = 1764075600'123456789;
  s.duration_ns = 250'000'000;
  s.status = SpanStatus::kError;
  s.status_message = "card declined";
  s.attributes = R"({"http.status_code":402,"retry":false})";
  s.events = R"([{"time_ns":1764075600200000000,"name":"exception","attributes":{}}])";
  s.resource = R"({"host.name":"node-1"})";
  s.scope = "io.opentelemetry.http";
  return s;
}

std::vector<std::string> Keys(const std::string& json) {
  std::vector<JsonMember> members;
  EXPECT_TRUE(ScanJsonObject(json, members).ok()) << json;
  std::vector<std::string> keys;
  for (const JsonMember& m : members) keys.emplace_back(m.key);
  return keys;
}

TEST(SpanJson, HasEveryFieldInOrder) {
  std::string out;
  AppendJson(out, FullSpan());
  EXPECT_THAT(Keys(out),
              ElementsAre("trace_id", "span_id", "parent_span_id", "service", "name", "kind",
                          "start", "start_ns", "duration_ns", "status", "status_message",
                          "trace_state", "scope", "attributes", "events", "resource"));
  Result<Json::Value> json = ParseJson(out);
  ASSERT_TRUE(json.ok()) << out;
  const Json::Value& j = *json;
  EXPECT_EQ(j["trace_id"].asString(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["span_id"].asString(), "00f067aa0ba902b7");
  EXPECT_EQ(j["parent_span_id"].asString(), "00f067aa0ba902b6");
  EXPECT_EQ(j["service"].asString(), "checkout");
  EXPECT_EQ(j["name"].asString(), "POST /pay \"now\"");
  EXPECT_EQ(j["kind"].asString(), "SERVER");
  EXPECT_EQ(j["start"].asString(), "2025-11-25T13:00:00.123456789Z");
  EXPECT_EQ(j["start_ns"].asInt64(), 1764075600'123456789);
  EXPECT_EQ(j["duration_ns"].asInt64(), 250'000'000);
  EXPECT_EQ(j["status"].asString(), "ERROR");
  EXPECT_EQ(j["status_message"].asString(), "card declined");
  EXPECT_EQ(j["trace_state"].asString(), "congo=t61rcWkgMzE");
  EXPECT_EQ(j["scope"].asString(), "io.opentelemetry.http");
  EXPECT_EQ(j["attributes"]["http.status_code"].asInt(), 402);
  EXPECT_EQ(j["events"][0]["name"].asString(), "exception");
  EXPECT_EQ(j["resource"]["host.name"].asString(), "node-1");
}

TEST(SpanJson, EmbedsAttributesEventsAndResourceVerbatim) {
  std::string out;
  AppendJson(out, FullSpan());
  EXPECT_NE(out.find(R"("attributes":{"http.status_code":402,"retry":false})"), std::string::npos);
  EXPECT_NE(out.find(R"("resource":{"host.name":"node-1"}})"), std::string::npos);
}

TEST(SpanJson, MinimalSpanHasDefaultsAndLeavesOutOptionalFields) {
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b7";
  s.service = "api";
  s.name = "op";
  std::string out;
  AppendJson(out, s);
  EXPECT_EQ(out,
            R"({"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7",)"
            R"("parent_span_id":"","service":"api","name":"op","kind":"UNSPECIFIED",)"
            R"("start":"1970-01-01T00:00:00.000Z","start_ns":0,"duration_ns":0,"status":"UNSET",)"
            R"("attributes":{},"events":[],"resource":{}})");
  EXPECT_TRUE(ParseJson(out).ok());
}

TEST(SpanJson, AppendsToWhatIsAlreadyThere) {
  std::string out = "[";
  AppendJson(out, FullSpan());
  out += ',';
  AppendJson(out, FullSpan());
  out += ']';
  Result<Json::Value> json = ParseJson(out);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->size(), 2u);
}

TEST(SpanJson, NamesEveryStatus) {
  const char* names[] = {"UNSET", "OK", "ERROR"};
  for (int code = 0; code <= 2; ++code) {
    Span s;
    s.status = static_cast<SpanStatus>(code);
    std::string out;
    AppendJson(out, s);
    Result<Json::Value> json = ParseJson(out);
    ASSERT_TRUE(json.ok());
    EXPECT_EQ((*json)["status"].asString(), names[code]);
  }
}

TEST(SpanKindName, NamesEveryKind) {
  EXPECT_EQ(SpanKindName(SpanKind::kUnspecified), "UNSPECIFIED");
  EXPECT_EQ(SpanKindName(SpanKind::kInternal), "INTERNAL");
  EXPECT_EQ(SpanKindName(SpanKind::kServer), "SERVER");
  EXPECT_EQ(SpanKindName(SpanKind::kClient), "CLIENT");
  EXPECT_EQ(SpanKindName(SpanKind::kProducer), "PRODUCER");
  EXPECT_EQ(SpanKindName(SpanKind::kConsumer), "CONSUMER");
  EXPECT_EQ(SpanKindName(static_cast<SpanKind>(42)), "UNSPECIFIED");
}

}  // namespace
}  // namespace mesh

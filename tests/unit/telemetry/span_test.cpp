#include "mesh/telemetry/span.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"

namespace mesh {
namespace telemetry_span_test {

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
  s.links = R"([{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","attributes":{"n":1}}])";
  s.resource = R"({"host.name":"node-1"})";
  s.scope = "io.opentelemetry.http";
  s.scope_version = "1.2.0";
  s.scope_attributes = R"({"lib.flavour":"fast"})";
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
                          "trace_state", "scope", "scope_version", "scope_attributes", "attributes",
                          "events", "links", "resource"));
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
  EXPECT_EQ(j["scope_version"].asString(), "1.2.0");
  EXPECT_EQ(j["scope_attributes"]["lib.flavour"].asString(), "fast");
  EXPECT_EQ(j["attributes"]["http.status_code"].asInt(), 402);
  EXPECT_EQ(j["events"][0]["name"].asString(), "exception");
  EXPECT_EQ(j["links"][0]["span_id"].asString(), "b7ad6b7169203331");
  EXPECT_EQ(j["links"][0]["attributes"]["n"].asInt(), 1);
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
            R"("attributes":{},"events":[],"links":[],"resource":{}})");
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

void ExpectSameSpan(const Span& got, const Span& want) {
  EXPECT_EQ(got.trace_id, want.trace_id);
  EXPECT_EQ(got.span_id, want.span_id);
  EXPECT_EQ(got.parent_span_id, want.parent_span_id);
  EXPECT_EQ(got.trace_state, want.trace_state);
  EXPECT_EQ(got.service, want.service);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.start_ns, want.start_ns);
  EXPECT_EQ(got.duration_ns, want.duration_ns);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.status_message, want.status_message);
  EXPECT_EQ(got.attributes, want.attributes);
  EXPECT_EQ(got.events, want.events);
  EXPECT_EQ(got.links, want.links);
  EXPECT_EQ(got.resource, want.resource);
  EXPECT_EQ(got.scope, want.scope);
  EXPECT_EQ(got.scope_version, want.scope_version);
  EXPECT_EQ(got.scope_attributes, want.scope_attributes);
}

Result<Span> RoundTrip(const Span& s) {
  std::string out;
  AppendJson(out, s);
  return DecodeSpanJson(out);
}

// A line of AppendJson output with one member's value replaced.
std::string WithMember(const std::string& key, const std::string& value) {
  std::string out;
  AppendJson(out, FullSpan());
  Result<Json::Value> json = ParseJson(out);
  EXPECT_TRUE(json.ok());
  std::string edited = "{";
  for (const std::string& name : json->getMemberNames()) {
    if (name == key) continue;
    std::string member;
    AppendJsonString(member, name);
    AppendJsonValue(member += ':', (*json)[name]);
    edited += (edited.size() > 1 ? "," : "") + member;
  }
  if (!value.empty()) {
    edited += (edited.size() > 1 ? ",\"" : "\"") + key + "\":" + value;
  }
  return edited + "}";
}

void ExpectInvalidField(const std::string& json, const std::string& field) {
  Result<Span> r = DecodeSpanJson(json);
  ASSERT_FALSE(r.ok()) << json;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
}

TEST(DecodeSpanJson, InvertsAppendJsonForASpanWithEveryField) {
  Result<Span> r = RoundTrip(FullSpan());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameSpan(*r, FullSpan());
}

TEST(DecodeSpanJson, InvertsAppendJsonForEveryKindAndStatus) {
  for (int kind = 0; kind <= 5; ++kind) {
    for (int status = 0; status <= 2; ++status) {
      Span s = FullSpan();
      s.kind = static_cast<SpanKind>(kind);
      s.status = static_cast<SpanStatus>(status);
      Result<Span> r = RoundTrip(s);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(r->kind, s.kind);
      EXPECT_EQ(r->status, s.status);
    }
  }
}

TEST(DecodeSpanJson, EmptyFieldsStayEmpty) {
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b7";
  Result<Span> r = RoundTrip(s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameSpan(*r, s);  // {} and [] read back as empty attributes, events and resource
}

TEST(DecodeSpanJson, KeepsUnicodeEscapesAndTypedNestedValues) {
  Span s = FullSpan();
  s.name = "caf\xc3\xa9 \xf0\x9f\x9a\x80 \"q\" \\ \n\t\x01";
  s.service = "\xe2\x82\xac";
  s.status_message = "line1\nline2";
  s.attributes = R"({"max":9223372036854775807,"min":-9223372036854775808,"d":2.0,"e":1e-7,)"
                 R"("s":"\u00e9\"","l":[1,[2.5,{"z":null,"a":true}]],"o":{"b":{},"a":[]}})";
  s.events =
      R"([{"time_ns":1,"name":"a","attributes":{"k":1.5}},{"time_ns":2,"name":"b","attributes":{}}])";
  Result<Span> r = RoundTrip(s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameSpan(*r, s);
}

TEST(DecodeSpanJson, AcceptsUppercaseIdsAndIgnoresUnknownFields) {
  Result<Span> r = DecodeSpanJson(
      R"({"trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736","span_id":"00F067AA0BA902B7",)"
      R"("start_ns":5,"future_field":[1,2]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r->span_id, "00f067aa0ba902b7");
  EXPECT_EQ(r->start_ns, 5);
  EXPECT_EQ(r->kind, SpanKind::kUnspecified);
  EXPECT_EQ(r->status, SpanStatus::kUnset);
}

TEST(DecodeSpanJson, RejectsTextThatIsNotAJsonObject) {
  for (const std::string bad :
       {"", "not json", "[]", "\"span\"", "{", R"({"trace_id":})", "{} {}"}) {
    Result<Span> r = DecodeSpanJson(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(DecodeSpanJson, RejectsBadIdsNamingTheField) {
  ExpectInvalidField(WithMember("trace_id", R"("4bf92f3577b34da6")"), "trace_id");
  ExpectInvalidField(WithMember("trace_id", R"("00000000000000000000000000000000")"), "trace_id");
  ExpectInvalidField(WithMember("trace_id", R"("4bf92f3577b34da6a3ce929d0e0e473x")"), "trace_id");
  ExpectInvalidField(WithMember("trace_id", "42"), "trace_id");
  ExpectInvalidField(WithMember("trace_id", ""), "trace_id");
  ExpectInvalidField(WithMember("span_id", R"("0000000000000000")"), "span_id");
  ExpectInvalidField(WithMember("span_id", ""), "span_id");
  ExpectInvalidField(WithMember("parent_span_id", R"("00f0")"), "parent_span_id");
}

TEST(DecodeSpanJson, RejectsMissingOrMalformedTimes) {
  ExpectInvalidField(WithMember("start_ns", ""), "start_ns");
  ExpectInvalidField(WithMember("start_ns", R"("1764075600")"), "start_ns");
  ExpectInvalidField(WithMember("start_ns", "1.5"), "start_ns");
  ExpectInvalidField(WithMember("start_ns", "99999999999999999999"), "start_ns");
  ExpectInvalidField(WithMember("duration_ns", "-1"), "duration_ns");
}

TEST(DecodeSpanJson, RejectsUnknownKindAndStatusNames) {
  ExpectInvalidField(WithMember("kind", R"("server")"), "kind");
  ExpectInvalidField(WithMember("kind", R"("BROKER")"), "kind");
  ExpectInvalidField(WithMember("kind", "2"), "kind");
  ExpectInvalidField(WithMember("status", R"("FAILED")"), "status");
}

TEST(DecodeSpanJson, RejectsContainersOfTheWrongShape) {
  ExpectInvalidField(WithMember("attributes", "[]"), "attributes");
  ExpectInvalidField(WithMember("attributes", R"("a=1")"), "attributes");
  ExpectInvalidField(WithMember("resource", "null"), "resource");
  ExpectInvalidField(WithMember("events", "{}"), "events");
  ExpectInvalidField(WithMember("events", "[1]"), "events");
  ExpectInvalidField(WithMember("name", "7"), "name");
}

TEST(DecodeSpanJson, EveryTruncationIsRejectedWithoutCrashing) {
  std::string out;
  AppendJson(out, FullSpan());
  for (size_t n = 0; n < out.size(); ++n) EXPECT_FALSE(DecodeSpanJson(out.substr(0, n)).ok()) << n;
}

TEST(DecodeSpanJson, InvalidUtf8IsSanitized) {
  std::string out;
  AppendJson(out, FullSpan());
  const std::string bad = out.replace(out.find("POST"), 4, "P\xff\xfeST");
  Result<Span> r = DecodeSpanJson(bad);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name.find('\xff'), std::string::npos);
  EXPECT_NE(r->name.find("ST /pay"), std::string::npos);
}

}  // namespace
}  // namespace mesh

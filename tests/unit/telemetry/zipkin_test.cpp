#include "mesh/telemetry/zipkin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mesh/base/json_text.h"
#include "mesh/base/utf8.h"
#include "deep_json.h"
#include "mesh/base/json_depth.h"
#include "test_support.h"

namespace mesh {
namespace telemetry_zipkin_test {

using ::testing::HasSubstr;

// Two spans as a Zipkin v2 tracer (Brave, zipkin-js) posts them.
const std::string kZipkinSpans = R"([
  {
    "traceId": "463ac35c9f6413ad48485a3953bb6124",
    "id": "a2fb4a1d1a96d312",
    "name": "get /api",
    "kind": "SERVER",
    "timestamp": 1764075600000000,
    "duration": 250000,
    "localEndpoint": {"serviceName": "frontend", "ipv4": "10.0.0.1"},
    "tags": {"http.method": "GET", "http.path": "/api", "error": "upstream timed out"},
    "annotations": [
      {"timestamp": 1764075600100000, "value": "ws"},
      {"timestamp": 1764075600200000, "value": "wr"}
    ]
  },
  {
    "traceId": "48485A3953BB6124",
    "parentId": "A2FB4A1D1A96D312",
    "id": "0000000000000b0b",
    "name": "query",
    "kind": "CLIENT",
    "timestamp": 1764075600010000,
    "duration": 5
  }
])";

std::string OneSpan(const std::string& members) {
  return R"([{"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"a2fb4a1d1a96d312","timestamp":1)" +
         members + "}]";
}

TEST(DecodeZipkinSpans, DecodesTheV2Model) {
  Result<OtlpTraces> r = DecodeZipkinSpans(kZipkinSpans);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rejected, 0);
  ASSERT_EQ(r->spans.size(), 2u);
  const Span& s = r->spans[0];
  EXPECT_EQ(s.trace_id, "463ac35c9f6413ad48485a3953bb6124");
  EXPECT_EQ(s.span_id, "a2fb4a1d1a96d312");
  EXPECT_EQ(s.parent_span_id, "");
  EXPECT_EQ(s.name, "get /api");
  EXPECT_EQ(s.service, "frontend");
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.start_ns, 1764075600000000000);  // microseconds to nanoseconds
  EXPECT_EQ(s.duration_ns, 250000000);
}

TEST(DecodeZipkinSpans, WidensSixtyFourBitTraceIdsAndLowercasesIds) {
  Result<OtlpTraces> r = DecodeZipkinSpans(kZipkinSpans);
  ASSERT_TRUE(r.ok());
  const Span& s = r->spans[1];
  EXPECT_EQ(s.trace_id, "000000000000000048485a3953bb6124");
  EXPECT_EQ(s.parent_span_id, "a2fb4a1d1a96d312");
  EXPECT_EQ(s.span_id, "0000000000000b0b");
  EXPECT_EQ(s.duration_ns, 5000);
}

TEST(DecodeZipkinSpans, MapsEveryKind) {
  const auto kind = [](const std::string& k) {
    Result<OtlpTraces> r = DecodeZipkinSpans(OneSpan(R"(,"kind":")" + k + "\""));
    EXPECT_TRUE(r.ok());
    return r.ok() && r->spans.size() == 1 ? r->spans[0].kind : SpanKind::kInternal;
  };
  EXPECT_EQ(kind("SERVER"), SpanKind::kServer);
  EXPECT_EQ(kind("CLIENT"), SpanKind::kClient);
  EXPECT_EQ(kind("PRODUCER"), SpanKind::kProducer);
  EXPECT_EQ(kind("CONSUMER"), SpanKind::kConsumer);
  EXPECT_EQ(kind("server"), SpanKind::kUnspecified);  // Zipkin kinds are uppercase
  EXPECT_EQ(kind(""), SpanKind::kUnspecified);
  Result<OtlpTraces> none = DecodeZipkinSpans(OneSpan(""));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->spans[0].kind, SpanKind::kUnspecified);
}

TEST(DecodeZipkinSpans, TagsBecomeStringAttributes) {
  Result<OtlpTraces> r = DecodeZipkinSpans(kZipkinSpans);
  ASSERT_TRUE(r.ok());
  Result<Json::Value> attributes = ParseJson(r->spans[0].attributes);
  ASSERT_TRUE(attributes.ok()) << r->spans[0].attributes;
  EXPECT_EQ((*attributes)["http.method"].asString(), "GET");
  EXPECT_EQ((*attributes)["http.path"].asString(), "/api");
  EXPECT_EQ((*attributes)["error"].asString(), "upstream timed out");
  EXPECT_EQ((*attributes)["net.host.ip"].asString(), "10.0.0.1");  // from localEndpoint
  EXPECT_EQ(attributes->size(), 4u);
  EXPECT_EQ(r->spans[1].attributes, "");  // no tags, no endpoint fields, no attributes
}

TEST(DecodeZipkinSpans, EndpointsBecomeTheCollectorsAttributesAndAreEncodedBack) {
  Result<OtlpTraces> r = DecodeZipkinSpans(OneSpan(
      R"(,"kind":"CLIENT","localEndpoint":{"serviceName":"web","ipv6":"::1","port":8080},)"
      R"("remoteEndpoint":{"serviceName":"db","ipv4":"10.0.0.9","port":5432},"tags":{"sql":"SELECT 1"})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].service, "web");
  EXPECT_EQ(r->spans[0].attributes,
            R"({"sql":"SELECT 1","peer.service":"db","net.peer.ip":"10.0.0.9","net.peer.port":5432,)"
            R"("net.host.ip":"::1","net.host.port":8080})");
  const std::string encoded = EncodeZipkinSpans(r->spans);
  EXPECT_THAT(encoded, HasSubstr(R"("localEndpoint":{"serviceName":"web","ipv6":"::1","port":8080})"));
  EXPECT_THAT(encoded, HasSubstr(R"("remoteEndpoint":{"serviceName":"db","ipv4":"10.0.0.9","port":5432})"));
  EXPECT_THAT(encoded, HasSubstr(R"("tags":{"sql":"SELECT 1"})"));
  Result<OtlpTraces> again = DecodeZipkinSpans(encoded);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->spans[0].attributes, r->spans[0].attributes);
}

TEST(DecodeZipkinSpans, ATagWinsOverAnEndpointFieldOfTheSameNameAndBadPortsAreLeftOut) {
  Result<OtlpTraces> r = DecodeZipkinSpans(OneSpan(
      R"(,"remoteEndpoint":{"serviceName":"db","port":70000},"tags":{"peer.service":"explicit"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spans[0].attributes, R"({"peer.service":"explicit"})");
}

TEST(DecodeZipkinSpans, ErrorTagMarksTheSpanFailed) {
  Result<OtlpTraces> r = DecodeZipkinSpans(kZipkinSpans);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spans[0].status, SpanStatus::kError);
  EXPECT_EQ(r->spans[0].status_message, "upstream timed out");
  EXPECT_EQ(r->spans[1].status, SpanStatus::kUnset);
  // An empty error tag still marks the failure (Brave sends "error":"" for some exceptions).
  Result<OtlpTraces> empty = DecodeZipkinSpans(OneSpan(R"(,"tags":{"error":""})"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->spans[0].status, SpanStatus::kError);
}

TEST(DecodeZipkinSpans, AnnotationsBecomeEvents) {
  Result<OtlpTraces> r = DecodeZipkinSpans(kZipkinSpans);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spans[0].events, R"([{"time_ns":1764075600100000000,"name":"ws","attributes":{}},)"
                                R"({"time_ns":1764075600200000000,"name":"wr","attributes":{}}])");
  EXPECT_EQ(r->spans[1].events, "");
}

TEST(DecodeZipkinSpans, MissingServiceIsUnknownServiceAndMissingDurationIsZero) {
  Result<OtlpTraces> r = DecodeZipkinSpans(OneSpan(""));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].service, "unknown_service");
  EXPECT_EQ(r->spans[0].duration_ns, 0);
  EXPECT_EQ(r->spans[0].name, "");
}

TEST(DecodeZipkinSpans, BadIdsAreRejectedAndCountedWhileGoodSpansAreKept) {
  const std::string body = R"([
    {"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"a2fb4a1d1a96d312","timestamp":1},
    {"traceId":"463ac35c9f6413ad48485a3953bb612","id":"a2fb4a1d1a96d312","timestamp":1},
    {"traceId":"0000000000000000","id":"a2fb4a1d1a96d312","timestamp":1},
    {"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d31","timestamp":1},
    {"traceId":"463ac35c9f6413ad","id":"zzfb4a1d1a96d312","timestamp":1},
    {"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","parentId":"12","timestamp":1},
    {"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312"},
    {"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":"1"},
    {"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"duration":1.5},
    "not a span",
    {"traceId":"463ac35c9f6413ad","id":"b2fb4a1d1a96d312","timestamp":2}
  ])";
  Result<OtlpTraces> r = DecodeZipkinSpans(body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 2u);
  EXPECT_EQ(r->spans[0].span_id, "a2fb4a1d1a96d312");
  EXPECT_EQ(r->spans[1].span_id, "b2fb4a1d1a96d312");
  EXPECT_EQ(r->rejected, 9);
  EXPECT_EQ(r->first_error,
            "invalid traceId '463ac35c9f6413ad48485a3953bb612' (expected 16 or 32 hex digits)");
}

TEST(DecodeZipkinSpans, EachRejectionSaysWhy) {
  const auto why = [](const std::string& body) {
    Result<OtlpTraces> r = DecodeZipkinSpans(body);
    EXPECT_TRUE(r.ok()) << body;
    EXPECT_EQ(r.ok() ? r->rejected : -1, 1) << body;
    return r.ok() ? r->first_error : r.status().message();
  };
  EXPECT_THAT(why(R"([{"traceId":"463ac35c9f6413ad","id":"12","timestamp":1}])"),
              HasSubstr("invalid id '12'"));
  EXPECT_THAT(
      why(R"([{"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","parentId":"x","timestamp":1}])"),
      HasSubstr("invalid parentId 'x'"));
  EXPECT_THAT(why(R"([{"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312"}])"),
              HasSubstr("needs integer timestamp and duration in microseconds"));
  EXPECT_THAT(why("[1]"), HasSubstr("span is not an object"));
}

TEST(DecodeZipkinSpans, BodyThatIsNotAJsonArrayIsAnError) {
  for (const char* body : {"{}", R"({"traceId":"463ac35c9f6413ad"})", "1", "", "[", "nope"}) {
    Result<OtlpTraces> r = DecodeZipkinSpans(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << body;
  }
  EXPECT_THAT(DecodeZipkinSpans("{}").status().message(), HasSubstr("expected a JSON array"));
}

TEST(DecodeZipkinSpans, EmptyArrayIsNoSpans) {
  Result<OtlpTraces> r = DecodeZipkinSpans("[]");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->spans.empty());
  EXPECT_EQ(r->rejected, 0);
}

TEST(DecodeZipkinSpans, InvalidUtf8IsSanitized) {
  Result<OtlpTraces> r =
      DecodeZipkinSpans(OneSpan(",\"name\":\"a\xff\",\"localEndpoint\":{\"serviceName\":\"s\xc3\"},"
                                "\"tags\":{\"k\xfe\":\"v\xfd\"}"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_TRUE(IsCleanUtf8(r->spans[0].name));
  EXPECT_TRUE(IsCleanUtf8(r->spans[0].service));
  EXPECT_TRUE(IsCleanUtf8(r->spans[0].attributes));
}

// Valid JSON with a value of the wrong type where the decoder reads a field: the span is
// rejected (or the field ignored), the batch goes on, and nothing throws.
TEST(DecodeZipkinSpans, WrongTypesInsideASpanAreRejectedNotThrown) {
  const char* spans[] = {
      R"({"traceId":{},"id":"a2fb4a1d1a96d312","timestamp":1})",
      R"({"traceId":"463ac35c9f6413ad","id":[1],"timestamp":1})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","parentId":{"a":1},"timestamp":1})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":18446744073709551615})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":9223372036854775807})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"duration":-5})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"name":[1]})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"kind":{}})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"localEndpoint":"x"})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"localEndpoint":{"serviceName":{}}})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"tags":{"a":{}}})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"tags":{"error":[1]}})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"annotations":[1]})",
      R"({"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","timestamp":1,"annotations":[{"timestamp":"x","value":{}}]})",
  };
  for (const char* span : spans) {
    const std::string body =
        std::string("[") + span +
        R"(,{"traceId":"463ac35c9f6413ad","id":"b2fb4a1d1a96d312","timestamp":2}])";
    Result<OtlpTraces> r = DecodeZipkinSpans(body);
    ASSERT_TRUE(r.ok()) << span;
    EXPECT_EQ(r->spans.size() + r->rejected, 2u) << span;
    EXPECT_EQ(r->spans.back().span_id, "b2fb4a1d1a96d312") << span;
  }
}

TEST(DecodeZipkinSpans, NumericTagValuesAreKeptAsText) {
  Result<OtlpTraces> r =
      DecodeZipkinSpans(OneSpan(R"(,"tags":{"http.status_code":503,"ok":true})"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].attributes, R"({"http.status_code":"503","ok":"true"})");
}

TEST(DecodeZipkinSpans, TruncationsAndGarbageNeverCrash) {
  for (size_t len = 0; len < kZipkinSpans.size(); ++len) {
    EXPECT_FALSE(DecodeZipkinSpans(std::string_view(kZipkinSpans).substr(0, len)).ok()) << len;
  }
  testing::Garbage garbage(11, R"({}[]":,0123456789abcdeftraceIdtimestamptags)");
  for (int i = 0; i < 3000; ++i) DecodeZipkinSpans(garbage.Next(64));
  for (size_t i = 0; i < kZipkinSpans.size(); ++i) {
    for (const char c : std::string("{}[]\",:0-x")) {
      std::string mutated = kZipkinSpans;
      mutated[i] = c;
      DecodeZipkinSpans(mutated);
    }
  }
}

Span FullSpan() {
  Span s;
  s.trace_id = "463ac35c9f6413ad48485a3953bb6124";
  s.span_id = "a2fb4a1d1a96d312";
  s.parent_span_id = "0000000000000b0b";
  s.trace_state = "vendor=x";
  s.service = "front \"end\" \xc3\xa9";
  s.name = "GET /api\n\xf0\x9f\x9a\x80";
  s.kind = SpanKind::kServer;
  s.start_ns = 1764075600123456789;
  s.duration_ns = 250000999;
  s.status = SpanStatus::kError;
  s.status_message = "upstream \"timed\" out";
  s.attributes = R"({"http.method":"GET","http.status_code":504,"cached":false,"ratio":0.5,)"
                 R"("list":[1,"a"],"obj":{"k":"v"},"esc":"q\"\\\u00e9"})";
  s.events = R"([{"time_ns":1764075600200000999,"name":"retry","attributes":{"n":1}}])";
  s.resource = R"({"host.name":"node-1"})";
  s.scope = "io.opentelemetry.http";
  return s;
}

TEST(EncodeZipkinSpans, DecodeKeepsIdsParentsServicesNamesKindsErrorsAndMicroseconds) {
  const Span want = FullSpan();
  const std::string encoded = EncodeZipkinSpans({want});
  Result<OtlpTraces> r = DecodeZipkinSpans(encoded);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << encoded;
  EXPECT_EQ(r->rejected, 0) << r->first_error;
  ASSERT_EQ(r->spans.size(), 1u);
  const Span& got = r->spans[0];
  EXPECT_EQ(got.trace_id, want.trace_id);
  EXPECT_EQ(got.span_id, want.span_id);
  EXPECT_EQ(got.parent_span_id, want.parent_span_id);
  EXPECT_EQ(got.service, want.service);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.kind, SpanKind::kServer);
  EXPECT_EQ(got.status, SpanStatus::kError);
  EXPECT_EQ(got.status_message, want.status_message);
  EXPECT_EQ(got.start_ns, 1764075600123456000);
  EXPECT_EQ(got.duration_ns, 250000000);
  EXPECT_EQ(got.events, R"([{"time_ns":1764075600200000000,"name":"retry","attributes":{}}])");
}

TEST(EncodeZipkinSpans, RoundsTimesDownToTheMicrosecondAndKeepsNonZeroDurationsAtLeastOne) {
  Span s = FullSpan();
  const auto micros = [&](int64_t start_ns, int64_t duration_ns) {
    s.start_ns = start_ns;
    s.duration_ns = duration_ns;
    Result<Json::Value> json = ParseJson(EncodeZipkinSpans({s}));
    EXPECT_TRUE(json.ok());
    return std::make_pair((*json)[0]["timestamp"].asInt64(), (*json)[0]["duration"].asInt64());
  };
  EXPECT_EQ(micros(1764075600123456999, 1999),
            std::make_pair(int64_t{1764075600123456}, int64_t{1}));
  EXPECT_EQ(micros(1000, 999), std::make_pair(int64_t{1}, int64_t{1}));
  EXPECT_EQ(micros(999, 1), std::make_pair(int64_t{0}, int64_t{1}));
  EXPECT_EQ(micros(5000, 0), std::make_pair(int64_t{5}, int64_t{0}));
  EXPECT_EQ(micros(-5000, -3), std::make_pair(int64_t{0}, int64_t{0}));  // no Zipkin form
}

TEST(EncodeZipkinSpans, TagsAreStringsWithNonStringValuesAsTheirJsonText) {
  Span s = FullSpan();
  s.status = SpanStatus::kUnset;
  Result<Json::Value> json = ParseJson(EncodeZipkinSpans({s}));
  ASSERT_TRUE(json.ok());
  const Json::Value& tags = (*json)[0]["tags"];
  EXPECT_EQ(tags["http.method"].asString(), "GET");
  EXPECT_EQ(tags["http.status_code"].asString(), "504");
  EXPECT_EQ(tags["cached"].asString(), "false");
  EXPECT_EQ(tags["ratio"].asString(), "0.5");
  EXPECT_EQ(tags["list"].asString(), R"([1,"a"])");
  EXPECT_EQ(tags["obj"].asString(), R"({"k":"v"})");
  EXPECT_EQ(tags["esc"].asString(), "q\"\\\xc3\xa9");
  EXPECT_FALSE(tags.isMember("error"));
}

TEST(EncodeZipkinSpans, ErrorSpanIsTaggedWithItsMessageAndOnlyThen) {
  Span failed = FullSpan();
  failed.attributes = R"({"error":"from an attribute","a":1})";
  Span fine = failed;
  fine.span_id = "a2fb4a1d1a96d313";
  fine.status = SpanStatus::kOk;
  Span silent = failed;
  silent.span_id = "a2fb4a1d1a96d314";
  silent.status_message.clear();
  Result<Json::Value> json = ParseJson(EncodeZipkinSpans({failed, fine, silent}));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)[0]["tags"]["error"].asString(), "upstream \"timed\" out");
  EXPECT_EQ((*json)[0]["tags"].size(), 2u);  // one "error" tag, from the status
  EXPECT_FALSE((*json)[1]["tags"].isMember("error"));
  EXPECT_TRUE((*json)[2]["tags"]["error"].isString());

  Result<OtlpTraces> r = DecodeZipkinSpans(EncodeZipkinSpans({failed, fine, silent}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 3u);
  EXPECT_EQ(r->spans[0].status, SpanStatus::kError);
  EXPECT_EQ(r->spans[1].status, SpanStatus::kUnset);  // Zipkin has no "ok"
  EXPECT_EQ(r->spans[2].status, SpanStatus::kError);
  EXPECT_EQ(r->spans[2].status_message, "");
}

TEST(EncodeZipkinSpans, InternalAndUnspecifiedSpansHaveNoKind) {
  std::vector<Span> spans;
  for (int kind = 0; kind <= 5; ++kind) {
    Span s = FullSpan();
    s.kind = static_cast<SpanKind>(kind);
    spans.push_back(s);
  }
  const std::string encoded = EncodeZipkinSpans(spans);
  Result<Json::Value> json = ParseJson(encoded);
  ASSERT_TRUE(json.ok());
  EXPECT_FALSE((*json)[0].isMember("kind"));
  EXPECT_FALSE((*json)[1].isMember("kind"));
  EXPECT_EQ((*json)[2]["kind"].asString(), "SERVER");
  EXPECT_EQ((*json)[3]["kind"].asString(), "CLIENT");
  EXPECT_EQ((*json)[4]["kind"].asString(), "PRODUCER");
  EXPECT_EQ((*json)[5]["kind"].asString(), "CONSUMER");
  Result<OtlpTraces> r = DecodeZipkinSpans(encoded);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 6u);
  EXPECT_EQ(r->spans[1].kind, SpanKind::kUnspecified);
  for (int kind = 2; kind <= 5; ++kind) EXPECT_EQ(r->spans[kind].kind, static_cast<SpanKind>(kind));
}

TEST(EncodeZipkinSpans, RootSpanWithoutAttributesOrEventsHasNoParentTagsOrAnnotations) {
  Span s;
  s.trace_id = "463ac35c9f6413ad48485a3953bb6124";
  s.span_id = "a2fb4a1d1a96d312";
  s.service = "api";
  s.name = "op";
  s.start_ns = 2000;
  EXPECT_EQ(EncodeZipkinSpans({s}),
            R"([{"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"a2fb4a1d1a96d312","name":"op",)"
            R"("timestamp":2,"duration":0,"localEndpoint":{"serviceName":"api"}}])");
}

TEST(EncodeZipkinSpans, EmptyInputIsAnEmptyArray) {
  EXPECT_EQ(EncodeZipkinSpans({}), "[]");
  Result<OtlpTraces> r = DecodeZipkinSpans(EncodeZipkinSpans({}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->spans.empty());
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace telemetry_zipkin_test {

TEST(DecodeZipkinSpans, RefusesNestingPastTheBoundAndAcceptsItOnASmallStack) {
  testing::RunOnSmallStack([] {
    // The spans array holds the span objects: a member of the first span adds to two levels.
    const std::string at_bound = "[" + testing::WithNestedMember(kZipkinSpans.substr(kZipkinSpans.find('{')),
                                                                 kMaxJsonDepth - 2);
    Result<OtlpTraces> ok = DecodeZipkinSpans(at_bound);
    ASSERT_TRUE(ok.ok()) << ok.status().message();
    EXPECT_EQ(ok->rejected, 0);
    const std::string past = "[" + testing::WithNestedMember(kZipkinSpans.substr(kZipkinSpans.find('{')),
                                                             kMaxJsonDepth - 1);
    for (const std::string& deep : {past, testing::NestedObjects(1000), std::string(100'000, '[')}) {
      EXPECT_THAT(DecodeZipkinSpans(deep).status().message(), HasSubstr("nested deeper than 64 levels"));
    }
  });
}

}  // namespace
}  // namespace mesh

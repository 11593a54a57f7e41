#include "mesh/telemetry/otlp.h"

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
namespace telemetry_otlp_test {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTraceId[] = "5b8efff798038103d269b633813fc60c";
constexpr char kRootId[] = "eee19b7ec3c1b174";
constexpr char kChildId[] = "eee19b7ec3c1b173";
constexpr char kGrandchildId[] = "eee19b7ec3c1b172";

// What an OpenTelemetry SDK exporter sends: one resource with service.name and another
// attribute, one scope, three nested spans carrying every AnyValue kind, events and statuses.
const std::string kRealisticTraces = R"({
  "resourceSpans": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "checkout"}},
      {"key": "host.name", "value": {"stringValue": "node-1"}},
      {"key": "process.pid", "value": {"intValue": "4242"}}
    ]},
    "scopeSpans": [{
      "scope": {"name": "io.opentelemetry.http", "version": "1.2.0"},
      "spans": [
        {
          "traceId": "5b8efff798038103d269b633813fc60c",
          "spanId": "eee19b7ec3c1b174",
          "traceState": "vendor=x",
          "name": "POST /checkout",
          "kind": 2,
          "startTimeUnixNano": "1764075600000000000",
          "endTimeUnixNano": "1764075600250000000",
          "attributes": [
            {"key": "http.method", "value": {"stringValue": "POST"}},
            {"key": "http.status_code", "value": {"intValue": "500"}},
            {"key": "retries", "value": {"intValue": 3}},
            {"key": "ratio", "value": {"doubleValue": 0.25}},
            {"key": "whole", "value": {"doubleValue": 2}},
            {"key": "cached", "value": {"boolValue": false}},
            {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "7"}, {"boolValue": true}]}}},
            {"key": "user", "value": {"kvlistValue": {"values": [{"key": "id", "value": {"intValue": "12"}}, {"key": "name", "value": {"stringValue": "ann"}}]}}},
            {"key": "blob", "value": {"bytesValue": "aGVsbG8="}},
            {"key": "empty", "value": {}}
          ],
          "events": [
            {"timeUnixNano": "1764075600100000000", "name": "retry", "attributes": [{"key": "attempt", "value": {"intValue": "2"}}]},
            {"timeUnixNano": "1764075600200000000", "name": "exception"}
          ],
          "status": {"code": 2, "message": "card declined"}
        },
        {
          "traceId": "5b8efff798038103d269b633813fc60c",
          "spanId": "eee19b7ec3c1b173",
          "parentSpanId": "eee19b7ec3c1b174",
          "name": "charge",
          "kind": 3,
          "startTimeUnixNano": "1764075600010000000",
          "endTimeUnixNano": "1764075600200000000",
          "status": {"code": 1}
        },
        {
          "traceId": "5b8efff798038103d269b633813fc60c",
          "spanId": "eee19b7ec3c1b172",
          "parentSpanId": "eee19b7ec3c1b173",
          "name": "SELECT cards",
          "kind": 1,
          "startTimeUnixNano": 1764075600020000000,
          "endTimeUnixNano": 1764075600030000000
        }
      ]
    }]
  }]
})";

// A body with one resource of `service` and the given spans (JSON objects) in one scope.
std::string TracesBody(const std::vector<std::string>& spans, const std::string& service = "api") {
  std::string body =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
      service + R"("}}]},"scopeSpans":[{"spans":[)";
  for (size_t i = 0; i < spans.size(); ++i) body += (i ? "," : "") + spans[i];
  return body + "]}]}]}";
}

std::string SpanJson(const std::string& trace_id, const std::string& span_id,
                     const std::string& extra = "") {
  return R"({"traceId":")" + trace_id + R"(","spanId":")" + span_id +
         R"(","name":"op","startTimeUnixNano":"1000","endTimeUnixNano":"3000")" + extra + "}";
}

TEST(DecodeOtlpTraces, DecodesARealisticExportRequest) {
  Result<OtlpTraces> r = DecodeOtlpTraces(kRealisticTraces);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rejected, 0);
  EXPECT_EQ(r->first_error, "");
  ASSERT_EQ(r->spans.size(), 3u);

  const Span& root = r->spans[0];
  EXPECT_EQ(root.trace_id, kTraceId);
  EXPECT_EQ(root.span_id, kRootId);
  EXPECT_EQ(root.parent_span_id, "");
  EXPECT_EQ(root.trace_state, "vendor=x");
  EXPECT_EQ(root.service, "checkout");
  EXPECT_EQ(root.name, "POST /checkout");
  EXPECT_EQ(root.kind, SpanKind::kServer);
  EXPECT_EQ(root.start_ns, 1764075600000000000);
  EXPECT_EQ(root.duration_ns, 250000000);
  EXPECT_EQ(root.status, SpanStatus::kError);
  EXPECT_EQ(root.status_message, "card declined");
  EXPECT_EQ(root.scope, "io.opentelemetry.http");
  EXPECT_EQ(root.scope_version, "1.2.0");
  // service.name is the span's service, not repeated among the resource attributes.
  EXPECT_EQ(root.resource, R"({"host.name":"node-1","process.pid":4242})");

  const Span& child = r->spans[1];
  EXPECT_EQ(child.parent_span_id, kRootId);
  EXPECT_EQ(child.kind, SpanKind::kClient);
  EXPECT_EQ(child.status, SpanStatus::kOk);
  EXPECT_EQ(child.status_message, "");
  EXPECT_EQ(child.duration_ns, 190000000);
  EXPECT_EQ(child.attributes, "");
  EXPECT_EQ(child.events, "");
  EXPECT_EQ(child.service, "checkout");

  const Span& grandchild = r->spans[2];
  EXPECT_EQ(grandchild.span_id, kGrandchildId);
  EXPECT_EQ(grandchild.parent_span_id, kChildId);
  EXPECT_EQ(grandchild.kind, SpanKind::kInternal);
  EXPECT_EQ(grandchild.status, SpanStatus::kUnset);
  // Times sent as plain JSON numbers, as some exporters do.
  EXPECT_EQ(grandchild.start_ns, 1764075600020000000);
  EXPECT_EQ(grandchild.duration_ns, 10000000);
}

TEST(DecodeOtlpTraces, MapsEveryAnyValueKindToPlainJson) {
  Result<OtlpTraces> r = DecodeOtlpTraces(kRealisticTraces);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spans[0].attributes,
            R"({"http.method":"POST","http.status_code":500,"retries":3,"ratio":0.25,)"
            R"("whole":2.0,"cached":false,"tags":["a",7,true],"user":{"id":12,"name":"ann"},)"
            R"("blob":{"bytesValue":"aGVsbG8="},"empty":null})");
  // And it is JSON a reader takes back with the right types.
  Result<Json::Value> parsed = ParseJson(r->spans[0].attributes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE((*parsed)["http.status_code"].isIntegral());
  EXPECT_TRUE((*parsed)["whole"].isDouble());
  EXPECT_EQ((*parsed)["whole"].type(), Json::realValue);  // an integral double stays "2.0"
  EXPECT_TRUE((*parsed)["cached"].isBool());
  EXPECT_TRUE((*parsed)["user"].isObject());
}

TEST(DecodeOtlpTraces, IntValueMayBeAStringOrANumber) {
  const std::string attrs =
      R"(,"attributes":[{"key":"s","value":{"intValue":"-9223372036854775808"}},)"
      R"({"key":"n","value":{"intValue":9007199254740993}},)"
      R"({"key":"e","value":{"intValue":1.5e3}}])";
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody({SpanJson(kTraceId, kRootId, attrs)}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].attributes, R"({"s":-9223372036854775808,"n":9007199254740993,"e":1500})");
}

TEST(DecodeOtlpTraces, ASpanWithMalformedFieldsIsRejectedAndTheOthersKept) {
  const std::vector<std::string> bad = {
      R"(,"attributes":[{"key":"bad","value":{"intValue":"12abc"}}])",
      R"(,"attributes":[{"key":"big","value":{"intValue":"99999999999999999999999"}}])",
      R"(,"attributes":[{"key":"arr","value":{"intValue":[1,2]}}])",
      R"(,"attributes":"x")",
      R"(,"attributes":[{"key":1,"value":{}}])",
      R"(,"attributes":[{"key":"l","value":{"arrayValue":{"values":5}}}])",
      R"(,"kind":"server")",
      R"(,"kind":1e999)",
      R"(,"kind":6)",
      R"(,"status":{"code":99999999999999999999})",
  };
  const char* ids[] = {"0000000000000011", "0000000000000012", "0000000000000013", "0000000000000014",
                       "0000000000000015", "0000000000000016", "0000000000000017", "0000000000000018",
                       "0000000000000019", "000000000000001a", "000000000000001b"};
  std::vector<std::string> spans = {SpanJson(kTraceId, kRootId, "")};
  for (size_t i = 0; i < bad.size(); ++i) spans.push_back(SpanJson(kTraceId, ids[i], bad[i]));
  spans.push_back(R"({"traceId":")" + std::string(kTraceId) + R"(","spanId":")" + ids[bad.size()] +
                  R"(","name":7,"startTimeUnixNano":"1000","endTimeUnixNano":"3000"})");
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody(spans));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].span_id, kRootId);
  EXPECT_EQ(r->rejected, static_cast<int64_t>(bad.size() + 1));
  EXPECT_NE(r->first_error.find("intValue must be a 64-bit integer"), std::string::npos) << r->first_error;
}

TEST(DecodeOtlpTraces, ListsThatAreNotListsMakeTheRequestMalformed) {
  for (const char* body : {R"({"resourceSpans":[{"scopeSpans":"no"}]})",
                           R"({"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]})"}) {
    Result<OtlpTraces> r = DecodeOtlpTraces(body);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << body;
    EXPECT_NE(r.status().message().find("must be an array"), std::string::npos) << r.status().message();
  }
}

TEST(DecodeOtlpTraces, NonFiniteDoublesBecomeNull) {
  const std::string attrs =
      R"(,"attributes":[{"key":"nan","value":{"doubleValue":"NaN"}},)"
      R"({"key":"inf","value":{"doubleValue":"Infinity"}},{"key":"small","value":{"doubleValue":1e-7}}])";
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody({SpanJson(kTraceId, kRootId, attrs)}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spans[0].attributes, R"({"nan":null,"inf":null,"small":1e-07})");
}

TEST(DecodeOtlpTraces, EventsKeepTimeNameAndAttributes) {
  Result<OtlpTraces> r = DecodeOtlpTraces(kRealisticTraces);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spans[0].events,
            R"([{"time_ns":1764075600100000000,"name":"retry","attributes":{"attempt":2}},)"
            R"({"time_ns":1764075600200000000,"name":"exception","attributes":{}}])");
}

TEST(DecodeOtlpTraces, EveryKindAndStatusCodeMaps) {
  std::vector<std::string> spans;
  const char* ids[] = {"0000000000000001", "0000000000000002", "0000000000000003",
                       "0000000000000004", "0000000000000005", "0000000000000006",
                       "0000000000000007"};
  for (int k = 0; k <= 5; ++k) {
    spans.push_back(SpanJson(
        kTraceId, ids[k],
        ",\"kind\":" + std::to_string(k) + ",\"status\":{\"code\":" + std::to_string(k % 3) + "}"));
  }
  // protojson's enum names are accepted too.
  spans.push_back(SpanJson(kTraceId, ids[6], R"(,"kind":"SPAN_KIND_CLIENT","status":{"code":"STATUS_CODE_ERROR"})"));
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody(spans));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 7u);
  EXPECT_EQ(r->spans[0].kind, SpanKind::kUnspecified);
  EXPECT_EQ(r->spans[1].kind, SpanKind::kInternal);
  EXPECT_EQ(r->spans[2].kind, SpanKind::kServer);
  EXPECT_EQ(r->spans[3].kind, SpanKind::kClient);
  EXPECT_EQ(r->spans[4].kind, SpanKind::kProducer);
  EXPECT_EQ(r->spans[5].kind, SpanKind::kConsumer);
  EXPECT_EQ(r->spans[6].kind, SpanKind::kClient);
  EXPECT_EQ(r->spans[6].status, SpanStatus::kError);
  EXPECT_EQ(r->spans[0].status, SpanStatus::kUnset);
  EXPECT_EQ(r->spans[1].status, SpanStatus::kOk);
  EXPECT_EQ(r->spans[2].status, SpanStatus::kError);
  EXPECT_EQ(r->spans[3].status, SpanStatus::kUnset);
}

TEST(DecodeOtlpTraces, AcceptsLegacyInstrumentationLibrarySpans) {
  const std::string body =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"old"}}]},)"
      R"("instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"legacy-lib"},"spans":[)" +
      SpanJson(kTraceId, kRootId) + "]}]}]}";
  Result<OtlpTraces> r = DecodeOtlpTraces(body);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].service, "old");
  EXPECT_EQ(r->spans[0].scope, "legacy-lib");
}

TEST(DecodeOtlpTraces, ServiceDefaultsToUnknownService) {
  const std::string body =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" + SpanJson(kTraceId, kRootId) + "]}]}]}";
  Result<OtlpTraces> r = DecodeOtlpTraces(body);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].service, "unknown_service");
  EXPECT_EQ(r->spans[0].resource, "");
  EXPECT_EQ(r->spans[0].scope, "");
}

TEST(DecodeOtlpTraces, SeveralResourcesKeepTheirOwnService) {
  const std::string two =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"spans":[)" +
      SpanJson(kTraceId, kRootId) +
      R"(]}]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},"scopeSpans":[{"spans":[)" +
      SpanJson(kTraceId, kChildId, R"(,"parentSpanId":"eee19b7ec3c1b174")") + "]}]}]}";
  Result<OtlpTraces> r = DecodeOtlpTraces(two);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 2u);
  EXPECT_EQ(r->spans[0].service, "a");
  EXPECT_EQ(r->spans[1].service, "b");
}

TEST(DecodeOtlpTraces, UppercaseHexIdsAreAcceptedAndLowercased) {
  Result<OtlpTraces> r =
      DecodeOtlpTraces(TracesBody({SpanJson("5B8EFFF798038103D269B633813FC60C", "EEE19B7EC3C1B173",
                                            R"(,"parentSpanId":"EEE19B7EC3C1B174")")}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].trace_id, kTraceId);
  EXPECT_EQ(r->spans[0].span_id, kChildId);
  EXPECT_EQ(r->spans[0].parent_span_id, kRootId);
}

TEST(DecodeOtlpTraces, InvalidSpansAreCountedWhileValidOnesAreKept) {
  const std::vector<std::string> spans = {
      SpanJson(kTraceId, "0000000000000001"),
      SpanJson("5b8efff798038103d269b633813fc60", "0000000000000002"),   // 31 digits
      SpanJson(kTraceId, "000000000000000g"),                            // not hex
      SpanJson("00000000000000000000000000000000", "0000000000000003"),  // all zero
      SpanJson(kTraceId, "0000000000000000"),                            // all-zero span id
      SpanJson(kTraceId, "0000000000000004", R"(,"parentSpanId":"xyz")"),
      R"({"traceId":")" + std::string(kTraceId) +
          R"(","spanId":"0000000000000005","name":"no times"})",
      R"({"traceId":")" + std::string(kTraceId) +
          R"(","spanId":"0000000000000006","startTimeUnixNano":"12x","endTimeUnixNano":"20"})",
      R"("not an object")",
      SpanJson(kTraceId, "0000000000000007"),
  };
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody(spans));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 2u);
  EXPECT_EQ(r->spans[0].span_id, "0000000000000001");
  EXPECT_EQ(r->spans[1].span_id, "0000000000000007");
  EXPECT_EQ(r->rejected, 8);
  EXPECT_THAT(r->first_error, StartsWith("invalid traceId '5b8efff798038103d269b633813fc60'"));
}

TEST(DecodeOtlpTraces, EachRejectionSaysWhy) {
  const auto first_error = [](const std::string& span) {
    Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody({span}));
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->rejected, 1);
    EXPECT_TRUE(r->spans.empty());
    return r->first_error;
  };
  EXPECT_THAT(first_error(SpanJson(kTraceId, "abc")), HasSubstr("invalid spanId 'abc'"));
  EXPECT_THAT(first_error(SpanJson(kTraceId, kChildId, R"(,"parentSpanId":"0000000000000000")")),
              HasSubstr("invalid parentSpanId"));
  EXPECT_THAT(first_error(R"({"traceId":")" + std::string(kTraceId) + R"(","spanId":")" + kRootId +
                          R"(","startTimeUnixNano":"5"})"),
              HasSubstr("has no valid startTimeUnixNano/endTimeUnixNano"));
  EXPECT_THAT(first_error("[]"), HasSubstr("span is not an object"));
}

TEST(DecodeOtlpTraces, RefusesLoneSurrogatesAndNulInAttributeKeysInsteadOfAlteringThem) {
  const auto outcome = [](const std::string& attributes) {
    Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody({SpanJson(kTraceId, kRootId, ",\"attributes\":" + attributes)}));
    EXPECT_TRUE(r.ok());
    return r->rejected == 1 ? r->first_error : std::string("stored");
  };
  EXPECT_THAT(outcome(R"([{"key":"k","value":{"stringValue":"\ud800"}}])"), HasSubstr("lone UTF-16 surrogate (\\ud800)"));
  EXPECT_THAT(outcome(R"([{"key":"k","value":{"stringValue":"a\udc00"}}])"), HasSubstr("lone UTF-16 surrogate"));
  EXPECT_THAT(outcome(R"([{"key":"k\u0000","value":{"stringValue":"v"}}])"), HasSubstr("attribute key: a name must not contain NUL"));
  EXPECT_THAT(outcome(R"([{"key":"k\ud83d","value":{"stringValue":"v"}}])"), HasSubstr("attribute key: a lone UTF-16 surrogate"));
  // What is fine stays fine: a surrogate pair, an escaped backslash before "u", NUL in a value.
  EXPECT_EQ(outcome(R"([{"key":"k","value":{"stringValue":"\ud83d\ude00"}}])"), "stored");
  EXPECT_EQ(outcome(R"([{"key":"k\\ud800","value":{"stringValue":"\\ud800"}}])"), "stored");
  EXPECT_EQ(outcome(R"([{"key":"k","value":{"stringValue":"a\u0000b"}}])"), "stored");
}

TEST(DecodeOtlpTraces, AResourceThatCannotBeStoredAsSentTakesItsSpansWithIt) {
  const std::string body =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name\u0000","value":{"stringValue":"x"}}]},)"
      R"("scopeSpans":[{"spans":[)" + SpanJson(kTraceId, kRootId) + "]}]}]}";
  Result<OtlpTraces> r = DecodeOtlpTraces(body);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->spans.empty());
  EXPECT_EQ(r->rejected, 1);
  EXPECT_THAT(r->first_error, HasSubstr("resource: attribute key: a name must not contain NUL"));
}

TEST(DecodeOtlpTraces, EndBeforeStartGivesZeroDuration) {
  Result<OtlpTraces> r = DecodeOtlpTraces(
      TracesBody({R"({"traceId":")" + std::string(kTraceId) + R"(","spanId":")" + kRootId +
                  R"(","startTimeUnixNano":"9","endTimeUnixNano":"5"})"}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].start_ns, 9);
  EXPECT_EQ(r->spans[0].duration_ns, 0);
}

TEST(DecodeOtlpTraces, NonObjectBodyIsAnError) {
  for (const char* body : {"[]", "42", "\"x\"", "null", "not json", "", "{\"resourceSpans\":[}"}) {
    Result<OtlpTraces> r = DecodeOtlpTraces(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << body;
  }
}

TEST(DecodeOtlpTraces, ResourceSpansNotAnArrayIsAnError) {
  for (const char* body :
       {R"({"resourceSpans":{}})", R"({"resourceSpans":"x"})", R"({"resourceSpans":1})"}) {
    Result<OtlpTraces> r = DecodeOtlpTraces(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("resourceSpans must be an array"));
  }
}

TEST(DecodeOtlpTraces, EmptyRequestsDecodeToNothing) {
  for (const char* body :
       {"{}", R"({"resourceSpans":[]})", R"({"resourceSpans":null})", R"({"resourceSpans":[{}]})",
        R"({"resourceSpans":[{"scopeSpans":[{}]}]})"}) {
    Result<OtlpTraces> r = DecodeOtlpTraces(body);
    ASSERT_TRUE(r.ok()) << body;
    EXPECT_TRUE(r->spans.empty());
    EXPECT_EQ(r->rejected, 0);
  }
}

TEST(DecodeOtlpTraces, InvalidUtf8InsideStringsIsSanitized) {
  const std::string attrs =
      ",\"attributes\":[{\"key\":\"k\\u00e9\xff\",\"value\":{\"stringValue\":\"a\xc3\x28z\"}}]";
  std::string span = SpanJson(kTraceId, kRootId, attrs);
  span.replace(span.find("\"op\""), 4, "\"bad \xed\xa0\x80 name\"");  // an encoded surrogate
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody({span}, "svc\xfe"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 1u);
  const Span& s = r->spans[0];
  EXPECT_TRUE(IsCleanUtf8(s.name)) << s.name;
  EXPECT_TRUE(IsCleanUtf8(s.service)) << s.service;
  EXPECT_TRUE(IsCleanUtf8(s.attributes)) << s.attributes;
  EXPECT_THAT(s.name, HasSubstr("\xef\xbf\xbd"));
  EXPECT_EQ(s.service, "svc\xef\xbf\xbd");
  EXPECT_THAT(s.attributes, HasSubstr("a\xef\xbf\xbd(z"));
  EXPECT_TRUE(ParseJson(s.attributes).ok());
}

TEST(DecodeOtlpTraces, EveryTruncationIsRejectedOrDecodedWithoutCrashing) {
  for (size_t len = 0; len < kRealisticTraces.size(); ++len) {
    Result<OtlpTraces> r = DecodeOtlpTraces(std::string_view(kRealisticTraces).substr(0, len));
    // Only the whole document (and trailing whitespace cut) is a complete JSON value.
    if (len <= kRealisticTraces.find_last_of('}')) {
      EXPECT_FALSE(r.ok()) << len;
    }
  }
}

TEST(DecodeOtlpTraces, GarbageNeverCrashes) {
  testing::Garbage garbage(99, R"({}[]":,0123456789abcdef-.traceIdspanIdstringValue)");
  for (int i = 0; i < 5000; ++i) DecodeOtlpTraces(garbage.Next(64));
  // Valid JSON with the wrong shapes everywhere.
  for (
      const char* body : {
          R"({"resourceSpans":[1,"x",null,[]]})",
          R"({"resourceSpans":[{"resource":1,"scopeSpans":{"spans":1}}]})",
          R"({"resourceSpans":[{"resource":{"attributes":{}},"scopeSpans":[{"scope":[],"spans":[{"traceId":1,"spanId":[]}]}]}]})",
          R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":{},"endTimeUnixNano":[]}]}]}]})",
          R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[1,{"key":1},{"key":"a","value":{"arrayValue":1}},{"key":"b","value":{"kvlistValue":{"values":"x"}}},{"key":"c","value":[]}],"events":[1,{"attributes":5}],"status":[],"kind":"x"}]}]}]})",
      }) {
    Result<OtlpTraces> r = DecodeOtlpTraces(body);
    EXPECT_TRUE(r.ok() || r.status().code() == Status::Code::kInvalidArgument) << body;
  }
}

TEST(DecodeOtlpTraces, MutationsOfARealRequestNeverCrash) {
  for (size_t i = 0; i < kRealisticTraces.size(); i += 3) {
    for (const char c : std::string("{}[]\",:\\0xZ\xff")) {
      std::string mutated = kRealisticTraces;
      mutated[i] = c;
      Result<OtlpTraces> r = DecodeOtlpTraces(mutated);
      if (r.ok()) {
        for (const Span& s : r->spans)
          EXPECT_TRUE(s.attributes.empty() || ParseJson(s.attributes).ok());
      }
    }
  }
}

TEST(OtlpTracesResponse, IsEmptyObjectWhenEverythingWasAccepted) {
  OtlpTraces decoded;
  decoded.spans.resize(3);
  EXPECT_EQ(OtlpTracesResponse(decoded), "{}");
}

TEST(OtlpTracesResponse, ReportsPartialSuccessWithCountAndFirstError) {
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody(
      {SpanJson(kTraceId, kRootId), SpanJson("bad", kRootId), SpanJson(kTraceId, R"(x\"y)")}));
  ASSERT_TRUE(r.ok());
  const std::string body = OtlpTracesResponse(*r);
  Result<Json::Value> json = ParseJson(body);
  ASSERT_TRUE(json.ok()) << body;
  ASSERT_EQ(json->getMemberNames(), std::vector<std::string>{"partialSuccess"});
  const Json::Value& partial = (*json)["partialSuccess"];
  EXPECT_EQ(partial["rejectedSpans"].asInt64(), 2);
  EXPECT_THAT(partial["errorMessage"].asString(), StartsWith("invalid traceId 'bad'"));
  EXPECT_EQ(partial.size(), 2u);
}

TEST(OtlpLogsResponse, ReportsRejectedLogRecords) {
  OtlpLogs decoded;
  decoded.rejected = 1;
  decoded.first_error = "log record is not an object";
  EXPECT_EQ(
      OtlpLogsResponse(decoded),
      R"({"partialSuccess":{"rejectedLogRecords":1,"errorMessage":"log record is not an object"}})");
  EXPECT_EQ(OtlpLogsResponse(OtlpLogs{}), "{}");
}

// ---- logs ----------------------------------------------------------------------------------

std::string LogsBody(const std::vector<std::string>& records, const std::string& service = "api") {
  std::string body =
      R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
      service + R"("}}]},"scopeLogs":[{"scope":{"name":"s"},"logRecords":[)";
  for (size_t i = 0; i < records.size(); ++i) body += (i ? "," : "") + records[i];
  return body + "]}]}]}";
}

TEST(DecodeOtlpLogs, DecodesSeverityBodyIdsAndAttributes) {
  Result<OtlpLogs> r = DecodeOtlpLogs(LogsBody({
      R"({"timeUnixNano":"1764075600123456789","severityNumber":17,"severityText":"ERROR",)"
      R"("body":{"stringValue":"payment \"failed\""},"traceId":"5B8EFFF798038103D269B633813FC60C",)"
      R"("spanId":"eee19b7ec3c1b174","attributes":[{"key":"user","value":{"stringValue":"ann"}},)"
      R"({"key":"n","value":{"intValue":"3"}}]})",
  }));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->records.size(), 1u);
  const LogRecord& l = r->records[0];
  EXPECT_EQ(l.service, "api");
  EXPECT_EQ(l.ts_ns, 1764075600123456789);
  EXPECT_EQ(l.level, LogLevel::kError);
  EXPECT_EQ(l.message, "payment \"failed\"");
  EXPECT_EQ(l.trace_id, kTraceId);
  EXPECT_EQ(l.span_id, kRootId);
  EXPECT_EQ(l.attributes, R"({"user":"ann","n":3})");
  EXPECT_EQ(r->rejected, 0);
}

// A record's JSON form splices its attributes in next to "service", "message", ...: attributes
// of those names (however escaped) are renamed, never printed as a second "service".
TEST(DecodeOtlpLogs, AttributesNamedLikeRecordFieldsGetARawSuffix) {
  Result<OtlpLogs> r = DecodeOtlpLogs(LogsBody({
      R"({"timeUnixNano":"1","body":{"stringValue":"m"},"attributes":[)"
      R"({"key":"service","value":{"stringValue":"forged"}},{"key":"message","value":{"stringValue":"x"}},)"
      R"({"key":"level","value":{"intValue":"1"}},{"key":"timestamp","value":{"stringValue":"t"}},)"
      R"({"key":"trace_id","value":{"stringValue":"a"}},{"key":"span_id","value":{"stringValue":"b"}},)"
      R"({"key":"services","value":{"stringValue":"kept"}}]})",
  }));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].attributes,
            R"({"service_raw":"forged","message_raw":"x","level_raw":1,"timestamp_raw":"t",)"
            R"("trace_id_raw":"a","span_id_raw":"b","services":"kept"})");
  EXPECT_EQ(r->records[0].service, "api");
}

TEST(DecodeOtlpLogs, SeverityNumberWinsThenSeverityTextThenInfo) {
  Result<OtlpLogs> r = DecodeOtlpLogs(LogsBody({
      R"({"timeUnixNano":"1","severityNumber":13,"severityText":"DEBUG","body":{"stringValue":"a"}})",
      R"({"timeUnixNano":"2","severityNumber":0,"severityText":"fatal","body":{"stringValue":"b"}})",
      R"({"timeUnixNano":"3","severityText":"Warning","body":{"stringValue":"c"}})",
      R"({"timeUnixNano":"4","severityNumber":99,"body":{"stringValue":"d"}})",
      R"({"timeUnixNano":"5","body":{"stringValue":"e"}})",
      R"({"timeUnixNano":"6","severityNumber":"5","body":{"stringValue":"f"}})",
  }));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 5u);
  EXPECT_EQ(r->rejected, 1);  // severityNumber 99 is no severity
  EXPECT_EQ(r->records[0].level, LogLevel::kWarn);
  EXPECT_EQ(r->records[1].level, LogLevel::kFatal);
  EXPECT_EQ(r->records[2].level, LogLevel::kWarn);
  EXPECT_EQ(r->records[3].level, LogLevel::kInfo);
  EXPECT_EQ(r->records[4].level, LogLevel::kDebug);
}

TEST(DecodeOtlpLogs, NonStringBodyBecomesItsJsonText) {
  Result<OtlpLogs> r = DecodeOtlpLogs(LogsBody({
      R"({"timeUnixNano":"1","body":{"kvlistValue":{"values":[{"key":"event","value":{"stringValue":"login"}},{"key":"ok","value":{"boolValue":true}}]}}})",
      R"({"timeUnixNano":"2","body":{"intValue":"42"}})",
      R"({"timeUnixNano":"3","body":{"arrayValue":{"values":[{"doubleValue":1}]}}})",
      R"({"timeUnixNano":"4"})",
  }));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 4u);
  EXPECT_EQ(r->records[0].message, R"({"event":"login","ok":true})");
  EXPECT_EQ(r->records[1].message, "42");
  EXPECT_EQ(r->records[2].message, "[1.0]");
  EXPECT_EQ(r->records[3].message, "");
}

TEST(DecodeOtlpLogs, ObservedTimeIsUsedWhenTimeIsMissingOrZero) {
  Result<OtlpLogs> r = DecodeOtlpLogs(LogsBody({
      R"({"observedTimeUnixNano":"1764075600000000001","body":{"stringValue":"a"}})",
      R"({"timeUnixNano":"0","observedTimeUnixNano":"1764075600000000002","body":{"stringValue":"b"}})",
      R"({"timeUnixNano":"1764075600000000003","observedTimeUnixNano":"9","body":{"stringValue":"c"}})",
  }));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 3u);
  EXPECT_EQ(r->records[0].ts_ns, 1764075600000000001);
  EXPECT_EQ(r->records[1].ts_ns, 1764075600000000002);
  EXPECT_EQ(r->records[2].ts_ns, 1764075600000000003);
}

TEST(DecodeOtlpLogs, IdsAreOptionalButRejectedWhenMalformed) {
  Result<OtlpLogs> r = DecodeOtlpLogs(LogsBody({
      R"({"timeUnixNano":"1","body":{"stringValue":"no ids"}})",
      R"({"timeUnixNano":"2","traceId":"5b8efff798038103d269b633813fc60c","body":{"stringValue":"trace only"}})",
      R"({"timeUnixNano":"3","traceId":"nothex","spanId":"eee19b7ec3c1b174","body":{"stringValue":"bad"}})",
      R"({"timeUnixNano":"4","spanId":"eee19b7ec3c1b174","body":{"stringValue":"span only"}})",
      R"(7)",
  }));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 2u);
  EXPECT_EQ(r->records[0].message, "no ids");
  EXPECT_EQ(r->records[0].trace_id, "");
  EXPECT_EQ(r->records[1].trace_id, kTraceId);
  EXPECT_EQ(r->records[1].span_id, "");
  EXPECT_EQ(r->rejected, 3);
  EXPECT_THAT(r->first_error, HasSubstr("invalid traceId 'nothex'"));
}

TEST(DecodeOtlpLogs, ServiceDefaultsToUnknownService) {
  Result<OtlpLogs> r = DecodeOtlpLogs(
      R"({"resourceLogs":[{"instrumentationLibraryLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]})");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].service, "unknown_service");
}

TEST(DecodeOtlpLogs, BadBodiesAreErrors) {
  EXPECT_FALSE(DecodeOtlpLogs("[1]").ok());
  EXPECT_FALSE(DecodeOtlpLogs("{").ok());
  Result<OtlpLogs> r = DecodeOtlpLogs(R"({"resourceLogs":{"a":1}})");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("resourceLogs must be an array"));
}

TEST(DecodeOtlpLogs, InvalidUtf8InsideStringsIsSanitized) {
  Result<OtlpLogs> r =
      DecodeOtlpLogs(LogsBody({"{\"body\":{\"stringValue\":\"bad \xc0\xaf byte\"}}"}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_TRUE(IsCleanUtf8(r->records[0].message));
  EXPECT_THAT(r->records[0].message, HasSubstr("\xef\xbf\xbd"));
}

TEST(DecodeOtlpLogs, GarbageAndTruncationsNeverCrash) {
  const std::string body = LogsBody({
      R"({"timeUnixNano":"1764075600123456789","severityNumber":17,"body":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":1}]}}}]}},"attributes":[{"key":"k","value":{"doubleValue":0.5}}]})",
  });
  ASSERT_TRUE(DecodeOtlpLogs(body).ok());
  for (size_t len = 0; len + 1 < body.size(); ++len) {
    EXPECT_FALSE(DecodeOtlpLogs(std::string_view(body).substr(0, len)).ok()) << len;
  }
  testing::Garbage garbage(3, R"({}[]":,0123456789bodyresourceLogs)");
  for (int i = 0; i < 3000; ++i) DecodeOtlpLogs(garbage.Next(64));
}

TEST(EncodeOtlpLogs, RoundTripsThroughDecodeOtlpLogs) {
  std::vector<LogRecord> records(3);
  records[0].ts_ns = 1764075600123456789;
  records[0].service = "api";
  records[0].level = LogLevel::kWarn;
  records[0].message = "slow \"query\"\n\xc3\xa9";
  records[0].trace_id = kTraceId;
  records[0].span_id = kRootId;
  records[0].attributes =
      R"({"zeta":"last-alphabetically","alpha":1,"ratio":0.5,"whole":2.0,"ok":true,"none":null,)"
      R"("list":[1,"two",[3]],"obj":{"a":{"c":"d"},"b":1},"big":-9007199254740993})";
  records[1].ts_ns = 2;
  records[1].service = "worker";
  records[1].level = LogLevel::kDebug;
  records[1].message = "tick";
  records[2].ts_ns = 3;
  records[2].service = "api";
  records[2].level = LogLevel::kFatal;
  records[2].message = "";

  const std::string encoded = EncodeOtlpLogs(records);
  Result<OtlpLogs> decoded = DecodeOtlpLogs(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message() << "\n" << encoded;
  EXPECT_EQ(decoded->rejected, 0);
  ASSERT_EQ(decoded->records.size(), 3u);
  // One resource per service, in order of first appearance: api's records come first.
  const LogRecord& a = decoded->records[0];
  EXPECT_EQ(a.ts_ns, records[0].ts_ns);
  EXPECT_EQ(a.service, "api");
  EXPECT_EQ(a.level, LogLevel::kWarn);
  EXPECT_EQ(a.message, records[0].message);
  EXPECT_EQ(a.trace_id, kTraceId);
  EXPECT_EQ(a.span_id, kRootId);
  EXPECT_EQ(a.attributes, records[0].attributes);  // same order, same types
  const LogRecord& fatal = decoded->records[1];
  EXPECT_EQ(fatal.service, "api");
  EXPECT_EQ(fatal.level, LogLevel::kFatal);
  EXPECT_EQ(fatal.ts_ns, 3);
  EXPECT_EQ(fatal.message, "");
  EXPECT_EQ(fatal.trace_id, "");
  EXPECT_EQ(fatal.attributes, "");
  const LogRecord& tick = decoded->records[2];
  EXPECT_EQ(tick.service, "worker");
  EXPECT_EQ(tick.level, LogLevel::kDebug);
  EXPECT_EQ(tick.message, "tick");
}

TEST(EncodeOtlpLogs, EmptyInputIsAnEmptyRequest) {
  EXPECT_EQ(EncodeOtlpLogs({}), R"({"resourceLogs":[]})");
  Result<OtlpLogs> decoded = DecodeOtlpLogs(EncodeOtlpLogs({}));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->records.empty());
}

TEST(EncodeOtlpLogs, IsAnExportLogsServiceRequest) {
  LogRecord r;
  r.ts_ns = 5;
  r.service = "api";
  r.message = "m";
  r.attributes = R"({"n":1})";
  Result<Json::Value> json = ParseJson(EncodeOtlpLogs({r}));
  ASSERT_TRUE(json.ok());
  const Json::Value& rl = (*json)["resourceLogs"][0];
  EXPECT_EQ(rl["resource"]["attributes"][0]["key"].asString(), "service.name");
  EXPECT_EQ(rl["resource"]["attributes"][0]["value"]["stringValue"].asString(), "api");
  const Json::Value& record = rl["scopeLogs"][0]["logRecords"][0];
  EXPECT_EQ(record["timeUnixNano"].asString(), "5");  // 64-bit integers as strings
  EXPECT_EQ(record["severityNumber"].asInt(), 9);
  EXPECT_EQ(record["severityText"].asString(), "INFO");
  EXPECT_EQ(record["body"]["stringValue"].asString(), "m");
  EXPECT_EQ(record["attributes"][0]["value"]["intValue"].asString(), "1");
  EXPECT_FALSE(record.isMember("traceId"));
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

Span EverythingSpan() {
  Span s;
  s.trace_id = kTraceId;
  s.span_id = kChildId;
  s.parent_span_id = kRootId;
  s.trace_state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
  s.service = "checkout \xc3\xa9\xe2\x82\xac";
  s.name = "POST /pay \"now\"\n\ttab\\slash \xf0\x9f\x9a\x80";
  s.kind = SpanKind::kClient;
  s.start_ns = 1764075600123456789;
  s.duration_ns = 250000001;
  s.status = SpanStatus::kError;
  s.status_message = "card \"declined\"\n";
  s.attributes =
      R"({"zeta":"last","http.status_code":402,"max":9223372036854775807,)"
      R"("min":-9223372036854775808,"ratio":0.1,"whole":2.0,"huge":1e+300,"neg":-0.5,)"
      R"("ok":true,"no":false,"none":null,"esc":"q\"b\\n\n\u0001","uni":"\u00e9\ud83d\ude80",)"
      R"("raw":"é🚀","list":[1,"two",[3,[4.5]],{"b":1,"a":2}],"obj":{"z":{"y":[true]},"a":"x"},)"
      R"("empty_list":[],"empty_obj":{},"bytes":{"bytesValue":"AP+A"},"no_bytes":{"bytesValue":""}})";
  s.events =
      R"([{"time_ns":1764075600200000000,"name":"retry \"1\"","attributes":{"attempt":2,"why":"timeout"}},)"
      R"({"time_ns":1764075600300000000,"name":"exception","attributes":{}}])";
  s.links =
      R"([{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","trace_state":"a=b",)"
      R"("attributes":{"n":1,"s":"x"}},{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",)"
      R"("attributes":{}}])";
  s.resource = R"({"host.name":"node-1","process.pid":4242,"labels":{"b":"2","a":"1"}})";
  s.scope = "io.opentelemetry.http";
  s.scope_version = "1.2.0";
  s.scope_attributes = R"({"lib.flavour":"fast","lib.id":{"bytesValue":"AQI="}})";
  return s;
}

TEST(DecodeOtlpTraces, KeepsLinksAndRejectsASpanWithAMalformedLink) {
  const std::string links =
      R"(,"links":[{"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"b7ad6b7169203331","traceState":"k=v",)"
      R"("attributes":[{"key":"reason","value":{"stringValue":"batch"}}]},)"
      R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}])";
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody({SpanJson(kTraceId, kRootId, links),
                                                      SpanJson(kTraceId, kChildId, R"(,"links":[{"traceId":"x","spanId":"y"}])"),
                                                      SpanJson(kTraceId, kGrandchildId, R"(,"links":5)")}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].links,
            R"([{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","trace_state":"k=v",)"
            R"("attributes":{"reason":"batch"}},{"trace_id":"5b8efff798038103d269b633813fc60c",)"
            R"("span_id":"eee19b7ec3c1b174","attributes":{}}])");
  EXPECT_EQ(r->rejected, 2);
  EXPECT_THAT(r->first_error, HasSubstr("link: invalid traceId"));
}

TEST(DecodeOtlpTraces, BytesValueIsStoredAsBytesInEitherAlphabetAndRefusedWhenNotBase64) {
  const auto attribute = [](const std::string& value) {
    return R"(,"attributes":[{"key":"b","value":)" + value + "}]";
  };
  // protojson reads both alphabets, padded or not; one canonical text is stored.
  Result<OtlpTraces> r = DecodeOtlpTraces(TracesBody({SpanJson(kTraceId, kRootId, attribute(R"({"bytesValue":"__8"})")),
                                                      SpanJson(kTraceId, kChildId, attribute(R"({"bytesValue":"//8="})")),
                                                      SpanJson(kTraceId, kGrandchildId, attribute(R"({"bytesValue":"a b"})")),
                                                      SpanJson(kTraceId, "eee19b7ec3c1b171", attribute(R"({"bytesValue":7})"))}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 2u);
  EXPECT_EQ(r->spans[0].attributes, R"({"b":{"bytesValue":"//8="}})");
  EXPECT_EQ(r->spans[1].attributes, R"({"b":{"bytesValue":"//8="}})");
  EXPECT_EQ(r->rejected, 2);
  EXPECT_THAT(r->first_error, HasSubstr("bytesValue must be base64"));
}

TEST(DecodeOtlpTraces, KeepsScopeAttributesAndAScopeThatCannotBeStoredTakesItsSpansWithIt) {
  const auto body = [](const std::string& scope_attributes) {
    return R"({"resourceSpans":[{"scopeSpans":[{"scope":{"name":"lib","version":"3","attributes":)" +
           scope_attributes + R"(},"spans":[)" + SpanJson(kTraceId, kRootId) + "]}]}]}";
  };
  Result<OtlpTraces> good = DecodeOtlpTraces(body(R"([{"key":"k","value":{"intValue":"7"}}])"));
  ASSERT_TRUE(good.ok());
  ASSERT_EQ(good->spans.size(), 1u);
  EXPECT_EQ(good->spans[0].scope, "lib");
  EXPECT_EQ(good->spans[0].scope_version, "3");
  EXPECT_EQ(good->spans[0].scope_attributes, R"({"k":7})");
  Result<OtlpTraces> bad = DecodeOtlpTraces(body(R"([{"key":"k","value":{"intValue":"x"}}])"));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->spans.size(), 0u);
  EXPECT_EQ(bad->rejected, 1);
  EXPECT_THAT(bad->first_error, HasSubstr("scope: intValue must be a 64-bit integer"));
}

TEST(EncodeOtlpTraces, WritesStoredBytesAsBytesValueAndLookalikeObjectsAsKvlists) {
  Span s = EverythingSpan();
  s.attributes = R"({"b":{"bytesValue":"aGk="},"in_list":[{"bytesValue":""}],)"
                 R"("two_members":{"bytesValue":"aGk=","x":1},"not_base64":{"bytesValue":"a b"},)"
                 R"("not_string":{"bytesValue":1},"unpadded":{"bytesValue":"aGk"},"escaped":{"bytesValue":"\u0061Gk="}})";
  const std::string encoded = EncodeOtlpTraces({s});
  EXPECT_THAT(encoded, HasSubstr(R"({"key":"b","value":{"bytesValue":"aGk="}})"));
  EXPECT_THAT(encoded, HasSubstr(R"("arrayValue":{"values":[{"bytesValue":""}]})"));
  EXPECT_THAT(encoded, HasSubstr(R"({"key":"two_members","value":{"kvlistValue":)"));
  EXPECT_THAT(encoded, HasSubstr(R"({"key":"not_base64","value":{"kvlistValue":)"));
  EXPECT_THAT(encoded, HasSubstr(R"({"key":"not_string","value":{"kvlistValue":)"));
  // Only the text the decoders write is bytes: anything else would not decode back the same.
  EXPECT_THAT(encoded, HasSubstr(R"({"key":"unpadded","value":{"kvlistValue":)"));
  EXPECT_THAT(encoded, HasSubstr(R"({"key":"escaped","value":{"kvlistValue":)"));
  Result<OtlpTraces> decoded = DecodeOtlpTraces(encoded);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->spans.size(), 1u) << decoded->first_error;
  ExpectSameSpan(decoded->spans[0], s);
}

TEST(EncodeOtlpTraces, RoundTripsASpanWithEveryFieldSet) {
  const Span want = EverythingSpan();
  const std::string encoded = EncodeOtlpTraces({want});
  Result<OtlpTraces> decoded = DecodeOtlpTraces(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message() << "\n" << encoded;
  EXPECT_EQ(decoded->rejected, 0) << decoded->first_error;
  ASSERT_EQ(decoded->spans.size(), 1u);
  ExpectSameSpan(decoded->spans[0], want);
}

TEST(EncodeOtlpTraces, RoundTripsSpansWithEmptyOptionalFields) {
  Span root;
  root.trace_id = kTraceId;
  root.span_id = kRootId;
  root.service = "api";
  Span named = root;
  named.span_id = kChildId;
  named.name = "op";
  named.start_ns = 1;
  named.duration_ns = 0;
  Result<OtlpTraces> decoded = DecodeOtlpTraces(EncodeOtlpTraces({root, named}));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->rejected, 0) << decoded->first_error;
  ASSERT_EQ(decoded->spans.size(), 2u);
  ExpectSameSpan(decoded->spans[0], root);
  ExpectSameSpan(decoded->spans[1], named);
}

TEST(EncodeOtlpTraces, EveryKindAndStatusRoundTrips) {
  std::vector<Span> spans;
  for (int kind = 0; kind <= 5; ++kind) {
    for (int status = 0; status <= 2; ++status) {
      Span s;
      s.trace_id = kTraceId;
      s.span_id = "10000000000000" + std::to_string(kind) + std::to_string(status);
      s.service = "api";
      s.kind = static_cast<SpanKind>(kind);
      s.status = static_cast<SpanStatus>(status);
      spans.push_back(s);
    }
  }
  Result<OtlpTraces> decoded = DecodeOtlpTraces(EncodeOtlpTraces(spans));
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->spans.size(), spans.size()) << decoded->first_error;
  for (size_t i = 0; i < spans.size(); ++i) ExpectSameSpan(decoded->spans[i], spans[i]);
}

TEST(EncodeOtlpTraces, GroupsByResourceThenScopeInOrderOfFirstAppearance) {
  Span a = EverythingSpan();
  Span b = a;
  b.span_id = kGrandchildId;
  b.scope = "other";
  Span f = a;  // a's scope name in another version: a scope of its own
  f.span_id = "eee19b7ec3c1b16f";
  f.scope_version = "2.0";
  Span g = a;  // a's scope name and version with other attributes: a scope of its own too
  g.span_id = "eee19b7ec3c1b16e";
  g.scope_attributes.clear();
  Span c = a;
  c.span_id = kRootId;
  c.parent_span_id.clear();
  c.service = "worker";
  Span d = a;
  d.span_id = "eee19b7ec3c1b171";
  d.resource = R"({"host.name":"node-2"})";
  Span e = a;
  e.span_id = "eee19b7ec3c1b170";
  const std::string encoded = EncodeOtlpTraces({a, b, c, d, e, f, g});
  Result<Json::Value> json = ParseJson(encoded);
  ASSERT_TRUE(json.ok()) << encoded;
  const Json::Value& rs = (*json)["resourceSpans"];
  ASSERT_EQ(rs.size(), 3u);  // (checkout, node-1), (worker, node-1), (checkout, node-2)
  EXPECT_EQ(rs[0]["resource"]["attributes"][0]["key"].asString(), "service.name");
  EXPECT_EQ(rs[0]["resource"]["attributes"][1]["key"].asString(), "host.name");
  ASSERT_EQ(rs[0]["scopeSpans"].size(), 4u);
  EXPECT_EQ(rs[0]["scopeSpans"][0]["scope"]["name"].asString(), "io.opentelemetry.http");
  EXPECT_EQ(rs[0]["scopeSpans"][0]["scope"]["version"].asString(), "1.2.0");
  EXPECT_EQ(rs[0]["scopeSpans"][0]["spans"].size(), 2u);  // a and e
  EXPECT_EQ(rs[0]["scopeSpans"][1]["scope"]["name"].asString(), "other");
  EXPECT_EQ(rs[0]["scopeSpans"][2]["scope"]["name"].asString(), "io.opentelemetry.http");
  EXPECT_EQ(rs[0]["scopeSpans"][2]["scope"]["version"].asString(), "2.0");
  EXPECT_EQ(rs[0]["scopeSpans"][0]["scope"]["attributes"][0]["key"].asString(), "lib.flavour");
  EXPECT_EQ(rs[0]["scopeSpans"][0]["scope"]["attributes"][1]["value"]["bytesValue"].asString(), "AQI=");
  EXPECT_FALSE(rs[0]["scopeSpans"][3]["scope"].isMember("attributes"));
  EXPECT_EQ(rs[1]["resource"]["attributes"][0]["value"]["stringValue"].asString(), "worker");
  EXPECT_EQ(rs[2]["resource"]["attributes"][1]["value"]["stringValue"].asString(), "node-2");

  Result<OtlpTraces> decoded = DecodeOtlpTraces(encoded);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->spans.size(), 7u);
  // Decoding walks the groups, so the order is a, e, b, f, g, c, d; every span comes back intact.
  ExpectSameSpan(decoded->spans[0], a);
  ExpectSameSpan(decoded->spans[1], e);
  ExpectSameSpan(decoded->spans[2], b);
  ExpectSameSpan(decoded->spans[3], f);
  ExpectSameSpan(decoded->spans[4], g);
  ExpectSameSpan(decoded->spans[5], c);
  ExpectSameSpan(decoded->spans[6], d);
}

TEST(EncodeOtlpTraces, SixtyFourBitIntegersAreIntValueStringsAndDoublesStayDoubles) {
  Span s = EverythingSpan();
  s.attributes =
      R"({"max":9223372036854775807,"whole":2.0,"exp":1e5,"beyond":18446744073709551616})";
  const std::string encoded = EncodeOtlpTraces({s});
  Result<Json::Value> json = ParseJson(encoded);
  ASSERT_TRUE(json.ok()) << encoded;
  const Json::Value& span = (*json)["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["startTimeUnixNano"].asString(), "1764075600123456789");
  EXPECT_EQ(span["endTimeUnixNano"].asString(), "1764075600373456790");
  EXPECT_EQ(span["kind"].asInt(), 3);
  EXPECT_EQ(span["status"]["code"].asInt(), 2);
  const Json::Value& attrs = span["attributes"];
  EXPECT_EQ(attrs[0]["value"]["intValue"].asString(), "9223372036854775807");
  EXPECT_TRUE(attrs[1]["value"]["doubleValue"].isDouble());
  EXPECT_TRUE(attrs[2]["value"]["doubleValue"].isDouble());
  // Past int64 an integer can only travel as a double.
  EXPECT_TRUE(attrs[3]["value"].isMember("doubleValue"));
  Result<OtlpTraces> decoded = DecodeOtlpTraces(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(
      decoded->spans[0].attributes,
      R"({"max":9223372036854775807,"whole":2.0,"exp":1e+05,"beyond":18446744073709551616.0})");
}

TEST(EncodeOtlpTraces, EmptyInputIsAnEmptyRequest) {
  EXPECT_EQ(EncodeOtlpTraces({}), R"({"resourceSpans":[]})");
  Result<OtlpTraces> decoded = DecodeOtlpTraces(EncodeOtlpTraces({}));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->spans.empty());
}

TEST(EncodeOtlpTraces, AttributesThatAreNotAnObjectAreLeftOut) {
  Span s = EverythingSpan();
  s.attributes = "not json";
  s.events = "[1,2";
  s.resource = "[]";
  const std::string encoded = EncodeOtlpTraces({s});
  ASSERT_TRUE(ParseJson(encoded).ok()) << encoded;
  Result<OtlpTraces> decoded = DecodeOtlpTraces(encoded);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->spans.size(), 1u);
  EXPECT_EQ(decoded->spans[0].attributes, "");
  EXPECT_EQ(decoded->spans[0].events, "");
  EXPECT_EQ(decoded->spans[0].resource, "");
  EXPECT_EQ(decoded->spans[0].name, s.name);
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace telemetry_otlp_test {

// The nesting bound (json_depth.h) on the OTLP ingest bodies, on a worker-sized stack: an
// unknown member as deep as the bound is ignored as any unknown member is; one level more, or
// a body of 100k '[', is a 400 naming the bound.
TEST(OtlpDecoders, RefuseNestingPastTheBoundAndAcceptItOnASmallStack) {
  testing::RunOnSmallStack([] {
    const std::string logs = R"({"resourceLogs":[]})";
    EXPECT_TRUE(DecodeOtlpTraces(testing::WithNestedMember(kRealisticTraces, kMaxJsonDepth - 1)).ok());
    EXPECT_TRUE(DecodeOtlpLogs(testing::WithNestedMember(logs, kMaxJsonDepth - 1)).ok());
    for (const std::string& deep : {testing::WithNestedMember(kRealisticTraces, kMaxJsonDepth),
                                    testing::NestedObjects(1000), std::string(100'000, '[')}) {
      EXPECT_THAT(DecodeOtlpTraces(deep).status().message(), HasSubstr("nested deeper than 64 levels"));
      EXPECT_THAT(DecodeOtlpLogs(deep).status().message(), HasSubstr("nested deeper than 64 levels"));
    }
    // AnyValue arrays in arrays, each level three deep: refused at the bound, never recursed.
    std::string any = R"({"stringValue":"x"})";
    for (int i = 0; i < 30; ++i) any = R"({"arrayValue":{"values":[)" + any + "]}}";
    const std::string attribute = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":)" + any + "}]}]}]}";
    EXPECT_THAT(DecodeOtlpLogs(attribute).status().message(), HasSubstr("nested deeper than 64 levels"));
  });
}

}  // namespace
}  // namespace mesh

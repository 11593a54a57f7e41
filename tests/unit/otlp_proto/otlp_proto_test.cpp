#include "mesh/otlp_proto/otlp_proto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mesh/base/json_tape.h"
#include "test_support.h"

namespace mesh {
namespace otlp_proto_otlp_proto_test {

using ::testing::HasSubstr;

// Protobuf wire encoding written out by hand, independent of the generated code, so that the
// tests check the field numbers against the specification rather than against themselves.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string Len(int field, const std::string& payload) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(payload.size()) + payload;
}
std::string VarintField(int field, uint64_t v) { return Varint(static_cast<uint64_t>(field) << 3) + Varint(v); }
std::string Fixed64(int field, uint64_t v) {
  std::string out = Varint(static_cast<uint64_t>(field) << 3 | 1);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}
std::string Double(int field, double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  return Fixed64(field, bits);
}
std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// AnyValue fields: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7.
std::string KeyValue(const std::string& key, const std::string& any_value) {
  return Len(1, key) + Len(2, any_value);
}
std::string StringAttribute(const std::string& key, const std::string& value) {
  return KeyValue(key, Len(1, value));
}

// ExportTraceServiceRequest { resource_spans 1 { resource 1 { attributes 1 }, scope_spans 2
// { scope 1 { name 1, version 2, attributes 3 }, spans 2 } } }.
std::string TracesRequest(const std::string& service, const std::vector<std::string>& spans,
                          const std::string& extra_resource_attributes = "") {
  std::string scope_spans =
      Len(1, Len(1, "io.opentelemetry.http") + Len(2, "1.2.0") + Len(3, StringAttribute("lib.flavour", "fast")));
  for (const std::string& s : spans) scope_spans += Len(2, s);
  const std::string resource = Len(1, StringAttribute("service.name", service)) + extra_resource_attributes;
  return Len(1, Len(1, resource) + Len(2, scope_spans));
}

constexpr char kTraceId[] = "5b8efff798038103d269b633813fc60c";
constexpr char kRootId[] = "eee19b7ec3c1b174";
constexpr char kChildId[] = "eee19b7ec3c1b173";

// Span: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6, start 7,
// end 8, attributes 9, events 11, status 15 { message 2, code 3 }.
std::string SpanBytes(const std::string& trace_id, const std::string& span_id, const std::string& extra = "") {
  return Len(1, Unhex(trace_id)) + Len(2, Unhex(span_id)) + Len(5, "op") + Fixed64(7, 1000) + Fixed64(8, 3000) +
         extra;
}

// The same export twice: as OTLP/JSON and as protobuf, every AnyValue kind, events, statuses.
const std::string kJsonExport = R"({"resourceSpans":[{
  "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},
                            {"key":"host.name","value":{"stringValue":"node-1"}}]},
  "scopeSpans":[{"scope":{"name":"io.opentelemetry.http","version":"1.2.0",
                          "attributes":[{"key":"lib.flavour","value":{"stringValue":"fast"}}]},"spans":[
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","traceState":"vendor=x",
     "name":"POST /checkout","kind":2,"startTimeUnixNano":"1764075600000000000","endTimeUnixNano":"1764075600250000000",
     "attributes":[{"key":"http.method","value":{"stringValue":"POST \"quoted\" é"}},
                   {"key":"http.status_code","value":{"intValue":"500"}},
                   {"key":"ratio","value":{"doubleValue":0.25}},
                   {"key":"whole","value":{"doubleValue":2}},
                   {"key":"cached","value":{"boolValue":false}},
                   {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"-7"},{"boolValue":true}]}}},
                   {"key":"user","value":{"kvlistValue":{"values":[{"key":"id","value":{"intValue":"12"}}]}}},
                   {"key":"blob","value":{"bytesValue":"aGVsbG8="}},
                   {"key":"empty","value":{}}],
     "events":[{"timeUnixNano":"1764075600100000000","name":"retry","attributes":[{"key":"attempt","value":{"intValue":"2"}}]}],
     "links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","traceState":"k=v",
               "attributes":[{"key":"reason","value":{"stringValue":"batch"}}]}],
     "status":{"code":2,"message":"card declined"}},
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b173","parentSpanId":"eee19b7ec3c1b174",
     "name":"charge","kind":3,"startTimeUnixNano":"1764075600010000000","endTimeUnixNano":"1764075600200000000",
     "status":{"code":1}}]}]}]})";

std::string ProtobufExport() {
  const std::string attributes =
      Len(9, StringAttribute("http.method", "POST \"quoted\" \xc3\xa9")) +
      Len(9, KeyValue("http.status_code", VarintField(3, 500))) + Len(9, KeyValue("ratio", Double(4, 0.25))) +
      Len(9, KeyValue("whole", Double(4, 2))) + Len(9, KeyValue("cached", VarintField(2, 0))) +
      Len(9, KeyValue("tags", Len(5, Len(1, Len(1, "a")) + Len(1, VarintField(3, static_cast<uint64_t>(-7))) +
                                         Len(1, VarintField(2, 1))))) +
      Len(9, KeyValue("user", Len(6, Len(1, KeyValue("id", VarintField(3, 12)))))) +
      Len(9, KeyValue("blob", Len(7, "hello"))) + Len(9, Len(1, "empty") + Len(2, ""));
  const std::string event = Fixed64(1, 1764075600100000000) + Len(2, "retry") + Len(3, KeyValue("attempt", VarintField(3, 2)));
  // Link: trace_id 1, span_id 2, trace_state 3, attributes 4.
  const std::string link = Len(1, Unhex("0af7651916cd43dd8448eb211c80319c")) + Len(2, Unhex("b7ad6b7169203331")) +
                           Len(3, "k=v") + Len(4, StringAttribute("reason", "batch"));
  const std::string root = Len(1, Unhex(kTraceId)) + Len(2, Unhex(kRootId)) + Len(3, "vendor=x") +
                           Len(5, "POST /checkout") + VarintField(6, 2) + Fixed64(7, 1764075600000000000) +
                           Fixed64(8, 1764075600250000000) + attributes + Len(11, event) + Len(13, link) +
                           Len(15, Len(2, "card declined") + VarintField(3, 2));
  const std::string child = Len(1, Unhex(kTraceId)) + Len(2, Unhex(kChildId)) + Len(4, Unhex(kRootId)) +
                            Len(5, "charge") + VarintField(6, 3) + Fixed64(7, 1764075600010000000) +
                            Fixed64(8, 1764075600200000000) + Len(15, VarintField(3, 1));
  return TracesRequest("checkout", {root, child}, Len(1, StringAttribute("host.name", "node-1")));
}

void ExpectEqualSpans(const std::vector<Span>& a, const std::vector<Span>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("span " + std::to_string(i));
    EXPECT_EQ(a[i].trace_id, b[i].trace_id);
    EXPECT_EQ(a[i].span_id, b[i].span_id);
    EXPECT_EQ(a[i].parent_span_id, b[i].parent_span_id);
    EXPECT_EQ(a[i].trace_state, b[i].trace_state);
    EXPECT_EQ(a[i].service, b[i].service);
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].start_ns, b[i].start_ns);
    EXPECT_EQ(a[i].duration_ns, b[i].duration_ns);
    EXPECT_EQ(a[i].status, b[i].status);
    EXPECT_EQ(a[i].status_message, b[i].status_message);
    EXPECT_EQ(a[i].attributes, b[i].attributes);
    EXPECT_EQ(a[i].events, b[i].events);
    EXPECT_EQ(a[i].links, b[i].links);
    EXPECT_EQ(a[i].resource, b[i].resource);
    EXPECT_EQ(a[i].scope, b[i].scope);
    EXPECT_EQ(a[i].scope_version, b[i].scope_version);
    EXPECT_EQ(a[i].scope_attributes, b[i].scope_attributes);
  }
}

TEST(DecodeOtlpTracesProto, GivesTheSpansTheSameExportGivesAsJson) {
  Result<OtlpTraces> json = DecodeOtlpTraces(kJsonExport);
  ASSERT_TRUE(json.ok()) << json.status().message();
  ASSERT_EQ(json->rejected, 0);
  Result<OtlpTraces> proto = DecodeOtlpTracesProto(ProtobufExport());
  ASSERT_TRUE(proto.ok()) << proto.status().message();
  EXPECT_EQ(proto->rejected, 0);
  ExpectEqualSpans(proto->spans, json->spans);
  ASSERT_EQ(proto->spans.size(), 2u);
  // What the fields hold, not only that both paths agree.
  EXPECT_EQ(proto->spans[0].attributes,
            R"({"http.method":"POST \"quoted\" é","http.status_code":500,"ratio":0.25,"whole":2.0,)"
            R"("cached":false,"tags":["a",-7,true],"user":{"id":12},"blob":{"bytesValue":"aGVsbG8="},"empty":null})");
  EXPECT_EQ(proto->spans[0].scope, "io.opentelemetry.http");
  EXPECT_EQ(proto->spans[0].scope_version, "1.2.0");
  EXPECT_EQ(proto->spans[0].scope_attributes, R"({"lib.flavour":"fast"})");
  EXPECT_EQ(proto->spans[0].resource, R"({"host.name":"node-1"})");
  EXPECT_EQ(proto->spans[0].events, R"([{"time_ns":1764075600100000000,"name":"retry","attributes":{"attempt":2}}])");
  EXPECT_EQ(proto->spans[0].links,
            R"([{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","trace_state":"k=v",)"
            R"("attributes":{"reason":"batch"}}])");
  EXPECT_EQ(proto->spans[1].parent_span_id, kRootId);
  EXPECT_EQ(proto->spans[1].links, "");
}

TEST(EncodeOtlpTracesProto, DecodesBackToEqualSpans) {
  Result<OtlpTraces> json = DecodeOtlpTraces(kJsonExport);
  ASSERT_TRUE(json.ok());
  std::vector<Span> spans = json->spans;
  Span other = spans[1];
  other.service = "payments";
  other.span_id = "00000000000000a1";
  // A NUL in an attribute value is text like any other (found by the otlp_proto fuzz target:
  // JsonTape::String reads \u0000 as U+FFFD, which names and messages get, as in JSON).
  other.attributes = R"({"nul":"a\u0000b","list":["\u0000"]})";
  other.resource = R"({"host":"n\u00001"})";
  spans.push_back(other);
  Result<OtlpTraces> back = DecodeOtlpTracesProto(EncodeOtlpTracesProto(spans));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectEqualSpans(back->spans, spans);
}

TEST(EncodeOtlpTracesProto, WritesBytesValueAsBytesAndGroupsScopesByNameAndVersion) {
  Result<OtlpTraces> json = DecodeOtlpTraces(kJsonExport);
  ASSERT_TRUE(json.ok());
  std::vector<Span> spans = json->spans;
  spans[1].scope_version = "2.0.0";  // same name, another version: a scope of its own
  spans[0].scope_attributes = R"({"lib.id":{"bytesValue":"AQI="}})";
  const std::string encoded = EncodeOtlpTracesProto(spans);
  // AnyValue field 7 holding the raw bytes, not their base64 text in field 1.
  EXPECT_NE(encoded.find(KeyValue("blob", Len(7, "hello"))), std::string::npos);
  EXPECT_EQ(encoded.find("aGVsbG8="), std::string::npos);
  // InstrumentationScope { name 1, version 2 }, once per version.
  // InstrumentationScope attributes 3.
  EXPECT_NE(encoded.find(Len(1, Len(1, "io.opentelemetry.http") + Len(2, "1.2.0") +
                                    Len(3, KeyValue("lib.id", Len(7, std::string("\x01\x02", 2)))))),
            std::string::npos);
  EXPECT_NE(encoded.find(Len(1, Len(1, "io.opentelemetry.http") + Len(2, "2.0.0") +
                                    Len(3, StringAttribute("lib.flavour", "fast")))),
            std::string::npos);
  Result<OtlpTraces> back = DecodeOtlpTracesProto(encoded);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectEqualSpans(back->spans, spans);
  // And through JSON: the same spans, bytes still bytes.
  Result<OtlpTraces> via_json = DecodeOtlpTraces(EncodeOtlpTraces(back->spans));
  ASSERT_TRUE(via_json.ok());
  ExpectEqualSpans(via_json->spans, spans);
}

TEST(DecodeOtlpTracesProto, BytesValueOfEveryByteRoundTripsAsBytes) {
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  const std::string root = SpanBytes(kTraceId, kRootId, Len(9, KeyValue("raw", Len(7, every_byte))) +
                                                            Len(9, KeyValue("none", Len(7, ""))));
  Result<OtlpTraces> decoded = DecodeOtlpTracesProto(TracesRequest("api", {root}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->spans.size(), 1u);
  const std::string encoded = EncodeOtlpTracesProto(decoded->spans);
  EXPECT_NE(encoded.find(KeyValue("raw", Len(7, every_byte))), std::string::npos);
  EXPECT_NE(encoded.find(KeyValue("none", Len(7, ""))), std::string::npos);
  Result<OtlpTraces> back = DecodeOtlpTracesProto(encoded);
  ASSERT_TRUE(back.ok());
  ExpectEqualSpans(back->spans, decoded->spans);
}

TEST(DecodeOtlpTracesProto, RejectsBadSpansAndKeepsTheOthers) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {Len(1, Unhex("00112233")) + Len(2, Unhex(kRootId)), "invalid traceId '00112233'"},
      {Len(1, Unhex(kTraceId)) + Len(2, std::string(8, '\0')), "invalid spanId"},
      {SpanBytes(kTraceId, kRootId, Len(4, "x")), "invalid parentSpanId"},
      {SpanBytes(kTraceId, kRootId, VarintField(6, 9)), "kind must be 0..5"},
      {SpanBytes(kTraceId, kRootId, Len(15, VarintField(3, 7))), "status.code must be 0..2"},
      {SpanBytes(kTraceId, kRootId, Fixed64(7, UINT64_MAX)), "negative time"},
      {SpanBytes(kTraceId, kRootId, Len(9, KeyValue(std::string("a\0b", 3), Len(1, "v")))), "must not contain NUL"},
      {SpanBytes(kTraceId, kRootId, Len(13, Len(1, Unhex(kTraceId)) + Len(2, "abc"))), "link: invalid spanId"},
      {SpanBytes(kTraceId, kRootId, Len(13, Len(2, Unhex(kRootId)))), "link: invalid traceId"},
  };
  for (const auto& [span, why] : bad) {
    Result<OtlpTraces> r = DecodeOtlpTracesProto(TracesRequest("api", {span, SpanBytes(kTraceId, kChildId)}));
    ASSERT_TRUE(r.ok()) << why << ": " << r.status().message();
    EXPECT_EQ(r->rejected, 1) << why;
    EXPECT_THAT(r->first_error, HasSubstr(why));
    ASSERT_EQ(r->spans.size(), 1u) << why;
    EXPECT_EQ(r->spans[0].span_id, kChildId);
  }
}

TEST(DecodeOtlpTracesProto, ServiceDefaultsToUnknownServiceAndEmptyRequestsDecodeToNothing) {
  Result<OtlpTraces> r = DecodeOtlpTracesProto(Len(1, Len(2, Len(2, SpanBytes(kTraceId, kRootId)))));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].service, "unknown_service");
  EXPECT_EQ(r->spans[0].scope, "");
  Result<OtlpTraces> empty = DecodeOtlpTracesProto("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->spans.empty());
}

TEST(DecodeOtlpTracesProto, KvlistsNestedDeeperThanTheJsonBoundRejectTheSpan) {
  const auto nested = [](int depth) {
    std::string value = Len(1, "leaf");
    for (int i = 0; i < depth; ++i) value = Len(6, Len(1, KeyValue("k", value)));
    return value;
  };
  Result<OtlpTraces> ok =
      DecodeOtlpTracesProto(TracesRequest("api", {SpanBytes(kTraceId, kRootId, Len(9, KeyValue("a", nested(kMaxAttributeDepth))))}));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->spans.size(), 1u);
  Result<OtlpTraces> deep =
      DecodeOtlpTracesProto(TracesRequest("api", {SpanBytes(kTraceId, kRootId, Len(9, KeyValue("a", nested(kMaxAttributeDepth + 1))))}));
  ASSERT_TRUE(deep.ok()) << deep.status().message();
  EXPECT_EQ(deep->rejected, 1);
  EXPECT_THAT(deep->first_error, HasSubstr("nest too deeply"));
  // Nested arrays: libprotobuf's recursion limit refuses the body before the JSON they become
  // could pass the 64 levels every JSON reader of the project takes; what it accepts parses.
  int deepest = 0;
  for (int n = 1; n <= 60; ++n) {
    std::string arrays = Len(1, "leaf");
    for (int i = 0; i < n; ++i) arrays = Len(5, Len(1, arrays));
    Result<OtlpTraces> r =
        DecodeOtlpTracesProto(TracesRequest("api", {SpanBytes(kTraceId, kRootId, Len(9, KeyValue("a", arrays)))}));
    if (!r.ok()) continue;
    deepest = n;
    ASSERT_EQ(r->spans.size(), 1u) << n;
    JsonTape tape;
    EXPECT_TRUE(tape.Parse(r->spans[0].attributes).ok()) << n;
  }
  EXPECT_GE(deepest, 40);
  EXPECT_LT(deepest, 60);
  // Past libprotobuf's recursion limit the body itself is refused, without a stack overflow.
  Result<OtlpTraces> abyss =
      DecodeOtlpTracesProto(TracesRequest("api", {SpanBytes(kTraceId, kRootId, Len(9, KeyValue("a", nested(5000))))}));
  ASSERT_FALSE(abyss.ok());
  EXPECT_EQ(abyss.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(abyss.status().message(), HasSubstr("nested more than 100"));
}

TEST(DecodeOtlpTracesProto, ANulInANameBecomesTheReplacementCharacterAsInJson) {
  Result<OtlpTraces> r = DecodeOtlpTracesProto(
      TracesRequest(std::string("sh\0p", 4), {SpanBytes(kTraceId, kRootId, Len(5, std::string("a\0b", 3)))}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].service, "sh\xEF\xBF\xBDp");
  EXPECT_EQ(r->spans[0].name, "a\xEF\xBF\xBD" "b");  // the last name field wins, as protobuf says
}

TEST(DecodeOtlpTracesProto, RefusesStringsThatAreNotUtf8) {
  Result<OtlpTraces> r = DecodeOtlpTracesProto(TracesRequest("api", {SpanBytes(kTraceId, kRootId, Len(5, "a\xff"))}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

// A known field sent with another wire type is skipped as an unknown field, as libprotobuf
// does: never read as something it is not.
TEST(DecodeOtlpTracesProto, AFieldOfTheWrongWireTypeIsSkipped) {
  Result<OtlpTraces> r = DecodeOtlpTracesProto(TracesRequest("api", {SpanBytes(kTraceId, kRootId, Len(6, "xx"))}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->spans.size(), 1u);
  EXPECT_EQ(r->spans[0].kind, SpanKind::kUnspecified);
  Result<OtlpTraces> top = DecodeOtlpTracesProto(VarintField(1, 5));
  ASSERT_TRUE(top.ok());
  EXPECT_TRUE(top->spans.empty());
}

TEST(DecodeOtlpTracesProto, EveryTruncationIsRefusedOrDecodedWithoutCrashing) {
  const std::string body = ProtobufExport();
  size_t refused = 0;
  for (size_t len = 0; len < body.size(); ++len) {
    Result<OtlpTraces> r = DecodeOtlpTracesProto(std::string_view(body).substr(0, len));
    if (!r.ok()) {
      ++refused;
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    }
  }
  // The body is one length-delimited field: every cut short of its end leaves it unfinished.
  EXPECT_EQ(refused, body.size() - 1);
}

TEST(DecodeOtlpTracesProto, GarbageAndMutationsNeverCrash) {
  testing::Garbage garbage(7, std::string("\x0a\x12\x1a\x22\x2a\x32\x08\x10\x39\x41\x80\xff", 12));
  for (int i = 0; i < 5000; ++i) {
    DecodeOtlpTracesProto(garbage.Next(96));
    DecodeOtlpLogsProto(garbage.Next(96));
  }
  const std::string body = ProtobufExport();
  for (size_t i = 0; i < body.size(); ++i) {
    for (const char c : std::string("\x00\x01\x0a\x7f\x80\xff", 6)) {
      std::string mutated = body;
      mutated[i] = c;
      Result<OtlpTraces> r = DecodeOtlpTracesProto(mutated);
      if (r.ok()) {
        for (const Span& s : r->spans) EXPECT_TRUE(s.attributes.empty() || s.attributes.front() == '{');
      }
    }
  }
}

TEST(OtlpTracesProtoResponse, IsEmptyWhenAllWereAcceptedElsePartialSuccess) {
  EXPECT_EQ(OtlpTracesProtoResponse(OtlpTraces{}), "");
  OtlpTraces decoded;
  decoded.rejected = 2;
  decoded.first_error = "bad";
  // ExportTraceServiceResponse { partial_success 1 { rejected_spans 1: 2, error_message 2: "bad" } }
  EXPECT_EQ(OtlpTracesProtoResponse(decoded), Len(1, VarintField(1, 2) + Len(2, "bad")));
  OtlpLogs logs;
  logs.rejected = 3;
  logs.first_error = "x";
  EXPECT_EQ(OtlpLogsProtoResponse(logs), Len(1, VarintField(1, 3) + Len(2, "x")));
}

// ExportLogsServiceRequest { resource_logs 1 { resource 1, scope_logs 2 { log_records 2 } } };
// LogRecord: time 1, severity_number 2, severity_text 3, body 5, attributes 6, trace_id 9,
// span_id 10, observed_time 11.
std::string LogsRequest(const std::vector<std::string>& records) {
  std::string scope_logs;
  for (const std::string& r : records) scope_logs += Len(2, r);
  return Len(1, Len(1, Len(1, StringAttribute("service.name", "api"))) + Len(2, scope_logs));
}

TEST(DecodeOtlpLogsProto, GivesTheRecordsTheSameExportGivesAsJson) {
  const std::string json = R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
    "scopeLogs":[{"logRecords":[
      {"timeUnixNano":"1764075600000000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"boom"},
       "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
       "attributes":[{"key":"level","value":{"stringValue":"x"}},{"key":"n","value":{"intValue":"4"}}]},
      {"observedTimeUnixNano":"1764075601000000000","severityText":"warn","body":{"kvlistValue":{"values":[{"key":"a","value":{"boolValue":true}}]}}},
      {"timeUnixNano":"5","severityNumber":30}]}]}]})";
  const std::string proto = LogsRequest({
      Fixed64(1, 1764075600000000000) + VarintField(2, 17) + Len(3, "ERROR") + Len(5, Len(1, "boom")) +
          Len(9, Unhex(kTraceId)) + Len(10, Unhex(kRootId)) + Len(6, StringAttribute("level", "x")) +
          Len(6, KeyValue("n", VarintField(3, 4))),
      Fixed64(11, 1764075601000000000) + Len(3, "warn") + Len(5, Len(6, Len(1, KeyValue("a", VarintField(2, 1))))),
      Fixed64(1, 5) + VarintField(2, 30),
  });
  Result<OtlpLogs> a = DecodeOtlpLogs(json);
  Result<OtlpLogs> b = DecodeOtlpLogsProto(proto);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->rejected, 1);
  EXPECT_EQ(b->first_error, a->first_error);
  ASSERT_EQ(a->records.size(), 2u);
  ASSERT_EQ(b->records.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ToJson(b->records[i]), ToJson(a->records[i]));
  }
  EXPECT_EQ(b->records[0].level, LogLevel::kError);
  EXPECT_EQ(b->records[0].attributes, R"({"level_raw":"x","n":4})");
  EXPECT_EQ(b->records[1].level, LogLevel::kWarn);
  EXPECT_EQ(b->records[1].message, R"({"a":true})");
  EXPECT_EQ(b->records[1].ts_ns, 1764075601000000000);
}

TEST(DecodeOtlpLogsProto, TruncatedBodiesAreRefused) {
  const std::string body = LogsRequest({Fixed64(1, 5) + Len(5, Len(1, "hello"))});
  for (size_t len = 1; len < body.size(); ++len) {
    EXPECT_FALSE(DecodeOtlpLogsProto(body.substr(0, len)).ok()) << len;
  }
  EXPECT_TRUE(DecodeOtlpLogsProto(body).ok());
}

}  // namespace
}  // namespace mesh

#include "mesh/telemetry/trace_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mesh/http/http_message.h"

namespace mesh {
namespace telemetry_trace_api_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1764075600'000000000;  // 2025-11-25T13:00:00Z

// What meshd does with the query string meshtrace --server sends.
Result<TraceFilter> RoundTrip(const TraceFilter& f) {
  std::string query;
  for (const auto& [key, value] : TraceFilterToQuery(f)) {
    query += (query.empty() ? "" : "&") + key + "=" + UrlEncode(value);
  }
  return TraceFilterFromQuery(ParseQueryString(query), kNow);
}

TraceSummary Summary(const std::string& id) {
  TraceSummary t;
  t.trace_id = id;
  t.start_ns = 1764075600'123456789;
  t.duration_ns = 42'000'001;
  t.root_service = "web \"edge\"";
  t.root_name = "GET /checkout?x=\xc3\xa9";
  t.span_count = 7;
  t.services = {"db", "payments", "web \"edge\""};
  t.has_error = true;
  return t;
}

void ExpectSame(const TraceSummary& a, const TraceSummary& b) {
  EXPECT_EQ(a.trace_id, b.trace_id);
  EXPECT_EQ(a.start_ns, b.start_ns);
  EXPECT_EQ(a.duration_ns, b.duration_ns);
  EXPECT_EQ(a.root_service, b.root_service);
  EXPECT_EQ(a.root_name, b.root_name);
  EXPECT_EQ(a.span_count, b.span_count);
  EXPECT_EQ(a.services, b.services);
  EXPECT_EQ(a.has_error, b.has_error);
}

TEST(TraceFilterQuery, EmptyFilterIsNoParameters) {
  EXPECT_TRUE(TraceFilterToQuery(TraceFilter{}).empty());
  Result<TraceFilter> f = TraceFilterFromQuery({}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->service, "");
  EXPECT_EQ(f->operation, "");
  EXPECT_FALSE(f->min_duration_ns);
  EXPECT_FALSE(f->max_duration_ns);
  EXPECT_FALSE(f->errors_only);
  EXPECT_FALSE(f->since_ns);
  EXPECT_FALSE(f->until_ns);
}

TEST(TraceFilterQuery, EveryFieldRoundTripsToTheNanosecond) {
  TraceFilter f;
  f.service = "billing & co";
  f.operation = "GET /a?b=c #d caf\xc3\xa9";
  f.min_duration_ns = 1'500'000'001;
  f.max_duration_ns = 9'000'000'000;
  f.errors_only = true;
  f.since_ns = 1764075600'123456789;
  f.until_ns = 1764079200'000000001;
  Result<TraceFilter> back = RoundTrip(f);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->service, f.service);
  EXPECT_EQ(back->operation, f.operation);
  EXPECT_EQ(back->min_duration_ns, f.min_duration_ns);
  EXPECT_EQ(back->max_duration_ns, f.max_duration_ns);
  EXPECT_TRUE(back->errors_only);
  EXPECT_EQ(back->since_ns, f.since_ns);
  EXPECT_EQ(back->until_ns, f.until_ns);
}

TEST(TraceFilterQuery, EncodesAsDocumentedParameters) {
  TraceFilter f;
  f.min_duration_ns = 250'000'000;
  f.errors_only = true;
  f.since_ns = 1'500000000;
  EXPECT_EQ(TraceFilterToQuery(f), (std::map<std::string, std::string>{
                                       {"errors", "true"}, {"min_duration", "250000000ns"}, {"since", "1.500000000"}}));
}

TEST(TraceFilterFromQuery, AcceptsHumanDurationsTimesAndErrorsOne) {
  Result<TraceFilter> f =
      TraceFilterFromQuery({{"min_duration", "1.5s"}, {"since", "15m"}, {"until", "now"}, {"errors", "1"}}, kNow);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->min_duration_ns, 1'500'000'000);
  EXPECT_EQ(f->since_ns, kNow - 15 * 60 * 1'000'000'000LL);
  EXPECT_EQ(f->until_ns, kNow);
  EXPECT_TRUE(f->errors_only);
  Result<TraceFilter> no = TraceFilterFromQuery({{"errors", "false"}, {"service", ""}}, kNow);
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(no->errors_only);
  EXPECT_EQ(no->service, "");
}

TEST(TraceFilterFromQuery, RefusesAnErrorsValueThatIsNotABoolean) {
  Result<TraceFilter> f = TraceFilterFromQuery({{"errors", "yes"}}, kNow);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("parameter errors: 'yes'"));
}

TEST(TraceFilterQuery, AttributeAndTracePrefixRoundTrip) {
  TraceFilter f;
  f.attribute = AttributeMatch{"http.route", "/a?b=c&d=<script>"};
  f.trace_id_prefix = "4bf92f35";
  Result<TraceFilter> back = RoundTrip(f);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_TRUE(back->attribute);
  EXPECT_EQ(back->attribute->key, "http.route");
  EXPECT_EQ(back->attribute->value, "/a?b=c&d=<script>");
  EXPECT_EQ(back->trace_id_prefix, "4bf92f35");
}

TEST(TraceFilterFromQuery, TracePrefixIsLowercasedAndMustBeHex) {
  Result<TraceFilter> f = TraceFilterFromQuery({{"trace_prefix", "4BF92F35"}}, kNow);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->trace_id_prefix, "4bf92f35");
  for (const char* bad : {"4bf9zz", "4bf9' OR 1=1--", "4bf92f3577b34da6a3ce929d0e0e47360"}) {
    Result<TraceFilter> refused = TraceFilterFromQuery({{"trace_prefix", bad}}, kNow);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_THAT(refused.status().message(), HasSubstr("parameter trace_prefix: "));
  }
}

TEST(ParseAttributeMatch, SplitsAtTheFirstEqualsSign) {
  Result<AttributeMatch> m = ParseAttributeMatch("q=a=b");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->key, "q");
  EXPECT_EQ(m->value, "a=b");
  Result<AttributeMatch> empty_value = ParseAttributeMatch("user.id=");
  ASSERT_TRUE(empty_value.ok());
  EXPECT_EQ(empty_value->value, "");
}

TEST(ParseAttributeMatch, RefusesNoEqualsSignOrAnEmptyKey) {
  for (const char* bad : {"http.route", "=200", ""}) {
    EXPECT_FALSE(ParseAttributeMatch(bad).ok()) << bad;
  }
  Result<TraceFilter> f = TraceFilterFromQuery({{"attr", "novalue"}}, kNow);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("parameter attr: "));
}

TEST(TraceFilterFromQuery, BadValuesAreInvalidArgumentNamingTheParameter) {
  for (const char* key : {"min_duration", "max_duration", "since", "until"}) {
    Result<TraceFilter> f = TraceFilterFromQuery({{key, "soon-ish"}}, kNow);
    ASSERT_FALSE(f.ok()) << key;
    EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr(std::string("parameter ") + key + ": "));
  }
}

TEST(TraceList, RoundTripsEveryField) {
  const std::vector<TraceSummary> traces = {Summary("4bf92f3577b34da6a3ce929d0e0e4736"),
                                            TraceSummary{.trace_id = "00f067aa0ba902b7"}};
  Result<std::vector<TraceSummary>> back = DecodeTraceList(EncodeTraceList(traces));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), 2u);
  ExpectSame((*back)[0], traces[0]);
  ExpectSame((*back)[1], traces[1]);
  Result<std::vector<TraceSummary>> none = DecodeTraceList(EncodeTraceList({}));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(TraceList, EncodesTheDocumentedShape) {
  TraceSummary t;
  t.trace_id = "ab";
  t.start_ns = 1'500'000'000;
  t.duration_ns = 3;
  t.root_service = "web";
  t.root_name = "GET /";
  t.span_count = 2;
  t.services = {"db", "web"};
  EXPECT_EQ(EncodeTraceList({t}),
            "{\"traces\":[{\"trace_id\":\"ab\",\"start\":\"1970-01-01T00:00:01.500Z\",\"start_ns\":1500000000,"
            "\"duration_ns\":3,\"root_service\":\"web\",\"root_name\":\"GET /\",\"span_count\":2,"
            "\"services\":[\"db\",\"web\"],\"error\":false}]}");
}

TEST(TraceList, MissingMembersTakeTheirDefaults) {
  Result<std::vector<TraceSummary>> r = DecodeTraceList(R"({"traces":[{"trace_id":"ab"}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].trace_id, "ab");
  EXPECT_EQ((*r)[0].span_count, 0);
  EXPECT_TRUE((*r)[0].services.empty());
  EXPECT_FALSE((*r)[0].has_error);
}

TEST(TraceList, WrongShapesAreErrorsNotExceptions) {
  for (const char* json : {"", "[]", "{}", "{\"traces\":{}}", "{\"traces\":[1]}", "{\"traces\":[{}]}",
                           R"({"traces":[{"trace_id":7}]})", R"({"traces":[{"trace_id":"a","start_ns":"x"}]})",
                           R"({"traces":[{"trace_id":"a","span_count":1.5}]})",
                           R"({"traces":[{"trace_id":"a","services":"db"}]})",
                           R"({"traces":[{"trace_id":"a","services":[{}]}]})",
                           R"({"traces":[{"trace_id":"a","error":"yes"}]})",
                           R"({"traces":[{"trace_id":"a","root_name":[]}]})"}) {
    Result<std::vector<TraceSummary>> r = DecodeTraceList(json);
    EXPECT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << json;
  }
}

TEST(TraceList, TruncatedAnswersNeverCrash) {
  const std::string json = EncodeTraceList({Summary("4bf92f3577b34da6a3ce929d0e0e4736"), Summary("ab")});
  for (size_t n = 0; n < json.size(); ++n) {
    Result<std::vector<TraceSummary>> r = DecodeTraceList(json.substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(TraceList, GarbageNeverCrashes) {
  std::string json = EncodeTraceList({Summary("4bf92f3577b34da6a3ce929d0e0e4736")});
  uint32_t seed = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string g = json;
    for (int k = 0; k < 3; ++k) {
      seed = seed * 1664525u + 1013904223u;
      g[seed % g.size()] = static_cast<char>(seed >> 24);
    }
    (void)DecodeTraceList(g);  // any answer but a crash or an exception
  }
}

}  // namespace
}  // namespace mesh

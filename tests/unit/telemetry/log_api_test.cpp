#include "mesh/telemetry/log_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "mesh/base/url_encoding.h"
#include "test_support.h"

namespace mesh {
namespace telemetry_log_api_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1764075600'000000000;  // 2025-11-25T13:00:00Z
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";

// What meshd does with the query string RemoteLogSource sends.
Result<LogFilter> RoundTrip(const LogFilter& f) {
  return LogFilterFromQuery(ParseQueryString(LogFilterToQuery(f)), kNow);
}

TEST(LogFilterQuery, EmptyFilterIsAnEmptyQuery) {
  EXPECT_EQ(LogFilterToQuery(LogFilter{}), "");
  Result<LogFilter> f = LogFilterFromQuery({}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->services.empty());
  EXPECT_FALSE(f->min_level);
  EXPECT_FALSE(f->since_ns);
  EXPECT_FALSE(f->until_ns);
  EXPECT_EQ(f->trace_id, "");
  EXPECT_EQ(f->grep, "");
  EXPECT_FALSE(f->max_cursor);
}

TEST(LogFilterQuery, EveryFieldRoundTrips) {
  LogFilter f;
  f.services = {"api", "billing-worker", "web"};
  f.min_level = LogLevel::kWarn;
  f.since_ns = 1764075600'123456789;
  f.until_ns = 1764079200'000000001;
  f.trace_id = kTraceId;
  f.grep = "timed out & retried = \"50%\" +1 caf\xc3\xa9";
  f.max_cursor = 4242;
  Result<LogFilter> back = RoundTrip(f);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_THAT(back->services, ElementsAre("api", "billing-worker", "web"));
  EXPECT_EQ(back->min_level, LogLevel::kWarn);
  EXPECT_EQ(back->since_ns, f.since_ns);  // to the nanosecond
  EXPECT_EQ(back->until_ns, f.until_ns);
  EXPECT_EQ(back->trace_id, kTraceId);
  EXPECT_EQ(back->grep, f.grep);
  EXPECT_EQ(back->max_cursor, 4242);
}

TEST(LogFilterQuery, EncodesAsDocumentedParameters) {
  LogFilter f;
  f.services = {"a", "b"};
  f.min_level = LogLevel::kError;
  f.since_ns = 1'500000000;
  f.grep = "x y&z";
  EXPECT_EQ(LogFilterToQuery(f), "service=a%2Cb&level=ERROR&since=1.500000000&grep=x%20y%26z");
}

TEST(LogFilterQuery, EachLevelRoundTrips) {
  for (LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError, LogLevel::kFatal}) {
    LogFilter f;
    f.min_level = level;
    Result<LogFilter> back = RoundTrip(f);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->min_level, level);
  }
}

TEST(LogFilterQuery, ZeroAndEdgeTimesRoundTrip) {
  for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{999999999}, int64_t{1000000000},
                    int64_t{4102444800'999999999}}) {
    LogFilter f;
    f.since_ns = t;
    Result<LogFilter> back = RoundTrip(f);
    ASSERT_TRUE(back.ok()) << t << ": " << back.status().message();
    EXPECT_EQ(back->since_ns, t);
  }
}

TEST(LogFilterFromQuery, SkipsEmptyServiceNames) {
  Result<LogFilter> f = LogFilterFromQuery({{"service", ",api,,web,"}}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(f->services, ElementsAre("api", "web"));
}

TEST(LogFilterFromQuery, EmptyValuesMeanNoFilter) {
  Result<LogFilter> f = LogFilterFromQuery(
      {{"service", ""}, {"level", ""}, {"since", ""}, {"until", ""}, {"trace_id", ""}}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->services.empty());
  EXPECT_FALSE(f->min_level);
  EXPECT_FALSE(f->since_ns);
  EXPECT_EQ(f->trace_id, "");
}

TEST(LogFilterFromQuery, TimesAcceptRfc3339DurationsAndNow) {
  Result<LogFilter> f =
      LogFilterFromQuery({{"since", "15m"}, {"until", "2025-11-25T13:00:00.5Z"}}, kNow);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->since_ns, kNow - 15 * 60 * 1'000'000'000LL);
  EXPECT_EQ(f->until_ns, kNow + 500'000'000);
  Result<LogFilter> now = LogFilterFromQuery({{"until", "now"}}, kNow);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->until_ns, kNow);
}

TEST(LogFilterFromQuery, LevelAcceptsAliasesInAnyCase) {
  Result<LogFilter> f = LogFilterFromQuery({{"level", "Warning"}}, kNow);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->min_level, LogLevel::kWarn);
}

TEST(LogFilterFromQuery, BadLevelIsInvalidArgument) {
  Result<LogFilter> f = LogFilterFromQuery({{"level", "loud"}}, kNow);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(f.status().message(), HasSubstr("unknown level 'loud'"));
}

TEST(LogFilterFromQuery, BadTraceIdIsInvalidArgument) {
  for (const char* id : {"xyz", "4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6",
                         "00000000000000000000000000000000"}) {
    Result<LogFilter> f = LogFilterFromQuery({{"trace_id", id}}, kNow);
    ASSERT_FALSE(f.ok()) << id;
    EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr("invalid trace_id"));
  }
}

TEST(LogFilterFromQuery, BadTimeIsInvalidArgumentNamingTheParameter) {
  for (const char* key : {"since", "until"}) {
    Result<LogFilter> f = LogFilterFromQuery({{key, "yesterday-ish"}}, kNow);
    ASSERT_FALSE(f.ok()) << key;
    EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr(std::string("parameter ") + key));
  }
  EXPECT_FALSE(LogFilterFromQuery({{"since", "2025-13-45T00:00:00Z"}}, kNow).ok());
}

TEST(LogFilterFromQuery, BadMaxCursorIsInvalidArgument) {
  for (const char* value : {"-1", "x", "", "1.5", "12abc", "99999999999999999999"}) {
    Result<LogFilter> f = LogFilterFromQuery({{"max_cursor", value}}, kNow);
    ASSERT_FALSE(f.ok()) << value;
    EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr("max_cursor"));
  }
}

bool SameFilter(const LogFilter& a, const LogFilter& b) {
  return a.services == b.services && a.min_level == b.min_level && a.since_ns == b.since_ns &&
         a.until_ns == b.until_ns && a.trace_id == b.trace_id && a.grep == b.grep &&
         a.max_cursor == b.max_cursor;
}

// Each garbage query gets the documented outcome: InvalidArgument naming the bad parameter, or
// a filter that LogFilterToQuery carries to meshd unchanged (times before 1970 travel as 0).
TEST(LogFilterFromQuery, GarbageQueriesAreRejectedByNameOrRoundTrip) {
  testing::Garbage garbage(
      17, "service=level&since=until&trace_id=grep&max_cursor=%,0123456789.abcdefmhs");
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string query = garbage.Next(80);
    Result<LogFilter> f = LogFilterFromQuery(ParseQueryString(query), kNow);
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument) << query;
      EXPECT_THAT(f.status().message(),
                  ::testing::AnyOf(HasSubstr("level"), HasSubstr("since"), HasSubstr("until"),
                                   HasSubstr("trace_id"), HasSubstr("max_cursor")))
          << query;
      continue;
    }
    ++accepted;
    LogFilter expected = *f;
    for (std::optional<int64_t>* t : {&expected.since_ns, &expected.until_ns}) {
      if (*t && **t < 0) *t = 0;
    }
    const std::string wire = LogFilterToQuery(*f);
    Result<LogFilter> back = LogFilterFromQuery(ParseQueryString(wire), kNow);
    ASSERT_TRUE(back.ok()) << query << " -> " << wire << ": " << back.status().message();
    EXPECT_TRUE(SameFilter(*back, expected)) << query << " -> " << wire;
  }
  EXPECT_GT(accepted, 0);
}

// ---- pages --------------------------------------------------------------------------------

std::vector<LogRecord> SampleRecords() {
  std::vector<LogRecord> records(3);
  records[0].id = 17;
  records[0].ts_ns = 1764075600'123456789;
  records[0].service = "api";
  records[0].level = LogLevel::kError;
  records[0].message = "payment \"failed\"\n\tcaf\xc3\xa9 \xf0\x9f\x98\x80";
  records[0].trace_id = kTraceId;
  records[0].span_id = "00f067aa0ba902b7";
  records[0].attributes =
      R"({"zeta":1,"alpha":"two","nested":{"z":[1,2.5,{"k":null}],"a":true},"big":12345678901234567890,"ratio":0.1})";
  records[1].id = 18;
  records[1].ts_ns = 1764075601'000000000;
  records[1].service = "web";
  records[1].level = LogLevel::kDebug;
  records[1].message = "";
  records[2].id = 20;
  records[2].ts_ns = 5;
  records[2].service = "api";
  records[2].level = LogLevel::kFatal;
  records[2].message = "m";
  records[2].attributes = R"({"only":"one"})";
  return records;
}

TEST(LogPage, EncodeThenDecodeKeepsEverything) {
  const std::vector<LogRecord> records = SampleRecords();
  const std::string encoded = EncodeLogPage(records, 99);
  Result<LogPage> page = DecodeLogPage(encoded);
  ASSERT_TRUE(page.ok()) << page.status().message() << "\n" << encoded;
  EXPECT_EQ(page->cursor, 99);
  ASSERT_EQ(page->records.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const LogRecord& a = records[i];
    const LogRecord& b = page->records[i];
    EXPECT_EQ(b.id, a.id) << i;
    EXPECT_EQ(b.ts_ns, a.ts_ns) << i;
    EXPECT_EQ(b.service, a.service) << i;
    EXPECT_EQ(b.level, a.level) << i;
    EXPECT_EQ(b.message, a.message) << i;
    EXPECT_EQ(b.trace_id, a.trace_id) << i;
    EXPECT_EQ(b.span_id, a.span_id) << i;
    // Attribute order, nesting and number text (past 2^64, 0.1) survive byte for byte.
    EXPECT_EQ(b.attributes, a.attributes) << i;
  }
}

TEST(LogPage, IsTheDocumentedShape) {
  LogRecord r;
  r.id = 3;
  r.ts_ns = 0;
  r.service = "s";
  r.message = "m";
  EXPECT_EQ(
      EncodeLogPage({r}, 7),
      R"({"cursor":7,"records":[{"cursor":3,"record":{"timestamp":"1970-01-01T00:00:00.000Z",)"
      R"("level":"INFO","service":"s","message":"m"}}]})");
  EXPECT_EQ(EncodeLogPage({}, 0), R"({"cursor":0,"records":[]})");
}

TEST(LogPage, EmptyPageDecodes) {
  Result<LogPage> page = DecodeLogPage(EncodeLogPage({}, 12));
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->records.empty());
  EXPECT_EQ(page->cursor, 12);
}

TEST(LogPage, DecodeRejectsWhatIsNotAPage) {
  for (const char* json :
       {"", "[]", "nope", R"({"cursor":1})", R"({"records":{}})", R"({"records":[1]})",
        R"({"records":[{"cursor":1}]})", R"({"records":[{"record":"x"}]})",
        R"({"records":[{"record":{"level":1}})"}) {
    Result<LogPage> page = DecodeLogPage(json);
    EXPECT_FALSE(page.ok()) << json;
  }
  EXPECT_THAT(DecodeLogPage(R"({"cursor":1})").status().message(), HasSubstr("no records array"));
  EXPECT_THAT(DecodeLogPage(R"({"records":[{"cursor":1}]})").status().message(),
              HasSubstr("has no record"));
}

TEST(LogPage, TruncationsAreRejectedAndGarbageIsRejectedOrRoundTrips) {
  const std::string encoded = EncodeLogPage(SampleRecords(), 99);
  for (size_t len = 0; len < encoded.size(); ++len) {
    EXPECT_FALSE(DecodeLogPage(encoded.substr(0, len)).ok()) << len;
  }
  // Garbage: an InvalidArgument, or a page that encodes back to what it decodes from.
  testing::Garbage garbage(23, R"({}[]":,cursorrecordlevel0123456789)");
  for (int i = 0; i < 3000; ++i) {
    const std::string json = garbage.Next(64);
    Result<LogPage> page = DecodeLogPage(json);
    if (!page.ok()) {
      EXPECT_EQ(page.status().code(), Status::Code::kInvalidArgument) << json;
      continue;
    }
    const std::string again = EncodeLogPage(page->records, page->cursor);
    Result<LogPage> back = DecodeLogPage(again);
    ASSERT_TRUE(back.ok()) << json << " -> " << again;
    EXPECT_EQ(EncodeLogPage(back->records, back->cursor), again) << json;
  }
}

TEST(LevelCounts, EncodeThenDecodeKeepsEveryCount) {
  const std::vector<LevelCount> counts = {{"api", LogLevel::kInfo, 120},
                                          {"api", LogLevel::kError, 3},
                                          {"caf\xc3\xa9 \"q\"", LogLevel::kFatal, 9000000000}};
  const std::string encoded = EncodeLevelCounts(counts);
  EXPECT_THAT(encoded, HasSubstr(R"({"service":"api","level":"ERROR","count":3})"));
  Result<std::vector<LevelCount>> back = DecodeLevelCounts(encoded);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    EXPECT_EQ((*back)[i].service, counts[i].service);
    EXPECT_EQ((*back)[i].level, counts[i].level);
    EXPECT_EQ((*back)[i].count, counts[i].count);
  }
}

TEST(LevelCounts, EmptyListRoundTrips) {
  EXPECT_EQ(EncodeLevelCounts({}), R"({"stats":[]})");
  Result<std::vector<LevelCount>> back = DecodeLevelCounts(R"({"stats":[]})");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(LevelCounts, DecodeRejectsWhatIsNotAStatsAnswer) {
  for (const char* json : {"", "[]", "{", R"({"stats":{}})", R"({"other":[]})"}) {
    EXPECT_FALSE(DecodeLevelCounts(json).ok()) << json;
  }
  EXPECT_THAT(DecodeLevelCounts(R"({"stats":1})").status().message(), HasSubstr("no stats array"));
}

// The answer comes from a server over the network: wrong shapes are errors, never exceptions.
TEST(LevelCounts, DecodeRejectsMalformedEntriesWithoutThrowing) {
  for (const char* json :
       {R"({"stats":[1]})", R"({"stats":[{"service":{},"level":"INFO","count":1}]})",
        R"({"stats":[{"service":"a","level":[],"count":1}]})",
        R"({"stats":[{"service":"a","level":"INFO","count":"many"}]})",
        R"({"stats":[{"service":"a","level":"INFO","count":1e300}]})"}) {
    Result<std::vector<LevelCount>> r = DecodeLevelCounts(json);
    EXPECT_FALSE(r.ok()) << json;
  }
}

// Garbage from the network: an InvalidArgument, or counts that encode back to what they
// decode from.
TEST(LevelCounts, GarbageIsRejectedOrRoundTrips) {
  testing::Garbage garbage(29, R"({}[]":,statsservicelevelcount0123456789INFO)");
  for (int i = 0; i < 3000; ++i) {
    const std::string json = garbage.Next(64);
    Result<std::vector<LevelCount>> counts = DecodeLevelCounts(json);
    if (!counts.ok()) {
      EXPECT_EQ(counts.status().code(), Status::Code::kInvalidArgument) << json;
      continue;
    }
    const std::string again = EncodeLevelCounts(*counts);
    Result<std::vector<LevelCount>> back = DecodeLevelCounts(again);
    ASSERT_TRUE(back.ok()) << json << " -> " << again;
    EXPECT_EQ(EncodeLevelCounts(*back), again) << json;
  }
  // The round trip is checked on answers that decode, not only on the rare garbage that does.
  for (const char* json : {R"({"stats":[{"service":"a","level":"INFO","count":0}]})",
                           R"({"stats":[{"count":7,"level":"fatal","service":"\u00e9"}],"x":1})"}) {
    Result<std::vector<LevelCount>> counts = DecodeLevelCounts(json);
    ASSERT_TRUE(counts.ok()) << json << ": " << counts.status().message();
    Result<std::vector<LevelCount>> back = DecodeLevelCounts(EncodeLevelCounts(*counts));
    ASSERT_TRUE(back.ok()) << json;
    EXPECT_EQ(EncodeLevelCounts(*back), EncodeLevelCounts(*counts)) << json;
  }
}

}  // namespace
}  // namespace mesh

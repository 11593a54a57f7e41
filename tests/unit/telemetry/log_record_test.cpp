#include "mesh/telemetry/log_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "test_support.h"

namespace mesh {
namespace telemetry_log_record_test {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kNov25 = 1'764'075'600 * kSec;  // 2025-11-25T13:00:00Z
constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";

LogRecord Defaults() {
  LogRecord d;
  d.ts_ns = 7 * kSec;
  d.service = "default-svc";
  d.level = LogLevel::kInfo;
  return d;
}

LogRecord FromJsonOrDie(std::string_view json, const LogRecord& defaults = Defaults()) {
  Result<LogRecord> r = LogRecordFromJson(json, defaults);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().message();
  return r.ok() ? *r : LogRecord{};
}

Json::Value Attributes(const LogRecord& r) {
  if (r.attributes.empty()) return Json::Value(Json::objectValue);
  Result<Json::Value> v = ParseJson(r.attributes);
  EXPECT_TRUE(v.ok()) << r.attributes;
  return v.ok() ? *v : Json::Value();
}

// ---- AppendJson / ToJson ---------------------------------------------------------------------

TEST(LogRecordJson, PrintsKnownFieldsInOrder) {
  LogRecord r;
  r.ts_ns = kNov25 + 120'000'000;
  r.level = LogLevel::kWarn;
  r.service = "api";
  r.message = "slow \"query\"\n";
  EXPECT_EQ(ToJson(r), R"({"timestamp":"2025-11-25T13:00:00.120Z","level":"WARN","service":"api",)"
                       R"("message":"slow \"query\"\n"})");
}

TEST(LogRecordJson, PrintsTraceAndSpanOnlyWhenSet) {
  LogRecord r;
  r.service = "api";
  EXPECT_THAT(ToJson(r), Not(HasSubstr("trace_id")));
  EXPECT_THAT(ToJson(r), Not(HasSubstr("span_id")));
  r.trace_id = kTrace;
  r.span_id = kSpan;
  EXPECT_THAT(ToJson(r), HasSubstr(std::string(R"("trace_id":")") + kTrace + R"(","span_id":")" +
                                   kSpan + R"("})"));
}

TEST(LogRecordJson, SplicesAttributesAtTheTopLevel) {
  LogRecord r;
  r.message = "m";
  r.attributes = R"({"user":42,"ctx":{"a":[1,2]}})";
  const std::string json = ToJson(r);
  EXPECT_THAT(json, HasSubstr(R"("message":"m","user":42,"ctx":{"a":[1,2]}})"));
  ASSERT_TRUE(ParseJson(json).ok()) << json;
}

TEST(LogRecordJson, EmptyAttributesAddNothing) {
  LogRecord r;
  r.attributes = "{}";
  const std::string with_empty_object = ToJson(r);
  r.attributes = "";
  EXPECT_EQ(ToJson(r), with_empty_object);
  EXPECT_EQ(with_empty_object.back(), '}');
  EXPECT_TRUE(ParseJson(with_empty_object).ok());
}

TEST(LogRecordJson, AppendJsonAppendsWithoutNewline) {
  LogRecord r;
  std::string out = "x";
  AppendJson(out, r);
  EXPECT_EQ(out, "x" + ToJson(r));
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(LogRecordJson, RoundTripsThroughLogRecordFromJson) {
  LogRecord r;
  r.ts_ns = kNov25 + 123'456'789;
  r.level = LogLevel::kError;
  r.service = "checkout";
  r.message = "payment declined: caf\xC3\xA9 \"card\"\t";
  r.trace_id = kTrace;
  r.span_id = kSpan;
  r.attributes = R"({"amount":19.99,"big":18446744073709551615,"nested":{"k":[true,null]}})";
  const LogRecord back = FromJsonOrDie(ToJson(r), LogRecord{});
  EXPECT_EQ(back.ts_ns, r.ts_ns);
  EXPECT_EQ(back.level, r.level);
  EXPECT_EQ(back.service, r.service);
  EXPECT_EQ(back.message, r.message);
  EXPECT_EQ(back.trace_id, r.trace_id);
  EXPECT_EQ(back.span_id, r.span_id);
  EXPECT_EQ(back.attributes, r.attributes);
  EXPECT_EQ(back.id, 0);
}

// ---- LogRecordFromJson: names ----------------------------------------------------------------

TEST(LogRecordFromJson, ReadsCanonicalNames) {
  const LogRecord r = FromJsonOrDie(
      R"({"timestamp":"2025-11-25T13:00:00Z","level":"error","service":"api","message":"boom",)"
      R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"})");
  EXPECT_EQ(r.ts_ns, kNov25);
  EXPECT_EQ(r.level, LogLevel::kError);
  EXPECT_EQ(r.service, "api");
  EXPECT_EQ(r.message, "boom");
  EXPECT_EQ(r.trace_id, kTrace);
  EXPECT_EQ(r.span_id, kSpan);
  EXPECT_EQ(r.attributes, "");
}

TEST(LogRecordFromJson, ReadsTimestampAliases) {
  for (const char* name : {"time", "ts", "@timestamp"}) {
    const std::string json = std::string(R"({")") + name + R"(":"2025-11-25T14:00:00+01:00"})";
    const LogRecord r = FromJsonOrDie(json);
    EXPECT_EQ(r.ts_ns, kNov25) << name;
    EXPECT_EQ(r.attributes, "") << name;
  }
}

TEST(LogRecordFromJson, FirstPresentAliasWinsAndTheOthersStayAttributes) {
  const LogRecord r =
      FromJsonOrDie(R"({"ts":"2025-11-25T13:00:00Z","time":1,"msg":"b","message":"a"})");
  EXPECT_EQ(r.ts_ns, 1 * kSec);  // "time" comes before "ts" in the list
  EXPECT_EQ(r.message, "a");
  const Json::Value attrs = Attributes(r);
  EXPECT_EQ(attrs["ts"].asString(), "2025-11-25T13:00:00Z");
  EXPECT_EQ(attrs["msg"].asString(), "b");
}

TEST(LogRecordFromJson, ReadsMessageAndLevelAliases) {
  LogRecord r = FromJsonOrDie(R"({"msg":"hello","severity":"WARNING"})");
  EXPECT_EQ(r.message, "hello");
  EXPECT_EQ(r.level, LogLevel::kWarn);
  r = FromJsonOrDie(R"({"lvl":"debug"})");
  EXPECT_EQ(r.level, LogLevel::kDebug);
  r = FromJsonOrDie(R"({"loglevel":"fatal"})");
  EXPECT_EQ(r.level, LogLevel::kFatal);
}

TEST(LogRecordFromJson, ReadsCamelCaseTraceAndSpanIdsAndLowercasesThem) {
  const LogRecord r = FromJsonOrDie(
      R"({"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00F067AA0BA902B7"})");
  EXPECT_EQ(r.trace_id, kTrace);
  EXPECT_EQ(r.span_id, kSpan);
  EXPECT_EQ(r.attributes, "");
}

TEST(LogRecordFromJson, AbsentFieldsKeepTheDefaults) {
  LogRecord d = Defaults();
  d.trace_id = kTrace;
  const LogRecord r = FromJsonOrDie(R"({"user":1})", d);
  EXPECT_EQ(r.ts_ns, d.ts_ns);
  EXPECT_EQ(r.service, "default-svc");
  EXPECT_EQ(r.level, LogLevel::kInfo);
  EXPECT_EQ(r.message, "");
  EXPECT_EQ(r.trace_id, kTrace);
  EXPECT_EQ(r.attributes, R"({"user":1})");
}

TEST(LogRecordFromJson, EmptyServiceKeepsTheDefaultService) {
  const LogRecord r = FromJsonOrDie(R"({"service":""})");
  EXPECT_EQ(r.service, "default-svc");
}

TEST(LogRecordFromJson, NonStringMessageBecomesItsJsonText) {
  EXPECT_EQ(FromJsonOrDie(R"({"msg":42})").message, "42");
  EXPECT_EQ(FromJsonOrDie(R"({"message":{"a":[1,"x"]}})").message, R"({"a":[1,"x"]})");
}

// ---- LogRecordFromJson: timestamps -----------------------------------------------------------

TEST(LogRecordFromJson, ReadsNumericTimestampsInEachUnitByMagnitude) {
  EXPECT_EQ(FromJsonOrDie(R"({"time":1764075600})").ts_ns, kNov25);
  EXPECT_EQ(FromJsonOrDie(R"({"time":1764075600123})").ts_ns, kNov25 + 123'000'000);
  EXPECT_EQ(FromJsonOrDie(R"({"time":1764075600123456})").ts_ns, kNov25 + 123'456'000);
  EXPECT_EQ(FromJsonOrDie(R"({"time":1764075600123456789})").ts_ns, kNov25 + 123'456'789);
  EXPECT_NEAR(FromJsonOrDie(R"({"time":1764075600.5})").ts_ns, kNov25 + 500'000'000, 256);
}

TEST(LogRecordFromJson, ReadsNumericStringTimestamps) {
  EXPECT_EQ(FromJsonOrDie(R"({"ts":"1764075600"})").ts_ns, kNov25);
  EXPECT_EQ(FromJsonOrDie(R"({"ts":"1764075600123"})").ts_ns, kNov25 + 123'000'000);
  EXPECT_EQ(FromJsonOrDie(R"({"ts":"1764075600123456789"})").ts_ns, kNov25 + 123'456'789);
  // A fraction goes through a double: exact to within its precision at this magnitude.
  EXPECT_NEAR(FromJsonOrDie(R"({"ts":"1764075600.25"})").ts_ns, kNov25 + 250'000'000, 256);
}

TEST(LogRecordFromJson, MillisecondTimestampsPrintWithoutFloatingPointNoise) {
  // pino writes "time" in milliseconds; it must print as .123, not .123000064.
  const LogRecord r = FromJsonOrDie(R"({"time":1764075600123})");
  EXPECT_EQ(FormatRfc3339(r.ts_ns), "2025-11-25T13:00:00.123Z");
}

TEST(UnixTimestampToNs, ScalesByMagnitude) {
  EXPECT_EQ(UnixTimestampToNs(1764075600.0), kNov25);
  EXPECT_EQ(UnixTimestampToNs(1.5), 1'500'000'000);
  EXPECT_EQ(UnixTimestampToNs(0), 0);
  EXPECT_EQ(UnixTimestampToNs(9'000'000'000.0), 9'000'000'000 * kSec);           // still seconds
  EXPECT_EQ(UnixTimestampToNs(100'000'000'000.0), 100'000'000'000 * 1'000'000);  // ms
  EXPECT_EQ(UnixTimestampToNs(1e14), int64_t{100'000'000'000'000} * 1000);       // us
  EXPECT_EQ(UnixTimestampToNs(1e17), int64_t{100'000'000'000'000'000});          // ns
  EXPECT_EQ(UnixTimestampToNs(-1.5), -1'500'000'000);
}

TEST(UnixTimestampToNs, GivesZeroForUnrepresentableValues) {
  EXPECT_EQ(UnixTimestampToNs(1e30), 0);
  EXPECT_EQ(UnixTimestampToNs(-1e30), 0);
  EXPECT_EQ(UnixTimestampToNs(std::numeric_limits<double>::infinity()), 0);
  EXPECT_EQ(UnixTimestampToNs(std::numeric_limits<double>::quiet_NaN()), 0);
}

TEST(LogRecordFromJson, KeepsAnUnusableTimestampAsAnAttribute) {
  LogRecord r = FromJsonOrDie(R"({"timestamp":"yesterday"})");
  EXPECT_EQ(r.ts_ns, Defaults().ts_ns);
  EXPECT_EQ(Attributes(r)["timestamp_raw"].asString(), "yesterday");
  r = FromJsonOrDie(R"({"time":"20251125T130000"})");
  EXPECT_EQ(Attributes(r)["time"].asString(), "20251125T130000");
  r = FromJsonOrDie(R"({"ts":true})");
  EXPECT_TRUE(Attributes(r)["ts"].asBool());
}

// ---- LogRecordFromJson: levels ---------------------------------------------------------------

TEST(LogRecordFromJson, ReadsPinoLevels) {
  const struct {
    int pino;
    LogLevel level;
  } cases[] = {{10, LogLevel::kDebug}, {20, LogLevel::kDebug}, {30, LogLevel::kInfo},
               {40, LogLevel::kWarn},  {50, LogLevel::kError}, {60, LogLevel::kFatal}};
  for (const auto& c : cases) {
    const LogRecord r = FromJsonOrDie(R"({"level":)" + std::to_string(c.pino) + "}");
    EXPECT_EQ(r.level, c.level) << c.pino;
    EXPECT_EQ(r.attributes, "") << c.pino;
  }
}

TEST(LogRecordFromJson, ReadsOpenTelemetrySeverityNumbers) {
  EXPECT_EQ(FromJsonOrDie(R"({"severity":17})").level, LogLevel::kError);
  EXPECT_EQ(FromJsonOrDie(R"({"severity":13})").level, LogLevel::kWarn);
  EXPECT_EQ(FromJsonOrDie(R"({"severity":1})").level, LogLevel::kDebug);
  EXPECT_EQ(FromJsonOrDie(R"({"severity":24})").level, LogLevel::kFatal);
}

TEST(LogRecordFromJson, KeepsAnUnknownLevelAsARawAttribute) {
  LogRecord r = FromJsonOrDie(R"({"level":"verbose-ish"})");
  EXPECT_EQ(r.level, LogLevel::kInfo);
  EXPECT_EQ(Attributes(r)["level_raw"].asString(), "verbose-ish");
  r = FromJsonOrDie(R"({"level":25})");
  EXPECT_EQ(Attributes(r)["level_raw"].asInt(), 25);
  r = FromJsonOrDie(R"({"severity":0})");
  EXPECT_EQ(Attributes(r)["severity"].asInt(), 0);  // not a canonical name: kept as is
  r = FromJsonOrDie(R"({"level":[1]})");
  EXPECT_TRUE(Attributes(r)["level_raw"].isArray());
}

TEST(LogRecordFromJson, KeepsOutOfRangeNumericLevelsWithoutThrowing) {
  // jsoncpp throws when asked for an int64 it does not hold; such levels are just unusable.
  for (const char* json :
       {R"({"level":18446744073709551615})", R"({"level":1e19})", R"({"level":-1e300})",
        R"({"level":9223372036854775808})", R"({"level":30.5})"}) {
    Result<LogRecord> r = LogRecordFromJson(json, Defaults());
    ASSERT_TRUE(r.ok()) << json;
    EXPECT_EQ(r->level, LogLevel::kInfo) << json;
    EXPECT_TRUE(Attributes(*r).isMember("level_raw")) << json;
  }
}

TEST(LogRecordFromJson, KeepsOutOfRangeNumericTimestampsWithoutThrowing) {
  for (const char* json : {R"({"time":18446744073709551615})", R"({"time":1e300})",
                           R"({"time":-1e300})", R"({"time":"99999999999999999999999"})"}) {
    Result<LogRecord> r = LogRecordFromJson(json, Defaults());
    EXPECT_TRUE(r.ok()) << json;
  }
}

// ---- LogRecordFromJson: trace ids and attributes ---------------------------------------------

TEST(LogRecordFromJson, KeepsAnInvalidTraceIdAsTraceIdRaw) {
  const LogRecord r = FromJsonOrDie(R"({"trace_id":"not-a-trace","span_id":"0000000000000000"})");
  EXPECT_EQ(r.trace_id, "");
  EXPECT_EQ(r.span_id, "");
  const Json::Value attrs = Attributes(r);
  EXPECT_EQ(attrs["trace_id_raw"].asString(), "not-a-trace");
  EXPECT_EQ(attrs["span_id_raw"].asString(), "0000000000000000");
  EXPECT_FALSE(attrs.isMember("trace_id"));
}

TEST(LogRecordFromJson, KeepsAnInvalidCamelCaseTraceIdUnderItsOwnName) {
  const LogRecord r = FromJsonOrDie(R"({"traceId":12345})");
  EXPECT_EQ(r.trace_id, "");
  EXPECT_EQ(Attributes(r)["traceId"].asInt(), 12345);
}

TEST(LogRecordFromJson, AnEmptyTraceIdIsSimplyAbsent) {
  const LogRecord r = FromJsonOrDie(R"({"trace_id":"","span_id":""})");
  EXPECT_EQ(r.trace_id, "");
  EXPECT_EQ(r.attributes, "");
}

// Found by fuzz/log_line_fuzzer: a second traceId (or one beside trace_id) was kept under its
// own name while the record had no trace id, so reading the JSON form back took it for the id.
TEST(LogRecordFromJson, AnIdThatLostToAnotherReadsBackAsAnAttribute) {
  for (const std::string& json :
       {R"({"traceId":"","traceId":")" + std::string(kTrace) + R"(","spanId":null,"spanId":")" + kSpan + R"("})",
        R"({"trace_id":"bad","traceId":")" + std::string(kTrace) + R"(","span_id":"","spanId":")" + kSpan + R"("})"}) {
    const LogRecord r = FromJsonOrDie(json);
    EXPECT_EQ(r.trace_id, "") << json;
    EXPECT_EQ(r.span_id, "") << json;
    EXPECT_EQ(Attributes(r)["traceId_raw"].asString(), kTrace) << json;
    EXPECT_EQ(Attributes(r)["spanId_raw"].asString(), kSpan) << json;
    const LogRecord back = FromJsonOrDie(ToJson(r));
    EXPECT_EQ(back.trace_id, "") << json;
    EXPECT_EQ(back.span_id, "") << json;
    EXPECT_EQ(back.attributes, r.attributes) << json;
  }
}

TEST(LogRecordFromJson, KeepsANonStringServiceAsServiceRaw) {
  const LogRecord r = FromJsonOrDie(R"({"service":{"name":"api"}})");
  EXPECT_EQ(r.service, "default-svc");
  EXPECT_EQ(Attributes(r)["service_raw"]["name"].asString(), "api");
}

TEST(LogRecordFromJson, PreservesOtherMembersAsAttributes) {
  const LogRecord r = FromJsonOrDie(
      R"({"msg":"x","user":42,"ratio":0.1,"ok":false,"none":null,"tags":["a","b"],)"
      R"("ctx":{"req":{"id":"r1","hdr":{"x":[1,{"y":2}]}}},)"
      R"("big":18446744073709551615,"neg":-9223372036854775808,"exact":9007199254740993})");
  EXPECT_EQ(r.message, "x");
  // Members keep their order and every digit of the big integers.
  EXPECT_EQ(r.attributes,
            R"({"user":42,"ratio":0.1,"ok":false,"none":null,"tags":["a","b"],)"
            R"("ctx":{"req":{"id":"r1","hdr":{"x":[1,{"y":2}]}}},)"
            R"("big":18446744073709551615,"neg":-9223372036854775808,"exact":9007199254740993})");
  EXPECT_TRUE(ParseJson(ToJson(r)).ok());
}

// The decoded names of the top-level members of `json`, in order.
std::vector<std::string> TopLevelNames(const std::string& json) {
  std::vector<JsonMember> members;
  EXPECT_TRUE(ScanJsonObject(json, members).ok()) << json;
  std::vector<std::string> names;
  for (const JsonMember& m : members) names.push_back(UnescapeJsonString(m.key));
  return names;
}

TEST(LogRecordFromJson, RepeatedCanonicalNamesNeverRepeatInTheJsonForm) {
  const LogRecord r = FromJsonOrDie(
      R"({"level":"warn","level":"error","message":"a","message":"b","le\u0076el":"x",)"
      R"("timestamp":"2025-11-25T13:00:00Z","timestamp":1,"service":"s","service":"t"})");
  EXPECT_EQ(r.level, LogLevel::kWarn);  // the first one wins
  EXPECT_EQ(r.message, "a");
  EXPECT_EQ(r.service, "s");
  EXPECT_EQ(r.ts_ns, kNov25);
  const std::vector<std::string> names = TopLevelNames(ToJson(r));
  for (const char* canonical : {"timestamp", "level", "service", "message"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), canonical), 1)
        << canonical << " in " << ToJson(r);
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "level_raw"), names.end());
}

TEST(LogRecordFromJson, RejectsNonObjectJson) {
  for (const char* json : {"[1,2]", "42", "\"text\"", "null", "true"}) {
    Result<LogRecord> r = LogRecordFromJson(json, Defaults());
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("JSON object"));
  }
}

TEST(LogRecordFromJson, RejectsInvalidJson) {
  for (const char* json : {"", "{", "{\"a\":1} trailing", "plain text", "{\"a\":1}{}"}) {
    Result<LogRecord> r = LogRecordFromJson(json, Defaults());
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(LogRecordFromJson, EveryTruncationFailsCleanly) {
  const std::string full =
      R"({"time":1764075600123,"level":30,"msg":"caf\u00e9","traceId":"4bf92f3577b34da6a3ce929d0e0e4736",)"
      R"("ctx":{"a":[1,2,{"b":null}]},"big":18446744073709551615})";
  ASSERT_TRUE(LogRecordFromJson(full, Defaults()).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_FALSE(LogRecordFromJson(full.substr(0, n), Defaults()).ok()) << n;
  }
}

TEST(LogRecordFromJson, RandomObjectsNeverCrash) {
  testing::Garbage garbage(11, "{}[]\":,0123456789.e-tslvmrgice_");
  const char* const keys[] = {
      "timestamp", "time",    "ts",      "@timestamp", "level",   "severity", "lvl",    "loglevel",
      "msg",       "message", "service", "trace_id",   "traceId", "span_id",  "spanId", "x"};
  const char* const values[] = {"1e308",
                                "-1e308",
                                "18446744073709551615",
                                "-0",
                                "0.5",
                                "60",
                                "\"\"",
                                "\"1\"",
                                "\"2025-11-25T13:00:00Z\"",
                                "[]",
                                "{}",
                                "null",
                                "true",
                                "\"4BF92F3577B34DA6A3CE929D0E0E4736\"",
                                "1e19",
                                "-9223372036854775808",
                                "\"0x10\"",
                                "\"1e999\""};
  std::mt19937_64 engine(12);
  for (int i = 0; i < 5000; ++i) {
    std::string json = "{";
    const int n = static_cast<int>(engine() % 6);
    for (int k = 0; k < n; ++k) {
      if (k) json += ',';
      json += std::string("\"") + keys[engine() % std::size(keys)] +
              "\":" + values[engine() % std::size(values)];
    }
    json += "}";
    Result<LogRecord> r = LogRecordFromJson(json, Defaults());
    EXPECT_TRUE(r.ok()) << json;  // duplicate keys are allowed; every value is usable or kept
    if (r.ok()) {
      EXPECT_TRUE(ParseJson(ToJson(*r)).ok()) << json;
    }
    (void)LogRecordFromJson(garbage.Next(40), Defaults());
  }
}

}  // namespace
}  // namespace mesh

#include "mesh/telemetry/log_line_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/base/utf8.h"
#include "test_support.h"

namespace mesh {
namespace telemetry_log_line_parser_test {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kNov25 = 1'764'075'600 * kSec;  // 2025-11-25T13:00:00Z
constexpr int64_t kNow = kNov25 + 3600 * kSec;
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

class LogLineParserTest : public ::testing::Test {
 protected:
  LogLineParser Make(InputFormat format, LogLevel default_level = LogLevel::kInfo) {
    return LogLineParser({.format = format, .service = "ingested", .default_level = default_level},
                         clock_);
  }
  static Json::Value Attributes(const LogRecord& r) {
    if (r.attributes.empty()) return Json::Value(Json::objectValue);
    Result<Json::Value> v = ParseJson(r.attributes);
    EXPECT_TRUE(v.ok()) << r.attributes;
    return v.ok() ? *v : Json::Value();
  }

  testing::FakeClock clock_{kNow};
};

TEST(ParseInputFormat, NamesTheFourFormats) {
  EXPECT_EQ(ParseInputFormat("auto"), InputFormat::kAuto);
  EXPECT_EQ(ParseInputFormat("json"), InputFormat::kJson);
  EXPECT_EQ(ParseInputFormat("logfmt"), InputFormat::kLogfmt);
  EXPECT_EQ(ParseInputFormat("text"), InputFormat::kText);
  EXPECT_EQ(ParseInputFormat("JSON"), std::nullopt);
  EXPECT_EQ(ParseInputFormat(""), std::nullopt);
}

// ---- json ------------------------------------------------------------------------------------

TEST_F(LogLineParserTest, JsonLineFillsTheRecord) {
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse(
      R"({"time":"2025-11-25T13:00:00Z","level":"warn","service":"api","msg":"slow","user":42})");
  EXPECT_EQ(r.ts_ns, kNov25);
  EXPECT_EQ(r.level, LogLevel::kWarn);
  EXPECT_EQ(r.service, "api");
  EXPECT_EQ(r.message, "slow");
  EXPECT_EQ(r.attributes, R"({"user":42})");
  EXPECT_EQ(p.counters().records, 1u);
  EXPECT_EQ(p.counters().parse_errors, 0u);
}

TEST_F(LogLineParserTest, JsonLineWithoutTimestampOrServiceGetsNowAndTheDefaults) {
  LogLineParser p = Make(InputFormat::kJson, LogLevel::kWarn);
  const LogRecord r = p.Parse(R"({"msg":"hi"})");
  EXPECT_EQ(r.ts_ns, kNow);
  EXPECT_EQ(r.service, "ingested");
  EXPECT_EQ(r.level, LogLevel::kWarn);
  clock_.Advance(5 * kSec);
  EXPECT_EQ(p.Parse(R"({"msg":"later"})").ts_ns, kNow + 5 * kSec);
}

TEST_F(LogLineParserTest, BadJsonLineIsKeptAsTextWithParseError) {
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse("ERROR not json at all");
  EXPECT_EQ(r.message, "ERROR not json at all");
  EXPECT_EQ(r.level, LogLevel::kError);  // the text fallback still detects a leading level
  EXPECT_EQ(r.service, "ingested");
  EXPECT_EQ(r.ts_ns, kNow);
  EXPECT_THAT(Attributes(r)["parse_error"].asString(), StartsWith("invalid JSON at"));
  EXPECT_EQ(p.counters().parse_errors, 1u);
  EXPECT_EQ(p.counters().records, 1u);
}

TEST_F(LogLineParserTest, JsonArrayLineGetsNotAnObjectParseError) {
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse("[1,2,3]");
  EXPECT_EQ(r.message, "[1,2,3]");
  EXPECT_THAT(Attributes(r)["parse_error"].asString(), HasSubstr("JSON object"));
}

TEST_F(LogLineParserTest, EmptyLineIsKeptWithParseError) {
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse("");
  EXPECT_EQ(r.message, "");
  EXPECT_TRUE(Attributes(r).isMember("parse_error"));
}

// ---- logfmt ----------------------------------------------------------------------------------

TEST_F(LogLineParserTest, LogfmtLineFillsTheRecord) {
  LogLineParser p = Make(InputFormat::kLogfmt);
  const LogRecord r = p.Parse(
      R"(ts=2025-11-25T13:00:00Z level=error service=db msg="disk full" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 dev=sda)");
  EXPECT_EQ(r.ts_ns, kNov25);
  EXPECT_EQ(r.level, LogLevel::kError);
  EXPECT_EQ(r.service, "db");
  EXPECT_EQ(r.message, "disk full");
  EXPECT_EQ(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.attributes, R"({"dev":"sda"})");
}

TEST_F(LogLineParserTest, LogfmtValuesStayStrings) {
  LogLineParser p = Make(InputFormat::kLogfmt);
  const LogRecord r = p.Parse("msg=x user=42 ok=true");
  EXPECT_EQ(r.attributes, R"({"user":"42","ok":"true"})");
}

TEST_F(LogLineParserTest, LogfmtUnixTimestampIsRead) {
  LogLineParser p = Make(InputFormat::kLogfmt);
  EXPECT_EQ(p.Parse("ts=1764075600 msg=x").ts_ns, kNov25);
}

TEST_F(LogLineParserTest, TextWithoutPairsIsAParseErrorInLogfmt) {
  LogLineParser p = Make(InputFormat::kLogfmt);
  const LogRecord r = p.Parse("just some words");
  EXPECT_EQ(r.message, "just some words");
  EXPECT_THAT(Attributes(r)["parse_error"].asString(), HasSubstr("logfmt"));
  EXPECT_EQ(p.counters().parse_errors, 1u);
}

TEST_F(LogLineParserTest, UnterminatedQuoteIsAParseErrorInLogfmt) {
  LogLineParser p = Make(InputFormat::kLogfmt);
  const LogRecord r = p.Parse(R"(level=warn msg="never closed)");
  EXPECT_EQ(r.message, R"(level=warn msg="never closed)");
  EXPECT_THAT(Attributes(r)["parse_error"].asString(), HasSubstr("unterminated"));
}

// ---- text ------------------------------------------------------------------------------------

TEST_F(LogLineParserTest, TextLineIsTheMessageWithoutParseError) {
  LogLineParser p = Make(InputFormat::kText);
  const LogRecord r = p.Parse(R"({"looks":"like json"})");
  EXPECT_EQ(r.message, R"({"looks":"like json"})");
  EXPECT_EQ(r.attributes, "");
  EXPECT_EQ(r.level, LogLevel::kInfo);
  EXPECT_EQ(p.counters().parse_errors, 0u);
}

TEST_F(LogLineParserTest, TextDetectsALeadingLevelWord) {
  LogLineParser p = Make(InputFormat::kText, LogLevel::kDebug);
  const struct {
    const char* line;
    LogLevel level;
  } cases[] = {
      {"ERROR db down", LogLevel::kError},
      {"[warn] slow request", LogLevel::kWarn},
      {"INFO: started", LogLevel::kInfo},
      {"  debug spacing", LogLevel::kDebug},
      {"WARNING: disk at 91%", LogLevel::kWarn},
      {"fatal", LogLevel::kFatal},
      {"Critical failure", LogLevel::kFatal},
      {"[TRACE] x", LogLevel::kDebug},
      {"[error]", LogLevel::kError},
  };
  for (const auto& c : cases) EXPECT_EQ(p.Parse(c.line).level, c.level) << c.line;
}

TEST_F(LogLineParserTest, TextIgnoresLevelWordsThatAreNotTheLeadingWord) {
  LogLineParser p = Make(InputFormat::kText, LogLevel::kDebug);
  for (const char* line : {"Errors happened", "information", "error42 code", "the error",
                           "info-level", "", "   ", "[", "warn_x"}) {
    EXPECT_EQ(p.Parse(line).level, LogLevel::kDebug) << line;
  }
}

// ---- truncation and sanitising ---------------------------------------------------------------

TEST_F(LogLineParserTest, DroppedBytesBecomeTruncatedBytes) {
  LogLineParser p = Make(InputFormat::kText);
  const LogRecord r = p.Parse("cut here", 1234);
  EXPECT_EQ(Attributes(r)["truncated_bytes"].asInt(), 1234);
  EXPECT_EQ(p.counters().truncated, 1u);
}

TEST_F(LogLineParserTest, TruncatedBytesJoinExistingAttributes) {
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse(R"({"msg":"m","user":1})", 10);
  EXPECT_EQ(r.attributes, R"({"user":1,"truncated_bytes":10})");
}

TEST_F(LogLineParserTest, TruncatedJsonLineCarriesBothParseErrorAndTruncatedBytes) {
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse(R"({"msg":"a very lo)", 4096);
  const Json::Value attrs = Attributes(r);
  EXPECT_TRUE(attrs.isMember("parse_error"));
  EXPECT_EQ(attrs["truncated_bytes"].asInt(), 4096);
  EXPECT_EQ(p.counters().parse_errors, 1u);
  EXPECT_EQ(p.counters().truncated, 1u);
}

TEST_F(LogLineParserTest, InvalidUtf8IsReplacedAndCounted) {
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse("{\"msg\":\"caf\xE9 \xF0\x9F\",\"k\":\"\xFF\"}");
  EXPECT_EQ(r.message, "caf" + kReplacement + " " + kReplacement + kReplacement);
  EXPECT_EQ(Attributes(r)["k"].asString(), kReplacement);
  EXPECT_EQ(p.counters().sanitized, 1u);
  EXPECT_EQ(p.counters().parse_errors, 0u);
  EXPECT_TRUE(IsCleanUtf8(ToJson(r)));
}

TEST_F(LogLineParserTest, NulBytesAreReplacedInText) {
  LogLineParser p = Make(InputFormat::kText);
  const LogRecord r = p.Parse(std::string_view("a\0b", 3));
  EXPECT_EQ(r.message, "a" + kReplacement + "b");
  EXPECT_EQ(p.counters().sanitized, 1u);
}

TEST_F(LogLineParserTest, CleanLinesAreNotCountedAsSanitized) {
  LogLineParser p = Make(InputFormat::kText);
  p.Parse("caf\xC3\xA9");
  EXPECT_EQ(p.counters().sanitized, 0u);
}

TEST_F(LogLineParserTest, JsonEscapesCannotSmuggleInNulOrSurrogates) {
  // "\u0000" and a lone "\udc00" decode to a NUL byte and an encoded surrogate: the record must
  // still be clean UTF-8 without NUL, as for raw bytes.
  LogLineParser p = Make(InputFormat::kJson);
  const LogRecord r = p.Parse(R"({"msg":"a\u0000b\udc00c","service":"s\u0000","k":"\udc00"})");
  EXPECT_TRUE(IsCleanUtf8(r.message)) << r.message;
  EXPECT_TRUE(IsCleanUtf8(r.service)) << r.service;
  EXPECT_TRUE(IsCleanUtf8(r.attributes)) << r.attributes;
  EXPECT_TRUE(IsCleanUtf8(ToJson(r)));
  EXPECT_THAT(r.message, StartsWith("a" + kReplacement + "b"));
}

TEST_F(LogLineParserTest, EveryTruncationOfAJsonLineGivesARecord) {
  LogLineParser p = Make(InputFormat::kJson);
  const std::string full =
      R"({"time":1764075600123,"level":"warn","msg":"caf\u00e9 \"q\"","trace_id":)"
      R"("4bf92f3577b34da6a3ce929d0e0e4736","ctx":{"a":[1,2]}})";
  for (size_t n = 0; n <= full.size(); ++n) {
    const std::string cut = full.substr(0, n);
    const LogRecord r = p.Parse(cut, full.size() - n);
    if (n < full.size()) {
      EXPECT_EQ(r.message, cut);
      EXPECT_TRUE(Attributes(r).isMember("parse_error")) << cut;
    }
    EXPECT_TRUE(IsCleanUtf8(ToJson(r)));
    EXPECT_TRUE(ParseJson(ToJson(r)).ok()) << ToJson(r);
  }
  EXPECT_EQ(p.counters().records, full.size() + 1);
  EXPECT_EQ(p.counters().parse_errors, full.size());
}

TEST_F(LogLineParserTest, RandomBytesAlwaysGiveAPrintableRecord) {
  testing::Garbage garbage(13, "{}[]\":,=\\ 0123456789levmsgtrace_id\xC3\xA9\xFF");
  for (InputFormat format :
       {InputFormat::kJson, InputFormat::kLogfmt, InputFormat::kText, InputFormat::kAuto}) {
    LogLineParser p = Make(format);
    for (int i = 0; i < 5000; ++i) {
      const std::string line = garbage.Next(64);
      const LogRecord r = p.Parse(line, i % 3);
      const std::string json = ToJson(r);
      ASSERT_TRUE(IsCleanUtf8(json)) << line;
      ASSERT_TRUE(ParseJson(json).ok()) << json;
    }
    EXPECT_EQ(p.counters().records, 5000u);
  }
}

// ---- auto and text formats ------------------------------------------------------------------

TEST_F(LogLineParserTest, AutoReadsJsonLogfmtAndTextLinesEachInItsFormat) {
  LogLineParser p = Make(InputFormat::kAuto);
  LogRecord r = p.Parse(R"({"level":"error","message":"json"})");
  EXPECT_EQ(p.last_format(), "json");
  EXPECT_EQ(r.level, LogLevel::kError);
  r = p.Parse("level=warn msg=logfmt");
  EXPECT_EQ(p.last_format(), "logfmt");
  EXPECT_EQ(r.level, LogLevel::kWarn);
  EXPECT_EQ(r.message, "logfmt");
  r = p.Parse("2025-11-25T13:00:00Z ERROR text");
  EXPECT_EQ(p.last_format(), "iso8601");
  EXPECT_EQ(r.ts_ns, kNov25);
  EXPECT_EQ(r.level, LogLevel::kError);
  EXPECT_EQ(p.counters().parse_errors, 0u);
}

TEST_F(LogLineParserTest, AutoKeepsAPlainLineAsTextDoes) {
  LogLineParser automatic = Make(InputFormat::kAuto);
  LogLineParser text = Make(InputFormat::kText);
  for (const char* line : {"WARN disk at 91%", "just words", "x = 1, spaced out"}) {
    const LogRecord a = automatic.Parse(line);
    const LogRecord t = text.Parse(line);
    EXPECT_EQ(ToJson(a), ToJson(t)) << line;
    EXPECT_EQ(automatic.last_format(), "") << line;
  }
  EXPECT_EQ(automatic.counters().parse_errors, 0u);
}

TEST_F(LogLineParserTest, AutoAfterAJsonFirstLineKeepsJsonsParseErrorForPlainLines) {
  LogLineParser automatic = Make(InputFormat::kAuto);
  LogLineParser json = Make(InputFormat::kJson);
  automatic.Parse(R"({"message":"first"})");
  json.Parse(R"({"message":"first"})");
  const LogRecord a = automatic.Parse("not json at all");
  EXPECT_EQ(ToJson(a), ToJson(json.Parse("not json at all")));
  EXPECT_TRUE(Attributes(a).isMember("parse_error"));
  EXPECT_EQ(automatic.counters().parse_errors, 1u);
}

TEST_F(LogLineParserTest, FirstLinesChooseTheFileFormatAndOtherLinesStillParse) {
  LogLineParser p = Make(InputFormat::kText);
  p.Parse("17/06/09 20:10:40 INFO a.B: one");
  p.Parse("not a log line");
  p.Parse("17/06/09 20:10:41 WARN a.B: two");
  ASSERT_NE(p.detected_format(), nullptr);
  EXPECT_EQ(p.detected_format()->name, "spark");
  const LogRecord r = p.Parse("2026/12/07 08:45:43 [error] 1#0: an nginx line");
  EXPECT_EQ(p.last_format(), "nginx-error");
  EXPECT_EQ(r.level, LogLevel::kError);
  EXPECT_EQ(p.counters().recognised, 3u);
}

TEST_F(LogLineParserTest, ZoneLessTimesAreReadInTheGivenZone) {
  for (auto [zone, expected] : {std::pair{"UTC", "2026-12-07T08:45:43.123Z"},
                                std::pair{"+01:00", "2026-12-07T07:45:43.123Z"},
                                std::pair{"America/New_York", "2026-12-07T13:45:43.123Z"}}) {
    LogLineParser::Options o{.format = InputFormat::kText, .service = "s"};
    o.zone = std::move(MakeTimeZone(zone)).value();
    LogLineParser p(o, clock_);
    EXPECT_EQ(FormatRfc3339(p.Parse("2026-12-07 08:45:43,123 WARN [main] a.B - x").ts_ns), expected)
        << zone;
  }
}

TEST_F(LogLineParserTest, YearLessTimesUseTheYearOptionOrTheReference) {
  LogLineParser::Options o{.format = InputFormat::kText, .service = "s"};
  o.zone = std::move(MakeTimeZone("UTC")).value();
  o.year = 2019;
  LogLineParser with_year(o, clock_);
  EXPECT_EQ(FormatRfc3339(with_year.Parse("Dec 10 06:55:46 h p: x").ts_ns), "2019-12-10T06:55:46.000Z");
  o.year.reset();
  LogLineParser with_clock(o, clock_);  // no reference: the clock's now, 2025-11-25
  EXPECT_EQ(FormatRfc3339(with_clock.Parse("Dec 10 06:55:46 h p: x").ts_ns), "2024-12-10T06:55:46.000Z");
  EXPECT_EQ(FormatRfc3339(with_clock.Parse("Nov 25 06:55:46 h p: x").ts_ns), "2025-11-25T06:55:46.000Z");
}

}  // namespace
}  // namespace mesh

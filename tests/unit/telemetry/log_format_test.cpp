#include "mesh/telemetry/log_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "mesh/telemetry/logfmt.h"

namespace mesh {
namespace telemetry_log_format_test {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNov25 = int64_t{1'764'075'600} * 1'000'000'000;  // 2025-11-25T13:00:00Z

LogRecord Sample() {
  LogRecord r;
  r.ts_ns = kNov25 + 120'000'000;
  r.level = LogLevel::kWarn;
  r.service = "api";
  r.message = "slow request";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.span_id = "00f067aa0ba902b7";
  r.attributes = R"({"path":"/v1/items","ms":812,"ctx":{"a":1}})";
  return r;
}

std::string Format(const LogRecord& r, OutputFormat f, bool color = false, bool escape_raw = false) {
  std::string out;
  AppendFormatted(out, r, f, color, escape_raw);
  return out;
}

LogRecord Hostile() {
  LogRecord r = Sample();
  r.service = "api\x1b]0;owned\x07";
  r.message = "ok\x1b[1A\rFAIL \x1b]52;c;ZXZpbA==\x07 \xE2\x80\xAEtxt.exe \xC2\x9B" "2J";
  r.attributes = R"({"k\u001b[31m":"v\u001b[2J","n":"\u202e"})";
  return r;
}

// No byte of a terminal control: C0 but the line's own newline, DEL, C1, bidi overrides.
void ExpectNoTerminalControl(const std::string& out) {
  const std::string body = out.substr(0, out.size() - 1);
  for (char c : body) {
    ASSERT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << out;
  }
  EXPECT_EQ(body.find("\xC2\x9B"), std::string::npos) << out;
  EXPECT_EQ(body.find("\xE2\x80\xAE"), std::string::npos) << out;
}

TEST(ParseOutputFormat, NamesTheFourFormats) {
  EXPECT_EQ(ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(ParseOutputFormat("pretty"), OutputFormat::kPretty);
  EXPECT_EQ(ParseOutputFormat("logfmt"), OutputFormat::kLogfmt);
  EXPECT_EQ(ParseOutputFormat("raw"), OutputFormat::kRaw);
  EXPECT_EQ(ParseOutputFormat("text"), std::nullopt);
  EXPECT_EQ(ParseOutputFormat("Json"), std::nullopt);
}

TEST(DefaultOutputFormat, IsPrettyOnATerminalAndJsonOtherwise) {
  EXPECT_EQ(DefaultOutputFormat(true), OutputFormat::kPretty);
  EXPECT_EQ(DefaultOutputFormat(false), OutputFormat::kJson);
}

TEST(UseColor, OnlyOnATerminal) {
  EXPECT_TRUE(UseColor(true, nullptr));
  EXPECT_FALSE(UseColor(false, nullptr));
}

TEST(UseColor, NeverWhenNoColorIsSetToSomething) {
  EXPECT_FALSE(UseColor(true, "1"));
  EXPECT_FALSE(UseColor(true, "0"));  // any non-empty value, per no-color.org
  EXPECT_FALSE(UseColor(false, "1"));
  EXPECT_TRUE(UseColor(true, ""));  // set but empty does not count
}

TEST(AppendFormatted, JsonIsTheRecordsJsonLine) {
  const LogRecord r = Sample();
  EXPECT_EQ(Format(r, OutputFormat::kJson), ToJson(r) + "\n");
  EXPECT_EQ(Format(r, OutputFormat::kJson, /*color=*/true), ToJson(r) + "\n");
}

TEST(AppendFormatted, RawIsTheMessageAlone) {
  EXPECT_EQ(Format(Sample(), OutputFormat::kRaw), "slow request\n");
  EXPECT_EQ(Format(Sample(), OutputFormat::kRaw, /*color=*/true), "slow request\n");
}

TEST(AppendFormatted, PrettyPrintsStoredTextTerminalSafe) {
  const std::string out = Format(Hostile(), OutputFormat::kPretty);
  ExpectNoTerminalControl(out);
  EXPECT_THAT(out, HasSubstr("api\\x1b]0;owned\\x07: ok\\x1b[1A\\rFAIL \\x1b]52;c;ZXZpbA==\\x07 "
                             "\\u202etxt.exe \\u009b2J"));
  EXPECT_THAT(out, HasSubstr(R"(k\x1b[31m="v\x1b[2J")"));
  EXPECT_THAT(out, HasSubstr(R"(n="\u202e")"));
}

TEST(AppendFormatted, PrettyColorsOnlyWhatItPaintsItself) {
  const std::string out = Format(Hostile(), OutputFormat::kPretty, /*color=*/true);
  // Every ESC in the line starts one of its own SGR codes.
  for (size_t at = out.find('\x1b'); at != std::string::npos; at = out.find('\x1b', at + 1)) {
    EXPECT_EQ(out.compare(at, 2, "\x1b["), 0) << out;
    EXPECT_TRUE(out.compare(at, 4, "\x1b[0m") == 0 || out.compare(at, 4, "\x1b[2m") == 0 ||
                out.compare(at, 5, "\x1b[36m") == 0 || out.compare(at, 5, "\x1b[33m") == 0)
        << out.substr(at, 8);
  }
}

TEST(AppendFormatted, LogfmtPrintsStoredTextTerminalSafeAndStaysParseable) {
  const std::string out = Format(Hostile(), OutputFormat::kLogfmt);
  ExpectNoTerminalControl(out);
  Result<LogfmtPairs> pairs = ParseLogfmt(out.substr(0, out.size() - 1));
  ASSERT_TRUE(pairs.ok()) << pairs.status().message();
  std::map<std::string, std::string> fields(pairs->begin(), pairs->end());
  EXPECT_EQ(fields["service"], Hostile().service);
  EXPECT_EQ(fields["msg"], Hostile().message);
  EXPECT_EQ(fields["n"], "\xE2\x80\xAE");
}

TEST(AppendFormatted, RawIsExactForPipesAndEscapedForATerminal) {
  EXPECT_EQ(Format(Hostile(), OutputFormat::kRaw), Hostile().message + "\n");
  ExpectNoTerminalControl(Format(Hostile(), OutputFormat::kRaw, false, /*escape_raw=*/true));
}

TEST(AppendFormatted, JsonEscapesEveryTerminalControl) {
  const std::string out = Format(Hostile(), OutputFormat::kJson);
  ExpectNoTerminalControl(out);
  EXPECT_THAT(out, HasSubstr(R"(\u202etxt.exe \u009b2J)"));
}

TEST(AppendFormatted, PrettyIsOneAlignedLine) {
  EXPECT_EQ(Format(Sample(), OutputFormat::kPretty),
            "2025-11-25T13:00:00.120Z WARN  api: slow request  "
            "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 "
            "ctx=\"{\\\"a\\\":1}\" ms=812 path=/v1/items\n");
}

TEST(AppendFormatted, PrettyWithoutExtrasHasNoTrailingSpaces) {
  LogRecord r;
  r.ts_ns = kNov25;
  r.level = LogLevel::kError;
  r.service = "db";
  r.message = "down";
  EXPECT_EQ(Format(r, OutputFormat::kPretty), "2025-11-25T13:00:00.000Z ERROR db: down\n");
}

TEST(AppendFormatted, PrettyHasNoEscapeCodesUnlessColorIsAsked) {
  EXPECT_THAT(Format(Sample(), OutputFormat::kPretty, false), Not(HasSubstr("\x1b[")));
  const std::string colored = Format(Sample(), OutputFormat::kPretty, true);
  EXPECT_THAT(colored, HasSubstr("\x1b[33mWARN \x1b[0m"));  // warn is yellow
  EXPECT_THAT(colored, HasSubstr("\x1b[36mapi\x1b[0m"));
  EXPECT_THAT(colored, HasSubstr("slow request"));
  EXPECT_THAT(colored, EndsWith("\x1b[0m\n"));
}

TEST(AppendFormatted, PrettyColorsEachLevelDifferently) {
  LogRecord r = Sample();
  std::set<std::string> seen;
  for (LogLevel l :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError, LogLevel::kFatal}) {
    r.level = l;
    const std::string line = Format(r, OutputFormat::kPretty, true);
    const size_t code = line.find("\x1b[", line.find(' '));
    ASSERT_NE(code, std::string::npos);
    seen.insert(line.substr(code, line.find('m', code) - code));
  }
  EXPECT_EQ(seen.size(), 5u);
}

TEST(AppendFormatted, LogfmtQuotesWhatNeedsQuoting) {
  EXPECT_EQ(Format(Sample(), OutputFormat::kLogfmt),
            "ts=2025-11-25T13:00:00.120Z level=warn service=api msg=\"slow request\" "
            "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 "
            "ctx=\"{\\\"a\\\":1}\" ms=812 path=/v1/items\n");
  EXPECT_THAT(Format(Sample(), OutputFormat::kLogfmt, /*color=*/true), Not(HasSubstr("\x1b[")));
}

TEST(AppendFormatted, LogfmtEscapesNewlinesSoEachRecordIsOneLine) {
  LogRecord r;
  r.message = "line one\nline two";
  r.attributes = R"({"note":"a\nb"})";
  const std::string out = Format(r, OutputFormat::kLogfmt);
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  EXPECT_THAT(out, HasSubstr(R"(msg="line one\nline two")"));
  EXPECT_THAT(out, HasSubstr(R"(note="a\nb")"));
}

TEST(AppendFormatted, IgnoresAttributesThatAreNotAJsonObject) {
  LogRecord r = Sample();
  r.trace_id.clear();
  r.span_id.clear();
  r.attributes = "[1,2]";
  EXPECT_THAT(Format(r, OutputFormat::kPretty), EndsWith("api: slow request\n"));
  r.attributes = "{broken";
  EXPECT_THAT(Format(r, OutputFormat::kLogfmt), EndsWith("msg=\"slow request\"\n"));
}

TEST(AppendFormatted, AppendsToExistingOutput) {
  std::string out = "before\n";
  AppendFormatted(out, Sample(), OutputFormat::kRaw, false);
  AppendFormatted(out, Sample(), OutputFormat::kRaw, false);
  EXPECT_EQ(out, "before\nslow request\nslow request\n");
}

}  // namespace
}  // namespace mesh

#include "mesh/cli/trace_render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mesh/base/json_text.h"
#include "test_support.h"

namespace mesh {
namespace cli_trace_render_test {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int64_t kT0 = 1764075600'000000000;  // 2025-11-25T13:00:00Z
constexpr int64_t kMs = 1'000'000;
const std::string kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

Span MakeSpan(const std::string& id, const std::string& parent, int64_t start, int64_t duration,
              const std::string& service = "api") {
  Span s;
  s.trace_id = kTraceId;
  s.span_id = id;
  s.parent_span_id = parent;
  s.service = service;
  s.name = "op-" + id;
  s.start_ns = start;
  s.duration_ns = duration;
  return s;
}

LogRecord MakeLog(const std::string& span_id, int64_t ts, const std::string& message) {
  LogRecord r;
  r.ts_ns = ts;
  r.service = "api";
  r.message = message;
  r.trace_id = kTraceId;
  r.span_id = span_id;
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    lines.push_back(text.substr(begin, end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return lines;
}

int Columns(const std::string& text) {
  int n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

// The waterfall cells of a span line: what lies between its last two '|'.
std::string Bar(const std::string& line) {
  const size_t close = line.rfind('|');
  const size_t open = line.rfind('|', close - 1);
  return line.substr(open + 1, close - open - 1);
}

// Index of the first line containing `needle`, or -1.
int LineOf(const std::vector<std::string>& lines, const std::string& needle) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(needle) != std::string::npos) return static_cast<int>(i);
  }
  return -1;
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string Render(std::vector<Span> spans, const TraceRenderOptions& options = {},
                   const std::vector<LogRecord>& logs = {}) {
  return RenderTrace(TraceTree::Build(std::move(spans)), logs, options);
}

TEST(TraceRender, EmptyTreeRendersAHeaderAndItsLogs) {
  const std::string out = RenderTrace(TraceTree::Build({}), {MakeLog("", kT0, "lonely")}, {});
  EXPECT_THAT(out, StartsWith("trace (no spans)  0 spans\n"));
  EXPECT_THAT(out, HasSubstr("lonely"));
}

TEST(TraceRender, HeaderNamesTraceSpanCountServicesDurationAndStart) {
  const std::string out = Render({MakeSpan("r", "", kT0, 1200 * kMs, "web"),
                                  MakeSpan("c", "r", kT0 + 5 * kMs, 35 * kMs, "db")});
  EXPECT_EQ(Lines(out)[0], "trace " + kTraceId +
                               "  2 spans  services: db, web  duration 1.2s  start "
                               "2025-11-25T13:00:00.000Z");
}

TEST(TraceRender, LinesShowServiceOperationAndHumanDuration) {
  const std::string out = Render({MakeSpan("r", "", kT0, 1200 * kMs, "web"),
                                  MakeSpan("c", "r", kT0 + 5 * kMs, 35 * kMs, "db"),
                                  MakeSpan("d", "r", kT0 + 50 * kMs, 420'000, "cache"),
                                  MakeSpan("e", "r", kT0 + 60 * kMs, 800, "queue")});
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[1], HasSubstr("web op-r"));
  EXPECT_THAT(lines[1], HasSubstr(" 1.2s |"));
  EXPECT_THAT(lines[2], HasSubstr("├─ db op-c"));
  EXPECT_THAT(lines[2], HasSubstr(" 35ms |"));
  EXPECT_THAT(lines[3], HasSubstr(" 420us |"));
  EXPECT_THAT(lines[4], HasSubstr("└─ queue op-e"));
  EXPECT_THAT(lines[4], HasSubstr(" 800ns |"));
}

TEST(TraceRender, BarsOfATwoSpanTraceArePlacedAtTheirOffsetAndFillTheWidth) {
  const std::string out =
      Render({MakeSpan("r", "", kT0, 100 * kMs), MakeSpan("c", "r", kT0 + 50 * kMs, 50 * kMs)},
             {.width = 60});
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(Columns(lines[1]), 60);
  EXPECT_EQ(Columns(lines[2]), 60);
  // 60 columns less two markers and a space, the 11-column label "└─ api op-c", a space, the
  // 5-column duration, a space and the bar's two borders.
  const int cells = 60 - 3 - 11 - 1 - 5 - 1 - 2;
  EXPECT_EQ(Bar(lines[1]), Repeat("█", cells));
  EXPECT_EQ(Bar(lines[2]), std::string(cells / 2, ' ') + Repeat("█", cells - cells / 2));
}

TEST(TraceRender, ZeroDurationSpanStillGetsOneCell) {
  const std::string out = Render(
      {MakeSpan("r", "", kT0, 100 * kMs), MakeSpan("c", "r", kT0 + 50 * kMs, 0)}, {.width = 60});
  EXPECT_EQ(Columns(Bar(Lines(out)[2])), Columns(Bar(Lines(out)[1])));
  EXPECT_THAT(Bar(Lines(out)[2]), HasSubstr("█"));
  EXPECT_THAT(Bar(Lines(out)[2]), Not(HasSubstr("██")));
}

TEST(TraceRender, ZeroTotalDurationDrawsOneCellPerSpan) {
  const std::string out = Render({MakeSpan("r", "", kT0, 0), MakeSpan("c", "r", kT0, 0)});
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(Bar(lines[1]), StartsWith("█ "));
  EXPECT_THAT(Bar(lines[2]), StartsWith("█ "));
}

TEST(TraceRender, NegativeDurationsRenderWithoutCrashing) {
  const std::string out =
      Render({MakeSpan("r", "", kT0, -5 * kMs), MakeSpan("c", "r", kT0 - kMs, -kMs)});
  EXPECT_THAT(out, HasSubstr("-5ms"));
  EXPECT_EQ(Lines(out).size(), 3u);
}

TEST(TraceRender, WidthSmallerThanTheTextKeepsAMinimalBarAndTruncatesLabels) {
  Span wide = MakeSpan("r", "", kT0, 100 * kMs);
  wide.name = std::string(300, 'x');
  for (int width : {-1, 0, 5, 40}) {
    const std::string out = Render({wide}, {.width = width});
    const std::vector<std::string> lines = Lines(out);
    ASSERT_EQ(lines.size(), 2u) << width;
    EXPECT_GE(Columns(Bar(lines[1])), 10) << width;
    EXPECT_THAT(lines[1], HasSubstr("…")) << width;
  }
}

TEST(TraceRender, ErrorSpanIsMarkedWithoutColorCodes) {
  Span failed = MakeSpan("c", "r", kT0 + kMs, kMs);
  failed.status = SpanStatus::kError;
  failed.status_message = "timeout";
  const std::string out = Render({MakeSpan("r", "", kT0, 100 * kMs), failed});
  const std::vector<std::string> lines = Lines(out);
  EXPECT_THAT(lines[2], HasSubstr("✗"));
  EXPECT_THAT(lines[2], HasSubstr("error: timeout"));
  EXPECT_THAT(lines[1], Not(HasSubstr("✗")));
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
}

TEST(TraceRender, ErrorSpanOffTheCriticalPathIsRedWithColor) {
  Span failed = MakeSpan("c", "r", kT0 + kMs, kMs);
  failed.status = SpanStatus::kError;
  const std::string out = Render(
      {MakeSpan("r", "", kT0, 100 * kMs), failed, MakeSpan("slow", "r", kT0 + kMs, 99 * kMs)},
      {.color = true});
  const std::string line = Lines(out)[2];
  EXPECT_THAT(line, StartsWith("\x1b[31m"));
  EXPECT_THAT(line, HasSubstr("✗"));
  EXPECT_THAT(line, HasSubstr("\x1b[0m"));
}

TEST(TraceRender, CriticalPathSpansAreStarredWithoutColorCodes) {
  const std::string out =
      Render({MakeSpan("r", "", kT0, 100 * kMs), MakeSpan("a", "r", kT0, 60 * kMs),
              MakeSpan("b", "r", kT0 + 50 * kMs, 50 * kMs)});
  const std::vector<std::string> lines = Lines(out);
  EXPECT_THAT(lines[1], StartsWith("*"));
  EXPECT_THAT(lines[2], StartsWith(" "));
  EXPECT_THAT(lines[3], StartsWith("*"));
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
}

TEST(TraceRender, CriticalPathSpansAreBoldWithColorAndRedWhenFailed) {
  Span failed = MakeSpan("b", "r", kT0 + 50 * kMs, 50 * kMs);
  failed.status = SpanStatus::kError;
  const std::string out =
      Render({MakeSpan("r", "", kT0, 100 * kMs), MakeSpan("a", "r", kT0, 60 * kMs), failed},
             {.color = true});
  const std::vector<std::string> lines = Lines(out);
  EXPECT_THAT(lines[1], StartsWith("\x1b[1m*"));
  EXPECT_THAT(lines[2], StartsWith("   "));
  EXPECT_THAT(lines[3], StartsWith("\x1b[1;31m*✗"));
}

TEST(TraceRender, HostileStoreValuesCannotEmitControlCharacters) {
  Span evil = MakeSpan("r", "", kT0, 100 * kMs, "\x1b[31mred\x1b[0m");
  evil.name =
      "GET\n/fake line\r\x07\x7f\xc2\x9b"
      "2J";
  evil.status = SpanStatus::kError;
  evil.status_message = "boom\x1b]0;title\x07";
  evil.attributes = R"({"k\u001b":"v\u001b[2J\n","n":1})";
  evil.events = R"([{"time_ns":1764075600001000000,"name":"ev\u001b","attributes":{"x":"\r"}}])";
  Span orphan = MakeSpan("o", "bad\nparent\x1b", kT0, kMs);
  LogRecord log = MakeLog("r", kT0, "log\x1b[2J\nline");
  log.service = "svc\x1b";
  const std::string out = Render({evil, orphan}, {.verbose = true}, {log});
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\x07'), std::string::npos);
  EXPECT_EQ(out.find('\x7f'), std::string::npos);
  EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos);
  EXPECT_THAT(out, HasSubstr("\\x1b[31mred"));
  EXPECT_THAT(out, HasSubstr("GET\\n/fake line\\r\\x07\\x7f\\u009b2J"));
  EXPECT_THAT(out, HasSubstr("(missing parent bad\\nparent\\x1b)"));
  EXPECT_THAT(out, HasSubstr("v\\x1b[2J\\n"));
  EXPECT_THAT(out, HasSubstr("log\\x1b[2J\\nline"));
  // header, span, attributes (2), event, log, missing parent, orphan
  EXPECT_EQ(Lines(out).size(), 8u) << out;
}

TEST(TraceRender, InvalidUtf8IsReplacedRatherThanPassedThrough) {
  const std::string out = Render({MakeSpan("r", "", kT0, kMs, "bad\xff\xfe")});
  EXPECT_THAT(out, HasSubstr("bad\xEF\xBF\xBD"));
  EXPECT_EQ(out.find('\xff'), std::string::npos);
}

TEST(TraceRender, SkewAdjustedAndCycleBrokenSpansAreAnnotated) {
  const std::string out =
      Render({MakeSpan("r", "", kT0, 100 * kMs), MakeSpan("early", "r", kT0 - 10 * kMs, kMs),
              MakeSpan("loop", "loop", kT0, kMs)});
  const std::vector<std::string> lines = Lines(out);
  EXPECT_THAT(lines[LineOf(lines, "op-early")], HasSubstr("clock skew"));
  EXPECT_THAT(lines[LineOf(lines, "op-r")], Not(HasSubstr("clock skew")));
  EXPECT_THAT(lines[LineOf(lines, "op-loop")], HasSubstr("cycle"));
}

TEST(TraceRender, MissingParentNodeNamesTheMissingId) {
  const std::string out = Render(
      {MakeSpan("r", "", kT0, 100 * kMs), MakeSpan("o", "00f067aa0ba902b7", kT0 + kMs, kMs)});
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[2], HasSubstr("(missing parent 00f067aa0ba902b7)"));
  EXPECT_THAT(lines[3], HasSubstr("└─ api op-o"));
}

TEST(TraceRender, LogsAppearUnderTheSpanTheyNameOldestFirst) {
  const std::vector<LogRecord> logs = {
      MakeLog("b", kT0 + 70 * kMs, "b-second"),
      MakeLog("a", kT0 + 10 * kMs, "a-only"),
      MakeLog("b", kT0 + 60 * kMs, "b-first"),
      MakeLog("", kT0 + 1 * kMs, "trace-level"),
      MakeLog("ffffffffffffffff", kT0 + 2 * kMs, "unknown-span"),
  };
  const std::string out =
      Render({MakeSpan("r", "", kT0, 100 * kMs), MakeSpan("a", "r", kT0, 40 * kMs),
              MakeSpan("b", "r", kT0 + 50 * kMs, 40 * kMs)},
             {}, logs);
  const std::vector<std::string> lines = Lines(out);
  const int r = LineOf(lines, "op-r");
  const int a = LineOf(lines, "op-a");
  const int b = LineOf(lines, "op-b");
  EXPECT_EQ(LineOf(lines, "trace-level"), r + 1);
  EXPECT_EQ(LineOf(lines, "unknown-span"), r + 2);
  EXPECT_EQ(a, r + 3);
  EXPECT_EQ(LineOf(lines, "a-only"), a + 1);
  EXPECT_EQ(LineOf(lines, "b-first"), b + 1);
  EXPECT_EQ(LineOf(lines, "b-second"), b + 2);
  EXPECT_THAT(lines[b + 1], HasSubstr("+60ms INFO  api: b-first"));
}

TEST(TraceRender, VerboseShowsAttributesAndEventsUnderTheSpan) {
  Span s = MakeSpan("r", "", kT0, 100 * kMs);
  s.attributes = R"({"http.method":"GET","http.status_code":200})";
  s.events = R"([{"time_ns":1764075600012000000,"name":"retry","attributes":{"attempt":2}}])";
  const std::string out = Render({s, MakeSpan("c", "r", kT0, kMs)}, {.verbose = true});
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 6u) << out;
  EXPECT_THAT(lines[2], HasSubstr("http.method=GET"));
  EXPECT_THAT(lines[3], HasSubstr("http.status_code=200"));
  EXPECT_THAT(lines[4], HasSubstr("event +12ms retry attempt=2"));
  EXPECT_THAT(lines[5], HasSubstr("op-c"));
}

TEST(TraceRender, VerboseShowsOneLinePerLink) {
  Span s = MakeSpan("r", "", kT0, 100 * kMs);
  s.links =
      R"([{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","trace_state":"k=v",)"
      R"("attributes":{"reason":"batch"}},{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",)"
      R"("attributes":{}}])";
  const std::string out = Render({s}, {.verbose = true});
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 4u) << out;
  EXPECT_THAT(lines[2], HasSubstr("link 0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331 tracestate=k=v reason=batch"));
  EXPECT_THAT(lines[3], HasSubstr("link 5b8efff798038103d269b633813fc60c/eee19b7ec3c1b174"));
  EXPECT_THAT(Render({s}), Not(HasSubstr("link ")));
}

TEST(TraceRender, LinksWithControlCharactersAreShownTerminalSafe) {
  Span s = MakeSpan("r", "", kT0, 100 * kMs);
  std::string links = "[{\"trace_id\":";
  AppendJsonString(links, "\x1b[31mred");
  links += ",\"span_id\":\"x\",\"attributes\":{}}]";
  s.links = links;
  const std::string out = Render({s}, {.verbose = true});
  EXPECT_THAT(out, HasSubstr("link "));
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  s.links = "[1,";
  EXPECT_THAT(Render({s}, {.verbose = true}), HasSubstr("links: [1,"));
}

TEST(TraceRender, VerboseShowsTheScopeWithItsVersionAndBytesAttributesReadably) {
  Span s = MakeSpan("r", "", kT0, 100 * kMs);
  s.scope = "io.opentelemetry.http";
  s.scope_version = "1.2.0";
  s.attributes = R"({"blob":{"bytesValue":"aGVsbG8="}})";
  const std::string out = Render({s}, {.verbose = true});
  EXPECT_THAT(out, HasSubstr("scope io.opentelemetry.http 1.2.0\n"));
  s.scope_attributes = R"({"lib.flavour":"fast"})";
  EXPECT_THAT(Render({s}, {.verbose = true}), HasSubstr("scope io.opentelemetry.http 1.2.0 lib.flavour=fast\n"));
  s.scope_attributes.clear();
  EXPECT_THAT(out, HasSubstr(R"(blob={"bytesValue":"aGVsbG8="})"));
  s.scope_version.clear();
  EXPECT_THAT(Render({s}, {.verbose = true}), HasSubstr("scope io.opentelemetry.http\n"));
  EXPECT_THAT(Render({s}), Not(HasSubstr("scope ")));
  s.scope = "\x1b[31mred";
  EXPECT_EQ(Render({s}, {.verbose = true}).find('\x1b'), std::string::npos);
}

TEST(TraceRender, WithoutVerboseAttributesAndEventsAreHidden) {
  Span s = MakeSpan("r", "", kT0, 100 * kMs);
  s.attributes = R"({"http.method":"GET"})";
  s.events = R"([{"time_ns":1764075600012000000,"name":"retry","attributes":{}}])";
  const std::string out = Render({s});
  EXPECT_THAT(out, Not(HasSubstr("http.method")));
  EXPECT_THAT(out, Not(HasSubstr("retry")));
}

TEST(TraceRender, MalformedAttributesAndEventsAreShownRaw) {
  Span s = MakeSpan("r", "", kT0, 100 * kMs);
  s.attributes = "{not json";
  s.events = "[1,";
  const std::string out = Render({s}, {.verbose = true});
  EXPECT_THAT(out, HasSubstr("attributes: {not json"));
  EXPECT_THAT(out, HasSubstr("events: [1,"));
}

TEST(TraceRender, TenThousandDeepChainRendersEverySpanWithBoundedIndentation) {
  std::vector<Span> spans;
  for (int i = 0; i < 10'000; ++i) {
    spans.push_back(MakeSpan("s" + std::to_string(i), i == 0 ? "" : "s" + std::to_string(i - 1),
                             kT0 + i, 20'000 - 2 * i));
  }
  const std::string out = Render(std::move(spans), {.width = 120});
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 10'001u);
  EXPECT_THAT(lines.back(), HasSubstr("op-s9999"));
  for (const std::string& line : lines) ASSERT_LE(Columns(line), 200) << line;
}

TEST(TraceRender, ExtremeTimesRenderWithoutCrashing) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  const std::string out =
      Render({MakeSpan("a", "", min, max), MakeSpan("b", "", max, max), MakeSpan("c", "a", 0, min)},
             {.verbose = true}, {MakeLog("c", min, "m")});
  EXPECT_EQ(Lines(out).size(), 5u);
}

TEST(TraceRender, GarbageNamesAndJsonNeverCrash) {
  testing::Garbage garbage(11, "{}[]\":,\\u0");
  for (int round = 0; round < 200; ++round) {
    Span s = MakeSpan("r", garbage.Next(3), kT0, kMs, garbage.Next(20));
    s.name = garbage.Next(40);
    s.attributes = garbage.Next(40);
    s.events = garbage.Next(40);
    const std::string out = Render({s}, {.color = round % 2 == 0, .verbose = true},
                                   {MakeLog("r", kT0, garbage.Next(30))});
    ASSERT_FALSE(out.empty());
  }
}

}  // namespace
}  // namespace mesh

// The text formats on a corpus written from their published rules (RFC 3164 and 5424, Apache's
// and nginx's error_log, the NCSA common/combined layout, log4j/logback/Spring Boot patterns,
// Spark's and HDFS's log4j layouts, Python's logging defaults, Go's log flags, glog's header, ISO
// 8601), read through LogLineParser in UTC with a fixed reference time, and every prefix of every
// line and random bytes, which must never crash and never lose the line.
#include "mesh/telemetry/text_log_formats.h"

#include <gtest/gtest.h>

#include <string>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/log_line_parser.h"
#include "test_support.h"

namespace mesh {
namespace telemetry_text_log_formats_test {

struct CorpusLine {
  const char* format;
  std::string line;
  const char* time;  // RFC 3339 UTC, or "" for "the clock's now"
  LogLevel level;
  const char* message;
  const char* fields;  // the attributes' JSON, "" for none
};

constexpr int64_t kSec = 1'000'000'000;
// 2026-12-07T12:00:00Z: the file's modification time for year-less lines.
constexpr int64_t kReference = 1'796'644'800 * kSec;
constexpr int64_t kNow = kReference + 3600 * kSec;

const CorpusLine kCorpus[] = {
    // RFC 3164: no year (Dec 10 is after the reference: last year), PRI severity, tags.
    {"syslog", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
     "2025-12-10T06:55:46Z", LogLevel::kInfo, "Invalid user webmaster from 173.234.31.186",
     R"({"host":"LabSZ","program":"sshd","pid":24200})"},
    {"syslog", "<11>Dec  7 08:45:43 web1 app: disk failing", "2026-12-07T08:45:43Z",
     LogLevel::kError, "disk failing", R"({"host":"web1","program":"app"})"},
    {"syslog", "<8>Dec  7 08:45:43 web1 kernel: Kernel panic", "2026-12-07T08:45:43Z",
     LogLevel::kFatal, "Kernel panic", R"({"host":"web1","program":"kernel"})"},
    {"syslog", "<12>Dec  7 08:45:43 web1 ntpd[9]: clock unsynchronized", "2026-12-07T08:45:43Z",
     LogLevel::kWarn, "clock unsynchronized", R"({"host":"web1","program":"ntpd","pid":9})"},
    {"syslog", "<15>Dec  7 08:45:43 web1 app: detail", "2026-12-07T08:45:43Z", LogLevel::kDebug,
     "detail", R"({"host":"web1","program":"app"})"},
    {"syslog", "Dec  7 08:45:43 web1 sshd[42]: error: kex_exchange_identification: closed",
     "2026-12-07T08:45:43Z", LogLevel::kError, "error: kex_exchange_identification: closed",
     R"({"host":"web1","program":"sshd","pid":42})"},
    {"syslog", "Jan  1 00:00:01 web1 -- MARK --", "2026-01-01T00:00:01Z", LogLevel::kInfo,
     "-- MARK --", R"({"host":"web1"})"},
    // RFC 5424, the RFC's own examples.
    {"syslog5424",
     "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed",
     "2003-10-11T22:14:15.003Z", LogLevel::kFatal, "'su root' failed",
     R"({"host":"mymachine.example.com","program":"su","msgid":"ID47"})"},
    {"syslog5424",
     "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
     "2003-08-24T12:14:15.000003Z", LogLevel::kInfo, "%% It's time to make the do-nuts.",
     R"({"host":"192.0.2.1","program":"myproc","pid":8710})"},
    {"syslog5424",
     R"(<165>1 2003-10-11T22:14:15.003Z host evntslog - ID47 [exampleSDID@32473 iut="3" eventID="1011\]"] An event)",
     "2003-10-11T22:14:15.003Z", LogLevel::kInfo, "An event",
     R"({"host":"host","program":"evntslog","msgid":"ID47","structured_data":"[exampleSDID@32473 iut=\"3\" eventID=\"1011\\]\"]"})"},
    {"syslog5424", "<11>1 - host app - - - no time", "", LogLevel::kError, "no time",
     R"({"host":"host","program":"app"})"},
    // Apache httpd 2.2 and 2.4 error logs.
    {"apache-error", "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
     "2005-12-04T04:47:44Z", LogLevel::kError, "mod_jk child workerEnv in error state 6", ""},
    {"apache-error", "[Sun Dec 04 04:47:44 2005] [notice] jk2_init() Found child 6725",
     "2005-12-04T04:47:44Z", LogLevel::kInfo, "jk2_init() Found child 6725", ""},
    {"apache-error",
     "[Wed Oct 11 14:32:52.123456 2000] [core:crit] [pid 35708:tid 4328636416] [client 72.15.99.187:5000] File does not exist",
     "2000-10-11T14:32:52.123456Z", LogLevel::kFatal, "File does not exist",
     R"({"module":"core","thread":4328636416,"pid":35708,"client":"72.15.99.187:5000"})"},
    {"apache-error", "[Wed Oct 11 14:32:52 2000] [ssl:trace3] handshake", "2000-10-11T14:32:52Z",
     LogLevel::kDebug, "handshake", R"({"module":"ssl"})"},
    // nginx error_log.
    {"nginx-error",
     "2026/12/07 08:45:43 [error] 123#0: *1 open() \"/x\" failed (2: No such file), client: 1.2.3.4",
     "2026-12-07T08:45:43Z", LogLevel::kError, "open() \"/x\" failed (2: No such file), client: 1.2.3.4",
     R"({"pid":123,"thread":0,"connection":1})"},
    {"nginx-error", "2026/12/07 08:45:43 [emerg] 1#1: bind() to 0.0.0.0:80 failed",
     "2026-12-07T08:45:43Z", LogLevel::kFatal, "bind() to 0.0.0.0:80 failed",
     R"({"pid":1,"thread":1})"},
    {"nginx-error", "2026/12/07 08:45:43 [warn] 7#7: conflicting server name",
     "2026-12-07T08:45:43Z", LogLevel::kWarn, "conflicting server name", R"({"pid":7,"thread":7})"},
    // NCSA combined and common access logs (Apache's documentation example).
    {"combined",
     R"x(127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)")x",
     "2000-10-10T20:55:36Z", LogLevel::kInfo,
     R"x("GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)")x",
     R"x({"client":"127.0.0.1","user":"frank","method":"GET","path":"/apache_pb.gif","status":200,"bytes":2326,"referer":"http://www.example.com/start.html","user_agent":"Mozilla/4.08 [en] (Win98; I ;Nav)"})x"},
    {"combined", R"(10.0.0.1 - - [07/Dec/2026:08:45:43 +0000] "POST /pay HTTP/1.1" 503 -)",
     "2026-12-07T08:45:43Z", LogLevel::kError, R"("POST /pay HTTP/1.1" 503 -)",
     R"({"client":"10.0.0.1","method":"POST","path":"/pay","status":503})"},
    {"combined", R"(10.0.0.1 - - [07/Dec/2026:08:45:43 +0100] "GET /nope HTTP/1.1" 404 12)",
     "2026-12-07T07:45:43Z", LogLevel::kWarn, R"("GET /nope HTTP/1.1" 404 12)",
     R"({"client":"10.0.0.1","method":"GET","path":"/nope","status":404,"bytes":12})"},
    // glog: Lmmdd without a year, and glog 0.7's Lyyyymmdd.
    {"glog", "E1207 08:45:43.123456   1234 server.go:42] connection refused",
     "2026-12-07T08:45:43.123456Z", LogLevel::kError, "connection refused",
     R"({"thread":1234,"source":"server.go:42"})"},
    {"glog", "F20261207 08:45:43.000001 7 main.cc:9] Check failed: ok", "2026-12-07T08:45:43.000001Z",
     LogLevel::kFatal, "Check failed: ok", R"({"thread":7,"source":"main.cc:9"})"},
    {"glog", "W1207 08:45:43.5 7 a.cc:1] slow", "2026-12-07T08:45:43.500Z", LogLevel::kWarn, "slow",
     R"({"thread":7,"source":"a.cc:1"})"},
    // Go's log: LstdFlags, Lmicroseconds|Lshortfile.
    {"go", "2026/12/07 08:45:43 listening on :8080", "2026-12-07T08:45:43Z", LogLevel::kInfo,
     "listening on :8080", ""},
    {"go", "2026/12/07 08:45:43.123456 main.go:12: ERROR: store failed", "2026-12-07T08:45:43.123456Z",
     LogLevel::kError, "ERROR: store failed", R"({"source":"main.go:12"})"},
    // Hadoop HDFS (yyMMdd HHmmss pid LEVEL class: msg).
    {"hdfs",
     "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_3886 terminating",
     "2008-11-09T20:36:15Z", LogLevel::kInfo, "PacketResponder 1 for block blk_3886 terminating",
     R"({"logger":"dfs.DataNode$PacketResponder","pid":148})"},
    {"hdfs", "081109 203807 222 WARN dfs.DataNode$DataXceiver: Got exception while serving",
     "2008-11-09T20:38:07Z", LogLevel::kWarn, "Got exception while serving",
     R"({"logger":"dfs.DataNode$DataXceiver","pid":222})"},
    // Spark's log4j layout (yy/MM/dd HH:mm:ss %p %c{1}: %m).
    {"spark", "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
     "2017-06-09T20:10:40Z", LogLevel::kInfo, "Registered signal handlers",
     R"({"logger":"executor.CoarseGrainedExecutorBackend"})"},
    {"spark", "17/06/09 20:11:11 ERROR executor.Executor: Exception in task 0.0", "2017-06-09T20:11:11Z",
     LogLevel::kError, "Exception in task 0.0", R"({"logger":"executor.Executor"})"},
    // Python logging: basicConfig's default (no time) and asctime - name - levelname - message.
    {"python", "WARNING:root:Watch out!", "", LogLevel::kWarn, "Watch out!", R"({"logger":"root"})"},
    {"python", "CRITICAL:app.db:gone: for good", "", LogLevel::kFatal, "gone: for good",
     R"({"logger":"app.db"})"},
    {"python", "2026-12-07 08:45:43,123 - simple_example - ERROR - error message",
     "2026-12-07T08:45:43.123Z", LogLevel::kError, "error message", R"({"logger":"simple_example"})"},
    // log4j / logback / Spring Boot.
    {"log4j", "2026-12-07 08:45:43,123 WARN [main] com.example.Foo - slow query",
     "2026-12-07T08:45:43.123Z", LogLevel::kWarn, "slow query",
     R"({"logger":"com.example.Foo","thread":"main"})"},
    {"log4j", "2026-12-07 08:45:43.123 [pool-1-thread-2] ERROR c.e.Bar - failed",
     "2026-12-07T08:45:43.123Z", LogLevel::kError, "failed",
     R"({"logger":"c.e.Bar","thread":"pool-1-thread-2"})"},
    {"log4j",
     "2026-12-07 08:45:43.123  INFO 4242 --- [           main] c.e.DemoApplication                      : Started",
     "2026-12-07T08:45:43.123Z", LogLevel::kInfo, "Started",
     R"({"logger":"c.e.DemoApplication","thread":"main","pid":4242})"},
    {"log4j", "2026-12-07 08:45:43,123 SEVERE x.Y - bad", "2026-12-07T08:45:43.123Z",
     LogLevel::kError, "bad", R"({"logger":"x.Y"})"},
    {"log4j", "2026-12-07 08:45:43,123 FATAL x.Y - dead", "2026-12-07T08:45:43.123Z",
     LogLevel::kFatal, "dead", R"({"logger":"x.Y"})"},
    // ISO 8601 / RFC 3339 then a level.
    {"iso8601", "2026-12-07T08:45:43.123Z ERROR payment failed", "2026-12-07T08:45:43.123Z",
     LogLevel::kError, "payment failed", ""},
    {"iso8601", "2026-12-07T08:45:43+01:00 [warn] slow", "2026-12-07T07:45:43Z", LogLevel::kWarn,
     "slow", ""},
    {"iso8601", "2026-12-07 08:45:43 CRIT disk", "2026-12-07T08:45:43Z", LogLevel::kFatal, "disk", ""},
    {"iso8601", "2026-12-07T08:45:43Z notice: started", "2026-12-07T08:45:43Z", LogLevel::kInfo,
     "started", ""},
    // journalctl -o short-iso.
    {"journal", "2026-12-07T08:45:43+0100 web1 sshd[42]: Accepted publickey for root",
     "2026-12-07T07:45:43Z", LogLevel::kInfo, "Accepted publickey for root",
     R"({"host":"web1","program":"sshd","pid":42})"},
};

LogLineParser::Options TextOptions(const TextLogFormat* forced = nullptr) {
  LogLineParser::Options o;
  o.format = InputFormat::kText;
  o.service = "corpus";
  o.text_format = forced;
  o.zone = std::move(MakeTimeZone("UTC")).value();
  o.reference_ns = kReference;
  return o;
}

TEST(TextLogFormats, EveryCorpusLineGivesItsTimeLevelMessageAndFields) {
  testing::FakeClock clock(kNow);
  for (const CorpusLine& c : kCorpus) {
    LogLineParser parser(TextOptions(), clock);
    const LogRecord r = parser.Parse(c.line);
    SCOPED_TRACE(c.line);
    EXPECT_EQ(parser.last_format(), c.format);
    const int64_t expected = *c.time ? ParseRfc3339(c.time).value() : kNow;
    EXPECT_EQ(r.ts_ns, expected) << FormatRfc3339(r.ts_ns) << " != " << FormatRfc3339(expected);
    EXPECT_EQ(LevelName(r.level), LevelName(c.level));
    EXPECT_EQ(r.message, c.message);
    EXPECT_EQ(r.attributes, c.fields);
  }
}

TEST(TextLogFormats, EveryCorpusLineParsesInAutoModeAndWhenItsFormatIsForced) {
  testing::FakeClock clock(kNow);
  for (const CorpusLine& c : kCorpus) {
    SCOPED_TRACE(c.line);
    LogLineParser::Options auto_options = TextOptions();
    auto_options.format = InputFormat::kAuto;
    LogLineParser automatic(auto_options, clock);
    EXPECT_EQ(automatic.Parse(c.line).message, c.message);
    EXPECT_EQ(automatic.last_format(), c.format);
    LogLineParser forced(TextOptions(FindTextLogFormat(c.format)), clock);
    EXPECT_EQ(forced.Parse(c.line).message, c.message);
  }
}

TEST(TextLogFormats, EveryFormatIsInTheCorpusAndItsExampleMatchesIt) {
  for (const TextLogFormat& f : TextLogFormats()) {
    bool covered = false;
    for (const CorpusLine& c : kCorpus) covered = covered || f.name == c.format;
    EXPECT_TRUE(covered) << f.name;
    TextLineMatch m;
    EXPECT_TRUE(f.match(f.example, m)) << f.name << ": " << f.example;
    EXPECT_EQ(FindTextLogFormat(f.name), &f);
  }
  EXPECT_EQ(FindTextLogFormat("xml"), nullptr);
}

TEST(TextLogFormats, ForcedFormatLeavesOtherLinesAsPlainText) {
  testing::FakeClock clock(kNow);
  LogLineParser parser(TextOptions(FindTextLogFormat("syslog")), clock);
  const LogRecord r = parser.Parse("2026-12-07T08:45:43Z ERROR not syslog");
  EXPECT_EQ(parser.last_format(), "");
  EXPECT_EQ(r.message, "2026-12-07T08:45:43Z ERROR not syslog");
  EXPECT_EQ(r.ts_ns, kNow);
}

TEST(TextLogFormats, ImpossibleOrTruncatedTimesAreKeptAsPlainText) {
  testing::FakeClock clock(kNow);
  const std::string lines[] = {
      "Feb 30 10:00:00 host app: no such day",
      "Dec 10 06:55 host app: no seconds",
      "Dec 32 06:55:46 host app: day 32",
      "2026-02-30T08:45:43Z ERROR no such day",
      "2026-12-07T25:45:43Z ERROR hour 25",
      "2026-12-07T08:45 ERROR cut",
      "[Sun Dec 04 04:47:44] [error] no year",
      "2026/13/07 08:45:43 [error] 1#0: month 13",
      "E1399 08:45:43.1 1 a.cc:1] month 13",
      "081109 206615 148 INFO a: minute 66",
      "0001-01-01T00:00:00Z ERROR before the epoch",
      "9999-12-31T23:59:59Z ERROR beyond int64 nanoseconds",
  };
  for (const std::string& line : lines) {
    LogLineParser parser(TextOptions(), clock);
    const LogRecord r = parser.Parse(line);
    EXPECT_EQ(parser.last_format(), "") << line;
    EXPECT_EQ(r.message, line);
    EXPECT_EQ(r.ts_ns, kNow) << line;
  }
}

TEST(TextLogFormats, SyslogFeb29TakesTheNearestLeapYearOrStaysText) {
  testing::FakeClock clock(kNow);
  LogLineParser::Options o = TextOptions();
  o.reference_ns = kReference;  // 2026: 2025, 2026 and 2027 are common years
  LogLineParser parser(o, clock);
  EXPECT_EQ(parser.Parse("Feb 29 10:00:00 host app: leap").message, "Feb 29 10:00:00 host app: leap");
  EXPECT_EQ(parser.last_format(), "");
  o.reference_ns = kReference - 2 * 365 * 86400 * kSec;  // late 2024
  LogLineParser in_2024(o, clock);
  EXPECT_EQ(FormatRfc3339(in_2024.Parse("Feb 29 10:00:00 host app: leap").ts_ns),
            "2024-02-29T10:00:00.000Z");
}

TEST(TextLogFormats, EveryPrefixOfEveryLineParsesWithoutLosingIt) {
  testing::FakeClock clock(kNow);
  for (const CorpusLine& c : kCorpus) {
    for (size_t n = 0; n <= c.line.size(); ++n) {
      const std::string prefix = c.line.substr(0, n);
      for (InputFormat format : {InputFormat::kText, InputFormat::kAuto}) {
        LogLineParser::Options o = TextOptions();
        o.format = format;
        LogLineParser parser(o, clock);
        const LogRecord r = parser.Parse(prefix);
        EXPECT_TRUE(IsCleanUtf8(r.message));
        // Either a format took the line apart, or the whole line is the message.
        if (parser.last_format().empty()) {
          EXPECT_EQ(r.message, prefix);
        }
        if (!r.attributes.empty()) {
          EXPECT_TRUE(ParseJson(r.attributes).ok()) << r.attributes;
        }
      }
    }
  }
}

TEST(TextLogFormats, RandomBytesAndHugeLinesNeverCrashAndStayValidUtf8) {
  testing::FakeClock clock(kNow);
  LogLineParser parser(TextOptions(), clock);
  testing::Garbage garbage(24, "<>[]:/-.,0123456789 DecJanTZ+\"#*IWEF");
  for (int k = 0; k < 20000; ++k) {
    const std::string line = garbage.Next(120);
    const LogRecord r = parser.Parse(line);
    EXPECT_TRUE(IsCleanUtf8(r.message));
    if (!r.attributes.empty()) {
      EXPECT_TRUE(ParseJson(r.attributes).ok()) << r.attributes;
    }
  }
  const std::string huge = "Dec 10 06:55:46 host app[1]: " + std::string(1 << 20, 'x');
  EXPECT_EQ(parser.Parse(huge).message.size(), size_t{1} << 20);
  const std::string huge_tag = "Dec 10 06:55:46 host " + std::string(1 << 20, 'p') + ": x";
  EXPECT_EQ(parser.Parse(huge_tag).message, std::string(1 << 20, 'p') + ": x");
  const std::string brackets(1 << 16, '[');
  EXPECT_EQ(parser.Parse(brackets).message, brackets);
}

TEST(TextLevelWord, MapsTheSpellingsTextLogsUse) {
  EXPECT_EQ(TextLevelWord("SEVERE"), LogLevel::kError);
  EXPECT_EQ(TextLevelWord("crit"), LogLevel::kFatal);
  EXPECT_EQ(TextLevelWord("emerg"), LogLevel::kFatal);
  EXPECT_EQ(TextLevelWord("alert"), LogLevel::kFatal);
  EXPECT_EQ(TextLevelWord("notice"), LogLevel::kInfo);
  EXPECT_EQ(TextLevelWord("FINEST"), LogLevel::kDebug);
  EXPECT_EQ(TextLevelWord("trace8"), LogLevel::kDebug);
  EXPECT_EQ(TextLevelWord("trace9"), std::nullopt);
  EXPECT_EQ(TextLevelWord("verbosely"), std::nullopt);
  EXPECT_EQ(TextLevelWord(""), std::nullopt);
  EXPECT_EQ(TextLevelWord(std::string(100, 'e')), std::nullopt);
}

TEST(MessageLeadingLevel, NeedsBracketsColonOrCapitalsForAWord) {
  EXPECT_EQ(MessageLeadingLevel("error: x"), LogLevel::kError);
  EXPECT_EQ(MessageLeadingLevel("[warn] x"), LogLevel::kWarn);
  EXPECT_EQ(MessageLeadingLevel("ERROR x"), LogLevel::kError);
  EXPECT_EQ(MessageLeadingLevel("alert users"), std::nullopt);
  EXPECT_EQ(MessageLeadingLevel("[warn x"), std::nullopt);
  EXPECT_EQ(MessageLeadingLevel(""), std::nullopt);
}

TEST(SyslogSeverityLevel, FollowsRfc5424SeverityTable) {
  const LogLevel expected[] = {LogLevel::kFatal, LogLevel::kFatal, LogLevel::kFatal, LogLevel::kError,
                               LogLevel::kWarn,  LogLevel::kInfo,  LogLevel::kInfo,  LogLevel::kDebug};
  for (int s = 0; s < 8; ++s) EXPECT_EQ(SyslogSeverityLevel(s), expected[s]) << s;
}

}  // namespace
}  // namespace mesh

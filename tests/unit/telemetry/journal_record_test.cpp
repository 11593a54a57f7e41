#include "mesh/telemetry/journal_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "mesh/base/json_tape.h"
#include "mesh/telemetry/log_line_parser.h"
#include "test_support.h"

namespace mesh {
namespace telemetry_journal_record_test {

using ::testing::HasSubstr;

// Records in the form `journalctl -o json` writes (systemd.journal-fields(7), the JSON export
// format): every value a string, binary data as an array of byte values.
constexpr char kSshd[] =
    R"({"__CURSOR":"s=6f1a;i=1a2b;b=3c4d;m=5e6f;t=5f0;x=7a8b","__REALTIME_TIMESTAMP":"1700000000123456",)"
    R"("__MONOTONIC_TIMESTAMP":"12345678","_BOOT_ID":"3c4d","__SEQNUM":"6699","PRIORITY":"3",)"
    R"("_SYSTEMD_UNIT":"ssh.service","SYSLOG_IDENTIFIER":"sshd","_PID":"812","_HOSTNAME":"web-1",)"
    R"("MESSAGE":"error: kex_exchange_identification: Connection closed by remote host"})";

LogRecord Defaults(const std::string& service = "") {
  LogRecord d;
  d.ts_ns = 42;
  d.level = LogLevel::kInfo;
  d.service = service;
  return d;
}

TEST(LogRecordFromJournalJson, MapsMessagePriorityTimeAndServiceAndKeepsTheRest) {
  Result<LogRecord> r = LogRecordFromJournalJson(kSshd, Defaults());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->message, "error: kex_exchange_identification: Connection closed by remote host");
  EXPECT_EQ(r->level, LogLevel::kError);
  EXPECT_EQ(r->ts_ns, 1'700'000'000'123'456'000);
  EXPECT_EQ(r->service, "sshd");
  JsonTape t;
  ASSERT_TRUE(t.Parse(r->attributes).ok()) << r->attributes;
  EXPECT_EQ(t.StringMember(t.root(), "_PID"), "812");
  EXPECT_EQ(t.StringMember(t.root(), "_HOSTNAME"), "web-1");
  EXPECT_EQ(t.StringMember(t.root(), "_SYSTEMD_UNIT"), "ssh.service");
  for (const char* gone : {"__CURSOR", "__MONOTONIC_TIMESTAMP", "_BOOT_ID", "__SEQNUM", "MESSAGE", "PRIORITY",
                           "__REALTIME_TIMESTAMP"}) {
    EXPECT_EQ(t.Member(t.root(), gone), JsonTape::kNone) << gone;
  }
}

TEST(LogRecordFromJournalJson, MapsEveryPriority) {
  const LogLevel expected[] = {LogLevel::kFatal, LogLevel::kFatal, LogLevel::kFatal, LogLevel::kError,
                               LogLevel::kWarn,  LogLevel::kInfo,  LogLevel::kInfo,  LogLevel::kDebug};
  for (int p = 0; p < 8; ++p) {
    const std::string line = R"({"__REALTIME_TIMESTAMP":"1","PRIORITY":")" + std::to_string(p) + R"(","MESSAGE":"m"})";
    Result<LogRecord> r = LogRecordFromJournalJson(line, Defaults());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->level, expected[p]) << p;
  }
}

TEST(LogRecordFromJournalJson, KeepsABadPriorityOrTimeAsAttributesWithTheDefaults) {
  Result<LogRecord> r = LogRecordFromJournalJson(
      R"({"__REALTIME_TIMESTAMP":"soon","PRIORITY":"9","MESSAGE":"m","_SYSTEMD_UNIT":"cron.service"})", Defaults());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, LogLevel::kInfo);
  EXPECT_EQ(r->ts_ns, 42);
  EXPECT_EQ(r->service, "cron.service");
  EXPECT_THAT(r->attributes, HasSubstr(R"("PRIORITY":"9")"));
  EXPECT_THAT(r->attributes, HasSubstr(R"("__REALTIME_TIMESTAMP":"soon")"));
  r = LogRecordFromJournalJson(R"({"__REALTIME_TIMESTAMP":"1","PRIORITY":"-1"})", Defaults());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, LogLevel::kInfo);
}

TEST(LogRecordFromJournalJson, AMissingMessageIsEmptyAndNoServiceIsJournal) {
  Result<LogRecord> r = LogRecordFromJournalJson(R"({"__REALTIME_TIMESTAMP":"1700000000000000"})", Defaults());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message, "");
  EXPECT_EQ(r->service, "journal");
  EXPECT_EQ(r->attributes, "");
}

TEST(LogRecordFromJournalJson, DecodesAByteArrayMessageReplacingInvalidUtf8) {
  // "héllo" in UTF-8, then a lone 0xFF byte.
  Result<LogRecord> r = LogRecordFromJournalJson(
      R"({"__REALTIME_TIMESTAMP":"1","MESSAGE":[104,195,169,108,108,111,32,255],"BLOB":[1,2,300]})", Defaults());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message, "h\xC3\xA9llo \xEF\xBF\xBD");
  // Not bytes (300): kept as the array it is.
  EXPECT_THAT(r->attributes, HasSubstr(R"("BLOB":[1,2,300])"));
}

TEST(LogRecordFromJournalJson, ServiceFlagWinsOverTheRecordsOwn) {
  Result<LogRecord> r = LogRecordFromJournalJson(kSshd, Defaults("edge"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service, "edge");
  EXPECT_THAT(r->attributes, HasSubstr(R"("SYSLOG_IDENTIFIER":"sshd")"));
}

TEST(LogRecordFromJournalJson, RenamesFieldsNamedLikeTheRecordsOwnSoItsJsonReadsBack) {
  Result<LogRecord> r = LogRecordFromJournalJson(
      R"({"__REALTIME_TIMESTAMP":"1700000000000000","MESSAGE":"m","message":"forged","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"})",
      Defaults("svc"));
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->attributes, HasSubstr(R"("message_raw":"forged")"));
  EXPECT_THAT(r->attributes, HasSubstr(R"("traceId_raw":)"));
  Result<LogRecord> back = LogRecordFromJson(ToJson(*r), Defaults());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->message, "m");
  EXPECT_EQ(back->trace_id, "");
  EXPECT_EQ(back->attributes, r->attributes);
}

TEST(LogRecordFromJournalJson, RefusesWhatIsNotAJsonObject) {
  EXPECT_FALSE(LogRecordFromJournalJson("[1]", Defaults()).ok());
  EXPECT_FALSE(LogRecordFromJournalJson(R"({"MESSAGE":)", Defaults()).ok());
  EXPECT_FALSE(LogRecordFromJournalJson("", Defaults()).ok());
}

TEST(LogLineParser, AutoDetectsJournalRecordsAndJournalFormatReadsThem) {
  testing::FakeClock clock(1000);
  LogLineParser::Options options;
  options.format = InputFormat::kAuto;
  options.service = "fallback";
  LogLineParser automatic(options, clock);
  LogRecord r = automatic.Parse(kSshd);
  EXPECT_EQ(automatic.last_format(), "journal");
  EXPECT_EQ(r.level, LogLevel::kError);
  EXPECT_EQ(r.service, "fallback");
  r = automatic.Parse(R"({"msg":"plain json","level":"warn"})");
  EXPECT_EQ(automatic.last_format(), "json");
  EXPECT_EQ(r.message, "plain json");

  options.format = InputFormat::kJournal;
  options.service = "";
  LogLineParser journal(options, clock);
  r = journal.Parse(kSshd);
  EXPECT_EQ(journal.last_format(), "journal");
  EXPECT_EQ(r.service, "sshd");
  r = journal.Parse("not json");
  EXPECT_THAT(r.attributes, HasSubstr("parse_error"));
  EXPECT_EQ(ParseInputFormat("journal"), InputFormat::kJournal);
}

}  // namespace telemetry_journal_record_test
}  // namespace mesh

#include "mesh/telemetry/log_level.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace telemetry_log_level_test {

TEST(LogLevel, ValuesAreOpenTelemetrySeverityNumbers) {
  EXPECT_EQ(static_cast<int>(LogLevel::kDebug), 5);
  EXPECT_EQ(static_cast<int>(LogLevel::kInfo), 9);
  EXPECT_EQ(static_cast<int>(LogLevel::kWarn), 13);
  EXPECT_EQ(static_cast<int>(LogLevel::kError), 17);
  EXPECT_EQ(static_cast<int>(LogLevel::kFatal), 21);
  EXPECT_LT(LogLevel::kDebug, LogLevel::kInfo);
  EXPECT_LT(LogLevel::kWarn, LogLevel::kError);
}

TEST(ParseLogLevel, ParsesCanonicalNamesCaseInsensitively) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("INFO"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("Warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("eRRoR"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("FATAL"), LogLevel::kFatal);
}

TEST(ParseLogLevel, ParsesTheUsualAliases) {
  for (const char* s : {"trace", "dbg", "verbose", "TRACE"}) {
    EXPECT_EQ(ParseLogLevel(s), LogLevel::kDebug) << s;
  }
  for (const char* s : {"information", "notice", "inf"}) {
    EXPECT_EQ(ParseLogLevel(s), LogLevel::kInfo) << s;
  }
  for (const char* s : {"warning", "WARNING", "wrn"})
    EXPECT_EQ(ParseLogLevel(s), LogLevel::kWarn) << s;
  for (const char* s : {"err", "eror", "ERR"}) EXPECT_EQ(ParseLogLevel(s), LogLevel::kError) << s;
  for (const char* s : {"critical", "crit", "panic", "emerg", "emergency", "alert", "ftl"}) {
    EXPECT_EQ(ParseLogLevel(s), LogLevel::kFatal) << s;
  }
}

TEST(ParseLogLevel, RejectsAnythingElse) {
  for (const char* s : {"", "verbose-ish", "inform", "warnings", " info", "info ", "5", "9", "i",
                        "errorerrorerrorerror", "informationinformation"}) {
    EXPECT_EQ(ParseLogLevel(s), std::nullopt) << s;
  }
  EXPECT_EQ(ParseLogLevel(std::string_view("info\0", 5)), std::nullopt);
}

TEST(ParseLogLevel, RandomBytesNeverCrashAndNeverMatchLongText) {
  testing::Garbage garbage(14, "debuginfowarnrrtalDEBUGINFOWARN");
  for (int i = 0; i < 20000; ++i) {
    const std::string text = garbage.Next(20);
    const std::optional<LogLevel> level = ParseLogLevel(text);
    if (level) {
      EXPECT_LE(text.size(), 16u) << text;
      EXPECT_TRUE(ParseLogLevel(LevelName(*level)) == level);
    }
  }
}

TEST(LevelFromSeverityNumber, MapsEachOpenTelemetryRange) {
  for (int n = 1; n <= 8; ++n) EXPECT_EQ(LevelFromSeverityNumber(n), LogLevel::kDebug) << n;
  for (int n = 9; n <= 12; ++n) EXPECT_EQ(LevelFromSeverityNumber(n), LogLevel::kInfo) << n;
  for (int n = 13; n <= 16; ++n) EXPECT_EQ(LevelFromSeverityNumber(n), LogLevel::kWarn) << n;
  for (int n = 17; n <= 20; ++n) EXPECT_EQ(LevelFromSeverityNumber(n), LogLevel::kError) << n;
  for (int n = 21; n <= 24; ++n) EXPECT_EQ(LevelFromSeverityNumber(n), LogLevel::kFatal) << n;
}

TEST(LevelFromSeverityNumber, RejectsNumbersOutside1To24) {
  EXPECT_EQ(LevelFromSeverityNumber(0), std::nullopt);
  EXPECT_EQ(LevelFromSeverityNumber(25), std::nullopt);
  EXPECT_EQ(LevelFromSeverityNumber(-9), std::nullopt);
  EXPECT_EQ(LevelFromSeverityNumber(30), std::nullopt);
}

TEST(LevelName, NamesEachLevelInCapitals) {
  EXPECT_EQ(LevelName(LogLevel::kDebug), "DEBUG");
  EXPECT_EQ(LevelName(LogLevel::kInfo), "INFO");
  EXPECT_EQ(LevelName(LogLevel::kWarn), "WARN");
  EXPECT_EQ(LevelName(LogLevel::kError), "ERROR");
  EXPECT_EQ(LevelName(LogLevel::kFatal), "FATAL");
}

TEST(LevelName, RoundTripsThroughParseLogLevel) {
  for (LogLevel l :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError, LogLevel::kFatal}) {
    EXPECT_EQ(ParseLogLevel(LevelName(l)), l);
    EXPECT_EQ(LevelFromSeverityNumber(static_cast<int>(l)), l);
  }
}

}  // namespace
}  // namespace mesh

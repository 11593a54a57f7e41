#include "mesh/base/time_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "test_support.h"

namespace mesh {
namespace base_time_format_test {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
// 2025-11-25T13:00:00Z.
constexpr int64_t kNov25 = 1'764'075'600 * kSec;

int64_t DurationOrDie(std::string_view text) {
  Result<int64_t> r = ParseDuration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : -1;
}

int64_t TimeOrDie(std::string_view text) {
  Result<int64_t> r = ParseRfc3339(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : -1;
}

// ---- ParseDuration ---------------------------------------------------------------------------

TEST(ParseDuration, ParsesEachUnit) {
  EXPECT_EQ(DurationOrDie("10ns"), 10);
  EXPECT_EQ(DurationOrDie("5us"), 5'000);
  EXPECT_EQ(DurationOrDie("5\xC2\xB5s"), 5'000);  // µs
  EXPECT_EQ(DurationOrDie("250ms"), 250'000'000);
  EXPECT_EQ(DurationOrDie("5s"), 5 * kSec);
  EXPECT_EQ(DurationOrDie("15m"), 15 * kMin);
  EXPECT_EQ(DurationOrDie("2h"), 2 * kHour);
  EXPECT_EQ(DurationOrDie("7d"), 7 * kDay);
  EXPECT_EQ(DurationOrDie("1w"), 7 * kDay);
  EXPECT_EQ(DurationOrDie("0s"), 0);
}

TEST(ParseDuration, AddsCompoundTerms) {
  EXPECT_EQ(DurationOrDie("1h30m"), 90 * kMin);
  EXPECT_EQ(DurationOrDie("1d2h3m4s5ms"), kDay + 2 * kHour + 3 * kMin + 4 * kSec + 5'000'000);
}

TEST(ParseDuration, AcceptsFractions) {
  EXPECT_EQ(DurationOrDie("1.5s"), 1'500'000'000);
  EXPECT_EQ(DurationOrDie("0.25h"), 15 * kMin);
  EXPECT_EQ(DurationOrDie("2.5ms"), 2'500'000);
}

TEST(ParseDuration, RejectsEmptyText) {
  Result<int64_t> r = ParseDuration("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("empty"));
}

TEST(ParseDuration, RejectsANumberWithoutUnit) {
  for (const char* text : {"15", "1h30", "0"}) {
    Result<int64_t> r = ParseDuration(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_THAT(r.status().message(), HasSubstr("missing unit")) << text;
  }
}

TEST(ParseDuration, RejectsUnknownUnitAndNamesIt) {
  Result<int64_t> r = ParseDuration("5x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("'5x'"));
  EXPECT_THAT(r.status().message(), HasSubstr("unknown unit 'x'"));
  EXPECT_FALSE(ParseDuration("5 s").ok());
  EXPECT_FALSE(ParseDuration("5S").ok());
  EXPECT_FALSE(ParseDuration("5sec").ok());
}

TEST(ParseDuration, RejectsGarbage) {
  for (const char* text : {"abc", "m", "-5s", "+5s", ".5s", "5.s", "1..5s", "1.2.3s", "s5", " 5s",
                           "5s ", "5s,", "1h 30m"}) {
    Result<int64_t> r = ParseDuration(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << text;
    }
  }
}

TEST(ParseDuration, RejectsDurationsPastInt64Nanoseconds) {
  EXPECT_FALSE(ParseDuration("300y").ok());
  Result<int64_t> r = ParseDuration("1000000w");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("too large"));
  EXPECT_FALSE(ParseDuration("106752d1d").ok());  // each term fits, the sum does not
}

TEST(ParseDuration, RejectsANumberTooLongForAnyFloatWithoutThrowing) {
  // std::stold throws out_of_range for numbers past long double; untrusted text must not.
  const std::string huge = std::string(6000, '9') + "s";
  Result<int64_t> r = ParseDuration(huge);
  EXPECT_FALSE(r.ok());
  const std::string tiny = "0." + std::string(6000, '0') + "1s";
  Result<int64_t> t = ParseDuration(tiny);
  if (t.ok()) {
    EXPECT_EQ(*t, 0);
  }
}

TEST(ParseDuration, EveryTruncationOfAValidDurationParsesOrFailsCleanly) {
  const std::string full = "1w2d3h4m5s6ms7us8ns";
  EXPECT_EQ(DurationOrDie(full),
            7 * kDay + 2 * kDay + 3 * kHour + 4 * kMin + 5 * kSec + 6'000'000 + 7'000 + 8);
  for (size_t n = 0; n < full.size(); ++n) {
    const std::string cut = full.substr(0, n);
    Result<int64_t> r = ParseDuration(cut);
    // A cut after a digit lacks its unit; a cut inside a unit ("...7u") may be another valid
    // unit ("...6m") or an unknown one, never a crash.
    if (cut.empty() || std::isdigit(static_cast<unsigned char>(cut.back()))) {
      ASSERT_FALSE(r.ok()) << cut;
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << cut;
    } else if (r.ok()) {
      EXPECT_GT(*r, 0) << cut;
    }
  }
}

// Each input gets the documented outcome: InvalidArgument, or a length that the same text means
// as a --since (that long before now) and that reads back exactly in nanoseconds.
TEST(ParseDuration, RandomBytesAreRejectedOrMeanTheSameEverywhere) {
  testing::Garbage garbage(1, "0123456789.smhdwnu\xC2\xB5");
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = garbage.Next(24);
    Result<int64_t> r = ParseDuration(text);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << text;
      continue;
    }
    ++accepted;
    EXPECT_GE(*r, 0) << text;
    EXPECT_EQ(DurationOrDie(std::to_string(*r) + "ns"), *r) << text;
    Result<int64_t> since = ParseTimeSpec(text, kNov25);
    ASSERT_TRUE(since.ok()) << text;
    EXPECT_EQ(*since, kNov25 - *r) << text;
  }
  EXPECT_GT(accepted, 0);
}

// ---- ParseRfc3339 ----------------------------------------------------------------------------

TEST(ParseRfc3339, ParsesUtcWithZ) {
  EXPECT_EQ(TimeOrDie("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(TimeOrDie("2000-01-01T00:00:00Z"), 946'684'800 * kSec);
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00Z"), kNov25);
}

TEST(ParseRfc3339, AcceptsLowercaseAndASpaceSeparator) {
  EXPECT_EQ(TimeOrDie("2025-11-25t13:00:00z"), kNov25);
  EXPECT_EQ(TimeOrDie("2025-11-25 13:00:00Z"), kNov25);
}

TEST(ParseRfc3339, AppliesPositiveAndNegativeOffsets) {
  EXPECT_EQ(TimeOrDie("2025-11-25T14:00:00+01:00"), kNov25);
  EXPECT_EQ(TimeOrDie("2025-11-25T08:00:00-05:00"), kNov25);
  EXPECT_EQ(TimeOrDie("2025-11-25T18:30:00+05:30"), kNov25);
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00+00:00"), kNov25);
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00-00:00"), kNov25);
  // An offset moves the date across midnight and the year boundary.
  EXPECT_EQ(TimeOrDie("1999-12-31T19:00:00-05:00"), 946'684'800 * kSec);
}

TEST(ParseRfc3339, KeepsFractionalSecondsToTheNanosecond) {
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00.5Z"), kNov25 + 500'000'000);
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00.120Z"), kNov25 + 120'000'000);
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00.000000001Z"), kNov25 + 1);
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00.123456789Z"), kNov25 + 123'456'789);
  EXPECT_EQ(TimeOrDie("2025-11-25T14:00:00.5+01:00"), kNov25 + 500'000'000);
  // Digits past nanoseconds are dropped, not rounded into a wrong value.
  EXPECT_EQ(TimeOrDie("2025-11-25T13:00:00.1234567899Z"), kNov25 + 123'456'789);
}

TEST(ParseRfc3339, AcceptsFebruary29OnlyInLeapYears) {
  EXPECT_EQ(TimeOrDie("2024-02-29T12:00:00Z"), 1'709'208'000 * kSec);
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").ok());  // divisible by 400
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("1900-02-29T00:00:00Z").ok());  // divisible by 100
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").ok());
  EXPECT_EQ(TimeOrDie("2024-03-01T00:00:00Z") - TimeOrDie("2024-02-28T00:00:00Z"), 2 * kDay);
  EXPECT_EQ(TimeOrDie("2023-03-01T00:00:00Z") - TimeOrDie("2023-02-28T00:00:00Z"), 1 * kDay);
}

TEST(ParseRfc3339, FoldsALeapSecondOntoTheNextSecond) {
  EXPECT_EQ(TimeOrDie("2016-12-31T23:59:60Z"), TimeOrDie("2017-01-01T00:00:00Z"));
}

TEST(ParseRfc3339, RejectsInvalidDatesAndTimes) {
  for (const char* text : {
           "2025-13-01T00:00:00Z",
           "2025-00-01T00:00:00Z",
           "2025-01-00T00:00:00Z",
           "2025-01-32T00:00:00Z",
           "2025-04-31T00:00:00Z",
           "2025-06-31T00:00:00Z",
           "2025-01-01T24:00:00Z",
           "2025-01-01T00:60:00Z",
           "2025-01-01T00:00:61Z",
       }) {
    Result<int64_t> r = ParseRfc3339(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(text));
  }
}

TEST(ParseRfc3339, RejectsMalformedText) {
  for (const char* text : {
           "",
           "2025",
           "2025-11-25",
           "2025-11-25T13:00:00",
           "2025-11-25T13:00Z",
           "2025-11-25X13:00:00Z",
           "2025/11/25T13:00:00Z",
           "25-11-25T13:00:00Z",
           "2025-1-25T13:00:00Z",
           "2025-11-25T13:00:00.Z",
           "2025-11-25T13:00:00ZZ",
           "2025-11-25T13:00:00Z ",
           " 2025-11-25T13:00:00Z",
           "2025-11-25T13:00:00+0100",
           "2025-11-25T13:00:00+01",
           "2025-11-25T13:00:00+24:00",
           "2025-11-25T13:00:00+01:60",
           "2025-11-25T13:00:00 UTC",
           "+2025-11-25T13:00:00Z",
           "2025-11-25T1a:00:00Z",
       }) {
    EXPECT_FALSE(ParseRfc3339(text).ok()) << text;
  }
}

TEST(ParseRfc3339, RejectsTimesOutsideTheInt64NanosecondRange) {
  // Unix nanoseconds in an int64 cover 1677-09-21 to 2262-04-11; past that the arithmetic
  // would overflow.
  EXPECT_FALSE(ParseRfc3339("9999-12-31T23:59:59Z").ok());
  EXPECT_FALSE(ParseRfc3339("2263-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("0000-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("1600-01-01T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2262-01-01T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("1678-01-01T00:00:00Z").ok());
}

TEST(ParseRfc3339, EveryTruncationFailsCleanly) {
  const std::string full = "2025-11-25T14:00:00.123456789+01:00";
  for (size_t n = 0; n < full.size(); ++n) {
    const std::string cut = full.substr(0, n);
    EXPECT_FALSE(ParseRfc3339(cut).ok()) << cut;
  }
  EXPECT_EQ(TimeOrDie(full), kNov25 + 123'456'789);
}

TEST(ParseRfc3339, RandomBytesNeverCrash) {
  testing::Garbage garbage(2, "0123456789-:T.Z+ ");
  // Whatever parses is a time FormatRfc3339 can print and ParseRfc3339 read back; the rest
  // is InvalidArgument.
  const auto expect_rejected_or_round_trip = [](const std::string& text) {
    Result<int64_t> r = ParseRfc3339(text);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << text;
      return false;
    }
    Result<int64_t> back = ParseRfc3339(FormatRfc3339(*r));
    EXPECT_TRUE(back.ok()) << text << " -> " << FormatRfc3339(*r);
    if (back.ok()) {
      EXPECT_EQ(*back, *r) << text;
    }
    return true;
  };
  for (int i = 0; i < 20000; ++i) expect_rejected_or_round_trip(garbage.Next(40));
  // Mutate one byte of a valid timestamp at every position, to every value.
  const std::string valid = "2024-02-29T23:59:60.999+14:00";
  int accepted = 0;
  for (size_t pos = 0; pos < valid.size(); ++pos) {
    for (int b = 0; b < 256; ++b) {
      std::string text = valid;
      text[pos] = static_cast<char>(b);
      if (expect_rejected_or_round_trip(text)) {
        ++accepted;
        EXPECT_GT(*ParseRfc3339(text), 0) << text;
      }
    }
  }
  EXPECT_GT(accepted, 0);  // a digit for a digit, a space for the 'T'
}

// ---- ParseTimeSpec ---------------------------------------------------------------------------

TEST(ParseTimeSpec, NowIsTheGivenNow) { EXPECT_EQ(*ParseTimeSpec("now", kNov25), kNov25); }

TEST(ParseTimeSpec, ADurationMeansThatLongBeforeNow) {
  EXPECT_EQ(*ParseTimeSpec("15m", kNov25), kNov25 - 15 * kMin);
  EXPECT_EQ(*ParseTimeSpec("1h30m", kNov25), kNov25 - 90 * kMin);
  EXPECT_EQ(*ParseTimeSpec("7d", kNov25), kNov25 - 7 * kDay);
  EXPECT_EQ(*ParseTimeSpec("250ms", kNov25), kNov25 - 250'000'000);
}

TEST(ParseTimeSpec, AcceptsRfc3339) {
  EXPECT_EQ(*ParseTimeSpec("2025-11-25T13:00:00Z", 0), kNov25);
  EXPECT_EQ(*ParseTimeSpec("2025-11-25T14:00:00.5+01:00", 0), kNov25 + 500'000'000);
}

TEST(ParseTimeSpec, AcceptsUnixSecondsWithOptionalFraction) {
  EXPECT_EQ(*ParseTimeSpec("1764075600", 0), kNov25);
  EXPECT_EQ(*ParseTimeSpec("1764075600.25", 0), kNov25 + 250'000'000);
  EXPECT_EQ(*ParseTimeSpec("1764075600.000000001", 0), kNov25 + 1);
  EXPECT_EQ(*ParseTimeSpec("0", 12345), 0);
}

TEST(ParseTimeSpec, RejectsUnixSecondsPastInt64Nanoseconds) {
  EXPECT_FALSE(ParseTimeSpec("99999999999", 0).ok());
  // The largest representable second, and one past it.
  EXPECT_TRUE(ParseTimeSpec("9223372036", 0).ok());
  EXPECT_FALSE(ParseTimeSpec("9223372037", 0).ok());
  EXPECT_FALSE(ParseTimeSpec("9223372039", 0).ok());
  EXPECT_FALSE(ParseTimeSpec("9223372036.9", 0).ok());
}

TEST(ParseTimeSpec, RejectsGarbageWithAHelpfulMessage) {
  for (const char* text :
       {"", "yesterday", "1.2.3", ".", "5.", "15", "2025-11-25", "-15m", "now ", "NOW"}) {
    Result<int64_t> r = ParseTimeSpec(text, kNov25);
    if (std::string(text) == "15") {
      // Plain digits are Unix seconds, not a duration without a unit.
      EXPECT_TRUE(r.ok());
      continue;
    }
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("invalid time"));
    EXPECT_THAT(r.status().message(), HasSubstr("15m"));
  }
}

// Each input gets the documented outcome: InvalidArgument, or a time that FormatUnixSeconds
// carries to meshd exactly (times before 1970 travel as "0").
TEST(ParseTimeSpec, RandomBytesAreRejectedOrTravelExactly) {
  testing::Garbage garbage(3, "0123456789-:T.Z+smhdnow");
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = garbage.Next(32);
    Result<int64_t> r = ParseTimeSpec(text, kNov25);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << text;
      continue;
    }
    ++accepted;
    const std::string wire = FormatUnixSeconds(*r);
    Result<int64_t> back = ParseTimeSpec(wire, 0);
    ASSERT_TRUE(back.ok()) << text << " -> " << wire;
    EXPECT_EQ(*back, std::max<int64_t>(*r, 0)) << text << " -> " << wire;
  }
  EXPECT_GT(accepted, 0);
}

// ---- FormatRfc3339 ---------------------------------------------------------------------------

TEST(FormatRfc3339, PrintsUtcWithAtLeastMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(kNov25), "2025-11-25T13:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(kNov25 + 120'000'000), "2025-11-25T13:00:00.120Z");
}

TEST(FormatRfc3339, KeepsSignificantFractionalDigits) {
  EXPECT_EQ(FormatRfc3339(kNov25 + 123'400'000), "2025-11-25T13:00:00.1234Z");
  EXPECT_EQ(FormatRfc3339(kNov25 + 123'456'000), "2025-11-25T13:00:00.123456Z");
  EXPECT_EQ(FormatRfc3339(kNov25 + 1), "2025-11-25T13:00:00.000000001Z");
  EXPECT_EQ(FormatRfc3339(kNov25 + 999'999'999), "2025-11-25T13:00:00.999999999Z");
}

TEST(FormatRfc3339, PrintsTimesBeforeTheEpoch) {
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(-kSec), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(FormatRfc3339(-kDay - 500'000'000), "1969-12-30T23:59:59.500Z");
  EXPECT_EQ(FormatRfc3339(-946'684'800 * kSec), "1940-01-02T00:00:00.000Z");
}

TEST(FormatRfc3339, PrintsTheInt64Extremes) {
  EXPECT_EQ(FormatRfc3339(std::numeric_limits<int64_t>::max()), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(FormatRfc3339(std::numeric_limits<int64_t>::min()), "1677-09-21T00:12:43.145224192Z");
}

TEST(FormatRfc3339, RoundTripsThroughParseRfc3339) {
  std::mt19937_64 engine(4);
  std::uniform_int_distribution<int64_t> any(std::numeric_limits<int64_t>::min(),
                                             std::numeric_limits<int64_t>::max());
  std::vector<int64_t> values = {0,
                                 1,
                                 -1,
                                 kNov25,
                                 -kNov25,
                                 951'782'400 * kSec,
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min()};
  for (int i = 0; i < 5000; ++i) values.push_back(any(engine));
  for (int64_t v : values) {
    const std::string text = FormatRfc3339(v);
    Result<int64_t> back = ParseRfc3339(text);
    ASSERT_TRUE(back.ok()) << v << " -> " << text << ": " << back.status().message();
    EXPECT_EQ(*back, v) << text;
  }
}

// ---- FormatDuration --------------------------------------------------------------------------

TEST(FormatDuration, PicksAUnitForHumans) {
  EXPECT_EQ(FormatDuration(0), "0ns");
  EXPECT_EQ(FormatDuration(850), "850ns");
  EXPECT_EQ(FormatDuration(850'000), "850us");
  EXPECT_EQ(FormatDuration(12'300'000), "12.3ms");
  EXPECT_EQ(FormatDuration(1'250'000'000), "1.25s");
  EXPECT_EQ(FormatDuration(200 * kSec), "3m20s");
  EXPECT_EQ(FormatDuration(90 * kMin), "1h30m");
  EXPECT_EQ(FormatDuration(50 * kHour), "50h0m");
}

TEST(FormatDuration, PrintsNegativeDurationsWithAMinus) {
  EXPECT_EQ(FormatDuration(-1'500'000'000), "-1.5s");
  EXPECT_EQ(FormatDuration(-850), "-850ns");
}

TEST(FormatDuration, NeverPrintsAnExponentNearUnitBoundaries) {
  // %.3g of 999.9995 is "1e+03": a value that rounds up must move to the next unit.
  for (int64_t base : {int64_t{1'000}, int64_t{1'000'000}, kSec, 60 * kSec}) {
    for (int64_t delta = -2000; delta <= 2000; ++delta) {
      const int64_t ns = base + delta * (base / 1'000'000 + 1);
      const std::string text = FormatDuration(ns);
      EXPECT_THAT(text, Not(HasSubstr("e+"))) << ns;
      EXPECT_THAT(text, Not(HasSubstr("1000"))) << ns;
    }
  }
  EXPECT_EQ(FormatDuration(999'999), "1ms");
  EXPECT_EQ(FormatDuration(999'999'999), "1s");
}

TEST(FormatDuration, HandlesTheInt64Extremes) {
  EXPECT_EQ(FormatDuration(std::numeric_limits<int64_t>::max()), "2562047h47m");
  EXPECT_EQ(FormatDuration(std::numeric_limits<int64_t>::min()), "-2562047h47m");
}

}  // namespace
}  // namespace mesh

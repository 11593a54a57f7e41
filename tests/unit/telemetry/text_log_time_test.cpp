#include "mesh/telemetry/text_log_time.h"

#include <gtest/gtest.h>

#include "mesh/base/time_format.h"

namespace mesh {
namespace telemetry_text_log_time_test {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kJan2 = int64_t{1'798'884'000} * kSec;  // 2027-01-02T10:00:00Z

LineTime YearLess(int month, int day, int hour, int minute = 0) {
  LineTime t;
  t.has_year = false;
  t.civil.month = month;
  t.civil.day = day;
  t.civil.hour = hour;
  t.civil.minute = minute;
  return t;
}

class TextLogTimeTest : public ::testing::Test {
 protected:
  std::string Resolve(const LineTime& t, std::optional<int> year = std::nullopt) {
    std::optional<int64_t> ns = ResolveLineTime(t, {.zone = utc_.get(), .reference_ns = kJan2, .year = year});
    return ns ? FormatRfc3339(*ns) : "none";
  }
  std::unique_ptr<TimeZone> utc_ = std::move(MakeTimeZone("UTC")).value();
};

TEST_F(TextLogTimeTest, YearLessLineAfterTheFileTimeBelongsToThePreviousYear) {
  EXPECT_EQ(Resolve(YearLess(12, 31, 23, 59)), "2026-12-31T23:59:00.000Z");
  EXPECT_EQ(Resolve(YearLess(1, 2, 9)), "2027-01-02T09:00:00.000Z");
  EXPECT_EQ(Resolve(YearLess(6, 1, 0)), "2026-06-01T00:00:00.000Z");
}

TEST_F(TextLogTimeTest, YearLessLineUpToADayAheadStaysInTheFileYear) {
  // A writer whose clock or zone is hours ahead of the file's mtime.
  EXPECT_EQ(Resolve(YearLess(1, 2, 20)), "2027-01-02T20:00:00.000Z");
  EXPECT_EQ(Resolve(YearLess(1, 3, 11)), "2026-01-03T11:00:00.000Z");
}

TEST_F(TextLogTimeTest, ExplicitYearWinsOverTheRule) {
  EXPECT_EQ(Resolve(YearLess(12, 31, 23), 2020), "2020-12-31T23:00:00.000Z");
  EXPECT_EQ(Resolve(YearLess(2, 29, 0), 2023), "none");
  EXPECT_EQ(Resolve(YearLess(2, 29, 0), 2024), "2024-02-29T00:00:00.000Z");
}

TEST_F(TextLogTimeTest, LineZoneWinsOverTheDefaultZone) {
  LineTime t;
  t.civil = {.year = 2026, .month = 12, .day = 7, .hour = 8};
  t.utc_offset_s = -7 * 3600;
  std::unique_ptr<TimeZone> paris = std::move(MakeTimeZone("Europe/Paris")).value();
  std::optional<int64_t> ns = ResolveLineTime(t, {.zone = paris.get(), .reference_ns = kJan2});
  ASSERT_TRUE(ns);
  EXPECT_EQ(FormatRfc3339(*ns), "2026-12-07T15:00:00.000Z");
  t.utc_offset_s.reset();
  ns = ResolveLineTime(t, {.zone = paris.get(), .reference_ns = kJan2});
  ASSERT_TRUE(ns);
  EXPECT_EQ(FormatRfc3339(*ns), "2026-12-07T07:00:00.000Z");
}

TEST_F(TextLogTimeTest, YearsOutsideTheUnixNanosecondRangeGiveNone) {
  for (int year : {1, 1677, 1969, 2262, 9999}) {
    LineTime t;
    t.civil = {.year = year, .month = 6, .day = 1};
    EXPECT_EQ(Resolve(t), "none") << year;
  }
  LineTime t;
  t.civil = {.year = 2261, .month = 12, .day = 31};
  EXPECT_EQ(Resolve(t), "2261-12-31T00:00:00.000Z");
}

TEST_F(TextLogTimeTest, ImpossibleDateGivesNone) {
  LineTime t;
  t.civil = {.year = 2026, .month = 2, .day = 30};
  EXPECT_EQ(Resolve(t), "none");
}

}  // namespace
}  // namespace mesh

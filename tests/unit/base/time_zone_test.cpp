#include "mesh/base/time_zone.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>

#include "mesh/base/time_format.h"

namespace mesh {
namespace base_time_zone_test {

CivilTime At(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  CivilTime t;
  t.year = y;
  t.month = mo;
  t.day = d;
  t.hour = h;
  t.minute = mi;
  t.second = s;
  return t;
}

std::string InZone(std::string_view zone, const CivilTime& t) {
  Result<std::unique_ptr<TimeZone>> z = MakeTimeZone(zone);
  EXPECT_TRUE(z.ok()) << zone;
  return z.ok() ? FormatRfc3339((*z)->ToUnixNs(t)) : "";
}

// Sets TZ for one test and puts the old value back.
class ScopedTz {
 public:
  explicit ScopedTz(const char* value) {
    if (const char* old = getenv("TZ")) saved_ = old;
    setenv("TZ", value, 1);
    tzset();
  }
  ~ScopedTz() {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::optional<std::string> saved_;
};

TEST(CivilTime, RejectsDatesThatDoNotExist) {
  EXPECT_TRUE(IsValidCivilTime(At(2024, 2, 29)));
  EXPECT_FALSE(IsValidCivilTime(At(2026, 2, 29)));
  EXPECT_FALSE(IsValidCivilTime(At(2026, 2, 30)));
  EXPECT_FALSE(IsValidCivilTime(At(1900, 2, 29)));  // not a leap year: divisible by 100
  EXPECT_TRUE(IsValidCivilTime(At(2000, 2, 29)));   // a leap year: divisible by 400
  EXPECT_FALSE(IsValidCivilTime(At(2026, 4, 31)));
  EXPECT_FALSE(IsValidCivilTime(At(2026, 13, 1)));
  EXPECT_FALSE(IsValidCivilTime(At(2026, 0, 1)));
  EXPECT_FALSE(IsValidCivilTime(At(2026, 1, 1, 24)));
  EXPECT_FALSE(IsValidCivilTime(At(2026, 1, 1, 0, 60)));
  EXPECT_TRUE(IsValidCivilTime(At(2026, 12, 31, 23, 59, 60)));  // a leap second
  EXPECT_FALSE(IsValidCivilTime(At(0, 1, 1)));
}

TEST(CivilTime, ConvertsToUnixTimeAndBack) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(CivilToUnixNs(At(2026, 12, 7, 12), 0), int64_t{1'796'644'800} * 1'000'000'000);
  EXPECT_EQ(CivilToUnixNs(At(2026, 12, 7, 13), 3600), CivilToUnixNs(At(2026, 12, 7, 12), 0));
  EXPECT_EQ(YearOfUnixNs(CivilToUnixNs(At(2026, 12, 31, 23, 59, 59), 0)), 2026);
  EXPECT_EQ(YearOfUnixNs(CivilToUnixNs(At(2027, 1, 1), 0)), 2027);
  EXPECT_EQ(YearOfUnixNs(CivilToUnixNs(At(1969, 12, 31, 23), 0)), 1969);
}

TEST(TimeZone, ReadsUtcAndFixedOffsets) {
  const CivilTime t = At(2026, 12, 7, 8, 45, 43);
  EXPECT_EQ(InZone("UTC", t), "2026-12-07T08:45:43.000Z");
  EXPECT_EQ(InZone("+01:00", t), "2026-12-07T07:45:43.000Z");
  EXPECT_EQ(InZone("-0530", t), "2026-12-07T14:15:43.000Z");
  EXPECT_EQ(InZone("+9", t), "2026-12-06T23:45:43.000Z");
}

TEST(TimeZone, ReadsIanaNamesWithTheirDaylightSavingRules) {
  EXPECT_EQ(InZone("America/New_York", At(2026, 12, 7, 8)), "2026-12-07T13:00:00.000Z");
  EXPECT_EQ(InZone("America/New_York", At(2026, 7, 7, 8)), "2026-07-07T12:00:00.000Z");
  EXPECT_EQ(InZone("Europe/Paris", At(2026, 7, 7, 8)), "2026-07-07T06:00:00.000Z");
}

TEST(TimeZone, NamedZoneLeavesTheProcessTzAsItWas) {
  ScopedTz tz("Asia/Tokyo");
  EXPECT_EQ(InZone("America/New_York", At(2026, 12, 7, 8)), "2026-12-07T13:00:00.000Z");
  EXPECT_STREQ(getenv("TZ"), "Asia/Tokyo");
  EXPECT_EQ(InZone("local", At(2026, 12, 7, 8)), "2026-12-06T23:00:00.000Z");
}

TEST(TimeZone, LocalFollowsTheProcessTz) {
  ScopedTz tz("Europe/Paris");
  EXPECT_EQ(InZone("", At(2026, 12, 7, 8)), "2026-12-07T07:00:00.000Z");
  EXPECT_EQ(InZone("local", At(2026, 7, 7, 8)), "2026-07-07T06:00:00.000Z");
}

TEST(TimeZone, CachedHourDoesNotLeakAcrossADaylightSavingChange) {
  Result<std::unique_ptr<TimeZone>> z = MakeTimeZone("Europe/Paris");
  ASSERT_TRUE(z.ok());
  // 2026-03-29: 02:00 local becomes 03:00 (UTC+1 -> UTC+2).
  EXPECT_EQ((*z)->UtcOffsetSeconds(At(2026, 3, 29, 1, 30)), 3600);
  EXPECT_EQ((*z)->UtcOffsetSeconds(At(2026, 3, 29, 4, 0)), 7200);
  EXPECT_EQ((*z)->UtcOffsetSeconds(At(2026, 3, 29, 1, 59)), 3600);
}

TEST(TimeZone, RefusesUnknownNamesAndBadOffsets) {
  for (const char* bad : {"Mars/Olympus", "+25:00", "+01:0", "+1:00x", "../etc/passwd",
                          "/etc/localtime", "Europe/", "a b"}) {
    Result<std::unique_ptr<TimeZone>> z = MakeTimeZone(bad);
    EXPECT_FALSE(z.ok()) << bad;
    if (!z.ok()) {
      EXPECT_NE(z.status().message().find(bad), std::string::npos) << z.status().message();
    }
  }
}

}  // namespace
}  // namespace mesh

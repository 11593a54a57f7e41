// TimeZone: turns a wall-clock time read from a log line that names no zone (a syslog or log4j
// timestamp) into Unix time. The zone is the process's local time (the C library's TZ), UTC, a
// fixed offset ("+01:00"), or an IANA name ("Europe/Paris") from the C library's tz database.
// CivilTime and its functions are pure and thread-safe; a TimeZone is not thread-safe (it caches
// the last offset it computed): one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

// A calendar date and wall-clock time, without a zone.
struct CivilTime {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;  // 0..60 (a leap second counts as the next minute's first)
  int64_t nanos = 0;
};

// False for a date that does not exist (Feb 30, month 13) or a time out of range.
bool IsValidCivilTime(const CivilTime& t);

// Days from 1970-01-01 to the date (proleptic Gregorian; negative before 1970).
int64_t DaysFromCivil(int year, int month, int day);

// Unix nanoseconds of `t` read in a zone `utc_offset_seconds` east of UTC. `t` must be valid.
int64_t CivilToUnixNs(const CivilTime& t, int64_t utc_offset_seconds);

// The year of a Unix time in UTC.
int YearOfUnixNs(int64_t unix_ns);

class TimeZone {
 public:
  virtual ~TimeZone() = default;
  // Seconds east of UTC in force at local time `t` (valid). A time skipped or repeated by a
  // daylight-saving change takes the offset the C library's mktime chooses.
  virtual int64_t UtcOffsetSeconds(const CivilTime& t) const = 0;
  // What the user named: "local", "UTC", "+01:00", "Europe/Paris".
  virtual const std::string& Name() const = 0;

  int64_t ToUnixNs(const CivilTime& t) const { return CivilToUnixNs(t, UtcOffsetSeconds(t)); }
};

// "" or "local": the process's local time; "UTC", "Z", "GMT": UTC; "+01:00", "-0530", "+1":
// a fixed offset (at most 18 hours); anything else an IANA name, which must exist in the tz
// database ($TZDIR, else /usr/share/zoneinfo). Errors: InvalidArgument naming the text.
Result<std::unique_ptr<TimeZone>> MakeTimeZone(std::string_view spec);

}  // namespace mesh

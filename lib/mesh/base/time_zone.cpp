#include "mesh/base/time_zone.h"

#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <mutex>
#include <optional>

namespace mesh {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

class FixedTimeZone : public TimeZone {
 public:
  FixedTimeZone(std::string name, int64_t offset) : name_(std::move(name)), offset_(offset) {}
  int64_t UtcOffsetSeconds(const CivilTime&) const override { return offset_; }
  const std::string& Name() const override { return name_; }

 private:
  std::string name_;
  int64_t offset_;
};

// The C library's zones: mktime under TZ. TZ is process-wide state, so a named zone sets it
// around each call under a lock and puts the old value back; the offset of the last local hour
// asked for is cached, so a file's consecutive lines cost one mktime per hour, not per line.
class CLibraryTimeZone : public TimeZone {
 public:
  CLibraryTimeZone(std::string name, std::string tz_value)
      : name_(std::move(name)), tz_value_(std::move(tz_value)) {}

  int64_t UtcOffsetSeconds(const CivilTime& t) const override {
    const int64_t hour_key = (DaysFromCivil(t.year, t.month, t.day) * 24 + t.hour);
    if (cached_hour_ && *cached_hour_ == hour_key) return cached_offset_;
    CivilTime at_hour = t;
    at_hour.minute = at_hour.second = 0;
    at_hour.nanos = 0;
    std::tm tm{};
    tm.tm_year = t.year - 1900;
    tm.tm_mon = t.month - 1;
    tm.tm_mday = t.day;
    tm.tm_hour = t.hour;
    tm.tm_isdst = -1;
    time_t local;
    {
      static std::mutex tz_mutex;
      std::lock_guard<std::mutex> lock(tz_mutex);
      std::optional<std::string> saved;
      if (!tz_value_.empty()) {
        if (const char* old = std::getenv("TZ")) saved = old;
        setenv("TZ", tz_value_.c_str(), 1);
        tzset();
      }
      local = std::mktime(&tm);
      if (!tz_value_.empty()) {
        if (saved) {
          setenv("TZ", saved->c_str(), 1);
        } else {
          unsetenv("TZ");
        }
        tzset();
      }
    }
    cached_hour_ = hour_key;
    cached_offset_ = CivilToUnixNs(at_hour, 0) / kNsPerSecond - static_cast<int64_t>(local);
    return cached_offset_;
  }
  const std::string& Name() const override { return name_; }

 private:
  std::string name_;
  std::string tz_value_;  // empty: leave TZ as the process has it
  mutable std::optional<int64_t> cached_hour_;
  mutable int64_t cached_offset_ = 0;
};

// "+01:00", "-0530", "+1", "+01" -> seconds; nullopt otherwise.
std::optional<int64_t> ParseFixedOffset(std::string_view s) {
  if (s.size() < 2 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  const int sign = s[0] == '-' ? -1 : 1;
  std::string digits;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == ':' && i == 3) continue;
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    digits += s[i];
  }
  int hours = 0, minutes = 0;
  if (digits.size() == 1 || digits.size() == 2) {
    hours = std::stoi(digits);
  } else if (digits.size() == 4) {
    hours = std::stoi(digits.substr(0, 2));
    minutes = std::stoi(digits.substr(2));
  } else {
    return std::nullopt;
  }
  if (hours > 18 || minutes > 59 || (hours == 18 && minutes > 0)) return std::nullopt;
  return sign * (hours * 3600 + minutes * 60);
}

bool IsPlausibleZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/') return false;
  if (name.find("..") != std::string_view::npos) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsValidCivilTime(const CivilTime& t) {
  if (t.year < 1 || t.year > 9999 || t.month < 1 || t.month > 12) return false;
  if (t.day < 1 || t.day > DaysInMonth(t.year, t.month)) return false;
  return t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 && t.second >= 0 &&
         t.second <= 60 && t.nanos >= 0 && t.nanos < kNsPerSecond;
}

// Howard Hinnant's days_from_civil.
int64_t DaysFromCivil(int year, int month, int day) {
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t CivilToUnixNs(const CivilTime& t, int64_t utc_offset_seconds) {
  const int64_t seconds = DaysFromCivil(t.year, t.month, t.day) * 86400 + t.hour * 3600 +
                          t.minute * 60 + t.second - utc_offset_seconds;
  return seconds * kNsPerSecond + t.nanos;
}

int YearOfUnixNs(int64_t unix_ns) {
  int64_t days = unix_ns / kNsPerSecond / 86400;
  if (unix_ns < 0 && (unix_ns / kNsPerSecond) % 86400 != 0) --days;
  // Hinnant's civil_from_days, the year only.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
}

Result<std::unique_ptr<TimeZone>> MakeTimeZone(std::string_view spec) {
  if (spec.empty() || spec == "local") {
    return std::unique_ptr<TimeZone>(std::make_unique<CLibraryTimeZone>("local", ""));
  }
  if (spec == "UTC" || spec == "utc" || spec == "Z" || spec == "GMT") {
    return std::unique_ptr<TimeZone>(std::make_unique<FixedTimeZone>("UTC", 0));
  }
  if (spec[0] == '+' || spec[0] == '-') {
    std::optional<int64_t> offset = ParseFixedOffset(spec);
    if (!offset) {
      return Status::InvalidArgument("invalid time zone offset '" + std::string(spec) +
                                     "' (expected +HH:MM, e.g. +01:00 or -05:30)");
    }
    return std::unique_ptr<TimeZone>(std::make_unique<FixedTimeZone>(std::string(spec), *offset));
  }
  const std::string name(spec);
  if (IsPlausibleZoneName(name)) {
    const char* dir = std::getenv("TZDIR");
    const std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      return std::unique_ptr<TimeZone>(std::make_unique<CLibraryTimeZone>(name, ":" + name));
    }
  }
  return Status::InvalidArgument("unknown time zone '" + name +
                                 "' (use local, UTC, an offset like +01:00, or a tz database name "
                                 "like Europe/Paris)");
}

}  // namespace mesh

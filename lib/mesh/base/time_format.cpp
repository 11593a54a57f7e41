#include "mesh/base/time_format.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace mesh {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at text[*pos].
bool ReadDigits(std::string_view text, size_t* pos, int n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// secs * 1e9 + frac_ns (0 <= frac_ns < 1e9) into *ns; false when that does not fit an int64
// (before 1677-09-21 or after 2262-04-11), where the plain arithmetic would overflow.
bool ToUnixNs(int64_t secs, int64_t frac_ns, int64_t* ns) {
  // Borrow a second from the fraction: the earliest time, INT64_MIN ns, is -9223372037 s plus
  // 145224192 ns, and -9223372037 s alone does not fit.
  if (secs < 0 && frac_ns > 0) {
    ++secs;
    frac_ns -= kNsPerSecond;
  }
  int64_t whole = 0;
  return !__builtin_mul_overflow(secs, kNsPerSecond, &whole) &&
         !__builtin_add_overflow(whole, frac_ns, ns);
}

Status BadTime(std::string_view text) {
  return Status::InvalidArgument("invalid time '" + std::string(text) +
                                 "' (expected RFC 3339 like 2026-11-25T13:00:00Z, Unix "
                                 "seconds, or a duration like 15m)");
}

// Unix seconds with an optional fraction: "1764075600" or "1764075600.25".
Result<int64_t> ParseUnixSeconds(std::string_view text) {
  int64_t secs = 0;
  size_t i = 0;
  for (; i < text.size() && IsDigit(text[i]); ++i) {
    if (secs > (std::numeric_limits<int64_t>::max() / kNsPerSecond) / 10) return BadTime(text);
    secs = secs * 10 + (text[i] - '0');
  }
  if (i == 0) return BadTime(text);
  int64_t frac_ns = 0;
  if (i < text.size()) {
    if (text[i] != '.' || i + 1 == text.size()) return BadTime(text);
    int64_t scale = kNsPerSecond / 10;
    for (++i; i < text.size(); ++i) {
      if (!IsDigit(text[i])) return BadTime(text);
      frac_ns += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  int64_t ns = 0;
  if (!ToUnixNs(secs, frac_ns, &ns)) return BadTime(text);
  return ns;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid duration '" + std::string(text) + "': " + why +
                                   " (examples: 250ms, 5s, 15m, 2h, 7d, 1h30m)");
  };
  if (text.empty()) return bad("empty");
  long double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t num_start = i;
    while (i < text.size() && (IsDigit(text[i]) || text[i] == '.')) ++i;
    if (i == num_start) return bad("expected a number");
    const std::string number(text.substr(num_start, i - num_start));
    if (number.find('.') != number.rfind('.') || number.front() == '.' || number.back() == '.') {
      return bad("malformed number");
    }
    const size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.') ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    long double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else if (unit == "d") scale = 86400e9;
    else if (unit == "w") scale = 7 * 86400e9;
    else if (unit.empty()) return bad("missing unit");
    else return bad("unknown unit '" + std::string(unit) + "'");
    // strtold rather than stold: a number past long double's range must be an error value
    // ("too large" below, as HUGE_VALL), not an exception.
    total += std::strtold(number.c_str(), nullptr) * scale;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
      return bad("too large");
    }
  }
  return static_cast<int64_t>(std::llround(total));
}

Result<int64_t> ParseRfc3339(std::string_view text) {
  size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &p, 4, &year) || !Expect(text, &p, '-') ||
      !ReadDigits(text, &p, 2, &month) || !Expect(text, &p, '-') ||
      !ReadDigits(text, &p, 2, &day)) {
    return BadTime(text);
  }
  if (p >= text.size() || (text[p] != 'T' && text[p] != 't' && text[p] != ' ')) {
    return BadTime(text);
  }
  ++p;
  if (!ReadDigits(text, &p, 2, &hour) || !Expect(text, &p, ':') ||
      !ReadDigits(text, &p, 2, &minute) || !Expect(text, &p, ':') ||
      !ReadDigits(text, &p, 2, &second)) {
    return BadTime(text);
  }
  if (month < 1 || month > 12 || day < 1 || day > static_cast<int>(DaysInMonth(year, month)) ||
      hour > 23 || minute > 59 || second > 60) {
    return BadTime(text);
  }
  int64_t frac_ns = 0;
  if (p < text.size() && text[p] == '.') {
    ++p;
    const size_t start = p;
    int64_t scale = kNsPerSecond / 10;
    while (p < text.size() && IsDigit(text[p])) {
      frac_ns += (text[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
    if (p == start) return BadTime(text);
  }
  int64_t offset_s = 0;
  if (p < text.size() && (text[p] == 'Z' || text[p] == 'z')) {
    ++p;
  } else if (p < text.size() && (text[p] == '+' || text[p] == '-')) {
    const int sign = text[p] == '-' ? -1 : 1;
    ++p;
    int oh = 0, om = 0;
    if (!ReadDigits(text, &p, 2, &oh) || !Expect(text, &p, ':') || !ReadDigits(text, &p, 2, &om) ||
        oh > 23 || om > 59) {
      return BadTime(text);
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return BadTime(text);
  }
  if (p != text.size()) return BadTime(text);
  // A leap second (:60) is folded onto the next second, as most systems do.
  const int64_t secs = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                       second - offset_s;
  int64_t ns = 0;
  if (!ToUnixNs(secs, frac_ns, &ns)) return BadTime(text);
  return ns;
}

Result<int64_t> ParseTimeSpec(std::string_view text, int64_t now_ns) {
  if (text == "now") return now_ns;
  if (text.empty()) return BadTime(text);
  if (text.size() >= 10 && IsDigit(text[0]) && text.size() > 4 && text[4] == '-') {
    return ParseRfc3339(text);
  }
  bool all_numeric = true;
  for (char c : text) all_numeric = all_numeric && (IsDigit(c) || c == '.');
  if (all_numeric) return ParseUnixSeconds(text);
  Result<int64_t> ago = ParseDuration(text);
  if (!ago.ok()) return BadTime(text);
  return now_ns - *ago;
}

std::string FormatRfc3339(int64_t unix_ns) {
  int64_t secs = unix_ns / kNsPerSecond;
  int64_t frac = unix_ns % kNsPerSecond;
  if (frac < 0) {
    frac += kNsPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                        static_cast<long long>(frac));
  // Keep significant fractional digits, at least three.
  while (n > 0 && buf[n - 1] == '0' && buf[n - 4] != '.') --n;
  std::string out(buf, n);
  out += 'Z';
  return out;
}

std::string FormatDuration(int64_t ns) {
  char buf[48];
  const double v = static_cast<double>(ns);
  if (ns < 0) {
    // -INT64_MIN overflows: print its neighbour INT64_MAX instead, which looks the same.
    std::string positive =
        FormatDuration(ns == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max()
                                                                  : -ns);
    positive.insert(positive.begin(), '-');
    return positive;
  }
  if (ns < 1'000) {
    std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(ns));
  } else if (ns < 999'500) {
    // From 999.5 of a unit on, three significant digits round up to "1e+03": those values
    // print in the next unit instead.
    std::snprintf(buf, sizeof buf, "%.3gus", v / 1e3);
  } else if (ns < 999'500'000) {
    std::snprintf(buf, sizeof buf, "%.3gms", v / 1e6);
  } else if (ns < 60 * kNsPerSecond) {
    std::snprintf(buf, sizeof buf, "%.3gs", v / 1e9);
  } else {
    const int64_t total_s = ns / kNsPerSecond;
    if (total_s < 3600) {
      std::snprintf(buf, sizeof buf, "%lldm%llds", static_cast<long long>(total_s / 60),
                    static_cast<long long>(total_s % 60));
    } else {
      std::snprintf(buf, sizeof buf, "%lldh%lldm", static_cast<long long>(total_s / 3600),
                    static_cast<long long>(total_s / 60 % 60));
    }
  }
  return buf;
}

std::string FormatUnixSeconds(int64_t ns) {
  if (ns < 0) return "0";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(ns / 1'000'000'000),
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

}  // namespace mesh

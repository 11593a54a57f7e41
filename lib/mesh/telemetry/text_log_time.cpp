#include "mesh/telemetry/text_log_time.h"

namespace mesh {
namespace {

constexpr int64_t kDayNs = 86'400'000'000'000;
// Unix nanoseconds in an int64_t reach from 1677 to 2262; a log line's time outside the Unix
// era is more likely a counter than a date.
constexpr int kFirstYear = 1970;
constexpr int kLastYear = 2261;

std::optional<int64_t> InYear(CivilTime civil, int year, const LineTime& time,
                              const TextTimeRules& rules) {
  civil.year = year;
  if (year < kFirstYear || year > kLastYear || !IsValidCivilTime(civil)) return std::nullopt;
  if (time.utc_offset_s) return CivilToUnixNs(civil, *time.utc_offset_s);
  return rules.zone->ToUnixNs(civil);
}

}  // namespace

std::optional<int64_t> ResolveLineTime(const LineTime& time, const TextTimeRules& rules) {
  if (time.has_year) return InYear(time.civil, time.civil.year, time, rules);
  if (rules.year) return InYear(time.civil, *rules.year, time, rules);
  const int reference_year = YearOfUnixNs(rules.reference_ns);
  std::optional<int64_t> earliest;
  for (int year = reference_year + 1; year >= reference_year - 1; --year) {
    std::optional<int64_t> t = InYear(time.civil, year, time, rules);
    if (!t) continue;  // Feb 29 outside a leap year
    if (*t <= rules.reference_ns + kDayNs) return t;
    earliest = t;
  }
  return earliest;  // later than the reference in every candidate year: the nearest one
}

}  // namespace mesh

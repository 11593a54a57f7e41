// TextLogTime: the rules that turn a timestamp as a text log writes it (LineTime) into Unix time.
//
// A time that names its zone is read in it. A zone-less time is read in `zone` (--tz, default
// the local time). A time without a year (syslog, glog) takes `year` when given (--year), else
// the latest of the reference's year, the one before and the one after that is not more than one
// day after the reference (the file's modification time, or now for a pipe): a "Dec 31" line in a
// file written on Jan 2 belongs to the previous year, and a clock or zone a few hours off does
// not push a line into last year. Pure, thread-safe if the zone is used by one thread.
#pragma once

#include <cstdint>
#include <optional>

#include "mesh/base/time_zone.h"
#include "mesh/telemetry/text_log_formats.h"

namespace mesh {

struct TextTimeRules {
  const TimeZone* zone = nullptr;  // required
  int64_t reference_ns = 0;        // file modification time, or now
  std::optional<int> year;         // --year
};

// Unix nanoseconds, or nullopt for a date that does not exist in the year it gets (Feb 29 of a
// common year) or lies outside years 1970..2261 (before the Unix epoch, or beyond what int64
// nanoseconds hold).
std::optional<int64_t> ResolveLineTime(const LineTime& time, const TextTimeRules& rules);

}  // namespace mesh
